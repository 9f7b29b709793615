package controller

import "github.com/prometheus/client_golang/prometheus"

// tableMetrics are the flow table metrics of the controller's Collector.
type tableMetrics struct {
	entries, limit, active, max, fallback, refused *prometheus.Desc
	refusedAll, pairs, fullDelivered, evicted      *prometheus.Desc
	midPath                                        *prometheus.Desc
}

func newTableMetrics() tableMetrics {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return tableMetrics{
		entries:  d("cemon_flow_table_entries", "Entries in the switch's flow table now: the last table statistics reading plus what was installed, less what was removed, since.", "dpid"),
		limit:    d("cemon_flow_table_limit_entries", "Flow table capacity in force: max_entries, or the limit learned from a refused FLOW_MOD (0 while unknown).", "dpid"),
		active:   d("cemon_flow_table_active_entries", "active_count of the switch's last table statistics reply (OFPST_TABLE).", "dpid"),
		max:      d("cemon_flow_table_max_entries", "max_entries of the switch's last table statistics reply (OFPST_TABLE).", "dpid"),
		fallback: d("cemon_flow_table_fallback", "1 while new flows through the switch are forwarded by host-pair entries (its table is full or nearly so).", "dpid"),
		refused:  d("cemon_flow_mods_refused_total", "FLOW_MODs the switch refused (OFPET_FLOW_MOD_FAILED), by switch.", "dpid"),
		refusedAll: d("cemon_flow_mods_refused_all_total",
			"FLOW_MODs refused by any switch, the departed ones included."),
		pairs:         d("cemon_host_pair_flows_installed_total", "Host-pair aggregates installed for flows that found a full or nearly full table."),
		fullDelivered: d("cemon_table_full_deliveries_total", "Packets delivered straight to their host because a switch of their path had a full table."),
		evicted:       d("cemon_flows_evicted_total", "Exact flows deleted from a full table to make room for an aggregate; their host pair's aggregate carries them on."),
		midPath:       d("cemon_flows_mid_path_total", "Active flows deleted because they started past their packets' real ingress (installed from a packet in flight); the next packet installs them over the whole path."),
	}
}

func (t tableMetrics) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{t.entries, t.limit, t.active, t.max, t.fallback, t.refused, t.refusedAll, t.pairs, t.fullDelivered, t.evicted, t.midPath} {
		ch <- d
	}
}

func (t tableMetrics) collect(ch chan<- prometheus.Metric, c *Controller, st NetStats) {
	for _, ti := range c.Tables() {
		dpid := dpidString(ti.DPID)
		fb := 0.0
		if ti.Fallback {
			fb = 1
		}
		ch <- prometheus.MustNewConstMetric(t.entries, prometheus.GaugeValue, float64(ti.Estimate), dpid)
		ch <- prometheus.MustNewConstMetric(t.limit, prometheus.GaugeValue, float64(ti.Limit), dpid)
		ch <- prometheus.MustNewConstMetric(t.fallback, prometheus.GaugeValue, fb, dpid)
		ch <- prometheus.MustNewConstMetric(t.refused, prometheus.CounterValue, float64(ti.Refused), dpid)
		if ti.Read {
			ch <- prometheus.MustNewConstMetric(t.active, prometheus.GaugeValue, float64(ti.Active), dpid)
			ch <- prometheus.MustNewConstMetric(t.max, prometheus.GaugeValue, float64(ti.MaxEntries), dpid)
		}
	}
	ch <- prometheus.MustNewConstMetric(t.refusedAll, prometheus.CounterValue, float64(st.FlowModsRefused))
	ch <- prometheus.MustNewConstMetric(t.pairs, prometheus.CounterValue, float64(st.HostPairFlows))
	ch <- prometheus.MustNewConstMetric(t.fullDelivered, prometheus.CounterValue, float64(st.TableFullDelivered))
	ch <- prometheus.MustNewConstMetric(t.evicted, prometheus.CounterValue, float64(st.FlowsEvicted))
	ch <- prometheus.MustNewConstMetric(t.midPath, prometheus.CounterValue, float64(st.FlowsMidPath))
}
