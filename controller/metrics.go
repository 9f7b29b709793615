package controller

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
)

// Collector exposes a Controller's state and OpenFlow traffic as Prometheus metrics.
// Register it on a registry of your own: reg.MustRegister(controller.NewCollector(c)).
type Collector struct {
	c *Controller

	switches, links, hosts, flows *prometheus.Desc
	msgs, bytes, late             *prometheus.Desc
	packetIns, installed, dropped *prometheus.Desc
	evDropped                     *prometheus.Desc
	hostMoves, refused, budget    *prometheus.Desc
	restart, arp                  *prometheus.Desc
	dials, handovers              *prometheus.Desc

	tables tableMetrics // flow table occupancy (tables_metrics.go)
}

// NewCollector returns a Collector for c.
func NewCollector(c *Controller) *Collector {
	return &Collector{
		tables:    newTableMetrics(),
		c:         c,
		switches:  prometheus.NewDesc("cemon_switches", "Switches connected (handshake done).", nil, nil),
		links:     prometheus.NewDesc("cemon_links", "Switch-to-switch links discovered, one per direction.", nil, nil),
		hosts:     prometheus.NewDesc("cemon_hosts", "Hosts located.", nil, nil),
		flows:     prometheus.NewDesc("cemon_flows", "Flows known to the tracker, by state.", []string{"state"}, nil),
		msgs:      prometheus.NewDesc("cemon_openflow_messages_total", "OpenFlow messages by switch, direction and type.", []string{"dpid", "direction", "type"}, nil),
		bytes:     prometheus.NewDesc("cemon_openflow_bytes_total", "OpenFlow bytes (headers included) by switch, direction and type.", []string{"dpid", "direction", "type"}, nil),
		late:      prometheus.NewDesc("cemon_openflow_late_replies_total", "Replies that arrived after their request ended.", []string{"dpid"}, nil),
		packetIns: prometheus.NewDesc("cemon_packet_ins_total", "PACKET_INs handled by the forwarding logic.", nil, nil),
		installed: prometheus.NewDesc("cemon_flows_installed_total", "Flows installed along a shortest path.", nil, nil),
		dropped:   prometheus.NewDesc("cemon_frames_dropped_total", "Frames the forwarding logic dropped, by reason.", []string{"reason"}, nil),
		evDropped: prometheus.NewDesc("cemon_events_dropped_total", "Events lost by subscribers whose channel was full.", nil, nil),
		hostMoves: prometheus.NewDesc("cemon_host_moves_total", "Host moves by outcome: moved (verified, or the old place gone), refused (the host answered at its old place), link_port (a frame on a port that is or just was switch-to-switch, not learned from).", []string{"outcome"}, nil),
		refused:   prometheus.NewDesc("cemon_connections_refused_total", "Switch connections that ended before their switch came up, by kind.", []string{"kind"}, nil),
		budget:    prometheus.NewDesc("cemon_packet_in_budget_total", "PACKET_IN budget actions: dropped (PACKET_INs stopped), blocked (drop entries installed), deferred (a heavy source's PACKET_INs handled after the others'), deferred_dropped (dropped, the deferred queue full).", []string{"action"}, nil),
		restart: prometheus.NewDesc("cemon_restart_adoption_total", "What the controller did with the state of its earlier run: "+
			"hosts restored, flows adopted or abandoned, switch entries adopted or deleted as unaccounted for.", []string{"what"}, nil),
		arp:       prometheus.NewDesc("cemon_arp_resolves_total", "ARP requests sent for unknown IPv4 destinations.", nil, nil),
		dials:     prometheus.NewDesc("cemon_switch_dials_total", "Connections the controller dialed to switches listening for controllers, by result: connected, failed.", []string{"result"}, nil),
		handovers: prometheus.NewDesc("cemon_switch_handovers_total", "Dialed switch connections the switch's own connection took over, without the switch going down.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.switches, m.links, m.hosts, m.flows, m.msgs, m.bytes, m.late,
		m.packetIns, m.installed, m.dropped, m.evDropped, m.hostMoves, m.refused, m.budget, m.restart, m.arp, m.dials, m.handovers} {
		ch <- d
	}
	m.c.handling.Describe(ch)
	m.tables.describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Collector) Collect(ch chan<- prometheus.Metric) {
	c := m.c
	c.mu.Lock()
	nsw := len(c.core.switches)
	st := c.core.stats
	var ad AdoptStats
	if c.core.adopt != nil {
		ad = c.core.adopt.stats
	}
	c.mu.Unlock()
	nlinks, nhosts := len(c.Links()), len(c.Hosts())
	ch <- prometheus.MustNewConstMetric(m.switches, prometheus.GaugeValue, float64(nsw))
	ch <- prometheus.MustNewConstMetric(m.links, prometheus.GaugeValue, float64(nlinks))
	ch <- prometheus.MustNewConstMetric(m.hosts, prometheus.GaugeValue, float64(nhosts))
	var byState [4]int
	c.Tracker().Range(func(f flowtracker.Flow) bool {
		if int(f.State) < len(byState) {
			byState[f.State]++
		}
		return true
	})
	for _, s := range []flowtracker.State{flowtracker.StateActive, flowtracker.StateDraining, flowtracker.StateExpired} {
		ch <- prometheus.MustNewConstMetric(m.flows, prometheus.GaugeValue, float64(byState[s]), s.String())
	}
	for _, t := range c.AllTraffic() {
		dpid := dpidString(t.DPID)
		for d, arr := range [2]*[numTypes]Count{&t.Sent, &t.Received} {
			dir := Direction(d).String()
			for typ, cnt := range arr {
				if cnt.Messages == 0 {
					continue
				}
				name := ofproto.Type(typ).String()
				ch <- prometheus.MustNewConstMetric(m.msgs, prometheus.CounterValue, float64(cnt.Messages), dpid, dir, name)
				ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.CounterValue, float64(cnt.Bytes), dpid, dir, name)
			}
		}
		ch <- prometheus.MustNewConstMetric(m.late, prometheus.CounterValue, float64(t.LateReplies), dpid)
	}
	ch <- prometheus.MustNewConstMetric(m.evDropped, prometheus.CounterValue, float64(c.hub.dropped()))
	ch <- prometheus.MustNewConstMetric(m.packetIns, prometheus.CounterValue, float64(st.PacketIns))
	ch <- prometheus.MustNewConstMetric(m.installed, prometheus.CounterValue, float64(st.FlowsInstalled))
	for _, r := range []struct {
		reason string
		n      uint64
	}{{"guard", st.GuardDrops}, {"other", st.Dropped}} {
		ch <- prometheus.MustNewConstMetric(m.dropped, prometheus.CounterValue, float64(r.n), r.reason)
	}
	for _, r := range []struct {
		outcome string
		n       uint64
	}{{"moved", st.HostMoves}, {"refused", st.HostMovesRefused}, {"link_port", st.HostsOnLinkPort}} {
		ch <- prometheus.MustNewConstMetric(m.hostMoves, prometheus.CounterValue, float64(r.n), r.outcome)
	}
	ch <- prometheus.MustNewConstMetric(m.budget, prometheus.CounterValue, float64(st.BudgetDrops), "dropped")
	ch <- prometheus.MustNewConstMetric(m.budget, prometheus.CounterValue, float64(st.BudgetBlocks), "blocked")
	ch <- prometheus.MustNewConstMetric(m.budget, prometheus.CounterValue, float64(st.BudgetDeferred), "deferred")
	ch <- prometheus.MustNewConstMetric(m.budget, prometheus.CounterValue, float64(st.BudgetDeferDrops), "deferred_dropped")
	for kind, n := range c.Refused() {
		ch <- prometheus.MustNewConstMetric(m.refused, prometheus.CounterValue, float64(n), kind)
	}
	c.handling.Collect(ch)
	for _, r := range []struct {
		what string
		n    uint64
	}{{"hosts_restored", ad.HostsRestored}, {"hosts_confirmed", ad.HostsConfirmed}, {"hosts_forgotten", ad.HostsForgotten}, {"flows_adopted", ad.FlowsAdopted}, {"flows_abandoned", ad.FlowsAbandoned},
		{"entries_adopted", ad.EntriesAdopted}, {"entries_deleted", ad.EntriesDeleted}} {
		ch <- prometheus.MustNewConstMetric(m.restart, prometheus.CounterValue, float64(r.n), r.what)
	}
	ch <- prometheus.MustNewConstMetric(m.arp, prometheus.CounterValue, float64(st.ARPResolves))
	ds := c.DialStats()
	ch <- prometheus.MustNewConstMetric(m.dials, prometheus.CounterValue, float64(ds.Dials), "connected")
	ch <- prometheus.MustNewConstMetric(m.dials, prometheus.CounterValue, float64(ds.DialFailures), "failed")
	ch <- prometheus.MustNewConstMetric(m.handovers, prometheus.CounterValue, float64(ds.Handovers))
	m.tables.collect(ch, c, st)
}
