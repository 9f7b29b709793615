package afps

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func obs(rate float64, el time.Duration) Observation {
	return Observation{Bytes: uint64(rate * el.Seconds()), Elapsed: el}
}

func mustNew(t *testing.T, c Config) Sampler {
	t.Helper()
	s, err := New(c)
	require.NoError(t, err)
	return s
}

// Section 5, Fixed: τ never changes, whatever is read.
func TestFixedConstant(t *testing.T) {
	s := mustNew(t, Config{Kind: Fixed})
	assert.Equal(t, time.Second, s.Interval())
	for _, r := range []float64{0, 1e6, 10, 1e9} {
		assert.Equal(t, time.Second, s.Observe(obs(r, time.Second)))
	}
	// Initial outside the bounds is clamped.
	s = mustNew(t, Config{Kind: Fixed, Initial: 10 * time.Second})
	assert.Equal(t, DefaultMax, s.Interval())
}

// Section 5, PT (Eq. 18) on a hand-computed case: τ_{i+1} = τ_i·α·x̄_i/max(|x_i−x_{i−1}|, ε).
func TestPTFormula(t *testing.T) {
	s := mustNew(t, Config{Kind: PT, Initial: time.Second, Min: time.Millisecond, Max: time.Hour})
	// First reading: no predecessor, τ kept.
	assert.Equal(t, time.Second, s.Observe(obs(1000, time.Second)))
	// x = 2000: x̄ = 1500, change 1000 → factor 0.1·1500/1000 = 0.15 → τ = 150 ms.
	assert.Equal(t, 150*time.Millisecond, s.Observe(obs(2000, time.Second)))
	// x = 2100: x̄ = 1700, change 100 → 0.1·1700/100 = 1.7 → τ = 255 ms.
	got := s.Observe(obs(2100, time.Second))
	assert.InDelta(t, float64(255*time.Millisecond), float64(got), 2)
	// No change: x̄ = 1800, factor 0.1·1800/ε(1) = 180 → τ = 45.9 s.
	assert.InDelta(t, float64(45900*time.Millisecond), float64(s.Observe(obs(2100, time.Second))), 400)
	// Clamped to τ_max.
	assert.Equal(t, time.Hour, s.Observe(obs(2100, time.Second)))
}

// PT clamps to [τ_min, τ_max] and an idle steady flow doubles (the documented choice).
func TestPTBoundsAndIdle(t *testing.T) {
	s := mustNew(t, Config{Kind: PT})
	s.Observe(obs(0, time.Second))
	assert.Equal(t, 2*time.Second, s.Observe(obs(0, time.Second)), "idle, no change: doubles")
	assert.Equal(t, 4*time.Second, s.Observe(obs(0, time.Second)))
	assert.Equal(t, DefaultMax, s.Observe(obs(0, time.Second)))
	// A huge change from idle: factor tiny → τ_min.
	assert.Equal(t, DefaultMin, s.Observe(obs(1e9, time.Second)))
	assert.Equal(t, 0.1*(1e9/5)/1e9, ptFactor(0.1, 1, 1e9/5, 1e9, 0))
}

// Section 5, EWMAT (Eq. 19): τ_{i+1} = β·τ^PT_{i+1} + (1−β)·τ_i, hand-computed.
func TestEWMATFormula(t *testing.T) {
	s := mustNew(t, Config{Kind: EWMAT, Beta: 0.5, Initial: time.Second, Min: time.Millisecond, Max: time.Hour})
	s.Observe(obs(1000, time.Second))
	// τ^PT = 150 ms (as in TestPTFormula) → 0.5·150 + 0.5·1000 = 575 ms.
	assert.Equal(t, 575*time.Millisecond, s.Observe(obs(2000, time.Second)))
	// x = 2100: factor 1.7 → τ^PT = 977.5 ms → 0.5·977.5 + 0.5·575 = 776.25 ms.
	assert.InDelta(t, float64(776250*time.Microsecond), float64(s.Observe(obs(2100, time.Second))), 2)
	// β = 0.25 weighs the PT proposal less.
	s = mustNew(t, Config{Kind: EWMAT, Beta: 0.25, Initial: time.Second, Min: time.Millisecond, Max: time.Hour})
	s.Observe(obs(1000, time.Second))
	assert.Equal(t, 787500*time.Microsecond, s.Observe(obs(2000, time.Second))) // 0.25·150 + 0.75·1000
	// Clamped to the bounds.
	s = mustNew(t, Config{Kind: EWMAT})
	for range 20 {
		s.Observe(obs(5000, time.Second))
	}
	assert.InDelta(t, float64(DefaultMax), float64(s.Interval()), float64(time.Millisecond), "converges to τ_max")
}

