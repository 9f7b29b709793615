package main

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFlowReads checks the count of flows listed between checks, with cookies dense
// enough for the slice and spread for the map, against a count by hand: a flow is
// read when the replies listing any of its entries grew; entries of cookies not
// present at the start are ignored.
func TestFlowReads(t *testing.T) {
	for _, tc := range []struct {
		name  string
		step  uint64
		dense bool
	}{{"dense", 1, true}, {"gaps", 3, true}, {"spread", 1 << 20, false}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, tc.step))
			const flows, perFlow = 500, 3
			cookies := map[uint64]struct{}{}
			ck := make([]uint64, flows)
			for i := range ck {
				ck[i] = 7<<48 | uint64(i+1)*tc.step
				cookies[ck[i]] = struct{}{}
			}
			counts := make([]uint32, flows*perFlow) // entry e belongs to flow e/perFlow
			list := func(fn func(uint64, uint32)) {
				for e, k := range counts {
					fn(ck[e/perFlow], k)
				}
				fn(7<<48|uint64(flows+5)*tc.step, uint32(rng.IntN(9))) // an entry installed later
			}
			r := newFlowReads(cookies)
			assert.Equal(t, tc.dense, r.dense)
			assert.Equal(t, 0, r.check(list))
			for range 20 {
				read := map[int]bool{}
				for range rng.IntN(2 * flows) {
					e := rng.IntN(len(counts))
					counts[e]++
					read[e/perFlow] = true
				}
				assert.Equal(t, len(read), r.check(list))
			}
			assert.Equal(t, flows, r.flows)
		})
	}
}

// BenchmarkFlowReads is the harness's count of the flows listed in a round at a
// million flows of five entries each, as the slice of flowReads and as the map the
// harness used before (a sum per cookie, then a lookup per flow); the walk over the
// emulated switches' tables, the same for both, is left out.
func BenchmarkFlowReads(b *testing.B) {
	const flows, perFlow = 1_000_000, 5
	cookies := make(map[uint64]struct{}, flows)
	ck := make([]uint64, flows*perFlow)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range ck {
		ck[i] = 1<<48 | uint64(rng.IntN(flows)+1)
		cookies[ck[i]] = struct{}{}
	}
	counts := make([]uint32, len(ck))
	list := func(fn func(uint64, uint32)) {
		for e, k := range counts {
			fn(ck[e], k)
		}
	}
	bump := func() {
		for e := range counts {
			counts[e] += uint32(e & 1)
		}
	}
	b.Run("slice", func(b *testing.B) {
		r := newFlowReads(cookies)
		r.check(list)
		b.ResetTimer()
		for range b.N {
			bump()
			r.check(list)
		}
	})
	b.Run("map", func(b *testing.B) {
		sums := map[uint64]uint64{}
		list(func(ck uint64, k uint32) { sums[ck] += uint64(k) })
		now := make(map[uint64]uint64, len(sums))
		b.ResetTimer()
		for range b.N {
			bump()
			clear(now)
			list(func(ck uint64, k uint32) { now[ck] += uint64(k) })
			read := 0
			for ck := range cookies {
				if now[ck] > sums[ck] {
					read++
				}
			}
			sums, now = now, sums
		}
	})
}
