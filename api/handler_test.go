package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeBackend serves fixed views; it records nothing and is safe for concurrent use.
type fakeBackend struct {
	switches []Switch
	links    []Link
	hosts    []Host
	flows    []Flow
}

func (f *fakeBackend) Switches() []Switch { return append([]Switch(nil), f.switches...) }
func (f *fakeBackend) Links() []Link      { return append([]Link(nil), f.links...) }
func (f *fakeBackend) Hosts() []Host      { return append([]Host(nil), f.hosts...) }
func (f *fakeBackend) Flows() []Flow      { return append([]Flow(nil), f.flows...) }
func (f *fakeBackend) Flow(id uint64) (Flow, bool) {
	for _, fl := range f.flows {
		if fl.ID == id {
			return fl, true
		}
	}
	return Flow{}, false
}

// sickBackend is a fakeBackend that reports a health problem.
type sickBackend struct {
	fakeBackend
	err error
}

func (s *sickBackend) Health() error { return s.err }

var t0 = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

func u64(v uint64) *uint64 { return &v }

func testBackend() *fakeBackend {
	end := t0.Add(9 * time.Second)
	return &fakeBackend{
		switches: []Switch{
			{DPID: "0000000000000002", Address: "127.0.0.1:40002", ConnectedSince: t0,
				Ports: []Port{{PortNo: 1, Name: "s2-eth1", HWAddr: "aa:00:00:00:02:01", Up: true}}},
			{DPID: "0000000000000001", Address: "127.0.0.1:40001", ConnectedSince: t0}, // nil ports
		},
		links: []Link{
			{SrcDPID: "0000000000000002", SrcPort: 2, DstDPID: "0000000000000001", DstPort: 2},
			{SrcDPID: "0000000000000001", SrcPort: 2, DstDPID: "0000000000000002", DstPort: 2},
			{SrcDPID: "0000000000000002", SrcPort: 3, DstDPID: "0000000000000003", DstPort: 2},
		},
		hosts: []Host{
			{MAC: "00:00:00:00:00:02", IP: "10.0.0.2", DPID: "0000000000000002", Port: 1},
			{MAC: "00:00:00:00:00:01", IP: "10.0.0.1", DPID: "0000000000000001", Port: 1},
		},
		flows: []Flow{
			{ID: 7, Cookie: "0x0000000000000007", State: StateExpired, Start: t0, End: &end,
				Path:           []string{"0000000000000001", "0000000000000002"},
				Entries:        []FlowEntry{{DPID: "0000000000000001", InPort: 1, OutPort: 2, Removed: true}},
				Match:          Match{DlType: 0x0800, NwProto: 17, NwSrc: "10.0.0.1", NwDst: "10.0.0.2", TpSrc: 5000, TpDst: 5201},
				FinalByteCount: u64(1500), FinalPacketCount: u64(1)},
			{ID: 3, Cookie: "0x0000000000000003", State: StateActive, Start: t0,
				Path:  []string{"0000000000000002", "0000000000000003"},
				Match: Match{DlSrc: "00:00:00:00:00:02", DlDst: "00:00:00:00:00:03", DlType: 0x0806}},
			{ID: 5, Cookie: "0x0000000000000005", State: StateDraining, Start: t0,
				Path: []string{"0000000000000003", "0000000000000002"},
				Entries: []FlowEntry{{DPID: "0000000000000003", InPort: 1, OutPort: 2, Removed: true},
					{DPID: "0000000000000002", InPort: 3, OutPort: 1}},
				Match:          Match{DlType: 0x0800, NwProto: 6, NwSrc: "10.0.0.3", NwDst: "10.0.0.2", TpSrc: 40000, TpDst: 5201},
				FinalByteCount: u64(66), FinalPacketCount: u64(1)},
		},
	}
}

func do(t *testing.T, h http.Handler, method, target string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(body)
}

