package poll

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
	"unsafe"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/stats"
)

// PlannedConfig configures a Planned scheduler. The zero value is usable (mcps,
// out-of-band, the wire cost model's defaults).
type PlannedConfig struct {
	Strategy   Strategy
	Deployment mcps.Deployment
	// Cost is the byte model of a request and its reply; default mcps.WireCost{}.
	Cost mcps.CostModel
	// Theta, CostRatio and MaxInterval configure ARI (see mcps.PlannerConfig); zero
	// values take mcps's defaults.
	Theta       float64
	CostRatio   float64
	MaxInterval time.Duration
	// Variance is the form of ARI's flow variance rate (see mcps.PlannerConfig.Variance);
	// the zero value is |F0∩Ft| / |F0|.
	Variance mcps.VarianceForm
	// ReadPoint places poll-singles among equally cheap switches of a flow's path
	// (see mcps.PlannerConfig.ReadPoint); the zero value is the ingress.
	ReadPoint mcps.ReadPoint
	// Interval is the spacing of the executor's calls to Due (one round each); the
	// requests carry it as the flows' polling interval.
	Interval time.Duration
	// BoundInterval is the least time between two recomputations of the lower bound
	// after DAPR patches (a rebuild always brings a fresh one); default 10 s.
	BoundInterval time.Duration
	// ReplyTimeEvery is the least time between two rebuilds for a change of the
	// switches found slow (reason "reply-time") once the scheme holds ReplyTimeFlows
	// flows or more; default 30 s, negative: at every change. Such a rebuild only moves
	// ties between equally cheap choices away from slow switches, while a whole solve
	// at a thousand switches and 100,000 flows takes seconds: under load the slow set
	// changes nearly every round, and rebuilding each time made every round's settle
	// phase a full solve. A smaller scheme (a solve of milliseconds) is rebuilt at
	// every change.
	ReplyTimeEvery time.Duration
	// ReplyTimeFlows is the scheme size from which ReplyTimeEvery applies; default
	// 10,000 flows.
	ReplyTimeFlows int
	// ReplyTimeScale is the scheme size ReplyTimeEvery is meant for: a larger one
	// waits longer in proportion (ReplyTimeEvery × flows / ReplyTimeScale), as its
	// solve takes longer in proportion. Default 250,000 flows: a million-flow
	// scheme, whose rebuild took 3–5 CPU-seconds on a loaded 2-core machine,
	// waits 2 minutes, so that moving ties off slow switches costs under 5 % of a
	// core.
	ReplyTimeScale int
	// Rand draws per-flow-random's switches; default a fixed seed.
	Rand *rand.Rand
	// Offloaded says the caller runs Work (with its lock released): Due then never
	// solves a scheme inline; until the caller's next Work it polls by the patched
	// scheme (a flow that needs a rebuild to be placed waits for it).
	Offloaded bool
	// Reason names why the first scheme is built (a rebuild's Reason); default
	// "initial".
	Reason string
}

// Rebuild describes one rebuild of a scheme.
type Rebuild struct {
	At           time.Time
	Reason       string // initial, variance, cost-drift, interval, strategy, switches, reply-time, resync
	Strategy     Strategy
	Flows        int
	VarianceRate float64
	PatchedCost  int64
	Cost         int64
	LowerBound   int64
	PollAll      int
	PollSingle   int
}

// Single is one poll-single of a scheme.
type Single struct {
	Flow uint64
	DPID uint64
}

// Plan is a Planned scheduler's live scheme and its cost under the cost model Model.
type Plan struct {
	Strategy   Strategy
	Deployment string
	Model      string
	PollAll    []uint64 // switches asked for all their entries, sorted
	PollSingle []Single // sorted by flow
	Cost       int64    // bytes per round
	// PollAllCost and PerFlowCost are what a round over the same flows would cost
	// with every switch polled whole, and with every flow polled singly at its
	// cheapest switch: the baselines the scheme's cost compares with.
	PollAllCost, PerFlowCost int64
	// LowerBound is a proven lower bound on the cost of any scheme for the flow set
	// of LowerBoundAt (LowerBoundFlows flows).
	LowerBound      int64
	LowerBoundFlows int
	LowerBoundAt    time.Time
	Flows           int
	Rebuilds        int
	Refused         int      // flows the planner refused (bad path)
	Last            *Rebuild // nil before the first rebuild
}

