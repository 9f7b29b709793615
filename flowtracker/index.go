package flowtracker

import (
	"slices"
	"time"
)

// The switch index. Each shard lists, for every switch, the live (not gone) entries of
// its active and draining flows there (bySwitch). Every live entry is in exactly one
// list and knows its place in it (entry.pos), so adding or removing it is O(1) (removal
// moves the list's last reference into the hole). A switch's flows are its list; a
// port's or a link's, the entries of the switch's (the two switches') list at that
// port: a walk over the flows through one or two switches, never over every flow. An
// entry leaves the index the moment it is marked gone, so an expired flow is in no list.
//
// Cost: 8 bytes per live entry, plus the lists' spare capacity (lists shrink when a
// quarter full).

// ref names one entry of a flow in a switch's list: the flow's entry at that switch
// (a path visits a switch at most once, so the switch names the entry: at).
type ref struct {
	r *record
}

// at returns the index of the flow's entry at switch dpid, whose list holds rf.
func (rf ref) at(dpid uint64) int {
	for i := range rf.r.entries() {
		if rf.r.entries()[i].dpid == dpid {
			return i
		}
	}
	return -1
}

// index adds r.entries()[i] to the switch index. Caller holds s.mu for writing.
func (s *shard) index(r *record, i int) {
	e := &r.entries()[i]
	list := s.bySwitch[e.dpid]
	e.pos = uint32(len(list))
	s.bySwitch[e.dpid] = append(list, ref{r})
}

// unindex removes r.entries()[i], which must be indexed (live), from the switch index,
// moving the switch's last reference into its place; the list shrinks when a quarter
// full. Caller holds s.mu for writing.
func (s *shard) unindex(r *record, i int) {
	e := &r.entries()[i]
	dpid := e.dpid
	list := s.bySwitch[dpid]
	last := len(list) - 1
	if int(e.pos) > last || list[e.pos] != (ref{r}) {
		return // not indexed
	}
	if int(e.pos) != last {
		moved := list[last]
		list[e.pos] = moved
		moved.r.entries()[moved.at(dpid)].pos = e.pos
	}
	list[last] = ref{}
	list = list[:last]
	switch c := cap(list); {
	case len(list) == 0:
		delete(s.bySwitch, dpid)
		return
	case c > 16 && len(list) < c/4:
		list = append(make([]ref, 0, c/2), list...)
	}
	s.bySwitch[dpid] = list
}

// switchRefs appends the live entries on switch dpid to out. Caller holds s.mu.
func (s *shard) switchRefs(dpid uint64, out []ref) []ref {
	return append(out, s.bySwitch[dpid]...)
}

// portRecords appends the flows with a live entry at port of switch dpid (matching it
// as in_port or outputting to it). Caller holds s.mu.
func (s *shard) portRecords(dpid uint64, port uint16, out []*record) []*record {
	for _, rf := range s.bySwitch[dpid] {
		if h := rf.r.entries()[rf.at(dpid)].hop(); h.InPort == port || h.OutPort == port {
			out = append(out, rf.r)
		}
	}
	return out
}

// linkRecords appends the flows with a live entry that outputs to srcPort on switch
// src or matches in_port dstPort on switch dst, each once. Caller holds s.mu.
func (s *shard) linkRecords(src uint64, srcPort uint16, dst uint64, dstPort uint16, out []*record) []*record {
	for _, rf := range s.bySwitch[src] {
		if rf.r.entries()[rf.at(src)].outPort == srcPort {
			out = append(out, rf.r)
		}
	}
	for _, rf := range s.bySwitch[dst] {
		if rf.r.entries()[rf.at(dst)].inPort == dstPort && !rf.r.usesOut(src, srcPort) { // else listed already
			out = append(out, rf.r)
		}
	}
	return out
}

// usesOut says whether r has a live entry on switch dpid that outputs to port.
func (r *record) usesOut(dpid uint64, port uint16) bool {
	for i := range r.entries() {
		if e := &r.entries()[i]; e.dpid == dpid {
			return !e.gone && e.outPort == port
		}
	}
	return false
}

// rangeRecords calls fn, as Range does, for the records pick selects in each shard.
func (t *Tracker) rangeRecords(pick func(s *shard, out []*record) []*record, fn func(f Flow) bool) {
	var recs []*record
	var buf []Flow
	var entries []Entry
	var tmp Flow
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		recs = pick(s, recs[:0])
		if len(recs) == 0 {
			s.mu.RUnlock()
			continue
		}
		buf, entries = buf[:0], entries[:0]
		for _, r := range recs {
			fill(&tmp, r, t.Cookie(r.id))
			entries = append(entries, tmp.Entries...)
			buf = append(buf, tmp)
		}
		off := 0
		for j := range buf {
			n := len(buf[j].Entries)
			buf[j].Entries = entries[off : off+n : off+n]
			off += n
		}
		s.mu.RUnlock()
		clear(recs)
		for _, f := range buf {
			if !fn(f) {
				return
			}
		}
	}
}

