package sim

import (
	"testing"

	"github.com/cemon-sdn/cemon/mcps"
)

// FuzzSpec feeds arbitrary bytes to the instance-file reader: it must reject bad input
// with an error, never panic, and whatever it accepts must solve to a valid scheme.
func FuzzSpec(f *testing.F) {
	f.Add([]byte(`{"flows":[{"id":"f1","path":["a","b"]}]}`))
	f.Add([]byte(`{"deployment":"in-band","controllers":[{"id":"c1","hops":{"a":1,"b":2}}],"flows":[{"id":"f1","path":["a","b"]},{"id":"f2","path":["b"]}]}`))
	f.Add([]byte(`{"deployment":"in-band","controllers":[{"id":"c1","hops":{"a":-1}}],"flows":[]}`))
	f.Add([]byte(`{"flows":[{"id":"f1","path":["a","a"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data)
		if err != nil {
			return
		}
		if len(s.Flows) > 2000 {
			return // keep each input cheap
		}
		nm, err := s.Build()
		if err != nil {
			return
		}
		for _, st := range []string{mcps.StrategyMCPS, mcps.StrategyExact} {
			sol, err := mcps.Solve(nm.Instance, st, mcps.Options{NodeLimit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if c, err := nm.Instance.Evaluate(sol.PollAll, sol.PollSingle); err != nil || c != sol.Cost {
				t.Fatalf("%s: cost %d, recomputed %d, %v", st, sol.Cost, c, err)
			}
		}
	})
}
