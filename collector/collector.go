package collector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/stats"
)

// Requester sends a request to a switch and returns every part of its reply;
// *controller.Controller is one.
type Requester interface {
	Request(ctx context.Context, dpid uint64, msg ofproto.Message) ([]ofproto.Message, error)
}

// Tracker is the part of *flowtracker.Tracker the collector uses.
type Tracker interface {
	Subscribe(buf int) *flowtracker.Subscription
	Get(id uint64) (flowtracker.Flow, bool)
	Resolve(cookie uint64, k flowtracker.Key) (flowtracker.Handle, bool)
	Snapshot() []flowtracker.Flow
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
	// Clock gives the time; default time.Now.
	Clock func() time.Time
	// Logger receives rebuilds (info) and DAPR patches (debug); default discards.
	Logger *slog.Logger
	// EventBuffer is the tracker subscription's buffer; default 65536.
	EventBuffer int
}

// Rebuild describes the last time the scheme was rebuilt.
type Rebuild struct {
	At           time.Time
	Reason       string // initial, variance, cost-drift, interval, strategy, switches, resync
	Strategy     string
	Flows        int
	VarianceRate float64
	PatchedCost  int64
	Cost         int64
	LowerBound   int64
	PollAll      int
	PollSingle   int
}

// Single is one poll-single of the scheme.
type Single struct {
	Flow uint64
	DPID uint64
}

// Scheme is the live polling scheme and its cost under the cost model Model.
type Scheme struct {
	Strategy   string
	Deployment string
	Interval   time.Duration
	Model      string
	PollAll    []uint64 // switches asked for all their entries
	PollSingle []Single
	Cost       int64 // bytes per round
	// LowerBound is a proven lower bound on the cost of any scheme for the flow set
	// of LowerBoundAt (LowerBoundFlows flows): the last rebuild's, refreshed after
	// DAPR patches at most every Config.BoundInterval.
	LowerBound      int64
	LowerBoundFlows int
	LowerBoundAt    time.Time
	Flows           int
	Rebuilds        int
	Rounds          uint64
	Last            *Rebuild // nil before the first rebuild
}

type flowRec struct {
	key  flowtracker.Key
	hops []flowtracker.Hop
}

// Collector runs the polling rounds. Create it with New, start it with Run.
type Collector struct {
	cfg   Config
	deps  Deps
	store *stats.Store
	log   *slog.Logger
	sub   *flowtracker.Subscription
	acct  accounting

	mu        sync.Mutex
	strategy  string
	flows     map[uint64]*flowRec
	planner   *mcps.Planner
	idx       map[uint64]int32 // dpid -> planner switch index
	dpids     []uint64         // planner switch index -> dpid
	replan    string           // non-empty: recreate the planner at the next round, for this reason
	dropped   uint64           // subscription drops already resynced
	last      *Rebuild
	rebuilds  int
	rounds    uint64
	unmatched uint64
	rejected  uint64
	skipped   uint64

	nw           mcps.Network // the planner's network
	version      uint64       // bumped by every change of the planned flow set
	bound        int64        // lower bound of the flow set at boundVersion
	boundFlows   int
	boundAt      time.Time
	boundVersion uint64
	rng          *rand.Rand
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
		d.EventBuffer = 1 << 16
	}
	c := &Collector{
		cfg: cfg, deps: d, store: d.Store, log: d.Logger,
		strategy: cfg.Strategy, flows: make(map[uint64]*flowRec),
		idx: make(map[uint64]int32), replan: "initial",
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	c.sub = d.Tracker.Subscribe(d.EventBuffer)
	// Flows the tracker already holds are picked up by the first round's resync.
	for _, f := range d.Tracker.Snapshot() {
		if f.State != flowtracker.StateExpired {
			c.addFlow(f.ID, f.Key, f.Path(), f.Start)
		}
	}
	return c, nil
}

// Config returns the configuration in use, defaults filled in.
func (c *Collector) Config() Config { return c.cfg }

// Store returns the statistics store the collector feeds.
func (c *Collector) Store() *stats.Store { return c.store }

// Close unsubscribes from the tracker. Run calls it when its context ends.
func (c *Collector) Close() { c.sub.Cancel() }

