package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/cemon-sdn/cemon/afps"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/collector"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/stats"
)

// entrySwitches answers every flow statistics request with the entries of the
// switch (keyed by cookie, each counting the same bytes), as a switch answers a
// poll-all.
type entrySwitches struct {
	mu      sync.Mutex
	entries map[uint64][]ofproto.FlowStats
}

func (n *entrySwitches) Request(_ context.Context, dpid uint64, msg ofproto.Message) ([]ofproto.Message, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return []ofproto.Message{&ofproto.StatsReply{Xid: msg.XID(),
		Body: &ofproto.FlowStatsReply{Entries: append([]ofproto.FlowStats(nil), n.entries[dpid]...)}}}, nil
}

// TestStatsViewOverCollector drives one poll-all round of a real collector and
// reads it back through the REST API as cemon run wires it: the statistics from
// the store, the scheme from the collector.
func TestStatsViewOverCollector(t *testing.T) {
	tr, err := flowtracker.New(flowtracker.Config{})
	require.NoError(t, err)
	store, err := stats.New(stats.Config{})
	require.NoError(t, err)
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	net := &entrySwitches{entries: map[uint64][]ofproto.FlowStats{}}
	c, err := collector.New(collector.Config{Strategy: collector.StrategyPollAll}, collector.Deps{Requester: net, Tracker: tr, Store: store,
		Switches: func() []uint64 { return []uint64{1, 2} }, Clock: func() time.Time { return now }})
	require.NoError(t, err)
	defer c.Close()
	hops := []flowtracker.Hop{{DPID: 1, InPort: 3, OutPort: 1}, {DPID: 2, InPort: 1, OutPort: 3}}
	key := flowtracker.Key{DLType: 0x0800, NWProto: 6, DLVLAN: 0xffff, DLSrc: [6]byte{5: 1}, DLDst: [6]byte{5: 2},
		NWSrc: [4]byte{10, 0, 0, 1}, NWDst: [4]byte{10, 0, 0, 2}, TPSrc: 40000, TPDst: 5001}
	h, _, err := tr.Add(key, hops, now)
	require.NoError(t, err)
	for _, hp := range hops {
		net.entries[hp.DPID] = append(net.entries[hp.DPID], ofproto.FlowStats{Cookie: h.Cookie, ByteCount: 125_000, PacketCount: 100, DurationSec: 1})
	}
	c.Drain()
	now = now.Add(time.Second)
	c.Round(context.Background())

	pl := &polling{store: store, collector: c}
	hd := api.NewHandler(api.WithStats(nil, pl.statsBackend()), nil)
	get := func(path string, v any) {
		t.Helper()
		rec := httptest.NewRecorder()
		hd.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		require.Equal(t, 200, rec.Code, rec.Body.String())
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), v))
	}
	var p api.Polling
	get("/api/v1/polling", &p)
	assert.Equal(t, "poll-all", p.Strategy)
	assert.Equal(t, []string{"0000000000000001", "0000000000000002"}, p.PollAll)
	assert.Equal(t, uint64(2), p.Totals.Requests)
	require.Len(t, p.ByStrategy, 1)
	assert.Equal(t, "poll-all", p.ByStrategy[0].Strategy)
	require.Len(t, p.Switches, 2) // each switch's learned reply time
	for i, ps := range p.Switches {
		assert.Equal(t, fmt.Sprintf("%016x", i+1), ps.DPID)
		assert.Equal(t, uint64(1), ps.Samples)
		assert.False(t, ps.Slow)
		assert.False(t, ps.InFlight)
		assert.Nil(t, ps.HeldUntil)
		require.NotNil(t, ps.LastReplyAt)
	}

	var flows []api.FlowStats
	get("/api/v1/stats/flows", &flows)
	require.Len(t, flows, 1)
	assert.Equal(t, api.FlowStats{ID: h.ID, Src: "10.0.0.1", Dst: "10.0.0.2", Bytes: 125_000, Packets: 100, RateBps: 1e6, PacketRate: 100,
		LastPolled: flows[0].LastPolled, Source: "poll-all", DPID: "0000000000000001", Readings: 1, Active: true, Start: flows[0].Start,
		IntervalSeconds: 1, ValidUntil: flows[0].ValidUntil}, flows[0])
	var hosts []api.HostStats
	get("/api/v1/stats/hosts", &hosts)
	require.Len(t, hosts, 2)
	assert.Equal(t, "00:00:00:00:00:01", hosts[0].MAC)
	assert.Equal(t, "10.0.0.1", hosts[0].IP)
	var links []api.LinkStats
	get("/api/v1/stats/links", &links)
	require.Len(t, links, 1)
	assert.Equal(t, "default", links[0].CapacitySource)

	for _, tt := range []struct {
		body string
		code int
	}{{`{"strategy":"nope"}`, 400}, {`{"strategy":"mcps"}`, 200}} {
		rec := httptest.NewRecorder()
		hd.ServeHTTP(rec, httptest.NewRequest("PUT", "/api/v1/polling", strings.NewReader(tt.body)))
		assert.Equal(t, tt.code, rec.Code, rec.Body.String())
	}
	assert.Equal(t, collector.StrategyMCPS, c.Strategy())
}

