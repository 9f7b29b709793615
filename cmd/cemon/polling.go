package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/collector"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/poll"
	"github.com/cemon-sdn/cemon/stats"
)

// pollingFlags are cemon run's statistics-collection flags.
type pollingFlags struct {
	strategy     string
	interval     time.Duration
	deployment   string
	linkCapacity string
	portStats    time.Duration
	history      int
	controllerAt string
}

// addPollingFlags registers the statistics-collection flags on fs.
func addPollingFlags(fs *flag.FlagSet) *pollingFlags {
	p := &pollingFlags{}
	fs.StringVar(&p.strategy, "polling", collector.StrategyMCPS.String(), "flow statistics polling `strategy`: "+strings.Join(poll.StrategyNames(), ", "))
	fs.DurationVar(&p.interval, "poll-interval", collector.DefaultInterval, "spacing of polling rounds")
	fs.StringVar(&p.deployment, "deployment", "out-of-band", "control channel: out-of-band or in-band (in-band costs scale with hops to the controller)")
	fs.StringVar(&p.linkCapacity, "link-capacity", "1Gbit/s", "capacity every link's utilization is relative to (e.g. 100Mbit/s, 10Gbit/s, 1e9)")
	fs.DurationVar(&p.portStats, "port-stats-interval", 0, "spacing of port statistics rounds for the link cross-check; 0 disables them")
	fs.IntVar(&p.history, "stats-history", stats.DefaultHistory, "samples kept per statistics series")
	fs.StringVar(&p.controllerAt, "controller-dpid", "", "in-band: `dpid` (hex) of the switch the controller is attached to; default the lowest")
	return p
}

// parseRate reads a bit rate such as 1Gbit/s, 100Mbps, 10G, 2.5e9 or 1000000.
func parseRate(s string) (float64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, suf := range []string{"bit/s", "bps", "b/s"} {
		t = strings.TrimSuffix(t, suf)
	}
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult, t = 1e3, t[:n-1]
		case 'm':
			mult, t = 1e6, t[:n-1]
		case 'g':
			mult, t = 1e9, t[:n-1]
		case 't':
			mult, t = 1e12, t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("bad rate %q: want a positive number of bit/s such as 1Gbit/s or 1e9", s)
	}
	return v * mult, nil
}

// config turns the flags into the collector's and the store's configuration.
func (p *pollingFlags) config() (collector.Config, stats.Config, error) {
	var errs []error
	capacity, err := parseRate(p.linkCapacity)
	if err != nil {
		errs = append(errs, fmt.Errorf("-link-capacity: %w", err))
	}
	dep, err := mcps.ParseDeployment(p.deployment)
	if err != nil {
		errs = append(errs, fmt.Errorf("-deployment: %w", err))
	}
	if p.interval <= 0 {
		errs = append(errs, fmt.Errorf("-poll-interval %v: must be positive", p.interval))
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
	cc := collector.Config{Strategy: strategy, Interval: p.interval, Deployment: dep, LinkCapacityBps: capacity,
		PortStatsInterval: p.portStats}
	if err := cc.Validate(); err != nil {
		errs = append(errs, err)
	}
	sc := stats.Config{History: p.history, LinkCapacityBps: capacity}
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

// start validates the flags, starts the collector on ctl until ctx ends, registers
// its metrics on reg and returns b extended with the statistics endpoints. Call it
// before ctl.Serve so that no flow event is missed.
func (p *pollingFlags) start(ctx context.Context, ctl *controller.Controller, b api.Backend,
	reg prometheus.Registerer, logger *slog.Logger) (api.Backend, error) {
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
		Logger: logger.With("component", "collector"),
	}
	if cc.Deployment == mcps.InBand {
		d.Hops = func() map[uint64]int { return hopsToController(ctl, p.controllerAt) }
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
	go func() {
		if err := c.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			logger.Error("collector stopped", "err", err)
		}
	}()
	logger.Info("flow statistics collection", "strategy", cc.Strategy.String(), "interval", cc.Interval,
		"deployment", cc.Deployment.String(), "link_capacity_bps", cc.LinkCapacityBps, "port_stats_interval", cc.PortStatsInterval)
	return api.WithStats(b, collector.APIView{C: c}), nil
}
