package controller

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
)

// recorder is an application that writes down what it is handed.
type recorder struct {
	BaseApp
	name  string
	calls []string
	ticks int
	lldp  int // LLDP frames it saw (Discovery stops them before anyone after it)
	sent  bool
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) SwitchUp(x *Context, sw Switch, _ time.Time) {
	r.calls = append(r.calls, fmt.Sprintf("up %d ports=%d", sw.DPID(), len(sw.Ports())))
}

func (r *recorder) SwitchDown(x *Context, sw Switch, _ time.Time) {
	r.calls = append(r.calls, fmt.Sprintf("down %d", sw.DPID()))
	// A switch that left cannot be sent to.
	r.sent = x.Send(sw, &ofproto.BarrierRequest{})
}

func (r *recorder) PacketIn(_ *Context, sw Switch, m *ofproto.PacketIn, _ time.Time) Verdict {
	if len(m.Data) >= 14 && m.Data[12] == 0x88 && m.Data[13] == 0xcc {
		r.lldp++
	}
	r.calls = append(r.calls, fmt.Sprintf("packet-in %d", sw.DPID()))
	return Continue
}

func (r *recorder) FlowRemoved(_ *Context, sw Switch, m *ofproto.FlowRemoved, _ time.Time) {
	r.calls = append(r.calls, fmt.Sprintf("flow-removed %d", sw.DPID()))
}

func (r *recorder) PortStatus(_ *Context, sw Switch, m *ofproto.PortStatus, _ time.Time) {
	p, _ := sw.Port(m.Desc.PortNo)
	r.calls = append(r.calls, fmt.Sprintf("port %d:%d up=%v", sw.DPID(), m.Desc.PortNo, portUp(p)))
}

func (r *recorder) Tick(*Context, time.Time) { r.ticks++ }

func (r *recorder) HandleEvent(_ *Context, ev Event) {
	r.calls = append(r.calls, fmt.Sprintf("%v %d links", ev.Kind, len(ev.Links)))
}

