package migration

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var zeroGamma = Gamma{}

func relNear(t *testing.T, want, got float64, msg string, args ...any) {
	t.Helper()
	assert.InDelta(t, want, got, 1e-9*max(1, math.Abs(want)), append([]any{msg}, args...)...)
}

// Section 6: with γ = 0, Algorithm 1 is the base model, equations (4)-(8).
func TestWWSWithZeroGammaIsClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	profiles := []Profile{Xen(), QEMU(), {Name: "thd", ThresholdMB: 1}, {Name: "capped", ThresholdMB: 0.5, MaxRounds: 5, TrafficFactor: 2}}
	for i := range 3000 {
		p := profiles[i%len(profiles)]
		in := Input{MemMB: 64 + rng.Float64()*4000, RateMBs: 10 + rng.Float64()*200}
		in.DirtyMBs = in.RateMBs * rng.Float64() * 1.3
		if i%50 == 0 {
			in.DirtyMBs = 0
		}
		base, err := Predict(in, Config{Kind: Base, Profile: p})
		require.NoError(t, err)
		wws, err := Predict(in, Config{Kind: WWS, Profile: p, Gamma: &zeroGamma})
		require.NoError(t, err)
		require.Equal(t, base.Rounds, wws.Rounds, "rounds %+v %s", in, p.Name)
		assert.Equal(t, base.Stop, wws.Stop, "stop %+v %s", in, p.Name)
		relNear(t, base.TrafficMB, wws.TrafficMB, "traffic %+v %s", in, p.Name)
		relNear(t, base.TotalTimeS, wws.TotalTimeS, "time %+v %s", in, p.Name)
		relNear(t, base.DowntimeS, wws.DowntimeS, "downtime %+v %s", in, p.Name)
		relNear(t, base.EnergyJ, wws.EnergyJ, "energy %+v %s", in, p.Name)
		assert.Equal(t, in.DirtyMBs < in.RateMBs, base.Converged)
	}
}

// Equation (8): n = ⌈log_λ(V_thd/V_mem)⌉, and V_n ≤ V_thd < V_{n−1}.
func TestRoundCountFollowsN(t *testing.T) {
	tests := []struct {
		mem, d, r, thd float64
	}{
		{800, 40, 100, 0.2048},
		{1024, 10, 125, 0.2048},
		{512, 90, 100, 1},
		{4096, 1, 1000, 0.01},
		{800, 5, 125, 0.2048},
	}
	for _, tt := range tests {
		p := Profile{Name: "thd", ThresholdMB: tt.thd}
		lambda := tt.d / tt.r
		n := int(math.Ceil(math.Log(tt.thd/tt.mem) / math.Log(lambda)))
		for _, g := range []*Gamma{nil, &zeroGamma} {
			kind := Base
			if g != nil {
				kind = WWS
			}
			res, err := Predict(Input{MemMB: tt.mem, DirtyMBs: tt.d, RateMBs: tt.r}, Config{Kind: kind, Profile: p, Gamma: g})
			require.NoError(t, err)
			assert.Equal(t, n, res.Rounds, "%+v %s", tt, kind)
			assert.Equal(t, StopThreshold, res.Stop)
		}
		res, _ := Predict(Input{MemMB: tt.mem, DirtyMBs: tt.d, RateMBs: tt.r}, Config{Kind: WWS, Profile: p, Gamma: &zeroGamma})
		require.Len(t, res.Trace, n+1)
		assert.LessOrEqual(t, res.Trace[n].SentMB, tt.thd*(1+1e-12))
		assert.Greater(t, res.Trace[n-1].SentMB, tt.thd)
	}
	// The Xen profile's round limit caps n at 30.
	res, err := Predict(Input{MemMB: 800, DirtyMBs: 99, RateMBs: 100}, Config{Kind: Base, Profile: Profile{Name: "x", ThresholdMB: 0.2048, MaxRounds: 30}})
	require.NoError(t, err)
	assert.Equal(t, 30, res.Rounds)
	assert.Equal(t, StopRounds, res.Stop)
}

// Equations (4)-(7) worked by hand for one case.
func TestBaseModelByHand(t *testing.T) {
	// λ = 0.5, V_thd = 100: V = 800, 400, 200, 100 -> n = 3.
	res, err := Predict(Input{MemMB: 800, DirtyMBs: 50, RateMBs: 100}, Config{Kind: Base, Profile: Profile{Name: "h", ThresholdMB: 100, Resume: 0.02}})
	require.NoError(t, err)
	assert.Equal(t, 3, res.Rounds)
	relNear(t, 1500, res.TrafficMB, "V_mig")
	relNear(t, 15, res.TotalTimeS, "T_mig")
	relNear(t, 1.02, res.DowntimeS, "T_down")
	relNear(t, 0.512*1500+20.165, res.EnergyJ, "E")
	assert.True(t, res.Converged)
}

// Algorithm 1 by hand with the paper's γ for one round.
func TestWWSByHand(t *testing.T) {
	in := Input{MemMB: 100, DirtyMBs: 50, RateMBs: 100}
	res, err := Predict(in, Config{Kind: WWS, Profile: Profile{Name: "h", ThresholdMB: 20}})
	require.NoError(t, err)
	// T_0 = 1; γ = -0.0463 - 0.005 + 0.3586 = 0.3073; dirty 50, W_1 = 15.365, V_1 = 34.635.
	// T_1 = 0.34635; γ = -0.0463·0.34635 - 0.005 + 0.3586; dirty = 17.3175; V_2 = dirty·(1-γ).
	g1 := -0.0463*0.34635 - 0.005 + 0.3586
	v2 := 17.3175 * (1 - g1)
	require.Greater(t, v2, 0.0)
	require.LessOrEqual(t, v2, 20.0) // stops: the last round sends all 17.3175
	assert.Equal(t, 2, res.Rounds)
	relNear(t, 100+34.635+17.3175, res.TrafficMB, "traffic")
	relNear(t, 0.173175+DefaultResume, res.DowntimeS, "downtime")
	relNear(t, 15.365, res.Trace[1].SkippedMB, "W_1")
}

