package collector

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/api"
)

// TestAPIView drives the REST endpoints over a real collector round.
func TestAPIView(t *testing.T) {
	e := newEnv(t, Config{})
	e.loadLine(t)
	for i, h := range e.flows {
		e.net.count(h.Cookie, uint64(1000*(i+1)), 1, 1)
	}
	e.now = t0.Add(time.Second)
	e.c.Round(context.Background())
	h := api.NewHandler(api.WithStats(nil, APIView{C: e.c}), nil)

	get := func(path string, v any) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, rec.Code, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatal(err)
		}
	}
	var p api.Polling
	get("/api/v1/polling", &p)
	if p.Strategy != "mcps" || len(p.PollAll) != 1 || p.PollAll[0] != "0000000000000002" || len(p.PollSingle) != 1 ||
		p.CostBytes <= 0 || p.LowerBoundBytes <= 0 || p.LowerBoundBytes > p.CostBytes || p.LastRebuild == nil ||
		p.Totals.Requests != 2 || p.Totals.WireBytesSent != 244 || len(p.ByStrategy) != 1 {
		t.Errorf("polling = %+v", p)
	}
	var fl []api.FlowStats
	get("/api/v1/stats/flows", &fl)
	if len(fl) != 7 {
		t.Fatalf("flows = %+v", fl)
	}
	for _, f := range fl {
		if f.LastPolled == nil || f.Source == "" || f.Bytes == 0 || f.RateBps != float64(f.Bytes*8) {
			t.Errorf("flow %+v", f)
		}
	}
	var links []api.LinkStats
	get("/api/v1/stats/links", &links)
	if len(links) != 3 || links[0].RateBps <= 0 || links[0].PortRateBps != nil {
		t.Errorf("links = %+v", links)
	}
	var m []api.MatrixEntry
	get("/api/v1/stats/matrix", &m)
	var hosts []api.HostStats
	get("/api/v1/stats/hosts", &hosts)
	if len(m) == 0 || len(hosts) == 0 {
		t.Errorf("matrix %v hosts %v", m, hosts)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("PUT", "/api/v1/polling", strings.NewReader(`{"strategy":"nope"}`)))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("bad strategy: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("PUT", "/api/v1/polling", strings.NewReader(`{"strategy":"poll-all"}`)))
	if rec.Code != http.StatusOK || e.c.Strategy() != StrategyPollAll {
		t.Errorf("switch: %d %s", rec.Code, rec.Body)
	}
}