func TestEndpoints(t *testing.T) {
	h := NewHandler(testBackend(), nil)
	tests := []struct {
		name   string
		target string
		want   string // exact JSON body, without the trailing newline
	}{
		{"switches sorted, nil ports as []", "/api/v1/switches",
			`[{"dpid":"0000000000000001","address":"127.0.0.1:40001","ports":[],"connected_since":"2026-11-21T08:00:00Z"},` +
				`{"dpid":"0000000000000002","address":"127.0.0.1:40002","ports":[{"port_no":1,"name":"s2-eth1","hw_addr":"aa:00:00:00:02:01","up":true}],"connected_since":"2026-11-21T08:00:00Z"}]`},
		{"links sorted", "/api/v1/links",
			`[{"src_dpid":"0000000000000001","src_port":2,"dst_dpid":"0000000000000002","dst_port":2},` +
				`{"src_dpid":"0000000000000002","src_port":2,"dst_dpid":"0000000000000001","dst_port":2},` +
				`{"src_dpid":"0000000000000002","src_port":3,"dst_dpid":"0000000000000003","dst_port":2}]`},
		{"links touching a dpid", "/api/v1/links?dpid=0000000000000003",
			`[{"src_dpid":"0000000000000002","src_port":3,"dst_dpid":"0000000000000003","dst_port":2}]`},
		{"links, colon dpid, upper case", "/api/v1/links?dpid=00:00:00:00:00:00:00:0A", `[]`},
		{"hosts sorted", "/api/v1/hosts",
			`[{"mac":"00:00:00:00:00:01","ip":"10.0.0.1","dpid":"0000000000000001","port":1},` +
				`{"mac":"00:00:00:00:00:02","ip":"10.0.0.2","dpid":"0000000000000002","port":1}]`},
		{"hosts on a dpid", "/api/v1/hosts?dpid=0000000000000002",
			`[{"mac":"00:00:00:00:00:02","ip":"10.0.0.2","dpid":"0000000000000002","port":1}]`},
		{"active flows", "/api/v1/flows?state=active",
			`[{"id":3,"cookie":"0x0000000000000003","match":{"dl_src":"00:00:00:00:00:02","dl_dst":"00:00:00:00:00:03","dl_vlan":0,"dl_vlan_pcp":0,"dl_type":2054,"nw_tos":0,"nw_proto":0,"nw_src":"","nw_dst":"","tp_src":0,"tp_dst":0},` +
				`"path":["0000000000000002","0000000000000003"],"entries":[],"state":"active","start":"2026-11-21T08:00:00Z"}]`},
		{"draining flow by id", "/api/v1/flows/5",
			`{"id":5,"cookie":"0x0000000000000005","match":{"dl_src":"","dl_dst":"","dl_vlan":0,"dl_vlan_pcp":0,"dl_type":2048,"nw_tos":0,"nw_proto":6,"nw_src":"10.0.0.3","nw_dst":"10.0.0.2","tp_src":40000,"tp_dst":5201},` +
				`"path":["0000000000000003","0000000000000002"],"entries":[{"dpid":"0000000000000003","in_port":1,"out_port":2,"removed":true},{"dpid":"0000000000000002","in_port":3,"out_port":1,"removed":false}],"state":"draining","start":"2026-11-21T08:00:00Z","final_byte_count":66,"final_packet_count":1}`},
		{"expired flow by id", "/api/v1/flows/7",
			`{"id":7,"cookie":"0x0000000000000007","match":{"dl_src":"","dl_dst":"","dl_vlan":0,"dl_vlan_pcp":0,"dl_type":2048,"nw_tos":0,"nw_proto":17,"nw_src":"10.0.0.1","nw_dst":"10.0.0.2","tp_src":5000,"tp_dst":5201},` +
				`"path":["0000000000000001","0000000000000002"],"entries":[{"dpid":"0000000000000001","in_port":1,"out_port":2,"removed":true}],"state":"expired","start":"2026-11-21T08:00:00Z","end":"2026-11-21T08:00:09Z","final_byte_count":1500,"final_packet_count":1}`},
		{"flows through a dpid: none", "/api/v1/flows?dpid=0000000000000009", `[]`},
		{"healthz", "/healthz", `{"status":"ok"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := do(t, h, http.MethodGet, tt.target)
			if code != http.StatusOK {
				t.Fatalf("status %d, body %s", code, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := strings.TrimSuffix(body, "\n"); got != tt.want {
				t.Errorf("body\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestFlowsOrderAndFilter(t *testing.T) {
	h := NewHandler(testBackend(), nil)
	tests := []struct {
		target string
		want   []uint64
	}{
		{"/api/v1/flows", []uint64{3, 5, 7}},
		{"/api/v1/flows?state=active", []uint64{3}},
		{"/api/v1/flows?state=draining", []uint64{5}},
		{"/api/v1/flows?state=expired", []uint64{7}},
		{"/api/v1/flows?state=active,draining", []uint64{3, 5}},
		{"/api/v1/flows?state=expired,active", []uint64{3, 7}},
		{"/api/v1/flows?state=active,draining,expired", []uint64{3, 5, 7}},
		{"/api/v1/flows?dpid=0000000000000002", []uint64{3, 5, 7}},
		{"/api/v1/flows?dpid=0000000000000001&state=active", []uint64{}},
		{"/api/v1/flows?dpid=0000000000000001&state=expired", []uint64{7}},
		{"/api/v1/flows?dpid=0000000000000003&state=draining,expired", []uint64{5}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			code, _, body := do(t, h, http.MethodGet, tt.target)
			if code != http.StatusOK {
				t.Fatalf("status %d: %s", code, body)
			}
			var flows []Flow
			if err := json.Unmarshal([]byte(body), &flows); err != nil {
				t.Fatal(err)
			}
			got := []uint64{}
			for _, f := range flows {
				got = append(got, f.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("ids %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	h := NewHandler(testBackend(), nil)
	tests := []struct {
		name     string
		method   string
		target   string
		status   int
		contains string
	}{
		{"unknown flow id", "GET", "/api/v1/flows/42", 404, "no flow with id 42"},
		{"flow id not a number", "GET", "/api/v1/flows/abc", 400, "not a decimal"},
		{"flow id negative", "GET", "/api/v1/flows/-1", 400, "not a decimal"},
		{"flow id overflows", "GET", "/api/v1/flows/18446744073709551616", 400, "not a decimal"},
		{"bad state", "GET", "/api/v1/flows?state=gone", 400, `state: "gone" is not one of active, draining, expired`},
		{"bad state in a list", "GET", "/api/v1/flows?state=active,gone", 400, `state: "gone"`},
		{"empty state in a list", "GET", "/api/v1/flows?state=active,", 400, `state: ""`},
		{"state twice", "GET", "/api/v1/flows?state=active&state=expired", 400, "more than once"},
		{"dpid too short", "GET", "/api/v1/flows?dpid=12", 400, "want 16 hex digits"},
		{"dpid not hex", "GET", "/api/v1/hosts?dpid=000000000000000g", 400, "not hexadecimal"},
		{"dpid bad pairs", "GET", "/api/v1/links?dpid=0:00:00:00:00:00:00:001", 400, "colon-separated"},
		{"dpid twice", "GET", "/api/v1/links?dpid=0000000000000001&dpid=0000000000000002", 400, "more than once"},
		{"unknown parameter", "GET", "/api/v1/flows?stat=active", 400, `unknown query parameter "stat"`},
		{"parameter where none allowed", "GET", "/api/v1/switches?x=1", 400, `unknown query parameter "x"`},
		{"malformed query", "GET", "/api/v1/switches?a=%zz", 400, "malformed query"},
		{"unknown path", "GET", "/api/v1/nothing", 404, "no such endpoint"},
		{"not the root", "GET", "/index.html", 404, "no such endpoint"},
		{"post the root", "POST", "/", 405, "POST not allowed"},
		{"post", "POST", "/api/v1/flows", 405, "POST not allowed"},
		{"delete one flow", "DELETE", "/api/v1/flows/7", 405, "DELETE not allowed"},
		{"put healthz", "PUT", "/healthz", 405, "PUT not allowed"},
		{"metrics absent without gatherer", "GET", "/metrics", 404, "no such endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := do(t, h, tt.method, tt.target)
			if code != tt.status {
				t.Fatalf("status %d, want %d; body %s", code, tt.status, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var e Error
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("error body is not JSON: %v: %s", err, body)
			}
			if e.Status != tt.status || !strings.Contains(e.Error, tt.contains) {
				t.Errorf("error %+v, want status %d and reason containing %q", e, tt.status, tt.contains)
			}
			if code == 405 && hdr.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", hdr.Get("Allow"))
			}
		})
	}
}

func TestHead(t *testing.T) {
	srv := httptest.NewServer(NewHandler(testBackend(), nil))
	defer srv.Close()
	res, err := srv.Client().Head(srv.URL + "/api/v1/switches")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || len(body) != 0 || res.Header.Get("Content-Length") != "288" {
		t.Errorf("HEAD: status %d, body %q, Content-Length %q", res.StatusCode, body, res.Header.Get("Content-Length"))
	}
}

func TestEmptyBackendListsAreArrays(t *testing.T) {
	h := NewHandler(&fakeBackend{}, nil)
	for _, p := range []string{"/api/v1/switches", "/api/v1/links", "/api/v1/hosts", "/api/v1/flows"} {
		code, _, body := do(t, h, "GET", p)
		if code != 200 || body != "[]\n" {
			t.Errorf("%s: status %d body %q, want 200 []", p, code, body)
		}
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name     string
		b        Backend
		status   int
		contains string
	}{
		{"plain backend", &fakeBackend{}, 200, `"ok"`},
		{"healthy checker", &sickBackend{}, 200, `"ok"`},
		{"sick checker", &sickBackend{err: errors.New("controller: listener down")}, 503, "listener down"},
		{"nil backend", nil, 503, ErrNoBackend.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := do(t, NewHandler(tt.b, nil), "GET", "/healthz")
			if code != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("status %d body %s; want %d containing %q", code, body, tt.status, tt.contains)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "cemon_test_events_total", Help: "Test events."})
	reg.MustRegister(c)
	c.Add(3)
	h := NewHandler(&fakeBackend{}, reg)
	code, hdr, body := do(t, h, "GET", "/metrics")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Errorf("Content-Type %q", hdr.Get("Content-Type"))
	}
	if !strings.Contains(body, "cemon_test_events_total 3") {
		t.Errorf("metrics body lacks the counter:\n%s", body)
	}
	if code, _, _ := do(t, h, "POST", "/metrics"); code != 405 {
		t.Errorf("POST /metrics: status %d, want 405", code)
	}
}

func TestParseDPID(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"000000000000000a", "000000000000000a", false},
		{"000000000000000A", "000000000000000a", false},
		{"00:00:00:00:00:00:00:0a", "000000000000000a", false},
		{"ffffffffffffffff", "ffffffffffffffff", false},
		{"", "", true},
		{"a", "", true},
		{"0000000000000000a", "", true},
		{"+00000000000000a", "", true},
		{"00:00:00:00:00:00:0a", "", true},
		{"00:00:00:00:00:00:00:0g", "", true},
		{"0000:0000:0000:000a", "", true},
	}
	for _, tt := range tests {
		got, err := ParseDPID(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseDPID(%q) = %q, %v; want %q, err %v", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "api: ") {
			t.Errorf("ParseDPID(%q) error %q lacks the package prefix", tt.in, err)
		}
	}
}

func TestFormat(t *testing.T) {
	if got := FormatDPID(0xa); got != "000000000000000a" {
		t.Errorf("FormatDPID = %q", got)
	}
	if got := FormatCookie(0xdeadbeef); got != "0x00000000deadbeef" {
		t.Errorf("FormatCookie = %q", got)
	}
	if d, err := ParseDPID(FormatDPID(1<<63 + 5)); err != nil || d != "8000000000000005" {
		t.Errorf("round trip: %q, %v", d, err)
	}
}

// TestConcurrentRequests runs readers in parallel under the race detector. More
// lists than MaxConcurrentLists at once may get the bound's fast 503 (with
// Retry-After); a single flow never does.
func TestConcurrentRequests(t *testing.T) {
	h := NewHandler(testBackend(), nil)
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				paths := []string{"/api/v1/flows", "/api/v1/switches", "/api/v1/flows/7", "/api/v1/hosts"}
				path := paths[(i+j)%len(paths)]
				req := httptest.NewRequest("GET", path, nil)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				switch {
				case rec.Code == 200:
					ok.Add(1)
				case rec.Code == 503 && path != "/api/v1/flows/7" && rec.Header().Get("Retry-After") != "":
				default:
					t.Errorf("%s: status %d", path, rec.Code)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() <= 40 { // the 40 single flows, and at least one list
		t.Errorf("%d of 160 requests answered 200", ok.Load())
	}
}

func TestAllowListsExtensionMethods(t *testing.T) {
	r := &routes{mux: http.NewServeMux()}
	r.handle(http.MethodPut, "/api/v1/x", Op{}, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, "put") })
	r.get("/api/v1/x", Op{}, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, "get") })
	tests := []struct {
		method string
		status int
		allow  string
	}{
		{"GET", 200, ""},
		{"PUT", 200, ""},
		{"POST", 405, "GET, HEAD, PUT"},
		{"DELETE", 405, "GET, HEAD, PUT"},
	}
	for _, tt := range tests {
		code, hdr, body := do(t, r.mux, tt.method, "/api/v1/x")
		if code != tt.status || hdr.Get("Allow") != tt.allow {
			t.Errorf("%s: status %d Allow %q body %s; want %d and %q", tt.method, code, hdr.Get("Allow"), body, tt.status, tt.allow)
		}
	}
}

// FuzzRequest sends arbitrary methods, paths and query strings: every answer is
// JSON (or the metrics text), with a status the API documents, and nothing panics.
func FuzzRequest(f *testing.F) {
	for _, s := range []struct{ method, target string }{
		{"GET", "/api/v1/flows?state=active&dpid=0000000000000001"},
		{"GET", "/api/v1/flows/18446744073709551615"},
		{"DELETE", "/api/v1/switches"},
		{"GET", "/api/v1/hosts?dpid=00:00:00:00:00:00:00:01&dpid=x"},
		{"GET", "/api/v1/flows/%30"},
		{"GET", "/healthz?%"},
		{"HEAD", "/api/v1/links"},
		{"GET", "/api/v1//flows/../switches"},
	} {
		f.Add(s.method, s.target)
	}
	h := NewHandler(testBackend(), nil)
	f.Fuzz(func(t *testing.T, method, target string) {
		req, err := http.NewRequest(method, "http://cemon"+target, nil)
		if err != nil || req.URL.Path == "" || req.URL.Path[0] != '/' {
			return // not a request a server would hand to the handler
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 301, 307, 308, 400, 404, 405, 503:
		default:
			t.Fatalf("%s %q: status %d", method, target, rec.Code)
		}
		if rec.Code >= 300 && rec.Code < 400 {
			return // ServeMux's redirect to the cleaned path
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			return // the web page
		}
		if rec.Body.Len() > 0 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %q: status %d, body is not JSON: %q", method, target, rec.Code, rec.Body.String())
		}
	})
}

func TestWebPage(t *testing.T) {
	h := NewHandler(WithStats(testBackend(), &fakeStats{}), nil)
	code, hdr, body := do(t, h, "GET", "/")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: status %d, Content-Type %q", code, hdr.Get("Content-Type"))
	}
	// The page reads the endpoints this handler serves, by relative path.
	for _, p := range []string{"api/v1/switches", "api/v1/links", "api/v1/hosts", "api/v1/polling",
		"api/v1/stats/flows?state=active", "api/v1/stats/links", "api/v1/stats/matrix", "api/v1/stats/hosts"} {
		if !strings.Contains(body, `"`+p+`"`) {
			t.Errorf("the page does not read %s", p)
		}
		if code, _, _ := do(t, h, "GET", "/"+p); code != 200 {
			t.Errorf("GET /%s: status %d", p, code)
		}
	}
	// Nothing is loaded from elsewhere: no absolute URL in a src, href, fetch or url().
	for _, bad := range []string{`src="http`, `href="http`, `fetch("http`, `url(http`, `src="//`, `href="//`, "import("} {
		if strings.Contains(body, bad) {
			t.Errorf("the page loads something from elsewhere (%s)", bad)
		}
	}
}

// TestLayoutThroughWrappers: a layout given to WithLayout is served, and wrapping the
// Backend in WithStats afterwards hides neither the layout nor the statistics.
func TestLayoutThroughWrappers(t *testing.T) {
	l := map[string]Point{"0000000000000001": {X: -73.99, Y: 40.71}}
	h := NewHandler(WithStats(WithLayout(testBackend(), l), &fakeStats{}), nil)
	code, _, body := do(t, h, "GET", "/api/v1/topology/layout")
	require.Equal(t, 200, code)
	require.JSONEq(t, `{"0000000000000001": {"x": -73.99, "y": 40.71}}`, body)
	code, _, _ = do(t, h, "GET", "/api/v1/polling")
	require.Equal(t, 200, code)
	code, _, _ = do(t, NewHandler(testBackend(), nil), "GET", "/api/v1/topology/layout")
	require.Equal(t, 404, code)
}
