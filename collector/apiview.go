package collector

import (
	"fmt"
	"strings"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/poll"
	"github.com/cemon-sdn/cemon/stats"
)

// APIView serves a Collector and its Store to the REST API: it implements
// api.StatsBackend and api.PollingSwitcher. Combine it with the controller's views
// with api.WithStats(backend, collector.APIView{C: c}).
type APIView struct {
	C *Collector
}

var (
	_ api.StatsBackend    = APIView{}
	_ api.PollingSwitcher = APIView{}
)

func usageView(strategy string, u Usage) api.PollingUsage {
	return api.PollingUsage{Strategy: strategy, Requests: u.Requests, Replies: u.Replies, Entries: u.Entries,
		Timeouts: u.Timeouts, Errors: u.Errors, OpenFlowBytesSent: u.OpenFlowBytesSent, OpenFlowBytesReceived: u.OpenFlowBytesRecv,
		WireBytesSent: u.WireBytesSent, WireBytesReceived: u.WireBytesRecv}
}

// Polling implements api.StatsBackend.
func (v APIView) Polling() api.Polling {
	s := v.C.Scheme()
	p := api.Polling{Strategy: s.Strategy.String(), Deployment: s.Deployment, IntervalSeconds: s.Interval.Seconds(),
		CostModel: s.Model, CostBytes: s.Cost, LowerBoundBytes: s.LowerBound, Flows: s.Flows,
		Rounds: s.Rounds, Rebuilds: s.Rebuilds, Totals: usageView("", v.C.Total("")),
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
	per := map[string]Usage{}
	var order []string
	for _, r := range v.C.Usage() {
		if _, ok := per[r.Strategy]; !ok {
			order = append(order, r.Strategy)
		}
		per[r.Strategy] = per[r.Strategy].Add(r.Usage)
	}
	for _, s := range order {
		p.ByStrategy = append(p.ByStrategy, usageView(s, per[s]))
	}
	return p
}

func flowView(f stats.FlowStats) api.FlowStats {
	out := api.FlowStats{ID: f.ID, Src: f.Src.String(), Dst: f.Dst.String(), Bytes: f.Bytes, Packets: f.Packets,
		RateBps: f.RateBps, PacketRate: f.PacketRate, Readings: f.Readings, Active: f.Active, Start: f.Start}
	if f.Readings > 0 {
		lp := f.LastPolled
		out.LastPolled = &lp
		out.Source = f.Source.String()
		out.DPID = dpidLabel(f.DPID)
	}
	if !f.Active {
		out.RateBps, out.PacketRate = 0, 0
		if !f.End.IsZero() {
			end := f.End
			out.End = &end
		}
	}
	return out
}

// FlowStats implements api.StatsBackend.
func (v APIView) FlowStats() []api.FlowStats {
	fs := v.C.Store().Flows()
	out := make([]api.FlowStats, len(fs))
	for i, f := range fs {
		out[i] = flowView(f)
	}
	return out
}

// FlowStat implements api.StatsBackend.
func (v APIView) FlowStat(id uint64) (api.FlowStats, bool) {
	f, ok := v.C.Store().Flow(id)
	if !ok {
		return api.FlowStats{}, false
	}
	return flowView(f), true
}

// LinkStats implements api.StatsBackend.
func (v APIView) LinkStats() []api.LinkStats {
	ls := v.C.Store().LinkLoads()
	out := make([]api.LinkStats, len(ls))
	for i, l := range ls {
		out[i] = api.LinkStats{SrcDPID: dpidLabel(l.Link.SrcDPID), SrcPort: l.Link.SrcPort,
			DstDPID: dpidLabel(l.Link.DstDPID), DstPort: l.Link.DstPort,
			RateBps: l.RateBps, Utilization: l.Utilization, Bytes: l.Bytes, Flows: l.Flows}
		if l.HasPortRate {
			pr, pu := l.PortRateBps, l.PortUtilization
			out[i].PortRateBps, out[i].PortUtilization = &pr, &pu
		}
	}
	return out
}

// MatrixStats implements api.StatsBackend.
func (v APIView) MatrixStats() []api.MatrixEntry {
	m := v.C.Store().Matrix()
	out := make([]api.MatrixEntry, len(m))
	for i, e := range m {
		out[i] = api.MatrixEntry{Src: e.Src.String(), Dst: e.Dst.String(), RateBps: e.RateBps, Bytes: e.Bytes, Flows: e.Flows}
	}
	return out
}

// HostStats implements api.StatsBackend.
func (v APIView) HostStats() []api.HostStats {
	hs := v.C.Store().Hosts()
	out := make([]api.HostStats, len(hs))
	for i, h := range hs {
		out[i] = api.HostStats{Host: h.Host.String(), SentBps: h.SentBps, ReceivedBps: h.ReceivedBps,
			SentBytes: h.SentBytes, ReceivedBytes: h.ReceivedBytes, FlowsOut: h.FlowsOut, FlowsIn: h.FlowsIn}
	}
	return out
}

// SetPollingStrategy implements api.PollingSwitcher.
func (v APIView) SetPollingStrategy(name string) error {
	s, err := ParseStrategy(name)
	if err == nil {
		err = v.C.SetStrategy(s)
	}
	if err != nil {
		return fmt.Errorf("%w: %q (want one of %s)", api.ErrBadStrategy, name, strings.Join(poll.StrategyNames(), ", "))
	}
	return nil
}