// Planned polls by a whole-network scheme that an mcps.Planner keeps: DAPR patches
// it on every arrival and expiry, ARI (or a change of the switch set) rebuilds it with
// the strategy's solver. It implements MCPS and the baselines per-flow-random,
// per-flow-min and poll-all (rebuilt by their own solver, patched by DAPR in
// between), and off (nothing polled). Every call to Due is one round: the whole
// scheme.
//
// Switches the executor marks slow (Switch.Slow) come last in the planner's switch
// order, so that the solvers' tie-break between equally cheap choices avoids them
// (a rebuild, reason "reply-time", follows a change of the slow set, at most every
// ReplyTimeEvery; it keeps the plain order's scheme if that one is strictly cheaper), and a poll-single the
// planner puts at a slow switch goes to a fast switch of the flow's path at the same
// cost, nearest the read point.
//
// Rebuilds and lower bounds are Offloader work: solved from a snapshot without the
// executor's lock, then swapped in with the arrivals and expiries of the meantime
// replayed onto the new scheme as DAPR patches.
type Planned struct {
	cfg       PlannedConfig
	flows     map[uint64]*pathRef // flow -> its path, shared with the flows of the same path
	paths     map[string]*pathRef // a path's dpids as bytes (pathKey) -> the path
	onPaths   map[uint64]int32    // dpid -> the paths that take the switch (none: absent)
	switches  []Switch
	planner   *mcps.Planner
	idx       map[uint64]int32 // dpid -> planner switch index
	dpids     []uint64         // planner switch index -> dpid
	nw        mcps.Network
	slowBuilt bool           // the scheme's switch order put slow switches last
	replyAt   time.Time      // when the last reply-time rebuild was asked for
	slow      map[uint64]int // nil: no switch is slow; else a slow switch's hops, minus a fast one's
	replan    string         // non-empty: rebuild from scratch at the next Work or Due, for this reason
	// exact says the planner holds every planned flow with its path and no other:
	// a snapshot can then be read from the planner's records (Planner.AppendFlows)
	// instead of flow by flow from the maps.
	exact   bool
	version uint64 // bumped by every change of the planned flow set

	bound        int64
	boundFlows   int
	boundAt      time.Time
	boundVersion uint64

	out      Work     // the work handed out, nil if none
	log      []change // arrivals and expiries since a RebuildWork went out
	last     *Rebuild
	rebuilds int
	refused  int
	sbuf     []mcps.PlannedSingle
	abuf     []mcps.AllRequest
	ibuf     []int32 // a path's planner indices, copied by the planner
}

// pathRef is a path the planned flows take, kept once for all of them: flows
// between the same switches mostly take the same path, so a flow costs a map entry
// and a pointer, not a copy of its path.
type pathRef struct {
	dpids []uint64
	flows int // planned flows on the path
}

// pathKey is dpids's memory seen as a string: a lookup key that copies nothing.
func pathKey(dpids []uint64) string {
	if len(dpids) == 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Pointer(unsafe.SliceData(dpids))), len(dpids)*8)
}

// addPath returns the shared copy of path, counting one more flow on it.
func (p *Planned) addPath(path []uint64) *pathRef {
	if r, ok := p.paths[pathKey(path)]; ok {
		r.flows++
		return r
	}
	r := &pathRef{dpids: slices.Clone(path), flows: 1}
	p.paths[pathKey(r.dpids)] = r // the key is the copy's memory, never changed
	for _, d := range r.dpids {
		p.onPaths[d]++
	}
	return r
}

// dropPath counts one flow fewer on r, forgetting it with its last flow.
func (p *Planned) dropPath(r *pathRef) {
	if r.flows--; r.flows <= 0 {
		delete(p.paths, pathKey(r.dpids))
		for _, d := range r.dpids {
			if p.onPaths[d]--; p.onPaths[d] <= 0 {
				delete(p.onPaths, d)
			}
		}
	}
}

type change struct {
	id    uint64
	dpids []uint64 // nil: expiry
}

var _ Offloader = (*Planned)(nil)

