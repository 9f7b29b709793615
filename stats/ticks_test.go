package stats

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTickSeriesAgainstSeries takes samples at irregular ticks into series of random
// limits created at random ticks, cutting them to a random window after each tick,
// and checks every tickSeries against a series (which keeps its own times) fed the
// same samples.
func TestTickSeriesAgainstSeries(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for round := 0; round < 100; round++ {
		limits := []int{1 + rng.IntN(10), 1 + rng.IntN(10), 1 + rng.IntN(3)}
		window := time.Duration(1+rng.IntN(12)) * time.Second
		ring := newTickRing(max(limits[0], limits[1], limits[2]))
		type pair struct {
			ts    tickSeries
			ref   series
			limit int
		}
		var all []*pair
		now := 0.0
		for tick := 0; tick < 60; tick++ {
			if rng.IntN(3) == 0 { // a new series, from this tick on
				l := limits[rng.IntN(len(limits))]
				all = append(all, &pair{limit: l})
			}
			now += 0.25 + rng.Float64()*2
			at := at(now)
			ring.push(at.UnixNano())
			k := ring.since(at.Add(-window).UnixNano())
			for i, p := range all {
				v := tickSample{bytes: uint64(tick*100 + i), rate: float64(tick) / 3}
				p.ts.push(v, p.limit)
				p.ts.keep(k)
				p.ref.push(Sample{At: at, Bytes: v.bytes, RateBps: v.rate}, p.limit)
				p.ref.dropBefore(at.Add(-window))
				require.Equal(t, p.ref.slice(), p.ts.slice(&ring), "round %d tick %d series %d (limit %d, window %v)", round, tick, i, p.limit, window)
				require.LessOrEqual(t, len(p.ts.get()), p.limit)
			}
		}
	}
}
