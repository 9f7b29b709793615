package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cemon-sdn/cemon/mcps"
)

// TestFigure2 checks the paper's worked example (section 3.1, figure 2) exactly: the
// optimum and the per-flow costs, out-of-band and in-band (see Figure2 for how the
// instance was rebuilt from the text).
func TestFigure2(t *testing.T) {
	const all2 = 122 + 78 + 2*96 // a poll-all reply with two entries: 392 bytes
	const single = 122 + 174     // a poll-single request and reply: 296 bytes
	tests := []struct {
		dep                  mcps.Deployment
		opt                  int64
		optSwitches          []int32
		perFlowMin           int64
		perFlowMinHopRequest int64
		perFlowRandom        float64
		greedy               int64 // the paper's plain greedy (Algorithm 3)
	}{
		// Out-of-band: poll-all at s2 and s4 (two requests) against four poll-singles.
		{mcps.OutOfBand, 2 * all2, []int32{1, 3}, 4 * single, 4, 4 * single, 2 * all2},
		// In-band, controller at s3 (h = 1 there, 2 at s2 and s4, 3 at s1 and s5): the
		// same two switches, two hops each; per-flow-min sends six hop-requests (f1 at s2,
		// f2 and f3 at s3, f4 at s4); per-flow-random averages (2.5 + 1.5 + 1.5 + 2.5).
		// Plain greedy misses the in-band optimum: it first takes s3 (392 bytes for two
		// flows, the lowest cost per flow), then polls f1 and f4 one by one at two hops:
		// 392 + 2·592 = 1576, 8 bytes above; mcps's clean-up finds the optimum.
		{mcps.InBand, 2 * 2 * all2, []int32{1, 3}, 6 * single, 6, 8 * single, all2 + 2*2*single},
	}
	for _, tt := range tests {
		t.Run(tt.dep.String(), func(t *testing.T) {
			in, err := Figure2(tt.dep)
			if err != nil {
				t.Fatal(err)
			}
			gr, err := mcps.Solve(in, mcps.StrategyGreedy, mcps.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if gr.Cost != tt.greedy {
				t.Errorf("greedy: cost %d, want %d", gr.Cost, tt.greedy)
			}
			for _, st := range []string{mcps.StrategyExact, mcps.StrategyMCPS} {
				sol, err := mcps.Solve(in, st, mcps.Options{})
				if err != nil {
					t.Fatal(err)
				}
				var sw []int32
				for _, a := range sol.PollAll {
					sw = append(sw, a.Switch)
				}
				slices.Sort(sw)
				if sol.Cost != tt.opt || !slices.Equal(sw, tt.optSwitches) || len(sol.PollSingle) != 0 {
					t.Errorf("%s: cost %d poll-all %v singles %d, want %d poll-all %v and no singles",
						st, sol.Cost, sw, len(sol.PollSingle), tt.opt, tt.optSwitches)
				}
				if st == mcps.StrategyExact && !sol.Optimal {
					t.Errorf("exact: not proven optimal")
				}
			}
			pf, err := mcps.Solve(in, mcps.StrategyPerFlowMin, mcps.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var hopReq int64
			for _, s := range pf.PollSingle {
				hopReq += in.Hops(int(s.Switch))
			}
			if pf.Cost != tt.perFlowMin || hopReq != tt.perFlowMinHopRequest {
				t.Errorf("per-flow-min: cost %d over %d hop-requests, want %d over %d", pf.Cost, hopReq, tt.perFlowMin, tt.perFlowMinHopRequest)
			}
			if got := ExpectedPerFlowRandom(in); got != tt.perFlowRandom {
				t.Errorf("per-flow-random expectation %v, want %v", got, tt.perFlowRandom)
			}
			// Every draw of per-flow-random lies between per-flow-min and polling each flow at
			// its dearest switch.
			for seed := uint64(0); seed < 20; seed++ {
				sol, err := mcps.Solve(in, mcps.StrategyPerFlowRandom, mcps.Options{Rand: rand.New(rand.NewPCG(seed, 1))})
				if err != nil {
					t.Fatal(err)
				}
				if sol.Cost < tt.perFlowMin || sol.Cost > 10*single {
					t.Errorf("per-flow-random draw %d: %d", seed, sol.Cost)
				}
			}
		})
	}
}

// TestMaxCoverageCurve checks figure 3's curve by hand on a line: s2 covers three flows,
// then s4 the last one.
func TestMaxCoverageCurve(t *testing.T) {
	in, err := mcps.NewInstance(mcps.Network{Switches: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]int32{{0, 1}, {1, 2}, {0, 1, 2}, {3, 4}} {
		if _, err := in.AddFlow(p); err != nil {
			t.Fatal(err)
		}
	}
	got := MaxCoverageCurve(in)
	want := []int64{4 * 296, (200 + 3*96) + 296, (200 + 3*96) + (200 + 96)}
	if !slices.Equal(got, want) {
		t.Fatalf("curve %v, want %v", got, want)
	}
}

// TestTheorem32MonteCarlo checks Theorem 3.2's estimate (TheoremAccuracy) and its
// exact-count companion (TheoremExact) against a Monte Carlo simulation of the proof's
// assumptions on a small case: loss switches drawn at random along the path, the polled
// switch a uniformly random position, packets forwarded one by one.
func TestTheorem32MonteCarlo(t *testing.T) {
	cases := []struct {
		L      int
		rho, p float64
		n      int
	}{
		{4, 0.3, 0.2, 20},
		{6, 0.5, 0.05, 5},
		{1, 1, 0.5, 3},
	}
	for _, c := range cases {
		r := rand.New(rand.NewPCG(uint64(c.L), 3))
		path := make([]int32, c.L)
		for i := range path {
			path[i] = int32(i)
		}
		const trials = 60000
		var sum, sum2, exact float64
		loss := make([]bool, c.L)
		for k := 0; k < trials; k++ {
			for i := range loss {
				loss[i] = r.Float64() < c.rho
			}
			j := r.IntN(c.L)
			counts := forward(r, path, loss, c.p, c.n)
			frac := float64(counts[c.L]) / float64(counts[j])
			if counts[j] == 0 {
				frac = 1
			}
			sum += frac
			sum2 += frac * frac
			if counts[j] == counts[c.L] {
				exact++
			}
		}
		mean := sum / trials
		se := math.Sqrt((sum2/trials - mean*mean) / trials)
		want := TheoremAccuracy(c.L, c.rho, c.p)
		// The estimate is the expected fraction E[egress/polled]: the Monte Carlo mean of
		// the ratio is within a few standard errors of it only up to the ratio's small
		// bias from the random denominator, so allow 4 standard errors plus 0.2 %.
		if math.Abs(mean-want) > 4*se+0.002 {
			t.Errorf("L=%d ρ=%v p=%v: Monte Carlo %.5f ± %.5f, theorem %.5f", c.L, c.rho, c.p, mean, se, want)
		}
		afr := exact / trials
		est := TheoremExact(c.L, c.n, c.rho, c.p)
		seA := math.Sqrt(afr * (1 - afr) / trials)
		// TheoremExact ignores upstream loss, so it may only fall short of the truth.
		if est > afr+4*seA || afr-est > 0.03 {
			t.Errorf("L=%d ρ=%v p=%v n=%d: exact ratio %.4f, estimate %.4f", c.L, c.rho, c.p, c.n, afr, est)
		}
	}
	if TheoremAccuracy(5, 0, 0.3) != 1 || TheoremAccuracy(5, 0.3, 0) != 1 {
		t.Errorf("no loss must give accuracy 1")
	}
	// Closed form against the sum it replaces.
	q := 1 - 0.4*0.1
	var s float64
	for k := 1; k <= 7; k++ {
		s += math.Pow(q, float64(k))
	}
	if got := TheoremAccuracy(7, 0.4, 0.1); math.Abs(got-s/7) > 1e-12 {
		t.Errorf("closed form %v, sum %v", got, s/7)
	}
}

// TestReadPoint: the same scheme read nearest the ingress or nearest the egress.
func TestReadPoint(t *testing.T) {
	in, err := mcps.NewInstance(mcps.Network{Switches: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]int32{{0, 1, 2, 3}, {1, 2}, {3}} {
		if _, err := in.AddFlow(p); err != nil {
			t.Fatal(err)
		}
	}
	sol := &mcps.Solution{
		PollAll:    []mcps.AllRequest{{Switch: 1}, {Switch: 2}},
		PollSingle: []mcps.SingleRequest{{Flow: 2, Switch: 3}},
	}
	if got := pollPositions(in, sol, mcps.ReadIngress); !slices.Equal(got, []int{1, 0, 0}) {
		t.Errorf("ingress %v", got)
	}
	if got := pollPositions(in, sol, mcps.ReadEgress); !slices.Equal(got, []int{2, 1, 0}) {
		t.Errorf("egress %v", got)
	}
}
