package collector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyPollAll})
	e.addFlow(t, 0, 1, 2)
	e.c.Drain()
	e.net.count(e.flows[0].Cookie, 5000, 5, 1)
	e.now = t0.Add(time.Second)
	e.c.Round(context.Background())

	m := NewMetrics(e.c)
	problems, err := testutil.CollectAndLint(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	want := `
# HELP cemon_polling_requests_total Statistics requests sent, by polling strategy and switch.
# TYPE cemon_polling_requests_total counter
cemon_polling_requests_total{dpid="0000000000000001",strategy="poll-all"} 1
cemon_polling_requests_total{dpid="0000000000000002",strategy="poll-all"} 1
cemon_polling_requests_total{dpid="0000000000000003",strategy="poll-all"} 1
cemon_polling_requests_total{dpid="0000000000000004",strategy="poll-all"} 1
# HELP cemon_polling_wire_bytes_total Modelled frame bytes of statistics requests and replies on the control channel.
# TYPE cemon_polling_wire_bytes_total counter
cemon_polling_wire_bytes_total{direction="received",dpid="0000000000000001",strategy="poll-all"} 174
cemon_polling_wire_bytes_total{direction="received",dpid="0000000000000002",strategy="poll-all"} 174
cemon_polling_wire_bytes_total{direction="received",dpid="0000000000000003",strategy="poll-all"} 78
cemon_polling_wire_bytes_total{direction="received",dpid="0000000000000004",strategy="poll-all"} 78
cemon_polling_wire_bytes_total{direction="sent",dpid="0000000000000001",strategy="poll-all"} 122
cemon_polling_wire_bytes_total{direction="sent",dpid="0000000000000002",strategy="poll-all"} 122
cemon_polling_wire_bytes_total{direction="sent",dpid="0000000000000003",strategy="poll-all"} 122
cemon_polling_wire_bytes_total{direction="sent",dpid="0000000000000004",strategy="poll-all"} 122
# HELP cemon_stats_matrix_bytes_total Bytes from each source host to each destination host.
# TYPE cemon_stats_matrix_bytes_total counter
cemon_stats_matrix_bytes_total{dst="10.0.1.1",src="10.0.0.1"} 5000
# HELP cemon_stats_link_bytes_total Bytes of the flows that crossed each directed link.
# TYPE cemon_stats_link_bytes_total counter
cemon_stats_link_bytes_total{dst_dpid="0000000000000002",dst_port="1",src_dpid="0000000000000001",src_port="2"} 5000
# HELP cemon_stats_link_utilization_ratio Sum of the flow rates on each directed link over its capacity.
# TYPE cemon_stats_link_utilization_ratio gauge
cemon_stats_link_utilization_ratio{dst_dpid="0000000000000002",dst_port="1",src_dpid="0000000000000001",src_port="2"} 4e-05
`
	names := []string{"cemon_polling_requests_total", "cemon_polling_wire_bytes_total", "cemon_stats_matrix_bytes_total",
		"cemon_stats_link_bytes_total", "cemon_stats_link_utilization_ratio"}
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("pedantic gather: %v", err)
	}
}
