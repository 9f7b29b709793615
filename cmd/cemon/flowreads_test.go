package main

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFlowReads checks the count of flows listed between checks, with cookies dense
// enough for the slice and spread for the map, walked and (dense) counted as listed,
// against a count by hand: a flow is read when the listings of any of its entries
// grew; entries of cookies not present at the start are ignored.
func TestFlowReads(t *testing.T) {
	for _, tc := range []struct {
		name         string
		step         uint64
		dense, hooks bool
	}{{"dense", 1, true, false}, {"gaps", 3, true, false}, {"spread", 1 << 20, false, false},
		{"dense-hooked", 1, true, true}, {"spread-hooked", 1 << 20, false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, tc.step))
			const flows, perFlow = 500, 3
			cookies := map[uint64]struct{}{}
			ck := make([]uint64, flows)
			for i := range ck {
				ck[i] = 7<<48 | uint64(i+1)*tc.step
				cookies[ck[i]] = struct{}{}
			}
			later := 7<<48 | uint64(flows+5)*tc.step // the cookie of an entry installed later
			counts := make([]uint32, flows*perFlow)  // entry e belongs to flow e/perFlow
			walk := func(fn func(uint64, uint32)) {
				for e, k := range counts {
					fn(ck[e/perFlow], k)
				}
				fn(later, uint32(rng.IntN(9)))
			}
			r := newFlowReads(cookies)
			assert.Equal(t, tc.dense, r.dense)
			hooked := tc.hooks && r.hook()
			assert.Equal(t, tc.hooks && tc.dense, hooked)
			assert.Equal(t, 0, r.check(walk))
			for range 20 {
				read := map[int]bool{}
				for range rng.IntN(2 * flows) {
					e := rng.IntN(len(counts))
					counts[e]++
					read[e/perFlow] = true
					if hooked {
						r.list(ck[e/perFlow])
						r.list(later)
					}
				}
				assert.Equal(t, len(read), r.check(walk))
			}
			assert.Equal(t, flows, r.flows)
		})
	}
}

// BenchmarkFlowReads is the harness's count of the flows listed in a round at a
// million flows of five entries each: summed into the slice of flowReads, counted as
// listed (hooked: the listings of half the entries included), and summed into maps
// as the harness did before (a sum per cookie, then a lookup per flow). The walk over
// the emulated switches' tables that the slice and the maps need is left out.
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
	b.Run("hooked", func(b *testing.B) {
		r := newFlowReads(cookies)
		r.hook()
		r.check(list)
		b.ResetTimer()
		for range b.N {
			for e := range counts {
				if e&1 == 1 {
					r.list(ck[e])
				}
			}
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
