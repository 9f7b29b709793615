package mcps_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/mcps/sim"
	"github.com/cemon-sdn/cemon/topology"
)

// benchInstance builds (once per size, outside any timer) an Erdős–Rényi graph of ns
// switches with mean degree 4 and nf flows between random switch pairs on shortest paths.
var benchCache sync.Map

func benchInstance(tb testing.TB, ns, nf int, dep mcps.Deployment) (*mcps.Instance, [][]int32) {
	key := fmt.Sprint(ns, nf, dep)
	type entry struct {
		in    *mcps.Instance
		paths [][]int32
	}
	if e, ok := benchCache.Load(key); ok {
		return e.(entry).in, e.(entry).paths
	}
	rng := rand.New(rand.NewPCG(uint64(ns), uint64(nf)))
	g := topology.ErdosRenyi(ns, 4/float64(ns-1), rng)
	rt := sim.NewRouter(g)
	ctrls, err := sim.PlaceControllers(g, 1)
	if err != nil {
		tb.Fatal(err)
	}
	net, err := sim.Network(rt, dep, ctrls)
	if err != nil {
		tb.Fatal(err)
	}
	pairs, err := sim.RandomPairs(rt, nf, rng)
	if err != nil {
		tb.Fatal(err)
	}
	in, err := sim.Instance(net, rt, pairs)
	if err != nil {
		tb.Fatal(err)
	}
	benchCache.Store(key, entry{in: in})
	return in, nil
}

// BenchmarkSolve measures a full solve, F_s construction and lower bound included, at
// 10k, 100k and 1M flows on 100- and 1,000-switch graphs.
func BenchmarkSolve(b *testing.B) {
	for _, strategy := range []string{mcps.StrategyMCPS, mcps.StrategyGreedy} {
		for _, ns := range []int{100, 1000} {
			for _, nf := range []int{10_000, 100_000, 1_000_000} {
				b.Run(fmt.Sprintf("%s/switches=%d/flows=%d", strategy, ns, nf), func(b *testing.B) {
					in, _ := benchInstance(b, ns, nf, mcps.OutOfBand)
					b.ReportAllocs()
					b.ResetTimer()
					var sol *mcps.Solution
					for i := 0; i < b.N; i++ {
						var err error
						sol, err = mcps.Solve(in, strategy, mcps.Options{})
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(100*sol.Gap(), "gap%")
				})
			}
		}
	}
}

// BenchmarkSolveInBand is the in-band variant at 100k flows.
func BenchmarkSolveInBand(b *testing.B) {
	for _, ns := range []int{100, 1000} {
		b.Run(fmt.Sprintf("switches=%d/flows=100000", ns), func(b *testing.B) {
			in, _ := benchInstance(b, ns, 100_000, mcps.InBand)
			b.ReportAllocs()
			b.ResetTimer()
			var sol *mcps.Solution
			for i := 0; i < b.N; i++ {
				sol, _ = mcps.Solve(in, mcps.StrategyMCPS, mcps.Options{})
			}
			b.ReportMetric(100*sol.Gap(), "gap%")
		})
	}
}

// BenchmarkPatch measures one DAPR event (an expiry plus an arrival, reported per
// event) on a planner holding about n flows after a rebuild.
func BenchmarkPatch(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("switches=1000/flows=%d", n), func(b *testing.B) {
			in, _ := benchInstance(b, 1000, n, mcps.OutOfBand)
			pl, err := mcps.NewPlanner(mcps.PlannerConfig{Network: in.Network()})
			if err != nil {
				b.Fatal(err)
			}
			for f := 0; f < n; f++ {
				if err := pl.AddFlow(uint64(f), in.Path(f)); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := pl.Rebuild(time.Time{}, mcps.ReasonNone); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Expire the oldest flow and let a new one arrive on the same path, as a
				// steady trace does; every flow keeps its path in the arena.
				f := i % n
				old := uint64(f) + uint64(i/n)*uint64(n)
				if err := pl.RemoveFlow(old); err != nil {
					b.Fatal(err)
				}
				if err := pl.AddFlow(old+uint64(n), in.Path(f)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/event")
		})
	}
}

// BenchmarkExact proves the optimum on the referee's sizes (10 to 30 switches, 5,000
// flows, out-of-band, mean degree 3 as in cbc_test.go).
func BenchmarkExact(b *testing.B) {
	for _, ns := range []int{10, 20, 30} {
		b.Run(fmt.Sprintf("switches=%d/flows=5000", ns), func(b *testing.B) {
			in := refereeCase{ns, 5000, 1, mcps.OutOfBand, 1}.build(b)
			b.ReportAllocs()
			b.ResetTimer()
			var sol *mcps.Solution
			for i := 0; i < b.N; i++ {
				sol, _ = mcps.Solve(in, mcps.StrategyExact, mcps.Options{NodeLimit: 5_000_000})
			}
			if !sol.Optimal {
				b.Fatalf("not proven optimal: %d > %d", sol.Cost, sol.LowerBound)
			}
			b.ReportMetric(float64(sol.Nodes), "nodes")
		})
	}
}
