package collector

import (
	"errors"
	"fmt"
	"github.com/cemon-sdn/cemon/afps"
	"math"
	"strings"
	"time"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/poll"
)

// Strategy is a polling strategy (see package poll); its names are what the
// command line and the REST API take.
type Strategy = poll.Strategy

// The polling strategies.
const (
	StrategyMCPS          = poll.MCPS
	StrategyPerFlowRandom = poll.PerFlowRandom
	StrategyPerFlowMin    = poll.PerFlowMin
	StrategyPollAll       = poll.PollAll
	StrategyOff           = poll.Off
	StrategyAFPS          = poll.AFPS
)

// StrategyPortStats is the account of port statistics requests (the others are a
// strategy's name).
const StrategyPortStats = "port-stats"

// Strategies lists the polling strategies, default first.
func Strategies() []Strategy { return poll.Strategies() }

// ParseStrategy reads a strategy's name.
func ParseStrategy(name string) (Strategy, error) { return poll.ParseStrategy(name) }

// Errors of this package.
var (
	ErrBadConfig   = errors.New("collector: bad config")
	ErrBadStrategy = poll.ErrBadStrategy
	ErrMissingDeps = errors.New("collector: missing dependency")
)

// Config configures a Collector. The zero value is usable.
type Config struct {
	// Strategy is the polling strategy; the zero value is mcps.
	Strategy Strategy
	// Interval is the spacing of polling rounds; default 1 s.
	Interval time.Duration
	// Deployment is out-of-band (default) or in-band: in-band costs scale with the
	// hops from each switch to the controller (Deps.Hops).
	Deployment mcps.Deployment
	// LinkCapacityBps is only reported (the Store owns utilization); default 1e9.
	LinkCapacityBps float64
	// RequestTimeout bounds each request: a reply that has not come by then counts
	// as a timeout (per switch in the accounting). A request may outlive its round
	// (a slow switch answers into a later one); default the larger of Interval and
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// RoundTimeout bounds a whole round: no request starts later (those left are
	// skipped and counted), and the round stops waiting for replies then; a batch
	// still out is applied when it comes back, and its switch is skipped (busy)
	// until then, so that a slow switch delays no later round. A switch whose
	// smoothed reply time passes half of it is found slow: rounds stop waiting for
	// it at all. Default Interval.
	RoundTimeout time.Duration
	// SettleWait, when positive, bounds how long a round waits for the scheduler's
	// heavy work (a scheme solved from scratch, a lower bound) once a scheme exists:
	// the round then polls by the scheme as it stands, which arrivals and expiries
	// keep current meanwhile (DAPR), and the work goes on, its result swapped in at
	// the first round after it ends. A solve over a million flows takes seconds;
	// without the bound the rounds of those seconds would not run. 0 (the default)
	// waits for the work whatever it takes, as a single-threaded caller would; the
	// first scheme is always waited for. cemon run sets a quarter of the interval.
	SettleWait time.Duration
	// Pipeline is how many of a round's requests may be outstanding at one switch
	// at a time (a round of many single-flow requests then costs a few round trips
	// per switch, not one each); default DefaultPipeline. 1 sends them in turn.
	Pipeline int
	// LogRounds logs each round's summary line ("polling round": time, phases,
	// requests, readings) at info level instead of debug, so that a benchmark can
	// follow the rounds without the debug lines of every flow.
	LogRounds bool
	// BoundInterval is the least time between two recomputations of the scheme's
	// lower bound after DAPR patches (a rebuild always brings a fresh one); default
	// 10 s.
	BoundInterval time.Duration
	// TaskInterval is how often the monitoring tasks' due polls go out; default
	// DefaultTaskInterval (250 ms).
	TaskInterval time.Duration
	// PortStatsInterval is the spacing of port statistics rounds (all ports of every
	// switch), the cross-check of link loads; 0 disables them.
	PortStatsInterval time.Duration
	// Theta, CostRatio and MaxInterval configure ARI (see mcps.PlannerConfig); zero
	// values take mcps's defaults.
	Theta       float64
	CostRatio   float64
	MaxInterval time.Duration
	// Variance is the form of ARI's flow variance rate: |F0∩Ft| / |F0|, the share of the
	// flows the scheme was built for that are still active (the zero value), or the
	// Jaccard form |F0∩Ft| / |F0∪Ft|, which also falls when flows arrive.
	Variance mcps.VarianceForm
	// ReadPoint is the switch a flow's counters are read from when a round returns it
	// from several switches of its path: the one nearest its ingress (offered load; the
	// zero value) or nearest its egress (delivered traffic, after losses on the way).
	// mcps also places poll-singles at the cheapest switch nearest it. The final
	// counters of an expired flow still come from its ingress entry's FLOW_REMOVED.
	ReadPoint mcps.ReadPoint
	// Seed seeds per-flow-random; 0 means 1.
	Seed uint64
	// MSS is the TCP payload per segment of the wire model; default 65483 (loopback,
	// MTU 65536, with timestamps). Use 1448 for Ethernet.
	MSS int
	// FrameOverhead is the per-segment overhead of the wire model; default 66.
	FrameOverhead int
	// StoreTick, when positive, makes Run tick the Store's clock at this spacing
	// (its histories, the ageing of stale rates, its notifications); 0 leaves the
	// ticks to the Store's owner (cemon run ticks it itself).
	StoreTick time.Duration
	// PruneEvery is how many rounds pass between two Store.Prune calls; default 10.
	PruneEvery int
	// Sampler is the per-flow sampler of strategy afps (package afps); the zero
	// value is afps's Fixed sampler at its defaults. Rounds come every Interval, so
	// intervals shorter than Interval are rounded up to the next round.
	Sampler afps.Config
}

