package sim

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/topology"
)

// TestAbilene solves the paper's prototype topology (section 5.1: Abilene, 11 switches):
// exact proves its optimum, mcps reaches it and certifies it, and both beat the
// per-flow and poll-all baselines, out-of-band and in-band.
func TestAbilene(t *testing.T) {
	data, err := os.ReadFile("testdata/Abilene.gml")
	if err != nil {
		t.Fatal(err)
	}
	g, err := topology.ParseGML(data)
	if err != nil {
		t.Fatal(err)
	}
	if g.NumNodes() != 11 {
		t.Fatalf("Abilene has %d switches, want 11", g.NumNodes())
	}
	for _, dep := range []mcps.Deployment{mcps.OutOfBand, mcps.InBand} {
		gen, err := Generate(g, dep, 1, 2000, rand.New(rand.NewPCG(5, 5)))
		if err != nil {
			t.Fatal(err)
		}
		ex, err := mcps.Solve(gen.Instance, mcps.StrategyExact, mcps.Options{})
		if err != nil {
			t.Fatal(err)
		}
		m, err := mcps.Solve(gen.Instance, mcps.StrategyMCPS, mcps.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !ex.Optimal || m.Cost != ex.Cost || !m.Optimal {
			t.Errorf("%v: exact %d (proven %v), mcps %d (proven %v, bound %d)", dep, ex.Cost, ex.Optimal, m.Cost, m.Optimal, m.LowerBound)
		}
		for _, b := range mcps.Baselines() {
			s, _ := mcps.Solve(gen.Instance, b, mcps.Options{})
			if s.Cost <= m.Cost {
				t.Errorf("%v: baseline %s %d not above mcps %d", dep, b, s.Cost, m.Cost)
			}
		}
	}
}
