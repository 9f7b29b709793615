package migration

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Section 6, the paper's decision experiment: the model's choice is cheaper
// than a random one on every metric, and it is TPC-C.
func TestDecisionExperiment(t *testing.T) {
	res, err := Experiment{}.Run(rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	t.Logf("%+v", res)
	assert.Equal(t, 20, res.GuidedPicks["tpc-c"])
	assert.Equal(t, 20, res.RandomPicks["dbench"]+res.RandomPicks["tpc-c"]+res.RandomPicks["linpack"]+res.RandomPicks["specweb"])
	for _, r := range []float64{res.Reduction.TimeS, res.Reduction.DowntimeS, res.Reduction.TrafficMB, res.Reduction.EnergyJ} {
		assert.Greater(t, r, 0.0)
	}
	_, err = Experiment{Trials: -1}.Run(rand.New(rand.NewPCG(1, 1)))
	assert.ErrorIs(t, err, ErrInput)
	_, err = Experiment{}.Run(nil)
	assert.Error(t, err)
}

func TestSweep(t *testing.T) {
	pts, err := Sweep(Input{MemMB: 800, DirtyMBs: 40, RateMBs: 125}, Xen(), "mem", []float64{100, 200, 400})
	require.NoError(t, err)
	require.Len(t, pts, 3)
	assert.Less(t, pts[0].Base.TotalTimeS, pts[2].Base.TotalTimeS)
	_, err = Sweep(Input{MemMB: 800, DirtyMBs: 40, RateMBs: 125}, Xen(), "cpu", []float64{1})
	assert.ErrorIs(t, err, ErrInput)
}
