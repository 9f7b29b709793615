package poll

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/stats"
)

var t0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func switches(n int) []Switch {
	out := make([]Switch, n)
	for i := range out {
		out[i] = Switch{DPID: uint64(i + 1)}
	}
	return out
}

// randomPath is 1 to 4 distinct switches of 1..ns.
func randomPath(r *rand.Rand, ns int) []uint64 {
	l := 1 + r.IntN(min(4, ns))
	out := make([]uint64, l)
	for i, s := range r.Perm(ns)[:l] {
		out[i] = uint64(s + 1)
	}
	return out
}

// checkDue verifies that due polls every flow of flows exactly once (a poll-single
// on its path, or a poll-all at a switch of its path with no poll-single besides),
// polls no other flow, and that the plan's cost is the cost of exactly these
// requests under the cost model (recomputed from scratch by mcps).
func checkDue(t *testing.T, p *Planned, due []Request, flows map[uint64][]uint64) {
	t.Helper()
	all := map[uint64]bool{}
	singles := map[uint64]uint64{}
	for _, r := range due {
		switch r.Source {
		case stats.SourcePollAll:
			require.False(t, all[r.DPID], "switch %d polled-all twice", r.DPID)
			all[r.DPID] = true
		case stats.SourcePollSingle:
			_, dup := singles[r.Flow]
			require.False(t, dup, "flow %d polled singly twice", r.Flow)
			singles[r.Flow] = r.DPID
		default:
			t.Fatalf("request %+v has source %v", r, r.Source)
		}
	}
	for id, path := range flows {
		covered := slices.ContainsFunc(path, func(d uint64) bool { return all[d] })
		sw, single := singles[id]
		if single {
			if !slices.Contains(path, sw) {
				t.Fatalf("flow %d polled off its path", id)
			}
			require.False(t, covered, "flow %d polled singly and by a poll-all", id)
		} else {
			require.True(t, covered, "flow %d not polled", id)
		}
	}
	for id := range singles {
		if _, ok := flows[id]; !ok {
			t.Fatalf("poll-single for flow %d that is not active", id)
		}
	}
	// The cost, recomputed by mcps over the same switch numbering.
	plan := p.Plan()
	in, err := mcps.NewInstance(p.nw)
	require.NoError(t, err)
	ids := make([]uint64, 0, len(flows))
	for id := range flows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	row := map[uint64]int32{}
	for _, id := range ids {
		ip, ok := p.appendIndexPath(nil, flows[id])
		require.True(t, ok)
		f, err := in.AddFlow(ip)
		require.NoError(t, err)
		row[id] = int32(f)
	}
	var ar []mcps.AllRequest
	for d := range all {
		ar = append(ar, mcps.AllRequest{Switch: p.idx[d]})
	}
	var sr []mcps.SingleRequest
	for id, d := range singles {
		sr = append(sr, mcps.SingleRequest{Flow: row[id], Switch: p.idx[d]})
	}
	if len(flows) == 0 {
		return
	}
	cost, err := in.Evaluate(ar, sr)
	require.NoError(t, err)
	assert.Equal(t, cost, plan.Cost, "plan cost")
	// The baselines beside it are what mcps's own poll-all and per-flow-min solvers
	// cost for the same flows.
	for strategy, got := range map[string]int64{mcps.StrategyPollAll: plan.PollAllCost, mcps.StrategyPerFlowMin: plan.PerFlowCost} {
		sol, err := mcps.Solve(in, strategy, mcps.Options{})
		require.NoError(t, err)
		assert.Equal(t, sol.Cost, got, "%s baseline", strategy)
	}
}

