package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/cemon-sdn/cemon/afps"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/collector"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/poll"
	"github.com/cemon-sdn/cemon/stats"
	"github.com/cemon-sdn/cemon/units"
)

// pollingFlags are cemon run's statistics-collection flags.
type pollingFlags struct {
	// mastered, set in a cluster, polls only the switches this instance is master of,
	// and clusterHops (when set) are their distances, the in-band cost weights.
	mastered    func() []uint64
	clusterHops map[uint64]int
	// globalScheme and handOver, set in a cluster polling by the leader's global
	// scheme, are collector.Deps.Scheme and HandOver.
	globalScheme func() *poll.Assigned
	handOver     func(dpid uint64, entries []ofproto.FlowStats, ids []uint64)

	strategy     string
	sampler      string
	samplerMin   time.Duration
	samplerMax   time.Duration
	interval     time.Duration
	timeout      time.Duration
	deployment   string
	linkCapacity string
	portStats    time.Duration
	history      int
	flowHistory  int
	window       time.Duration
	tick         time.Duration
	staleAfter   int
	controllerAt string
	readPoint    string
	logRounds    bool
	settleWait   time.Duration
}

// addPollingFlags registers the statistics-collection flags on fs.
func addPollingFlags(fs *flag.FlagSet) *pollingFlags {
	p := &pollingFlags{}
	fs.StringVar(&p.strategy, "polling", collector.StrategyMCPS.String(), "flow statistics polling `strategy`: "+strings.Join(poll.StrategyNames(), ", "))
	fs.StringVar(&p.sampler, "sampler", "swt", "--polling afps: per-flow `sampler`: fixed, pt, ewmat, swt or payless")
	fs.DurationVar(&p.samplerMin, "sampler-min", afps.DefaultMin, "--polling afps: shortest polling interval of a flow")
	fs.DurationVar(&p.samplerMax, "sampler-max", afps.DefaultMax, "--polling afps: longest polling interval of a flow")
	fs.DurationVar(&p.interval, "poll-interval", collector.DefaultInterval, "spacing of polling rounds")
	fs.DurationVar(&p.timeout, "stats-timeout", 0, "time a statistics request waits for its whole reply before it counts as a timeout for its switch "+
		"(a round never waits for it); 0: the larger of -poll-interval and 5s")
	fs.StringVar(&p.deployment, "deployment", "out-of-band", "control channel: out-of-band or in-band (in-band costs scale with hops to the controller)")
	fs.StringVar(&p.linkCapacity, "link-capacity", "", "capacity of every link, winning over the speed its ports advertise (e.g. 100Mbit/s, 10Gbit/s, 1e9); "+
		"unset: each link's port speed, else 1Gbit/s")
	fs.DurationVar(&p.portStats, "port-stats-interval", 0, "spacing of port statistics rounds for the link cross-check; 0 disables them")
	fs.IntVar(&p.history, "stats-history", stats.DefaultHistory, "samples kept per link and per host statistics series")
	fs.IntVar(&p.flowHistory, "stats-flow-history", stats.DefaultFlowHistory, "samples kept per flow and per traffic matrix cell (one series per active flow: 24 bytes a sample)")
	fs.DurationVar(&p.window, "stats-window", stats.DefaultWindow, "how far back statistics histories reach")
	fs.DurationVar(&p.tick, "stats-tick", time.Second, "spacing of the statistics clock: one history sample per tick, stale rates dropped, readers notified")
	fs.IntVar(&p.staleAfter, "stats-stale-after", stats.DefaultStaleAfter, "polling intervals without a reading after which a flow's rate stops counting in links, matrix and hosts")
	fs.StringVar(&p.readPoint, "read-point", mcps.ReadIngress.String(), "switch a flow seen at several is read from: ingress (offered load) or egress (delivered traffic)")
	fs.BoolVar(&p.logRounds, "log-rounds", false, "log every polling round's summary at info level (default: debug)")
	fs.DurationVar(&p.settleWait, "settle-wait", 0, "how long a polling round waits for a scheme being rebuilt before it polls by the scheme as it stands (0: a quarter of -poll-interval; negative: every round waits for the rebuild)")
	fs.StringVar(&p.controllerAt, "controller-dpid", "", "in-band: `dpid` (hex) of the switch the controller is attached to; default the lowest")
	return p
}

