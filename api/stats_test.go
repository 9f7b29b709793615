package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeStats serves fixed statistics and records strategy switches.
type fakeStats struct {
	mu       sync.Mutex
	strategy string
}

func (f *fakeStats) Polling() Polling {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Polling{Strategy: f.strategy, Deployment: "out-of-band", IntervalSeconds: 1, CostModel: "linear(122,78,96)",
		PollAll: []string{"0000000000000003", "0000000000000001"}, PollSingle: []PollSingle{{FlowID: 9, DPID: "0000000000000002"}, {FlowID: 4, DPID: "0000000000000002"}},
		CostBytes: 1000, LowerBoundBytes: 900, Flows: 5, Rounds: 3, Rebuilds: 1,
		LastRebuild: &Rebuild{At: t0, Reason: "initial", Strategy: "mcps", Flows: 5, CostBytes: 1000, LowerBoundBytes: 900},
		Totals:      PollingUsage{Requests: 12, WireBytesSent: 1464, WireBytesReceived: 2000},
		ByStrategy:  []PollingUsage{{Strategy: "poll-all", Requests: 4}, {Strategy: "mcps", Requests: 8}}}
}

func (f *fakeStats) FlowStats() []FlowStats {
	lp := t0.Add(time.Second)
	return []FlowStats{
		{ID: 7, Src: "10.0.0.1", Dst: "10.0.0.2", Bytes: 100, Active: false, Source: "flow-removed", LastPolled: &lp},
		{ID: 3, Src: "10.0.0.2", Dst: "10.0.0.1", Bytes: 500, RateBps: 4000, Active: true, Source: "poll-all", LastPolled: &lp},
	}
}

func (f *fakeStats) FlowStat(id uint64) (FlowStats, bool) {
	for _, fs := range f.FlowStats() {
		if fs.ID == id {
			return fs, true
		}
	}
	return FlowStats{}, false
}

func (f *fakeStats) LinkStats() []LinkStats {
	pr := 3900.0
	return []LinkStats{
		{SrcDPID: "0000000000000002", SrcPort: 1, DstDPID: "0000000000000001", DstPort: 2, RateBps: 4000, Utilization: 4e-6, PortRateBps: &pr},
		{SrcDPID: "0000000000000001", SrcPort: 2, DstDPID: "0000000000000002", DstPort: 1},
	}
}

func (f *fakeStats) MatrixStats() []MatrixEntry {
	return []MatrixEntry{{Src: "10.0.0.2", Dst: "10.0.0.1", RateBps: 4000, Bytes: 500}, {Src: "10.0.0.1", Dst: "10.0.0.2", Bytes: 100}}
}

func (f *fakeStats) HostStats() []HostStats {
	return []HostStats{{Host: "10.0.0.2", SentBps: 4000}, {Host: "10.0.0.1", ReceivedBps: 4000}}
}

func (f *fakeStats) PortStats() []PortStats {
	return []PortStats{{DPID: "0000000000000002", Port: 1, TxBps: 3900, At: t0}, {DPID: "0000000000000001", Port: 2, RxBps: 3900, At: t0}}
}

func (f *fakeStats) StatsSnapshot() StatsSnapshot {
	return StatsSnapshot{At: t0.Add(time.Second), Flows: f.FlowStats(), Links: f.LinkStats(), Matrix: f.MatrixStats(),
		Hosts: f.HostStats(), Ports: f.PortStats()}
}

func (f *fakeStats) SetPollingStrategy(name string) error {
	switch name {
	case "mcps", "poll-all":
	default:
		return fmt.Errorf("%w: %q", ErrBadStrategy, name)
	}
	f.mu.Lock()
	f.strategy = name
	f.mu.Unlock()
	return nil
}

// readOnlyStats hides SetPollingStrategy.
type readOnlyStats struct{ StatsBackend }

func doStats(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, rd))
	return rec.Code, rec.Body.String()
}

