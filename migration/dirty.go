package migration

import "math"

// Default weights of the refined dirty rate.
const (
	DefaultMu  = 0.7
	DefaultPhi = 0.5
)

// MeanDirtyRate is D̄ = Σ D_i·T_i / Σ T_i over a migration's pre-copy rounds,
// with D_i = dirty_i / T_i, that is Σ dirty_i / Σ T_i. Rounds without a
// duration (the stop-and-copy round of a record may have none) do not count.
// ok is false when no round has a duration.
func MeanDirtyRate(rounds []Round) (mbs float64, ok bool) {
	var dirty, dur float64
	for _, r := range rounds {
		if r.DurationS > 0 && r.DirtyMB >= 0 {
			dirty += r.DirtyMB
			dur += r.DurationS
		}
	}
	if dur <= 0 {
		return 0, false
	}
	return dirty / dur, true
}

// DirtyHistory is a VM's refined dirty rate: D̂_m = μ·D̄_m + (1 − μ)·D̂_{m−1}
// over its migrations, and the estimate D̃ = φ·S + (1 − φ)·D̂ from a current
// sample S. The zero value has no history and uses DefaultMu and DefaultPhi.
type DirtyHistory struct {
	Mu  float64 `json:"mu,omitempty"`  // weight of the latest migration, in (0.5, 1]
	Phi float64 `json:"phi,omitempty"` // weight of the current sample, in (0, 1)
	Hat float64 `json:"d_hat"`         // D̂, MB/s
	N   int     `json:"migrations"`    // migrations observed
}

func (h DirtyHistory) mu() float64 {
	if h.Mu > 0.5 && h.Mu <= 1 {
		return h.Mu
	}
	return DefaultMu
}

func (h DirtyHistory) phi() float64 {
	if h.Phi > 0 && h.Phi < 1 {
		return h.Phi
	}
	return DefaultPhi
}

// Observe folds one migration's mean dirty rate D̄ into the history; the
// first migration's D̄ becomes D̂. Negative or non-finite values are ignored.
func (h DirtyHistory) Observe(dbar float64) DirtyHistory {
	if dbar < 0 || math.IsNaN(dbar) || math.IsInf(dbar, 0) {
		return h
	}
	if h.N == 0 {
		h.Hat = dbar
	} else {
		mu := h.mu()
		h.Hat = mu*dbar + (1-mu)*h.Hat
	}
	h.N++
	return h
}

// Estimate is D̃ = φ·S + (1 − φ)·D̂ for the current sample S; with no history
// it is S.
func (h DirtyHistory) Estimate(sample float64) float64 {
	if h.N == 0 {
		return sample
	}
	phi := h.phi()
	return phi*sample + (1-phi)*h.Hat
}
