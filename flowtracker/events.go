package flowtracker

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// EventKind says what happened to a flow.
type EventKind uint8

// Event kinds.
const (
	EventArrived EventKind = iota + 1 // a new flow was added
	EventExpired                      // a flow's last entry went
	EventChanged                      // a switch refused an entry of a flow that lives on (see Event.Installed)
)

func (k EventKind) String() string {
	switch k {
	case EventArrived:
		return "arrived"
	case EventExpired:
		return "expired"
	case EventChanged:
		return "changed"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event reports a flow arriving or expiring. Events of one flow reach a subscriber in
// order (Arrived before Expired); events of different flows may interleave.
type Event struct {
	Kind   EventKind
	ID     uint64
	Cookie uint64
	Key    Key
	// DPIDs are the switches of the path, ingress first. The slice is shared by every
	// subscriber of the event: read it, do not modify it.
	DPIDs []uint64
	// Path is the path with ports, ingress first; shared and read-only like DPIDs.
	Path []Hop
	// Time is the now passed to the call that caused the event: the flow's start for
	// Arrived, its end for Expired.
	Time time.Time
	// Final holds the ingress entry's final counters on Expired, if HasFinal.
	Final    Counters
	HasFinal bool
	// Grain is the flow's grain (GrainExact or GrainHostPair).
	Grain Grain
	// Installed are the switches whose entry of the flow exists or existed: the path
	// without the switches that refused it (EntryRefused), ingress first. Shared and
	// read-only like DPIDs; equal to DPIDs when no switch refused.
	Installed []uint64
}

// Subscription receives the tracker's events on C until Cancel.
//
// Delivery never blocks the tracker: each event is offered to C with a non-blocking
// send, and when C's buffer is full the event is dropped for this subscriber and counted
// (Dropped, and Stats().Dropped for all subscribers). A subscriber that sees Dropped grow
// has lost events and should rebuild its view from Snapshot. Size the buffer for the
// largest burst it must absorb (a switch leaving expires all its flows at once).
type Subscription struct {
	// C delivers events; it is closed by Cancel.
	C <-chan Event

	c       chan Event
	t       *Tracker
	dropped atomic.Uint64
	once    sync.Once
}

// Dropped returns how many events this subscriber has lost to a full buffer.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Cancel stops delivery and closes C. It is safe to call more than once and from any
// goroutine; events already buffered stay readable.
func (s *Subscription) Cancel() {
	s.once.Do(func() {
		s.t.subMu.Lock()
		s.t.subs = slices.DeleteFunc(s.t.subs, func(x *Subscription) bool { return x == s })
		close(s.c)
		s.t.subMu.Unlock()
	})
}

// Subscribe registers a subscriber whose channel buffers buf events (buf < 1 means 1).
func (t *Tracker) Subscribe(buf int) *Subscription {
	if buf < 1 {
		buf = 1
	}
	c := make(chan Event, buf)
	s := &Subscription{C: c, c: c, t: t}
	t.subMu.Lock()
	t.subs = append(t.subs, s)
	t.subMu.Unlock()
	return s
}

// publish offers an event about r to every subscriber without blocking. The caller holds
// r's shard lock, which orders one flow's events.
func (t *Tracker) publish(kind EventKind, r *record, now time.Time) {
	t.subMu.RLock()
	defer t.subMu.RUnlock()
	if len(t.subs) == 0 {
		return
	}
	ev := Event{Kind: kind, ID: r.id, Cookie: t.Cookie(r.id), Key: r.key, Time: now, Grain: r.grain}
	ev.DPIDs = make([]uint64, len(r.entries))
	ev.Path = make([]Hop, len(r.entries))
	refused := false
	for i := range r.entries {
		ev.DPIDs[i] = r.entries[i].hop.DPID
		ev.Path[i] = r.entries[i].hop
		refused = refused || r.entries[i].refused
	}
	ev.Installed = ev.DPIDs
	if refused {
		ev.Installed = make([]uint64, 0, len(r.entries))
		for i := range r.entries {
			if !r.entries[i].refused {
				ev.Installed = append(ev.Installed, r.entries[i].hop.DPID)
			}
		}
	}
	if kind == EventExpired && r.entries[0].hasCounters {
		ev.Final, ev.HasFinal = r.entries[0].final, true
	}
	for _, s := range t.subs {
		select {
		case s.c <- ev:
		default:
			s.dropped.Add(1)
			t.dropped.Add(1)
		}
	}
}
