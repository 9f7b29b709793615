package migration

import (
	"errors"
	"fmt"
	"math"
)

// Units: memory in MB (10^6 bytes), rates in MB/s, times in seconds, energy in
// joules, as in the paper's fits.
const (
	// PageBytes is the size of one memory page.
	PageBytes = 4096
	// DefaultResume is T_resume, the time to resume the VM at the destination.
	DefaultResume = 0.020
	// DefaultDowntimeLimit is QEMU's default downtime limit, in seconds.
	DefaultDowntimeLimit = 0.300
	// DefaultDeltaMBs is δ in R = min(D + δ, R_max): 100 Mbit/s in MB/s.
	DefaultDeltaMBs = 100e6 / 8 / 1e6
	// ModelRoundLimit bounds the rounds the model computes when the profile
	// sets no limit and the migration never meets its stop rule.
	ModelRoundLimit = 1000
)

// Errors Predict and the fits return, wrapped with details.
var (
	ErrInput   = errors.New("migration: bad input")
	ErrProfile = errors.New("migration: bad profile")
	ErrFit     = errors.New("migration: cannot fit")
)

// Profile is a hypervisor's pre-copy stop rule.
type Profile struct {
	// Name names the profile in results and records.
	Name string `json:"name"`
	// ThresholdMB is V_thd: pre-copy stops when the next round would send no
	// more than this. Used when DowntimeLimit is zero.
	ThresholdMB float64 `json:"threshold_mb,omitempty"`
	// DowntimeLimit, when positive, replaces ThresholdMB by DowntimeLimit·R:
	// stop when what remains can be sent within the limit at the current rate.
	DowntimeLimit float64 `json:"downtime_limit_s,omitempty"`
	// MaxRounds bounds the number of pre-copy rounds (0: no bound).
	MaxRounds int `json:"max_rounds,omitempty"`
	// TrafficFactor, when positive, stops pre-copy once the traffic sent
	// exceeds TrafficFactor·V_mem.
	TrafficFactor float64 `json:"traffic_factor,omitempty"`
	// Resume is T_resume in seconds; zero means DefaultResume.
	Resume float64 `json:"resume_s,omitempty"`
}

// Xen is Xen's stop rule: 50 pages left, at most 30 rounds, or traffic above
// three times the memory.
func Xen() Profile {
	return Profile{Name: "xen", ThresholdMB: 50 * PageBytes / 1e6, MaxRounds: 30, TrafficFactor: 3, Resume: DefaultResume}
}

// QEMU is QEMU/KVM's stop rule: what remains fits in the downtime limit
// (300 ms) at the current rate; no round limit.
func QEMU() Profile {
	return Profile{Name: "qemu", DowntimeLimit: DefaultDowntimeLimit, Resume: DefaultResume}
}

// ProfileByName returns the xen or qemu profile.
func ProfileByName(name string) (Profile, error) {
	switch name {
	case "xen", "":
		return Xen(), nil
	case "qemu", "kvm":
		return QEMU(), nil
	}
	return Profile{}, fmt.Errorf("%w: unknown profile %q (want xen or qemu)", ErrProfile, name)
}

// Validate names every bad field.
func (p Profile) Validate() error {
	var errs []error
	bad := func(v float64) bool { return v < 0 || math.IsNaN(v) || math.IsInf(v, 0) }
	if bad(p.ThresholdMB) {
		errs = append(errs, fmt.Errorf("%w: ThresholdMB %v", ErrProfile, p.ThresholdMB))
	}
	if bad(p.DowntimeLimit) {
		errs = append(errs, fmt.Errorf("%w: DowntimeLimit %v", ErrProfile, p.DowntimeLimit))
	}
	if p.MaxRounds < 0 {
		errs = append(errs, fmt.Errorf("%w: MaxRounds %d", ErrProfile, p.MaxRounds))
	}
	if bad(p.TrafficFactor) || (p.TrafficFactor > 0 && p.TrafficFactor < 1) {
		errs = append(errs, fmt.Errorf("%w: TrafficFactor %v (0 or at least 1)", ErrProfile, p.TrafficFactor))
	}
	if bad(p.Resume) {
		errs = append(errs, fmt.Errorf("%w: Resume %v", ErrProfile, p.Resume))
	}
	return errors.Join(errs...)
}