// TestPlannedSameAsPlanner: a rebuild gives the scheme an mcps.Planner gives for the
// same flows added in id order and rebuilt (what the collector did before the
// schedulers), for every strategy.
func TestPlannedSameAsPlanner(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const ns = 12
	flows := map[uint64][]uint64{}
	for i := 0; i < 300; i++ {
		flows[uint64(1000+r.IntN(100000))] = randomPath(r, ns)
	}
	for _, s := range []Strategy{MCPS, PerFlowMin, PollAll, PerFlowRandom} {
		t.Run(s.String(), func(t *testing.T) {
			p, err := NewPlanned(PlannedConfig{Strategy: s, Rand: rand.New(rand.NewPCG(9, 9))})
			require.NoError(t, err)
			p.SetSwitches(t0, switches(ns))
			for id, path := range flows {
				p.OnArrive(t0, Flow{ID: id, DPIDs: path})
			}
			due := p.Due(t0, nil)
			checkDue(t, p, due, flows)

			pl, err := mcps.NewPlanner(mcps.PlannerConfig{Network: p.nw, Strategy: s.solver(),
				Options: mcps.Options{Rand: rand.New(rand.NewPCG(9, 9))}})
			require.NoError(t, err)
			ids := make([]uint64, 0, len(flows))
			for id := range flows {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			for _, id := range ids {
				ip, _ := p.appendIndexPath(nil, flows[id])
				require.NoError(t, pl.AddFlow(id, ip))
			}
			rep, err := pl.Rebuild(t0, mcps.ReasonForced)
			require.NoError(t, err)
			plan := p.Plan()
			assert.Equal(t, pl.Cost(), plan.Cost)
			assert.Equal(t, len(pl.PollAll()), len(plan.PollAll))
			assert.Equal(t, pl.NumSingles(), len(plan.PollSingle))
			require.NotNil(t, plan.Last)
			assert.Equal(t, "initial", plan.Last.Reason)
			assert.Equal(t, rep.LowerBound, plan.LowerBound)
			assert.LessOrEqual(t, plan.LowerBound, plan.Cost)
		})
	}
}

// TestPlannedOffLockRebuild drives random arrivals and expiries, some of them while
// a rebuild or a lower bound is out as Work (between Work and Finish), switches
// appearing, and strategy-specific rebuilds; after every Due the requests poll every
// active flow exactly once at the scheme's cost.
func TestPlannedOffLockRebuild(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		s := Strategies()[int(seed)%4]
		t.Run(s.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 77))
			p, err := NewPlanned(PlannedConfig{Strategy: s, Theta: 0.6, BoundInterval: time.Second})
			require.NoError(t, err)
			ns := 6
			p.SetSwitches(t0, switches(ns))
			flows := map[uint64][]uint64{}
			next := uint64(1)
			now := t0
			var out Work
			churn := func() {
				for k := r.IntN(8); k > 0; k-- {
					if r.IntN(3) > 0 || len(flows) == 0 {
						path := randomPath(r, ns)
						if r.IntN(20) == 0 { // a switch the scheme does not know yet
							path = append(path, uint64(100+r.IntN(3)))
						}
						flows[next] = path
						p.OnArrive(now, Flow{ID: next, DPIDs: path})
						next++
						continue
					}
					for id := range flows {
						delete(flows, id)
						p.OnExpire(now, id)
						break
					}
				}
			}
			works := 0
			for step := 0; step < 300; step++ {
				now = now.Add(500 * time.Millisecond)
				churn()
				if step%50 == 49 {
					ns++
					p.SetSwitches(now, switches(ns))
				}
				if out == nil {
					out = p.Work(now)
					if out != nil {
						works++
						require.Nil(t, p.Work(now), "second Work while one is out")
					}
				} else if r.IntN(2) == 0 {
					out.Run()
					churn() // events after the solve, before the swap
					require.NoError(t, p.Finish(now, out))
					out = nil
				}
				if out == nil {
					due := p.Due(now, nil)
					checkDue(t, p, due, flows)
				}
			}
			assert.Greater(t, works, 5)
			plan := p.Plan()
			assert.Greater(t, plan.Rebuilds, 1)
			assert.Equal(t, len(flows), plan.Flows)
		})
	}
}

func TestPlannedOff(t *testing.T) {
	p, err := NewPlanned(PlannedConfig{Strategy: Off})
	require.NoError(t, err)
	p.SetSwitches(t0, switches(3))
	p.OnArrive(t0, Flow{ID: 1, DPIDs: []uint64{1, 2}})
	assert.Nil(t, p.Work(t0))
	assert.Empty(t, p.Due(t0, nil))
	plan := p.Plan()
	assert.Equal(t, Off, plan.Strategy)
	assert.Equal(t, 1, plan.Flows)
	assert.Zero(t, plan.Cost)
}

func TestPlannedFinishForeign(t *testing.T) {
	p, _ := NewPlanned(PlannedConfig{})
	q, _ := NewPlanned(PlannedConfig{})
	for _, x := range []*Planned{p, q} {
		x.SetSwitches(t0, switches(2))
		x.OnArrive(t0, Flow{ID: 1, DPIDs: []uint64{1, 2}})
	}
	w := q.Work(t0)
	require.NotNil(t, w)
	w.Run()
	require.ErrorIs(t, p.Finish(t0, w), ErrForeignWork)
	require.ErrorIs(t, p.Finish(t0, nil), ErrForeignWork)
	require.NoError(t, q.Finish(t0, w))
	require.ErrorIs(t, q.Finish(t0, w), ErrForeignWork, "finished twice")
}

