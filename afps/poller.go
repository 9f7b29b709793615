package afps

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/cemon-sdn/cemon/mcps"
)

// PollerConfig configures a Poller.
type PollerConfig struct {
	Sampler Config // every watched flow gets a sampler of this config
	// Network gives the switches (flows' paths are indices 0..Switches-1), the
	// deployment, the hops to the controllers and the byte model, exactly as mcps uses
	// them; the zero Network is one out-of-band switch under mcps.PaperCost.
	Network mcps.Network
	// Batch lets Due replace the poll-singles of several due flows of one switch by one
	// poll-all when the cost model says it is cheaper. Off, every due flow is one
	// poll-single at its cheapest switch.
	Batch bool
}

// Validate names every bad field.
func (c PollerConfig) Validate() error {
	n := c.network()
	return errors.Join(c.Sampler.Validate(), n.Validate())
}

func (c PollerConfig) network() mcps.Network {
	n := c.Network
	if n.Switches == 0 {
		n.Switches = 1
	}
	if n.Cost == nil {
		n.Cost = mcps.PaperCost
	}
	return n
}

// Poll is one statistics request of a Plan.
type Poll struct {
	All    bool   // poll-all (all-wildcard) at Switch; else poll-single of Flow at Switch
	Switch int32  // the switch asked
	Flow   uint64 // the flow of a poll-single
	// Due are the due flows this poll reads (one for a poll-single). A poll-all also
	// returns every other entry of the switch; the caller passes each watched flow's
	// reading to OnReading.
	Due []uint64
	// Bytes is the exchange's cost under the Network's model and deployment.
	Bytes int64
	nDue  int
}

// Plan is what is due at one instant, as requests.
type Plan struct {
	Polls []Poll
	Due   int   // flows that were due
	Bytes int64 // total cost of Polls
	// SinglesBytes is what the due flows would cost as poll-singles (equal to Bytes
	// when batching is off or never pays).
	SinglesBytes int64
}

// flowState is one watched flow.
type flowState struct {
	id      uint64
	path    []int32
	idx     []int32 // position of this flow in onSwitch[path[i]]
	sampler Sampler
	last    uint64 // bytes at the last reading
	lastAt  int64  // unix ns of the last reading (the flow's start before any)
	// polledAt is the unix ns at which Due last asked for the flow (0: no poll of
	// this poller outstanding); the next poll is due τ after it, not after the reply.
	polledAt int64
	rate     float64 // bytes/s between the last two readings
	reads    int32
	used     bool
}

// Poller is the AFPS scheduler: it keeps one sampler per watched flow and a due-time
// queue, says at each instant which requests to send (batched with the mcps cost
// model when asked) and takes readings from any poll or FLOW_REMOVED. It is pure: every
// call takes the time; no goroutine or timer per flow. Not safe for concurrent use.
type Poller struct {
	cfg      PollerConfig
	net      mcps.Network
	sampler  Config
	hops     []int64 // h(s) = min over controllers; 1 out-of-band
	slotOf   map[uint64]int32
	slots    []flowState
	free     []int32
	onSwitch [][]int32 // slots of the watched flows through each switch (unordered)
	queue    DueQueue
	singleB  int64
	ids      []int32
	// per-Due scratch, reused
	dueBuf  []uint64
	polls   []Poll
	covered map[int32]bool
	bySw    map[int32]*cand
	cands   []cand
}

// NewPoller returns an empty poller.
func NewPoller(cfg PollerConfig) (*Poller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := cfg.network()
	p := &Poller{cfg: cfg, net: n, sampler: cfg.Sampler.WithDefaults(), slotOf: make(map[uint64]int32),
		onSwitch: make([][]int32, n.Switches)}
	p.hops = make([]int64, n.Switches)
	for s := range p.hops {
		h := int64(1)
		if n.Deployment == mcps.InBand {
			h = math.MaxInt64
			for _, row := range n.Hops {
				h = min(h, int64(row[s]))
			}
		}
		p.hops[s] = h
	}
	p.singleB = n.Cost.PollSingle()
	return p, nil
}

// Len is the number of watched flows.
func (p *Poller) Len() int { return len(p.slotOf) }

// Switches is the number of switches flows' paths may name.
func (p *Poller) Switches() int { return len(p.onSwitch) }

