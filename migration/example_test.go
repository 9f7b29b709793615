package migration_test

import (
	"fmt"

	"github.com/cemon-sdn/cemon/migration"
	"github.com/cemon-sdn/cemon/placement"
)

// An 800 MB VM dirtying 40 MB/s, sent at 100 MB/s under Xen's stop rule.
func ExamplePredict() {
	for _, kind := range []migration.Kind{migration.Base, migration.WWS} {
		r, err := migration.Predict(migration.Input{MemMB: 800, DirtyMBs: 40, RateMBs: 100},
			migration.Config{Kind: kind, Profile: migration.Xen()})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %d rounds, %.2f s, downtime %.3f s, %.0f MB, %.0f J\n",
			r.Model, r.Rounds, r.TotalTimeS, r.DowntimeS, r.TrafficMB, r.EnergyJ)
	}
	// Output:
	// base: 10 rounds, 13.33 s, downtime 0.021 s, 1333 MB, 703 J
	// wws: 7 rounds, 12.60 s, downtime 0.022 s, 1260 MB, 665 J
}

// Server a's NIC carries 900 Mbit/s of its two VMs' traffic; the plan moves
// the cheaper VM to b, at no more than what a's NIC has left.
func ExampleMakePlan() {
	srv := func(id string) placement.Server {
		return placement.Server{ID: id, DPID: "1", Port: 1, CPUCores: 8, RAMMB: 32000, NICBps: 1e9}
	}
	inv := placement.Inventory{
		Servers: []placement.Server{srv("a"), srv("b")},
		VMs: []placement.VM{
			{ID: "db", Server: "a", VCPUs: 2, RAMMB: 4000, CPUUtil: 0.3, DirtyRateMBs: 30},
			{ID: "web", Server: "a", VCPUs: 2, RAMMB: 800, CPUUtil: 0.3, DirtyRateMBs: 5},
		},
		External: []placement.External{{VM: "db", Bps: 4.5e8}, {VM: "web", Bps: 4.5e8}},
	}
	plan, err := migration.MakePlan(migration.PlanInput{Inventory: inv}, migration.PlanConfig{})
	if err != nil {
		panic(err)
	}
	for _, h := range plan.Hotspots {
		fmt.Printf("hotspot %s %s %.2f > %.2f\n", h.Server, h.Resource, h.Load, h.Threshold)
	}
	for _, m := range plan.Moves {
		fmt.Printf("move %s %s->%s at %.0f s, R %.1f MB/s (free %.1f)\n", m.VM, m.From, m.To, m.StartS, m.RateMBs, m.FreeMBs)
	}
	// Output:
	// hotspot a nic 0.90 > 0.80
	// move web a->b at 0 s, R 12.5 MB/s (free 12.5)
}
