package migration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Precopy is QEMU's pre-copy as cemon measured it on real migrations (Kind
// "precopy"). It extends section 6 of the algorithms page where QEMU does not
// behave as the paper's model assumes; see the package documentation.
const Precopy Kind = "precopy"

// Defaults of the Calibration, measured on QEMU 10 under TCG on cemon's
// testbed (docs/migration/qemu_validation_priority.md) and checked on a
// fresh set of runs (docs/migration/qemu_validation_quiet.md).
const (
	// DefaultStopS is T_stop, what the stop-and-copy costs beyond sending
	// what is left: stopping the vCPU, the last dirty-bitmap sync and the
	// device state. With the link limited, QEMU's downtime was the bytes it
	// sent while the guest was stopped over R' to within a few tens of
	// milliseconds either way (residuals averaging about zero), so the
	// default is small.
	DefaultStopS = 0.01
	// DefaultStopShare is σ: the stop-and-copy leaves at R', as pre-copy did
	// (the link is full when the guest stops).
	DefaultStopShare = 1
	// DefaultLeftover is θ: QEMU syncs the dirty bitmap once what is left of
	// the current pass falls below the threshold; the last rounds of idle
	// guests carried 0.59–0.87 of the threshold.
	DefaultLeftover = 0.75
)

// Calibration holds the constants of the pre-copy model that the paper's
// model does not have. The zero value of a field means its default: 1 for
// RateFactor, DirtyFactor and StopShare, DefaultStopS, DefaultLeftover.
// Fit them from records with FitCalibration.
type Calibration struct {
	// RateFactor is η: pre-copy moves η·R MB/s of guest memory when R is the
	// rate it was given (protocol overhead, and a migration thread that does
	// not keep up with R when the machine is busy).
	RateFactor float64 `json:"rate_factor,omitempty"`
	// DirtyFactor is κ: while the guest migrates, its pages become dirty at
	// κ·D, D being the rate measured before the move (the kernel's own writes
	// and a TCG guest slowed by the migration make the two differ).
	DirtyFactor float64 `json:"dirty_factor,omitempty"`
	// StopS is T_stop, the stop-and-copy's fixed cost in seconds.
	StopS float64 `json:"stop_s,omitempty"`
	// StopShare is σ: the downtime is T_stop + σ·V_n/R', V_n being the whole
	// stop-and-copy (the leftover ℓ of the last pass and what the guest
	// dirtied during the last pre-copy round). QEMU's downtime ends when its
	// last byte is in the socket: with the link the bottleneck the socket is
	// full when the guest stops, and the stop-and-copy enters it as fast as
	// the link drains it (σ = 1); a socket with room takes part of it at once
	// (σ < 1).
	StopShare float64 `json:"stop_share,omitempty"`
	// Leftover is θ (0..1): the share of the threshold that is still unsent
	// when QEMU syncs the dirty bitmap and tests for convergence.
	Leftover float64 `json:"leftover,omitempty"`
}

// DefaultCalibration is the Calibration with every default filled in.
var DefaultCalibration = Calibration{RateFactor: 1, DirtyFactor: 1, StopS: DefaultStopS, StopShare: DefaultStopShare, Leftover: DefaultLeftover}