// AddSwitch appends a switch (a controller's network grows as switches connect) with
// h hops to the nearest controller (counted in-band only; below 1 means 1) and returns
// its index.
func (p *Poller) AddSwitch(h int) (int32, error) {
	if len(p.onSwitch) >= mcps.MaxSwitches {
		return 0, fmt.Errorf("%w: over %d switches", ErrBadConfig, mcps.MaxSwitches)
	}
	if h > mcps.MaxHops {
		return 0, fmt.Errorf("%w: %d hops, want at most %d", ErrBadConfig, h, mcps.MaxHops)
	}
	hh := int64(1)
	if p.net.Deployment == mcps.InBand && h > 1 {
		hh = int64(h)
	}
	p.onSwitch = append(p.onSwitch, nil)
	p.hops = append(p.hops, hh)
	return int32(len(p.onSwitch) - 1), nil
}

func (p *Poller) flow(id uint64) (int32, *flowState) {
	sl, ok := p.slotOf[id]
	if !ok {
		return -1, nil
	}
	return sl, &p.slots[sl]
}

// Watch starts sampling flow id, which crosses the switches of path (at least one)
// and whose counters were zero at start: its first poll is due at start + τ_initial.
func (p *Poller) Watch(id uint64, path []int32, start time.Time) error {
	if _, dup := p.slotOf[id]; dup {
		return fmt.Errorf("%w: %d", ErrDuplicate, id)
	}
	if len(path) == 0 {
		return fmt.Errorf("%w: flow %d has an empty path", ErrBadConfig, id)
	}
	for _, s := range path {
		if s < 0 || int(s) >= len(p.onSwitch) {
			return fmt.Errorf("%w: flow %d: switch %d out of 0..%d", ErrBadConfig, id, s, len(p.onSwitch)-1)
		}
	}
	if len(p.slots) >= math.MaxInt32 && len(p.free) == 0 {
		return fmt.Errorf("%w: over %d flows", ErrBadConfig, math.MaxInt32)
	}
	var sl int32
	if n := len(p.free); n > 0 {
		sl = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		sl = int32(len(p.slots))
		p.slots = append(p.slots, flowState{})
	}
	f := &p.slots[sl]
	*f = flowState{id: id, path: append([]int32(nil), path...), sampler: newSampler(p.sampler), lastAt: start.UnixNano(), used: true}
	f.idx = make([]int32, len(path))
	for i, s := range path {
		f.idx[i] = int32(len(p.onSwitch[s]))
		p.onSwitch[s] = append(p.onSwitch[s], sl)
	}
	p.slotOf[id] = sl
	p.queue.Set(sl, start.Add(f.sampler.Interval()))
	return nil
}

// Forget stops sampling id (unknown ids are ignored).
func (p *Poller) Forget(id uint64) {
	sl, f := p.flow(id)
	if f == nil {
		return
	}
	for i, s := range f.path {
		l := p.onSwitch[s]
		j := f.idx[i]
		last := int32(len(l) - 1)
		if j != last {
			moved := l[last]
			l[j] = moved
			mf := &p.slots[moved]
			for k, ms := range mf.path {
				if ms == s && mf.idx[k] == last {
					mf.idx[k] = j
					break
				}
			}
		}
		p.onSwitch[s] = l[:last]
	}
	p.queue.Remove(sl)
	delete(p.slotOf, id)
	*f = flowState{}
	p.free = append(p.free, sl)
}

// Expire takes a flow's final counters from its FLOW_REMOVED: the last reading, taken
// without a poll; the flow is no longer watched. It returns the final rate.
func (p *Poller) Expire(id uint64, bytes uint64, now time.Time) (float64, error) {
	_, f := p.flow(id)
	if f == nil {
		return 0, fmt.Errorf("%w: %d", ErrUnknownFlow, id)
	}
	p.read(f, bytes, now.UnixNano())
	r := f.rate
	p.Forget(id)
	return r, nil
}

// OnReading takes flow id's byte counter read at now by any poll (its own, a batched
// poll-all, an MCPS poll-all): the flow's rate and sampler are updated and its next
// poll is scheduled τ after the poll of this poller that read it (Due), or τ after now
// for a reading of another poll. A second reading at the same instant is ignored, so a flow
// read by one poll this tick is never polled or counted again in it. Unknown ids are
// ignored (false).
func (p *Poller) OnReading(id uint64, bytes uint64, now time.Time) bool {
	sl, f := p.flow(id)
	if f == nil {
		return false
	}
	n := now.UnixNano()
	if n <= f.lastAt && f.reads > 0 {
		if !p.queue.Has(sl) {
			p.queue.Set(sl, time.Unix(0, f.lastAt).Add(f.sampler.Interval()))
		}
		return true
	}
	tau := p.read(f, bytes, n)
	// The interval runs from the poll that read the flow, as the samplers define it:
	// from the reply it would grow by the round trip and the wait for the next tick
	// (a 1 s fixed interval polled every 1.25 s at 250 ms ticks), and rates over
	// intervals that are not a multiple of a switch's counter refresh (Open vSwitch:
	// 500 ms) swing by a refresh's worth. A reading from another poll (an MCPS
	// poll-all, say) has no such poll: τ from the reading.
	base := n
	if f.polledAt > 0 && f.polledAt <= n {
		base = f.polledAt
	}
	f.polledAt = 0
	p.queue.Set(sl, time.Unix(0, base).Add(tau))
	return true
}

