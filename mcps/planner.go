package mcps

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// RebuildReason says why a Planner's scheme should be, or was, rebuilt.
type RebuildReason uint8

// Rebuild reasons, in the order NeedsRebuild checks them.
const (
	ReasonNone      RebuildReason = iota
	ReasonInitial                 // never built and flows are active
	ReasonVariance                // flow variance rate r fell below θ (ARI)
	ReasonCostDrift               // patched cost per flow exceeds the rebuilt one by more than CostRatio
	ReasonInterval                // MaxInterval elapsed since the last rebuild
	ReasonForced                  // the caller asked
)

// String names the reason as reports and logs show it.
func (r RebuildReason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonInitial:
		return "initial"
	case ReasonVariance:
		return "variance"
	case ReasonCostDrift:
		return "cost-drift"
	case ReasonInterval:
		return "interval"
	case ReasonForced:
		return "forced"
	}
	return fmt.Sprintf("RebuildReason(%d)", uint8(r))
}

// VarianceForm selects how ARI measures the flow variance rate r between F_0, the active
// flows at the last rebuild, and F_t, the active flows now (algorithms.md section 3).
type VarianceForm uint8

const (
	// VarianceRetained is r = |F_0 ∩ F_t| / |F_0|: the share of the flows the scheme was
	// built for that are still active, the paper's wording ("how many flows are still in
	// the original flow sets"). It falls only when flows of F_0 expire; arrivals do not
	// move it (DAPR covers them, and the cost-drift rule watches what they cost). The
	// default.
	VarianceRetained VarianceForm = iota
	// VarianceJaccard is r = |F_0 ∩ F_t| / |F_0 ∪ F_t|: it also falls when new flows
	// arrive, so a flash crowd triggers a rebuild even while every old flow lives on.
	VarianceJaccard
)

// String names the form as flags and reports spell it.
func (v VarianceForm) String() string {
	switch v {
	case VarianceRetained:
		return "retained"
	case VarianceJaccard:
		return "jaccard"
	}
	return fmt.Sprintf("VarianceForm(%d)", uint8(v))
}

// ParseVarianceForm reads "retained" (or "") and "jaccard".
func ParseVarianceForm(s string) (VarianceForm, error) {
	switch s {
	case "", "retained":
		return VarianceRetained, nil
	case "jaccard":
		return VarianceJaccard, nil
	}
	return 0, fmt.Errorf("%w: variance form %q, want retained or jaccard", ErrBadConfig, s)
}

// ReadPoint says which switch a flow's counters are read from when several could give
// them: the one nearest the flow's ingress (offered load: the packets the network was
// asked to carry; the default) or nearest its egress (delivered traffic: what is left
// after losses along the path). A flow polled by poll-all at several switches of its
// path is read at the polled switch nearest the read point, and a poll-single is placed
// at the cheapest switch of the path nearest the read point.
type ReadPoint uint8

// Read points.
const (
	ReadIngress ReadPoint = iota
	ReadEgress
)

// String names the read point as flags and reports spell it.
func (r ReadPoint) String() string {
	switch r {
	case ReadIngress:
		return "ingress"
	case ReadEgress:
		return "egress"
	}
	return fmt.Sprintf("ReadPoint(%d)", uint8(r))
}

// ParseReadPoint reads "ingress" (or "") and "egress".
func ParseReadPoint(s string) (ReadPoint, error) {
	switch s {
	case "", "ingress":
		return ReadIngress, nil
	case "egress":
		return ReadEgress, nil
	}
	return 0, fmt.Errorf("%w: read point %q, want ingress or egress", ErrBadConfig, s)
}

// PlannerConfig configures DAPR and ARI (algorithms.md section 3). The zero value of
// every field but Network is a usable default.
type PlannerConfig struct {
	Network Network
	// Strategy used by Rebuild; "" means mcps.
	Strategy string
	Options  Options
	// Theta is ARI's threshold: rebuild when the flow variance rate r falls below it.
	// 0 means 0.7; it must lie in (0, 1].
	Theta float64
	// Variance is the form of r; the zero value is VarianceRetained.
	Variance VarianceForm
	// ReadPoint places poll-singles among equally cheap switches and picks the switch
	// PolledAt reports; the zero value is ReadIngress.
	ReadPoint ReadPoint
	// CostRatio: rebuild when the patched cost per active flow exceeds the cost per flow
	// of the last rebuild by more than this factor. 0 means 1.25; negative disables.
	CostRatio float64
	// MaxInterval: rebuild at least this often. 0 means one minute; negative disables
	// (pure ARI). A fixed-interval policy is Theta = tiny, CostRatio < 0, MaxInterval = T.
	MaxInterval time.Duration
}

