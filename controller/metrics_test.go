package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/topology"
)

// controllerOn wraps a fake network's core in a Controller, as Serve would run it.
func controllerOn(n *fakeNet) *Controller {
	c := New(n.c.cfg, nil)
	c.core = n.c
	return c
}

// TestViews: what the Controller shows of its switches, links, hosts and flows, as the
// REST adapter in cmd/cemon reads it, through a flow's life (active, draining, expired).
func TestViews(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	if got := n.ping(n.hosts["h1"], n.hosts["h3"]); !strings.HasSuffix(got, ": ok") {
		t.Fatal(got)
	}
	c := controllerOn(n)

	sws := c.Switches()
	require.Len(t, sws, 3)
	assert.Equal(t, uint64(1), sws[0].DPID)
	assert.Equal(t, "fake:s1", sws[0].Addr)
	assert.True(t, sws[0].Since.Equal(t0))
	require.Len(t, sws[0].Ports, 3)
	assert.Equal(t, "s1-eth1", sws[0].Ports[0].Name)
	assert.True(t, portUp(sws[0].Ports[0]))

	ls := c.Links()
	require.Len(t, ls, 4)
	assert.Equal(t, topology.Link{SrcDPID: 1, SrcPort: 3, DstDPID: 2, DstPort: 2}, ls[0])
	assert.Equal(t, ls, c.Network().Links())
	hs := c.Hosts()
	require.Len(t, hs, 2)
	assert.Equal(t, [6]byte{0, 0, 0, 0, 0, 1}, hs[0].MAC)
	assert.Equal(t, "10.0.0.1", hs[0].IP.String())
	h3, ok := c.Network().HostByIP(hs[1].IP)
	require.True(t, ok)
	path, ok := c.Network().HostPath(hs[0].MAC, h3.MAC)
	require.True(t, ok)
	assert.Len(t, path, 3)

	tr := c.Tracker()
	flows := tr.Snapshot()
	require.Len(t, flows, 2)
	assert.Equal(t, 2, tr.Len())
	f := flows[0]
	assert.Equal(t, flowtracker.StateActive, f.State)
	assert.Equal(t, tr.Cookie(f.ID), f.Cookie)
	assert.Equal(t, uint16(0xffff), f.Key.DLVLAN)
	assert.Equal(t, [4]byte{10, 0, 0, 1}, f.Key.NWSrc)
	byKey, ok := tr.ByKey(f.Key)
	require.True(t, ok)
	assert.Equal(t, f.ID, byKey.ID)
	// The egress switch expires its entries first: the flow drains, and has no final
	// counters until its ingress entry goes.
	sr := &scenario{t: t, n: n}
	sr.do("expire s3")
	d, ok := tr.Get(f.ID)
	require.True(t, ok)
	assert.Equal(t, flowtracker.StateDraining, d.State)
	assert.True(t, d.Entries[2].Gone)
	assert.False(t, d.Entries[0].Gone)
	_, final := d.Final()
	assert.False(t, final)
	n.advance(11 * time.Second)
	g, ok := tr.Get(f.ID)
	require.True(t, ok)
	assert.Equal(t, flowtracker.StateExpired, g.State)
	fc, final := g.Final()
	require.True(t, final)
	assert.Zero(t, fc.Packets, "the first packet went out with PACKET_OUT: the ingress entry counted nothing")
	assert.Equal(t, uint64(1), g.Entries[1].Final.Packets, "the second hop counted the packet")
	assert.Equal(t, 0, tr.Len())
	_, ok = tr.Get(12345)
	assert.False(t, ok, "an unknown id was found")
	assert.False(t, c.Serving())
	assert.Equal(t, uint64(2), c.NetStats().FlowsInstalled)
}

func TestCollector(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(2)
	n.connect(1)
	n.connect(2)
	c := controllerOn(n)
	col := NewCollector(c)
	problems, err := testutil.CollectAndLint(col)
	if err != nil || len(problems) != 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
	want := `
# HELP cemon_switches Switches connected (handshake done).
# TYPE cemon_switches gauge
cemon_switches 2
# HELP cemon_links Switch-to-switch links discovered, one per direction.
# TYPE cemon_links gauge
cemon_links 2
# HELP cemon_hosts Hosts located.
# TYPE cemon_hosts gauge
cemon_hosts 0
`
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), "cemon_switches", "cemon_links", "cemon_hosts"); err != nil {
		t.Fatal(err)
	}
	// The traffic counters come from the connections' meters (fed by the I/O edge).
	n.c.switches[1].meter.count(Sent, append([]byte{1, 14, 0, 80, 0, 0, 0, 1}, make([]byte, 72)...))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "cemon_openflow_bytes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["dpid"] == "0000000000000001" && labels["direction"] == "sent" && labels["type"] == "OFPT_FLOW_MOD" {
				found = true
				if v := m.GetCounter().GetValue(); v != 80 {
					t.Fatalf("FLOW_MOD bytes = %v, want 80", v)
				}
			}
		}
	}
	if !found {
		t.Fatal("no cemon_openflow_bytes_total for the FLOW_MOD sent")
	}
}
