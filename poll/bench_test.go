package poll

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

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
			b.Run(fmt.Sprintf("%s/flows=%d", s, n), func(b *testing.B) { benchDue(b, s, n, 0) })
		}
		// With 8 of the 64 switches slow: the poll-singles placed there move.
		b.Run(fmt.Sprintf("%s/flows=%d/slow=8", s, 100_000), func(b *testing.B) { benchDue(b, s, 100_000, 8) })
	}
}

func benchDue(b *testing.B, s Strategy, n, slow int) {
	r := rand.New(rand.NewPCG(1, 2))
	p, err := NewPlanned(PlannedConfig{Strategy: s, MaxInterval: -1, CostRatio: -1, Theta: 1e-9})
	if err != nil {
		b.Fatal(err)
	}
	const ns = 64
	sw := switches(ns)
	for i := range slow {
		sw[i*ns/slow].Slow = true
	}
	p.SetSwitches(t0, sw)
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
	// As a round takes them: one Add per switch, as its batch comes back.
	var bySwitch [][]Reply
	for i := 0; i < len(replies); {
		j := i
		for j < len(replies) && replies[j].DPID == replies[i].DPID {
			j++
		}
		bySwitch = append(bySwitch, replies[i:j])
		i = j
	}
	b.Run("by-switch", func(b *testing.B) {
		var g Ingester
		var dst []stats.Reading
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			g.Begin(dst[:0])
			for _, rs := range bySwitch {
				g.Add(rs, resolve)
			}
			dst = g.End()
		}
		if len(dst) != flows {
			b.Fatalf("%d readings, want %d", len(dst), flows)
		}
	})
}

// BenchmarkArriveExpire measures DAPR's patches on a live MCPS scheme of n flows
// (1 to 4 hops over 64 switches): each op one flow's expiry and a new flow's arrival.
// heap-B/flow is the live heap of the Planned (its flows, their paths and the
// planner) per flow, measured once after the scheme is built.
func BenchmarkArriveExpire(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, 4))
			before := heapInUse()
			p, err := NewPlanned(PlannedConfig{Strategy: MCPS, MaxInterval: -1, CostRatio: -1, Theta: 1e-9})
			if err != nil {
				b.Fatal(err)
			}
			const ns = 64
			p.SetSwitches(t0, switches(ns))
			paths := make([][]uint64, 4096)
			for i := range paths {
				paths[i] = randomPath(r, ns)
			}
			for i := 0; i < n; i++ {
				p.OnArrive(t0, Flow{ID: uint64(i + 1), DPIDs: randomPath(r, ns)})
			}
			if err := Settle(p, t0); err != nil {
				b.Fatal(err)
			}
			heap := float64(heapInUse()-before) / float64(n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p.OnExpire(t0, uint64(i+1))
				p.OnArrive(t0, Flow{ID: uint64(n + i + 1), DPIDs: paths[i%len(paths)]})
			}
			b.ReportMetric(heap, "heap-B/flow")
			runtime.KeepAlive(p)
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkSnapshot measures the snapshot a rebuild or a lower bound takes of the
// flow set under the executor's lock (Planned.Work; the solve itself runs outside
// it): n flows of 1 to 5 hops over 1,000 switches, a built MCPS scheme.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		r := rand.New(rand.NewPCG(5, 6))
		p, err := NewPlanned(PlannedConfig{Strategy: MCPS, MaxInterval: -1, CostRatio: -1, Theta: 1e-9, Offloaded: true})
		if err != nil {
			b.Fatal(err)
		}
		const ns = 1000
		p.SetSwitches(t0, switches(ns))
		for i := 0; i < n; i++ {
			l := 1 + r.IntN(5)
			path := make([]uint64, l)
			for k, s := range r.Perm(ns)[:l] {
				path[k] = uint64(s + 1)
			}
			p.OnArrive(t0, Flow{ID: uint64(i + 1), DPIDs: path})
		}
		if err := Settle(p, t0); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rebuild/flows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				p.replan = "bench"
				if _, ok := p.Work(t0).(*RebuildWork); !ok {
					b.Fatal("no rebuild")
				}
				p.out, p.log = nil, p.log[:0]
			}
		})
		// The rebuild's own work, outside the lock: a planner made from the
		// snapshot and solved (twice when slow switches come last in its order).
		b.Run(fmt.Sprintf("rebuild-solve/flows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				p.replan = "bench"
				w, ok := p.Work(t0).(*RebuildWork)
				if !ok {
					b.Fatal("no rebuild")
				}
				w.Run()
				if w.err != nil || !w.built {
					b.Fatalf("rebuild: built %v, %v", w.built, w.err)
				}
				p.out, p.log = nil, p.log[:0]
			}
		})
		b.Run(fmt.Sprintf("bound/flows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				p.boundVersion, p.boundAt = p.version+1, time.Time{}
				if _, ok := p.Work(t0).(*BoundWork); !ok {
					b.Fatal("no bound")
				}
				p.out = nil
			}
		})
	}
}
