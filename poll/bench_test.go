package poll

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/stats"
)

// BenchmarkDue measures one round's Due on a large flow set (flows of 1 to 4 hops
// over 64 switches), for mcps (mostly poll-alls) and per-flow-min (one poll-single
// per flow), after the scheme is built: the cost of turning the live scheme into
// requests.
func BenchmarkDue(b *testing.B) {
	for _, s := range []Strategy{MCPS, PerFlowMin} {
		for _, n := range []int{100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/flows=%d", s, n), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				p, err := NewPlanned(PlannedConfig{Strategy: s, MaxInterval: -1, CostRatio: -1, Theta: 1e-9})
				if err != nil {
					b.Fatal(err)
				}
				const ns = 64
				p.SetSwitches(t0, switches(ns))
				for i := 0; i < n; i++ {
					p.OnArrive(t0, Flow{ID: uint64(i + 1), DPIDs: randomPath(r, ns)})
				}
				if err := Settle(p, t0); err != nil {
					b.Fatal(err)
				}
				dst := p.Due(t0, nil)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					dst = p.Due(t0, dst[:0])
				}
				b.ReportMetric(float64(len(dst)), "requests")
			})
		}
	}
}

// BenchmarkIngest measures matching a round's replies to flows: 100,000 flows read
// from 64 switches (poll-alls listing each flow at one to three switches), with the
// table kept between rounds (Ingester) and without (Ingest).
func BenchmarkIngest(b *testing.B) {
	const flows, ns = 100_000, 64
	var replies []Reply
	hopOf := map[[2]uint64]int{}
	for s := uint64(1); s <= ns; s++ {
		var es []ofproto.FlowStats
		for f := s; f <= flows; f += ns / 2 {
			es = append(es, ofproto.FlowStats{Cookie: f, ByteCount: f, PacketCount: 1})
			hopOf[[2]uint64{s, f}] = int(s % 3)
		}
		for len(es) > 0 {
			k := min(len(es), 680)
			replies = append(replies, Reply{DPID: s, Source: stats.SourcePollAll, At: t0,
				Msgs: []ofproto.Message{&ofproto.StatsReply{Body: &ofproto.FlowStatsReply{Entries: es[:k]}}}})
			es = es[k:]
		}
	}
	resolve := func(dpid uint64, e *ofproto.FlowStats) (uint64, int, bool) { return e.Cookie, int(dpid % 3), true }
	b.Run("ingester", func(b *testing.B) {
		var g Ingester
		var dst []stats.Reading
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			dst, _ = g.Ingest(dst[:0], replies, resolve)
		}
		if len(dst) != flows {
			b.Fatalf("%d readings, want %d", len(dst), flows)
		}
	})
	b.Run("ingest", func(b *testing.B) {
		var dst []stats.Reading
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			dst, _ = Ingest(dst[:0], replies, resolve)
		}
	})
}