func (c PlannerConfig) withDefaults() PlannerConfig {
	if c.Strategy == "" {
		c.Strategy = StrategyMCPS
	}
	if c.Theta == 0 {
		c.Theta = 0.7
	}
	if c.CostRatio == 0 {
		c.CostRatio = 1.25
	}
	if c.MaxInterval == 0 {
		c.MaxInterval = time.Minute
	}
	return c
}

// Validate names every bad field.
func (c PlannerConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if err := c.Network.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !ValidStrategy(c.Strategy) {
		errs = append(errs, fmt.Errorf("%w: Strategy %q", ErrBadConfig, c.Strategy))
	}
	if !(c.Theta > 0 && c.Theta <= 1) {
		errs = append(errs, fmt.Errorf("%w: Theta = %v, want in (0, 1]", ErrBadConfig, c.Theta))
	}
	if c.ReadPoint > ReadEgress {
		errs = append(errs, fmt.Errorf("%w: ReadPoint = %v", ErrBadConfig, c.ReadPoint))
	}
	if c.Variance > VarianceJaccard {
		errs = append(errs, fmt.Errorf("%w: Variance = %v", ErrBadConfig, c.Variance))
	}
	if c.CostRatio > 0 && c.CostRatio < 1 {
		errs = append(errs, fmt.Errorf("%w: CostRatio = %v, want >= 1 (or negative to disable)", ErrBadConfig, c.CostRatio))
	}
	return errors.Join(errs...)
}

// PlannedSingle is a poll-single request of the live scheme.
type PlannedSingle struct {
	ID         uint64
	Switch     int32
	Controller int32
}

// RebuildReport describes one rebuild.
type RebuildReport struct {
	Reason       RebuildReason
	At           time.Time
	Flows        int
	VarianceRate float64 // r just before the rebuild
	PatchedCost  int64   // cost of the patched scheme just before
	Cost         int64   // cost of the rebuilt scheme
	LowerBound   int64
	PollAll      int
	PollSingle   int
}

type planRecord struct {
	id     uint64
	off    int32 // path in arena[off:off+n]
	n      int32
	single int32 // index in singles, or -1
	active bool
	inF0   bool // active when the scheme was last rebuilt
}

// Planner keeps a polling scheme up to date while flows come and go: DAPR patches it on
// every arrival and expiry in constant time per switch of the path, and ARI says when to
// rebuild it from scratch. Flow ids are opaque uint64 keys (the tracker's flow key).
//
// A Planner is not safe for concurrent use; the controller owns it from one goroutine.
type Planner struct {
	cfg  PlannerConfig
	tmpl *Instance // cost model, multipliers, controllers, path checking

	ids     map[uint64]int32
	recs    []planRecord
	free    []int32
	arena   []int32
	garbage int

	load    []int32
	polled  []bool
	allMult []int64 // hops multiplier of each polled switch's request
	all     []AllRequest
	singles []PlannedSingle
	sRec    []int32 // record of each single
	cost    int64

	n0, inter, active int
	built             bool
	lastBuild         time.Time
	builtCost         int64
	builtFlows        int
	rebuilds          int
}

// NewPlanner returns a planner with no flows and an empty scheme.
func NewPlanner(cfg PlannerConfig) (*Planner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	tmpl, err := NewInstance(cfg.Network)
	if err != nil {
		return nil, err
	}
	ns := cfg.Network.Switches
	return &Planner{
		cfg: cfg, tmpl: tmpl, ids: make(map[uint64]int32),
		load: make([]int32, ns), polled: make([]bool, ns), allMult: make([]int64, ns),
	}, nil
}

// Flows is the number of active flows.
func (p *Planner) Flows() int { return p.active }

// Cost is the current scheme's cost in bytes per polling round under the cost model.
func (p *Planner) Cost() int64 { return p.cost }

