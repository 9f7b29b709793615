package collector

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/mcps"
)

// TestRatesSteadyAcrossRebuilds: flows of a steady 1 Mbit/s stay at 1 Mbit/s in the
// store round after round while flows come and go and the scheme is rebuilt often
// (ARI with a high θ), whatever switch of its path a flow is read at after each
// rebuild, for every strategy.
func TestRatesSteadyAcrossRebuilds(t *testing.T) {
	for _, s := range []Strategy{StrategyMCPS, StrategyPerFlowRandom, StrategyPerFlowMin, StrategyPollAll} {
		t.Run(s.String(), func(t *testing.T) {
			// The Jaccard form: this churn is mostly arrivals, which |F0∩Ft| / |F0| ignores.
			e := newEnv(t, Config{Strategy: s, Theta: 0.95, Variance: mcps.VarianceJaccard})
			r := rand.New(rand.NewPCG(5, uint64(s)))
			type live struct {
				h    flowtracker.Handle
				born int
			}
			var active []live
			next := 0
			for step := 0; step < 40; step++ {
				e.now = e.now.Add(time.Second)
				for k := r.IntN(3); k > 0; k-- {
					a := uint64(1 + r.IntN(4))
					b := a + uint64(r.IntN(int(5-a)))
					active = append(active, live{e.addFlow(t, next, a, b), step})
					next++
				}
				if len(active) > 4 && r.IntN(2) == 0 {
					i := r.IntN(len(active))
					e.tr.Remove(active[i].h.ID, e.now)
					e.net.remove(active[i].h.Cookie)
					active = append(active[:i], active[i+1:]...)
				}
				for _, f := range active {
					if f.born < step {
						e.net.count(f.h.Cookie, 125_000, 100, 1)
					}
				}
				e.c.Drain()
				res := e.c.Round(context.Background())
				if res.Readings != len(active) {
					t.Fatalf("step %d: %d readings for %d flows", step, res.Readings, len(active))
				}
				for _, f := range active {
					if step-f.born < 2 {
						continue
					}
					fs, ok := e.store.Flow(f.h.ID)
					if !ok {
						t.Fatalf("step %d: flow %d unknown", step, f.h.ID)
					}
					if math.Abs(fs.RateBps-1e6) > 1e4 {
						t.Fatalf("step %d: flow %d (%d readings, last from %016x): %v bit/s, want 1e6; rebuilds %d",
							step, f.h.ID, fs.Readings, fs.DPID, fs.RateBps, e.c.Scheme().Rebuilds)
					}
				}
			}
			if n := e.c.Scheme().Rebuilds; n < 5 {
				t.Errorf("only %d rebuilds", n)
			}
		})
	}
}
