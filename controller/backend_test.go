package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cemon-sdn/cemon/api"
)

// controllerOn wraps a fake network's core in a Controller, as Serve would run it.
func controllerOn(n *fakeNet) *Controller {
	c := New(n.c.cfg, nil)
	c.core = n.c
	return c
}

func TestBackend(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	if got := n.ping(n.hosts["h1"], n.hosts["h3"]); !strings.HasSuffix(got, ": ok") {
		t.Fatal(got)
	}
	b := NewBackend(controllerOn(n))

	sws := b.Switches()
	if len(sws) != 3 || sws[0].DPID != "0000000000000001" || len(sws[0].Ports) != 3 ||
		sws[0].Ports[0] != (api.Port{PortNo: 1, Name: "s1-eth1", HWAddr: "02:00:00:00:01:01", Up: true}) ||
		!sws[0].ConnectedSince.Equal(t0) || sws[0].Address != "fake:s1" {
		t.Fatalf("switches: %+v", sws)
	}
	if ls := b.Links(); len(ls) != 4 || ls[0] != (api.Link{SrcDPID: "0000000000000001", SrcPort: 3, DstDPID: "0000000000000002", DstPort: 2}) {
		t.Fatalf("links: %+v", ls)
	}
	hs := b.Hosts()
	if len(hs) != 2 || hs[0] != (api.Host{MAC: "00:00:00:00:00:01", IP: "10.0.0.1", DPID: "0000000000000001", Port: 1}) {
		t.Fatalf("hosts: %+v", hs)
	}

	flows := b.Flows()
	if len(flows) != 2 {
		t.Fatalf("%d flows, want 2", len(flows))
	}
	f := flows[0]
	if f.State != api.StateActive || f.End != nil || f.FinalByteCount != nil || len(f.Path) != 3 ||
		f.Match.NwSrc != "10.0.0.1" || f.Match.DlVlan != 0xffff || f.Match.NwProto != 1 || f.Match.TpSrc != 8 ||
		f.Cookie != api.FormatCookie(n.c.net.tracker.Cookie(f.ID)) ||
		f.Entries[1] != (api.FlowEntry{DPID: "0000000000000002", InPort: 2, OutPort: 3}) {
		t.Fatalf("active flow: %+v", f)
	}
	// The egress switch expires its entries first: the flow drains, and has no final
	// counters until its ingress entry goes.
	sr := &scenario{t: t, n: n}
	sr.do("expire s3")
	if d, ok := b.Flow(f.ID); !ok || d.State != api.StateDraining || d.End != nil || d.FinalByteCount != nil ||
		!d.Entries[2].Removed || d.Entries[0].Removed {
		t.Fatalf("draining flow: %+v", d)
	}
	n.advance(11 * time.Second)
	g, ok := b.Flow(f.ID)
	if !ok || g.State != api.StateExpired || g.End == nil || g.FinalPacketCount == nil || g.FinalByteCount == nil ||
		*g.FinalPacketCount != 0 || !g.Entries[0].Removed {
		t.Fatalf("expired flow: %+v", g)
	}
	// The first packet went out with PACKET_OUT: the ingress entry counted nothing, the
	// next one counted it.
	if fl, _ := n.c.net.tracker.Get(f.ID); fl.Entries[1].Final.Packets != 1 {
		t.Fatalf("second hop counted %d packets, want 1", fl.Entries[1].Final.Packets)
	}
	if _, ok := b.Flow(12345); ok {
		t.Fatal("an unknown id was found")
	}
	if err := b.Health(); err == nil {
		t.Fatal("healthy while not serving")
	}
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
