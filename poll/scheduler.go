package poll

import (
	"time"

	"github.com/cemon-sdn/cemon/stats"
)

// Flow is what a scheduler learns of a flow when it arrives: its id and the switches
// of its path, ingress first.
type Flow struct {
	ID    uint64
	DPIDs []uint64 // read-only: a scheduler that keeps it copies it
}

// Switch is a connected switch: its datapath id, in-band its hop count to the
// controller (0: unknown, counted as one), and whether the executor found its
// statistics replies slow (it stops waiting for them in a round): a scheme then
// prefers other switches where they cost the same.
type Switch struct {
	DPID uint64
	Hops int
	Slow bool
}

// Request is one flow statistics request a scheduler wants sent now: a poll-all
// (Source stats.SourcePollAll; every entry of the switch) or a poll-single
// (stats.SourcePollSingle; the entry of Flow at DPID).
type Request struct {
	DPID   uint64
	Flow   uint64 // poll-single only
	Source stats.Source
	// Interval is when the scheduler means to read the flow (or, for a poll-all,
	// the switch's flows) again: the readings carry it to the store, which ages a
	// flow's rate out after a few of its own intervals without a reading. 0: unknown.
	Interval time.Duration
}

// Scheduler decides what to poll. Implementations are pure: every call takes now, none
// reads a clock, sends a message or blocks, and none is safe for concurrent use (the
// executor serialises the calls under its own lock).
//
// The executor tells it the connected switches (SetSwitches), every flow arrival and
// expiry (OnArrive, OnExpire) and every reading it obtained, from a reply or a
// FLOW_REMOVED (OnReading); it asks Due for the requests to send at each tick.
type Scheduler interface {
	// Strategy is the strategy the scheduler implements.
	Strategy() Strategy
	// SetSwitches gives the switches connected at now.
	SetSwitches(now time.Time, sw []Switch)
	// OnArrive adds a flow.
	OnArrive(now time.Time, f Flow)
	// OnExpire removes a flow.
	OnExpire(now time.Time, id uint64)
	// OnReading reports a reading of a flow (a reply's entry or its final counters)
	// and s, what the store derived from it (its rate, the bytes it added; zero for
	// final counters).
	OnReading(now time.Time, r stats.Reading, s stats.FlowSample)
	// Due appends to dst the requests to send at now and returns it.
	Due(now time.Time, dst []Request) []Request
}

// Work is computation a scheduler hands to the executor so that it runs without the
// executor's lock: Run touches nothing the scheduler's other methods touch.
type Work interface {
	Run()
}

// Offloader is a Scheduler with heavy work (solving a scheme from scratch, a lower
// bound): Work snapshots what the work needs (cheap; under the executor's lock), the
// executor calls Run with no lock held, and Finish swaps the result in (under the
// lock again), reconciling the arrivals and expiries that came meanwhile. While one
// Work is out, Work returns nil. A caller that never calls Work still gets a correct
// scheduler: Due then does the work inline.
type Offloader interface {
	Scheduler
	Work(now time.Time) Work
	Finish(now time.Time, w Work) error
}

// Settle runs every piece of work s has at now, inline; single-threaded users (a
// simulator, tests) call it before Due when they want the work done up front.
func Settle(s Scheduler, now time.Time) error {
	o, ok := s.(Offloader)
	if !ok {
		return nil
	}
	for w := o.Work(now); w != nil; w = o.Work(now) {
		w.Run()
		if err := o.Finish(now, w); err != nil {
			return err
		}
	}
	return nil
}