// NewPlanned returns a scheduler with no flows and no switches.
func NewPlanned(cfg PlannedConfig) (*Planned, error) {
	if !cfg.Strategy.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrBadStrategy, uint8(cfg.Strategy))
	}
	if cfg.Strategy == AFPS {
		return nil, fmt.Errorf("%w: afps is no scheme (NewAdaptive builds it)", ErrBadStrategy)
	}
	if cfg.Deployment != mcps.OutOfBand && cfg.Deployment != mcps.InBand {
		return nil, fmt.Errorf("poll: bad deployment %d", cfg.Deployment)
	}
	pc := mcps.PlannerConfig{Network: mcps.Network{Switches: 1}, Theta: cfg.Theta, CostRatio: cfg.CostRatio, ReadPoint: cfg.ReadPoint, Variance: cfg.Variance}
	if err := pc.Validate(); err != nil {
		return nil, err
	}
	if cfg.Cost == nil {
		cfg.Cost = mcps.WireCost{}
	}
	if cfg.BoundInterval <= 0 {
		cfg.BoundInterval = 10 * time.Second
	}
	if cfg.ReplyTimeEvery == 0 {
		cfg.ReplyTimeEvery = 30 * time.Second
	}
	if cfg.ReplyTimeFlows <= 0 {
		cfg.ReplyTimeFlows = 10_000
	}
	if cfg.ReplyTimeScale <= 0 {
		cfg.ReplyTimeScale = 250_000
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(1, 1))
	}
	if cfg.Reason == "" {
		cfg.Reason = "initial"
	}
	return &Planned{cfg: cfg, flows: make(map[uint64]*pathRef), paths: make(map[string]*pathRef), onPaths: make(map[uint64]int32), idx: make(map[uint64]int32), replan: cfg.Reason}, nil
}

// Strategy implements Scheduler.
func (p *Planned) Strategy() Strategy { return p.cfg.Strategy }

// SetSwitches implements Scheduler: a switch the scheme does not know makes the
// next Work (or Due) rebuild it.
func (p *Planned) SetSwitches(now time.Time, sw []Switch) {
	p.switches = append(p.switches[:0], sw...)
	if p.replan != "" || p.cfg.Strategy == Off {
		return
	}
	for _, s := range sw {
		if _, ok := p.idx[s.DPID]; !ok {
			p.replan = "switches"
			return
		}
	}
	p.slow = nil
	for _, s := range sw {
		if s.Slow {
			if p.slow == nil {
				p.slow = make(map[uint64]int)
			}
			p.slow[s.DPID] = max(s.Hops, 1) // a slow switch: its hop count
		}
	}
	if p.slow != nil {
		for _, s := range sw {
			if !s.Slow {
				p.slow[s.DPID] = -max(s.Hops, 1) // a fast switch: its hop count, negated
			}
		}
	}
	if p.planner == nil {
		return
	}
	anySlow := p.slow != nil
	every := p.cfg.ReplyTimeEvery
	if n := len(p.flows); n > p.cfg.ReplyTimeScale {
		every = time.Duration(float64(every) * float64(n) / float64(p.cfg.ReplyTimeScale))
	}
	if every >= 0 && len(p.flows) >= p.cfg.ReplyTimeFlows && !p.replyAt.IsZero() && now.Sub(p.replyAt) < every {
		return // too soon after the last one: singleAt steers the singles meanwhile
	}
	if (anySlow || p.slowBuilt) && !slices.Equal(slowOrder(p.dpids, sw), p.dpids) {
		p.replan = "reply-time"
		p.replyAt = now
	}
}

// slowOrder is dpids, sorted, with the switches sw marks slow moved to the end, each
// part sorted: the planner's switch indices. The solvers break ties between equally
// cheap choices by the lower switch index, so at equal cost a scheme polls a switch
// that answers fast rather than one that answers slowly.
func slowOrder(dpids []uint64, sw []Switch) []uint64 {
	slow := make(map[uint64]bool)
	for _, s := range sw {
		if s.Slow {
			slow[s.DPID] = true
		}
	}
	dpids = slices.Sorted(slices.Values(dpids))
	out := make([]uint64, 0, len(dpids))
	for _, d := range dpids {
		if !slow[d] {
			out = append(out, d)
		}
	}
	for _, d := range dpids {
		if slow[d] {
			out = append(out, d)
		}
	}
	return out
}

