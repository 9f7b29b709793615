package collector

import (
	"context"
	"errors"
	"fmt"
	"github.com/cemon-sdn/cemon/afps"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/internal/idmap"
	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/poll"
	"github.com/cemon-sdn/cemon/stats"
)

// Requester sends a request to a switch and returns every part of its reply;
// *controller.Controller is one.
type Requester interface {
	Request(ctx context.Context, dpid uint64, msg ofproto.Message) ([]ofproto.Message, error)
}

// PipelinedRequester is what a Requester may offer beyond Request (a round checks
// for it): a switch's batch of requests sent as a pipeline of depth requests
// outstanding at most, each answered through done in the calling goroutine, without
// a goroutine or a context per request. *controller.Controller has it; see its
// RequestPipelined for the contract. Each request times out after timeout.
type PipelinedRequester interface {
	RequestPipelined(ctx context.Context, dpid uint64, depth int, timeout time.Duration,
		next func() ofproto.Message, done func(i int, msgs []ofproto.Message, err error)) error
}

// Recycler is what a Requester may offer beyond Request: it takes back the replies
// a round is done with (everything it needs copied out), to decode later replies
// into their memory (*controller.Controller does).
type Recycler interface {
	Recycle(msgs []ofproto.Message)
}

// Tracker is the part of *flowtracker.Tracker the collector uses.
type Tracker interface {
	Subscribe(buf int) *flowtracker.Subscription
	Get(id uint64) (flowtracker.Flow, bool)
	Resolve(cookie uint64, k flowtracker.Key) (flowtracker.Handle, bool)
	Snapshot() []flowtracker.Flow
}

// cookieIDs is what a Tracker may offer beyond the interface: the flow ID a cookie
// carries, read without a lookup (flowtracker.Tracker has it).
type cookieIDs interface {
	IDOf(cookie uint64) (uint64, bool)
}

// Deps are what a Collector works with. Requester, Tracker, Store and Switches are
// required.
type Deps struct {
	Requester Requester
	Tracker   Tracker
	Store     *stats.Store
	// Switches returns the datapath ids of the connected switches.
	Switches func() []uint64
	// Hops returns each switch's hop count to the controller; needed in-band (a
	// switch it does not name counts one hop).
	Hops func() map[uint64]int
	// IsTimeout says whether a Request error is a timeout (the rest count as
	// errors); context.DeadlineExceeded always is.
	IsTimeout func(error) bool
	// Unsent says whether a Request error means the request never left (no such
	// switch, say): its bytes are then not accounted. Default: every request left.
	Unsent func(error) bool
	// Scheme, when set, gives the scheme computed elsewhere that this collector's
	// mcps polling follows (in a cluster, this instance's part of the leader's
	// global scheme), nil while none is current: the collector then polls by its own
	// mcps scheme, which it keeps up to date all along (see poll.Published).
	Scheme func() *poll.Assigned
	// HandOver, when set, takes the reply entries of flows this collector does not
	// poll but whose cookie names a flow ID (another instance's flows a poll-all
	// returned): ids[i] is entries[i]'s flow. Called without the collector's locks.
	HandOver func(dpid uint64, entries []ofproto.FlowStats, ids []uint64)
	// Clock gives the time; default time.Now.
	Clock func() time.Time
	// Logger receives rebuilds (info) and DAPR patches (debug); default discards.
	Logger *slog.Logger
	// EventBuffer is the tracker subscription's channel buffer; default 4096.
	// Bursts beyond it wait in the subscription's backlog (see
	// flowtracker.Subscription), so it need not hold the largest burst.
	EventBuffer int
}

// Rebuild describes one rebuild of the scheme.
type Rebuild = poll.Rebuild

// Single is one poll-single of the scheme.
type Single = poll.Single

