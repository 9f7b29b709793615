package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr(f float64) *float64 { return &f }

func TestMergeLinkStats(t *testing.T) {
	t1 := t0.Add(time.Second)
	a := []LinkStats{
		{SrcDPID: "2", SrcPort: 1, DstDPID: "1", DstPort: 2, RateBps: 4000, Bytes: 500, Flows: 1, CapacityBps: 1e6,
			CapacitySource: "config", PortRateBps: ptr(9000), PortUtilization: ptr(9e-3), At: t0},
		{SrcDPID: "1", SrcPort: 2, DstDPID: "2", DstPort: 1, At: t0},
	}
	b := []LinkStats{
		{SrcDPID: "2", SrcPort: 1, DstDPID: "1", DstPort: 2, RateBps: 6000, Bytes: 700, Flows: 2, CapacityBps: 1e6,
			CapacitySource: "config", PortRateBps: ptr(8000), At: t1},
		{SrcDPID: "3", SrcPort: 1, DstDPID: "2", DstPort: 3, RateBps: 10, Flows: 1, At: t1},
	}
	got := MergeLinkStats(a, b)
	require.Len(t, got, 3)
	assert.Equal(t, "1", got[0].SrcDPID)
	m := got[1]
	assert.Equal(t, "2", m.SrcDPID)
	assert.Equal(t, 10000.0, m.RateBps)
	assert.Equal(t, uint64(1200), m.Bytes)
	assert.Equal(t, 3, m.Flows)
	assert.InDelta(t, 0.01, m.Utilization, 1e-12) // summed rate over the capacity
	assert.Equal(t, 9000.0, *m.PortRateBps)       // the whole link's, from the first list, not summed
	assert.Equal(t, t1, m.At)
	assert.Equal(t, "3", got[2].SrcDPID)
	assert.Equal(t, 0.0, got[2].Utilization) // no capacity known: left as given
	// The inputs are left alone.
	assert.Equal(t, 4000.0, a[0].RateBps)
	// Nothing to merge: an empty list, not null.
	assert.Equal(t, []LinkStats{}, MergeLinkStats())
	assert.Equal(t, []LinkStats{}, MergeLinkStats(nil, nil))
}

func TestMergeMatrixAndHosts(t *testing.T) {
	t1 := t0.Add(time.Second)
	mx := MergeMatrix(
		[]MatrixEntry{{Src: "10.0.0.1", Dst: "10.0.0.2", RateBps: 1, Bytes: 10, Flows: 1, At: t0}},
		[]MatrixEntry{{Src: "10.0.0.1", Dst: "10.0.0.2", RateBps: 2, Bytes: 20, Flows: 1, At: t1},
			{Src: "10.0.0.2", Dst: "10.0.0.1", RateBps: 5, Bytes: 50, Flows: 1, At: t1}})
	assert.Equal(t, []MatrixEntry{
		{Src: "10.0.0.1", Dst: "10.0.0.2", RateBps: 3, Bytes: 30, Flows: 2, At: t1},
		{Src: "10.0.0.2", Dst: "10.0.0.1", RateBps: 5, Bytes: 50, Flows: 1, At: t1},
	}, mx)
	hs := MergeHostStats(
		[]HostStats{{Host: "10.0.0.1", IP: "10.0.0.1", SentBps: 1, SentBytes: 10, FlowsOut: 1, At: t1}},
		[]HostStats{{Host: "10.0.0.1", MAC: "00:00:00:00:00:01", SentBps: 2, ReceivedBps: 3, SentBytes: 20,
			ReceivedBytes: 30, FlowsOut: 1, FlowsIn: 1, At: t0}})
	assert.Equal(t, []HostStats{{Host: "10.0.0.1", MAC: "00:00:00:00:00:01", IP: "10.0.0.1", SentBps: 3, ReceivedBps: 3,
		SentBytes: 30, ReceivedBytes: 30, FlowsOut: 2, FlowsIn: 1, At: t1}}, hs)
}