// OnArrive implements Scheduler: DAPR's arrival rule.
func (p *Planned) OnArrive(_ time.Time, f Flow) {
	if _, dup := p.flows[f.ID]; dup {
		return
	}
	r := p.addPath(f.DPIDs)
	p.flows[f.ID] = r
	path := r.dpids
	p.version++
	if _, ok := p.out.(*RebuildWork); ok {
		p.log = append(p.log, change{id: f.ID, dpids: path})
	}
	if p.planner == nil {
		return // the first rebuild takes it
	}
	// Planned even when a rebuild is asked for: the scheme polls it until the
	// rebuild is swapped in, and the planner keeps every flow for the snapshot.
	p.plan(f.ID, path)
}

// plan adds a flow to the live planner.
func (p *Planned) plan(id uint64, path []uint64) {
	var ok bool
	p.ibuf, ok = p.appendIndexPath(p.ibuf[:0], path)
	if !ok {
		p.replan, p.exact = "switches", false
		return
	}
	if err := p.planner.AddFlow(id, p.ibuf); err != nil {
		p.refused++
		p.exact = false
	}
}

// OnExpire implements Scheduler: DAPR's expiry rule.
func (p *Planned) OnExpire(_ time.Time, id uint64) {
	r, ok := p.flows[id]
	if !ok {
		return
	}
	delete(p.flows, id)
	p.dropPath(r)
	p.version++
	if _, ok := p.out.(*RebuildWork); ok {
		p.log = append(p.log, change{id: id})
	}
	if p.planner == nil {
		return
	}
	_ = p.planner.RemoveFlow(id) // unknown: refused on arrival
}

// OnReading implements Scheduler; a scheme does not depend on the counters.
func (p *Planned) OnReading(time.Time, stats.Reading, stats.FlowSample) {}

// appendIndexPath appends a path's switches as planner indices to dst; false if one
// is unknown.
func (p *Planned) appendIndexPath(dst []int32, path []uint64) ([]int32, bool) {
	for _, d := range path {
		s, ok := p.idx[d]
		if !ok {
			return dst, false
		}
		dst = append(dst, s)
	}
	return dst, true
}

// Due implements Scheduler: the whole scheme, after the rebuild it needs if no
// executor took it as Work.
func (p *Planned) Due(now time.Time, dst []Request) []Request {
	if p.out == nil && !p.cfg.Offloaded {
		if w := p.rebuildWork(now); w != nil {
			w.Run()
			_ = p.Finish(now, w) // a failed rebuild keeps the patched scheme
		}
	}
	if p.planner == nil {
		return dst
	}
	p.abuf = p.planner.AppendPollAll(p.abuf[:0])
	for _, a := range p.abuf {
		dst = append(dst, Request{DPID: p.dpids[a.Switch], Source: stats.SourcePollAll, Interval: p.cfg.Interval})
	}
	p.sbuf = p.planner.AppendSingles(p.sbuf[:0])
	for _, s := range p.sbuf {
		dst = append(dst, Request{DPID: p.singleAt(s.ID, s.Switch), Flow: s.ID, Source: stats.SourcePollSingle, Interval: p.cfg.Interval})
	}
	return dst
}

// singleAt is where the poll-single of flow id that the planner puts at switch sw
// goes: there, unless sw answers slowly and another switch of the flow's path answers
// fast at the same cost (out-of-band any, in-band one as many hops from the
// controller); then the first such switch from the read point.
func (p *Planned) singleAt(id uint64, sw int32) uint64 {
	d := p.dpids[sw]
	if p.slow == nil {
		return d
	}
	hops := p.slow[d]
	if hops <= 0 {
		return d
	}
	var path []uint64
	if r := p.flows[id]; r != nil {
		path = r.dpids
	}
	for i := range path {
		x := path[i]
		if p.cfg.ReadPoint == mcps.ReadEgress {
			x = path[len(path)-1-i]
		}
		if h := p.slow[x]; h < 0 && (p.cfg.Deployment != mcps.InBand || -h == hops) {
			return x
		}
	}
	return d
}