// Rebuilds counts the rebuilds so far.
func (p *Planner) Rebuilds() int { return p.rebuilds }

// PollAll returns the poll-all requests of the current scheme (a copy).
func (p *Planner) PollAll() []AllRequest { return append([]AllRequest(nil), p.all...) }

// AppendPollAll appends the poll-all requests to dst and returns it, so a caller that
// polls every round can reuse one buffer instead of copying with PollAll.
func (p *Planner) AppendPollAll(dst []AllRequest) []AllRequest {
	return append(dst, p.all...)
}

// Singles returns the poll-single requests of the current scheme (a copy).
func (p *Planner) Singles() []PlannedSingle { return append([]PlannedSingle(nil), p.singles...) }

// AppendSingles appends the poll-single requests to dst and returns it, so a caller that
// polls every round can reuse one buffer instead of copying with Singles.
func (p *Planner) AppendSingles(dst []PlannedSingle) []PlannedSingle {
	return append(dst, p.singles...)
}

// NumSingles is the number of poll-single requests.
func (p *Planner) NumSingles() int { return len(p.singles) }

// PolledAt reports how flow id is collected: by a poll-all (single false) at the polled
// switch of its path nearest the read point, or by a poll-single at sw. ok is false for
// an unknown flow.
func (p *Planner) PolledAt(id uint64) (sw int32, single bool, ok bool) {
	i, found := p.ids[id]
	if !found || !p.recs[i].active {
		return 0, false, false
	}
	r := &p.recs[i]
	if r.single >= 0 {
		return p.singles[r.single].Switch, true, true
	}
	path := p.arena[r.off : r.off+r.n]
	for k := range path {
		s := path[k]
		if p.cfg.ReadPoint == ReadEgress {
			s = path[len(path)-1-k]
		}
		if p.polled[s] {
			return s, false, true
		}
	}
	return 0, false, false // unreachable while the scheme is a cover
}

// VarianceRate is ARI's r in the configured form, with F_0 the active flows at the last
// rebuild and F_t those now: |F_0 ∩ F_t| / |F_0| by default (1 when F_0 is empty), or
// |F_0 ∩ F_t| / |F_0 ∪ F_t| (1 when both are empty).
func (p *Planner) VarianceRate() float64 {
	den := p.n0
	if p.cfg.Variance == VarianceJaccard {
		den = p.n0 + p.active - p.inter
	}
	if den == 0 {
		return 1
	}
	return float64(p.inter) / float64(den)
}

// AddFlow is DAPR's arrival rule: if a poll-all switch already sees the flow nothing is
// requested, otherwise a poll-single at its cheapest switch is added.
func (p *Planner) AddFlow(id uint64, path []int32) error {
	if err := p.tmpl.checkPath(path); err != nil {
		return fmt.Errorf("flow %#x: %w", id, err)
	}
	i, found := p.ids[id]
	if found && p.recs[i].active {
		return fmt.Errorf("%w: %#x is already active", ErrDuplicate, id)
	}
	if !found {
		if n := len(p.free); n > 0 {
			i = p.free[n-1]
			p.free = p.free[:n-1]
		} else {
			i = int32(len(p.recs))
			p.recs = append(p.recs, planRecord{})
		}
		p.recs[i] = planRecord{id: id}
		p.ids[id] = i
	} else {
		p.inter++ // a flow of F_0 is back
	}
	if p.garbage > 1<<16 && p.garbage > len(p.arena)/2 {
		p.compact()
	}
	r := &p.recs[i]
	r.active = true
	r.off, r.n = int32(len(p.arena)), int32(len(path))
	p.arena = append(p.arena, path...)
	p.active++

	cm := p.tmpl.cost
	covered := false
	best := path[0]
	egress := p.cfg.ReadPoint == ReadEgress
	for _, s := range path {
		if p.polled[s] {
			covered = true
			p.cost += p.allMult[s] * (cm.PollAll(int(p.load[s])+1) - cm.PollAll(int(p.load[s])))
		}
		p.load[s]++
		if m, mb := p.tmpl.mult[s], p.tmpl.mult[best]; m < mb || egress && m == mb {
			best = s
		}
	}
	r.single = -1
	if !covered {
		r.single = int32(len(p.singles))
		p.singles = append(p.singles, PlannedSingle{ID: id, Switch: best, Controller: p.tmpl.ctrl[best]})
		p.sRec = append(p.sRec, i)
		p.cost += p.tmpl.mult[best] * cm.PollSingle()
	}
	return nil
}