// Defaults of Config.
const (
	DefaultInterval       = time.Second
	DefaultRequestTimeout = 5 * time.Second
	DefaultMSS            = 65483
	DefaultFrameOverhead  = 66
	DefaultPruneEvery     = 10
	DefaultPipeline       = 16
)

// Validate names every bad field.
func (c Config) Validate() error {
	var errs []error
	if !c.Strategy.Valid() {
		errs = append(errs, fmt.Errorf("%w: Strategy %v (want one of %s)", ErrBadConfig, c.Strategy, strings.Join(poll.StrategyNames(), ", ")))
	}
	if err := c.Sampler.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: Sampler: %w", ErrBadConfig, err))
	}
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("%w: Interval %v is negative", ErrBadConfig, c.Interval))
	}
	if c.Deployment != mcps.OutOfBand && c.Deployment != mcps.InBand {
		errs = append(errs, fmt.Errorf("%w: Deployment %d", ErrBadConfig, c.Deployment))
	}
	if c.Variance != mcps.VarianceRetained && c.Variance != mcps.VarianceJaccard {
		errs = append(errs, fmt.Errorf("%w: Variance %v", ErrBadConfig, c.Variance))
	}
	if c.ReadPoint != mcps.ReadIngress && c.ReadPoint != mcps.ReadEgress {
		errs = append(errs, fmt.Errorf("%w: ReadPoint %v", ErrBadConfig, c.ReadPoint))
	}
	if c.LinkCapacityBps < 0 || math.IsNaN(c.LinkCapacityBps) || math.IsInf(c.LinkCapacityBps, 0) {
		errs = append(errs, fmt.Errorf("%w: LinkCapacityBps %v", ErrBadConfig, c.LinkCapacityBps))
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: RequestTimeout %v is negative", ErrBadConfig, c.RequestTimeout))
	}
	if c.BoundInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: BoundInterval %v is negative", ErrBadConfig, c.BoundInterval))
	}
	if c.RoundTimeout < 0 {
		errs = append(errs, fmt.Errorf("%w: RoundTimeout %v is negative", ErrBadConfig, c.RoundTimeout))
	}
	if c.SettleWait < 0 {
		errs = append(errs, fmt.Errorf("%w: SettleWait %v is negative", ErrBadConfig, c.SettleWait))
	}
	if c.TaskInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: TaskInterval %v is negative", ErrBadConfig, c.TaskInterval))
	}
	if c.PortStatsInterval < 0 {
		errs = append(errs, fmt.Errorf("%w: PortStatsInterval %v is negative", ErrBadConfig, c.PortStatsInterval))
	}
	if c.Theta < 0 || c.Theta > 1 || math.IsNaN(c.Theta) {
		errs = append(errs, fmt.Errorf("%w: Theta %v, want in (0, 1]", ErrBadConfig, c.Theta))
	}
	if c.CostRatio > 0 && c.CostRatio < 1 || math.IsNaN(c.CostRatio) {
		errs = append(errs, fmt.Errorf("%w: CostRatio %v, want >= 1 or negative", ErrBadConfig, c.CostRatio))
	}
	if c.MSS < 0 {
		errs = append(errs, fmt.Errorf("%w: MSS %d is negative", ErrBadConfig, c.MSS))
	}
	if c.FrameOverhead < 0 {
		errs = append(errs, fmt.Errorf("%w: FrameOverhead %d is negative", ErrBadConfig, c.FrameOverhead))
	}
	if c.StoreTick < 0 {
		errs = append(errs, fmt.Errorf("%w: StoreTick %v is negative", ErrBadConfig, c.StoreTick))
	}
	if c.Pipeline < 0 {
		errs = append(errs, fmt.Errorf("%w: Pipeline %d is negative", ErrBadConfig, c.Pipeline))
	}
	if c.PruneEvery < 0 {
		errs = append(errs, fmt.Errorf("%w: PruneEvery %d is negative", ErrBadConfig, c.PruneEvery))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.LinkCapacityBps == 0 {
		c.LinkCapacityBps = 1e9
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = max(c.Interval, DefaultRequestTimeout)
	}
	if c.RoundTimeout == 0 {
		c.RoundTimeout = c.Interval
	}
	if c.BoundInterval == 0 {
		c.BoundInterval = 10 * time.Second
	}
	if c.TaskInterval == 0 {
		c.TaskInterval = DefaultTaskInterval
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.MSS == 0 {
		c.MSS = DefaultMSS
	}
	if c.FrameOverhead == 0 {
		c.FrameOverhead = DefaultFrameOverhead
	}
	if c.Pipeline == 0 {
		c.Pipeline = DefaultPipeline
	}
	if c.PruneEvery == 0 {
		c.PruneEvery = DefaultPruneEvery
	}

	return c
}

// WireBytes models the bytes one direction of an exchange puts on the wire: the
// OpenFlow bytes plus overhead for every segment of at most mss bytes.
func WireBytes(openflowBytes, mss, overhead int) int64 {
	if openflowBytes <= 0 {
		return 0
	}
	if mss <= 0 {
		mss = DefaultMSS
	}
	segs := (openflowBytes + mss - 1) / mss
	return int64(openflowBytes) + int64(segs)*int64(overhead)
}
