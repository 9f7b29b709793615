package afps

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Errors returned by this package. They are wrapped with context; test with errors.Is.
var (
	ErrBadConfig   = errors.New("afps: bad configuration")
	ErrBadSampler  = errors.New("afps: unknown sampler")
	ErrUnknownFlow = errors.New("afps: unknown flow")
	ErrDuplicate   = errors.New("afps: duplicate flow")
	ErrBadTask     = errors.New("afps: bad task")
)

// Kind names a sampling algorithm (algorithms.md section 5).
type Kind uint8

// The samplers.
const (
	Fixed   Kind = iota // constant interval
	PT                  // proportional tuning, Eq. 18
	EWMAT               // EWMA tuning, Eq. 19
	SWT                 // sliding-window tuning, Algorithm 4
	PayLess             // the PayLess rule on the byte change between two polls
)

var kindNames = [...]string{"fixed", "pt", "ewmat", "swt", "payless"}

// Kinds lists every sampler in the order the reports use.
func Kinds() []Kind { return []Kind{Fixed, PT, EWMAT, SWT, PayLess} }

// String returns the sampler's flag name: fixed, pt, ewmat, swt or payless.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ParseKind reads a sampler name (case-insensitive).
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Kind(i), nil
		}
	}
	return 0, fmt.Errorf("%w: %q (want fixed, pt, ewmat, swt or payless)", ErrBadSampler, s)
}

// Defaults of Config.
const (
	DefaultMin      = 250 * time.Millisecond
	DefaultMax      = 5 * time.Second
	DefaultInitial  = time.Second // the paper's initial interval for every sampler
	DefaultAlpha    = 0.1         // PT's traffic factor
	DefaultBeta     = 0.5         // EWMAT's smoothing factor
	DefaultEpsilon  = 1.0         // bytes/s: rate changes below this count as none
	DefaultWMin     = 3
	DefaultWMax     = 32
	DefaultHigh     = 1 << 20 // PayLess Δ_high, bytes per interval (1 MB)
	DefaultLow      = 100 << 10
	DefaultPLFactor = 2.0
)

// Config chooses a sampler and its parameters. The zero value of every field means its
// default (DefaultMin, DefaultMax, ...), so Config{Kind: SWT} is SWT as defined.
type Config struct {
	Kind Kind
	Min  time.Duration // τ_min, default 250 ms
	Max  time.Duration // τ_max, default 5 s
	// Initial is the first interval; default 1 s, except PayLess, which starts at Min
	// as published. Fixed polls every Initial.
	Initial time.Duration
	Alpha   float64 // PT and EWMAT: traffic factor α, default 0.1
	Beta    float64 // EWMAT: smoothing factor β in (0, 1), default 0.5
	Epsilon float64 // PT and EWMAT: ε in bytes/s, default 1
	WMin    int     // SWT: smallest window, default 3
	WMax    int     // SWT: largest window, default 32
	// PayLess: thresholds on the bytes a flow sent over the last interval and the
	// factors applied (τ divided by Down above High, multiplied by Up below Low).
	High, Low uint64  // default 1 MB and 100 kB
	Up, Down  float64 // default 2 and 2
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Min == 0 {
		c.Min = DefaultMin
	}
	if c.Max == 0 {
		c.Max = DefaultMax
	}
	if c.Initial == 0 {
		c.Initial = DefaultInitial
		if c.Kind == PayLess {
			c.Initial = c.Min
		}
	}
	if c.Alpha == 0 {
		c.Alpha = DefaultAlpha
	}
	if c.Beta == 0 {
		c.Beta = DefaultBeta
	}
	if c.Epsilon == 0 {
		c.Epsilon = DefaultEpsilon
	}
	if c.WMin == 0 {
		c.WMin = DefaultWMin
	}
	if c.WMax == 0 {
		c.WMax = DefaultWMax
	}
	if c.High == 0 {
		c.High = DefaultHigh
	}
	if c.Low == 0 {
		c.Low = DefaultLow
	}
	if c.Up == 0 {
		c.Up = DefaultPLFactor
	}
	if c.Down == 0 {
		c.Down = DefaultPLFactor
	}
	return c
}