func TestGammaClamped(t *testing.T) {
	assert.Equal(t, 0.0, PaperGamma.At(8, 0))  // 0.3586 - 0.37 < 0
	assert.Equal(t, 1.0, Gamma{C: 3}.At(1, 1)) // above 1
	assert.InDelta(t, 0.3586-0.0463-0.001, PaperGamma.At(1, 10), 1e-12)
}

// More dirty rate or less bandwidth never lowers time or traffic, while
// pre-copy ends at the threshold or the round limit (see the package doc).
func TestMonotoneInDirtyRateAndRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	profiles := []Profile{
		{Name: "xen-no-cap", ThresholdMB: 50 * PageBytes / 1e6, MaxRounds: 30},
		{Name: "qemu", DowntimeLimit: 0.3},
	}
	checked := 0
	for i := range 4000 {
		p := profiles[i%2]
		kind := []Kind{Base, WWS}[i/2%2]
		in := Input{MemMB: 128 + rng.Float64()*4000, RateMBs: 20 + rng.Float64()*200}
		in.DirtyMBs = in.RateMBs * rng.Float64() * 0.95
		more := in
		if i%3 == 0 {
			more.RateMBs *= 1 - rng.Float64()*0.2 // less bandwidth
		} else {
			more.DirtyMBs *= 1 + rng.Float64()*0.2 // more dirty rate
		}
		a, err := Predict(in, Config{Kind: kind, Profile: p})
		require.NoError(t, err)
		b, err := Predict(more, Config{Kind: kind, Profile: p})
		require.NoError(t, err)
		if b.Stop == StopNoProgress || a.Stop == StopNoProgress {
			continue
		}
		checked++
		assert.GreaterOrEqual(t, b.TotalTimeS, a.TotalTimeS*(1-1e-12), "time %s %s %+v -> %+v", kind, p.Name, in, more)
		assert.GreaterOrEqual(t, b.TrafficMB, a.TrafficMB*(1-1e-12), "traffic %s %s %+v -> %+v", kind, p.Name, in, more)
	}
	assert.Greater(t, checked, 3000)
}

// A migration whose dirty rate is not below its rate does not converge; the
// model still gives its cost under the stop rule.
func TestNonConverging(t *testing.T) {
	for _, p := range []Profile{Xen(), QEMU()} {
		for _, kind := range []Kind{Base, WWS} {
			res, err := Predict(Input{MemMB: 800, DirtyMBs: 150, RateMBs: 100}, Config{Kind: kind, Profile: p})
			require.NoError(t, err)
			assert.False(t, res.Converged)
			assert.Greater(t, res.TrafficMB, 800.0)
			assert.False(t, math.IsInf(res.TotalTimeS, 0) || math.IsNaN(res.TotalTimeS))
		}
	}
	// λ = 1 exactly under Xen: after rounds 0-3 (3200 MB > 3·800) round 4 is the last.
	res, err := Predict(Input{MemMB: 800, DirtyMBs: 100, RateMBs: 100}, Config{Kind: Base, Profile: Xen()})
	require.NoError(t, err)
	assert.Equal(t, StopTraffic, res.Stop)
	assert.Equal(t, 4, res.Rounds)
	relNear(t, 4000, res.TrafficMB, "traffic")
	// Under QEMU nothing stops it but the model's own bound.
	res, err = Predict(Input{MemMB: 800, DirtyMBs: 100, RateMBs: 100}, Config{Kind: Base, Profile: QEMU()})
	require.NoError(t, err)
	assert.Equal(t, StopModel, res.Stop)
	assert.Equal(t, ModelRoundLimit, res.Rounds)
}

func TestPredictErrors(t *testing.T) {
	bad := []Input{{0, 1, 1}, {1, -1, 1}, {1, 1, 0}, {math.NaN(), 1, 1}, {1, math.Inf(1), 1}}
	for _, in := range bad {
		_, err := Predict(in, Config{})
		assert.ErrorIs(t, err, ErrInput, "%+v", in)
	}
	_, err := Predict(Input{1, 1, 1}, Config{Profile: Profile{Name: "x", MaxRounds: -1}})
	assert.ErrorIs(t, err, ErrProfile)
	_, err = Predict(Input{1, 1, 1}, Config{Kind: "other"})
	assert.ErrorIs(t, err, ErrInput)
	_, err = ProfileByName("vmware")
	assert.ErrorIs(t, err, ErrProfile)
}

// The QEMU profile stops when the rest fits in 300 ms at R.
func TestQEMUStop(t *testing.T) {
	res, err := Predict(Input{MemMB: 1000, DirtyMBs: 50, RateMBs: 100}, Config{Kind: Base, Profile: QEMU()})
	require.NoError(t, err)
	// V_thd = 30 MB: 1000·0.5^n ≤ 30 -> n = 6 (15.6 MB).
	assert.Equal(t, 6, res.Rounds)
	assert.LessOrEqual(t, res.DowntimeS, 0.3+DefaultResume)
}

func BenchmarkPredict(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  Config
		in   Input
	}{
		{"base-xen", Config{Kind: Base}, Input{800, 40, 100}},
		{"wws-xen", Config{Kind: WWS}, Input{800, 40, 100}},
		{"wws-qemu", Config{Kind: WWS, Profile: QEMU()}, Input{800, 40, 100}},
		{"wws-xen-30rounds", Config{Kind: WWS}, Input{4000, 99, 100}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Predict(c.in, c.cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
