package stats_test

import (
	"fmt"
	"time"

	"github.com/cemon-sdn/cemon/stats"
)

// A placement or migration planner reads the statistics through
// stats.Reader; the collector is what feeds the Store.
func ExampleReader() {
	store, err := stats.New(stats.Config{LinkCapacityBps: 1e9})
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	path := []stats.Hop{{DPID: 1, InPort: 1, OutPort: 2}, {DPID: 2, InPort: 3, OutPort: 1}}
	_ = store.AddFlow(stats.FlowInfo{ID: 1, Src: "10.0.0.1", Dst: "10.0.0.2", Path: path, Start: t0})
	// Two polls of the ingress entry, one second apart by the switch's clock.
	_ = store.Observe(stats.Reading{Flow: 1, DPID: 1, Bytes: 25_000_000, Duration: 2 * time.Second, At: t0.Add(2 * time.Second), Source: stats.SourcePollAll})
	_ = store.Observe(stats.Reading{Flow: 1, DPID: 1, Bytes: 37_500_000, Duration: 3 * time.Second, At: t0.Add(3 * time.Second), Source: stats.SourcePollAll})

	var r stats.Reader = store
	rate, _ := r.FlowRate(1)
	fmt.Printf("flow 1: %.0f Mbit/s\n", rate/1e6)
	for _, ll := range r.LinkLoads() {
		fmt.Printf("link %v: %.0f Mbit/s, utilization %.2f\n", ll.Link, ll.RateBps/1e6, ll.Utilization)
	}
	for _, m := range r.Matrix() {
		fmt.Printf("%s -> %s: %.0f Mbit/s, %d bytes\n", m.Src, m.Dst, m.RateBps/1e6, m.Bytes)
	}
	free := stats.FreeBps(r, stats.LinksOf(path), 1e9)
	fmt.Printf("free on the path: %.0f Mbit/s\n", free/1e6)
	// Output:
	// flow 1: 100 Mbit/s
	// link 0000000000000001:2->0000000000000002:3: 100 Mbit/s, utilization 0.10
	// 10.0.0.1 -> 10.0.0.2: 100 Mbit/s, 37500000 bytes
	// free on the path: 900 Mbit/s
}
