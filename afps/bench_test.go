package afps

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/mcps"
)

// BenchmarkPoller: n watched flows on 100 switches, each with its own sampler; one
// iteration is one due flow taken from the queue, planned (batching on) and read back.
// Reports ns per due flow and the poller's heap bytes per watched flow.
func BenchmarkPoller(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		for _, k := range []Kind{Fixed, SWT} {
			for _, batch := range []bool{false, true} {
				b.Run(fmt.Sprintf("flows=%d/%v/batch=%v", n, k, batch), func(b *testing.B) {
					benchPoller(b, n, k, batch)
				})
			}
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func benchPoller(b *testing.B, n int, k Kind, batch bool) {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	before := heapInUse()
	p, err := NewPoller(PollerConfig{Sampler: Config{Kind: k}, Batch: batch, Network: mcps.Network{Switches: 100}})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		// Starts spread over 5 s so that due times spread too.
		start := t0.Add(time.Duration(r.Int64N(int64(5 * time.Second))))
		if err := p.Watch(uint64(i), []int32{int32(r.IntN(100)), int32(r.IntN(100))}, start); err != nil {
			b.Fatal(err)
		}
	}
	perFlow := float64(heapInUse()-before) / float64(n)
	bytes := make([]uint64, n)
	now := t0
	tick := time.Millisecond
	done := 0
	b.ReportAllocs()
	b.ResetTimer()
	for done < b.N {
		now = now.Add(tick)
		plan := p.Due(now, nil)
		for _, q := range plan.Polls {
			for _, id := range q.Due {
				bytes[id] += uint64(r.IntN(1 << 20))
				p.OnReading(id, bytes[id], now)
			}
		}
		done += plan.Due
	}
	b.StopTimer()
	b.ReportMetric(perFlow, "B/flow")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/due-flow")
}
