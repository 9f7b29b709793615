package api

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/stats"
)

type fixedPolling struct{ p Polling }

func (f fixedPolling) Polling() Polling { return f.p }

// TestStatsOf serves a real stats.Store: the views carry the store's figures,
// the instant they are valid at, capacities and staleness.
func TestStatsOf(t *testing.T) {
	st, err := stats.New(stats.Config{})
	require.NoError(t, err)
	require.NoError(t, st.SetPortSpeeds(map[stats.PortKey]float64{{DPID: 1, Port: 2}: 1e8}))
	h1 := stats.HostID{MAC: [6]byte{5: 1}, IP: netip.MustParseAddr("10.0.0.1")}
	h2 := stats.HostID{MAC: [6]byte{5: 2}}
	path := []stats.Hop{{DPID: 1, InPort: 1, OutPort: 2}, {DPID: 2, InPort: 1, OutPort: 2}}
	require.NoError(t, st.AddFlow(stats.FlowInfo{ID: 1, Src: h1, Dst: h2, Path: path, Start: t0}))
	require.NoError(t, st.AddFlow(stats.FlowInfo{ID: 2, Src: h1, Dst: h2, Path: path, Start: t0}))
	_, err = st.Observe(stats.Reading{Flow: 1, DPID: 1, Bytes: 1_250_000, Packets: 10, Duration: time.Second, At: t0.Add(time.Second),
		Source: stats.SourcePollAll, Interval: 10 * time.Second})
	require.NoError(t, err)
	_, err = st.Observe(stats.Reading{Flow: 2, DPID: 1, Bytes: 125_000, Packets: 1, Duration: time.Second, At: t0.Add(time.Second),
		Source: stats.SourcePollSingle, Interval: 100 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, st.ObservePort(stats.PortReading{DPID: 1, Port: 2, At: t0}))
	require.NoError(t, st.ObservePort(stats.PortReading{DPID: 1, Port: 2, TxBytes: 2_500_000, At: t0.Add(2 * time.Second)}))
	st.Tick(t0.Add(2 * time.Second)) // flow 2 (valid until 1.3 s) is stale

	h := NewHandler(WithStats(nil, StatsOf(st, fixedPolling{Polling{Strategy: "mcps"}})), nil)
	get := func(path string, v any) {
		t.Helper()
		code, body := doStats(t, h, "GET", path, "")
		require.Equal(t, 200, code, body)
		require.NoError(t, json.Unmarshal([]byte(body), v))
	}
	var flows []FlowStats
	get("/api/v1/stats/flows", &flows)
	require.Len(t, flows, 2)
	assert.Equal(t, 1e7, flows[0].RateBps)
	assert.False(t, flows[0].Stale)
	assert.Equal(t, 10.0, flows[0].IntervalSeconds)
	require.NotNil(t, flows[0].ValidUntil)
	assert.True(t, flows[0].ValidUntil.Equal(t0.Add(31*time.Second)))
	assert.Equal(t, "10.0.0.1", flows[0].Src)
	assert.Equal(t, "00:00:00:00:00:02", flows[0].Dst)
	assert.True(t, flows[1].Stale)
	assert.Zero(t, flows[1].RateBps, "a stale flow's rate is not current")
	assert.Zero(t, flows[1].PacketRate)

	var links []LinkStats
	get("/api/v1/stats/links", &links)
	require.Len(t, links, 1)
	assert.Equal(t, 1e7, links[0].RateBps)
	assert.Equal(t, 1e8, links[0].CapacityBps)
	assert.Equal(t, "port", links[0].CapacitySource)
	assert.InDelta(t, 0.1, links[0].Utilization, 1e-12)
	require.NotNil(t, links[0].PortRateBps)
	assert.Equal(t, 1e7, *links[0].PortRateBps)
	assert.True(t, links[0].At.Equal(t0.Add(2*time.Second)))

	var hosts []HostStats
	get("/api/v1/stats/hosts", &hosts)
	require.Len(t, hosts, 2)
	assert.Equal(t, HostStats{Host: "00:00:00:00:00:02", MAC: "00:00:00:00:00:02", At: hosts[0].At, ReceivedBps: 1e7,
		ReceivedBytes: 1_375_000, FlowsIn: 2}, hosts[0])
	assert.Equal(t, "10.0.0.1", hosts[1].IP)

	var ports []PortStats
	get("/api/v1/stats/ports", &ports)
	require.Len(t, ports, 1)
	assert.Equal(t, 1e7, ports[0].TxBps)

	var snap StatsSnapshot
	get("/api/v1/stats/snapshot", &snap)
	assert.True(t, snap.At.Equal(t0.Add(2*time.Second)))
	assert.Len(t, snap.Flows, 2)
	assert.Equal(t, links, snap.Links)
	assert.Equal(t, hosts, snap.Hosts)
	require.Len(t, snap.Matrix, 1)
	assert.Equal(t, 1e7, snap.Matrix[0].RateBps)

	var p Polling
	get("/api/v1/polling", &p)
	assert.Equal(t, "mcps", p.Strategy)
	code, _ := doStats(t, h, "PUT", "/api/v1/polling", `{"strategy":"poll-all"}`)
	assert.Equal(t, 405, code, "a PollingSource that cannot switch: no PUT")

	fs := &fakeStats{strategy: "mcps"}
	h = NewHandler(WithStats(nil, StatsOf(st, fs)), nil)
	code, body := doStats(t, h, "PUT", "/api/v1/polling", `{"strategy":"poll-all"}`)
	assert.Equal(t, 200, code, body)
	assert.Equal(t, "poll-all", fs.Polling().Strategy)
}
