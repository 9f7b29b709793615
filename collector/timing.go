package collector

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// This file keeps what the executor learns of each switch's statistics replies: how
// long they take (an EWMA of request → whole reply), whether a batch of requests is
// still out (at most one per switch), and the rounds that went on without it.

// replyAlpha is the weight of a new sample in the reply time's EWMA.
const replyAlpha = 0.25

// ReplyTime is what the collector has learned of one switch's statistics replies.
type ReplyTime struct {
	DPID uint64
	// Smoothed is the EWMA (weight 1/4 per sample) of the time from a request to the
	// last part of its reply; a request that timed out counts as a sample of its
	// timeout (the reply took at least that long). 0 before the first sample.
	Smoothed time.Duration
	Last     time.Duration // the latest sample
	Samples  uint64
	// Slow says a round no longer waits for the switch: its smoothed reply time
	// passed half the round's time limit (Config.RoundTimeout); it becomes fast
	// again below a quarter. Schemes prefer other switches at equal cost.
	Slow bool
	// InFlight says a batch of requests to the switch is out.
	InFlight bool
	// Timeouts counts requests whose reply never came in time (every account).
	Timeouts uint64
	// Late counts batches that came back after their round had ended; their
	// readings were applied on arrival.
	Late uint64
	// Busy counts requests not sent because the switch's previous batch was
	// still out, or because it is held back after timeouts.
	Busy      uint64
	LastReply time.Time // when the last reply arrived; zero if none yet
	// TimeoutsInARow counts the timeouts since the last reply. After k of them the
	// switch is sent nothing for min(2^(k-1), 16) request timeouts (until HeldUntil),
	// so that requests do not pile up on a switch that does not answer.
	TimeoutsInARow uint64
	HeldUntil      time.Time
}

// maxHold is the longest hold after timeouts, in request timeouts.
const maxHold = 16

// timings is the ReplyTime of every switch seen; safe for concurrent use.
type timings struct {
	mu   sync.Mutex
	per  map[uint64]*ReplyTime
	next map[uint64]int // where a switch's next batch starts (its last was cut short)
}

// first is where dpid's batch of n requests starts.
func (t *timings) first(dpid uint64, n int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n <= 0 {
		return 0
	}
	return t.next[dpid] % n
}

// advance records that a batch of n requests starting at first sent sent of them:
// the next batch starts after them, or at the beginning if all went.
func (t *timings) advance(dpid uint64, first, sent, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sent >= n || n == 0 {
		delete(t.next, dpid)
		return
	}
	if t.next == nil {
		t.next = make(map[uint64]int)
	}
	t.next[dpid] = (first + sent) % n
}

func (t *timings) get(dpid uint64) *ReplyTime {
	if t.per == nil {
		t.per = make(map[uint64]*ReplyTime)
	}
	r, ok := t.per[dpid]
	if !ok {
		r = &ReplyTime{DPID: dpid}
		t.per[dpid] = r
	}
	return r
}

// acquire marks a batch out to dpid; false (and n requests counted as busy) if one
// is out already or the switch is held back after timeouts.
func (t *timings) acquire(dpid uint64, n int, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.get(dpid)
	if r.InFlight || now.Before(r.HeldUntil) {
		r.Busy += uint64(n)
		return false
	}
	r.InFlight = true
	return true
}

// release ends dpid's batch; late says it came back after its round.
func (t *timings) release(dpid uint64, late bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.get(dpid)
	r.InFlight = false
	if late {
		r.Late++
	}
}

// learn takes one request's time (until its reply, or until it timed out) against
// the round limit that decides whether the switch is slow; a timeout holds the
// switch back from now (monotonic) for hold times a factor that doubles with each
// timeout in a row.
func (t *timings) learn(dpid uint64, d time.Duration, timedOut bool, at time.Time, limit time.Duration, now time.Time, hold time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.get(dpid)
	if r.Samples == 0 {
		r.Smoothed = d
	} else {
		r.Smoothed = time.Duration(float64(r.Smoothed) + replyAlpha*float64(d-r.Smoothed))
	}
	r.Last = d
	r.Samples++
	if timedOut {
		r.Timeouts++
		r.TimeoutsInARow++
		r.HeldUntil = now.Add(hold * time.Duration(min(uint64(1)<<min(r.TimeoutsInARow-1, 8), maxHold)))
	} else {
		r.LastReply = at
		r.TimeoutsInARow, r.HeldUntil = 0, time.Time{}
	}
	switch {
	case !r.Slow && r.Smoothed > limit/2:
		r.Slow = true
	case r.Slow && r.Smoothed < limit/4:
		r.Slow = false
	}
}

// slow says whether rounds no longer wait for dpid.
func (t *timings) slow(dpid uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.per[dpid]
	return ok && r.Slow
}

// spacing is the polling interval readings from dpid carry: the scheduler's want,
// or, for a switch that answers in more than a round, the rounds it takes to answer
// plus the one that sends its next request (a switch answering in 2 s at 1 s rounds is
// read every 3 s), so that the Store does not count its flows stale between two
// readings. 0 (unknown) stays 0.
func (t *timings) spacing(dpid uint64, want, round time.Duration) time.Duration {
	if want <= 0 || round <= 0 {
		return want
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.per[dpid]
	if !ok || r.Smoothed < round {
		return want
	}
	return max(want, round*(r.Smoothed/round+1))
}

// skipPorts says whether a port round leaves dpid out: a slow switch with a batch
// out, or one held back after timeouts.
func (t *timings) skipPorts(dpid uint64, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.per[dpid]
	return ok && (r.Slow && r.InFlight || now.Before(r.HeldUntil))
}

// slowSet is the switches found slow, or nil.
func (t *timings) slowSet() map[uint64]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out map[uint64]bool
	for d, r := range t.per {
		if r.Slow {
			if out == nil {
				out = make(map[uint64]bool)
			}
			out[d] = true
		}
	}
	return out
}

func (t *timings) list() []ReplyTime {
	t.mu.Lock()
	out := make([]ReplyTime, 0, len(t.per))
	for _, r := range t.per {
		out = append(out, *r)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b ReplyTime) int { return cmp.Compare(a.DPID, b.DPID) })
	return out
}

// ReplyTimes returns what the collector has learned of each switch's statistics
// replies, by dpid.
func (c *Collector) ReplyTimes() []ReplyTime { return c.timing.list() }

// Wait waits until the batches of requests that rounds left out (to slow switches)
// have ended; Run waits for them before it returns. End the context given to Round
// to end them early.
func (c *Collector) Wait() { c.workers.Wait() }
