package api

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/placement"
	"github.com/cemon-sdn/cemon/stats"
	"github.com/cemon-sdn/cemon/store"
)

type fakePlacement struct {
	st *store.Store
	r  stats.Reader
}

func (f fakePlacement) Inventory() InventoryStore { return f.st }
func (f fakePlacement) Counters() stats.Reader    { return f.r }
func (f fakePlacement) Hops(a, b placement.Server) (int, bool) {
	return 0, false
}

// measuredStore has 10.0.0.1 → 10.0.0.2 at 8 kbit/s, 10.0.0.1 → 10.0.0.3 at
// 4 kbit/s and 10.0.0.3 → 10.0.0.1 at 2 kbit/s.
func measuredStore(t *testing.T) *stats.Store {
	st, err := stats.New(stats.Config{LinkCapacityBps: 1e9})
	require.NoError(t, err)
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	path := []stats.Hop{{DPID: 1, InPort: 1, OutPort: 2}}
	add := func(id uint64, src, dst string, perSec uint64) {
		require.NoError(t, st.AddFlow(stats.FlowInfo{ID: id, Src: testHost(src), Dst: testHost(dst), Path: path, Start: t0}))
		for k := uint64(1); k <= 2; k++ {
			require.NoError(t, observeReading(st, stats.Reading{Flow: id, DPID: 1, Bytes: k * perSec, Duration: time.Duration(k) * time.Second,
				At: t0.Add(time.Duration(k) * time.Second), Source: stats.SourcePollAll}))
		}
	}
	add(1, "10.0.0.1", "10.0.0.2", 1000)
	add(2, "10.0.0.1", "10.0.0.3", 500)
	add(3, "10.0.0.3", "10.0.0.1", 250)
	return st
}

func placementHandler(t *testing.T) (http.Handler, *store.Store) {
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	b := WithPlacement(WithStats(testBackend(), &fakeStats{strategy: "mcps"}), fakePlacement{st: st, r: measuredStore(t)})
	return NewHandler(b, nil), st
}

