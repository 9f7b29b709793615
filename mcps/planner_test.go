package mcps

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestPlannerRandomEvents drives DAPR (section 3) through random arrival, expiry and
// rebuild sequences and checks after every event that the scheme is a valid cover with
// the right cost, and that r matches |F0 ∩ Ft| / |F0| (or, in the Jaccard form,
// |F0 ∩ Ft| / |F0 ∪ Ft|) computed from the sets.
func TestPlannerRandomEvents(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	seqs := 150
	if testing.Short() {
		seqs = 40
	}
	t0 := time.Unix(1_800_000_000, 0)
	for c := 0; c < seqs; c++ {
		ns := 2 + r.IntN(10)
		dep := Deployment(r.IntN(2))
		net := Network{Switches: ns, Deployment: dep}
		if dep == InBand {
			for k := 0; k < 1+r.IntN(3); k++ {
				row := make([]int32, ns)
				for s := range row {
					row[s] = int32(1 + r.IntN(4))
				}
				net.Hops = append(net.Hops, row)
			}
		}
		if c%4 == 3 {
			net.Cost = WireCost{MSS: 536}
		}
		strategies := []string{StrategyMCPS, StrategyGreedy, StrategyExact, StrategyPollAll, StrategyPerFlowRandom}
		form := VarianceForm(c % 2)
		pl, err := NewPlanner(PlannerConfig{Network: net, Strategy: strategies[c%len(strategies)], Variance: form})
		if err != nil {
			t.Fatal(err)
		}
		active := map[uint64]bool{}
		f0 := map[uint64]bool{}
		ids := []uint64{}
		now := t0
		for ev := 0; ev < 200; ev++ {
			now = now.Add(100 * time.Millisecond)
			switch x := r.IntN(10); {
			case x < 5 || len(active) == 0: // arrival; ids may come back
				id := uint64(r.IntN(60))
				l := 1 + r.IntN(min(4, ns))
				path := make([]int32, l)
				for i, s := range r.Perm(ns)[:l] {
					path[i] = int32(s)
				}
				err := pl.AddFlow(id, path)
				if active[id] {
					if !errors.Is(err, ErrDuplicate) {
						t.Fatalf("seq %d: duplicate add: %v", c, err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				active[id] = true
				ids = append(ids, id)
			case x < 9: // expiry
				id := ids[r.IntN(len(ids))]
				err := pl.RemoveFlow(id)
				if !active[id] {
					if !errors.Is(err, ErrUnknownFlow) {
						t.Fatalf("seq %d: removing inactive flow: %v", c, err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				delete(active, id)
			default:
				_, rebuilt, err := pl.MaybeRebuild(now)
				if err != nil {
					t.Fatal(err)
				}
				if pl.NeedsRebuild(now) != ReasonNone && len(active) > 0 {
					t.Fatalf("seq %d: still needs a rebuild right after one: %v", c, pl.NeedsRebuild(now))
				}
				if rebuilt {
					f0 = map[uint64]bool{}
					for id := range active {
						f0[id] = true
					}
				}
			}
			if err := pl.Check(); err != nil {
				t.Fatalf("seq %d event %d: %v", c, ev, err)
			}
			if got := pl.AppendSingles(nil); !slices.Equal(got, pl.Singles()) || len(got) != pl.NumSingles() {
				t.Fatalf("seq %d event %d: AppendSingles %v, Singles %v", c, ev, got, pl.Singles())
			}
			if got := pl.AppendPollAll(nil); !slices.Equal(got, pl.PollAll()) {
				t.Fatalf("seq %d event %d: AppendPollAll %v, PollAll %v", c, ev, got, pl.PollAll())
			}
			if pl.Flows() != len(active) {
				t.Fatalf("seq %d: %d flows, want %d", c, pl.Flows(), len(active))
			}
			inter, union := 0, len(active)
			for id := range f0 {
				if active[id] {
					inter++
				} else {
					union++
				}
			}
			den := union
			if form == VarianceRetained {
				den = len(f0)
			}
			want := 1.0
			if den > 0 {
				want = float64(inter) / float64(den)
			}
			if got := pl.VarianceRate(); got != want {
				t.Fatalf("seq %d event %d: r = %v, want %v", c, ev, got, want)
			}
		}
	}
}

// TestPlannerReasons checks ARI's rules one by one (section 3).
func TestPlannerReasons(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	path := []int32{0, 1, 2}
	tests := []struct {
		name  string
		cfg   PlannerConfig
		setup func(p *Planner)
		at    time.Duration
		want  RebuildReason
	}{
		{"empty needs nothing", PlannerConfig{}, func(p *Planner) {}, 0, ReasonNone},
		{"first flows", PlannerConfig{}, func(p *Planner) { p.AddFlow(1, path) }, 0, ReasonInitial},
		{"steady", PlannerConfig{}, func(p *Planner) {
			for i := uint64(0); i < 10; i++ {
				p.AddFlow(i, path)
			}
			p.Rebuild(t0, ReasonNone)
			p.RemoveFlow(0)
		}, time.Second, ReasonNone},
		{"variance", PlannerConfig{}, func(p *Planner) {
			for i := uint64(0); i < 10; i++ {
				p.AddFlow(i, path)
			}
			p.Rebuild(t0, ReasonNone)
			for i := uint64(0); i < 4; i++ { // r = 6/10
				p.RemoveFlow(i)
			}
		}, time.Second, ReasonVariance},
		{"cost drift", PlannerConfig{Theta: 0.01}, func(p *Planner) {
			for i := uint64(0); i < 10; i++ {
				p.AddFlow(i, path) // one poll-all covers all ten
			}
			p.Rebuild(t0, ReasonNone)
			for i := uint64(10); i < 14; i++ {
				p.AddFlow(i, []int32{3}) // each needs its own poll-single
			}
		}, time.Second, ReasonCostDrift},
		{"interval", PlannerConfig{MaxInterval: 10 * time.Second}, func(p *Planner) {
			p.AddFlow(1, path)
			p.Rebuild(t0, ReasonNone)
		}, 10 * time.Second, ReasonInterval},
		{"interval disabled", PlannerConfig{MaxInterval: -1}, func(p *Planner) {
			p.AddFlow(1, path)
			p.Rebuild(t0, ReasonNone)
		}, time.Hour, ReasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Network = Network{Switches: 4}
			p, err := NewPlanner(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(p)
			if got := p.NeedsRebuild(t0.Add(tt.at)); got != tt.want {
				t.Fatalf("got %v, want %v (r=%v cost=%d)", got, tt.want, p.VarianceRate(), p.Cost())
			}
			if err := p.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPlannerConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  PlannerConfig
	}{
		{"no network", PlannerConfig{}},
		{"theta", PlannerConfig{Network: Network{Switches: 1}, Theta: 1.5}},
		{"ratio", PlannerConfig{Network: Network{Switches: 1}, CostRatio: 0.5}},
		{"strategy", PlannerConfig{Network: Network{Switches: 1}, Strategy: "best"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewPlanner(tt.cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestPlannerRebuildMatchesSolve checks that a rebuild yields the strategy's cost on the
// same flows (mcps never keeps redundant poll-singles).
func TestPlannerRebuildMatchesSolve(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for c := 0; c < 50; c++ {
		in := randomInstance(t, r, 8, 1, 60, 4, OutOfBand)
		pl, _ := NewPlanner(PlannerConfig{Network: in.Network()})
		for f := 0; f < in.NumFlows(); f++ {
			if err := pl.AddFlow(uint64(f)*7919, in.Path(f)); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := pl.Rebuild(time.Time{}, ReasonNone)
		if err != nil {
			t.Fatal(err)
		}
		sol, _ := Solve(in, StrategyMCPS, Options{})
		if rep.Cost != sol.Cost || pl.Cost() != sol.Cost || rep.Reason != ReasonForced {
			t.Fatalf("case %d: rebuilt %d (%v), solve %d", c, rep.Cost, rep.Reason, sol.Cost)
		}
	}
}

// TestPlannerCompacts runs a long churn without rebuilds: the arena must stay bounded
// and the scheme valid.
func TestPlannerCompacts(t *testing.T) {
	pl, err := NewPlanner(PlannerConfig{Network: Network{Switches: 10}})
	if err != nil {
		t.Fatal(err)
	}
	path := []int32{1, 2, 3, 4, 5}
	for id := uint64(0); id < 100; id++ {
		pl.AddFlow(id, path)
	}
	pl.Rebuild(time.Time{}, ReasonNone)
	for id := uint64(100); id < 200_000; id++ {
		if err := pl.RemoveFlow(id - 100); err != nil {
			t.Fatal(err)
		}
		if err := pl.AddFlow(id, path); err != nil {
			t.Fatal(err)
		}
	}
	if err := pl.Check(); err != nil {
		t.Fatal(err)
	}
	if n := len(pl.arena); n > 4<<16 {
		t.Fatalf("arena holds %d entries for 100 flows", n)
	}
}

// TestVarianceRateForms checks ARI's flow variance rate (paper eq. 16, algorithms.md
// section 3) on hand-made flow sets, in both forms: the default r = |F0∩Ft| / |F0| and
// the Jaccard option r = |F0∩Ft| / |F0∪Ft|.
func TestVarianceRateForms(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	path := []int32{0, 1}
	ids := func(from, to uint64) []uint64 {
		var v []uint64
		for i := from; i < to; i++ {
			v = append(v, i)
		}
		return v
	}
	tests := []struct {
		name             string
		f0               []uint64 // active at the rebuild
		remove, add      []uint64 // then
		retained, jaccrd float64
		rebuild07        [2]bool // NeedsRebuild says variance at θ = 0.7: retained, jaccard
	}{
		{"unchanged", ids(0, 10), nil, nil, 1, 1, [2]bool{false, false}},
		{"two expire", ids(0, 10), ids(0, 2), nil, 0.8, 0.8, [2]bool{false, false}},
		{"four expire", ids(0, 10), ids(0, 4), nil, 0.6, 0.6, [2]bool{true, true}},
		// A flash crowd: every old flow lives on, ten new ones arrive.
		{"flash crowd", ids(0, 10), nil, ids(10, 20), 1, 0.5, [2]bool{false, true}},
		// Churn at a constant count: 3 of 10 replaced.
		{"replace three", ids(0, 10), ids(0, 3), ids(10, 13), 0.7, 7.0 / 13, [2]bool{false, true}},
		// A flow of F0 that expires and comes back counts as retained.
		{"expire and return", ids(0, 10), ids(0, 5), ids(0, 5), 1, 1, [2]bool{false, false}},
		{"mass expiry", ids(0, 10), ids(0, 9), nil, 0.1, 0.1, [2]bool{true, true}},
		{"everything new", ids(0, 4), ids(0, 4), ids(4, 8), 0, 0, [2]bool{true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, form := range []VarianceForm{VarianceRetained, VarianceJaccard} {
				p, err := NewPlanner(PlannerConfig{Network: Network{Switches: 2}, Variance: form, CostRatio: -1, MaxInterval: -1})
				must(t, err)
				for _, id := range tt.f0 {
					must(t, p.AddFlow(id, path))
				}
				_, err = p.Rebuild(t0, ReasonNone)
				must(t, err)
				for _, id := range tt.remove {
					must(t, p.RemoveFlow(id))
				}
				for _, id := range tt.add {
					must(t, p.AddFlow(id, path))
				}
				want := []float64{tt.retained, tt.jaccrd}[k]
				if got := p.VarianceRate(); math.Abs(got-want) > 1e-12 {
					t.Errorf("%v: r = %v, want %v", form, got, want)
				}
				if got := p.NeedsRebuild(t0.Add(time.Second)) == ReasonVariance; got != tt.rebuild07[k] {
					t.Errorf("%v: rebuild for variance %v, want %v", form, got, tt.rebuild07[k])
				}
				must(t, p.Check())
			}
		})
	}
	// An empty F0 leaves nothing to lose: r = 1 in the retained form.
	p, err := NewPlanner(PlannerConfig{Network: Network{Switches: 2}})
	must(t, err)
	_, err = p.Rebuild(t0, ReasonForced)
	must(t, err)
	must(t, p.AddFlow(1, path))
	if r := p.VarianceRate(); r != 1 {
		t.Errorf("empty F0: r = %v, want 1", r)
	}
	for _, s := range []string{"", "retained", "jaccard"} {
		f, err := ParseVarianceForm(s)
		must(t, err)
		if s != "" && f.String() != s {
			t.Errorf("ParseVarianceForm(%q).String() = %q", s, f)
		}
	}
	if _, err := ParseVarianceForm("union"); !errors.Is(err, ErrBadConfig) {
		t.Errorf("ParseVarianceForm(union): %v", err)
	}
	if err := (PlannerConfig{Network: Network{Switches: 2}, Variance: 7}).Validate(); !errors.Is(err, ErrBadConfig) {
		t.Errorf("Variance 7: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPlannerReadPoint: with the egress read point a poll-single goes to the cheapest
// switch nearest the egress, on arrival and after a rebuild, and PolledAt names the
// polled switch nearest the egress; the cost is the same as with the ingress default.
func TestPlannerReadPoint(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	costs := map[ReadPoint]int64{}
	for _, rp := range []ReadPoint{ReadIngress, ReadEgress} {
		p, err := NewPlanner(PlannerConfig{Network: Network{Switches: 5}, ReadPoint: rp})
		must(t, err)
		// Five flows over s0..s3 make poll-all at one of them worth it; f9 alone on s3, s4.
		for i := uint64(0); i < 5; i++ {
			must(t, p.AddFlow(i, []int32{0, 1, 2, 3}))
		}
		must(t, p.AddFlow(9, []int32{3, 4}))
		wantSingle := map[ReadPoint]int32{ReadIngress: 3, ReadEgress: 4}[rp]
		if sw, single, ok := p.PolledAt(9); !ok || !single || sw != wantSingle {
			t.Errorf("%v: before rebuild f9 at %d single %v ok %v, want poll-single at %d", rp, sw, single, ok, wantSingle)
		}
		_, err = p.Rebuild(t0, ReasonForced)
		must(t, err)
		costs[rp] = p.Cost()
		sw, single, ok := p.PolledAt(0)
		if !ok || single {
			t.Fatalf("%v: f0 polled at %d single %v ok %v, want a poll-all", rp, sw, single, ok)
		}
		path := []int32{0, 1, 2, 3}
		for _, s := range path {
			if p.polled[s] {
				if rp == ReadIngress && sw > s || rp == ReadEgress && sw < s {
					t.Errorf("%v: f0 read at %d, but %d is polled and nearer the read point", rp, sw, s)
				}
			}
		}
		for _, s := range p.Singles() {
			if s.ID == 9 && s.Switch != wantSingle && !p.polled[3] {
				t.Errorf("%v: after rebuild f9 at %d, want %d", rp, s.Switch, wantSingle)
			}
		}
		must(t, p.Check())
	}
	if costs[ReadIngress] != costs[ReadEgress] {
		t.Errorf("costs %v differ by read point", costs)
	}
	for _, s := range []string{"", "ingress", "egress"} {
		rp, err := ParseReadPoint(s)
		if err != nil || (s != "" && rp.String() != s) {
			t.Errorf("ParseReadPoint(%q) = %v, %v", s, rp, err)
		}
	}
	if _, err := ParseReadPoint("middle"); !errors.Is(err, ErrBadConfig) {
		t.Errorf("ParseReadPoint(middle): %v", err)
	}
	if err := (PlannerConfig{Network: Network{Switches: 2}, ReadPoint: 5}).Validate(); !errors.Is(err, ErrBadConfig) {
		t.Errorf("ReadPoint 5: %v", err)
	}
}

// TestBaselineCosts: on a line of three switches with flows over one, two and three
// of them, poll-all costs every loaded switch's request and per-flow one poll-single
// per flow (section 2's c_all and c_one), and the MCPS scheme never costs more than
// the cheaper of the two.
func TestBaselineCosts(t *testing.T) {
	nw := Network{Switches: 3, Deployment: OutOfBand}
	p, err := NewPlanner(PlannerConfig{Network: nw})
	if err != nil {
		t.Fatal(err)
	}
	paths := [][]int32{{0}, {0, 1}, {0, 1, 2}, {1, 2}}
	for i, path := range paths {
		if err := p.AddFlow(uint64(i+1), path); err != nil {
			t.Fatal(err)
		}
	}
	cm := PaperCost
	all, one := p.BaselineCosts()
	// loads: switch 0 has 3 flows, switch 1 has 3, switch 2 has 2
	if want := cm.PollAll(3) + cm.PollAll(3) + cm.PollAll(2); all != want {
		t.Errorf("poll-all cost %d, want %d", all, want)
	}
	if want := 4 * cm.PollSingle(); one != want {
		t.Errorf("per-flow cost %d, want %d", one, want)
	}
	if _, err := p.Rebuild(time.Unix(0, 0), ReasonInitial); err != nil {
		t.Fatal(err)
	}
	if c := p.Cost(); c > min(all, one) {
		t.Errorf("scheme cost %d above the cheaper baseline %d", c, min(all, one))
	}
	if err := p.RemoveFlow(3); err != nil {
		t.Fatal(err)
	}
	if _, one2 := p.BaselineCosts(); one2 != 3*cm.PollSingle() {
		t.Errorf("per-flow cost after an expiry %d", one2)
	}
}

// TestPlannerAppendFlows checks the snapshot a planner gives of its active flows:
// every active flow once, with its path (remapped when asked), expired ones left out,
// the slices handed back unchanged when the remap or the starts are wrong.
func TestPlannerAppendFlows(t *testing.T) {
	const ns = 8
	pl, err := NewPlanner(PlannerConfig{Network: Network{Switches: ns}})
	if err != nil {
		t.Fatal(err)
	}
	pl.Grow(1000, 3000)
	r := rand.New(rand.NewPCG(1, 4))
	want := map[uint64][]int32{}
	for id := uint64(1); id <= 1000; id++ {
		path := []int32{int32(r.IntN(ns))}
		if s := int32(r.IntN(ns)); s != path[0] {
			path = append(path, s)
		}
		if err := pl.AddFlow(id, path); err != nil {
			t.Fatal(err)
		}
		want[id] = path
		if id%3 == 0 {
			if err := pl.RemoveFlow(id / 3); err != nil {
				t.Fatal(err)
			}
			delete(want, id/3)
		}
	}
	remap := make([]int32, ns)
	for i := range remap {
		remap[i] = ns - 1 - int32(i)
	}
	for _, m := range [][]int32{nil, remap} {
		ids, starts, arena, ok := pl.AppendFlows([]uint64{99}, []int32{0, 1}, []int32{7}, m)
		if !ok || len(ids) != len(want)+1 || len(starts) != len(ids)+1 {
			t.Fatalf("remap %v: ok %v, %d ids, %d starts, want %d flows", m, ok, len(ids), len(starts), len(want))
		}
		if ids[0] != 99 || starts[1] != 1 || arena[0] != 7 {
			t.Fatal("the snapshot's first flow was overwritten")
		}
		for k := 1; k < len(ids); k++ {
			path := slices.Clone(arena[starts[k]:starts[k+1]])
			if m != nil {
				for i, s := range path {
					path[i] = ns - 1 - s
				}
			}
			if w, in := want[ids[k]]; !in || !slices.Equal(w, path) {
				t.Fatalf("flow %d: path %v, want %v (active %v)", ids[k], path, w, in)
			}
		}
	}
	bad := slices.Clone(remap)
	bad[3] = -1
	for _, c := range []struct {
		starts, remap []int32
	}{{[]int32{0}, bad}, {[]int32{0}, remap[:ns-1]}, {nil, nil}} {
		ids, starts, arena, ok := pl.AppendFlows(nil, c.starts, nil, c.remap)
		if ok || len(ids) != 0 || !slices.Equal(starts, c.starts) || len(arena) != 0 {
			t.Fatalf("starts %v remap %v: ok %v, %d ids, starts %v, %d arena", c.starts, c.remap, ok, len(ids), starts, len(arena))
		}
	}
}
