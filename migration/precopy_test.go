package migration

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func predictPrecopy(t *testing.T, in Input, c *Calibration) Result {
	t.Helper()
	r, err := Predict(in, Config{Kind: Precopy, Profile: QEMU(), Calibration: c})
	require.NoError(t, err)
	return r
}

// An idle guest: round 0 sends all but ℓ = θ·limit·R', the stop-and-copy the
// rest; the downtime is T_stop + σ·ℓ/R' (nothing was dirtied).
func TestPrecopyIdleByHand(t *testing.T) {
	c := Calibration{RateFactor: 0.9, DirtyFactor: 1.2, StopS: 0.15, StopShare: 0.5, Leftover: 0.8}
	r := predictPrecopy(t, Input{MemMB: 200, RateMBs: 10}, &c)
	rate := 9.0
	left := 0.8 * 0.3 * rate
	assert.Equal(t, 1, r.Rounds)
	assert.True(t, r.Converged)
	assert.Equal(t, StopThreshold, r.Stop)
	assert.InDelta(t, 200, r.TrafficMB, 1e-9)
	assert.InDelta(t, 0.15+0.5*left/rate, r.DowntimeS, 1e-12)
	assert.InDelta(t, (200-left)/rate+r.DowntimeS, r.TotalTimeS, 1e-9)
	require.Len(t, r.Trace, 2)
	assert.InDelta(t, left, r.Trace[1].SentMB, 1e-12)
}

// Every page dirtied during pre-copy is sent once more: V_mig = V_mem + D'·ΣT_i
// while no round dirties more than the memory; more dirty rate or less rate
// never shortens a converging migration.
func TestPrecopyTrafficIdentityAndMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		c := Calibration{RateFactor: 0.5 + rng.Float64(), DirtyFactor: 0.5 + rng.Float64(), StopS: rng.Float64(), StopShare: rng.Float64(), Leftover: 0.9 * rng.Float64()}
		in := Input{MemMB: 10 + 1000*rng.Float64(), RateMBs: 1 + 100*rng.Float64()}
		in.DirtyMBs = 0.9 * rng.Float64() * in.RateMBs * c.RateFactor / c.DirtyFactor
		r := predictPrecopy(t, in, &c)
		require.True(t, r.Converged, "%+v %+v", in, c)
		pre := r.TotalTimeS - r.DowntimeS
		assert.InDelta(t, in.MemMB+c.DirtyFactor*in.DirtyMBs*pre, r.TrafficMB, 1e-6*r.TrafficMB)
		assert.LessOrEqual(t, r.Trace[len(r.Trace)-1].SentMB, QEMU().DowntimeLimit*in.RateMBs*c.RateFactor+1e-9)
		more := in
		more.DirtyMBs *= 1.05
		if more.DirtyMBs*c.DirtyFactor < 0.95*in.RateMBs*c.RateFactor {
			m := predictPrecopy(t, more, &c)
			assert.GreaterOrEqual(t, m.TotalTimeS, r.TotalTimeS-1e-9)
			assert.GreaterOrEqual(t, m.TrafficMB, r.TrafficMB-1e-9)
		}
		slower := in
		slower.RateMBs *= 0.95
		if in.DirtyMBs*c.DirtyFactor < 0.95*slower.RateMBs*c.RateFactor {
			s := predictPrecopy(t, slower, &c)
			assert.GreaterOrEqual(t, s.TotalTimeS, r.TotalTimeS-1e-9)
		}
	}
}

// A guest that dirties as fast as pre-copy sends never converges (QEMU has no
// no-progress rule), and the figures stay finite.
func TestPrecopyNonConverging(t *testing.T) {
	for _, d := range []float64{9.5, 10, 40, 1e6} {
		r := predictPrecopy(t, Input{MemMB: 200, DirtyMBs: d, RateMBs: 9.5}, nil)
		assert.False(t, r.Converged, "D %v", d)
		assert.Equal(t, StopModel, r.Stop)
		for _, v := range []float64{r.TotalTimeS, r.TrafficMB, r.DowntimeS} {
			assert.False(t, math.IsNaN(v) || math.IsInf(v, 0), "D %v: %v", d, v)
		}
		assert.Greater(t, r.TotalTimeS, 60.0)
	}
	r := predictPrecopy(t, Input{MemMB: 200, DirtyMBs: 5, RateMBs: 9.5}, nil)
	assert.True(t, r.Converged)
}

