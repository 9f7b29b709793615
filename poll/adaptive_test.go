package poll

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/afps"
	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/stats"
)

// The afps strategy polls each flow at its own pace: a steady flow under SWT is read
// at 1 s, 3 s, 7 s, 12 s (τ 1, 2, 4, 5 s), a Fixed one every second; requests go to the
// flow's switch with the fewest hops.
func TestAdaptiveSWT(t *testing.T) {
	a, err := NewAdaptive(AdaptiveConfig{Sampler: afps.Config{Kind: afps.SWT}, Deployment: mcps.InBand})
	require.NoError(t, err)
	assert.Equal(t, AFPS, a.Strategy())
	t0 := time.Unix(1000, 0)
	a.SetSwitches(t0, []Switch{{DPID: 10, Hops: 2}, {DPID: 11, Hops: 1}})
	a.OnArrive(t0, Flow{ID: 5, DPIDs: []uint64{10, 11}})
	var reads []float64
	var bytes uint64
	for ms := 0; ms <= 13000; ms += 10 {
		now := t0.Add(time.Duration(ms) * time.Millisecond)
		for _, r := range a.Due(now, nil) {
			require.Equal(t, uint64(11), r.DPID, "fewest hops")
			require.Equal(t, stats.SourcePollSingle, r.Source)
			require.Equal(t, uint64(5), r.Flow)
			bytes = uint64(ms) * 1000
			a.OnReading(now, stats.Reading{Flow: 5, DPID: 11, Bytes: bytes, At: now, Source: r.Source}, stats.FlowSample{})
			reads = append(reads, now.Sub(t0).Seconds())
		}
	}
	assert.Equal(t, []float64{1, 3, 7, 12}, reads)
	a.OnExpire(t0.Add(14*time.Second), 5)
	assert.Empty(t, a.Due(t0.Add(time.Minute), nil))
	_, err = NewAdaptive(AdaptiveConfig{Sampler: afps.Config{Min: -1}})
	assert.Error(t, err)
}