func (p Profile) threshold(rate float64) float64 {
	if p.DowntimeLimit > 0 {
		return p.DowntimeLimit * rate
	}
	return p.ThresholdMB
}

func (p Profile) resume() float64 {
	if p.Resume == 0 {
		return DefaultResume
	}
	return p.Resume
}

// trafficCap returns the traffic after which pre-copy stops (+Inf: none).
func (p Profile) trafficCap(mem float64) float64 {
	if p.TrafficFactor > 0 {
		return p.TrafficFactor * mem
	}
	return math.Inf(1)
}

// roundLimit returns the largest n (rounds 0..n-1 pre-copy, round n
// stop-and-copy) the profile allows.
func (p Profile) roundLimit() int {
	if p.MaxRounds > 0 {
		return p.MaxRounds
	}
	return ModelRoundLimit
}

// Gamma holds the coefficients of γ = A·T_i + B·D + C (T_i in s, D in MB/s).
type Gamma struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
	C float64 `json:"c"`
}

// PaperGamma is Liu et al.'s fit.
var PaperGamma = Gamma{A: -0.0463, B: -0.0001, C: 0.3586}

// At returns γ for a round of duration t at dirty rate d, clamped to [0, 1]
// (the paper's fit goes negative for rounds longer than about 7.7 s).
func (g Gamma) At(t, d float64) float64 {
	return min(max(g.A*t+g.B*d+g.C, 0), 1)
}

// Energy holds the coefficients of E = Alpha·V_mig + Beta (V_mig in MB, E in J).
type Energy struct {
	Alpha float64 `json:"alpha"`
	Beta  float64 `json:"beta"`
}

// PaperEnergy is Liu et al.'s fit.
var PaperEnergy = Energy{Alpha: 0.512, Beta: 20.165}

// Joules returns the energy of a migration that sends trafficMB.
func (e Energy) Joules(trafficMB float64) float64 { return e.Alpha*trafficMB + e.Beta }

// Kind selects the model.
type Kind string

// The models: the base closed form, and the writable-working-set iteration
// (Algorithm 1).
const (
	Base Kind = "base"
	WWS  Kind = "wws"
)

// ParseKind reads base, wws or precopy.
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case Base, WWS, Precopy:
		return Kind(s), nil
	case "":
		return WWS, nil
	}
	return "", fmt.Errorf("%w: unknown model %q (want base, wws or precopy)", ErrInput, s)
}

// Stop says which rule ended pre-copy.
type Stop string

// The stop rules.
const (
	StopThreshold  Stop = "threshold"   // V_{n} ≤ V_thd (or the downtime limit)
	StopNoProgress Stop = "no-progress" // the next round would send more than this one
	StopRounds     Stop = "round-limit" // the profile's round limit
	StopTraffic    Stop = "traffic-limit"
	StopModel      Stop = "model-limit" // ModelRoundLimit, no profile rule met
)

// Input is what the model needs about one migration.
type Input struct {
	MemMB    float64 // V_mem
	DirtyMBs float64 // D
	RateMBs  float64 // R
}

// Validate names every bad field.
func (in Input) Validate() error {
	var errs []error
	fin := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !(in.MemMB > 0) || !fin(in.MemMB) {
		errs = append(errs, fmt.Errorf("%w: memory %v MB must be positive", ErrInput, in.MemMB))
	}
	if !(in.DirtyMBs >= 0) || !fin(in.DirtyMBs) {
		errs = append(errs, fmt.Errorf("%w: dirty rate %v MB/s must not be negative", ErrInput, in.DirtyMBs))
	}
	if !(in.RateMBs > 0) || !fin(in.RateMBs) {
		errs = append(errs, fmt.Errorf("%w: transfer rate %v MB/s must be positive", ErrInput, in.RateMBs))
	}
	return errors.Join(errs...)
}