// OnLost says the poll of id sent at now got no answer: it is retried τ_min later.
func (p *Poller) OnLost(id uint64, now time.Time) {
	sl, f := p.flow(id)
	if f == nil {
		return
	}
	f.polledAt = 0
	p.queue.Set(sl, now.Add(p.sampler.Min))
}

func (p *Poller) read(f *flowState, bytes uint64, n int64) time.Duration {
	el := time.Duration(n - f.lastAt)
	var d uint64
	if bytes >= f.last {
		d = bytes - f.last
	} else {
		d = bytes // counter reset (entry re-installed): count from zero
	}
	tau := f.sampler.Interval()
	if el > 0 {
		o := Observation{Bytes: d, Elapsed: el}
		f.rate = o.Rate()
		tau = f.sampler.Observe(o)
		f.lastAt = n
	}
	f.last = bytes
	f.reads++
	return tau
}

// Rate returns flow id's rate in bytes/s between its last two readings (the first
// from its start at zero bytes), and whether it has been read.
func (p *Poller) Rate(id uint64) (float64, bool) {
	_, f := p.flow(id)
	if f == nil || f.reads == 0 {
		return 0, false
	}
	return f.rate, true
}

// Interval returns flow id's current interval.
func (p *Poller) Interval(id uint64) (time.Duration, bool) {
	_, f := p.flow(id)
	if f == nil {
		return 0, false
	}
	return f.sampler.Interval(), true
}

// DueAt returns when flow id is next due (false for an unknown flow).
func (p *Poller) DueAt(id uint64) (time.Time, bool) {
	sl, f := p.flow(id)
	if f == nil {
		return time.Time{}, false
	}
	return p.queue.Due(sl)
}

// Next returns when the next flow falls due (false with nothing scheduled).
func (p *Poller) Next() (time.Time, bool) { return p.queue.Next() }

// FlowsOn appends to dst the watched flows through switch s (what a poll-all there
// reads).
func (p *Poller) FlowsOn(s int32, dst []uint64) []uint64 {
	if s < 0 || int(s) >= len(p.onSwitch) {
		return dst
	}
	for _, sl := range p.onSwitch[s] {
		dst = append(dst, p.slots[sl].id)
	}
	return dst
}

// SwitchCost returns the cost of a poll-all at s with entries entries and of a
// poll-single there, deployment included.
func (p *Poller) SwitchCost(s int32, entries int) (all, single int64) {
	h := p.hops[s]
	return h * p.net.Cost.PollAll(entries), h * p.singleB
}

// cheapest returns the switch of f's path with the fewest hops (first on ties).
func (p *Poller) cheapest(f *flowState) int32 {
	best := f.path[0]
	for _, s := range f.path[1:] {
		if p.hops[s] < p.hops[best] {
			best = s
		}
	}
	return best
}

// Due takes every flow due at now and returns the requests that read them. Each is
// rescheduled one interval later until its reading (OnReading) or a failure (OnLost)
// reschedules it, so none is polled twice in a tick and none is stranded by a reply
// that never comes.
// The plan's slices are reused by the next call to Due.
// entries(s) is the number of flow entries switch s holds (what a poll-all there
// returns); nil, or a smaller figure than the watched flows through s, means those
// watched flows.
//
// With batching, candidate poll-alls are taken greedily by their saving (the
// poll-singles of the uncovered due flows they read minus their own cost, as mcps's
// greedy takes sets by cost per newly covered flow); a poll-all is taken only while its
// saving is positive, so a lone switch's due flows go to one poll-all exactly when
// c_all(s) < k·c_one(s).
func (p *Poller) Due(now time.Time, entries func(s int32) int) Plan {
	return p.DueBy(now, now, entries)
}