func TestPortSpeedBps(t *testing.T) {
	tests := []struct {
		curr ofproto.PortFeatures
		want float64
		ok   bool
	}{
		{0, 0, false},
		{ofproto.FeatureCopper | ofproto.FeatureAutoneg, 0, false},
		{ofproto.Feature10MBHD, 10e6, true},
		{ofproto.Feature10MBFD | ofproto.FeatureCopper, 10e6, true},
		{ofproto.Feature100MBHD, 100e6, true},
		{ofproto.Feature100MBFD, 100e6, true},
		{ofproto.Feature1GBHD, 1e9, true},
		{ofproto.Feature1GBFD | ofproto.Feature100MBFD, 1e9, true},
		{ofproto.Feature10GBFD | ofproto.FeatureCopper, 10e9, true}, // what Mininet's veth ports advertise
	}
	for _, tt := range tests {
		got, ok := portSpeedBps(tt.curr)
		assert.Equal(t, tt.want, got, "%v", tt.curr)
		assert.Equal(t, tt.ok, ok, "%v", tt.curr)
	}
}

// TestFeedPortSpeeds: the store takes the switches' port speeds at once and
// again after an event; link capacities follow, and an explicit capacity wins.
func TestFeedPortSpeeds(t *testing.T) {
	var mu sync.Mutex
	sw := []controller.SwitchInfo{{DPID: 1, Ports: []ofproto.PhyPort{{PortNo: 1, Curr: ofproto.Feature10GBFD}, {PortNo: 2}}},
		{DPID: 2, Ports: []ofproto.PhyPort{{PortNo: 1, Curr: ofproto.Feature100MBFD}}}}
	switches := func() []controller.SwitchInfo {
		mu.Lock()
		defer mu.Unlock()
		return sw
	}
	for _, explicit := range []float64{0, 5e8} {
		store, err := stats.New(stats.Config{LinkCapacityBps: explicit})
		require.NoError(t, err)
		link := stats.Link{SrcDPID: 1, SrcPort: 1, DstDPID: 2, DstPort: 1}
		store.AddLinks(link, stats.Link{SrcDPID: 1, SrcPort: 2, DstDPID: 3, DstPort: 1})
		events := make(chan controller.Event, 4)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			feedPortSpeeds(ctx, events, switches, store, slog.New(slog.DiscardHandler))
		}()
		capacity := func(l stats.Link) float64 { ll, _ := store.LinkLoad(l); return ll.CapacityBps }
		want := func(v float64) float64 {
			if explicit > 0 {
				return explicit
			}
			return v
		}
		require.Eventually(t, func() bool { return capacity(link) == want(100e6) }, 5*time.Second, time.Millisecond)
		assert.Equal(t, want(stats.DefaultLinkCapacityBps), capacity(stats.Link{SrcDPID: 1, SrcPort: 2, DstDPID: 3, DstPort: 1}),
			"a port without a speed")
		mu.Lock()
		sw = []controller.SwitchInfo{sw[0], {DPID: 2, Ports: []ofproto.PhyPort{{PortNo: 1, Curr: ofproto.Feature1GBFD}}}}
		mu.Unlock()
		events <- controller.Event{Kind: controller.PortStatus, DPID: 2}
		require.Eventually(t, func() bool { return capacity(link) == want(1e9) }, 5*time.Second, time.Millisecond)
		cancel()
		<-done
		mu.Lock()
		sw = []controller.SwitchInfo{{DPID: 1, Ports: []ofproto.PhyPort{{PortNo: 1, Curr: ofproto.Feature10GBFD}, {PortNo: 2}}},
			{DPID: 2, Ports: []ofproto.PhyPort{{PortNo: 1, Curr: ofproto.Feature100MBFD}}}}
		mu.Unlock()
	}
}

// PUT /api/v1/polling {"strategy": "afps", "sampler": "payless"} reaches the collector.
func TestPutPollingAFPSSampler(t *testing.T) {
	tr, err := flowtracker.New(flowtracker.Config{})
	require.NoError(t, err)
	store, err := stats.New(stats.Config{})
	require.NoError(t, err)
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	net := &entrySwitches{entries: map[uint64][]ofproto.FlowStats{}}
	c, err := collector.New(collector.Config{}, collector.Deps{Requester: net, Tracker: tr, Store: store,
		Switches: func() []uint64 { return []uint64{1, 2} }, Clock: func() time.Time { return now }})
	require.NoError(t, err)
	pl := &polling{store: store, collector: c}
	hd := api.NewHandler(api.WithStats(nil, pl.statsBackend()), nil)
	rec := httptest.NewRecorder()
	hd.ServeHTTP(rec, httptest.NewRequest("PUT", "/api/v1/polling", strings.NewReader(`{"strategy": "afps", "sampler": "payless"}`)))
	if rec.Code != 200 {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	if pl.collector.Strategy() != collector.StrategyAFPS || pl.collector.Config().Sampler.Kind != afps.PayLess {
		t.Errorf("strategy %v sampler %v", pl.collector.Strategy(), pl.collector.Config().Sampler.Kind)
	}
	rec = httptest.NewRecorder()
	hd.ServeHTTP(rec, httptest.NewRequest("PUT", "/api/v1/polling", strings.NewReader(`{"strategy": "afps", "sampler": "nope"}`)))
	if rec.Code != 400 {
		t.Errorf("bad sampler: %d %s", rec.Code, rec.Body)
	}
}
