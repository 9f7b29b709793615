package stats

import (
	"cmp"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// Totals is the cumulative part of a store's figures, the part a restart must
// not lose: every flow's byte and packet totals (with the counters of its
// current entry epoch already counted in them), and the byte totals of links,
// matrix cells and hosts. Rates and histories are not part of it: they are
// rebuilt from the next readings.
type Totals struct {
	At    time.Time // the store's clock when the totals were taken
	Flows []FlowTotal
	Links []LinkTotal
	Pairs []PairTotal
	Hosts []HostTotal
}

// FlowTotal is one flow's cumulative counters and identity.
type FlowTotal struct {
	ID       uint64
	Src, Dst HostID
	Path     []Hop
	Start    time.Time
	End      time.Time // zero while the flow is active
	Bytes    uint64    // cumulative over the flow's life
	Packets  uint64
	// MarkBytes and MarkPackets are the highest counters of the flow's current
	// entry epoch already counted in Bytes and Packets: a reading of the same
	// entry after a restore adds only what it counts beyond them.
	MarkBytes   uint64
	MarkPackets uint64
	Resets      int
}

// LinkTotal is a directed link's cumulative bytes.
type LinkTotal struct {
	Link  Link
	Bytes uint64
}

// PairTotal is one matrix cell's cumulative bytes.
type PairTotal struct {
	Pair    Pair
	Bytes   uint64
	Touched time.Time // the last time a flow of the pair counted or changed
}

// HostTotal is one host's cumulative sent and received bytes.
type HostTotal struct {
	Host          HostID
	SentBytes     uint64
	ReceivedBytes uint64
	Touched       time.Time
}

// Totals returns the totals that changed after mark since (every total for
// since 0), and the mark to give the next call: a caller that saves the
// result of each call in order holds every total as of the last call. Flows
// that counted nothing are left out; a flow that has ended is given with its
// End set, once, so that the caller can drop it (its bytes live on in its
// cells, hosts and links). A reading costs one integer store for this;
// Totals visits every flow.
func (s *Store) Totals(since uint64) (Totals, uint64) {
	// Under the read lock: the stamps are written under the write lock only, and the
	// mark moves atomically (readers other than this one never look at it).
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := Totals{At: s.now}
	for id, fs := range s.flows.All() {
		// A flow that counted nothing has nothing to keep (and was never given out).
		if fs.gen > since && (fs.bytes > 0 || fs.packets > 0) {
			t.Flows = append(t.Flows, FlowTotal{ID: id, Src: fs.pairSt.src.id, Dst: fs.pairSt.dst.id,
				Path: slices.Clone(fs.hops()), Start: timeOf(fs.start), End: timeOf(fs.end),
				Bytes: fs.bytes, Packets: fs.packets, MarkBytes: fs.markBytes, MarkPackets: fs.markPkts,
				Resets: int(fs.resets)})
		}
	}
	for l, ls := range s.links {
		if ls.gen > since {
			t.Links = append(t.Links, LinkTotal{Link: l, Bytes: ls.bytes})
		}
	}
	for _, ps := range s.pairs {
		if ps.gen > since {
			t.Pairs = append(t.Pairs, PairTotal{Pair: ps.pair(), Bytes: ps.bytes, Touched: timeOf(ps.touched)})
		}
	}
	for h, hs := range s.hosts {
		if hs.gen > since {
			t.Hosts = append(t.Hosts, HostTotal{Host: h, SentBytes: hs.sentBytes, ReceivedBytes: hs.recvBytes, Touched: timeOf(hs.touched)})
		}
	}
	mark := atomic.AddUint64(&s.gen, 1) - 1
	slices.SortFunc(t.Flows, func(a, b FlowTotal) int { return cmp.Compare(a.ID, b.ID) })
	return t, mark
}

// RestoreTotals puts back the totals an earlier run saved, before any flow is
// added: link, cell and host totals become the base that new traffic adds to,
// and each saved flow is held as ended (at its saved end, or at t.At when it
// was still active then: its FLOW_REMOVED, if any, went to nobody) with its
// last known counters. A flow added again under its saved id with the same
// endpoints (an entry a restarted controller adopted) continues from those
// counters: its next reading adds only what its entry counted beyond them.
// Totals whose flows ended, and cells and hosts untouched, more than
// Config.Retain before now are left out, as Prune would have dropped them.
func (s *Store) RestoreTotals(t Totals, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, fs := range s.flows.All() {
		if fs.active {
			return fmt.Errorf("stats: restore totals: flow %d is already active", id)
		}
	}
	cut := now.Add(-s.cfg.Retain)
	end := t.At
	if end.IsZero() {
		end = now
	}
	for _, lt := range t.Links {
		ls := s.link(lt.Link)
		ls.bytes += lt.Bytes
		ls.gen = s.gen
	}
	for _, pt := range t.Pairs {
		if pt.Touched.Before(cut) {
			continue
		}
		ps := s.cell(s.host(pt.Pair.Src), s.host(pt.Pair.Dst))
		s.syncCell(ps)
		ps.bytes += pt.Bytes
		touchNano(&ps.touched, nanos(pt.Touched))
		ps.gen = s.gen
	}
	for _, ht := range t.Hosts {
		if ht.Touched.Before(cut) {
			continue
		}
		hs := s.host(ht.Host)
		hs.sentBytes += ht.SentBytes
		hs.recvBytes += ht.ReceivedBytes
		touchNano(&hs.touched, nanos(ht.Touched))
		hs.gen = s.gen
	}
	for _, ft := range t.Flows {
		e := ft.End
		if e.IsZero() {
			e = end
		}
		if e.Before(cut) {
			continue
		}
		if _, ok := s.flows.Get(ft.ID); ok {
			continue
		}
		info := FlowInfo{ID: ft.ID, Src: ft.Src, Dst: ft.Dst, Path: slices.Clone(ft.Path), Start: ft.Start}
		fs := newFlowState(info, s.cell(s.host(ft.Src), s.host(ft.Dst)))
		fs.bytes, fs.packets, fs.markBytes, fs.markPkts = ft.Bytes, ft.Packets, ft.MarkBytes, ft.MarkPackets
		fs.resets, fs.end, fs.restored, fs.gen = int32(ft.Resets), nanos(e), true, s.gen
		s.setLinks(fs, false)
		touchNano(&fs.pairSt.touched, nanos(e))
		touchNano(&fs.pairSt.src.touched, nanos(e))
		touchNano(&fs.pairSt.dst.touched, nanos(e))
		s.flows.Put(ft.ID, fs)
	}
	s.advance(now)
	s.dirty = true
	return nil
}
