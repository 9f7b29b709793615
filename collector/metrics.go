package collector

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exposes a Collector's accounting and scheme, and its Store's link, matrix
// and host figures, as Prometheus metrics. Register it on a registry of your own:
// reg.MustRegister(collector.NewMetrics(c)).
type Metrics struct {
	c *Collector

	requests, replies, entries, timeouts, errs *prometheus.Desc
	ofBytes, wireBytes                         *prometheus.Desc
	rounds, rebuilds, unmatched, lost, skipped *prometheus.Desc
	unsettled                                  *prometheus.Desc
	cost, bound, schemeReqs, flows             *prometheus.Desc
	linkBytes, linkUtil, linkPortUtil          *prometheus.Desc
	hostSent, hostRecv, matrix                 *prometheus.Desc
	replySec, slow, late, busy                 *prometheus.Desc
}

// NewMetrics returns the Prometheus collector of c.
func NewMetrics(c *Collector) *Metrics {
	sw := []string{"strategy", "dpid"}
	swDir := []string{"strategy", "dpid", "direction"}
	link := []string{"src_dpid", "src_port", "dst_dpid", "dst_port"}
	return &Metrics{
		c:            c,
		requests:     prometheus.NewDesc("cemon_polling_requests_total", "Statistics requests sent, by polling strategy and switch.", sw, nil),
		replies:      prometheus.NewDesc("cemon_polling_replies_total", "Statistics reply messages received (each part of a multipart reply).", sw, nil),
		entries:      prometheus.NewDesc("cemon_polling_entries_total", "Flow or port entries received in statistics replies.", sw, nil),
		timeouts:     prometheus.NewDesc("cemon_polling_timeouts_total", "Statistics requests whose reply did not arrive in time.", sw, nil),
		errs:         prometheus.NewDesc("cemon_polling_errors_total", "Statistics requests that failed other than by timing out.", sw, nil),
		ofBytes:      prometheus.NewDesc("cemon_polling_openflow_bytes_total", "OpenFlow bytes of statistics requests (sent) and replies (received).", swDir, nil),
		wireBytes:    prometheus.NewDesc("cemon_polling_wire_bytes_total", "Modelled frame bytes of statistics requests and replies on the control channel.", swDir, nil),
		rounds:       prometheus.NewDesc("cemon_polling_rounds_total", "Polling rounds run.", nil, nil),
		rebuilds:     prometheus.NewDesc("cemon_polling_rebuilds_total", "Polling scheme rebuilds.", nil, nil),
		unsettled:    prometheus.NewDesc("cemon_polling_unsettled_rounds_total", "Rounds that polled by the scheme as it stood while a rebuild or lower bound was still being solved.", nil, nil),
		unmatched:    prometheus.NewDesc("cemon_polling_unmatched_entries_total", "Reply entries that mapped to no active flow.", nil, nil),
		lost:         prometheus.NewDesc("cemon_polling_lost_events_total", "Flow tracker events lost to a full buffer.", nil, nil),
		skipped:      prometheus.NewDesc("cemon_polling_skipped_requests_total", "Planned requests a round had no time left to send.", nil, nil),
		cost:         prometheus.NewDesc("cemon_polling_scheme_cost_bytes", "Bytes per round of the current polling scheme under the cost model.", []string{"strategy", "model"}, nil),
		bound:        prometheus.NewDesc("cemon_polling_scheme_lower_bound_bytes", "Lower bound on the bytes per round of any scheme, at the last rebuild.", []string{"strategy"}, nil),
		schemeReqs:   prometheus.NewDesc("cemon_polling_scheme_requests", "Requests per round of the current scheme, by kind.", []string{"kind"}, nil),
		flows:        prometheus.NewDesc("cemon_stats_flows", "Flows in the statistics store, by state.", []string{"state"}, nil),
		linkBytes:    prometheus.NewDesc("cemon_stats_link_bytes_total", "Bytes of the flows that crossed each directed link.", link, nil),
		linkUtil:     prometheus.NewDesc("cemon_stats_link_utilization_ratio", "Sum of the flow rates on each directed link over its capacity.", link, nil),
		linkPortUtil: prometheus.NewDesc("cemon_stats_link_port_utilization_ratio", "Each directed link's rate from port statistics over its capacity.", link, nil),
		hostSent:     prometheus.NewDesc("cemon_stats_host_sent_bytes_total", "Bytes of the flows each host sent.", []string{"host"}, nil),
		hostRecv:     prometheus.NewDesc("cemon_stats_host_received_bytes_total", "Bytes of the flows each host received.", []string{"host"}, nil),
		matrix:       prometheus.NewDesc("cemon_stats_matrix_bytes_total", "Bytes from each source host to each destination host.", []string{"src", "dst"}, nil),
		replySec:     prometheus.NewDesc("cemon_polling_reply_seconds", "Smoothed time (EWMA) from a statistics request to the last part of its reply, by switch; a timeout counts as its timeout.", []string{"dpid"}, nil),
		slow:         prometheus.NewDesc("cemon_polling_switch_slow", "1 if rounds no longer wait for the switch's statistics replies (its reply time passed half the round's time limit).", []string{"dpid"}, nil),
		late:         prometheus.NewDesc("cemon_polling_late_batches_total", "Batches of statistics requests to a switch that came back after their round (applied on arrival).", []string{"dpid"}, nil),
		busy:         prometheus.NewDesc("cemon_polling_busy_requests_total", "Statistics requests not sent because the switch's previous batch was still out.", []string{"dpid"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.requests, m.replies, m.entries, m.timeouts, m.errs, m.ofBytes, m.wireBytes,
		m.rounds, m.rebuilds, m.unsettled, m.unmatched, m.lost, m.skipped, m.cost, m.bound, m.schemeReqs, m.flows,
		m.linkBytes, m.linkUtil, m.linkPortUtil, m.hostSent, m.hostRecv, m.matrix, m.replySec, m.slow, m.late, m.busy} {
		ch <- d
	}
}

func dpidLabel(d uint64) string { return fmt.Sprintf("%016x", d) }

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, r := range m.c.Usage() {
		s, d := r.Strategy, dpidLabel(r.DPID)
		counter(m.requests, float64(r.Requests), s, d)
		counter(m.replies, float64(r.Replies), s, d)
		counter(m.entries, float64(r.Entries), s, d)
		counter(m.timeouts, float64(r.Timeouts), s, d)
		counter(m.errs, float64(r.Errors), s, d)
		counter(m.ofBytes, float64(r.OpenFlowBytesSent), s, d, "sent")
		counter(m.ofBytes, float64(r.OpenFlowBytesRecv), s, d, "received")
		counter(m.wireBytes, float64(r.WireBytesSent), s, d, "sent")
		counter(m.wireBytes, float64(r.WireBytesRecv), s, d, "received")
	}
	for _, r := range m.c.ReplyTimes() {
		d := dpidLabel(r.DPID)
		gauge(m.replySec, r.Smoothed.Seconds(), d)
		slow := 0.0
		if r.Slow {
			slow = 1
		}
		gauge(m.slow, slow, d)
		counter(m.late, float64(r.Late), d)
		counter(m.busy, float64(r.Busy), d)
	}
	k := m.c.Counters()
	counter(m.rounds, float64(k.Rounds))
	counter(m.rebuilds, float64(k.Rebuilds))
	counter(m.unsettled, float64(k.Unsettled))
	counter(m.unmatched, float64(k.Unmatched))
	counter(m.lost, float64(k.EventsLost))
	counter(m.skipped, float64(k.Skipped))
	sch := m.c.Scheme()
	gauge(m.cost, float64(sch.Cost), sch.Strategy.String(), sch.Model)
	gauge(m.bound, float64(sch.LowerBound), sch.Strategy.String())
	gauge(m.schemeReqs, float64(len(sch.PollAll)), "poll_all")
	gauge(m.schemeReqs, float64(len(sch.PollSingle)), "poll_single")

	st := m.c.Store()
	active, expired := st.FlowCounts()
	gauge(m.flows, float64(active), "active")
	gauge(m.flows, float64(expired), "expired")
	for _, l := range st.LinkLoads() {
		lv := []string{dpidLabel(l.Link.SrcDPID), strconv.Itoa(int(l.Link.SrcPort)), dpidLabel(l.Link.DstDPID), strconv.Itoa(int(l.Link.DstPort))}
		counter(m.linkBytes, float64(l.Bytes), lv...)
		gauge(m.linkUtil, l.Utilization, lv...)
		if l.HasPortRate {
			gauge(m.linkPortUtil, l.PortUtilization, lv...)
		}
	}
	for _, h := range st.Hosts() {
		counter(m.hostSent, float64(h.SentBytes), h.Host.String())
		counter(m.hostRecv, float64(h.ReceivedBytes), h.Host.String())
	}
	for _, e := range st.Matrix() {
		counter(m.matrix, float64(e.Bytes), e.Src.String(), e.Dst.String())
	}
}