// Work implements Offloader: a rebuild when the switch set, the strategy or ARI asks
// for one, else a lower bound when the flow set changed since the last one and
// BoundInterval has passed.
func (p *Planned) Work(now time.Time) Work {
	if p.out != nil {
		return nil
	}
	if w := p.rebuildWork(now); w != nil {
		return w
	}
	if p.planner == nil || p.version == p.boundVersion || now.Sub(p.boundAt) < p.cfg.BoundInterval {
		return nil
	}
	w := &BoundWork{nw: p.nw, version: p.version, at: now, starts: []int32{0}}
	ok := false
	if p.plannerHoldsAll() {
		w.ids, w.starts, w.arena, ok = p.planner.AppendFlows(w.ids, w.starts, w.arena, nil)
	}
	if !ok {
		for id, r := range p.flows {
			var in bool
			if w.arena, in = p.appendIndexPath(w.arena, r.dpids); in {
				w.ids = append(w.ids, id)
				w.starts = append(w.starts, int32(len(w.arena)))
			} else {
				w.arena = w.arena[:w.starts[len(w.starts)-1]]
			}
		}
	}
	p.out = w
	return w
}

// rebuildWork snapshots a rebuild if one is needed, or applies one that needs no
// solving (off, no switches); nil if there is nothing to solve.
func (p *Planned) rebuildWork(now time.Time) *RebuildWork {
	reason, ari := p.replan, false
	if reason == "" && p.planner != nil {
		if r := p.planner.NeedsRebuild(now); r != mcps.ReasonNone {
			reason, ari = r.String(), true
		}
	}
	if reason == "" {
		return nil
	}
	p.replan = ""
	set := make(map[uint64]bool, len(p.switches))
	for _, s := range p.switches {
		set[s.DPID] = true
	}
	for d := range p.onPaths {
		set[d] = true
	}
	dpids := make([]uint64, 0, len(set))
	for d := range set {
		dpids = append(dpids, d)
	}
	slices.Sort(dpids)
	dpids = slowOrder(dpids, p.switches)
	idx := make(map[uint64]int32, len(dpids))
	for i, d := range dpids {
		idx[d] = int32(i)
	}
	if p.cfg.Strategy == Off || len(dpids) == 0 {
		p.planner, p.idx, p.dpids = nil, idx, dpids
		p.slowBuilt = !slices.IsSorted(dpids)
		return nil
	}
	nw := mcps.Network{Switches: len(dpids), Deployment: p.cfg.Deployment, Cost: p.cfg.Cost}
	if p.cfg.Deployment == mcps.InBand {
		hops := make(map[uint64]int, len(p.switches))
		for _, s := range p.switches {
			hops[s.DPID] = s.Hops
		}
		row := make([]int32, len(dpids))
		for i, d := range dpids {
			row[i] = 1
			if h := hops[d]; h > 0 {
				row[i] = int32(h)
			}
		}
		nw.Hops = [][]int32{row}
	}
	w := &RebuildWork{
		cfg: mcps.PlannerConfig{Network: nw, Strategy: p.cfg.Strategy.solver(), Options: mcps.Options{Rand: p.cfg.Rand},
			Theta: p.cfg.Theta, CostRatio: p.cfg.CostRatio, MaxInterval: p.cfg.MaxInterval, ReadPoint: p.cfg.ReadPoint, Variance: p.cfg.Variance},
		strategy: p.cfg.Strategy, reason: reason, at: now, idx: idx, dpids: dpids, version: p.version,
		start: []int32{0},
	}
	if ari {
		w.variance, w.patched, w.ari = p.planner.VarianceRate(), p.planner.Cost(), true
	}
	if !p.snapshotPlanner(w) {
		p.snapshotFlows(w)
	}
	p.out, p.log = w, p.log[:0]
	return w
}

// snapshotPlanner fills w's flow set from the live planner's records, its switch
// indices carried over to w's switch order; false (w untouched) if the planner does
// not hold exactly the planned flows.
func (p *Planned) snapshotPlanner(w *RebuildWork) bool {
	if !p.plannerHoldsAll() {
		return false
	}
	remap := make([]int32, len(p.dpids))
	for i, d := range p.dpids {
		remap[i] = -1
		if s, ok := w.idx[d]; ok {
			remap[i] = s
		}
	}
	var ok bool
	w.ids, w.start, w.arena, ok = p.planner.AppendFlows(w.ids, w.start, w.arena, remap)
	return ok
}

// plannerHoldsAll says whether the live planner holds exactly the planned flows,
// so that a snapshot can be read from its records.
func (p *Planned) plannerHoldsAll() bool {
	return p.planner != nil && p.exact && p.planner.Flows() == len(p.flows)
}