// The constants fitted to records the model itself produced are the
// constants it produced them with. (θ 0.3: stop-and-copies from 0.3 to 1
// times the threshold, spread enough for σ's slope.)
func TestFitCalibrationRecovers(t *testing.T) {
	want := Calibration{RateFactor: 0.92, DirtyFactor: 1.15, StopS: 0.12, StopShare: 0.4, Leftover: 0.3}
	rng := rand.New(rand.NewPCG(5, 6))
	var recs []Record
	for i := range 12 {
		in := Input{MemMB: 150 + 200*rng.Float64(), RateMBs: 8 + 12*rng.Float64()}
		if i%3 != 0 {
			in.DirtyMBs = 0.5 * rng.Float64() * in.RateMBs
		}
		r := predictPrecopy(t, in, &want)
		recs = append(recs, RecordOf("vm", in, r, false))
	}
	// A cancelled run: no downtime, no stop-and-copy.
	recs = append(recs, Record{VM: "nc", Profile: "qemu", RAMMB: 200, DirtyMBs: 30, RateMBs: 10, TotalTimeS: 60, TrafficMB: 60 * 10 * want.RateFactor})
	// Another profile's record is ignored.
	recs = append(recs, Record{VM: "x", Profile: "xen", RAMMB: 1, RateMBs: 1, TotalTimeS: 1000, TrafficMB: 1})
	got, n, err := FitCalibration(recs, Calibration{Leftover: want.Leftover})
	require.NoError(t, err)
	assert.Equal(t, 13, n)
	assert.InDelta(t, want.RateFactor, got.RateFactor, 1e-6)
	assert.InDelta(t, want.DirtyFactor, got.DirtyFactor, 1e-6)
	assert.InDelta(t, want.StopS, got.StopS, 1e-6)
	assert.InDelta(t, want.StopShare, got.StopShare, 1e-6)
	assert.Equal(t, want.Leftover, got.Leftover)

	// Idle runs alone: no κ, and one downtime figure: T_stop alone.
	one := []Record{recs[0]}
	got, _, err = FitCalibration(one, Calibration{Leftover: want.Leftover})
	require.NoError(t, err)
	assert.Equal(t, 1.0, got.DirtyFactor)
	assert.InDelta(t, want.RateFactor, got.RateFactor, 1e-6)
	assert.Greater(t, got.StopS, 0.0)
}

func TestFitCalibrationErrors(t *testing.T) {
	_, _, err := FitCalibration(nil, Calibration{})
	require.ErrorIs(t, err, ErrFit)
	_, _, err = FitCalibration([]Record{{VM: "x", Profile: "qemu", RAMMB: 1, RateMBs: 1, TotalTimeS: 1}}, Calibration{RateFactor: -1})
	require.ErrorIs(t, err, ErrInput)
	_, err = Predict(Input{MemMB: 1, RateMBs: 1}, Config{Kind: Precopy, Profile: QEMU(), Calibration: &Calibration{Leftover: 1}})
	require.ErrorIs(t, err, ErrInput)
	k, err := ParseKind("precopy")
	require.NoError(t, err)
	assert.Equal(t, Precopy, k)
}