func TestNextLink(t *testing.T) {
	assert.Equal(t, "/api/v1/stats/hosts?after=eA&limit=2", nextLink(`</api/v1/stats/hosts?after=eA&limit=2>; rel="next"`))
	assert.Equal(t, "", nextLink(""))
	assert.Equal(t, "", nextLink(`</x>; rel="prev"`))
}

// instanceStats is one instance's own statistics, for the fan-out tests.
type instanceStats struct {
	fakeStats
	links []LinkStats
	hosts []HostStats
	mx    []MatrixEntry
}

func (s *instanceStats) LinkStats() []LinkStats     { return s.links }
func (s *instanceStats) HostStats() []HostStats     { return s.hosts }
func (s *instanceStats) MatrixStats() []MatrixEntry { return s.mx }

// peerServer serves an instance's API on loopback and records the queries it got.
type peerServer struct {
	*httptest.Server
	mu      sync.Mutex
	queries []string
}

func startPeer(t *testing.T, id string, st *instanceStats, delay time.Duration, members func() []ClusterMember) *peerServer {
	t.Helper()
	h := NewHandler(WithStats(WithCluster(testBackend(), func() ClusterStatus {
		return ClusterStatus{ID: id, Members: members()}
	}), st), nil)
	p := &peerServer{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.queries = append(p.queries, r.URL.RawQuery)
		p.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// closedAddr returns the address of a loopback port nothing listens on: a peer whose
// process is gone. A test calls it once its live servers listen, so that none of them
// is given the port afterwards (a run had a live peer answer as the dead one).
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestFederatedStats(t *testing.T) {
	old := PeerTimeout
	PeerTimeout = 1500 * time.Millisecond
	oldPage := peerPageLimit
	peerPageLimit = 4 // b's hosts come in several pages
	t.Cleanup(func() { PeerTimeout, peerPageLimit = old, oldPage })

	link := func(rate float64, flows int) LinkStats {
		return LinkStats{SrcDPID: "0000000000000001", SrcPort: 2, DstDPID: "0000000000000002", DstPort: 1,
			RateBps: rate, Flows: flows, CapacityBps: 1e9, CapacitySource: "default"}
	}
	var members []ClusterMember
	var mu sync.Mutex
	list := func() []ClusterMember { mu.Lock(); defer mu.Unlock(); return members }
	// b has more hosts than one page holds: every page is fetched.
	bHosts := make([]HostStats, 9)
	for i := range bHosts {
		bHosts[i] = HostStats{Host: fmt.Sprintf("10.1.0.%d", i), SentBytes: 1}
	}
	bHosts = append(bHosts, HostStats{Host: "10.0.0.1", SentBytes: 100, FlowsOut: 1})
	b := startPeer(t, "b", &instanceStats{links: []LinkStats{link(2000, 2)}, hosts: bHosts,
		mx: []MatrixEntry{{Src: "10.0.0.1", Dst: "10.0.0.2", Bytes: 100, Flows: 1}}}, 0, list)
	c := startPeer(t, "c", &instanceStats{links: []LinkStats{link(3000, 1)}}, 0, list)
	slow := startPeer(t, "s", &instanceStats{links: []LinkStats{link(1e6, 1)}}, 5*time.Second, list)
	addr := func(s *peerServer) string { return strings.TrimPrefix(s.URL, "http://") }
	dead := closedAddr(t)
	mu.Lock()
	members = []ClusterMember{{ID: "a", API: "127.0.0.1:1"}, {ID: "b", API: addr(b)}, {ID: "c", API: addr(c)},
		{ID: "d", API: dead}, {ID: "s", API: addr(slow)}, {ID: "e"}} // e publishes no API: not asked
	mu.Unlock()

	a := NewHandler(WithStats(WithCluster(testBackend(), func() ClusterStatus {
		return ClusterStatus{ID: "a", Members: list()}
	}), &instanceStats{links: []LinkStats{link(1000, 1)}, hosts: []HostStats{{Host: "10.0.0.1", SentBytes: 50, FlowsOut: 1}},
		mx: []MatrixEntry{{Src: "10.0.0.1", Dst: "10.0.0.2", Bytes: 50, Flows: 1}}}), nil)

	start := time.Now()
	code, hdr, body := do(t, a, "GET", "/api/v1/stats/links")
	require.Equal(t, 200, code, body)
	assert.Less(t, time.Since(start), 3*time.Second, "the slow peer holds the answer up only PeerTimeout")
	var links []LinkStats
	require.NoError(t, json.Unmarshal([]byte(body), &links))
	require.Len(t, links, 1)
	assert.Equal(t, 6000.0, links[0].RateBps) // a + b + c; s too late, d gone
	assert.Equal(t, 4, links[0].Flows)
	assert.InDelta(t, 6e-6, links[0].Utilization, 1e-15)
	assert.Equal(t, "cluster", hdr.Get("X-Cemon-Scope"))
	assert.Equal(t, "a,b,c", hdr.Get("X-Cemon-Instances"))
	assert.Equal(t, "d,s", hdr.Get("X-Cemon-Partial"))
	// Peers were asked for their own figures only, so that they do not fan out.
	b.mu.Lock()
	assert.Contains(t, b.queries, "limit=4&scope=local")
	b.mu.Unlock()
	// The slow peer has been named; leave it out of the rest (each wait costs PeerTimeout).
	mu.Lock()
	members = slices.DeleteFunc(slices.Clone(members), func(m ClusterMember) bool { return m.ID == "s" })
	mu.Unlock()

	code, hdr, body = do(t, a, "GET", "/api/v1/stats/matrix")
	require.Equal(t, 200, code, body)
	assert.Contains(t, body, `"bytes":150,"flows":2`)
	assert.Equal(t, "a,b,c", hdr.Get("X-Cemon-Instances"))

	// Hosts: b's three pages, merged; the merged list is paged in turn.
	code, hdr, body = do(t, a, "GET", "/api/v1/stats/hosts?limit=8")
	require.Equal(t, 200, code, body)
	var hosts []HostStats
	require.NoError(t, json.Unmarshal([]byte(body), &hosts))
	assert.Len(t, hosts, 8)
	assert.Equal(t, "d", hdr.Get("X-Cemon-Partial"))
	assert.Equal(t, HostStats{Host: "10.0.0.1", SentBytes: 150, FlowsOut: 2}, hosts[0])
	next := nextLink(hdr.Get("Link"))
	require.NotEmpty(t, next)
	code, _, body = do(t, a, "GET", next)
	require.Equal(t, 200, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &hosts))
	assert.Len(t, hosts, 2) // 10.0.0.1 and b's 9 hosts make 10
	// scope=local: this instance's own figures, nobody asked.
	c.mu.Lock()
	asked := len(c.queries)
	c.mu.Unlock()
	code, hdr, body = do(t, a, "GET", "/api/v1/stats/links?scope=local")
	require.Equal(t, 200, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &links))
	assert.Equal(t, 1000.0, links[0].RateBps)
	assert.Equal(t, "local", hdr.Get("X-Cemon-Scope"))
	assert.Empty(t, hdr.Get("X-Cemon-Partial"))
	c.mu.Lock()
	assert.Equal(t, asked, len(c.queries))
	c.mu.Unlock()

	// Bad input: 400 with a reason, and no fan-out.
	for _, q := range []string{"?scope=world", "?scope=local&scope=cluster", "?limit=0", "?after=%25"} {
		code, _, body = do(t, a, "GET", "/api/v1/stats/hosts"+q)
		assert.Equal(t, 400, code, q)
		assert.Contains(t, body, `"error"`, q)
	}
	c.mu.Lock()
	assert.Equal(t, asked, len(c.queries))
	c.mu.Unlock()

	// The OpenAPI document names the parameter; without a cluster it is refused.
	_, _, doc := do(t, a, "GET", "/api/v1/openapi.json")
	assert.Contains(t, doc, `"scope"`)
	single := NewHandler(WithStats(testBackend(), &fakeStats{}), nil)
	code, _, _ = do(t, single, "GET", "/api/v1/stats/links?scope=local")
	assert.Equal(t, 400, code)
}