// snapshotFlows fills w's flow set flow by flow from the planned flows' paths.
func (p *Planned) snapshotFlows(w *RebuildWork) {
	w.ids = slices.Grow(w.ids[:0], len(p.flows))
	w.start = slices.Grow(w.start[:1], len(p.flows))
	w.arena = w.arena[:0]
	for id, r := range p.flows {
		w.ids = append(w.ids, id)
		for _, d := range r.dpids {
			w.arena = append(w.arena, w.idx[d])
		}
		w.start = append(w.start, int32(len(w.arena)))
	}
}

// RebuildWork solves a scheme from scratch over a snapshot of the flow set.
type RebuildWork struct {
	cfg      mcps.PlannerConfig
	strategy Strategy
	reason   string
	at       time.Time
	idx      map[uint64]int32
	dpids    []uint64
	version  uint64
	ids      []uint64
	arena    []int32
	start    []int32
	ari      bool
	variance float64
	patched  int64

	planner *mcps.Planner
	rep     mcps.RebuildReport
	built   bool
	refused int
	err     error
}

// Run implements Work: a new planner with the snapshot's flows (in id order), solved.
// When slow switches come last in the snapshot's switch order (the tie-break towards
// fast switches), the same flows are solved in plain dpid order too, and that scheme
// is kept if it is strictly cheaper: the tie-break never costs bytes.
func (w *RebuildWork) Run() {
	w.planner, w.rep, w.built, w.refused, w.err = w.solve(w.cfg, w.arena)
	if !w.built || slices.IsSorted(w.dpids) {
		return
	}
	sorted := slices.Sorted(slices.Values(w.dpids))
	idx := make(map[uint64]int32, len(sorted))
	for i, d := range sorted {
		idx[d] = int32(i)
	}
	perm := make([]int32, len(w.dpids)) // tie-break index -> dpid-order index
	for i, d := range w.dpids {
		perm[i] = idx[d]
	}
	arena := make([]int32, len(w.arena))
	for i, s := range w.arena {
		arena[i] = perm[s]
	}
	cfg := w.cfg
	if rows := w.cfg.Network.Hops; len(rows) > 0 {
		cfg.Network.Hops = make([][]int32, len(rows))
		for k, row := range rows {
			r := make([]int32, len(row))
			for i, h := range row {
				r[perm[i]] = h
			}
			cfg.Network.Hops[k] = r
		}
	}
	pl, rep, built, refused, err := w.solve(cfg, arena)
	if built && err == nil && rep.Cost < w.rep.Cost {
		w.planner, w.rep, w.refused = pl, rep, refused
		w.cfg, w.arena, w.idx, w.dpids = cfg, arena, idx, sorted
	}
}

// solve builds a planner over the snapshot's flows with their paths in arena and
// solves it.
func (w *RebuildWork) solve(cfg mcps.PlannerConfig, arena []int32) (pl *mcps.Planner, rep mcps.RebuildReport, built bool, refused int, err error) {
	pl, err = mcps.NewPlanner(cfg)
	if err != nil {
		return nil, rep, false, 0, fmt.Errorf("poll: planner: %w", err)
	}
	pl.Grow(len(w.ids), len(arena))
	order := make([]int32, len(w.ids))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(w.ids[a], w.ids[b]) })
	for _, i := range order {
		if err := pl.AddFlow(w.ids[i], arena[w.start[i]:w.start[i+1]]); err != nil {
			refused++
		}
	}
	if pl.Flows() > 0 {
		rep, err = pl.Rebuild(w.at, mcps.ReasonForced)
		built = err == nil
		if err != nil {
			err = fmt.Errorf("poll: rebuild (%s): %w", w.reason, err)
		}
	}
	return pl, rep, built, refused, err
}

// Report is the rebuild's description; false if no scheme was solved (no flows, or
// an error).
func (w *RebuildWork) Report() (Rebuild, bool) {
	if !w.built {
		return Rebuild{}, false
	}
	r := Rebuild{At: w.rep.At, Reason: w.reason, Strategy: w.strategy, Flows: w.rep.Flows,
		VarianceRate: w.rep.VarianceRate, PatchedCost: w.rep.PatchedCost, Cost: w.rep.Cost,
		LowerBound: w.rep.LowerBound, PollAll: w.rep.PollAll, PollSingle: w.rep.PollSingle}
	if w.ari {
		r.VarianceRate, r.PatchedCost = w.variance, w.patched
	}
	return r, true
}

