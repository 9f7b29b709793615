package idmap

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// keys draws keys the way flow IDs come: dense runs (a tracker's), random, a few
// clustered high ones, 0 and the largest.
func key(rng *rand.Rand, n int) uint64 {
	switch rng.IntN(8) {
	case 0:
		return 0
	case 1:
		return math.MaxUint64 - uint64(rng.IntN(3))
	case 2:
		return rng.Uint64()
	case 3:
		return uint64(1+rng.IntN(4))<<40 + uint64(rng.IntN(64))
	default:
		return uint64(1 + rng.IntN(n))
	}
}

func equal(t *testing.T, model map[uint64]int, m *Map[int]) {
	t.Helper()
	require.Equal(t, len(model), m.Len())
	for k, v := range model {
		got, ok := m.Get(k)
		require.True(t, ok, "key %d", k)
		require.Equal(t, v, got, "key %d", k)
	}
	seen := map[uint64]bool{}
	for k, v := range m.All() {
		require.False(t, seen[k], "key %d yielded twice", k)
		seen[k] = true
		require.Equal(t, model[k], v, "key %d", k)
	}
	require.Len(t, seen, len(model))
	require.LessOrEqual(t, 4*m.n, 3*max(m.Slots(), 1), "at most three quarters full")
}

// TestMapLikeGoMap: random puts, gets, deletes (some of them while walking) against
// Go's map, over growth, Clear and Release, with many seeds.
func TestMapLikeGoMap(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 99))
		var m Map[int]
		model := map[uint64]int{}
		n := []int{4, 50, 1000, 20_000}[seed%4]
		for step := range 6 * n {
			k := key(rng, n)
			switch op := rng.IntN(10); {
			case op < 5:
				m.Put(k, step)
				model[k] = step
			case op < 8:
				_, in := model[k]
				require.Equal(t, in, m.Delete(k), "seed %d step %d key %d", seed, step, k)
				delete(model, k)
			default:
				v, ok := m.Get(k)
				mv, in := model[k]
				require.Equal(t, in, ok)
				require.Equal(t, mv, v)
			}
			if step%(n+1) == 0 {
				equal(t, model, &m)
			}
		}
		equal(t, model, &m)
		// A walk that deletes about half of what it is given.
		for k := range m.All() {
			if rng.IntN(2) == 0 {
				require.True(t, m.Delete(k))
				delete(model, k)
			}
		}
		equal(t, model, &m)
		// And one that deletes everything.
		for k := range m.All() {
			require.True(t, m.Delete(k))
			delete(model, k)
		}
		equal(t, model, &m)
		m.Put(7, 1)
		m.Put(0, 2)
		size := m.Slots()
		m.Clear()
		require.Zero(t, m.Len())
		require.Equal(t, size, m.Slots(), "Clear keeps the memory")
		_, ok := m.Get(7)
		require.False(t, ok)
		m.Release()
		require.Zero(t, m.Slots())
	}
}

// TestMapTouchAndStop: Touch reads a key's starting slot and is zero on an empty
// map; lookups and deletes on an empty map find nothing; a walk stopped early stops.
func TestMapTouchAndStop(t *testing.T) {
	var m Map[int]
	require.Zero(t, m.Touch(5))
	_, ok := m.Get(5)
	require.False(t, ok)
	require.False(t, m.Delete(5))
	for k := uint64(1); k <= 1000; k++ {
		m.Put(k, int(k))
	}
	var touched uint64
	for k := uint64(1); k <= 1000; k++ {
		touched += m.Touch(k)
	}
	require.NotZero(t, touched)
	n := 0
	for range m.All() {
		if n++; n == 10 {
			break
		}
	}
	require.Equal(t, 10, n)
}

// BenchmarkMap: a round's lookups of a million flows in the order replies list them
// (shuffled), against Go's map; with the slots of each run of 256 touched first.
func BenchmarkMap(b *testing.B) {
	const n = 1_000_000
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	rng.Shuffle(n, func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	type rec struct{ a uint64 }
	recs := make([]*rec, n+1)
	var m Map[*rec]
	gm := make(map[uint64]*rec, n)
	for i := 1; i <= n; i++ {
		recs[i] = &rec{a: uint64(i)}
		m.Put(uint64(i), recs[i])
		gm[uint64(i)] = recs[i]
	}
	var sink uint64
	b.Run("gomap", func(b *testing.B) {
		for b.Loop() {
			for _, id := range ids {
				sink += gm[id].a
			}
		}
	})
	b.Run("idmap", func(b *testing.B) {
		for b.Loop() {
			for _, id := range ids {
				r, _ := m.Get(id)
				sink += r.a
			}
		}
	})
	b.Run("idmap-touched", func(b *testing.B) {
		for b.Loop() {
			for k := 0; k < n; k += 256 {
				run := ids[k:min(k+256, n)]
				for _, id := range run {
					sink += m.Touch(id)
				}
				for _, id := range run {
					r, _ := m.Get(id)
					sink += r.a
				}
			}
		}
	})
	_ = sink
}