// DueBy is Due for a caller that polls on a ticker: it takes every flow due by
// by (at or after now), polled at now. A caller whose ticks jitter passes the
// next tick's midpoint, so that a flow due a hair after this tick (its interval
// counted from the last poll at a tick that came a little late) is not polled a
// whole tick late.
func (p *Poller) DueBy(now, by time.Time, entries func(s int32) int) Plan {
	if by.Before(now) {
		by = now
	}
	p.ids = p.queue.PopDue(by, p.ids[:0])
	var plan Plan
	plan.Due = len(p.ids)
	if len(p.ids) == 0 {
		return plan
	}
	for _, sl := range p.ids {
		f := &p.slots[sl]
		s := p.cheapest(f)
		plan.SinglesBytes += p.hops[s] * p.singleB
		// Until its reading comes back the flow waits one more interval: a reply that
		// never comes (or a poll-all that no longer holds the entry) cannot strand it.
		p.queue.Set(sl, now.Add(f.sampler.Interval()))
		f.polledAt = now.UnixNano()
	}
	if p.covered == nil {
		p.covered = map[int32]bool{}
	}
	clear(p.covered)
	p.dueBuf = p.dueBuf[:0]
	p.polls = p.polls[:0]
	if p.cfg.Batch && len(p.ids) > 1 {
		p.batch(entries)
	}
	for _, sl := range p.ids {
		if p.covered[sl] {
			continue
		}
		f := &p.slots[sl]
		s := p.cheapest(f)
		b := p.hops[s] * p.singleB
		p.dueBuf = append(p.dueBuf, f.id)
		p.polls = append(p.polls, Poll{Switch: s, Flow: f.id, Bytes: b})
	}
	// Point each poll's Due into dueBuf now that it no longer grows.
	off := 0
	for i := range p.polls {
		q := &p.polls[i]
		if q.All {
			// A poll-all reads every watched flow there, due or not: their next
			// intervals run from it too.
			for _, sl := range p.onSwitch[q.Switch] {
				p.slots[sl].polledAt = now.UnixNano()
			}
		}
		n := q.nDue
		if !q.All {
			n = 1
		}
		q.Due = p.dueBuf[off : off+n : off+n]
		off += n
		plan.Bytes += q.Bytes
	}
	plan.Polls = p.polls
	return plan
}

type cand struct {
	s      int32
	cost   int64
	flows  []int32 // due slots through s
	saving int64
}

type candHeap []*cand

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	if h[i].saving != h[j].saving {
		return h[i].saving > h[j].saving
	}
	return h[i].s < h[j].s
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(*cand)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (p *Poller) batch(entries func(s int32) int) {
	if p.bySw == nil {
		p.bySw = map[int32]*cand{}
	}
	clear(p.bySw)
	p.cands = p.cands[:0]
	single := func(sl int32) int64 { return p.hops[p.cheapest(&p.slots[sl])] * p.singleB }
	for _, sl := range p.ids {
		for _, s := range p.slots[sl].path {
			if _, ok := p.bySw[s]; !ok {
				p.bySw[s] = nil
				n := len(p.onSwitch[s])
				if entries != nil {
					n = max(n, entries(s))
				}
				p.cands = append(p.cands, cand{s: s, cost: p.hops[s] * p.net.Cost.PollAll(n)})
			}
		}
	}
	for i := range p.cands {
		p.bySw[p.cands[i].s] = &p.cands[i]
	}
	for _, sl := range p.ids {
		for _, s := range p.slots[sl].path {
			c := p.bySw[s]
			c.flows = append(c.flows, sl)
		}
	}
	h := make(candHeap, 0, len(p.cands))
	for i := range p.cands {
		c := &p.cands[i]
		for _, sl := range c.flows {
			c.saving += single(sl)
		}
		c.saving -= c.cost
		if c.saving > 0 {
			h = append(h, c)
		}
	}
	if len(h) == 0 {
		return
	}
	heap.Init(&h)
	var chosen []*cand
	for h.Len() > 0 {
		c := heap.Pop(&h).(*cand)
		// Re-key: the saving only falls as flows get covered.
		var sv int64
		for _, sl := range c.flows {
			if !p.covered[sl] {
				sv += single(sl)
			}
		}
		sv -= c.cost
		if sv != c.saving {
			c.saving = sv
			if sv > 0 {
				heap.Push(&h, c)
			}
			continue
		}
		if sv <= 0 {
			break
		}
		chosen = append(chosen, c)
		for _, sl := range c.flows {
			p.covered[sl] = true
		}
	}
	sort.Slice(chosen, func(i, j int) bool { return chosen[i].s < chosen[j].s })
	seen := make(map[int32]bool, len(chosen))
	for _, c := range chosen {
		n := 0
		for _, sl := range c.flows {
			if !seen[sl] {
				seen[sl] = true
				p.dueBuf = append(p.dueBuf, p.slots[sl].id)
				n++
			}
		}
		p.polls = append(p.polls, Poll{All: true, Switch: c.s, Bytes: c.cost, nDue: n})
	}
}