// Scheme is the live polling scheme (the scheduler's Plan) with the executor's
// figures: the round interval, the rounds run, and rebuilds counted across strategy
// switches.
type Scheme struct {
	poll.Plan
	Interval time.Duration
	Rounds   uint64
	// Global is true while the collector polls by a scheme computed elsewhere
	// (Deps.Scheme), of revision Assigned; Plan is then its own scheme, kept as the
	// fallback. Rescued counts the single reads of its flows such schemes left
	// unread.
	Global   bool
	Assigned int64
	Rescued  int
}

type flowRec struct {
	key     flowtracker.Key   // 32 bytes
	hop     *flowtracker.Hop  // the path's first hop (hops), shared with the statistics store
	n       uint16            // the path's hops
	grain   flowtracker.Grain // a host-pair aggregate's entries wildcard the transport fields
	refused bool              // some switch of the path refused the flow's entry: Collector.refused lists them
	// read is the latest round (Collector.readRound) whose batches back in time
	// read the flow: that round's late batches leave it alone. It fits in the
	// record's padding.
	read uint32
}

// hops returns the flow's path.
func (f *flowRec) hops() []flowtracker.Hop {
	if f.n == 0 {
		return nil
	}
	return unsafe.Slice(f.hop, f.n)
}

// newFlowRec makes a flow's record: 48 bytes (with its map entry, the collector keeps
// about 70 bytes per flow beside the path it shares with the statistics store).
func newFlowRec(key flowtracker.Key, grain flowtracker.Grain, path []flowtracker.Hop) *flowRec {
	f := &flowRec{key: key, grain: grain, n: uint16(len(path))}
	if len(path) > 0 {
		f.hop = &path[0]
	}
	return f
}

// Collector is the polling edge: it keeps the active flows, feeds their arrivals
// and expiries to the scheduler of the current strategy, and runs the scheduler's
// rounds (see Round). Create it with New, start it with Run.
type Collector struct {
	cfg   Config
	deps  Deps
	store *stats.Store
	log   *slog.Logger
	sub   *flowtracker.Subscription
	acct  accounting
	rng   *rand.Rand

	timing  timings        // each switch's reply times and batch out
	workers sync.WaitGroup // batches of requests out

	tasks    *tasks     // monitoring tasks over any strategy (guarded by mu)
	intakeMu sync.Mutex // one HandleEvents at a time; guards intake
	intake   []arrival  // a run of arrivals being added
	roundMu  sync.Mutex // one Round at a time; guards the round's buffers and roundAt
	roundAt  time.Time  // when the last Round began (Deps.Clock)
	// readRound numbers the rounds and task rounds sent (under roundMu), for
	// flowRec.read: 1 on, wrapping round past 0.
	readRound uint32
	// groups, groupDPIDs and groupEnds are send's working memory (under roundMu):
	// a switch's group, the switches in order, where each group ends.
	groups     map[uint64]int32
	groupDPIDs []uint64
	groupEnds  []int
	// heapAlloc and heapGCs are the process's heap allocation and garbage
	// collections at the last round's log (heapSinceLast; under roundMu).
	heapAlloc, heapGCs uint64
	lateMu             sync.Mutex    // one late batch matching at a time (applyLate)
	lateIng            poll.Ingester // late batches' matching (under lateMu)
	// lateBufs are the readings' and samples' buffers of late batches, kept for
	// the next ones (lateBufMu; at most maxLateBufs, their readings' capacity
	// lateKept at most maxLateBufReadings): buffers made per batch were about
	// half a megabyte for 3,000 entries, for the garbage collector.
	lateBufMu sync.Mutex
	lateBufs  []*lateBuf
	lateKept  int
	readings  []stats.Reading
	samples   []stats.FlowSample

	mu      sync.Mutex // guards what follows; never held while solving or waiting for replies
	sched   poll.Scheduler
	flows   idmap.Map[*flowRec]
	refused map[uint64][]uint64 // the switches that refused a flow's entry (flowRec.refused), never polled for it
	ingest  poll.Ingester       // the round's reply matching (under roundMu)
	warmSum uint64              // where warm leaves what it loads
	solving *solving            // the scheduler's work still running after its round (under roundMu)
	// solvingRounds counts the rounds that went on without waiting for the end of
	// the scheduler's work (under mu).
	solvingRounds uint64
	idOf          cookieIDs // the Tracker's cookie decoding, when it has one
	dropped       uint64    // subscription drops already resynced
	last          *Rebuild
	rebuilds      int
	rounds        uint64
	unmatched     uint64
	rejected      uint64
	skipped       uint64
	busy          uint64 // requests not sent: the switch's batch was still out
	late          uint64 // batches back after their round
	lateReads     uint64 // readings such batches brought
	due           []poll.Request
	recs          []*flowRec // the due requests' flows, looked up ahead (requests)
	dpidBuf       []uint64
}

