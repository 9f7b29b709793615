package stats_test

import (
	"fmt"
	"net/netip"
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
	h1 := stats.HostID{MAC: [6]byte{5: 1}, IP: netip.MustParseAddr("10.0.0.1")}
	h2 := stats.HostID{MAC: [6]byte{5: 2}, IP: netip.MustParseAddr("10.0.0.2")}
	_ = store.AddFlow(stats.FlowInfo{ID: 1, Src: h1, Dst: h2, Path: path, Start: t0})
	// Two polls of the ingress entry, one second apart by the switch's clock.
	_, _ = store.Observe(stats.Reading{Flow: 1, DPID: 1, Bytes: 25_000_000, Duration: 2 * time.Second, At: t0.Add(2 * time.Second), Source: stats.SourcePollAll})
	smp, _ := store.Observe(stats.Reading{Flow: 1, DPID: 1, Bytes: 37_500_000, Duration: 3 * time.Second, At: t0.Add(3 * time.Second), Source: stats.SourcePollAll})
	fmt.Printf("reading: %.0f Mbit/s over %v, counts until %v\n", smp.RateBps/1e6, smp.Span, smp.ValidUntil.Sub(t0))

	var r stats.Reader = store
	rate, _ := r.FlowRate(1)
	fmt.Printf("flow 1: %.0f Mbit/s\n", rate/1e6)
	snap := r.Snapshot() // one instant: every sum is made of the flows listed
	for _, ll := range snap.Links {
		fmt.Printf("link %v: %.0f Mbit/s, utilization %.2f of %.0f Mbit/s (%v)\n", ll.Link, ll.RateBps/1e6, ll.Utilization,
			ll.CapacityBps/1e6, ll.Capacity)
	}
	for _, m := range snap.Matrix {
		fmt.Printf("%s -> %s: %.0f Mbit/s, %d bytes\n", m.Src, m.Dst, m.RateBps/1e6, m.Bytes)
	}
	free := stats.FreeBps(r, stats.LinksOf(path), 1e9)
	fmt.Printf("free on the path: %.0f Mbit/s\n", free/1e6)
	// Three seconds later nothing was read: the flow's rate is stale and no
	// longer counts (three of its one-second intervals without a reading).
	store.Tick(t0.Add(6 * time.Second))
	ll, _ := r.LinkLoad(stats.LinksOf(path)[0])
	f, _ := r.Flow(1)
	fmt.Printf("at +%v: link %.0f Mbit/s, flow stale %v\n", ll.At.Sub(t0), ll.RateBps/1e6, f.Stale)
	// Output:
	// reading: 100 Mbit/s over 1s, counts until 6s
	// flow 1: 100 Mbit/s
	// link 0000000000000001:2->0000000000000002:3: 100 Mbit/s, utilization 0.10 of 1000 Mbit/s (config)
	// 10.0.0.1 -> 10.0.0.2: 100 Mbit/s, 37500000 bytes
	// free on the path: 900 Mbit/s
	// at +6s: link 0 Mbit/s, flow stale true
}