// requestTimeout is how long the controller must let a statistics request wait: the
// collector's request timeout (-stats-timeout, or its default).
func (p *pollingFlags) requestTimeout() time.Duration {
	if p.timeout > 0 {
		return p.timeout
	}
	return max(p.interval, collector.DefaultRequestTimeout)
}

// parseRate reads a bit rate such as 1Gbit/s, 100Mbps, 10G, 2.5e9, 1000000 or
// 125MB/s (bytes) with package units, and wants it positive.
func parseRate(s string) (float64, error) {
	v, err := units.ParseBitRate(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("bad rate %q: want a positive number of bit/s such as 1Gbit/s or 1e9", s)
	}
	return v, nil
}

// config turns the flags into the collector's and the store's configuration.
func (p *pollingFlags) config() (collector.Config, stats.Config, error) {
	var errs []error
	var capacity float64 // 0: from the ports' speed
	if p.linkCapacity != "" {
		c, err := parseRate(p.linkCapacity)
		if err != nil {
			errs = append(errs, fmt.Errorf("-link-capacity: %w", err))
		}
		capacity = c
	}
	if p.tick <= 0 {
		errs = append(errs, fmt.Errorf("-stats-tick %v: must be positive", p.tick))
	}
	if p.staleAfter <= 0 {
		errs = append(errs, fmt.Errorf("-stats-stale-after %d: must be positive", p.staleAfter))
	}
	if p.window <= 0 {
		errs = append(errs, fmt.Errorf("-stats-window %v: must be positive", p.window))
	}
	dep, err := mcps.ParseDeployment(p.deployment)
	if err != nil {
		errs = append(errs, fmt.Errorf("-deployment: %w", err))
	}
	if p.interval <= 0 {
		errs = append(errs, fmt.Errorf("-poll-interval %v: must be positive", p.interval))
	}
	if p.timeout < 0 {
		errs = append(errs, fmt.Errorf("-stats-timeout %v: must not be negative", p.timeout))
	}
	if p.controllerAt != "" {
		if _, err := strconv.ParseUint(p.controllerAt, 16, 64); err != nil {
			errs = append(errs, fmt.Errorf("-controller-dpid %q: not a hex datapath id", p.controllerAt))
		}
	}
	strategy, err := poll.ParseStrategy(p.strategy)
	if err != nil {
		errs = append(errs, fmt.Errorf("-polling: Strategy: %w", err))
	}
	kind, err := afps.ParseKind(p.sampler)
	if err != nil {
		errs = append(errs, fmt.Errorf("-sampler: %w", err))
	}
	rp, err := mcps.ParseReadPoint(p.readPoint)
	if err != nil {
		errs = append(errs, fmt.Errorf("-read-point: %w", err))
	}
	settle := p.settleWait // collector.Config: 0 waits for every rebuild
	switch {
	case settle == 0:
		settle = p.interval / 4
	case settle < 0:
		settle = 0
	}
	cc := collector.Config{Strategy: strategy, Interval: p.interval, RequestTimeout: p.timeout, Deployment: dep, LinkCapacityBps: capacity,
		PortStatsInterval: p.portStats, ReadPoint: rp, LogRounds: p.logRounds, SettleWait: max(settle, 0),
		Sampler: afps.Config{Kind: kind, Min: p.samplerMin, Max: p.samplerMax}}
	if err := cc.Validate(); err != nil {
		errs = append(errs, err)
	}
	sc := stats.Config{History: p.history, FlowHistory: p.flowHistory, Window: p.window, LinkCapacityBps: capacity, StaleAfter: p.staleAfter,
		Interval: p.interval}
	if err := sc.Validate(); err != nil {
		errs = append(errs, err)
	}
	return cc, sc, errors.Join(errs...)
}