// ownStats is an instance's own flows' statistics.
type ownStats struct {
	fakeStats
	flows []FlowStats
}

func (s *ownStats) FlowStats() []FlowStats { return s.flows }
func (s *ownStats) FlowStat(id uint64) (FlowStats, bool) {
	for _, f := range s.flows {
		if f.ID == id {
			return f, true
		}
	}
	return FlowStats{}, false
}

func TestFlowFromOwner(t *testing.T) {
	old := PeerTimeout
	PeerTimeout = time.Second
	t.Cleanup(func() { PeerTimeout = old })

	var members []ClusterMember
	list := func() []ClusterMember { return members }
	// b owns flows 7, 3 and 5 (testBackend's) and flow 40's statistics.
	peerH := NewHandler(WithStats(WithCluster(testBackend(), func() ClusterStatus { return ClusterStatus{ID: "b", Members: list()} }),
		&ownStats{flows: []FlowStats{{ID: 40, Src: "10.0.0.4", Bytes: 4000, Active: true}}}), nil)
	var asked []string
	var mu sync.Mutex
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.RequestURI())
		mu.Unlock()
		peerH.ServeHTTP(w, r)
	}))
	t.Cleanup(b.Close)
	dead := closedAddr(t)
	members = []ClusterMember{{ID: "a"}, {ID: "b", API: strings.TrimPrefix(b.URL, "http://")}, {ID: "d", API: dead}}

	// a owns flow 41 and no flow of the tracker.
	own := testBackend()
	own.flows = nil
	a := NewHandler(WithStats(WithCluster(own, func() ClusterStatus { return ClusterStatus{ID: "a", Members: list()} }),
		&ownStats{flows: []FlowStats{{ID: 41, Src: "10.0.0.1", Bytes: 10, Active: true}}}), nil)

	code, hdr, body := do(t, a, "GET", "/api/v1/stats/flows/40")
	require.Equal(t, 200, code, body)
	assert.Equal(t, "b", hdr.Get("X-Cemon-Owner"))
	var fs FlowStats
	require.NoError(t, json.Unmarshal([]byte(body), &fs))
	assert.Equal(t, uint64(4000), fs.Bytes)
	mu.Lock()
	assert.Equal(t, []string{"/api/v1/stats/flows/40?scope=local"}, asked)
	mu.Unlock()

	code, hdr, body = do(t, a, "GET", "/api/v1/flows/3")
	require.Equal(t, 200, code, body)
	assert.Equal(t, "b", hdr.Get("X-Cemon-Owner"))
	assert.Contains(t, body, `"cookie":"0x0000000000000003"`)

	// Its own flow: answered here, nobody asked.
	mu.Lock()
	n := len(asked)
	mu.Unlock()
	code, hdr, body = do(t, a, "GET", "/api/v1/stats/flows/41")
	require.Equal(t, 200, code, body)
	assert.Equal(t, "a", hdr.Get("X-Cemon-Owner"))
	// scope=local: not looked for elsewhere.
	code, _, _ = do(t, a, "GET", "/api/v1/stats/flows/40?scope=local")
	assert.Equal(t, 404, code)
	mu.Lock()
	assert.Equal(t, n, len(asked))
	mu.Unlock()

	// Nobody has it: 404, with the peer that did not answer named.
	code, hdr, body = do(t, a, "GET", "/api/v1/flows/999")
	assert.Equal(t, 404, code)
	assert.Contains(t, body, `"error"`)
	assert.Equal(t, "d", hdr.Get("X-Cemon-Partial"))

	// Bad input.
	for _, target := range []string{"/api/v1/flows/x", "/api/v1/stats/flows/-1", "/api/v1/flows/3?scope=all", "/api/v1/flows/3?y=1"} {
		code, _, body = do(t, a, "GET", target)
		assert.Equal(t, 400, code, target)
		assert.Contains(t, body, `"error"`, target)
	}
}