// MaxWindow bounds SWT's window so that per-flow state stays small.
const MaxWindow = 1024

// Validate names every bad field (after defaults are applied).
func (c Config) Validate() error {
	d := c.WithDefaults()
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, a...)...))
	}
	if d.Kind > PayLess {
		errs = append(errs, fmt.Errorf("%w: %d", ErrBadSampler, d.Kind))
	}
	if d.Min <= 0 {
		bad("min interval %v must be positive", d.Min)
	}
	if d.Max < d.Min {
		bad("max interval %v is below min interval %v", d.Max, d.Min)
	}
	if d.Max > 24*time.Hour {
		bad("max interval %v is over 24h", d.Max)
	}
	if d.Initial < 0 || d.Initial > 24*time.Hour {
		bad("initial interval %v out of range", d.Initial)
	}
	if !(d.Alpha > 0) || math.IsInf(d.Alpha, 0) {
		bad("alpha %v must be positive", d.Alpha)
	}
	if !(d.Beta > 0 && d.Beta < 1) {
		bad("beta %v must be in (0, 1)", d.Beta)
	}
	if !(d.Epsilon > 0) || math.IsInf(d.Epsilon, 0) {
		bad("epsilon %v must be positive", d.Epsilon)
	}
	if d.WMin < 2 || d.WMax < d.WMin || d.WMax > MaxWindow {
		bad("window %d..%d, want 2 <= wmin <= wmax <= %d", d.WMin, d.WMax, MaxWindow)
	}
	if d.Low > d.High {
		bad("payless low %d above high %d", d.Low, d.High)
	}
	if !(d.Up > 1) || !(d.Down > 1) || math.IsInf(d.Up, 0) || math.IsInf(d.Down, 0) {
		bad("payless factors %v, %v must be above 1", d.Up, d.Down)
	}
	return errors.Join(errs...)
}

// Observation is what a poll (or a FLOW_REMOVED) tells a sampler about one flow: the
// bytes it sent since the previous reading and the time between the two readings.
type Observation struct {
	Bytes   uint64        // byte change since the previous reading
	Elapsed time.Duration // time since the previous reading (> 0)
}

// Rate is the observation's rate in bytes per second (0 if Elapsed is not positive).
func (o Observation) Rate() float64 {
	if o.Elapsed <= 0 {
		return 0
	}
	return float64(o.Bytes) / o.Elapsed.Seconds()
}

// Sampler picks a flow's next polling interval from what its polls read. A Sampler
// holds one flow's state; it is not safe for concurrent use.
type Sampler interface {
	// Interval is the current interval τ (before any observation: Config.Initial,
	// clamped).
	Interval() time.Duration
	// Observe takes the reading of the interval just ended and returns the next τ,
	// always within [Min, Max].
	Observe(o Observation) time.Duration
}

// New returns a sampler for one flow. The config must be valid (see Validate); an
// invalid one returns the error.
func New(c Config) (Sampler, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return newSampler(c.WithDefaults()), nil
}

// newSampler builds a sampler from a validated config with defaults applied.
func newSampler(c Config) Sampler {
	tau := clampF(float64(c.Initial), c)
	switch c.Kind {
	case PT:
		return &ptSampler{cfg: &c, tau: tau}
	case EWMAT:
		return &ptSampler{cfg: &c, tau: tau, ewma: true}
	case SWT:
		return &swtSampler{cfg: &c, tau: tau, w: c.WMin}
	case PayLess:
		return &paylessSampler{cfg: &c, tau: tau}
	}
	return &fixedSampler{tau: time.Duration(tau)}
}

func clampF(tau float64, c Config) float64 {
	if math.IsNaN(tau) {
		return float64(c.Max)
	}
	return math.Min(math.Max(tau, float64(c.Min)), float64(c.Max))
}

// fixedSampler: constant τ = Initial (clamped to the bounds).
type fixedSampler struct{ tau time.Duration }

