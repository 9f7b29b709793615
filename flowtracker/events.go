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
// Delivery never blocks the tracker. Each event is offered to C; when C's buffer is
// full the event waits in the subscription's backlog, an unbounded-looking queue that
// a goroutine (started only while the backlog is not empty) feeds into C in order, so
// a burst the subscriber can work through later (a switch leaving expires all its
// flows at once) loses nothing. The backlog is bounded by Config.EventBacklog events;
// beyond it events are dropped and counted (Dropped, and Stats().Dropped for all
// subscribers). A subscriber that sees Dropped grow has lost events and should rebuild
// its view from Snapshot. Backlog reports the events waiting.
type Subscription struct {
	// C delivers events; it is closed by Cancel.
	C <-chan Event

	c       chan Event
	t       *Tracker
	dropped atomic.Uint64
	once    sync.Once

	// pending counts the events in queue plus those the pump holds; the pump
	// lowers it after each send, without the lock.
	pending atomic.Int64

	mu      sync.Mutex
	queue   []Event       // backlog not yet taken by the pump
	pumping bool          // a pump goroutine runs
	done    chan struct{} // closed by Cancel: the pump stops
	wg      sync.WaitGroup
	peak    int // largest backlog seen
}

// Dropped returns how many events this subscriber has lost to a full backlog.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Backlog returns how many events wait behind C's buffer, and the most that ever did.
func (s *Subscription) Backlog() (now, peak int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.pending.Load()), s.peak
}

// Cancel stops delivery and closes C. It is safe to call more than once and from any
// goroutine; events already in C's buffer stay readable, those in the backlog are
// discarded.
func (s *Subscription) Cancel() {
	s.once.Do(func() {
		s.t.subMu.Lock()
		s.t.subs = slices.DeleteFunc(s.t.subs, func(x *Subscription) bool { return x == s })
		s.t.subMu.Unlock()
		// No publish reaches s any more: stop the pump, then close C.
		close(s.done)
		s.wg.Wait()
		close(s.c)
	})
}

// Subscribe registers a subscriber whose channel buffers buf events (buf < 1 means 1),
// with a backlog of up to Config.EventBacklog events behind it.
func (t *Tracker) Subscribe(buf int) *Subscription {
	if buf < 1 {
		buf = 1
	}
	c := make(chan Event, buf)
	s := &Subscription{C: c, c: c, t: t, done: make(chan struct{})}
	t.subMu.Lock()
	t.subs = append(t.subs, s)
	t.subMu.Unlock()
	return s
}

// offer hands ev to the subscriber without blocking: straight into C when nothing
// waits before it, else into the backlog (started pump), else dropped. The caller
// holds t.subMu for reading.
func (s *Subscription) offer(ev Event, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// pending is 0 only once the pump has sent every earlier event: a direct send
	// keeps the order.
	n := int(s.pending.Load())
	if n == 0 {
		select {
		case s.c <- ev:
			return
		default:
		}
	}
	if n >= limit {
		s.dropped.Add(1)
		s.t.dropped.Add(1)
		return
	}
	s.queue = append(s.queue, ev)
	s.pending.Add(1)
	s.peak = max(s.peak, n+1)
	if !s.pumping {
		s.pumping = true
		s.wg.Add(1)
		go s.pump()
	}
}

// pump feeds the backlog into C, in order, until it is empty or Cancel.
func (s *Subscription) pump() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		if len(batch) == 0 {
			s.pumping = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for i := range batch {
			select {
			case s.c <- batch[i]:
			case <-s.done:
				return
			}
			batch[i] = Event{} // let the event's slices go
			s.pending.Add(-1)
		}
	}
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
	ev.DPIDs = make([]uint64, len(r.entries()))
	ev.Path = make([]Hop, len(r.entries()))
	refused := false
	for i := range r.entries() {
		ev.DPIDs[i] = r.entries()[i].dpid
		ev.Path[i] = r.entries()[i].hop()
		refused = refused || r.entries()[i].refused
	}
	ev.Installed = ev.DPIDs
	if refused {
		ev.Installed = make([]uint64, 0, len(r.entries()))
		for i := range r.entries() {
			if !r.entries()[i].refused {
				ev.Installed = append(ev.Installed, r.entries()[i].dpid)
			}
		}
	}
	if kind == EventExpired && r.entries()[0].hasCounters {
		ev.Final, ev.HasFinal = r.final(0), true
	}
	for _, s := range t.subs {
		s.offer(ev, t.cfg.EventBacklog)
	}
}