func BenchmarkMergeLinkStats(b *testing.B) {
	// Three instances' loads on the same 1,000 directed links.
	lists := make([][]LinkStats, 3)
	for i := range lists {
		for l := range 1000 {
			lists[i] = append(lists[i], LinkStats{SrcDPID: fmt.Sprintf("%016x", l/4), SrcPort: uint16(l % 4),
				DstDPID: fmt.Sprintf("%016x", l/4+1), DstPort: 1, RateBps: 1000, Flows: 1, CapacityBps: 1e9})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(MergeLinkStats(lists...)) != 1000 {
			b.Fatal("merged wrong")
		}
	}
}

// pagedStats is an instance's own flow statistics, ports and snapshot, for the
// page-by-page merge tests.
type pagedStats struct {
	fakeStats
	flows []FlowStats
	ports []PortStats
}

func (s *pagedStats) FlowStats() []FlowStats { return s.flows }
func (s *pagedStats) PortStats() []PortStats { return s.ports }
func (s *pagedStats) StatsSnapshot() StatsSnapshot {
	return StatsSnapshot{At: s.ports[0].At, Flows: s.flows, Ports: s.ports,
		Links:  []LinkStats{{SrcDPID: "1", SrcPort: 1, DstDPID: "2", DstPort: 1, Bytes: uint64(100 * len(s.flows)), Flows: len(s.flows)}},
		Matrix: []MatrixEntry{{Src: "10.0.0.1", Dst: "10.0.0.2", Bytes: 10, Flows: 1}}}
}

// flowsWith returns active flow statistics with the given ids.
func flowsWith(ids ...uint64) []FlowStats {
	var out []FlowStats
	for _, id := range ids {
		out = append(out, FlowStats{ID: id, Bytes: 100 * id, Active: id != 5})
	}
	return out
}

func TestFederatedFlowListsPortsSnapshot(t *testing.T) {
	old := PeerTimeout
	PeerTimeout = time.Second
	t.Cleanup(func() { PeerTimeout = old })
	t1 := t0.Add(time.Second)

	var members []ClusterMember
	var mu sync.Mutex
	list := func() []ClusterMember { mu.Lock(); defer mu.Unlock(); return members }
	type peerSrv struct {
		*httptest.Server
		mu      sync.Mutex
		queries []string
	}
	start := func(id string, st *pagedStats, b *fakeBackend) *peerSrv {
		h := NewHandler(WithStats(WithCluster(b, func() ClusterStatus { return ClusterStatus{ID: id, Members: list()} }), st), nil)
		p := &peerSrv{}
		p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			p.queries = append(p.queries, r.URL.Path+"?"+r.URL.RawQuery)
			p.mu.Unlock()
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(p.Close)
		return p
	}
	// The flows' owners: a 1 4 7, b 2 5 8 9 10 11 (and the tracker's 3 5 7), c 3 6.
	// Flow 7 is listed by a and by b (handed over between two readings): once.
	noFlows := testBackend()
	noFlows.flows = nil
	b := start("b", &pagedStats{flows: flowsWith(2, 5, 7, 8, 9, 10, 11),
		ports: []PortStats{{DPID: "0000000000000002", Port: 1, TxBps: 20, At: t1}, {DPID: "0000000000000001", Port: 1, TxBps: 9, At: t0}}}, testBackend())
	c := start("c", &pagedStats{flows: flowsWith(3, 6),
		ports: []PortStats{{DPID: "0000000000000003", Port: 2, RxBps: 30, At: t0}}}, noFlows)
	addr := func(s *peerSrv) string { return strings.TrimPrefix(s.URL, "http://") }
	dead := closedAddr(t)
	mu.Lock()
	members = []ClusterMember{{ID: "a"}, {ID: "b", API: addr(b)}, {ID: "c", API: addr(c)}, {ID: "d", API: dead}}
	mu.Unlock()
	aFlows := flowsWith(1, 4, 7)
	aFlows[2].Bytes = 7777 // a's reading of 7 is the one kept
	a := NewHandler(WithStats(WithCluster(noFlows, func() ClusterStatus { return ClusterStatus{ID: "a", Members: list()} }),
		&pagedStats{flows: aFlows, ports: []PortStats{{DPID: "0000000000000001", Port: 1, TxBps: 10, At: t1}}}), nil)

	// Every page of two: 1..11 once each, in order; the page after 8 has a next link
	// although the merged page ends with b's page (b has more).
	var got []uint64
	target := "/api/v1/stats/flows?limit=2"
	pages := 0
	for target != "" && pages < 20 {
		code, hdr, body := do(t, a, "GET", target)
		require.Equal(t, 200, code, body)
		var page []FlowStats
		require.NoError(t, json.Unmarshal([]byte(body), &page))
		assert.LessOrEqual(t, len(page), 2)
		for _, f := range page {
			got = append(got, f.ID)
			if f.ID == 7 {
				assert.Equal(t, uint64(7777), f.Bytes)
			}
		}
		assert.Equal(t, "a,b,c", hdr.Get("X-Cemon-Instances"))
		assert.Equal(t, "d", hdr.Get("X-Cemon-Partial"))
		assert.Equal(t, "cluster", hdr.Get("X-Cemon-Scope"))
		target = nextLink(hdr.Get("Link"))
		pages++
	}
	assert.Equal(t, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, got)
	assert.Equal(t, 6, pages)
	// Peers were asked for the same page, their own flows only.
	b.mu.Lock()
	assert.Contains(t, b.queries, "/api/v1/stats/flows?after="+base64Key(8)+"&limit=2&scope=local")
	b.mu.Unlock()

	// Filters go to the peers: active flows only, in one page.
	code, _, body := do(t, a, "GET", "/api/v1/stats/flows?state=active")
	require.Equal(t, 200, code, body)
	var fs []FlowStats
	require.NoError(t, json.Unmarshal([]byte(body), &fs))
	assert.Len(t, fs, 10) // all but 5
	// /api/v1/flows: the tracker's flows of b (3 5 7), through a, with its filters.
	code, hdr, body := do(t, a, "GET", "/api/v1/flows?state=active,draining&limit=1")
	require.Equal(t, 200, code, body)
	var flows []Flow
	require.NoError(t, json.Unmarshal([]byte(body), &flows))
	require.Len(t, flows, 1)
	assert.Equal(t, uint64(3), flows[0].ID)
	next := nextLink(hdr.Get("Link"))
	require.NotEmpty(t, next)
	code, hdr, body = do(t, a, "GET", next)
	require.Equal(t, 200, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &flows))
	require.Len(t, flows, 1)
	assert.Equal(t, uint64(5), flows[0].ID)
	assert.Equal(t, "", nextLink(hdr.Get("Link"))) // 7 is expired
	code, _, body = do(t, a, "GET", "/api/v1/flows?scope=local")
	require.Equal(t, 200, code, body)
	assert.Equal(t, "[]\n", body)

	// Ports: the union, the latest reading of a port read by two instances.
	code, _, body = do(t, a, "GET", "/api/v1/stats/ports")
	require.Equal(t, 200, code, body)
	var ports []PortStats
	require.NoError(t, json.Unmarshal([]byte(body), &ports))
	assert.Equal(t, []PortStats{{DPID: "0000000000000001", Port: 1, TxBps: 10, At: t1},
		{DPID: "0000000000000002", Port: 1, TxBps: 20, At: t1}, {DPID: "0000000000000003", Port: 2, RxBps: 30, At: t0}}, ports)

	// The snapshot: every instance's, merged.
	code, hdr, body = do(t, a, "GET", "/api/v1/stats/snapshot")
	require.Equal(t, 200, code, body)
	var snap StatsSnapshot
	require.NoError(t, json.Unmarshal([]byte(body), &snap))
	assert.Equal(t, "a,b,c", hdr.Get("X-Cemon-Instances"))
	assert.Equal(t, "d", hdr.Get("X-Cemon-Partial"))
	assert.Len(t, snap.Flows, 11)
	assert.Len(t, snap.Ports, 3)
	require.Len(t, snap.Links, 1)
	assert.Equal(t, 12, snap.Links[0].Flows) // 3 + 7 + 2 as each instance counts its own
	require.Len(t, snap.Matrix, 1)
	assert.Equal(t, uint64(30), snap.Matrix[0].Bytes)
	assert.Equal(t, t1, snap.At)
	code, hdr, body = do(t, a, "GET", "/api/v1/stats/snapshot?scope=local")
	require.Equal(t, 200, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &snap))
	assert.Len(t, snap.Flows, 3)
	assert.Equal(t, "local", hdr.Get("X-Cemon-Scope"))

	// Bad input: 400, nobody asked.
	c.mu.Lock()
	asked := len(c.queries)
	c.mu.Unlock()
	for _, target := range []string{"/api/v1/stats/flows?state=gone", "/api/v1/flows?dpid=xyz", "/api/v1/flows?scope=all",
		"/api/v1/stats/flows?after=%25", "/api/v1/stats/snapshot?scope=x", "/api/v1/stats/ports?limit=0"} {
		code, _, body := do(t, a, "GET", target)
		assert.Equal(t, 400, code, target)
		assert.Contains(t, body, `"error"`, target)
	}
	c.mu.Lock()
	assert.Equal(t, asked, len(c.queries))
	c.mu.Unlock()
}