// Grow makes room for flows more flows with hops switches of path between them, so
// that adding a number of flows known beforehand (a rebuild's snapshot) does not
// grow the planner's tables step by step.
func (p *Planner) Grow(flows, hops int) {
	if flows <= 0 {
		return
	}
	if len(p.ids) == 0 {
		p.ids = make(map[uint64]int32, flows)
	}
	p.recs = slices.Grow(p.recs, flows)
	p.arena = slices.Grow(p.arena, max(hops, 0))
	if !slices.Contains(p.polled, true) {
		// No switch is polled for all its flows (a planner not yet rebuilt): each
		// flow added is a poll-single.
		p.singles = slices.Grow(p.singles, flows)
		p.sRec = slices.Grow(p.sRec, flows)
	}
}

// AppendFlows appends the active flows, in the order of the planner's records, to a
// snapshot of a flow set held in three slices: the k-th flow appended is ids[k] (k
// counted from the slice's length on entry) and its path is arena[starts[k]:starts[k+1]],
// so starts has one element more than ids (a snapshot begins with ids empty and
// starts = [0]). Each switch index s of a path is written as remap[s], or as s when
// remap is nil; a rebuild over a new switch order passes the old index's new one.
// It reads the planner's dense records rather than looking each flow up: a snapshot
// of a million flows is a walk over two arrays. ok is false, and the slices come
// back as they were given, if remap is too short or sends a switch of an active
// flow's path to a negative index.
func (p *Planner) AppendFlows(ids []uint64, starts, arena, remap []int32) (_ []uint64, _, _ []int32, ok bool) {
	if len(starts) != len(ids)+1 {
		return ids, starts, arena, false
	}
	if remap != nil && len(remap) < len(p.load) {
		return ids, starts, arena, false
	}
	n0, s0, a0 := len(ids), len(starts), len(arena)
	ids = slices.Grow(ids, p.active)
	starts = slices.Grow(starts, p.active)
	arena = slices.Grow(arena, len(p.arena)-p.garbage)
	for i := range p.recs {
		r := &p.recs[i]
		if !r.active {
			continue
		}
		path := p.arena[r.off : r.off+r.n]
		if remap == nil {
			arena = append(arena, path...)
		} else {
			for _, s := range path {
				t := remap[s]
				if t < 0 {
					return ids[:n0], starts[:s0], arena[:a0], false
				}
				arena = append(arena, t)
			}
		}
		ids = append(ids, r.id)
		starts = append(starts, int32(len(arena)))
	}
	return ids, starts, arena, true
}

// RemoveFlow is DAPR's expiry rule: a poll-single of the flow is withdrawn; a flow
// collected by a poll-all needs nothing (the entry simply stops appearing).
func (p *Planner) RemoveFlow(id uint64) error {
	i, found := p.ids[id]
	if !found || !p.recs[i].active {
		return fmt.Errorf("%w: %#x", ErrUnknownFlow, id)
	}
	r := &p.recs[i]
	cm := p.tmpl.cost
	for _, s := range p.arena[r.off : r.off+r.n] {
		p.load[s]--
		if p.polled[s] {
			p.cost -= p.allMult[s] * (cm.PollAll(int(p.load[s])+1) - cm.PollAll(int(p.load[s])))
		}
	}
	if j := r.single; j >= 0 {
		p.cost -= p.hops(p.singles[j].Switch, p.singles[j].Controller) * cm.PollSingle()
		last := int32(len(p.singles) - 1)
		if j != last {
			p.singles[j] = p.singles[last]
			p.sRec[j] = p.sRec[last]
			p.recs[p.sRec[j]].single = j
		}
		p.singles = p.singles[:last]
		p.sRec = p.sRec[:last]
		r.single = -1
	}
	p.garbage += int(r.n)
	r.active = false
	p.active--
	if r.inF0 {
		p.inter-- // keep the record: the flow still counts in F_0 ∪ F_t
	} else {
		delete(p.ids, id)
		p.free = append(p.free, i)
	}
	return nil
}

