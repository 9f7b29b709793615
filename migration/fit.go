package migration

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// GammaObservations turns the rounds of records into observations of γ: for
// consecutive pre-copy rounds i and i+1 (not the final stop-and-copy round),
// γ = W_{i+1} / dirty_i with T = T_i and D = dirty_i / T_i. Rounds with no
// duration or nothing dirtied give none.
func GammaObservations(records []Record) (t, d, gamma []float64) {
	for _, rec := range records {
		rs := rec.Rounds
		for i := 0; i+2 < len(rs); i++ {
			cur, next := rs[i], rs[i+1]
			if !(cur.DurationS > 0) || !(cur.DirtyMB > 0) || next.SkippedMB < 0 {
				continue
			}
			t = append(t, cur.DurationS)
			d = append(d, cur.DirtyMB/cur.DurationS)
			gamma = append(gamma, next.SkippedMB/cur.DirtyMB)
		}
	}
	return t, d, gamma
}

// FitGamma refits γ = a·T + b·D + c by least squares from the rounds of
// records (those that have rounds). It returns the fit and the number of
// observations; it needs at least three that span all three coefficients.
func FitGamma(records []Record) (Gamma, int, error) {
	t, d, y := GammaObservations(records)
	n := len(y)
	if n < 3 {
		return Gamma{}, n, fmt.Errorf("%w: γ needs at least 3 round observations, have %d", ErrFit, n)
	}
	a := mat.NewDense(n, 3, nil)
	for i := range n {
		a.Set(i, 0, t[i])
		a.Set(i, 1, d[i])
		a.Set(i, 2, 1)
	}
	x, err := leastSquares(a, y)
	if err != nil {
		return Gamma{}, n, fmt.Errorf("%w: γ: %v", ErrFit, err)
	}
	return Gamma{A: x[0], B: x[1], C: x[2]}, n, nil
}

// FitEnergy refits E = α·V_mig + β by least squares from the records that
// carry a measured energy. It needs two with different traffic.
func FitEnergy(records []Record) (Energy, int, error) {
	var v, e []float64
	for _, r := range records {
		if r.EnergyJ != nil && r.TrafficMB > 0 {
			v = append(v, r.TrafficMB)
			e = append(e, *r.EnergyJ)
		}
	}
	n := len(v)
	if n < 2 {
		return Energy{}, n, fmt.Errorf("%w: energy needs at least 2 records with energy_j, have %d", ErrFit, n)
	}
	a := mat.NewDense(n, 2, nil)
	for i := range n {
		a.Set(i, 0, v[i])
		a.Set(i, 1, 1)
	}
	x, err := leastSquares(a, e)
	if err != nil {
		return Energy{}, n, fmt.Errorf("%w: energy: %v", ErrFit, err)
	}
	return Energy{Alpha: x[0], Beta: x[1]}, n, nil
}

// leastSquares solves min ‖A·x − y‖ by QR, refusing a rank-deficient A.
func leastSquares(a *mat.Dense, y []float64) ([]float64, error) {
	_, c := a.Dims()
	var qr mat.QR
	qr.Factorize(a)
	if cond := qr.Cond(); math.IsInf(cond, 1) || cond > 1e12 {
		return nil, fmt.Errorf("observations do not determine the %d coefficients (condition %.3g)", c, cond)
	}
	var x mat.VecDense
	if err := qr.SolveVecTo(&x, false, mat.NewVecDense(len(y), y)); err != nil {
		return nil, err
	}
	out := make([]float64, c)
	for i := range c {
		out[i] = x.AtVec(i)
		if math.IsNaN(out[i]) || math.IsInf(out[i], 0) {
			return nil, fmt.Errorf("coefficient %d is %v", i, out[i])
		}
	}
	return out, nil
}