// Config chooses the model, the profile and the coefficients. The zero value
// is the WWS model under Xen with the paper's fits.
type Config struct {
	Kind    Kind
	Profile Profile // zero: Xen()
	Gamma   *Gamma  // nil: PaperGamma
	Energy  *Energy // nil: PaperEnergy
	// Calibration is the Precopy model's constants (nil: DefaultCalibration).
	Calibration *Calibration
}

// Round is one round of a migration, predicted or recorded.
type Round struct {
	DurationS float64 `json:"duration_s"`
	DirtyMB   float64 `json:"dirty_mb"`   // memory dirtied during the round
	SentMB    float64 `json:"sent_mb"`    // V_i
	SkippedMB float64 `json:"skipped_mb"` // W_i, hot pages held back for later
}

// Result is a predicted migration.
type Result struct {
	Model   Kind   `json:"model"`
	Profile string `json:"profile"`
	// Rounds is the paper's n: rounds 0..n-1 are pre-copy, round n is the
	// stop-and-copy round; n+1 rounds are sent in all.
	Rounds     int     `json:"rounds"`
	TotalTimeS float64 `json:"total_time_s"`
	DowntimeS  float64 `json:"downtime_s"`
	TrafficMB  float64 `json:"traffic_mb"`
	EnergyJ    float64 `json:"energy_j"`
	// Converged is false when the dirty rate does not fall below the
	// transfer rate; the figures are then what the profile's stop rule gives.
	Converged bool    `json:"converged"`
	Stop      Stop    `json:"stop"`
	RateMBs   float64 `json:"rate_mb_s"`
	Trace     []Round `json:"trace,omitempty"`
}

// Predict predicts one migration under cfg.
func Predict(in Input, cfg Config) (Result, error) {
	if err := in.Validate(); err != nil {
		return Result{}, err
	}
	p := cfg.Profile
	if p == (Profile{}) {
		p = Xen()
	}
	if err := p.Validate(); err != nil {
		return Result{}, err
	}
	kind := cfg.Kind
	if kind == "" {
		kind = WWS
	}
	g := PaperGamma
	if cfg.Gamma != nil {
		g = *cfg.Gamma
	}
	e := PaperEnergy
	if cfg.Energy != nil {
		e = *cfg.Energy
	}
	var r Result
	switch kind {
	case Base:
		r = closedForm(in, p)
		r.Converged = in.DirtyMBs < in.RateMBs
	case WWS:
		r = iterate(in, p, g)
		r.Converged = in.DirtyMBs < in.RateMBs
	case Precopy:
		c := DefaultCalibration
		if cfg.Calibration != nil {
			c = cfg.Calibration.orDefault()
		}
		if err := c.Validate(); err != nil {
			return Result{}, err
		}
		r = precopy(in, p, c)
	default:
		return Result{}, fmt.Errorf("%w: unknown model %q", ErrInput, kind)
	}
	r.Model, r.Profile, r.RateMBs = kind, p.Name, in.RateMBs
	r.EnergyJ = e.Joules(r.TrafficMB)
	return r, nil
}