func (s *fixedSampler) Interval() time.Duration           { return s.tau }
func (s *fixedSampler) Observe(Observation) time.Duration { return s.tau }

// ptSampler is PT (Eq. 18) and, with ewma set, EWMAT (Eq. 19).
type ptSampler struct {
	cfg   *Config
	tau   float64 // ns
	n     int     // readings so far
	mean  float64 // x̄: mean rate over the readings
	last  float64 // x_{i−1}
	ewma  bool
	ratio float64 // last PT factor, for tests
}

func (s *ptSampler) Interval() time.Duration { return time.Duration(s.tau) }

// ptFactor is α·x̄/max(|x − x_prev|, ε), or 2 for an idle flow that did not change
// (both α·x̄ and the change below ε), which Eq. 18 leaves undefined (0/ε would pin an
// idle flow at τ_min).
func ptFactor(alpha, eps, mean, x, prev float64) float64 {
	change := math.Abs(x - prev)
	num := alpha * mean
	if num < eps && change < eps {
		return 2
	}
	return num / math.Max(change, eps)
}

func (s *ptSampler) Observe(o Observation) time.Duration {
	x := o.Rate()
	s.n++
	s.mean += (x - s.mean) / float64(s.n)
	if s.n == 1 {
		// The first reading has no predecessor: τ is kept.
		s.last = x
		return time.Duration(s.tau)
	}
	c := s.cfg
	s.ratio = ptFactor(c.Alpha, c.Epsilon, s.mean, x, s.last)
	s.last = x
	pt := clampF(s.tau*s.ratio, *c)
	if s.ewma {
		pt = clampF(c.Beta*pt+(1-c.Beta)*s.tau, *c)
	}
	s.tau = pt
	return time.Duration(s.tau)
}

// swtSampler is SWT (Algorithm 4): a window of recent rates, AIMD on τ and on the
// window's size.
type swtSampler struct {
	cfg *Config
	tau float64
	w   int       // window size limit, WMin..WMax
	win []float64 // oldest first
}

func (s *swtSampler) Interval() time.Duration { return time.Duration(s.tau) }

// significant reports |x − mean(W)| > 2·stddev(W) (population deviation).
// Differences within 1e-9 of the mean (float noise) are not significant.
func significant(win []float64, x float64) bool {
	if len(win) < 2 {
		return false
	}
	var sum float64
	for _, v := range win {
		sum += v
	}
	mean := sum / float64(len(win))
	var ss float64
	for _, v := range win {
		ss += (v - mean) * (v - mean)
	}
	sd := math.Sqrt(ss / float64(len(win)))
	return math.Abs(x-mean) > 2*sd+1e-9*math.Max(1, math.Abs(mean))
}

func (s *swtSampler) Observe(o Observation) time.Duration {
	x := o.Rate()
	c := s.cfg
	if significant(s.win, x) {
		s.tau = clampF(s.tau/2, *c)
		s.w = max(s.w/2, c.WMin)
	} else {
		s.tau = clampF(s.tau*2, *c)
		s.w = min(s.w+1, c.WMax)
	}
	// The reading enters the window in both cases: were it kept out after a change, a
	// flow that moved to a new steady rate would be judged against its old rate forever
	// and stay at τ_min.
	s.win = append(s.win, x)
	if over := len(s.win) - s.w; over > 0 {
		s.win = append(s.win[:0], s.win[over:]...)
	}
	return time.Duration(s.tau)
}

// paylessSampler is PayLess's rule: above High bytes in the last interval τ /= Down,
// below Low τ *= Up, clamped.
type paylessSampler struct {
	cfg *Config
	tau float64
}

func (s *paylessSampler) Interval() time.Duration { return time.Duration(s.tau) }

func (s *paylessSampler) Observe(o Observation) time.Duration {
	c := s.cfg
	switch {
	case o.Bytes > c.High:
		s.tau = clampF(s.tau/c.Down, *c)
	case o.Bytes < c.Low:
		s.tau = clampF(s.tau*c.Up, *c)
	}
	return time.Duration(s.tau)
}
