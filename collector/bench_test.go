package collector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/poll"
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

// BenchmarkIngestScattered matches a round of poll-all replies over a million
// flows, whose records lie scattered in memory, against the collector's flows (its
// resolve, warmed a level a pass, or all levels in one pass as before): an op is one
// reply entry.
func BenchmarkIngestScattered(b *testing.B) {
	const n = 1_000_000
	rng := rand.New(rand.NewPCG(5, 6))
	c := &Collector{idOf: plainIDs{}}
	paths := make([][]flowtracker.Hop, n)
	for i := range paths {
		paths[i] = []flowtracker.Hop{{DPID: uint64(1 + rng.IntN(1000))}, {DPID: uint64(1 + rng.IntN(1000))}, {DPID: uint64(1 + rng.IntN(1000))}}
	}
	for _, i := range rng.Perm(n) {
		c.flows.Put(uint64(i+1), &flowRec{hop: &paths[i][0], n: 3})
	}
	var replies []poll.Reply
	order := rng.Perm(n)
	for k := 0; k < n; k += 4096 {
		es := make([]ofproto.FlowStats, 0, 4096)
		for _, i := range order[k:min(k+4096, n)] {
			es = append(es, ofproto.FlowStats{Cookie: uint64(i + 1), ByteCount: 1})
		}
		replies = append(replies, poll.Reply{DPID: paths[order[k]][0].DPID, At: t0,
			Msgs: []ofproto.Message{&ofproto.StatsReply{Body: &ofproto.FlowStatsReply{Entries: es}}}})
	}
	entries := n
	for _, passes := range []int{1, warmPasses} {
		b.Run(fmt.Sprint("passes=", passes), func(b *testing.B) {
			g := poll.Ingester{WarmPasses: passes, Warm: c.warm}
			if passes == 1 {
				g.Warm = func(_ int, dpid uint64, e *ofproto.FlowStats) {
					for p := range warmPasses {
						c.warm(p, dpid, e)
					}
				}
			}
			dst := make([]stats.Reading, 0, n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dst, _ = g.Ingest(dst[:0], replies, c.resolve)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*entries), "ns/entry")
		})
	}
}

// plainIDs reads a cookie as the flow's ID.
type plainIDs struct{}

func (plainIDs) IDOf(cookie uint64) (uint64, bool) { return cookie, cookie != 0 }