// Section 5, SWT (Algorithm 4): steady readings double τ and grow the window by one; a
// significant reading (beyond 2σ of the window) halves τ and the window.
func TestSWTAIMD(t *testing.T) {
	s := mustNew(t, Config{Kind: SWT, Initial: 500 * time.Millisecond, Max: time.Hour}).(*swtSampler)
	assert.Equal(t, 3, s.w)
	// Fewer than two readings: nothing is significant, τ doubles.
	assert.Equal(t, time.Second, s.Observe(obs(1000, time.Second)))
	assert.Equal(t, 2*time.Second, s.Observe(obs(1010, time.Second)))
	assert.Equal(t, 5, s.w)
	// 1005 is within 2σ of {1000, 1010} (mean 1005, σ 5): doubles again.
	assert.Equal(t, 4*time.Second, s.Observe(obs(1005, time.Second)))
	assert.Equal(t, 6, s.w)
	// A jump to 5000: significant → τ halves, window halves to 3 (oldest dropped).
	assert.Equal(t, 2*time.Second, s.Observe(obs(5000, time.Second)))
	assert.Equal(t, 3, s.w)
	assert.Equal(t, []float64{1010, 1005, 5000}, s.win)
	// The window never exceeds WMax and τ stays within bounds.
	for range 100 {
		s.Observe(obs(5000, time.Second))
	}
	assert.Equal(t, DefaultWMax, s.w)
	assert.LessOrEqual(t, len(s.win), DefaultWMax)
	assert.Equal(t, time.Hour, s.Interval())
	for range 100 {
		s.Observe(obs(float64(1e3*(len(s.win)%2)*1000+1), time.Second))
	}
	assert.GreaterOrEqual(t, s.Interval(), DefaultMin)
	assert.GreaterOrEqual(t, s.w, DefaultWMin)
}

func TestSignificant(t *testing.T) {
	assert.False(t, significant(nil, 5))
	assert.False(t, significant([]float64{1}, 5))
	assert.False(t, significant([]float64{0, 0, 0}, 0), "idle stays idle")
	assert.True(t, significant([]float64{0, 0, 0}, 1), "an idle flow waking up")
	// mean 2, σ = sqrt(2/3) ≈ 0.816: 3.6 is within 2σ, 3.7 beyond.
	assert.False(t, significant([]float64{1, 2, 3}, 3.6))
	assert.True(t, significant([]float64{1, 2, 3}, 3.7))
}

// PayLess: above Δ_high the interval is divided by the factor, below Δ_low multiplied;
// it starts at τ_min.
func TestPayLessRule(t *testing.T) {
	s := mustNew(t, Config{Kind: PayLess})
	assert.Equal(t, DefaultMin, s.Interval())
	assert.Equal(t, 500*time.Millisecond, s.Observe(Observation{Bytes: 10, Elapsed: DefaultMin}))
	assert.Equal(t, time.Second, s.Observe(Observation{Bytes: DefaultLow - 1, Elapsed: time.Second}))
	assert.Equal(t, time.Second, s.Observe(Observation{Bytes: DefaultLow, Elapsed: time.Second}), "between the thresholds: unchanged")
	assert.Equal(t, time.Second, s.Observe(Observation{Bytes: DefaultHigh, Elapsed: time.Second}))
	assert.Equal(t, 500*time.Millisecond, s.Observe(Observation{Bytes: DefaultHigh + 1, Elapsed: time.Second}))
	assert.Equal(t, DefaultMin, s.Observe(Observation{Bytes: 1 << 30, Elapsed: time.Second}))
	assert.Equal(t, DefaultMin, s.Observe(Observation{Bytes: 1 << 30, Elapsed: time.Second}), "clamped at τ_min")
	for range 10 {
		s.Observe(Observation{Bytes: 0, Elapsed: time.Second})
	}
	assert.Equal(t, DefaultMax, s.Interval(), "clamped at τ_max")
}

// Every sampler stays within its bounds on any readings.
func TestSamplersBounded(t *testing.T) {
	rates := []float64{0, 1, 1e9, 3, 0, 0, 5e5, 5e5, 5e5 + 1, 1e12, 7, 0}
	for _, k := range Kinds() {
		for _, b := range [][2]time.Duration{{DefaultMin, DefaultMax}, {time.Second, time.Second}, {10 * time.Millisecond, time.Minute}} {
			s := mustNew(t, Config{Kind: k, Min: b[0], Max: b[1]})
			for i := range 200 {
				got := s.Observe(obs(rates[i%len(rates)]*float64(i%5), time.Duration(1+i%3)*time.Second))
				require.GreaterOrEqual(t, got, b[0], "%v", k)
				require.LessOrEqual(t, got, b[1], "%v", k)
				require.Equal(t, got, s.Interval())
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, Config{}.Validate())
	for _, c := range []Config{
		{Min: -1},
		{Min: time.Second, Max: time.Millisecond},
		{Beta: 1},
		{Alpha: -1},
		{Alpha: math.Inf(1)},
		{WMin: 1},
		{WMin: 10, WMax: 5},
		{Low: 10, High: 5},
		{Up: 0.5},
		{Kind: 9},
	} {
		err := c.Validate()
		assert.Error(t, err, "%+v", c)
		if c.Kind != 9 {
			assert.True(t, errors.Is(err, ErrBadConfig), "%v", err)
		}
	}
	_, err := New(Config{Beta: 2})
	assert.ErrorIs(t, err, ErrBadConfig)
	for _, k := range Kinds() {
		got, err := ParseKind(k.String())
		require.NoError(t, err)
		assert.Equal(t, k, got)
	}
	_, err = ParseKind("nope")
	assert.ErrorIs(t, err, ErrBadSampler)
	assert.Equal(t, DefaultMin, Config{Kind: PayLess}.WithDefaults().Initial)
}