// New returns a Collector subscribed to the tracker's events; call Run to poll and
// Close (or end Run's context) to unsubscribe.
func New(cfg Config, d Deps) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var missing []error
	if d.Requester == nil {
		missing = append(missing, fmt.Errorf("%w: Requester", ErrMissingDeps))
	}
	if d.Tracker == nil {
		missing = append(missing, fmt.Errorf("%w: Tracker", ErrMissingDeps))
	}
	if d.Store == nil {
		missing = append(missing, fmt.Errorf("%w: Store", ErrMissingDeps))
	}
	if d.Switches == nil {
		missing = append(missing, fmt.Errorf("%w: Switches", ErrMissingDeps))
	}
	if cfg.Deployment == mcps.InBand && d.Hops == nil {
		missing = append(missing, fmt.Errorf("%w: Hops (in-band)", ErrMissingDeps))
	}
	if err := errors.Join(missing...); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.EventBuffer <= 0 {
		d.EventBuffer = 1 << 12
	}
	c := &Collector{
		cfg: cfg, deps: d, store: d.Store, log: d.Logger, refused: make(map[uint64][]uint64),
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	c.ingest.Warm, c.ingest.WarmPasses = c.warm, warmPasses
	c.lateIng.Warm, c.lateIng.WarmPasses = c.warm, warmPasses
	c.idOf, _ = d.Tracker.(cookieIDs)
	s, err := c.newScheduler(cfg.Strategy, "initial")
	if err != nil {
		return nil, err
	}
	c.sched = s
	if c.tasks, err = newTasks(cfg, c.costModel()); err != nil {
		return nil, err
	}
	c.sub = d.Tracker.Subscribe(d.EventBuffer)
	// Flows the tracker already holds are picked up by the first round's resync.
	for _, f := range d.Tracker.Snapshot() {
		if f.State != flowtracker.StateExpired {
			c.addFlow(f.ID, f.Key, f.Grain, f.Path(), refusedOf(&f), f.Start)
		}
	}
	return c, nil
}

// costModel is the planner's byte model: the wire model with the accounting's MSS
// and per-segment overhead, so that a scheme's cost predicts what the accounting
// will measure.
func (c *Collector) costModel() mcps.WireCost {
	return mcps.WireCost{MSS: c.cfg.MSS, Overhead: c.cfg.FrameOverhead}
}