// TestPlannedBound: after DAPR patches, a lower bound is recomputed as Work once
// BoundInterval has passed, and it never exceeds the scheme's cost.
func TestPlannedBound(t *testing.T) {
	p, err := NewPlanned(PlannedConfig{BoundInterval: 5 * time.Second, CostRatio: -1, MaxInterval: -1, Theta: 0.01})
	require.NoError(t, err)
	p.SetSwitches(t0, switches(4))
	for i := uint64(1); i <= 20; i++ {
		p.OnArrive(t0, Flow{ID: i, DPIDs: []uint64{1 + i%4, 1 + (i+1)%4}})
	}
	require.NoError(t, Settle(p, t0))
	first := p.Plan()
	require.Equal(t, 20, first.LowerBoundFlows)
	for i := uint64(21); i <= 30; i++ {
		p.OnArrive(t0, Flow{ID: i, DPIDs: []uint64{2, 3}})
	}
	assert.Nil(t, p.Work(t0.Add(time.Second)), "bound before BoundInterval")
	w := p.Work(t0.Add(6 * time.Second))
	require.IsType(t, &BoundWork{}, w)
	w.Run()
	require.NoError(t, p.Finish(t0, w))
	plan := p.Plan()
	assert.Equal(t, 30, plan.LowerBoundFlows)
	assert.LessOrEqual(t, plan.LowerBound, plan.Cost)
	assert.Greater(t, plan.LowerBound, int64(0))
	assert.Nil(t, p.Work(t0.Add(20*time.Second)), "no bound when the flow set did not change")
}

func TestNewPlannedBad(t *testing.T) {
	_, err := NewPlanned(PlannedConfig{Strategy: Strategy(9)})
	require.ErrorIs(t, err, ErrBadStrategy)
	_, err = NewPlanned(PlannedConfig{Strategy: AFPS})
	require.ErrorIs(t, err, ErrBadStrategy)
	_, err = NewPlanned(PlannedConfig{Deployment: 5})
	require.Error(t, err)
	_, err = NewPlanned(PlannedConfig{Theta: 3})
	require.Error(t, err)
}

func TestStrategyNames(t *testing.T) {
	for _, s := range Strategies() {
		got, err := ParseStrategy(s.String())
		require.NoError(t, err)
		assert.Equal(t, s, got)
		b, err := s.MarshalText()
		require.NoError(t, err)
		var u Strategy
		require.NoError(t, u.UnmarshalText(b))
		assert.Equal(t, s, u)
	}
	assert.Equal(t, []string{"mcps", "per-flow-random", "per-flow-min", "poll-all", "off", "afps"}, StrategyNames())
	_, err := ParseStrategy("sometimes")
	require.ErrorIs(t, err, ErrBadStrategy)
	_, err = Strategy(200).MarshalText()
	require.ErrorIs(t, err, ErrBadStrategy)
	assert.Equal(t, "Strategy(200)", Strategy(200).String())
	var zero Strategy
	assert.Equal(t, MCPS, zero, "the zero value is the default")
}

// TestPlannedOffloadedDueNeverSolves: with Offloaded, Due polls by the patched scheme
// and leaves the rebuild to the caller's Work.
func TestPlannedOffloadedDueNeverSolves(t *testing.T) {
	p, err := NewPlanned(PlannedConfig{Offloaded: true})
	require.NoError(t, err)
	p.SetSwitches(t0, switches(3))
	p.OnArrive(t0, Flow{ID: 1, DPIDs: []uint64{1, 2}})
	assert.Empty(t, p.Due(t0, nil), "no scheme before the caller's Work")
	require.NoError(t, Settle(p, t0))
	due := p.Due(t0, nil)
	checkDue(t, p, due, map[uint64][]uint64{1: {1, 2}})
	// A flow on a switch the scheme does not know waits for the next Work.
	p.OnArrive(t0, Flow{ID: 2, DPIDs: []uint64{4}})
	due = p.Due(t0, nil)
	checkDue(t, p, due, map[uint64][]uint64{1: {1, 2}})
	w := p.Work(t0)
	require.IsType(t, &RebuildWork{}, w)
	w.Run()
	require.NoError(t, p.Finish(t0, w))
	checkDue(t, p, p.Due(t0, nil), map[uint64][]uint64{1: {1, 2}, 2: {4}})
	assert.Equal(t, "switches", p.Plan().Last.Reason)
}