func send(t *testing.T, h http.Handler, method, target, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestPlacementEndpoints(t *testing.T) {
	h, _ := placementHandler(t)
	// The other capabilities still answer through the wrapper.
	code, _ := send(t, h, "GET", "/api/v1/stats/matrix", "")
	assert.Equal(t, 200, code)
	code, _ = send(t, h, "GET", "/healthz", "")
	assert.Equal(t, 200, code)

	srv := `{"dpid":"0000000000000001","port":1,"cpu_cores":8,"ram_mb":16000,"nic_bps":10000,"rack":"r1"}`
	code, body := send(t, h, "PUT", "/api/v1/servers/a", srv)
	require.Equal(t, 200, code, body)
	code, body = send(t, h, "PUT", "/api/v1/servers/b", strings.Replace(srv, "01\"", "02\"", 1))
	require.Equal(t, 200, code, body)
	for _, vm := range []struct{ id, body string }{
		{"web", `{"ip":"10.0.0.1","server":"a","vcpus":2,"ram_mb":1000,"cpu_util":0.5}`},
		{"db", `{"ip":"10.0.0.2","server":"a","vcpus":2,"ram_mb":1000,"cpu_util":0.5}`},
		{"cache", `{"id":"cache","ip":"10.0.0.3","server":"b","vcpus":1,"ram_mb":1000,"cpu_util":0.1}`},
		{"spare", `{"ip":"10.0.0.9","vcpus":1,"ram_mb":1000,"cpu_util":0.1}`},
	} {
		code, body = send(t, h, "PUT", "/api/v1/vms/"+vm.id, vm.body)
		require.Equal(t, 200, code, body)
	}
	code, body = send(t, h, "GET", "/api/v1/servers", "")
	require.Equal(t, 200, code)
	var servers []placement.Server
	require.NoError(t, json.Unmarshal([]byte(body), &servers))
	assert.Len(t, servers, 2)

	code, body = send(t, h, "GET", "/api/v1/vms", "")
	require.Equal(t, 200, code)
	var vms []VMView
	require.NoError(t, json.Unmarshal([]byte(body), &vms))
	require.Len(t, vms, 4)
	assert.Equal(t, "cache", vms[0].ID)
	assert.True(t, vms[0].Network.Matched)
	assert.InDelta(t, 2000, vms[0].Network.SentBps, 1e-9)
	assert.False(t, vms[2].Network.Matched) // spare
	assert.Contains(t, vms[2].Network.Reason, "10.0.0.9")
	assert.Nil(t, vms[2].Host)
	// db (10.0.0.2) is a located host: on switch 2, port 1.
	require.NotNil(t, vms[1].Host)
	assert.Equal(t, "0000000000000002", vms[1].Host.DPID)
	assert.Equal(t, uint16(1), vms[1].Host.Port)

	// Server a holds web and db: web→db (8 kbit/s) stays off its NIC;
	// web→cache (4 kbit/s) leaves it, cache→web (2 kbit/s) enters it.
	code, body = send(t, h, "GET", "/api/v1/placement", "")
	require.Equal(t, 200, code, body)
	var view PlacementView
	require.NoError(t, json.Unmarshal([]byte(body), &view))
	require.Len(t, view.Servers, 2)
	a := view.Servers[0]
	assert.Equal(t, "a", a.ID)
	assert.InDelta(t, 4000, a.NICOutBps, 1e-9)
	assert.InDelta(t, 2000, a.NICInBps, 1e-9)
	assert.InDelta(t, 0.4, a.NICUtil, 1e-9)
	assert.InDelta(t, 8000, a.LocalBps, 1e-9)
	assert.Equal(t, uint64(1000), a.NICOutBytes) // 2 s at 500 B/s
	assert.Equal(t, uint64(500), a.NICInBytes)
	assert.Equal(t, []string{"spare"}, view.Unplaced)

	code, body = send(t, h, "POST", "/api/v1/placement/plan", `{"policy":"traffic-aware"}`)
	require.Equal(t, 200, code, body)
	var plan map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &plan))
	assert.Equal(t, "traffic-aware", plan["policy"])
	assert.Len(t, plan["assignment"], 4)
	assert.Contains(t, plan, "moves")

	// Deleting: a server in use is a conflict; a VM then the server works.
	code, _ = send(t, h, "DELETE", "/api/v1/servers/b", "")
	assert.Equal(t, http.StatusConflict, code)
	code, _ = send(t, h, "DELETE", "/api/v1/vms/cache", "")
	assert.Equal(t, http.StatusNoContent, code)
	code, _ = send(t, h, "DELETE", "/api/v1/servers/b", "")
	assert.Equal(t, http.StatusNoContent, code)
	code, _ = send(t, h, "GET", "/api/v1/servers/b", "")
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = send(t, h, "GET", "/api/v1/vms/cache", "")
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = send(t, h, "DELETE", "/api/v1/vms/cache", "")
	assert.Equal(t, http.StatusNotFound, code)
	code, body = send(t, h, "GET", "/api/v1/vms/web", "")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `"ip":"10.0.0.1"`)
}

