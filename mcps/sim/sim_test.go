package sim

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/topology"
)

// fakeClock advances one millisecond per reading.
func fakeClock() func() time.Time {
	t := time.Unix(1_800_000_000, 0)
	return func() time.Time {
		t = t.Add(time.Millisecond)
		return t
	}
}

func TestRouterMatchesShortestPath(t *testing.T) {
	g := topology.Waxman(40, 0.5, 0.2, rand.New(rand.NewPCG(1, 2)))
	rt := NewRouter(g)
	for a := 0; a < g.NumNodes(); a++ {
		for b := 0; b < g.NumNodes(); b++ {
			want := g.ShortestPath(a, b)
			got := rt.Path(a, b, nil)
			if len(got) != len(want) {
				t.Fatalf("%d->%d: %v, want %v", a, b, got, want)
			}
			for i := range got {
				if int(got[i]) != want[i] {
					t.Fatalf("%d->%d: %v, want %v", a, b, got, want)
				}
			}
		}
	}
}

func TestPlaceControllers(t *testing.T) {
	// Line s1..s5: the middle switch minimises the total hops.
	g := topology.Linear(5)
	c, err := PlaceControllers(g, 1)
	if err != nil || !slices.Equal(c, []int{2}) {
		t.Fatalf("got %v, %v", c, err)
	}
	c, err = PlaceControllers(g, 2)
	if err != nil || len(c) != 2 || c[0] != 2 {
		t.Fatalf("got %v, %v", c, err)
	}
	if _, err := PlaceControllers(g, 6); !errors.Is(err, ErrWorkload) {
		t.Fatalf("6 controllers on 5 switches: %v", err)
	}
	hops, err := ControllerHops(NewRouter(g), []int{2})
	if err != nil || !slices.Equal(hops[0], []int32{3, 2, 1, 2, 3}) {
		t.Fatalf("hops %v, %v", hops, err)
	}
}

func TestSpecBuild(t *testing.T) {
	tests := []struct {
		name string
		json string
		err  bool
		cost int64 // mcps cost when it builds
	}{
		{"out-of-band", `{"flows":[{"id":"f1","path":["a","b"]},{"id":"f2","path":["b","c"]}]}`, false, 200 + 2*96},
		{"in-band", `{"deployment":"in-band","controllers":[{"id":"c1","hops":{"a":1,"b":2,"c":3}}],
			"flows":[{"id":"f1","path":["a","b"]},{"id":"f2","path":["b","c"]}]}`, false, 2 * (200 + 2*96)},
		{"in-band two controllers", `{"deployment":"in-band","controllers":[{"id":"c1","hops":{"a":1,"b":3}},{"id":"c2","hops":{"a":4,"b":1}}],
			"flows":[{"id":"f1","path":["a","b"]},{"id":"f2","path":["b"]}]}`, false, 200 + 2*96},
		{"in-band without controllers", `{"deployment":"in-band","flows":[{"id":"f1","path":["a"]}]}`, true, 0},
		{"missing hops", `{"deployment":"in-band","controllers":[{"id":"c1","hops":{"a":1}}],"flows":[{"id":"f1","path":["a","b"]}]}`, true, 0},
		{"zero hops", `{"deployment":"in-band","controllers":[{"id":"c1","hops":{"a":0}}],"flows":[{"id":"f1","path":["a"]}]}`, true, 0},
		{"duplicate flow", `{"flows":[{"id":"f1","path":["a"]},{"id":"f1","path":["b"]}]}`, true, 0},
		{"loop", `{"flows":[{"id":"f1","path":["a","b","a"]}]}`, true, 0},
		{"empty path", `{"flows":[{"id":"f1","path":[]}]}`, true, 0},
		{"no id", `{"flows":[{"path":["a"]}]}`, true, 0},
		{"unknown field", `{"flow":[]}`, true, 0},
		{"bad deployment", `{"deployment":"sideways","flows":[{"id":"f1","path":["a"]}]}`, true, 0},
		{"not json", `{"flows":`, true, 0},
		{"trailing", `{"flows":[{"id":"f1","path":["a"]}]} {}`, true, 0},
		{"nothing", `{"flows":[]}`, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSpec([]byte(tt.json))
			var nm *Named
			if err == nil {
				nm, err = s.Build()
			}
			if tt.err {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sol, err := mcps.Solve(nm.Instance, mcps.StrategyMCPS, mcps.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sol.Cost != tt.cost {
				t.Fatalf("cost %d, want %d", sol.Cost, tt.cost)
			}
		})
	}
}

// TestSpecRoundTrip: a generated workload written as a spec and read back is the same
// problem (same cost for every strategy).
func TestSpecRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	g := topology.ErdosRenyi(25, 0.15, rng)
	for _, dep := range []mcps.Deployment{mcps.OutOfBand, mcps.InBand} {
		gen, err := Generate(g, dep, 2, 300, rng)
		if err != nil {
			t.Fatal(err)
		}
		nm, err := gen.Spec().Build()
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []string{mcps.StrategyMCPS, mcps.StrategyPerFlowMin, mcps.StrategyPollAll} {
			a, _ := mcps.Solve(gen.Instance, st, mcps.Options{})
			b, _ := mcps.Solve(nm.Instance, st, mcps.Options{})
			if a.Cost != b.Cost {
				t.Fatalf("%v %s: %d before, %d after the round trip", dep, st, a.Cost, b.Cost)
			}
		}
	}
}

func TestForwardAndAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	path := []int32{0, 1, 2}
	// No loss: every position counts every packet.
	if got := forward(r, path, []bool{true, true, true}, 0, 50); !slices.Equal(got, []int{50, 50, 50, 50}) {
		t.Fatalf("no loss: %v", got)
	}
	// Certain loss at the first switch: it counts 50, nothing goes further.
	if got := forward(r, path, []bool{true, false, false}, 1, 50); !slices.Equal(got, []int{50, 0, 0, 0}) {
		t.Fatalf("full loss: %v", got)
	}
	pairs := []Pair{{0, 2}, {0, 2}}
	counts := [][]int{{50, 0, 0, 0}, {10, 10, 10, 10}}
	afr, tm := accuracyOf(nil, pairs, counts, []int{2, 0})
	if afr != 1 || tm != 1 {
		t.Fatalf("afr %v tm %v", afr, tm)
	}
	afr, tm = accuracyOf(nil, pairs, counts, []int{0, 0}) // first flow read before its loss
	if afr != 0.5 || tm != 0 {
		t.Fatalf("afr %v tm %v", afr, tm)
	}
}

// TestRunTiny runs every experiment at a tiny size with a fake clock.
func TestRunTiny(t *testing.T) {
	res, err := Run(Tiny(fakeClock()), nil)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, tb := range res.Tables {
		names[tb.Name] = true
		if len(tb.Rows) == 0 {
			t.Errorf("%s: no rows", tb.Name)
		}
		for _, row := range tb.Rows {
			if len(row) != len(tb.Columns) {
				t.Fatalf("%s: row of %d cells, %d columns", tb.Name, len(row), len(tb.Columns))
			}
		}
		if !strings.HasPrefix(string(tb.CSV()), strings.Join(tb.Columns, ",")) {
			t.Errorf("%s: CSV header", tb.Name)
		}
	}
	for _, want := range []string{"cost_flows_er_out-of-band", "cost_flows_waxman_in-band", "cost_controllers", "gap_flows", "time_switches", "accuracy_loss_ratio", "dapr_cost", "dapr_summary",
		"fig2_example", "fig3_max_coverage_out-of-band", "fig3_max_coverage_in-band", "headline_sweep", "accuracy_loss_rate_volume", "accuracy_loss_ratio_volume", "ari_churn"} {
		if !names[want] {
			t.Errorf("missing table %s", want)
		}
	}
	h := res.Headline
	if h.MCPS <= 0 || h.MCPS >= h.PerFlowRandom || h.FracRandom <= 0 || h.FracRandom >= 1 {
		t.Errorf("headline %+v", h)
	}
	md := res.Markdown()
	for _, want := range []string{"# MCPS simulation report", "more than 50 %", "cost_flows_er_out-of-band.png", "dapr_summary.csv",
		"## The paper's MCPS figures, one by one", "| 2 |", "| 3 |", "| 13 |", "| 15 |", "## Theorem 3.2, derived", "## ARI: when it wins", "## What moves the headline"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Recompute with the same seed: the simulator is deterministic apart from times.
	res2, err := Run(Tiny(fakeClock()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Headline != res.Headline {
		t.Errorf("two runs differ: %+v vs %+v", res.Headline, res2.Headline)
	}
}

func TestConfigValidate(t *testing.T) {
	c := Tiny(nil)
	if err := c.Validate(); !errors.Is(err, ErrWorkload) {
		t.Fatalf("no clock: %v", err)
	}
	c = Tiny(fakeClock())
	c.MaxCtrl = 0
	if _, err := Run(c, nil); !errors.Is(err, ErrWorkload) {
		t.Fatalf("MaxCtrl 0: %v", err)
	}
}