// RangeSwitch calls fn for every active or draining flow with a live entry on switch
// dpid, one shard at a time, until fn returns false. It visits only those flows (an
// index keeps them), so it costs O(flows through the switch), not O(flows). The Flow
// passed to fn is reused as in Range: valid until fn returns; no lock is held while fn
// runs.
func (t *Tracker) RangeSwitch(dpid uint64, fn func(f Flow) bool) {
	var refs []ref
	t.rangeRecords(func(s *shard, out []*record) []*record {
		refs = s.switchRefs(dpid, refs[:0])
		for _, rf := range refs {
			out = append(out, rf.r)
		}
		clear(refs)
		return out
	}, fn)
}

// RangePort calls fn, as RangeSwitch does, for every active or draining flow with a
// live entry on switch dpid that matches in_port port or outputs to it. It costs
// O(flows through the switch).
func (t *Tracker) RangePort(dpid uint64, port uint16, fn func(f Flow) bool) {
	t.rangeRecords(func(s *shard, out []*record) []*record {
		return s.portRecords(dpid, port, out)
	}, fn)
}

// RangeLink calls fn, as RangeSwitch does, for every active or draining flow that
// crosses the link from port srcPort of switch src to port dstPort of switch dst: a
// live entry outputs to srcPort on src, or matches in_port dstPort on dst. Each flow
// is visited once. It costs O(flows through src and dst).
func (t *Tracker) RangeLink(src uint64, srcPort uint16, dst uint64, dstPort uint16, fn func(f Flow) bool) {
	t.rangeRecords(func(s *shard, out []*record) []*record {
		return s.linkRecords(src, srcPort, dst, dstPort, out)
	}, fn)
}

// OnSwitch returns how many active or draining flows have a live entry on switch dpid.
func (t *Tracker) OnSwitch(dpid uint64) int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		n += len(s.bySwitch[dpid])
		s.mu.RUnlock()
	}
	return n
}

// RemoveSwitchBatch does RemoveSwitch's work for at most max of the flows with a live
// entry on switch dpid (all of them when max <= 0), so that a switch carrying many
// flows can be removed in bounded steps. fn, if not nil, is called with each flow it
// handles as the flow was just before (its entry on dpid still live), after the shard's
// lock is released; the Flow is reused as in Range. It returns how many flows it
// handled and whether flows remain on the switch. Flows that expire go out in ID order
// within each shard, as RemoveSwitch's do.
func (t *Tracker) RemoveSwitchBatch(dpid uint64, max int, now time.Time, fn func(f Flow)) (handled int, more bool) {
	var refs []ref
	var doomed []*record
	var buf []Flow
	var entries []Entry
	var tmp Flow
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		list := s.bySwitch[dpid]
		if max > 0 && handled+len(list) > max {
			// Take the list's tail: removing it moves no other reference.
			list = list[len(list)-(max-handled):]
			more = true
		}
		refs = append(refs[:0], list...)
		buf, entries, doomed = buf[:0], entries[:0], doomed[:0]
		for j := len(refs) - 1; j >= 0; j-- {
			rf := refs[j]
			k := rf.at(dpid)
			r, e := rf.r, &rf.r.entries()[k]
			if e.gone {
				continue
			}
			if fn != nil {
				fill(&tmp, r, t.Cookie(r.id))
				entries = append(entries, tmp.Entries...)
				buf = append(buf, tmp)
			}
			s.unindex(r, k)
			e.gone, e.reason = true, ReasonSwitchLeft
			if r.live == 1 {
				doomed = append(doomed, r)
			} else {
				t.entryGone(s, r, now)
			}
			handled++
		}
		slices.SortFunc(doomed, func(a, b *record) int { return cmpU64(a.id, b.id) })
		for _, r := range doomed {
			t.entryGone(s, r, now)
		}
		s.mu.Unlock()
		clear(refs)
		clear(doomed)
		off := 0
		for j := range buf {
			n := len(buf[j].Entries)
			buf[j].Entries = entries[off : off+n : off+n]
			off += n
			fn(buf[j])
		}
		if more {
			return handled, true
		}
	}
	return handled, false
}

// RemoveSwitchFlow marks flow id's live entry on switch dpid gone (ReasonSwitchLeft,
// no counters), as RemoveSwitch does for every flow on the switch, and reports whether
// there was one.
func (t *Tracker) RemoveSwitchFlow(dpid, id uint64, now time.Time) bool {
	s := t.shardOfID(id)
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.byID[id]
	if r == nil || r.state == StateExpired {
		return false
	}
	for i := range r.entries() {
		if e := &r.entries()[i]; e.dpid == dpid && !e.gone {
			s.unindex(r, i)
			e.gone, e.reason = true, ReasonSwitchLeft
			t.entryGone(s, r, now)
			return true
		}
	}
	return false
}
