package afps

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hp(a, b string) HostPair {
	return HostPair{Src: netip.MustParseAddr(a), Dst: netip.MustParseAddr(b)}
}

// Section 5 tasks: sum (Eq. 17), group by host pair, top-k and threshold.
func TestTaskEvaluate(t *testing.T) {
	rates := []FlowRate{
		{ID: 1, Hosts: hp("10.0.0.1", "10.0.0.3"), Rate: 100},
		{ID: 2, Hosts: hp("10.0.0.1", "10.0.0.3"), Rate: 50},
		{ID: 3, Hosts: hp("10.0.0.2", "10.0.0.3"), Rate: 300},
		{ID: 4, Hosts: hp("10.0.0.2", "10.0.0.4"), Rate: 0},
		{ID: 5, Hosts: hp("10.0.0.2", "10.0.0.4"), Rate: 300},
	}
	v := Task{Kind: LinkUtilization}.Evaluate(t0, rates)
	assert.Equal(t, 750.0, v.Sum)
	assert.Nil(t, v.Matrix)
	m := Task{Kind: Matrix}.Evaluate(t0, rates)
	assert.Equal(t, map[HostPair]float64{hp("10.0.0.1", "10.0.0.3"): 150, hp("10.0.0.2", "10.0.0.3"): 300, hp("10.0.0.2", "10.0.0.4"): 300}, m.Matrix)
	h := Task{Kind: HeavyHitters, K: 2, Threshold: 99}.Evaluate(t0, rates)
	require.Len(t, h.Top, 2)
	assert.Equal(t, []uint64{3, 5}, []uint64{h.Top[0].ID, h.Top[1].ID}, "ties by id")
	require.Len(t, h.Over, 3)
	assert.Equal(t, uint64(1), h.Over[2].ID)
	assert.Len(t, Task{Kind: HeavyHitters}.Evaluate(t0, rates).Top, 4, "default k 10, zero rates left out")
	for _, k := range []TaskKind{LinkUtilization, Matrix, HeavyHitters} {
		got, err := ParseTaskKind(k.String())
		require.NoError(t, err)
		assert.Equal(t, k, got)
	}
	_, err := ParseTaskKind("x")
	assert.ErrorIs(t, err, ErrBadTask)
}

// Eq. 20: mean relative error over the instants with a positive truth.
func TestRelError(t *testing.T) {
	e, n := RelError([]float64{100, 0, 200, 50}, []float64{90, 5, 300, 50})
	assert.Equal(t, 3, n)
	assert.InDelta(t, (0.1+0.5+0)/3, e, 1e-12)
	e, n = RelError([]float64{0, 0}, []float64{1, 2})
	assert.Equal(t, 0, n)
	assert.Equal(t, 0.0, e)
}

func TestF1(t *testing.T) {
	assert.Equal(t, 1.0, F1(nil, nil))
	assert.Equal(t, 0.0, F1([]uint64{1}, nil))
	assert.Equal(t, 1.0, F1([]uint64{1, 2}, []uint64{2, 1}))
	// precision 1/2, recall 1/3 → F1 = 2·(1/6)/(5/6) = 0.4
	assert.InDelta(t, 0.4, F1([]uint64{1, 2, 3}, []uint64{1, 9}), 1e-12)
}

func TestSeriesRing(t *testing.T) {
	s := Series{Cap: 3}
	for i := range 5 {
		s.Add(Value{At: t0.Add(time.Duration(i) * time.Second), Sum: float64(i)})
	}
	vs := s.Values()
	require.Len(t, vs, 3)
	assert.Equal(t, []float64{2, 3, 4}, []float64{vs[0].Sum, vs[1].Sum, vs[2].Sum})
	var d Series
	d.Add(Value{Sum: 1})
	assert.Len(t, d.Values(), 1)
}