// hopsToController counts, for every switch, the hops to the switch the controller
// is attached to (which counts one), over the discovered links.
func hopsToController(ctl *controller.Controller, at string) map[uint64]int {
	g, dpids := ctl.Graph()
	out := make(map[uint64]int, len(dpids))
	if len(dpids) == 0 {
		return out
	}
	root := 0
	if at != "" {
		want, _ := strconv.ParseUint(at, 16, 64)
		for i, d := range dpids {
			if d == want {
				root = i
			}
		}
	} else {
		for i, d := range dpids {
			if d < dpids[root] {
				root = i
			}
		}
	}
	dist, _ := g.BFS(root)
	for i, d := range dpids {
		if dist[i] >= 0 {
			out[d] = dist[i] + 1
		}
	}
	return out
}

// polling is what statistics collection gives the rest of the binary: the one
// stats.Store, which every module reads as a stats.Reader, and the collector that
// feeds it.
type polling struct {
	store     *stats.Store
	collector *collector.Collector
	stopped   <-chan struct{} // closed once the collector's goroutine has ended (after ctx)
}

// statsBackend is the REST API's view of the statistics: the store's figures and
// the collector's scheme.
func (pl *polling) statsBackend() api.StatsBackend {
	return api.StatsOf(pl.store, pollingView{pl.collector})
}

// collectorExit runs as the collector's goroutine ends; tests slow it down to see
// that cemon run waits for it.
var collectorExit = func() {}

// The controller sends each switch's batch of a round as a pipeline, and takes
// back the replies the collector is done with.
var (
	_ collector.PipelinedRequester = (*controller.Controller)(nil)
	_ collector.Recycler           = (*controller.Controller)(nil)
)

// start validates the flags, builds the store and starts the collector on ctl
// until ctx ends, with the store's clock (a Tick every -stats-tick) and the ports'
// advertised speeds kept in step with the switches, and registers the collector's
// metrics on reg. Call it before ctl.Serve so that no flow event is missed.
func (p *pollingFlags) start(ctx context.Context, ctl *controller.Controller,
	reg prometheus.Registerer, logger *slog.Logger) (*polling, error) {
	cc, sc, err := p.config()
	if err != nil {
		return nil, err
	}
	store, err := stats.New(sc)
	if err != nil {
		return nil, err
	}
	d := collector.Deps{
		Requester: ctl,
		Tracker:   ctl.Tracker(),
		Store:     store,
		Switches: func() []uint64 {
			if p.mastered != nil && cc.Deployment != mcps.InBand {
				return p.mastered()
			}
			sw := ctl.Switches()
			out := make([]uint64, len(sw))
			for i, s := range sw {
				out[i] = s.DPID
			}
			return out
		},
		IsTimeout: func(err error) bool { return errors.Is(err, controller.ErrTimeout) },
		Unsent: func(err error) bool {
			return errors.Is(err, controller.ErrNoSwitch) || errors.Is(err, controller.ErrBadRequest) ||
				errors.Is(err, controller.ErrClosed) || errors.Is(err, controller.ErrQueueFull)
		},
		Logger:   logger.With("component", "collector"),
		Scheme:   p.globalScheme,
		HandOver: p.handOver,
	}
	if cc.Deployment == mcps.InBand {
		d.Hops = func() map[uint64]int { return hopsToController(ctl, p.controllerAt) }
		if p.mastered != nil {
			d.Hops = func() map[uint64]int { return clusterCosts(ctl, p.mastered(), p.clusterHops) }
		}
	}
	c, err := collector.New(cc, d)
	if err != nil {
		return nil, err
	}
	if reg != nil {
		if err := reg.Register(collector.NewMetrics(c)); err != nil {
			c.Close()
			return nil, fmt.Errorf("polling metrics: %w", err)
		}
	}
	// Subscribe before the switches connect, so that no port goes unseen.
	speeds := ctl.Subscribe(64, controller.SwitchUp, controller.SwitchDown, controller.PortStatus)
	go func() {
		defer speeds.Close()
		feedPortSpeeds(ctx, speeds.C, ctl.Switches, store, logger)
	}()
	go runStatsClock(ctx, store, p.tick)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		err := c.Run(ctx)
		collectorExit()
		if err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("collector stopped", "err", err)
			return
		}
		logger.Info("collector stopped")
	}()
	capacity := "port speed, else 1Gbit/s"
	if sc.LinkCapacityBps > 0 {
		capacity = strconv.FormatFloat(sc.LinkCapacityBps, 'g', -1, 64)
	}
	logger.Info("flow statistics collection", "strategy", cc.Strategy.String(), "interval", cc.Interval,
		"deployment", cc.Deployment.String(), "link_capacity_bps", capacity, "port_stats_interval", cc.PortStatsInterval,
		"stats_tick", p.tick, "stale_after", sc.StaleAfter)
	return &polling{store: store, collector: c, stopped: stopped}, nil
}