// count returns how many calls start with prefix.
func (r *recorder) count(prefix string) int {
	n := 0
	for _, c := range r.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// budget is a PACKET_IN filter before Routing: it lets through at most limit IPv4
// PACKET_INs per switch and tick window, and stops the rest (nothing is installed for
// them).
type budget struct {
	BaseApp
	limit   int
	used    map[uint64]int
	stopped int
}

func (b *budget) Name() string { return "budget" }

func (b *budget) PacketIn(x *Context, sw Switch, m *ofproto.PacketIn, _ time.Time) Verdict {
	if len(m.Data) < 14 || m.Data[12] != 0x08 || m.Data[13] != 0x00 {
		return Continue
	}
	if b.used[sw.DPID()] >= b.limit {
		b.stopped++
		return Stop
	}
	b.used[sw.DPID()]++
	return Continue
}

func (b *budget) Tick(*Context, time.Time) { clear(b.used) }

// TestAppsSeeEveryEvent: an application after the built-ins gets every switch event in
// order, the events Discovery emits, and only the PACKET_INs Discovery let through.
func TestAppsSeeEveryEvent(t *testing.T) {
	rec := &recorder{name: "recorder"}
	n := newFakeNet(t, Config{Apps: []App{Discovery, Routing, rec}})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	assert.Equal(t, []string{"up 1 ports=3", "up 2 ports=3", "link-up 1 links", "link-up 1 links",
		"up 3 ports=3", "link-up 1 links", "link-up 1 links"}, rec.calls)
	rec.calls = nil

	require.True(t, strings.HasSuffix(n.ping(n.hosts["h1"], n.hosts["h3"]), ": ok"))
	n.advance(2 * time.Second)
	assert.Zero(t, rec.lldp, "Discovery stops LLDP before later applications")
	assert.Equal(t, 4, rec.count("packet-in"), "ARP request, ARP reply, echo request, echo reply")
	assert.Equal(t, 20, rec.ticks, "one tick per 100 ms")
	assert.Equal(t, uint64(2), n.c.stats.FlowsInstalled, "Routing ran before the recorder")

	rec.calls = nil
	sr := &scenario{t: t, n: n}
	sr.do("portdown 2:3")
	assert.Equal(t, []string{"link-down 2 links", "port 2:3 up=false", "flow-removed 1", "flow-removed 1",
		"flow-removed 2", "flow-removed 2", "flow-removed 3", "flow-removed 3"}, rec.calls,
		"the port's links, then the port, then the FLOW_REMOVEDs of the flows over it")

	rec.calls = nil
	n.disconnect(3)
	assert.Equal(t, []string{"down 3"}, rec.calls)
	assert.False(t, rec.sent, "a message to a switch that left was taken")
}

// TestAppStopsPacketIn: an application before Routing that stops a PACKET_IN keeps it
// from Routing (nothing installed, nothing forwarded), and lets the rest through.
func TestAppStopsPacketIn(t *testing.T) {
	b := &budget{limit: 1, used: map[uint64]int{}}
	n := newFakeNet(t, Config{Apps: []App{Discovery, b, Routing}})
	n.linear(2)
	n.connect(1)
	n.connect(2)
	h1, h2 := n.hosts["h1"], n.hosts["h2"]
	// ARP goes through (not IPv4): both hosts are learned.
	n.hostSend(h1, arpFrame(layers.ARPRequest, h1.mac, h1.ip, ofproto.MAC{}, h2.ip))
	n.run()
	n.hostSend(h2, arpFrame(layers.ARPRequest, h2.mac, h2.ip, ofproto.MAC{}, h2.ip))
	n.run()
	require.Len(t, n.c.topo.Hosts(), 2)

	// Two new UDP flows from h1 within one tick: the first is installed, the second
	// is stopped at s1 and goes nowhere.
	n.hostSend(h1, udpFrame(h1.mac, h2.mac, h1.ip, h2.ip, 1000, 2000, 0, 10))
	n.hostSend(h1, udpFrame(h1.mac, h2.mac, h1.ip, h2.ip, 1001, 2000, 0, 10))
	n.run()
	assert.Equal(t, 1, b.stopped)
	assert.Equal(t, uint64(1), n.c.stats.FlowsInstalled)
	assert.Equal(t, 1, n.c.tracker.Len())
	assert.Equal(t, 1, udpGot(h2), "the stopped datagram was not delivered")

	// After a tick the budget is back.
	n.advance(100 * time.Millisecond)
	n.hostSend(h1, udpFrame(h1.mac, h2.mac, h1.ip, h2.ip, 1001, 2000, 0, 10))
	n.run()
	assert.Equal(t, uint64(2), n.c.stats.FlowsInstalled)
	assert.Equal(t, 2, udpGot(h2))
}

// udpGot counts the UDP datagrams host h received.
func udpGot(h *fakeHost) int {
	n := 0
	for _, g := range h.got {
		if strings.Contains(g, "udp") {
			n++
		}
	}
	return n
}

// TestAppsWithoutBuiltins: a controller with one application of its own and no
// built-ins still runs the connections, and hands that application every event; the
// views are empty.
func TestAppsWithoutBuiltins(t *testing.T) {
	rec := &recorder{name: "only"}
	n := newFakeNet(t, Config{Apps: []App{rec}})
	n.linear(2)
	n.connect(1)
	n.connect(2)
	n.advance(time.Second)
	assert.Equal(t, []string{"up 1 ports=3", "up 2 ports=3"}, rec.calls)
	assert.Empty(t, n.c.topo.Links(), "no discovery, no links")
	assert.Zero(t, rec.lldp, "no probes sent")
	n.hostSend(n.hosts["h1"], udpFrame(n.hosts["h1"].mac, n.hosts["h2"].mac, n.hosts["h1"].ip, n.hosts["h2"].ip, 1, 2, 0, 10))
	n.run()
	assert.Equal(t, 1, rec.count("packet-in"))
	assert.Zero(t, n.c.tracker.Len())
}

func TestConfigValidateApps(t *testing.T) {
	tests := []struct {
		name string
		apps []App
		want string // "" means valid
	}{
		{"default", nil, ""},
		{"built-ins and another", []App{Discovery, &budget{}, Routing, &recorder{}}, ""},
		{"discovery alone", []App{Discovery}, ""},
		{"one of its own", []App{&recorder{}}, ""},
		{"nil", []App{Discovery, nil}, "application 1 is nil"},
		{"twice", []App{Discovery, Routing, Discovery}, "discovery listed twice"},
		{"routing first", []App{Routing, Discovery}, "routing needs discovery before it"},
		{"routing alone", []App{Routing}, "routing needs discovery before it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Config{Apps: tt.apps}.Validate()
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrConfig))
			assert.Contains(t, err.Error(), "Apps")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