// BoundWork computes the lower bound of a snapshot of the flow set.
type BoundWork struct {
	nw      mcps.Network
	version uint64
	at      time.Time
	ids     []uint64 // the flows: flow k's path is arena[starts[k]:starts[k+1]]
	starts  []int32
	arena   []int32
	bound   int64
	err     error
}

// Run implements Work.
func (w *BoundWork) Run() {
	in, err := mcps.NewInstance(w.nw)
	if err != nil {
		w.err = fmt.Errorf("poll: lower bound: %w", err)
		return
	}
	for k := range w.ids {
		if _, err := in.AddFlow(w.arena[w.starts[k]:w.starts[k+1]]); err != nil {
			w.err = fmt.Errorf("poll: lower bound: %w", err)
			return
		}
	}
	// The bound does not depend on the strategy; per-flow-min is the cheapest solve
	// that carries it.
	sol, err := mcps.Solve(in, mcps.StrategyPerFlowMin, mcps.Options{})
	if err != nil {
		w.err = fmt.Errorf("poll: lower bound: %w", err)
		return
	}
	w.bound = sol.LowerBound
}

// ErrForeignWork is returned by Finish for work another scheduler handed out.
var ErrForeignWork = errors.New("poll: work not handed out by this scheduler")

// Finish implements Offloader.
func (p *Planned) Finish(_ time.Time, w Work) error {
	if w == nil || w != p.out {
		return ErrForeignWork
	}
	p.out = nil
	switch w := w.(type) {
	case *RebuildWork:
		log := p.log
		p.log = p.log[:0]
		p.refused += w.refused
		if w.planner == nil { // no planner at all: try again at the next call
			p.replan = w.reason
			return w.err
		}
		p.planner, p.idx, p.dpids, p.nw = w.planner, w.idx, w.dpids, w.cfg.Network
		p.slowBuilt = !slices.IsSorted(w.dpids)
		p.version++
		p.exact = w.refused == 0
		for _, ch := range log {
			if p.replan != "" {
				p.exact = false // the rest of the log waits for the next rebuild
				break
			}
			if ch.dpids == nil {
				_ = p.planner.RemoveFlow(ch.id)
			} else {
				p.plan(ch.id, ch.dpids)
			}
		}
		if w.err != nil {
			return w.err
		}
		if r, ok := w.Report(); ok {
			p.rebuilds++
			p.last = &r
			p.bound, p.boundFlows, p.boundAt, p.boundVersion = r.LowerBound, r.Flows, r.At, w.version
			if len(log) == 0 {
				p.boundVersion = p.version
			}
		}
	case *BoundWork:
		if w.err != nil {
			return w.err
		}
		if p.planner != nil && p.nw.Switches == w.nw.Switches {
			p.bound, p.boundFlows, p.boundAt, p.boundVersion = w.bound, len(w.ids), w.at, w.version
		}
	}
	return nil
}

// Plan returns the live scheme.
func (p *Planned) Plan() Plan {
	s := Plan{Strategy: p.cfg.Strategy, Deployment: p.cfg.Deployment.String(), Model: p.cfg.Cost.Name(),
		Flows: len(p.flows), Rebuilds: p.rebuilds, Refused: p.refused}
	if p.last != nil {
		l := *p.last
		s.Last = &l
	}
	if p.planner == nil {
		return s
	}
	s.LowerBound, s.LowerBoundFlows, s.LowerBoundAt = p.bound, p.boundFlows, p.boundAt
	s.Cost = p.planner.Cost()
	s.PollAllCost, s.PerFlowCost = p.planner.BaselineCosts()
	for _, a := range p.planner.PollAll() {
		s.PollAll = append(s.PollAll, p.dpids[a.Switch])
	}
	slices.Sort(s.PollAll)
	for _, x := range p.planner.Singles() {
		s.PollSingle = append(s.PollSingle, Single{Flow: x.ID, DPID: p.singleAt(x.ID, x.Switch)})
	}
	slices.SortFunc(s.PollSingle, func(a, b Single) int { return cmp.Compare(a.Flow, b.Flow) })
	return s
}

// Cost returns the live scheme's cost and the last lower bound without copying the
// scheme; ok is false when no scheme is live.
func (p *Planned) Cost() (cost, bound int64, ok bool) {
	if p.planner == nil {
		return 0, 0, false
	}
	return p.planner.Cost(), p.bound, true
}