func base64Key(id uint64) string { return base64.RawURLEncoding.EncodeToString([]byte(idKey(id))) }

func TestMergeSnapshotsAndPorts(t *testing.T) {
	t1 := t0.Add(time.Second)
	assert.Equal(t, []PortStats{}, MergePortStats())
	assert.Equal(t, []PortStats{{DPID: "1", Port: 1, TxBps: 2, At: t1}},
		MergePortStats([]PortStats{{DPID: "1", Port: 1, TxBps: 1, At: t0}}, []PortStats{{DPID: "1", Port: 1, TxBps: 2, At: t1}}))
	s := MergeSnapshots()
	assert.Equal(t, []FlowStats{}, s.Flows)
	assert.True(t, s.At.IsZero())
}

func BenchmarkMergeSnapshots(b *testing.B) {
	// Three instances, each with 1,000 flows of its own and the same 1,000 links and
	// 1,000 ports.
	snaps := make([]StatsSnapshot, 3)
	for i := range snaps {
		for l := range 1000 {
			snaps[i].Flows = append(snaps[i].Flows, FlowStats{ID: uint64(i*1000 + l), Bytes: 1000, Active: true})
			snaps[i].Links = append(snaps[i].Links, LinkStats{SrcDPID: fmt.Sprintf("%016x", l/4), SrcPort: uint16(l % 4),
				DstDPID: fmt.Sprintf("%016x", l/4+1), DstPort: 1, RateBps: 1000, Flows: 1, CapacityBps: 1e9})
			snaps[i].Ports = append(snaps[i].Ports, PortStats{DPID: fmt.Sprintf("%016x", l/4), Port: uint16(l % 4), TxBps: 1, At: t0})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if s := MergeSnapshots(snaps...); len(s.Flows) != 3000 || len(s.Links) != 1000 || len(s.Ports) != 1000 {
			b.Fatal("merged wrong")
		}
	}
}