// newScheduler builds the scheduler of a strategy, empty.
func (c *Collector) newScheduler(s Strategy, reason string) (poll.Scheduler, error) {
	if s == StrategyMCPS && c.deps.Scheme != nil {
		local, err := poll.NewPlanned(poll.PlannedConfig{Strategy: s, Deployment: c.cfg.Deployment, Cost: c.costModel(),
			Interval: c.cfg.Interval, Theta: c.cfg.Theta, CostRatio: c.cfg.CostRatio, MaxInterval: c.cfg.MaxInterval, ReadPoint: c.cfg.ReadPoint, Variance: c.cfg.Variance,
			BoundInterval: c.cfg.BoundInterval, Rand: c.rng, Reason: reason, Offloaded: true})
		if err != nil {
			return nil, err
		}
		return poll.NewPublished(local), nil
	}
	if s == StrategyAFPS {
		return poll.NewAdaptive(poll.AdaptiveConfig{Sampler: c.cfg.Sampler, Deployment: c.cfg.Deployment, Cost: c.costModel(), Batch: true})
	}
	return poll.NewPlanned(poll.PlannedConfig{Strategy: s, Deployment: c.cfg.Deployment, Cost: c.costModel(),
		Interval: c.cfg.Interval, Theta: c.cfg.Theta, CostRatio: c.cfg.CostRatio, MaxInterval: c.cfg.MaxInterval, ReadPoint: c.cfg.ReadPoint, Variance: c.cfg.Variance,
		BoundInterval: c.cfg.BoundInterval, Rand: c.rng, Reason: reason, Offloaded: true})
}

// Config returns the configuration in use, defaults filled in.
func (c *Collector) Config() Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg
}

// Store returns the statistics store the collector feeds.
func (c *Collector) Store() *stats.Store { return c.store }

// Close unsubscribes from the tracker. Run calls it when its context ends.
func (c *Collector) Close() { c.sub.Cancel() }

