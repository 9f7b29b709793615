package mcps_test

import (
	"fmt"

	"github.com/cemon-sdn/cemon/mcps"
)

func Example() {
	in, _ := mcps.NewInstance(mcps.Network{Switches: 3})
	in.AddFlow([]int32{0, 1})
	in.AddFlow([]int32{1, 2})
	sol, _ := mcps.Solve(in, mcps.StrategyMCPS, mcps.Options{})
	fmt.Println(sol.Cost, sol.LowerBound, sol.PollAll)
	// Output: 392 392 [{1 0}]
}
