package collector

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/stats"
)

// BenchmarkRound measures one polling round under mcps on a line of 16 switches: the
// planner's requests, the fake switches' replies, cookie mapping and the Store's
// updates (the fake's reply building included). Flows span 1 to 4 switches.
func BenchmarkRound(b *testing.B) {
	for _, n := range []int{100, 1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint("flows=", n), func(b *testing.B) {
			tr, _ := flowtracker.New(flowtracker.Config{})
			st, _ := stats.New(stats.Config{History: 8})
			net := newFakeNet()
			now := t0
			c, err := New(Config{}, Deps{Requester: net, Tracker: tr, Store: st, EventBuffer: 2 * n,
				Switches: func() []uint64 {
					out := make([]uint64, 16)
					for i := range out {
						out[i] = uint64(i + 1)
					}
					return out
				},
				Clock: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			for i := 0; i < n; i++ {
				a := uint64(1 + i%16)
				hops := []flowtracker.Hop{}
				for d := a; d < a+uint64(1+i%4) && d <= 16; d++ {
					hops = append(hops, flowtracker.Hop{DPID: d, InPort: 1, OutPort: 2})
				}
				k := key(i)
				k.TPDst = uint16(i)
				k.NWProto = uint8(i >> 16)
				h, _, err := tr.Add(k, hops, now)
				if err != nil {
					b.Fatal(err)
				}
				for _, hp := range hops {
					net.install(hp.DPID, flowkey.ToMatch(k, ofproto.PortNo(hp.InPort)), h.Cookie)
				}
			}
			c.Drain()
			c.Round(context.Background())
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				now = now.Add(time.Second)
				if res := c.Round(context.Background()); res.Readings != n {
					b.Fatalf("round read %d flows, want %d", res.Readings, n)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