// SetStrategy switches the polling strategy: a new scheduler takes the active flows
// and builds its scheme at the next round.
func (c *Collector) SetStrategy(s Strategy) error {
	if !s.Valid() {
		return fmt.Errorf("%w: %v", ErrBadStrategy, s)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s == c.sched.Strategy() {
		return nil
	}
	next, err := c.newScheduler(s, "strategy")
	if err != nil {
		return err
	}
	now := c.deps.Clock()
	for id, f := range c.flows.All() {
		next.OnArrive(now, poll.Flow{ID: id, DPIDs: c.pollDPIDs(id, f)})
	}
	c.sched = next
	c.log.Info("polling strategy changed", "strategy", s.String())
	return nil
}

// SetSampler sets strategy afps's per-flow sampler and switches to strategy s; when
// afps is in use already and the sampler changes, a new afps scheduler takes the
// active flows.
func (c *Collector) SetSampler(s Strategy, sampler afps.Config) error {
	if err := sampler.Validate(); err != nil {
		return fmt.Errorf("%w: Sampler: %w", ErrBadConfig, err)
	}
	c.mu.Lock()
	changed := c.cfg.Sampler != sampler
	c.cfg.Sampler = sampler
	if changed && c.sched.Strategy() == StrategyAFPS && s == StrategyAFPS {
		next, err := c.newScheduler(s, "sampler")
		if err != nil {
			c.mu.Unlock()
			return err
		}
		now := c.deps.Clock()
		for id, f := range c.flows.All() {
			next.OnArrive(now, poll.Flow{ID: id, DPIDs: c.pollDPIDs(id, f)})
		}
		c.sched = next
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return c.SetStrategy(s)
}

// Strategy returns the current strategy.
func (c *Collector) Strategy() Strategy {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sched.Strategy()
}

// pollDPIDs lists the switches a flow may be polled at: its path without the switches
// that refused its entry, in a buffer reused by the next call (c.mu held).
func (c *Collector) pollDPIDs(id uint64, f *flowRec) []uint64 {
	if !f.refused {
		return c.dpidsOf(f.hops())
	}
	refused := c.refused[id]
	c.dpidBuf = c.dpidBuf[:0]
	for _, h := range f.hops() {
		if !slices.Contains(refused, h.DPID) {
			c.dpidBuf = append(c.dpidBuf, h.DPID)
		}
	}
	return c.dpidBuf
}

// setRefused records the switches that refused flow id's entry (c.mu held).
func (c *Collector) setRefused(id uint64, f *flowRec, refused []uint64) {
	f.refused = len(refused) > 0
	if f.refused {
		c.refused[id] = refused
	} else {
		delete(c.refused, id)
	}
}

// pollable says whether flow id's entry at switch dpid may be polled: the switch is
// on its path and did not refuse the entry (c.mu held).
func (c *Collector) pollable(id uint64, f *flowRec, dpid uint64) bool {
	return !f.refused || !slices.Contains(c.refused[id], dpid)
}

// refusedOf lists the switches that refused f's entry, nil when none did.
func refusedOf(f *flowtracker.Flow) []uint64 {
	var out []uint64
	for _, e := range f.Entries {
		if e.Refused {
			out = append(out, e.DPID)
		}
	}
	return out
}

// dpidsOf lists a path's switches in a buffer reused by the next call (c.mu held;
// schedulers copy what they keep).
func (c *Collector) dpidsOf(hops []flowtracker.Hop) []uint64 {
	c.dpidBuf = c.dpidBuf[:0]
	for _, h := range hops {
		c.dpidBuf = append(c.dpidBuf, h.DPID)
	}
	return c.dpidBuf
}

// Run handles tracker events and runs a polling round every Config.Interval (and a
// port statistics round every Config.PortStatsInterval, and a Store tick every
// Config.StoreTick if set) until ctx ends; it returns once every goroutine it started has
// ended, so that a caller can wait for it at shutdown.
func (c *Collector) Run(ctx context.Context) error {
	defer c.Close()
	tick := time.NewTicker(c.cfg.Interval)
	defer tick.Stop()
	var portC <-chan time.Time
	if c.cfg.PortStatsInterval > 0 {
		pt := time.NewTicker(c.cfg.PortStatsInterval)
		defer pt.Stop()
		portC = pt.C
	}
	taskT := time.NewTicker(c.cfg.TaskInterval)
	defer taskT.Stop()
	rounds := make(chan struct{}, 1)
	ports := make(chan struct{}, 1)
	taskRounds := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	evs := make([]flowtracker.Event, 0, eventBatch)
	defer func() {
		cancel() // stops the round goroutines however Run ends
		wg.Wait()
		c.Wait() // batches rounds left to slow switches
	}()
	if c.cfg.StoreTick > 0 {
		wg.Add(1)
		go func() { // the store's clock: histories advance and stale rates age out between rounds too
			defer wg.Done()
			st := time.NewTicker(c.cfg.StoreTick)
			defer st.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-st.C:
					c.store.Tick(c.deps.Clock())
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // port rounds wait for every switch: on their own, they hold up no flow round
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ports:
				c.PortRound(ctx)
			}
		}
	}()
	wg.Add(1)
	go func() { // rounds run here so that events keep flowing while one waits for replies
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-rounds:
				c.Round(ctx)
			case <-taskRounds:
				c.TaskRound(ctx)
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-c.sub.C:
			if !ok {
				return nil
			}
			// A burst of installs is taken in batches: the flows' arrivals then
			// take the lock the rounds use once per batch, not once per flow.
			evs = append(evs[:0], ev)
		more:
			for len(evs) < eventBatch {
				select {
				case ev, ok := <-c.sub.C:
					if !ok {
						break more
					}
					evs = append(evs, ev)
				default:
					break more
				}
			}
			c.HandleEvents(evs)
		case <-tick.C:
			select {
			case rounds <- struct{}{}:
			default: // the previous round is still running: skip this one
			}
		case <-portC:
			select {
			case ports <- struct{}{}:
			default:
			}
		case <-taskT.C:
			select {
			case taskRounds <- struct{}{}:
			default:
			}
		}
	}
}

// Drain handles every tracker event already queued, the subscription's backlog
// included, without waiting for new ones; tests and one-shot tools use it in place
// of Run.
func (c *Collector) Drain() int {
	n := 0
	for {
		select {
		case ev, ok := <-c.sub.C:
			if !ok {
				return n
			}
			c.HandleEvent(ev)
			n++
			continue
		default:
		}
		if q, _ := c.sub.Backlog(); q == 0 {
			return n
		}
		// The backlog's next event is on its way (or was just taken: the count
		// lags the pump's send a little), so wait for it briefly and look again.
		select {
		case ev, ok := <-c.sub.C:
			if !ok {
				return n
			}
			c.HandleEvent(ev)
			n++
		case <-time.After(time.Millisecond):
		}
	}
}