func TestPlacementBadRequests(t *testing.T) {
	h, _ := placementHandler(t)
	srv := `{"dpid":"1","port":1,"cpu_cores":8,"ram_mb":16000,"nic_bps":10000}`
	require.Equal(t, 200, func() int { c, _ := send(t, h, "PUT", "/api/v1/servers/a", srv); return c }())
	for _, tc := range []struct {
		name, method, path, body, want string
		status                         int
	}{
		{"bad field", "PUT", "/api/v1/servers/b", `{"dpid":"1","port":1,"cpu_cores":-8,"ram_mb":16000,"nic_bps":1}`, "cpu_cores", 400},
		{"unknown field", "PUT", "/api/v1/servers/b", `{"dpid":"1","port":1,"cpu_cores":8,"ram_mb":16000,"nic_bps":1,"gpu":1}`, "gpu", 400},
		{"trailing", "PUT", "/api/v1/servers/b", srv + `{}`, "trailing", 400},
		{"id mismatch", "PUT", "/api/v1/servers/b", `{"id":"c","dpid":"1","port":1,"cpu_cores":8,"ram_mb":1,"nic_bps":1}`, "id", 400},
		{"bad id", "PUT", "/api/v1/servers/b%20c", srv, "id", 400},
		{"empty", "PUT", "/api/v1/vms/v", ``, "empty", 400},
		{"type", "PUT", "/api/v1/vms/v", `{"vcpus":"two","ram_mb":1,"cpu_util":0.5}`, "vcpus", 400},
		{"util", "PUT", "/api/v1/vms/v", `{"vcpus":2,"ram_mb":1,"cpu_util":2}`, "cpu_util", 400},
		{"unknown server", "PUT", "/api/v1/vms/v", `{"vcpus":2,"ram_mb":1,"cpu_util":0.5,"server":"zz"}`, "zz", 400},
		{"not json", "POST", "/api/v1/placement/plan", `policy=balance`, "invalid", 400},
		{"no policy", "POST", "/api/v1/placement/plan", `{}`, "policy", 400},
		{"bad policy", "POST", "/api/v1/placement/plan", `{"policy":"best"}`, "policy", 400},
		{"plan trailing", "POST", "/api/v1/placement/plan", `{"policy":"balance"}x`, "trailing", 400},
		{"too large", "PUT", "/api/v1/vms/v", `{"service":"` + strings.Repeat("x", 8000) + `"}`, "larger", 413},
		{"method", "PATCH", "/api/v1/vms/v", `{}`, "not allowed", 405},
		{"plan get", "GET", "/api/v1/placement/plan", ``, "not allowed", 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := send(t, h, tc.method, tc.path, tc.body)
			assert.Equal(t, tc.status, code, body)
			var e Error
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			assert.Contains(t, e.Error, tc.want)
		})
	}
	// A VM that fits nowhere is named.
	code, body := send(t, h, "PUT", "/api/v1/vms/huge", `{"vcpus":64,"ram_mb":1,"cpu_util":1}`)
	require.Equal(t, 200, code, body)
	code, body = send(t, h, "POST", "/api/v1/placement/plan", `{"policy":"balance"}`)
	assert.Equal(t, http.StatusUnprocessableEntity, code)
	assert.Contains(t, body, "huge")
}

func TestWritesNeedToken(t *testing.T) {
	h, _ := placementHandler(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, Config{Token: "s3cret"}, ln, h, nil) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	base := "http://" + ln.Addr().String()
	put := func(auth string) int {
		req, err := http.NewRequest("PUT", base+"/api/v1/servers/a",
			strings.NewReader(`{"dpid":"1","port":1,"cpu_cores":8,"ram_mb":1,"nic_bps":1}`))
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, put(""))
	assert.Equal(t, http.StatusUnauthorized, put("Bearer wrong"))
	assert.Equal(t, http.StatusOK, put("Bearer s3cret"))
	resp, err := http.Get(base + "/api/v1/servers/a")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestLoopbackWithoutToken(t *testing.T) {
	assert.ErrorIs(t, Config{Addr: ":8080"}.Validate(), ErrNoToken)
	assert.ErrorIs(t, Config{Addr: "0.0.0.0:8080"}.Validate(), ErrNoToken)
	assert.ErrorIs(t, Config{Addr: "192.0.2.1:8080"}.Validate(), ErrNoToken)
	assert.NoError(t, Config{Addr: ":8080", Token: "t"}.Validate())
	assert.NoError(t, Config{Addr: "localhost:8080"}.Validate())
	assert.NoError(t, Config{Addr: "[::1]:8080"}.Validate())
	assert.Error(t, Config{Token: "a b"}.Validate())
	err := checkLoopback(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 80}, "")
	assert.True(t, errors.Is(err, ErrNoToken))
	assert.NoError(t, checkLoopback(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 80}, "t"))
	assert.NoError(t, checkLoopback(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}, ""))
}

// testHost names the network host with the address a: an IP address, or a MAC
// address for a host known by it alone.
func testHost(a string) stats.HostID {
	if ip, err := netip.ParseAddr(a); err == nil {
		return stats.HostID{IP: ip}
	}
	mac, err := net.ParseMAC(a)
	if err != nil {
		panic("testHost: " + a + " is neither an IP nor a MAC address")
	}
	h, _ := stats.HostOf(mac, netip.Addr{})
	return h
}

// observeReading hands r to s, keeping only the error.
func observeReading(s *stats.Store, r stats.Reading) error {
	_, err := s.Observe(r)
	return err
}