// slaveHops is the distance the polling scheme gives a switch this instance is not
// master of, in a cluster: reading it is allowed but is its master's job, so the
// scheme reads a flow at a switch this instance masters (its ingress always is,
// as its owner) unless none of its path is.
const slaveHops = 64

// clusterCosts is each connected switch's distance for the in-band cost model in a
// cluster: the configured hops to the switches this instance masters (1 when not
// named), slaveHops to the others.
func clusterCosts(ctl *controller.Controller, mastered []uint64, hops map[uint64]int) map[uint64]int {
	out := map[uint64]int{}
	for _, s := range ctl.Switches() {
		out[s.DPID] = slaveHops
	}
	for _, d := range mastered {
		h, ok := hops[d]
		if !ok || h < 1 {
			h = 1
		}
		out[d] = h
	}
	return out
}

// runStatsClock ticks the store every period until ctx ends: histories advance,
// rates gone stale stop counting even when no reading comes, and subscribers hear
// of new figures.
func runStatsClock(ctx context.Context, store *stats.Store, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			store.Tick(now)
		}
	}
}

// portSpeedBps is the speed an OpenFlow 1.0 port's current features (ofp_phy_port
// curr) advertise; ok is false when they name none.
func portSpeedBps(curr ofproto.PortFeatures) (bps float64, ok bool) {
	switch {
	case curr&ofproto.Feature10GBFD != 0:
		return 10e9, true
	case curr&(ofproto.Feature1GBFD|ofproto.Feature1GBHD) != 0:
		return 1e9, true
	case curr&(ofproto.Feature100MBFD|ofproto.Feature100MBHD) != 0:
		return 100e6, true
	case curr&(ofproto.Feature10MBFD|ofproto.Feature10MBHD) != 0:
		return 10e6, true
	}
	return 0, false
}

// portSpeeds lists the advertised speed of every port of sw that reports one.
func portSpeeds(sw []controller.SwitchInfo) map[stats.PortKey]float64 {
	out := make(map[stats.PortKey]float64)
	for _, s := range sw {
		for _, p := range s.Ports {
			if bps, ok := portSpeedBps(p.Curr); ok {
				out[stats.PortKey{DPID: s.DPID, Port: uint16(p.PortNo)}] = bps
			}
		}
	}
	return out
}

// feedPortSpeeds sets the store's port speeds from the switches now and again
// after every switch up or down and port status, until ctx ends.
func feedPortSpeeds(ctx context.Context, events <-chan controller.Event, switches func() []controller.SwitchInfo,
	store *stats.Store, logger *slog.Logger) {
	set := func() {
		if err := store.SetPortSpeeds(portSpeeds(switches())); err != nil {
			logger.Warn("port speeds", "err", err)
		}
	}
	set()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
			// Take whatever else is queued: one update covers them all.
			for drained := false; !drained; {
				select {
				case <-events:
				default:
					drained = true
				}
			}
			set()
		}
	}
}