// eventBatch is the most tracker events Run takes in one batch.
const eventBatch = 1024

// HandleEvent applies one tracker event: DAPR patches the scheme, the Store registers
// the flow or takes its final counters.
func (c *Collector) HandleEvent(ev flowtracker.Event) {
	c.HandleEvents([]flowtracker.Event{ev})
}

// HandleEvents applies tracker events in their order, as HandleEvent does one by one;
// each run of arrivals is registered with the scheduler under one hold of the lock
// the rounds take.
func (c *Collector) HandleEvents(evs []flowtracker.Event) {
	c.intakeMu.Lock()
	defer c.intakeMu.Unlock()
	run := c.intake[:0]
	defer func() { clear(run); c.intake = run[:0] }()
	for i := range evs {
		ev := &evs[i]
		if ev.Kind == flowtracker.EventArrived {
			run = append(run, c.arrivalOf(ev))
			continue
		}
		c.addFlows(run)
		run = run[:0]
		switch ev.Kind {
		case flowtracker.EventChanged:
			c.changeFlow(*ev)
		case flowtracker.EventExpired:
			c.removeFlow(*ev)
		}
	}
	c.addFlows(run)
}

// arrival is a flow to add: what addFlow takes.
type arrival struct {
	id      uint64
	key     flowtracker.Key
	grain   flowtracker.Grain
	path    []flowtracker.Hop
	refused []uint64
	start   time.Time
}

// arrivalOf reads an arrival event.
func (c *Collector) arrivalOf(ev *flowtracker.Event) arrival {
	var path []flowtracker.Hop
	if len(ev.Path) == len(ev.DPIDs) && len(ev.Path) > 0 {
		// The event's path (shared and read-only: addFlow copies it) has the
		// ports links are keyed by; no tracker lookup needed.
		path = ev.Path
	} else if f, ok := c.deps.Tracker.Get(ev.ID); ok {
		path = f.Path()
	} else {
		path = make([]flowtracker.Hop, len(ev.DPIDs))
		for i, d := range ev.DPIDs {
			path[i].DPID = d
		}
	}
	var refused []uint64
	if len(ev.Installed) < len(ev.DPIDs) {
		for _, d := range ev.DPIDs {
			if !slices.Contains(ev.Installed, d) {
				refused = append(refused, d)
			}
		}
	}
	return arrival{id: ev.ID, key: ev.Key, grain: ev.Grain, path: path, refused: refused, start: ev.Time}
}

// changeFlow takes a flow whose entry some switch refused: the scheduler polls it
// only where its entries exist (a poll-all of a switch that refused it would not
// return it, nor may a poll-single be sent there).
func (c *Collector) changeFlow(ev flowtracker.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.flows.Get(ev.ID)
	if !ok {
		return
	}
	var refused []uint64
	for _, d := range ev.DPIDs {
		if !slices.Contains(ev.Installed, d) {
			refused = append(refused, d)
		}
	}
	c.setRefused(ev.ID, f, refused)
	c.sched.OnExpire(ev.Time, ev.ID)
	if dp := c.pollDPIDs(ev.ID, f); len(dp) > 0 {
		c.sched.OnArrive(ev.Time, poll.Flow{ID: ev.ID, DPIDs: dp})
	}
	c.log.Debug("flow lost entries a switch refused", "flow", ev.ID, "installed", ev.Installed)
}

func statsPath(hops []flowtracker.Hop) []stats.Hop {
	out := make([]stats.Hop, len(hops))
	for i, h := range hops {
		out[i] = stats.Hop{DPID: h.DPID, InPort: h.InPort, OutPort: h.OutPort}
	}
	return out
}

