package poll

import (
	"fmt"
	"math/rand/v2"
	"testing"
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
