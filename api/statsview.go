package api

import (
	"fmt"

	"github.com/cemon-sdn/cemon/stats"
)

// PollingSource supplies the /api/v1/polling view: the live polling scheme and
// what polling has cost. It may also implement [PollingSwitcher].
type PollingSource interface {
	Polling() Polling
}

// StatsOf returns the StatsBackend that serves the statistics views from r, the
// store every module of the binary reads, and the polling view from p. When p
// implements PollingSwitcher so does the result. Mount it with
// WithStats(backend, StatsOf(store, p)).
func StatsOf(r stats.Reader, p PollingSource) StatsBackend {
	v := readerStats{r: r, p: p}
	if ps, ok := p.(PollingSwitcher); ok {
		if ss, ok := p.(SamplerSwitcher); ok {
			return readerStatsSampler{readerStatsSwitch{v, ps}, ss}
		}
		return readerStatsSwitch{v, ps}
	}
	return v
}

type readerStatsSampler struct {
	readerStatsSwitch
	SamplerSwitcher
}

type readerStats struct {
	r stats.Reader
	p PollingSource
}

type readerStatsSwitch struct {
	readerStats
	PollingSwitcher
}

func dpidLabel(d uint64) string { return fmt.Sprintf("%016x", d) }

func (v readerStats) Polling() Polling { return v.p.Polling() }

// flowStatsOf is the REST view of one flow's statistics: rate_bps is the
// current rate, 0 once the flow has expired or its reading is stale.
func flowStatsOf(f stats.FlowStats) FlowStats {
	out := FlowStats{ID: f.ID, Src: f.Src.String(), Dst: f.Dst.String(), Bytes: f.Bytes, Packets: f.Packets,
		RateBps: f.CurrentBps(), PacketRate: f.PacketRate, Readings: f.Readings, Active: f.Active, Start: f.Start,
		IntervalSeconds: f.Interval.Seconds(), Stale: f.Stale}
	if f.Readings > 0 {
		lp, vu := f.LastPolled, f.ValidUntil
		out.LastPolled, out.ValidUntil = &lp, &vu
		out.Source = f.Source.String()
		out.DPID = dpidLabel(f.DPID)
	}
	if !f.Active || f.Stale {
		out.PacketRate = 0
	}
	if !f.Active && !f.End.IsZero() {
		end := f.End
		out.End = &end
	}
	return out
}

// linkStatsOf is the REST view of one link's load.
func linkStatsOf(l stats.LinkLoad) LinkStats {
	out := LinkStats{SrcDPID: dpidLabel(l.Link.SrcDPID), SrcPort: l.Link.SrcPort,
		DstDPID: dpidLabel(l.Link.DstDPID), DstPort: l.Link.DstPort,
		RateBps: l.RateBps, Utilization: l.Utilization, Bytes: l.Bytes, Flows: l.Flows,
		CapacityBps: l.CapacityBps, CapacitySource: l.Capacity.String(), At: l.At}
	if l.HasPortRate {
		pr, pu := l.PortRateBps, l.PortUtilization
		out.PortRateBps, out.PortUtilization = &pr, &pu
	}
	return out
}

// matrixEntryOf is the REST view of one matrix cell.
func matrixEntryOf(e stats.MatrixEntry) MatrixEntry {
	return MatrixEntry{Src: e.Src.String(), Dst: e.Dst.String(), RateBps: e.RateBps, Bytes: e.Bytes, Flows: e.Flows, At: e.At}
}

// hostStatsOf is the REST view of one host's traffic.
func hostStatsOf(h stats.HostTraffic) HostStats {
	out := HostStats{Host: h.Host.String(), MAC: h.Host.MACString(), At: h.At, SentBps: h.SentBps, ReceivedBps: h.ReceivedBps,
		SentBytes: h.SentBytes, ReceivedBytes: h.ReceivedBytes, FlowsOut: h.FlowsOut, FlowsIn: h.FlowsIn}
	if h.Host.IP.IsValid() {
		out.IP = h.Host.IP.String()
	}
	return out
}

// portStatsOf is the REST view of one port's rate.
func portStatsOf(p stats.PortRate) PortStats {
	return PortStats{DPID: dpidLabel(p.Port.DPID), Port: p.Port.Port, TxBps: p.TxBps, RxBps: p.RxBps, At: p.At}
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, x := range in {
		out[i] = f(x)
	}
	return out
}

func (v readerStats) FlowStats() []FlowStats { return mapSlice(v.r.Flows(), flowStatsOf) }

func (v readerStats) FlowStat(id uint64) (FlowStats, bool) {
	f, ok := v.r.Flow(id)
	if !ok {
		return FlowStats{}, false
	}
	return flowStatsOf(f), true
}

func (v readerStats) LinkStats() []LinkStats     { return mapSlice(v.r.LinkLoads(), linkStatsOf) }
func (v readerStats) MatrixStats() []MatrixEntry { return mapSlice(v.r.Matrix(), matrixEntryOf) }
func (v readerStats) HostStats() []HostStats     { return mapSlice(v.r.Hosts(), hostStatsOf) }
func (v readerStats) PortStats() []PortStats     { return mapSlice(v.r.PortRates(), portStatsOf) }

func (v readerStats) StatsSnapshot() StatsSnapshot {
	s := v.r.Snapshot()
	return StatsSnapshot{At: s.At, Flows: mapSlice(s.Flows, flowStatsOf), Links: mapSlice(s.Links, linkStatsOf),
		Matrix: mapSlice(s.Matrix, matrixEntryOf), Hosts: mapSlice(s.Hosts, hostStatsOf), Ports: mapSlice(s.Ports, portStatsOf)}
}