// SetStrategy switches the polling strategy; the scheme is rebuilt at the next round.
func (c *Collector) SetStrategy(name string) error {
	if !ValidStrategy(name) {
		return fmt.Errorf("%w: %q", ErrBadStrategy, name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if name != c.strategy {
		c.strategy = name
		c.replan = "strategy"
		c.log.Info("polling strategy changed", "strategy", name)
	}
	return nil
}

// Strategy returns the current strategy.
func (c *Collector) Strategy() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.strategy
}

// Run handles tracker events and runs a polling round every Config.Interval (and a
// port statistics round every Config.PortStatsInterval) until ctx ends.
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
	rounds := make(chan struct{}, 1)
	ports := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel() // stops the round goroutine however Run ends
		wg.Wait()
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
			case <-ports:
				c.PortRound(ctx)
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
			c.HandleEvent(ev)
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
		}
	}
}

// Drain handles every tracker event already queued, without waiting; tests and
// one-shot tools use it in place of Run.
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
		default:
			return n
		}
	}
}

// HandleEvent applies one tracker event: DAPR patches the scheme, the Store registers
// the flow or takes its final counters.
func (c *Collector) HandleEvent(ev flowtracker.Event) {
	switch ev.Kind {
	case flowtracker.EventArrived:
		var path []flowtracker.Hop
		if f, ok := c.deps.Tracker.Get(ev.ID); ok {
			path = f.Path()
		} else if len(ev.Path) == len(ev.DPIDs) && len(ev.Path) > 0 {
			// Gone from the tracker already (expired and not retained): the
			// event's own path still has the ports links are keyed by.
			path = slices.Clone(ev.Path)
		} else {
			path = make([]flowtracker.Hop, len(ev.DPIDs))
			for i, d := range ev.DPIDs {
				path[i].DPID = d
			}
		}
		c.addFlow(ev.ID, ev.Key, path, ev.Time)
	case flowtracker.EventExpired:
		c.removeFlow(ev)
	}
}

func statsPath(hops []flowtracker.Hop) []stats.Hop {
	out := make([]stats.Hop, len(hops))
	for i, h := range hops {
		out[i] = stats.Hop{DPID: h.DPID, InPort: h.InPort, OutPort: h.OutPort}
	}
	return out
}