// sharedPath copies path once, as the statistics store's hops, and returns the same
// memory seen as the tracker's hops: the store and the collector keep one copy of a
// flow's path between them (neither changes it). The conversion below compiles only
// while stats.Hop and flowtracker.Hop have the same fields in the same order, which
// makes their memory layouts the same.
func sharedPath(path []flowtracker.Hop) ([]stats.Hop, []flowtracker.Hop) {
	sp := statsPath(path)
	if len(sp) == 0 {
		return sp, nil
	}
	return sp, unsafe.Slice((*flowtracker.Hop)(unsafe.Pointer(unsafe.SliceData(sp))), len(sp))
}

var _ = stats.Hop(flowtracker.Hop{})

// addFlow registers a flow with the store and the scheduler. path is not kept (the
// flow's path is copied once, sharedPath).
func (c *Collector) addFlow(id uint64, key flowtracker.Key, grain flowtracker.Grain, path []flowtracker.Hop, refused []uint64, start time.Time) {
	c.addFlows([]arrival{{id: id, key: key, grain: grain, path: path, refused: refused, start: start}})
}

// addFlows registers flows with the store, then with the scheduler under one hold
// of c.mu. Their paths are not kept (each is copied once, sharedPath).
func (c *Collector) addFlows(as []arrival) {
	if len(as) == 0 {
		return
	}
	for i := range as {
		a := &as[i]
		src, dst := hostsOf(a.key)
		var sp []stats.Hop
		sp, a.path = sharedPath(a.path)
		if err := c.store.AddFlow(stats.FlowInfo{ID: a.id, Src: src, Dst: dst, Path: sp, Start: a.start}); err != nil {
			c.log.Debug("stats refused a flow", "flow", a.id, "err", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range as {
		a := &as[i]
		if _, dup := c.flows.Get(a.id); dup {
			continue
		}
		f := newFlowRec(a.key, a.grain, a.path)
		c.setRefused(a.id, f, a.refused)
		c.flows.Put(a.id, f)
		if dp := c.pollDPIDs(a.id, f); len(dp) > 0 {
			c.sched.OnArrive(a.start, poll.Flow{ID: a.id, DPIDs: dp})
		}
		c.taskArrive(a.start, a.id, a.key, a.path)
		c.log.Debug("flow arrived", "flow", a.id, "strategy", c.sched.Strategy().String())
	}
}

func (c *Collector) removeFlow(ev flowtracker.Event) {
	r, final := poll.Removed(ev)
	var err error
	if final {
		err = c.store.Remove(r)
	} else {
		err = c.store.End(ev.ID, ev.Time)
	}
	if err != nil {
		c.log.Debug("stats did not take an expiry", "flow", ev.ID, "err", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.flows.Get(ev.ID); !ok {
		return
	}
	c.flows.Delete(ev.ID)
	delete(c.refused, ev.ID)
	if final && err == nil {
		c.sched.OnReading(ev.Time, r, stats.FlowSample{})
	}
	c.sched.OnExpire(ev.Time, ev.ID)
	last := r.Bytes
	if !final {
		if fs, ok := c.store.Flow(ev.ID); ok {
			last = fs.Bytes
		}
	}
	c.taskExpire(ev.Time, ev.ID, last)
	c.log.Debug("flow expired", "flow", ev.ID)
}

// resync rebuilds the flow set from the tracker after lost events; the scheduler
// starts over with a new scheme.
func (c *Collector) resync(now time.Time) {
	snap := c.deps.Tracker.Snapshot()
	live := make(map[uint64]bool, len(snap))
	var added []flowtracker.Flow
	c.mu.Lock()
	for _, f := range snap {
		if f.State == flowtracker.StateExpired {
			continue
		}
		live[f.ID] = true
		if _, ok := c.flows.Get(f.ID); !ok {
			added = append(added, f)
		}
	}
	var gone []uint64
	for id := range c.flows.All() {
		if !live[id] {
			gone = append(gone, id)
		}
	}
	next, err := c.newScheduler(c.sched.Strategy(), "resync")
	if err == nil {
		for id, f := range c.flows.All() {
			if live[id] {
				next.OnArrive(now, poll.Flow{ID: id, DPIDs: c.pollDPIDs(id, f)})
			}
		}
		c.sched = next
	}
	c.mu.Unlock()
	for _, id := range gone {
		f, ok := c.deps.Tracker.Get(id)
		ev := flowtracker.Event{Kind: flowtracker.EventExpired, ID: id, Time: now}
		if ok {
			ev.DPIDs = f.DPIDs()
			ev.Final, ev.HasFinal = f.Final()
			if !f.End.IsZero() {
				ev.Time = f.End
			}
		}
		c.removeFlow(ev)
	}
	for _, f := range added {
		c.addFlow(f.ID, f.Key, f.Grain, f.Path(), refusedOf(&f), f.Start)
	}
}

// Scheme returns the live polling scheme.
func (c *Collector) Scheme() Scheme {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Scheme{Interval: c.cfg.Interval, Rounds: c.rounds}
	if p, ok := c.sched.(*poll.Planned); ok {
		s.Plan = p.Plan()
	} else if p, ok := c.sched.(*poll.Published); ok {
		s.Plan = p.Local().Plan()
		s.Assigned, s.Global = p.Active()
		s.Rescued = p.Rescued()
	} else {
		s.Plan = poll.Plan{Strategy: c.sched.Strategy(), Deployment: c.cfg.Deployment.String(), Model: c.costModel().Name(), Flows: c.flows.Len()}
	}
	s.Rebuilds, s.Last = c.rebuilds, nil
	if c.last != nil {
		l := *c.last
		s.Last = &l
	}
	return s
}

// Assigned is the revision of the scheme computed elsewhere (Deps.Scheme) the
// collector polls by; false while it polls by its own.
func (c *Collector) Assigned() (revision int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, isPub := c.sched.(*poll.Published); isPub {
		return p.Active()
	}
	return 0, false
}

// Usage returns the accounting per strategy and switch.
func (c *Collector) Usage() []UsageRow { return c.acct.rows() }

// Total returns the accounting summed over switches for one account (a strategy's
// name, or StrategyPortStats), or over everything when account is "".
func (c *Collector) Total(account string) Usage { return c.acct.total(account) }

// Counters are the collector's own health counters.
type Counters struct {
	Rounds       uint64
	Unmatched    uint64 // reply entries that mapped to no active flow
	Rejected     uint64 // readings the Store refused (flow gone meanwhile, say)
	Skipped      uint64 // requests a round had no time left to send
	Busy         uint64 // requests not sent because the switch's previous batch was still out
	Late         uint64 // batches (one switch's requests of a round) back after their round
	LateReadings uint64 // readings taken from late batches
	EventsLost   uint64 // tracker events lost to a full buffer (each triggers a resync)
	Unsettled    uint64 // rounds that polled by the scheme as it stood while its rebuild was being solved
	ActiveFlows  int
	Rebuilds     int
	SchemeCost   int64
	SchemeLBound int64
}

// Counters returns the collector's health counters.
func (c *Collector) Counters() Counters {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := Counters{Rounds: c.rounds, Unmatched: c.unmatched, Rejected: c.rejected, Skipped: c.skipped, Busy: c.busy, Late: c.late, LateReadings: c.lateReads, EventsLost: c.sub.Dropped(), Unsettled: c.solvingRounds,
		ActiveFlows: c.flows.Len(), Rebuilds: c.rebuilds}
	p, ok := c.sched.(*poll.Planned)
	if pub, isPub := c.sched.(*poll.Published); isPub {
		p, ok = pub.Local(), true
	}
	if ok {
		if cost, bound, ok := p.Cost(); ok {
			k.SchemeCost, k.SchemeLBound = cost, bound
		}
	}
	return k
}