// DecodeCalibration reads a Calibration from JSON (an object with its fields
// and nothing else) and validates it.
func DecodeCalibration(b []byte) (Calibration, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Calibration
	if err := dec.Decode(&c); err != nil {
		return Calibration{}, fmt.Errorf("%w: calibration: %v", ErrInput, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Calibration{}, fmt.Errorf("%w: calibration: data after the object", ErrInput)
	}
	if err := c.Validate(); err != nil {
		return Calibration{}, err
	}
	return c, nil
}

// orDefault fills the zero fields with the defaults.
func (c Calibration) orDefault() Calibration {
	if c.RateFactor == 0 {
		c.RateFactor = 1
	}
	if c.DirtyFactor == 0 {
		c.DirtyFactor = 1
	}
	if c.StopS == 0 {
		c.StopS = DefaultStopS
	}
	if c.StopShare == 0 {
		c.StopShare = DefaultStopShare
	}
	if c.Leftover == 0 {
		c.Leftover = DefaultLeftover
	}
	return c
}

// Validate names every bad field.
func (c Calibration) Validate() error {
	var errs []error
	bad := func(v float64) bool { return v < 0 || math.IsNaN(v) || math.IsInf(v, 0) }
	if bad(c.RateFactor) || c.RateFactor > 2 {
		errs = append(errs, fmt.Errorf("%w: rate factor %v (0 < η ≤ 2)", ErrInput, c.RateFactor))
	}
	if bad(c.DirtyFactor) || c.DirtyFactor > 10 {
		errs = append(errs, fmt.Errorf("%w: dirty factor %v (0 < κ ≤ 10)", ErrInput, c.DirtyFactor))
	}
	if bad(c.StopS) || c.StopS > 60 {
		errs = append(errs, fmt.Errorf("%w: stop cost %v s (0..60)", ErrInput, c.StopS))
	}
	if bad(c.StopShare) || c.StopShare > 10 {
		errs = append(errs, fmt.Errorf("%w: stop share %v (0..10, 0 for the default)", ErrInput, c.StopShare))
	}
	if bad(c.Leftover) || c.Leftover >= 1 {
		errs = append(errs, fmt.Errorf("%w: leftover %v (0 ≤ θ < 1)", ErrInput, c.Leftover))
	}
	return errors.Join(errs...)
}

// precopy is QEMU's pre-copy with the calibration c:
//
//	R' = η·R, D' = κ·D, V_thd = limit·R' (QEMU's threshold is its measured
//	bandwidth times the downtime limit), ℓ = θ·V_thd;
//	V_0 = V_mem; round i sends V_i − ℓ in T_i = (V_i − ℓ)/R' (the whole of
//	V_i when V_i ≤ ℓ); then QEMU syncs: V_{i+1} = ℓ + min(D'·T_i, V_mem)
//	(a round cannot dirty more than the whole memory);
//	stop-and-copy once V_{i+1} ≤ V_thd: it sends V_{i+1} and the guest is
//	paused T_down = T_stop + σ·V_{i+1}/R';
//	T_mig = Σ T_i + T_down, V_mig = Σ (V_i − ℓ) + V_{n}.
//
// QEMU has no no-progress rule: a guest that dirties as fast as it is sent
// keeps being copied until it is cancelled; the model stops at the profile's
// round limit or traffic cap, or ModelRoundLimit, and reports it as not
// converging.
func precopy(in Input, p Profile, c Calibration) Result {
	rate := c.RateFactor * in.RateMBs
	d := c.DirtyFactor * in.DirtyMBs
	thd := p.threshold(rate)
	left := c.Leftover * thd
	capMB, limit := p.trafficCap(in.MemMB), p.roundLimit()
	v := in.MemMB
	var sent, elapsed float64
	var trace []Round
	for i := 0; ; i++ {
		s := v - left
		if s <= 0 {
			s = v // what is left of a pass below the threshold: sent whole
		}
		t := s / rate
		dirty := min(d*t, in.MemMB)
		sent += s
		elapsed += t
		trace = append(trace, Round{DurationS: t, DirtyMB: dirty, SentMB: s})
		next := v - s + dirty
		var stop Stop
		switch {
		case next <= thd:
			stop = StopThreshold
		case i+1 >= limit:
			stop = StopModel
			if p.MaxRounds > 0 {
				stop = StopRounds
			}
		case sent > capMB:
			stop = StopTraffic
		}
		if stop != "" {
			down := c.StopS + c.StopShare*next/rate
			trace = append(trace, Round{DurationS: down, SentMB: next})
			return Result{
				Rounds:     i + 1,
				TotalTimeS: elapsed + down,
				DowntimeS:  down,
				TrafficMB:  sent + next,
				Stop:       stop,
				Converged:  stop == StopThreshold,
				Trace:      trace,
			}
		}
		v = next
	}
}

// FitCalibration fits the pre-copy constants to records, each from the
// figures that determine it, starting from prior (whose zero fields mean the
// defaults); a constant the records do not determine keeps the prior's
// value. It returns the fit and how many records it used.
//
//   - η: per record, the pre-copy part of its traffic over what R would have
//     carried in its pre-copy time, η_k = (traffic − V_last) / (R·(T_mig −
//     T_down)); η is their median.
//   - κ: per completed record that dirtied memory, what was sent beyond the
//     memory over the measured dirty rate times the pre-copy time,
//     κ_k = (traffic − V_mem) / (D·(T_mig − T_down)); κ is their median
//     (cancelled runs are left out: a guest that dirties its whole working
//     set each round sends no more).
//   - T_stop and σ: least squares over the completed records of
//     T_down = T_stop + σ·x, x = V_last/R'; with fewer than three records,
//     or x too alike to tell a slope from noise (the largest below twice the
//     smallest: under one downtime limit every stop-and-copy lies between
//     θ·V_thd and V_thd, 1/θ apart), T_stop alone as the median of
//     T_down − σ·x (σ kept).
//
// Medians, not least squares, for η and κ: on a shared machine a record can
// be slowed several times over by other work, and one such record would
// move a least-squares η for every prediction; the median of the ratios
// minimises the sum of absolute errors of log η, the relative error.
// Finally the fit is kept only where it does not do worse on the records
// themselves: η and κ together only if they do not raise the mean relative
// error of total time plus traffic over the completed records above
// prior's, then T_stop and σ only if they do not raise the mean absolute
// error of the downtime above that of prior's stop constants at the chosen
// η and κ. So a refit never predicts its own training records' time and
// traffic worse than the constants it started from.
//
// V_last is the record's last round (the stop-and-copy), zero for cancelled
// records; a record whose last round carries more than half its traffic
// (its rounds missed the pre-copy passes) is left out. Records of other
// profiles are ignored.
func FitCalibration(records []Record, prior Calibration) (Calibration, int, error) {
	c := prior.orDefault()
	if err := c.Validate(); err != nil {
		return Calibration{}, 0, err
	}
	var etas, kappas []float64
	type down struct{ x, y float64 }
	var downs []down
	var done []Record
	used := 0
	for _, r := range records {
		if r.Profile != "qemu" || !(r.RateMBs > 0) || !(r.TotalTimeS > 0) {
			continue
		}
		completed := r.DowntimeS > 0
		last := 0.0
		if completed && len(r.Rounds) > 0 {
			last = r.Rounds[len(r.Rounds)-1].SentMB
			if last > r.TrafficMB/2 {
				// Rounds that missed the pre-copy passes (sampled too
				// coarsely): the stop-and-copy is unknown.
				continue
			}
		}
		used++
		pre := r.TotalTimeS - r.DowntimeS
		if pre > 0 && r.TrafficMB > last {
			etas = append(etas, (r.TrafficMB-last)/(r.RateMBs*pre))
		}
		if completed && r.DirtyMBs > 0 && pre > 0 && r.TrafficMB > r.RAMMB {
			kappas = append(kappas, (r.TrafficMB-r.RAMMB)/(r.DirtyMBs*pre))
		}
		if completed {
			downs = append(downs, down{x: last / r.RateMBs, y: r.DowntimeS}) // made V_last/R' below, once η is known
			done = append(done, r)
		}
	}
	if used == 0 {
		return Calibration{}, 0, fmt.Errorf("%w: no qemu records with a rate and a time", ErrFit)
	}
	fit := c
	if eta, ok := median(etas); ok && eta > 0 && eta <= 2 {
		fit.RateFactor = eta
	}
	if kappa, ok := median(kappas); ok && kappa > 0 && kappa <= 10 {
		fit.DirtyFactor = kappa
	}
	if trainError(done, fit, false) <= trainError(done, c, false) {
		c.RateFactor, c.DirtyFactor = fit.RateFactor, fit.DirtyFactor
	}
	lo, hi := math.Inf(1), 0.0
	for i := range downs {
		downs[i].x /= c.RateFactor
		lo, hi = min(lo, downs[i].x), max(hi, downs[i].x)
	}
	if len(downs) > 0 {
		fit := c
		fitted := false
		if len(downs) >= 3 && hi >= 2*lo {
			a := mat.NewDense(len(downs), 2, nil)
			y := make([]float64, len(downs))
			for i, x := range downs {
				a.Set(i, 0, 1)
				a.Set(i, 1, x.x)
				y[i] = x.y
			}
			if s, err := leastSquares(a, y); err == nil && s[0] > 0 && s[1] > 0 && s[1] <= 10 {
				fit.StopS, fit.StopShare, fitted = s[0], s[1], true
			}
		}
		if !fitted {
			// T_stop alone: the median of T_down − σ·x (a run whose socket
			// took the stop-and-copy at once must not pull every other's).
			res := make([]float64, len(downs))
			for i, x := range downs {
				res[i] = x.y - c.StopShare*x.x
			}
			if m, ok := median(res); ok && m > 0 {
				fit.StopS = m
			}
		}
		// (The downtime is part of the total time: the time and traffic
		// must not get worse either.)
		if trainError(done, fit, true) <= trainError(done, c, true) && trainError(done, fit, false) <= trainError(done, c, false) {
			c = fit
		}
	}
	return c, used, c.Validate()
}

// trainError is the pre-copy model's error with c over completed records:
// the mean relative error of total time plus that of traffic, or with
// downtime the mean absolute error of the downtime in seconds.
func trainError(recs []Record, c Calibration, downtime bool) float64 {
	var sum float64
	n := 0
	for _, r := range recs {
		res := precopy(Input{MemMB: r.RAMMB, DirtyMBs: r.DirtyMBs, RateMBs: r.RateMBs}, QEMU(), c)
		switch {
		case downtime:
			sum += math.Abs(res.DowntimeS - r.DowntimeS)
		case r.TotalTimeS > 0 && r.TrafficMB > 0:
			sum += math.Abs(res.TotalTimeS-r.TotalTimeS)/r.TotalTimeS + math.Abs(res.TrafficMB-r.TrafficMB)/r.TrafficMB
		default:
			continue
		}
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// median returns the median of v; ok is false when v is empty.
func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return m, !math.IsNaN(m) && !math.IsInf(m, 0)
}