func TestStatsEndpoints(t *testing.T) {
	fs := &fakeStats{strategy: "mcps"}
	h := NewHandler(WithStats(testBackend(), fs), nil)
	tests := []struct {
		name, method, path, body string
		status                   int
		contains                 []string
	}{
		{"polling", "GET", "/api/v1/polling", "", 200, []string{`"poll_all":["0000000000000001","0000000000000003"]`,
			`"poll_single":[{"flow_id":4,`, `"cost_bytes":1000`, `"lower_bound_bytes":900`, `"reason":"initial"`,
			`"totals":{"requests":12,`, `"wire_bytes_sent":1464`, `"by_strategy":[{"strategy":"mcps"`}},
		{"flows sorted", "GET", "/api/v1/stats/flows", "", 200, []string{`[{"id":3,`, `"source":"poll-all"`, `"rate_bps":4000`, `"last_polled":"2026-11-21T08:00:01Z"`}},
		{"flows active", "GET", "/api/v1/stats/flows?state=active", "", 200, []string{`"id":3`}},
		{"flows expired", "GET", "/api/v1/stats/flows?state=expired", "", 200, []string{`[{"id":7,`, `"source":"flow-removed"`}},
		{"flows bad state", "GET", "/api/v1/stats/flows?state=gone", "", 400, []string{`"status":400`}},
		{"flows unknown param", "GET", "/api/v1/stats/flows?dpid=1", "", 400, nil},
		{"one flow", "GET", "/api/v1/stats/flows/3", "", 200, []string{`"id":3`, `"bytes":500`}},
		{"unknown flow", "GET", "/api/v1/stats/flows/99", "", 404, []string{"no statistics for flow 99"}},
		{"bad id", "GET", "/api/v1/stats/flows/x", "", 400, nil},
		{"links sorted", "GET", "/api/v1/stats/links", "", 200, []string{`[{"src_dpid":"0000000000000001",`, `"port_rate_bps":null`, `"port_rate_bps":3900`, `"utilization":0.000004`}},
		{"matrix", "GET", "/api/v1/stats/matrix", "", 200, []string{`[{"src":"10.0.0.1","dst":"10.0.0.2",`}},
		{"hosts", "GET", "/api/v1/stats/hosts", "", 200, []string{`[{"host":"10.0.0.1",`, `"sent_bps":4000`}},
		{"ports sorted", "GET", "/api/v1/stats/ports", "", 200, []string{`[{"dpid":"0000000000000001","port":2,"tx_bps":0,"rx_bps":3900,`}},
		{"snapshot sorted", "GET", "/api/v1/stats/snapshot", "", 200, []string{`{"at":"2026-11-21T08:00:01Z","flows":[{"id":3,`,
			`"links":[{"src_dpid":"0000000000000001",`, `"matrix":[{"src":"10.0.0.1",`, `"hosts":[{"host":"10.0.0.1",`, `"ports":[{"dpid":"0000000000000001",`}},
		{"snapshot unknown param", "GET", "/api/v1/stats/snapshot?at=1", "", 400, nil},
		{"post refused", "POST", "/api/v1/stats/matrix", "", 405, nil},
		{"switch strategy", "PUT", "/api/v1/polling", `{"strategy":"poll-all"}`, 200, []string{`"strategy":"poll-all"`}},
		{"bad strategy", "PUT", "/api/v1/polling", `{"strategy":"all"}`, 400, []string{"unknown polling strategy"}},
		{"bad body", "PUT", "/api/v1/polling", `{"strat":"mcps"}`, 400, nil},
		{"trailing data", "PUT", "/api/v1/polling", `{"strategy":"mcps"} {"strategy":"off"}`, 400, []string{"trailing data"}},
		{"trailing garbage", "PUT", "/api/v1/polling", `{"strategy":"mcps"}x`, 400, nil},
		{"base endpoints still there", "GET", "/api/v1/switches", "", 200, []string{`"dpid":"0000000000000001"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := doStats(t, h, tt.method, tt.path, tt.body)
			if code != tt.status {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, code, body, tt.status)
			}
			if !json.Valid([]byte(body)) {
				t.Errorf("not JSON: %s", body)
			}
			for _, c := range tt.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body lacks %s:\n%s", c, body)
				}
			}
		})
	}
	if fs.Polling().Strategy != "poll-all" {
		t.Error("PUT did not reach the backend")
	}
}

func TestStatsOptional(t *testing.T) {
	// Without the capability the endpoints do not exist.
	h := NewHandler(testBackend(), nil)
	if code, _ := doStats(t, h, "GET", "/api/v1/stats/flows", ""); code != 404 {
		t.Errorf("stats without StatsBackend: %d", code)
	}
	// Without PollingSwitcher PUT is refused.
	h = NewHandler(WithStats(testBackend(), readOnlyStats{&fakeStats{}}), nil)
	if code, _ := doStats(t, h, "PUT", "/api/v1/polling", `{"strategy":"mcps"}`); code != 405 {
		t.Errorf("PUT without PollingSwitcher: %d", code)
	}
	// Health is forwarded through the wrapper.
	h = NewHandler(WithStats(&sickBackend{err: fmt.Errorf("api: switch lost")}, &fakeStats{}), nil)
	if code, body := doStats(t, h, "GET", "/healthz", ""); code != 503 || !strings.Contains(body, "switch lost") {
		t.Errorf("healthz through WithStats = %d %s", code, body)
	}
	h = NewHandler(WithStats(nil, &fakeStats{}), nil)
	if code, _ := doStats(t, h, "GET", "/api/v1/polling", ""); code != 200 {
		t.Errorf("nil base backend: %d", code)
	}
}