// closedForm is the base model: λ = D/R, V_i = V_mem·λ^i,
// n = ⌈log_λ(V_thd/V_mem)⌉ (at least 1: round 0 always copies the whole
// memory while the VM runs), V_mig = V_mem·(1−λ^{n+1})/(1−λ),
// T_mig = V_mig/R, T_down = T_n + T_resume. The profile's round limit and
// traffic cap, and the no-progress rule for λ > 1, bound n as they bound
// Algorithm 1.
func closedForm(in Input, p Profile) Result {
	mem, d, rate := in.MemMB, in.DirtyMBs, in.RateMBs
	lambda := d / rate
	thd := p.threshold(rate)
	n, stop := p.roundLimit(), StopModel
	if p.MaxRounds > 0 {
		stop = StopRounds
	}
	// try lowers n to k; ties go to the rule Algorithm 1 checks first
	// (threshold and no-progress before the round limit before the cap).
	try := func(k int, s Stop, winsTies bool) {
		if k < n || (winsTies && k == n) {
			n, stop = k, s
		}
	}
	// Traffic cap: round k is the last when Σ_{j<k} V_j > cap, that is
	// V_mem·(1−λ^k)/(1−λ) > cap.
	if capMB := p.trafficCap(mem); !math.IsInf(capMB, 1) {
		switch {
		case lambda == 1:
			try(int(math.Floor(capMB/mem))+1, StopTraffic, false)
		case lambda > 0:
			if r := 1 - capMB*(1-lambda)/mem; r > 0 {
				try(max(int(math.Floor(math.Log(r)/math.Log(lambda)))+1, 1), StopTraffic, false)
			}
		}
	}
	switch {
	case lambda == 0:
		try(1, StopThreshold, true)
	case lambda < 1:
		k := 1
		if thd < mem {
			k = max(1, int(math.Ceil(math.Log(thd/mem)/math.Log(lambda))))
		}
		try(k, StopThreshold, true)
	case lambda > 1:
		try(1, StopNoProgress, true)
	}
	var vmig float64
	if lambda == 1 {
		vmig = mem * float64(n+1)
	} else {
		vmig = mem * (1 - math.Pow(lambda, float64(n+1))) / (1 - lambda)
	}
	vn := mem * math.Pow(lambda, float64(n))
	return Result{
		Rounds:     n,
		TotalTimeS: vmig / rate,
		DowntimeS:  vn/rate + p.resume(),
		TrafficMB:  vmig,
		Stop:       stop,
	}
}

// iterate is Algorithm 1: T_i = V_i/R, γ = a·T_i + b·D + c clamped to
// [0, 1], W_{i+1} = γ·T_i·D, V_{i+1} = T_i·D − W_{i+1}; stop when
// V_{i+1} ≤ V_thd, or V_{i+1} > V_i, or at the round limit or traffic cap;
// the last round then sends T_i·D and T_down = T_i·D/R + T_resume.
func iterate(in Input, p Profile, g Gamma) Result {
	mem, d, rate := in.MemMB, in.DirtyMBs, in.RateMBs
	thd, capMB, limit := p.threshold(rate), p.trafficCap(mem), p.roundLimit()
	v := mem
	t := v / rate
	sent, elapsed := v, t
	trace := []Round{{DurationS: t, DirtyMB: t * d, SentMB: v}}
	for i := 0; ; i++ {
		dirty := t * d
		w := g.At(t, d) * dirty
		next := dirty - w
		var stop Stop
		switch {
		case next <= thd:
			stop = StopThreshold
		case next > v:
			stop = StopNoProgress
		case i+1 >= limit:
			stop = StopModel
			if p.MaxRounds > 0 {
				stop = StopRounds
			}
		case sent > capMB:
			stop = StopTraffic
		}
		if stop != "" {
			last := dirty
			tl := last / rate
			trace = append(trace, Round{DurationS: tl, SentMB: last})
			return Result{
				Rounds:     i + 1,
				TotalTimeS: elapsed + tl,
				DowntimeS:  tl + p.resume(),
				TrafficMB:  sent + last,
				Stop:       stop,
				Trace:      trace,
			}
		}
		v, t = next, next/rate
		sent += v
		elapsed += t
		trace = append(trace, Round{DurationS: t, DirtyMB: t * d, SentMB: v, SkippedMB: w})
	}
}