// compact drops the paths of expired flows from the arena (amortised: it runs when
// more than half the arena is garbage).
func (p *Planner) compact() {
	arena := make([]int32, 0, 2*(len(p.arena)-p.garbage))
	for i := range p.recs {
		r := &p.recs[i]
		if !r.active {
			continue
		}
		path := p.arena[r.off : r.off+r.n]
		r.off = int32(len(arena))
		arena = append(arena, path...)
	}
	p.arena, p.garbage = arena, 0
}

// NeedsRebuild applies ARI at time now and returns why the scheme should be rebuilt,
// or ReasonNone.
func (p *Planner) NeedsRebuild(now time.Time) RebuildReason {
	if !p.built {
		if p.active > 0 {
			return ReasonInitial
		}
		return ReasonNone
	}
	if p.VarianceRate() < p.cfg.Theta {
		return ReasonVariance
	}
	if p.cfg.CostRatio > 0 && p.builtFlows > 0 && p.active > 0 &&
		float64(p.cost)*float64(p.builtFlows) > p.cfg.CostRatio*float64(p.builtCost)*float64(p.active) {
		return ReasonCostDrift
	}
	if p.cfg.MaxInterval > 0 && now.Sub(p.lastBuild) >= p.cfg.MaxInterval {
		return ReasonInterval
	}
	return ReasonNone
}

// MaybeRebuild rebuilds when NeedsRebuild says so.
func (p *Planner) MaybeRebuild(now time.Time) (RebuildReport, bool, error) {
	reason := p.NeedsRebuild(now)
	if reason == ReasonNone {
		return RebuildReport{}, false, nil
	}
	rep, err := p.Rebuild(now, reason)
	return rep, err == nil, err
}

// Rebuild recomputes the scheme from scratch over the active flows with the configured
// strategy, makes them the new F_0 and records reason (ReasonForced if none is given).
func (p *Planner) Rebuild(now time.Time, reason RebuildReason) (RebuildReport, error) {
	if reason == ReasonNone {
		reason = ReasonForced
	}
	rep := RebuildReport{Reason: reason, At: now, Flows: p.active, VarianceRate: p.VarianceRate(), PatchedCost: p.cost}

	in, err := NewInstance(p.cfg.Network)
	if err != nil {
		return rep, err
	}
	in.Grow(p.active, 0)
	in.nodes = make([]int32, 0, len(p.arena)-p.garbage)
	order := make([]int32, 0, p.active) // instance flow index -> record
	arena := make([]int32, 0, len(p.arena)-p.garbage)
	for i := range p.recs {
		r := &p.recs[i]
		if !r.active {
			if r.inF0 { // an expired member of the old F_0
				delete(p.ids, r.id)
				*r = planRecord{single: -1}
				p.free = append(p.free, int32(i))
			}
			continue
		}
		path := p.arena[r.off : r.off+r.n]
		r.off = int32(len(arena))
		arena = append(arena, path...)
		in.nodes = append(in.nodes, path...)
		in.start = append(in.start, int32(len(in.nodes)))
		order = append(order, int32(i))
		r.inF0 = true
	}
	p.arena, p.garbage = arena, 0

	sol, err := Solve(in, p.cfg.Strategy, p.cfg.Options)
	if err != nil {
		return rep, err
	}
	clear(p.polled)
	p.all = append(p.all[:0], sol.PollAll...)
	for _, a := range sol.PollAll {
		p.polled[a.Switch] = true
		p.allMult[a.Switch] = p.hops(a.Switch, a.Controller)
	}
	for _, i := range order {
		p.recs[i].single = -1
	}
	p.singles, p.sRec = p.singles[:0], p.sRec[:0]
	for _, s := range sol.PollSingle {
		i := order[s.Flow]
		r := &p.recs[i]
		if r.single >= 0 { // a strategy may poll a flow twice; keep one
			continue
		}
		covered := false
		for _, sw := range p.arena[r.off : r.off+r.n] {
			if p.polled[sw] {
				covered = true
				break
			}
		}
		if covered { // the greedy may keep a redundant single; DAPR's scheme does not
			continue
		}
		sw, ctrl := s.Switch, s.Controller
		if p.cfg.ReadPoint == ReadEgress { // the equally cheap switch nearest the egress
			path := p.arena[r.off : r.off+r.n]
			h := p.hops(sw, ctrl)
			for k := len(path) - 1; k >= 0 && path[k] != sw; k-- {
				if c := p.tmpl.ctrl[path[k]]; p.hops(path[k], c) == h {
					sw, ctrl = path[k], c
					break
				}
			}
		}
		r.single = int32(len(p.singles))
		p.singles = append(p.singles, PlannedSingle{ID: r.id, Switch: sw, Controller: ctrl})
		p.sRec = append(p.sRec, i)
	}
	p.cost = p.recomputeCost()
	p.n0, p.inter = p.active, p.active
	p.built, p.lastBuild = true, now
	p.builtCost, p.builtFlows = p.cost, p.active
	p.rebuilds++

	rep.Cost, rep.LowerBound = p.cost, sol.LowerBound
	rep.PollAll, rep.PollSingle = len(p.all), len(p.singles)
	return rep, nil
}