func (c *Collector) addFlow(id uint64, key flowtracker.Key, path []flowtracker.Hop, start time.Time) {
	src, dst := hostsOf(key)
	if err := c.store.AddFlow(stats.FlowInfo{ID: id, Src: src, Dst: dst, Path: statsPath(path), Start: start}); err != nil {
		c.log.Debug("stats refused a flow", "flow", id, "err", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.flows[id]; dup {
		return
	}
	c.flows[id] = &flowRec{key: key, hops: path}
	c.version++
	if c.planner == nil || c.replan != "" {
		return // the next round builds the planner with this flow
	}
	ipath, ok := c.indexPath(path)
	if !ok {
		c.replan = "switches"
		return
	}
	if err := c.planner.AddFlow(id, ipath); err != nil {
		c.log.Warn("planner refused a flow", "flow", id, "err", err)
		return
	}
	if sw, single, ok := c.planner.PolledAt(id); ok && single {
		c.log.Debug("DAPR: flow arrived, poll-single added", "flow", id, "dpid", fmt.Sprintf("%016x", c.dpids[sw]))
	} else {
		c.log.Debug("DAPR: flow arrived, covered by a poll-all", "flow", id)
	}
}

func (c *Collector) removeFlow(ev flowtracker.Event) {
	var err error
	if ev.HasFinal && len(ev.DPIDs) > 0 {
		err = c.store.Remove(stats.Reading{Flow: ev.ID, DPID: ev.DPIDs[0], Bytes: ev.Final.Bytes,
			Packets: ev.Final.Packets, Duration: ev.Final.Duration(), At: ev.Time, Source: stats.SourceFlowRemoved})
	} else {
		err = c.store.End(ev.ID, ev.Time)
	}
	if err != nil {
		c.log.Debug("stats did not take an expiry", "flow", ev.ID, "err", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.flows[ev.ID]; !ok {
		return
	}
	delete(c.flows, ev.ID)
	c.version++
	if c.planner == nil || c.replan != "" {
		return
	}
	if err := c.planner.RemoveFlow(ev.ID); err != nil {
		c.log.Debug("planner did not know an expired flow", "flow", ev.ID, "err", err)
		return
	}
	c.log.Debug("DAPR: flow expired", "flow", ev.ID)
}

// indexPath maps a path's switches to planner indices; false if one is unknown.
func (c *Collector) indexPath(path []flowtracker.Hop) ([]int32, bool) {
	out := make([]int32, len(path))
	for i, h := range path {
		s, ok := c.idx[h.DPID]
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// resync rebuilds the flow set from the tracker after lost events.
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
		if _, ok := c.flows[f.ID]; !ok {
			added = append(added, f)
		}
	}
	var gone []uint64
	for id := range c.flows {
		if !live[id] {
			gone = append(gone, id)
		}
	}
	for _, id := range gone {
		delete(c.flows, id)
	}
	c.replan = "resync"
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
		c.addFlow(f.ID, f.Key, f.Path(), f.Start)
	}
}

// costModel is the planner's byte model: the wire model with the accounting's MSS
// and per-segment overhead, so that a scheme's cost predicts what the accounting
// will measure.
func (c *Collector) costModel() mcps.WireCost {
	return mcps.WireCost{MSS: c.cfg.MSS, Overhead: c.cfg.FrameOverhead}
}

// rebuildPlanner recreates the planner over the known switches and flows (c.mu held).
func (c *Collector) rebuildPlanner(now time.Time, why string) {
	set := make(map[uint64]bool)
	for _, d := range c.deps.Switches() {
		set[d] = true
	}
	for _, f := range c.flows {
		for _, h := range f.hops {
			set[h.DPID] = true
		}
	}
	c.dpids = c.dpids[:0]
	for d := range set {
		c.dpids = append(c.dpids, d)
	}
	slices.Sort(c.dpids)
	clear(c.idx)
	for i, d := range c.dpids {
		c.idx[d] = int32(i)
	}
	c.planner = nil
	if c.strategy == StrategyOff || len(c.dpids) == 0 {
		c.replan = ""
		return
	}
	nw := mcps.Network{Switches: len(c.dpids), Deployment: c.cfg.Deployment, Cost: c.costModel()}
	if c.cfg.Deployment == mcps.InBand {
		hops := c.deps.Hops()
		row := make([]int32, len(c.dpids))
		for i, d := range c.dpids {
			row[i] = 1
			if h, ok := hops[d]; ok && h > 0 {
				row[i] = int32(h)
			}
		}
		nw.Hops = [][]int32{row}
	}
	p, err := mcps.NewPlanner(mcps.PlannerConfig{Network: nw, Strategy: c.strategy,
		Options: mcps.Options{Rand: c.rng}, Theta: c.cfg.Theta, CostRatio: c.cfg.CostRatio, MaxInterval: c.cfg.MaxInterval})
	if err != nil {
		c.log.Error("polling planner", "err", err)
		return
	}
	ids := make([]uint64, 0, len(c.flows))
	for id := range c.flows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ipath, _ := c.indexPath(c.flows[id].hops)
		if err := p.AddFlow(id, ipath); err != nil {
			c.log.Warn("planner refused a flow", "flow", id, "err", err)
		}
	}
	c.planner, c.replan, c.nw = p, "", nw
	c.version++
	if p.Flows() > 0 {
		rep, err := p.Rebuild(now, mcps.ReasonForced)
		c.noteRebuild(rep, why, err)
	}
}

func (c *Collector) noteRebuild(rep mcps.RebuildReport, reason string, err error) {
	if err != nil {
		c.log.Error("polling scheme rebuild failed", "reason", reason, "err", err)
		return
	}
	c.rebuilds++
	c.bound, c.boundFlows, c.boundAt, c.boundVersion = rep.LowerBound, rep.Flows, rep.At, c.version
	c.last = &Rebuild{At: rep.At, Reason: reason, Strategy: c.strategy, Flows: rep.Flows,
		VarianceRate: rep.VarianceRate, PatchedCost: rep.PatchedCost, Cost: rep.Cost,
		LowerBound: rep.LowerBound, PollAll: rep.PollAll, PollSingle: rep.PollSingle}
	c.log.Info("polling scheme rebuilt", "reason", reason, "strategy", c.strategy, "flows", rep.Flows,
		"variance_rate", rep.VarianceRate, "patched_cost_bytes", rep.PatchedCost, "cost_bytes", rep.Cost,
		"lower_bound_bytes", rep.LowerBound, "poll_all", rep.PollAll, "poll_single", rep.PollSingle)
}

// request is one statistics request of a round.
type request struct {
	dpid   uint64
	msg    *ofproto.StatsRequest
	source stats.Source
}

// plan brings the scheme up to date and returns the round's requests (c.mu held).
func (c *Collector) plan(now time.Time) []request {
	if c.replan == "" && c.strategy != StrategyOff {
		for _, d := range c.deps.Switches() {
			if _, ok := c.idx[d]; !ok {
				c.replan = "switches"
				break
			}
		}
	}
	if c.replan != "" {
		c.rebuildPlanner(now, c.replan)
	}
	if c.planner == nil {
		return nil
	}
	if rep, ok, err := c.planner.MaybeRebuild(now); ok || err != nil {
		c.noteRebuild(rep, rep.Reason.String(), err)
	}
	var reqs []request
	for _, a := range c.planner.PollAll() {
		reqs = append(reqs, request{dpid: c.dpids[a.Switch], source: stats.SourcePollAll,
			msg: &ofproto.StatsRequest{Body: &ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone}}})
	}
	for _, s := range c.planner.Singles() {
		f, ok := c.flows[s.ID]
		if !ok {
			continue
		}
		dpid := c.dpids[s.Switch]
		for _, h := range f.hops {
			if h.DPID == dpid {
				reqs = append(reqs, request{dpid: dpid, source: stats.SourcePollSingle,
					msg: &ofproto.StatsRequest{Body: &ofproto.FlowStatsRequest{Match: flowkey.ToMatch(f.key, ofproto.PortNo(h.InPort)), TableID: 0xff, OutPort: ofproto.PortNone}}})
				break
			}
		}
	}
	return reqs
}

// refreshBound recomputes the lower bound of the current flow set when it changed
// since the last one and Config.BoundInterval has passed. The instance is built
// under the lock; the bound is computed outside it.
func (c *Collector) refreshBound(now time.Time) {
	c.mu.Lock()
	if c.planner == nil || c.version == c.boundVersion || now.Sub(c.boundAt) < c.cfg.BoundInterval {
		c.mu.Unlock()
		return
	}
	version, nw := c.version, c.nw
	paths := make([][]int32, 0, len(c.flows))
	for _, f := range c.flows {
		if p, ok := c.indexPath(f.hops); ok {
			paths = append(paths, p)
		}
	}
	c.mu.Unlock()
	in, err := mcps.NewInstance(nw)
	if err != nil {
		c.log.Warn("lower bound", "err", err)
		return
	}
	for _, p := range paths {
		if _, err := in.AddFlow(p); err != nil {
			c.log.Warn("lower bound", "err", err)
			return
		}
	}
	// The bound does not depend on the strategy; per-flow-min is the cheapest
	// solve that carries it.
	sol, err := mcps.Solve(in, mcps.StrategyPerFlowMin, mcps.Options{})
	if err != nil {
		c.log.Warn("lower bound", "err", err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.planner != nil && c.nw.Switches == nw.Switches {
		c.bound, c.boundFlows, c.boundAt, c.boundVersion = sol.LowerBound, len(paths), now, version
	}
}

// RoundResult summarises one polling round.
type RoundResult struct {
	At        time.Time
	Strategy  string
	Requests  int // planned
	Skipped   int // planned but not sent before Config.RoundTimeout
	Failed    int
	Readings  int // readings the Store took
	Unmatched int // entries that mapped to no active flow
}

type reply struct {
	dpid   uint64
	source stats.Source
	at     time.Time
	msgs   []ofproto.Message
}

// exchange sends one request and does its accounting; it returns the reply parts.
func (c *Collector) exchange(ctx context.Context, strategy string, dpid uint64, msg ofproto.Message) ([]ofproto.Message, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	reqLen := msg.Len()
	msgs, err := c.deps.Requester.Request(rctx, dpid, msg)
	u := Usage{Requests: 1, OpenFlowBytesSent: uint64(reqLen),
		WireBytesSent: uint64(WireBytes(reqLen, c.cfg.MSS, c.cfg.FrameOverhead))}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || c.deps.IsTimeout != nil && c.deps.IsTimeout(err) {
			u.Timeouts = 1
		} else {
			u.Errors = 1
		}
		if c.deps.Unsent != nil && c.deps.Unsent(err) {
			u.Requests, u.OpenFlowBytesSent, u.WireBytesSent = 0, 0, 0
		}
	}
	recv := 0
	for _, m := range msgs {
		recv += m.Len()
		u.Replies++
		if r, ok := m.(*ofproto.StatsReply); ok {
			switch b := r.Body.(type) {
			case *ofproto.FlowStatsReply:
				u.Entries += uint64(len(b.Entries))
			case *ofproto.PortStatsReply:
				u.Entries += uint64(len(b.Entries))
			}
		}
	}
	u.OpenFlowBytesRecv = uint64(recv)
	u.WireBytesRecv = uint64(WireBytes(recv, c.cfg.MSS, c.cfg.FrameOverhead))
	c.acct.add(UsageKey{Strategy: strategy, DPID: dpid}, u)
	return msgs, err
}

// Round runs one polling round now and waits for it to finish.
func (c *Collector) Round(ctx context.Context) RoundResult {
	now := c.deps.Clock()
	if d := c.sub.Dropped(); d != c.droppedSeen() {
		c.log.Warn("tracker events lost; resynchronising", "dropped", d)
		c.resync(now)
		c.mu.Lock()
		c.dropped = d
		c.mu.Unlock()
	}
	c.mu.Lock()
	reqs := c.plan(now)
	strategy := c.strategy
	c.rounds++
	c.mu.Unlock()
	c.refreshBound(now)
	res := RoundResult{At: now, Strategy: strategy, Requests: len(reqs)}

	byDPID := make(map[uint64][]request)
	for _, r := range reqs {
		byDPID[r.dpid] = append(byDPID[r.dpid], r)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		replies []reply
	)
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RoundTimeout)
	defer cancel()
	for dpid, rs := range byDPID {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, r := range rs {
				if rctx.Err() != nil {
					mu.Lock()
					res.Skipped += len(rs) - i
					mu.Unlock()
					return
				}
				msgs, err := c.exchange(rctx, strategy, dpid, r.msg)
				at := c.deps.Clock()
				mu.Lock()
				if err != nil {
					res.Failed++
				}
				if len(msgs) > 0 {
					replies = append(replies, reply{dpid: dpid, source: r.source, at: at, msgs: msgs})
				}
				mu.Unlock()
				if ctx.Err() != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if res.Skipped > 0 {
		c.mu.Lock()
		c.skipped += uint64(res.Skipped)
		c.mu.Unlock()
		c.log.Warn("polling round ran out of time", "strategy", strategy, "skipped", res.Skipped, "requests", res.Requests)
	}
	c.apply(replies, &res)
	c.mu.Lock()
	prune := c.rounds%uint64(c.cfg.PruneEvery) == 0
	c.mu.Unlock()
	if prune {
		c.store.Prune(now)
	}
	return res
}

func (c *Collector) droppedSeen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

type candidate struct {
	r   stats.Reading
	hop int
}

// apply maps reply entries to flows, keeps per flow the reading nearest its ingress,
// and feeds them to the Store.
func (c *Collector) apply(replies []reply, res *RoundResult) {
	best := make(map[uint64]candidate)
	unmatched := 0
	c.mu.Lock()
	for _, rp := range replies {
		for _, m := range rp.msgs {
			sr, ok := m.(*ofproto.StatsReply)
			if !ok {
				continue
			}
			body, ok := sr.Body.(*ofproto.FlowStatsReply)
			if !ok {
				continue
			}
			for i := range body.Entries {
				e := &body.Entries[i]
				h, ok := c.deps.Tracker.Resolve(e.Cookie, flowkey.FromMatch(&e.Match))
				if !ok {
					unmatched++
					continue
				}
				f, ok := c.flows[h.ID]
				if !ok {
					unmatched++
					continue
				}
				hop := slices.IndexFunc(f.hops, func(x flowtracker.Hop) bool { return x.DPID == rp.dpid })
				if hop < 0 {
					unmatched++
					continue
				}
				if prev, ok := best[h.ID]; ok && prev.hop <= hop {
					continue
				}
				best[h.ID] = candidate{hop: hop, r: stats.Reading{Flow: h.ID, DPID: rp.dpid,
					Bytes: e.ByteCount, Packets: e.PacketCount,
					Duration: time.Duration(e.DurationSec)*time.Second + time.Duration(e.DurationNsec),
					At:       rp.at, Source: rp.source}}
			}
		}
	}
	c.unmatched += uint64(unmatched)
	c.mu.Unlock()
	res.Unmatched = unmatched
	rejected := 0
	for _, cd := range best {
		if _, err := c.store.Observe(cd.r); err != nil {
			rejected++
			continue
		}
		res.Readings++
	}
	if rejected > 0 {
		c.mu.Lock()
		c.rejected += uint64(rejected)
		c.mu.Unlock()
	}
}

// PortRound asks every connected switch for the statistics of all its ports and feeds
// them to the Store.
func (c *Collector) PortRound(ctx context.Context) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		switches = make(map[uint64]bool)
		answered = make(map[uint64]bool)        // switches whose full reply arrived
		listed   = make(map[stats.PortKey]bool) // ports those replies list
	)
	for _, dpid := range c.deps.Switches() {
		switches[dpid] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs, err := c.exchange(ctx, StrategyPortStats, dpid, &ofproto.StatsRequest{Body: &ofproto.PortStatsRequest{PortNo: ofproto.PortNone}})
			at := c.deps.Clock()
			if err == nil {
				mu.Lock()
				answered[dpid] = true
				for _, m := range msgs {
					if sr, ok := m.(*ofproto.StatsReply); ok {
						if body, ok := sr.Body.(*ofproto.PortStatsReply); ok {
							for _, p := range body.Entries {
								listed[stats.PortKey{DPID: dpid, Port: uint16(p.PortNo)}] = true
							}
						}
					}
				}
				mu.Unlock()
			}
			for _, m := range msgs {
				sr, ok := m.(*ofproto.StatsReply)
				if !ok {
					continue
				}
				body, ok := sr.Body.(*ofproto.PortStatsReply)
				if !ok {
					continue
				}
				for _, p := range body.Entries {
					if err := c.store.ObservePort(stats.PortReading{DPID: dpid, Port: uint16(p.PortNo),
						RxBytes: p.RxBytes, TxBytes: p.TxBytes, RxPackets: p.RxPackets, TxPackets: p.TxPackets, At: at}); err != nil {
						c.log.Debug("port reading refused", "dpid", fmt.Sprintf("%016x", dpid), "err", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	// Ports of switches gone, and ports a switch no longer lists, keep no
	// stale rate; a switch that did not answer keeps its ports until it does.
	c.store.ForgetPorts(func(k stats.PortKey) bool {
		return switches[k.DPID] && (!answered[k.DPID] || listed[k])
	})
}

// Scheme returns the live polling scheme.
func (c *Collector) Scheme() Scheme {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Scheme{Strategy: c.strategy, Deployment: c.cfg.Deployment.String(), Interval: c.cfg.Interval,
		Model: c.costModel().Name(), Flows: len(c.flows), Rebuilds: c.rebuilds, Rounds: c.rounds}
	if c.last != nil {
		l := *c.last
		s.Last = &l
	}
	if c.planner != nil {
		s.LowerBound, s.LowerBoundFlows, s.LowerBoundAt = c.bound, c.boundFlows, c.boundAt
	}
	if c.planner == nil {
		return s
	}
	s.Cost = c.planner.Cost()
	for _, a := range c.planner.PollAll() {
		s.PollAll = append(s.PollAll, c.dpids[a.Switch])
	}
	slices.Sort(s.PollAll)
	for _, p := range c.planner.Singles() {
		s.PollSingle = append(s.PollSingle, Single{Flow: p.ID, DPID: c.dpids[p.Switch]})
	}
	slices.SortFunc(s.PollSingle, func(a, b Single) int { return cmp.Compare(a.Flow, b.Flow) })
	return s
}

// Usage returns the accounting per strategy and switch.
func (c *Collector) Usage() []UsageRow { return c.acct.rows() }

// Total returns the accounting summed over switches for one strategy, or over
// everything when strategy is "".
func (c *Collector) Total(strategy string) Usage { return c.acct.total(strategy) }

// Counters are the collector's own health counters.
type Counters struct {
	Rounds       uint64
	Unmatched    uint64 // reply entries that mapped to no active flow
	Rejected     uint64 // readings the Store refused (flow gone meanwhile, say)
	Skipped      uint64 // requests a round had no time left to send
	EventsLost   uint64 // tracker events lost to a full buffer (each triggers a resync)
	ActiveFlows  int
	Rebuilds     int
	SchemeCost   int64
	SchemeLBound int64
}

// Counters returns the collector's health counters.
func (c *Collector) Counters() Counters {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := Counters{Rounds: c.rounds, Unmatched: c.unmatched, Rejected: c.rejected, Skipped: c.skipped, EventsLost: c.sub.Dropped(),
		ActiveFlows: len(c.flows), Rebuilds: c.rebuilds}
	if c.planner != nil {
		k.SchemeCost = c.planner.Cost()
	}
	if c.planner != nil {
		k.SchemeLBound = c.bound
	}
	return k
}
