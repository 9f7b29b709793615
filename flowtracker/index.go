package flowtracker

// The switch index. Each shard indexes the live (not gone) entries of its active and
// draining flows by switch, then by port: for every port of a switch, the entries whose
// in_port is that port (in) and those that output to it (out). Every live entry is in
// exactly one in list and one out list, and knows its place in both (entry.inPos,
// entry.outPos), so adding or removing it is O(1) (removal moves the list's last
// reference into the hole). A switch's flows are the union of its ports' in lists; a
// port's, its in and out lists; a link's, the out list at its source and the in list
// at its destination. An entry leaves the index the moment it is marked gone, so an
// expired flow is in no list.
//
// Cost: 16 bytes per reference, two per live entry, plus the lists' spare capacity
// (lists shrink when a quarter full).

// ref names one entry of a flow: r.entries[i].
type ref struct {
	r *record
	i uint16
}

// portIndex lists the live entries at one port of a switch.
type portIndex struct {
	port uint16
	in   []ref // entries matching in_port == port
	out  []ref // entries outputting to port
}

// swIndex holds a switch's ports that carry at least one live entry; switches have
// few ports, so a slice searched linearly beats a map.
type swIndex struct {
	nums  []uint16 // nums[j] is ports[j].port, scanned without touching the lists
	ports []*portIndex
}

// port returns the index of port p, created if create is set (else nil when absent).
func (x *swIndex) port(p uint16, create bool) *portIndex {
	for j, n := range x.nums {
		if n == p {
			return x.ports[j]
		}
	}
	if !create {
		return nil
	}
	pi := &portIndex{port: p}
	x.nums = append(x.nums, p)
	x.ports = append(x.ports, pi)
	return pi
}

// dropPort removes pi from the switch's ports.
func (x *swIndex) dropPort(pi *portIndex) {
	for j, p := range x.ports {
		if p == pi {
			last := len(x.ports) - 1
			x.ports[j], x.nums[j] = x.ports[last], x.nums[last]
			x.ports[last] = nil
			x.ports, x.nums = x.ports[:last], x.nums[:last]
			return
		}
	}
}

// index adds r.entries[i] to the switch index. Caller holds s.mu for writing.
func (s *shard) index(r *record, i int) {
	e := &r.entries[i]
	x := s.bySwitch[e.hop.DPID]
	if x == nil {
		x = &swIndex{}
		s.bySwitch[e.hop.DPID] = x
	}
	pi := x.port(e.hop.InPort, true)
	e.inPos = uint32(len(pi.in))
	pi.in = append(pi.in, ref{r, uint16(i)})
	po := x.port(e.hop.OutPort, true)
	e.outPos = uint32(len(po.out))
	po.out = append(po.out, ref{r, uint16(i)})
}

// unindex removes r.entries[i], which must be indexed (live), from the switch index.
// Caller holds s.mu for writing.
func (s *shard) unindex(r *record, i int) {
	e := &r.entries[i]
	x := s.bySwitch[e.hop.DPID]
	if x == nil {
		return
	}
	if pi := x.port(e.hop.InPort, false); pi != nil {
		pi.in = removeRef(pi.in, e.inPos, true)
		if len(pi.in) == 0 && len(pi.out) == 0 {
			x.dropPort(pi)
		}
	}
	if po := x.port(e.hop.OutPort, false); po != nil {
		po.out = removeRef(po.out, e.outPos, false)
		if len(po.in) == 0 && len(po.out) == 0 {
			x.dropPort(po)
		}
	}
	if len(x.ports) == 0 {
		delete(s.bySwitch, e.hop.DPID)
	}
}

// removeRef removes the reference at pos from list (an in list if in, else an out
// list), moving the last reference into its place, and shrinks the list when it is a
// quarter full.
func removeRef(list []ref, pos uint32, in bool) []ref {
	last := len(list) - 1
	if int(pos) > last {
		return list // not indexed: nothing to do
	}
	if int(pos) != last {
		moved := list[last]
		list[pos] = moved
		if me := &moved.r.entries[moved.i]; in {
			me.inPos = pos
		} else {
			me.outPos = pos
		}
	}
	list[last] = ref{}
	list = list[:last]
	if c := cap(list); c > 64 && len(list) < c/4 {
		list = append(make([]ref, 0, c/2), list...)
	}
	return list
}

// switchRefs appends the live entries on switch dpid to out. Caller holds s.mu.
func (s *shard) switchRefs(dpid uint64, out []ref) []ref {
	x := s.bySwitch[dpid]
	if x == nil {
		return out
	}
	for _, pi := range x.ports {
		out = append(out, pi.in...)
	}
	return out
}

// portRecords appends the flows with a live entry at port of switch dpid (matching it
// as in_port or outputting to it), each once. Caller holds s.mu.
func (s *shard) portRecords(dpid uint64, port uint16, out []*record) []*record {
	x := s.bySwitch[dpid]
	if x == nil {
		return out
	}
	pi := x.port(port, false)
	if pi == nil {
		return out
	}
	for _, rf := range pi.in {
		out = append(out, rf.r)
	}
	for _, rf := range pi.out {
		if rf.r.entries[rf.i].hop.InPort != port { // else listed already
			out = append(out, rf.r)
		}
	}
	return out
}

// linkRecords appends the flows with a live entry that outputs to srcPort on switch
// src or matches in_port dstPort on switch dst, each once. Caller holds s.mu.
func (s *shard) linkRecords(src uint64, srcPort uint16, dst uint64, dstPort uint16, out []*record) []*record {
	if x := s.bySwitch[src]; x != nil {
		if po := x.port(srcPort, false); po != nil {
			for _, rf := range po.out {
				out = append(out, rf.r)
			}
		}
	}
	x := s.bySwitch[dst]
	if x == nil {
		return out
	}
	pi := x.port(dstPort, false)
	if pi == nil {
		return out
	}
	for _, rf := range pi.in {
		if !rf.r.usesOut(src, srcPort) { // else listed already
			out = append(out, rf.r)
		}
	}
	return out
}

// usesOut says whether r has a live entry on switch dpid that outputs to port.
func (r *record) usesOut(dpid uint64, port uint16) bool {
	for i := range r.entries {
		if e := &r.entries[i]; e.hop.DPID == dpid {
			return !e.gone && e.hop.OutPort == port
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
// live entry on switch dpid that matches in_port port or outputs to it.
func (t *Tracker) RangePort(dpid uint64, port uint16, fn func(f Flow) bool) {
	t.rangeRecords(func(s *shard, out []*record) []*record {
		return s.portRecords(dpid, port, out)
	}, fn)
}

// RangeLink calls fn, as RangeSwitch does, for every active or draining flow that
// crosses the link from port srcPort of switch src to port dstPort of switch dst: a
// live entry outputs to srcPort on src, or matches in_port dstPort on dst. Each flow
// is visited once.
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
		if x := s.bySwitch[dpid]; x != nil {
			for _, pi := range x.ports {
				n += len(pi.in)
			}
		}
		s.mu.RUnlock()
	}
	return n
}