// FuzzParseStrategy: any name either parses to a strategy whose name it is, or is
// refused with ErrBadStrategy; never a panic.
func FuzzParseStrategy(f *testing.F) {
	for _, n := range StrategyNames() {
		f.Add(n)
	}
	f.Add("")
	f.Add("MCPS")
	f.Add("poll-all\x00")
	f.Fuzz(func(t *testing.T, name string) {
		s, err := ParseStrategy(name)
		if err != nil {
			require.ErrorIs(t, err, ErrBadStrategy)
			var u Strategy
			require.Error(t, u.UnmarshalText([]byte(name)))
			return
		}
		require.True(t, s.Valid())
		require.Equal(t, name, s.String())
	})
}

// snapshotSet reads a snapshot's flows as dpid paths.
func snapshotSet(t *testing.T, ids []uint64, starts, arena []int32, dpids []uint64) map[uint64][]uint64 {
	t.Helper()
	require.Len(t, starts, len(ids)+1)
	out := make(map[uint64][]uint64, len(ids))
	for k, id := range ids {
		_, dup := out[id]
		require.False(t, dup, "flow %d twice", id)
		var path []uint64
		for _, s := range arena[starts[k]:starts[k+1]] {
			path = append(path, dpids[s])
		}
		out[id] = path
	}
	return out
}

// TestSnapshotFromPlanner drives random arrivals, expiries, changes of the switch
// set and of the slow switches, with rebuilds handed out and finished while flows
// keep coming: every rebuild's and lower bound's snapshot read from the planner's
// records holds the same flows with the same paths as one read flow by flow.
func TestSnapshotFromPlanner(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 27))
	p, err := NewPlanned(PlannedConfig{Strategy: MCPS, Offloaded: true, ReplyTimeEvery: -1, BoundInterval: time.Nanosecond})
	require.NoError(t, err)
	ns := 12
	sw := switches(ns)
	p.SetSwitches(t0, sw)
	live := map[uint64]bool{}
	next := uint64(1)
	var out Work
	fromPlanner, rebuilds, bounds := 0, 0, 0
	for step := range 2500 {
		now := t0.Add(time.Duration(step) * time.Millisecond)
		switch k := r.IntN(100); {
		case k < 55:
			p.OnArrive(now, Flow{ID: next, DPIDs: randomPath(r, ns)})
			live[next] = true
			next++
		case k < 80 && len(live) > 0:
			for id := range live {
				p.OnExpire(now, id)
				delete(live, id)
				break
			}
		case k < 84:
			i := r.IntN(len(sw))
			sw[i].Slow = !sw[i].Slow
			p.SetSwitches(now, sw)
		case k < 85 && ns < 40:
			ns++ // a new switch; paths may take it before the switch set names it
			if r.IntN(2) == 0 {
				sw = switches(ns)
				p.SetSwitches(now, sw)
			}
		case k < 95:
			if out != nil {
				out.Run()
				require.NoError(t, p.Finish(now, out))
				out = nil
				continue
			}
			exact := p.plannerHoldsAll()
			out = p.Work(now)
			switch w := out.(type) {
			case *RebuildWork:
				rebuilds++
				if exact {
					fromPlanner++
				}
				want := map[uint64]bool{}
				for _, s := range sw {
					want[s.DPID] = true
				}
				for _, pr := range p.flows {
					for _, d := range pr.dpids {
						want[d] = true
					}
				}
				require.ElementsMatch(t, slices.Collect(maps.Keys(want)), w.dpids, "step %d", step)
				ref := &RebuildWork{idx: w.idx, start: []int32{0}}
				p.snapshotFlows(ref)
				require.Equal(t, snapshotSet(t, ref.ids, ref.start, ref.arena, w.dpids),
					snapshotSet(t, w.ids, w.start, w.arena, w.dpids), "step %d", step)
			case *BoundWork:
				bounds++
				want := map[uint64][]uint64{}
				for id, pr := range p.flows {
					if _, known := p.appendIndexPath(nil, pr.dpids); known {
						want[id] = pr.dpids
					}
				}
				require.Equal(t, want, snapshotSet(t, w.ids, w.starts, w.arena, p.dpids), "step %d", step)
			}
		}
	}
	t.Logf("%d rebuilds (%d from the planner), %d bounds", rebuilds, fromPlanner, bounds)
	require.Greater(t, fromPlanner, rebuilds/4)
	require.Positive(t, bounds)
}
