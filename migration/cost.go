package migration

import (
	"errors"
	"fmt"
	"math"
)

// Weights are the decision cost's a, b, c, d. The zero value is 0.25 each.
type Weights struct {
	Downtime float64 `json:"downtime"`
	Time     float64 `json:"time"`
	Traffic  float64 `json:"traffic"`
	Energy   float64 `json:"energy"`
}

// DefaultWeights weighs the four costs equally.
var DefaultWeights = Weights{0.25, 0.25, 0.25, 0.25}

func (w Weights) orDefault() Weights {
	if w == (Weights{}) {
		return DefaultWeights
	}
	return w
}

// Validate checks that the weights are not negative and sum to 1.
func (w Weights) Validate() error {
	w = w.orDefault()
	var errs []error
	for _, f := range []struct {
		name string
		v    float64
	}{{"Downtime", w.Downtime}, {"Time", w.Time}, {"Traffic", w.Traffic}, {"Energy", w.Energy}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			errs = append(errs, fmt.Errorf("%w: weight %s %v", ErrInput, f.name, f.v))
		}
	}
	if s := w.Downtime + w.Time + w.Traffic + w.Energy; math.Abs(s-1) > 1e-9 {
		errs = append(errs, fmt.Errorf("%w: weights sum to %v, not 1", ErrInput, s))
	}
	return errors.Join(errs...)
}

// DecisionCosts is C(VM) = a·T_down + b·T_mig + c·V_mig + d·E_mig for each
// candidate, each term divided by its largest value over the candidates
// (a term that is zero for all counts zero). Lower is cheaper.
func DecisionCosts(results []Result, w Weights) ([]float64, error) {
	w = w.orDefault()
	if err := w.Validate(); err != nil {
		return nil, err
	}
	var mDown, mTime, mTraffic, mEnergy float64
	for _, r := range results {
		mDown = max(mDown, r.DowntimeS)
		mTime = max(mTime, r.TotalTimeS)
		mTraffic = max(mTraffic, r.TrafficMB)
		mEnergy = max(mEnergy, r.EnergyJ)
	}
	norm := func(v, m float64) float64 {
		if m <= 0 {
			return 0
		}
		return v / m
	}
	out := make([]float64, len(results))
	for i, r := range results {
		out[i] = w.Downtime*norm(r.DowntimeS, mDown) + w.Time*norm(r.TotalTimeS, mTime) +
			w.Traffic*norm(r.TrafficMB, mTraffic) + w.Energy*norm(r.EnergyJ, mEnergy)
	}
	return out, nil
}

// Cheapest returns the index of the lowest decision cost (the first on a
// tie), or -1 for none.
func Cheapest(costs []float64) int {
	best := -1
	for i, c := range costs {
		if best < 0 || c < costs[best] {
			best = i
		}
	}
	return best
}