func BenchmarkPredictPrecopy(b *testing.B) {
	in := Input{MemMB: 337, DirtyMBs: 4, RateMBs: 9.5}
	cfg := Config{Kind: Precopy, Profile: QEMU()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Predict(in, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// With η = κ = σ = 1, θ → 0 and T_stop = T_resume the pre-copy model is the
// paper's base model under QEMU's stop rule (but for T_resume in the total
// time).
func TestPrecopyLimitIsBaseModel(t *testing.T) {
	c := Calibration{RateFactor: 1, DirtyFactor: 1, StopS: DefaultResume, StopShare: 1, Leftover: 1e-12}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 1000 {
		in := Input{MemMB: 10 + 2000*rng.Float64(), RateMBs: 1 + 200*rng.Float64()}
		in.DirtyMBs = 0.95 * rng.Float64() * in.RateMBs
		p := predictPrecopy(t, in, &c)
		b, err := Predict(in, Config{Kind: Base, Profile: QEMU()})
		require.NoError(t, err)
		require.Equal(t, b.Rounds, p.Rounds, "%+v", in)
		assert.InDelta(t, b.TrafficMB, p.TrafficMB, 1e-6*b.TrafficMB)
		// QEMU's total time counts the pause; the paper's T_mig = V_mig/R does not.
		assert.InDelta(t, b.TotalTimeS, p.TotalTimeS-DefaultResume, 1e-6*b.TotalTimeS)
		assert.InDelta(t, b.DowntimeS, p.DowntimeS, 1e-6)
	}
}

// On noisy records (some slowed several times over, as on a busy machine) the
// refit predicts its own training records' time and traffic no worse than
// the constants it started from, and their downtime no worse than the
// starting stop constants would at the fitted η and κ.
func TestFitCalibrationNeverWorseInSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for trial := range 50 {
		truth := Calibration{RateFactor: 0.8 + 0.2*rng.Float64(), DirtyFactor: 0.8 + 0.4*rng.Float64(), StopS: 0.05 + 0.2*rng.Float64(), StopShare: rng.Float64(), Leftover: DefaultLeftover}
		var recs []Record
		for range 8 {
			in := Input{MemMB: 150 + 200*rng.Float64(), RateMBs: 8 + 12*rng.Float64(), DirtyMBs: 4 * rng.Float64()}
			r := predictPrecopy(t, in, &truth)
			rec := RecordOf("vm", in, r, false)
			slow := 1 + 0.1*rng.NormFloat64()
			if rng.IntN(4) == 0 {
				slow = 1.5 + rng.Float64()
			}
			rec.TotalTimeS *= max(slow, 0.5)
			rec.DowntimeS *= max(1+0.5*rng.NormFloat64(), 0.01)
			rec.TrafficMB *= max(1+0.05*rng.NormFloat64(), 0.5)
			recs = append(recs, rec)
		}
		for _, prior := range []Calibration{DefaultCalibration, truth} {
			got, _, err := FitCalibration(recs, prior)
			require.NoError(t, err)
			assert.LessOrEqual(t, trainError(recs, got, false), trainError(recs, prior, false)+1e-12, "trial %d", trial)
			// The downtime: no worse than the prior's stop constants at the
			// chosen η and κ.
			at := prior
			at.RateFactor, at.DirtyFactor = got.RateFactor, got.DirtyFactor
			assert.LessOrEqual(t, trainError(recs, got, true), trainError(recs, at, true)+1e-12, "trial %d", trial)
		}
	}
}

func FuzzDecodeCalibration(f *testing.F) {
	f.Add([]byte(`{"rate_factor":0.9,"dirty_factor":1.1,"stop_s":0.2,"stop_share":0.5,"leftover":0.75}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"leftover":1}`))
	f.Add([]byte(`{"rate_factor":1e308} {}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCalibration(b)
		if err != nil {
			return
		}
		// A valid calibration predicts without failing, and finitely.
		r, err := Predict(Input{MemMB: 200, DirtyMBs: 3, RateMBs: 10}, Config{Kind: Precopy, Profile: QEMU(), Calibration: &c})
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if math.IsNaN(r.TotalTimeS) || math.IsInf(r.TotalTimeS, 0) || math.IsNaN(r.TrafficMB) {
			t.Fatalf("%s: %+v", b, r)
		}
	})
}
