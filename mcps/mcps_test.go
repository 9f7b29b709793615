package mcps

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// randomInstance draws ns switches, nk controllers and nf flows whose paths are random
// sets of 1..maxLen distinct switches.
func randomInstance(t testing.TB, r *rand.Rand, ns, nk, nf, maxLen int, dep Deployment) *Instance {
	t.Helper()
	net := Network{Switches: ns, Deployment: dep}
	if dep == InBand || nk > 1 {
		for k := 0; k < nk; k++ {
			row := make([]int32, ns)
			for s := range row {
				row[s] = int32(1 + r.IntN(5))
			}
			net.Hops = append(net.Hops, row)
		}
	}
	in, err := NewInstance(net)
	if err != nil {
		t.Fatal(err)
	}
	for f := 0; f < nf; f++ {
		l := 1 + r.IntN(min(maxLen, ns))
		perm := r.Perm(ns)[:l]
		path := make([]int32, l)
		for i, s := range perm {
			path[i] = int32(s)
		}
		if _, err := in.AddFlow(path); err != nil {
			t.Fatal(err)
		}
	}
	return in
}

// withCost returns a copy of in with another cost model.
func withCost(t testing.TB, in *Instance, c CostModel) *Instance {
	t.Helper()
	net := in.Network()
	net.Cost = c
	out, err := NewInstance(net)
	if err != nil {
		t.Fatal(err)
	}
	for f := 0; f < in.NumFlows(); f++ {
		if _, err := out.AddFlow(in.Path(f)); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// bruteForce is the paper's Algorithm 2 reduced to the poll-all decisions: try every
// set of poll-all switches, poll every other flow at its cheapest switch and controller.
// It computes the costs from the network directly, sharing no code with the solvers.
func bruteForce(in *Instance) int64 {
	net := in.Network()
	ns, nf := in.NumSwitches(), in.NumFlows()
	cost := net.Cost
	if cost == nil {
		cost = PaperCost
	}
	hop := func(s int) int64 {
		if net.Deployment != InBand {
			return 1
		}
		best := int32(1 << 30)
		for _, row := range net.Hops {
			best = min(best, row[s])
		}
		return int64(best)
	}
	load := make([]int, ns)
	for f := 0; f < nf; f++ {
		for _, s := range in.Path(f) {
			load[s]++
		}
	}
	best := int64(1 << 62)
	for mask := 0; mask < 1<<ns; mask++ {
		var c int64
		for s := 0; s < ns; s++ {
			if mask&(1<<s) != 0 {
				c += hop(s) * cost.PollAll(load[s])
			}
		}
		for f := 0; f < nf; f++ {
			one := int64(1 << 62)
			covered := false
			for _, s := range in.Path(f) {
				if mask&(1<<s) != 0 {
					covered = true
				}
				one = min(one, hop(int(s))*cost.PollSingle())
			}
			if !covered {
				c += one
			}
		}
		best = min(best, c)
	}
	return best
}

// TestPropertiesRandomSmall checks, on thousands of random small instances, the
// invariants of section 2: every scheme covers every flow and its cost recomputes
// exactly; mcps <= greedy; exact equals the enumeration optimum (Algorithm 2) and is <=
// every strategy; every lower bound is <= the optimum.
func TestPropertiesRandomSmall(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 7))
	cases := 2500
	if testing.Short() {
		cases = 300
	}
	for c := 0; c < cases; c++ {
		ns := 1 + r.IntN(9)
		nk := 1 + r.IntN(3)
		nf := r.IntN(40)
		dep := Deployment(r.IntN(2))
		in := randomInstance(t, r, ns, nk, nf, 1+r.IntN(5), dep)
		if c%3 == 2 {
			// The calibrated wire model: costs step with segments, not linear in entries.
			in = withCost(t, in, WireCost{MSS: 1448 / (1 + r.IntN(4))})
		}
		opt := bruteForce(in)
		if nf == 0 {
			opt = 0
		}
		costs := map[string]int64{}
		for _, st := range Strategies() {
			sol, err := Solve(in, st, Options{Rand: rand.New(rand.NewPCG(uint64(c), 1))})
			if err != nil {
				t.Fatalf("case %d %s: %v", c, st, err)
			}
			got, err := in.Evaluate(sol.PollAll, sol.PollSingle)
			if err != nil {
				t.Fatalf("case %d %s: %v", c, st, err)
			}
			if got != sol.Cost {
				t.Fatalf("case %d %s: reported cost %d, recomputed %d", c, st, sol.Cost, got)
			}
			if sol.LowerBound > opt {
				t.Fatalf("case %d %s: lower bound %d above optimum %d", c, st, sol.LowerBound, opt)
			}
			if sol.Optimal && sol.Cost != opt {
				t.Fatalf("case %d %s: claims optimal at %d, optimum %d", c, st, sol.Cost, opt)
			}
			costs[st] = sol.Cost
		}
		if st := StrategyPollAll; nf > 0 && costs[StrategyExact] != opt {
			t.Fatalf("case %d: exact %d, enumeration %d (%s %d)", c, costs[StrategyExact], opt, st, costs[st])
		}
		if costs[StrategyMCPS] > costs[StrategyGreedy] {
			t.Fatalf("case %d: mcps %d > greedy %d", c, costs[StrategyMCPS], costs[StrategyGreedy])
		}
		for st, v := range costs {
			if costs[StrategyExact] > v {
				t.Fatalf("case %d: exact %d > %s %d", c, costs[StrategyExact], st, v)
			}
		}
		if costs[StrategyGreedy] > costs[StrategyPerFlowMin] {
			t.Fatalf("case %d: greedy %d > per-flow-min %d", c, costs[StrategyGreedy], costs[StrategyPerFlowMin])
		}
	}
}