// BaselineCosts returns what one round over the active flows would cost with the
// two simple schemes a polling scheme is measured against, as their solvers price
// them: every switch of the network polled whole (poll-all, what most controllers
// do), and every flow polled singly at its cheapest switch (per-flow-min), each
// request priced by the cost model and, in-band, by its switch's hops to the nearest
// controller. It takes one pass over the switches and the active flows' paths.
func (p *Planner) BaselineCosts() (pollAll, perFlow int64) {
	cm := p.tmpl.cost
	for s, n := range p.load {
		pollAll += p.tmpl.mult[s] * cm.PollAll(int(n))
	}
	one := cm.PollSingle()
	for i := range p.recs {
		r := &p.recs[i]
		if !r.active {
			continue
		}
		path := p.arena[r.off : r.off+r.n]
		best := p.tmpl.mult[path[0]]
		for _, s := range path[1:] {
			best = min(best, p.tmpl.mult[s])
		}
		perFlow += best * one
	}
	return pollAll, perFlow
}

// recomputeCost is the cost of the current scheme from scratch.
func (p *Planner) recomputeCost() int64 {
	var c int64
	for _, a := range p.all {
		c += p.hops(a.Switch, a.Controller) * p.tmpl.cost.PollAll(int(p.load[a.Switch]))
	}
	for _, s := range p.singles {
		c += p.hops(s.Switch, s.Controller) * p.tmpl.cost.PollSingle()
	}
	return c
}

func (p *Planner) hops(s, k int32) int64 {
	if p.cfg.Network.Deployment != InBand {
		return 1
	}
	return int64(p.cfg.Network.Hops[k][s])
}

// Check verifies the planner's invariants from scratch: every active flow is polled
// (by a poll-all on its path or by exactly one poll-single on its path), no poll-single
// is left for an inactive flow, the switch loads and the cost match. Tests and debug
// builds call it; it costs a pass over every flow.
func (p *Planner) Check() error {
	load := make([]int32, len(p.load))
	active := 0
	for i := range p.recs {
		r := &p.recs[i]
		if !r.active {
			if r.single >= 0 {
				return fmt.Errorf("mcps: planner: inactive flow %#x keeps a poll-single", r.id)
			}
			continue
		}
		active++
		path := p.arena[r.off : r.off+r.n]
		covered := false
		for _, s := range path {
			load[s]++
			covered = covered || p.polled[s]
		}
		if r.single >= 0 {
			if int(r.single) >= len(p.singles) || p.singles[r.single].ID != r.id {
				return fmt.Errorf("mcps: planner: flow %#x has a stale poll-single index", r.id)
			}
			on := false
			for _, s := range path {
				on = on || s == p.singles[r.single].Switch
			}
			if !on {
				return fmt.Errorf("mcps: planner: flow %#x polled off its path", r.id)
			}
			covered = true
		}
		if !covered {
			return fmt.Errorf("mcps: planner: flow %#x is not polled", r.id)
		}
	}
	if active != p.active {
		return fmt.Errorf("mcps: planner: %d active records, counter says %d", active, p.active)
	}
	for s := range load {
		if load[s] != p.load[s] {
			return fmt.Errorf("mcps: planner: switch %d load %d, counter says %d", s, load[s], p.load[s])
		}
	}
	if c := p.recomputeCost(); c != p.cost {
		return fmt.Errorf("mcps: planner: cost %d, recomputed %d", p.cost, c)
	}
	return nil
}
