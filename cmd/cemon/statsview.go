package main

import (
	"fmt"
	"github.com/cemon-sdn/cemon/afps"
	"strings"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/collector"
	"github.com/cemon-sdn/cemon/poll"
)

// pollingView serves a Collector's scheme and costs to the REST API: it is the
// api.PollingSource (and api.PollingSwitcher) beside the statistics, which the API
// reads from the stats.Store itself (api.StatsOf).
type pollingView struct {
	c *collector.Collector
}

var (
	_ api.PollingSource   = pollingView{}
	_ api.PollingSwitcher = pollingView{}
)

func dpidLabel(d uint64) string { return fmt.Sprintf("%016x", d) }

func usageView(strategy string, u collector.Usage) api.PollingUsage {
	return api.PollingUsage{Strategy: strategy, Requests: u.Requests, Replies: u.Replies, Entries: u.Entries,
		Timeouts: u.Timeouts, Errors: u.Errors, OpenFlowBytesSent: u.OpenFlowBytesSent, OpenFlowBytesReceived: u.OpenFlowBytesRecv,
		WireBytesSent: u.WireBytesSent, WireBytesReceived: u.WireBytesRecv}
}

// Polling implements api.PollingSource.
func (v pollingView) Polling() api.Polling {
	s := v.c.Scheme()
	p := api.Polling{Strategy: s.Strategy.String(), Deployment: s.Deployment, IntervalSeconds: s.Interval.Seconds(),
		CostModel: s.Model, CostBytes: s.Cost, PollAllCostBytes: s.PollAllCost, PerFlowCostBytes: s.PerFlowCost,
		LowerBoundBytes: s.LowerBound, Flows: s.Flows,
		Rounds: s.Rounds, Rebuilds: s.Rebuilds, Totals: usageView("", v.c.Total("")),
		LowerBoundFlows: s.LowerBoundFlows}
	if !s.LowerBoundAt.IsZero() {
		at := s.LowerBoundAt
		p.LowerBoundAt = &at
	}
	for _, d := range s.PollAll {
		p.PollAll = append(p.PollAll, dpidLabel(d))
	}
	for _, x := range s.PollSingle {
		p.PollSingle = append(p.PollSingle, api.PollSingle{FlowID: x.Flow, DPID: dpidLabel(x.DPID)})
	}
	if l := s.Last; l != nil {
		p.LastRebuild = &api.Rebuild{At: l.At, Reason: l.Reason, Strategy: l.Strategy.String(), Flows: l.Flows,
			VarianceRate: l.VarianceRate, PatchedCostBytes: l.PatchedCost, CostBytes: l.Cost,
			LowerBoundBytes: l.LowerBound, PollAll: l.PollAll, PollSingle: l.PollSingle}
	}
	per := map[string]collector.Usage{}
	var order []string
	for _, r := range v.c.Usage() {
		if _, ok := per[r.Strategy]; !ok {
			order = append(order, r.Strategy)
		}
		per[r.Strategy] = per[r.Strategy].Add(r.Usage)
	}
	for _, s := range order {
		p.ByStrategy = append(p.ByStrategy, usageView(s, per[s]))
	}
	for _, r := range v.c.ReplyTimes() {
		ps := api.PollingSwitch{DPID: dpidLabel(r.DPID), ReplySeconds: r.Smoothed.Seconds(), LastReplySeconds: r.Last.Seconds(),
			Samples: r.Samples, Slow: r.Slow, InFlight: r.InFlight, Timeouts: r.Timeouts, LateBatches: r.Late, BusyRequests: r.Busy}
		if !r.LastReply.IsZero() {
			at := r.LastReply
			ps.LastReplyAt = &at
		}
		ps.TimeoutsInARow = r.TimeoutsInARow
		if !r.HeldUntil.IsZero() {
			until := r.HeldUntil.Round(0) // wall clock only
			ps.HeldUntil = &until
		}
		p.Switches = append(p.Switches, ps)
	}
	return p
}

// SetPollingStrategy implements api.PollingSwitcher.
// SetPollingSampler implements api.SamplerSwitcher.
func (v pollingView) SetPollingSampler(name, sampler string) error {
	s, err := collector.ParseStrategy(name)
	if err != nil {
		return fmt.Errorf("%w: %q (want one of %s)", api.ErrBadStrategy, name, strings.Join(poll.StrategyNames(), ", "))
	}
	k, err := afps.ParseKind(sampler)
	if err != nil {
		return fmt.Errorf("%w: %v", api.ErrBadStrategy, err)
	}
	cfg := v.c.Config().Sampler
	cfg.Kind = k
	return v.c.SetSampler(s, cfg)
}

func (v pollingView) SetPollingStrategy(name string) error {
	s, err := collector.ParseStrategy(name)
	if err == nil {
		err = v.c.SetStrategy(s)
	}
	if err != nil {
		return fmt.Errorf("%w: %q (want one of %s)", api.ErrBadStrategy, name, strings.Join(poll.StrategyNames(), ", "))
	}
	return nil
}