// TestExactBudget checks that past its node budget the exact solver still returns a
// valid scheme with a bound at or below the optimum.
func TestExactBudget(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for c := 0; c < 50; c++ {
		in := randomInstance(t, r, 10, 1, 200, 4, OutOfBand)
		opt := bruteForce(in)
		sol, err := Solve(in, StrategyExact, Options{NodeLimit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if sol.LowerBound > opt || sol.Cost < opt {
			t.Fatalf("case %d: bound %d cost %d optimum %d", c, sol.LowerBound, sol.Cost, opt)
		}
		if sol.Nodes > 1 {
			t.Fatalf("case %d: %d nodes with a budget of 1", c, sol.Nodes)
		}
	}
}

// TestPaperExample is the out-of-band example of section 3.1 (figure 2): three flows over
// a line of switches. Poll-all on the middle switch covers all three.
func TestPaperExample(t *testing.T) {
	in, err := NewInstance(Network{Switches: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]int32{{0, 1}, {1, 2}, {0, 1, 2}} {
		if _, err := in.AddFlow(p); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		strategy string
		want     int64
	}{
		{StrategyMCPS, 122 + 78 + 3*96},
		{StrategyGreedy, 122 + 78 + 3*96},
		{StrategyExact, 122 + 78 + 3*96},
		{StrategyPerFlowMin, 3 * 296},
		{StrategyPollAll, 3*200 + (2+3+2)*96},
	}
	for _, tt := range tests {
		t.Run(tt.strategy, func(t *testing.T) {
			sol, err := Solve(in, tt.strategy, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sol.Cost != tt.want {
				t.Fatalf("cost %d, want %d", sol.Cost, tt.want)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name string
		net  Network
		path []int32
		err  error
	}{
		{"no switches", Network{}, nil, ErrBadNetwork},
		{"in-band without hops", Network{Switches: 2, Deployment: InBand}, nil, ErrBadNetwork},
		{"short hops row", Network{Switches: 2, Hops: [][]int32{{1}}}, nil, ErrBadNetwork},
		{"zero hops", Network{Switches: 2, Hops: [][]int32{{1, 0}}}, nil, ErrBadNetwork},
		{"absurd hops", Network{Switches: 2, Hops: [][]int32{{1, 1 << 30}}}, nil, ErrBadNetwork},
		{"absurd switches", Network{Switches: MaxSwitches + 1}, nil, ErrBadNetwork},
		{"bad cost", Network{Switches: 2, Cost: LinearCost{Request: -500}}, nil, ErrBadNetwork},
		{"empty path", Network{Switches: 2}, []int32{}, ErrBadPath},
		{"out of range", Network{Switches: 2}, []int32{0, 2}, ErrBadPath},
		{"negative", Network{Switches: 2}, []int32{-1}, ErrBadPath},
		{"loop", Network{Switches: 3}, []int32{0, 1, 0}, ErrBadPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := NewInstance(tt.net)
			if err == nil {
				_, err = in.AddFlow(tt.path)
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("got %v, want %v", err, tt.err)
			}
		})
	}
	if _, err := NewSolver("fastest", Options{}); !errors.Is(err, ErrBadStrategy) {
		t.Fatalf("unknown strategy: %v", err)
	}
}

func TestEvaluateRejects(t *testing.T) {
	in, _ := NewInstance(Network{Switches: 3})
	in.AddFlow([]int32{0, 1})
	in.AddFlow([]int32{2})
	tests := []struct {
		name   string
		all    []AllRequest
		single []SingleRequest
	}{
		{"uncovered", []AllRequest{{Switch: 0}}, nil},
		{"off path", []AllRequest{{Switch: 0}}, []SingleRequest{{Flow: 1, Switch: 0}}},
		{"bad switch", []AllRequest{{Switch: 7}}, nil},
		{"bad flow", nil, []SingleRequest{{Flow: 9}}},
		{"bad controller", []AllRequest{{Switch: 0, Controller: 1}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := in.Evaluate(tt.all, tt.single); !errors.Is(err, ErrBadSolution) {
				t.Fatalf("got %v", err)
			}
		})
	}
}
