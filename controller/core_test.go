package controller

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string // "" means valid
	}{
		{"zero value", Config{}, ""},
		{"idle timeout not whole seconds", Config{IdleTimeout: 1500 * time.Millisecond}, "IdleTimeout"},
		{"idle timeout too long", Config{IdleTimeout: 70000 * time.Second}, "IdleTimeout"},
		{"negative hard timeout", Config{HardTimeout: -time.Second}, "HardTimeout"},
		{"negative echo interval", Config{EchoInterval: -1}, "EchoInterval"},
		{"link timeout below lldp interval", Config{LLDPInterval: 2 * time.Second, LinkTimeout: time.Second}, "LinkTimeout"},
		{"message limit below a header", Config{MaxMessageLen: 4}, "MaxMessageLen"},
		{"negative queue", Config{SendQueue: -1}, "SendQueue"},
		{"bad tracker", Config{Tracker: flowtracker.Config{Shards: -1}}, "Tracker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate() = %v, want ErrConfig naming %s", err, tt.field)
			}
		})
	}
	// Several bad fields are all named.
	err := Config{IdleTimeout: -1, EchoMissed: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "IdleTimeout") || !strings.Contains(err.Error(), "EchoMissed") {
		t.Fatalf("Validate() = %v, want both fields named", err)
	}
}

func TestXidTable(t *testing.T) {
	x := newXidTable()
	a := x.allocate()
	b := x.allocate()
	if a == 0 || a == b {
		t.Fatalf("allocate gave %d then %d", a, b)
	}
	// Multipart: parts accumulate in order until a part without "more".
	done := x.add(a, t0.Add(time.Second))
	p1 := &ofproto.StatsReply{Xid: a}
	p2 := &ofproto.StatsReply{Xid: a}
	if !x.deliver(a, p1, true, nil) || !x.deliver(a, p2, false, nil) {
		t.Fatal("deliver did not match a pending request")
	}
	r := <-done
	if r.err != nil || len(r.msgs) != 2 || r.msgs[0] != p1 || r.msgs[1] != p2 {
		t.Fatalf("result = %+v, want both parts in order", r)
	}
	if x.deliver(a, p1, false, nil) {
		t.Fatal("a reply after completion matched")
	}
	// Timeout: expire at the deadline, not before.
	done = x.add(b, t0.Add(time.Second))
	if n := x.expire(t0.Add(999 * time.Millisecond)); n != 0 {
		t.Fatalf("expired %d before the deadline", n)
	}
	if n := x.expire(t0.Add(time.Second)); n != 1 {
		t.Fatalf("expired %d at the deadline, want 1", n)
	}
	if r := <-done; !errors.Is(r.err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", r.err)
	}
	// Errors and teardown.
	c := x.allocate()
	done = x.add(c, t0.Add(time.Second))
	swErr := &SwitchError{DPID: 1, Msg: &ofproto.ErrorMsg{ErrType: ofproto.ErrTypeBadRequest, Code: ofproto.BadRequestBadStat}}
	x.deliver(c, nil, false, swErr)
	if r := <-done; !errors.Is(r.err, ErrSwitchError) {
		t.Fatalf("err = %v, want ErrSwitchError", r.err)
	}
	d := x.allocate()
	done = x.add(d, t0.Add(time.Second))
	x.failAll(ErrDisconnected)
	if r := <-done; !errors.Is(r.err, ErrDisconnected) || x.len() != 0 {
		t.Fatalf("err = %v, pending %d; want ErrDisconnected and none", r.err, x.len())
	}
	// Cancelled requests are forgotten: their reply counts as late.
	e := x.allocate()
	x.add(e, t0.Add(time.Second))
	x.cancel(e)
	if x.deliver(e, p1, false, nil) {
		t.Fatal("a reply to a cancelled request matched")
	}
}

func TestXidAllocateSkipsZeroAndBusy(t *testing.T) {
	x := newXidTable()
	x.next = 0xffffffff
	busy := x.allocate() // 0xffffffff
	x.add(busy, t0)
	x.add(1, t0)
	if got := x.allocate(); got != 2 {
		t.Fatalf("allocate after wrap = %d, want 2 (0 is never used, 1 is busy)", got)
	}
}

// TestParseFrame checks the controller's header parser against gopacket's.
func TestParseFrame(t *testing.T) {
	h1 := ofproto.MAC{0, 0, 0, 0, 0, 1}
	h2 := ofproto.MAC{0, 0, 0, 0, 0, 2}
	ip1, ip2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	udpIP := &layers.IPv4{Version: 4, IHL: 5, TTL: 1, TOS: 0xb9, Protocol: layers.IPProtocolUDP, SrcIP: ip1.AsSlice(), DstIP: ip2.AsSlice()}
	udpL := &layers.UDP{SrcPort: 1, DstPort: 2}
	udpL.SetNetworkLayerForChecksum(udpIP)
	vlanUDP := serialize(t,
		&layers.Ethernet{SrcMAC: h1[:], DstMAC: h2[:], EthernetType: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{Priority: 5, VLANIdentifier: 42, Type: layers.EthernetTypeIPv4}, udpIP, udpL)
	tcpIP := &layers.IPv4{Version: 4, IHL: 5, TTL: 1, Protocol: layers.IPProtocolTCP, SrcIP: ip1.AsSlice(), DstIP: ip2.AsSlice()}
	tcpL := &layers.TCP{SrcPort: 40000, DstPort: 5201, SYN: true}
	tcpL.SetNetworkLayerForChecksum(tcpIP)
	tcp := serialize(t, &layers.Ethernet{SrcMAC: h1[:], DstMAC: h2[:], EthernetType: layers.EthernetTypeIPv4}, tcpIP, tcpL)
	frag := serialize(t,
		&layers.Ethernet{SrcMAC: h1[:], DstMAC: h2[:], EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, IHL: 5, TTL: 1, Protocol: layers.IPProtocolUDP, FragOffset: 100, SrcIP: ip1.AsSlice(), DstIP: ip2.AsSlice()},
		gopacket.Payload([]byte{1, 2, 3, 4, 5, 6, 7, 8}))
	tests := []struct {
		name string
		in   []byte
		want frame
		err  error
	}{
		{"arp request", arpFrame(layers.ARPRequest, h1, ip1, ofproto.MAC{}, ip2),
			frame{dlSrc: h1, dlDst: broadcast, dlVLAN: vlanNone, dlType: etherARP, nwProto: 1, nwSrc: ip1, nwDst: ip2, arpSHA: h1}, nil},
		{"icmp echo", icmpFrame(h1, h2, ip1, ip2, 8, 1, 1),
			frame{dlSrc: h1, dlDst: h2, dlVLAN: vlanNone, dlType: etherIPv4, nwProto: protoICMP, nwSrc: ip1, nwDst: ip2, tpSrc: 8}, nil},
		{"udp with a vlan tag and tos", vlanUDP,
			frame{dlSrc: h1, dlDst: h2, dlVLAN: 42, dlVLANPCP: 5, dlType: etherIPv4, nwTOS: 0xb8, nwProto: protoUDP, nwSrc: ip1, nwDst: ip2, tpSrc: 1, tpDst: 2}, nil},
		{"tcp", tcp,
			frame{dlSrc: h1, dlDst: h2, dlVLAN: vlanNone, dlType: etherIPv4, nwProto: protoTCP, nwSrc: ip1, nwDst: ip2, tpSrc: 40000, tpDst: 5201}, nil},
		{"later fragment has no ports", frag,
			frame{dlSrc: h1, dlDst: h2, dlVLAN: vlanNone, dlType: etherIPv4, nwProto: protoUDP, nwSrc: ip1, nwDst: ip2}, nil},
		{"truncated ethernet", []byte{1, 2, 3}, frame{}, errShortFrame},
		{"truncated vlan", append(make([]byte, 12), 0x81, 0x00, 0), frame{}, errShortFrame},
		{"truncated ipv4 keeps l2", append(append(append([]byte{}, h2[:]...), h1[:]...), 0x08, 0x00, 0x45),
			frame{dlSrc: h1, dlDst: h2, dlVLAN: vlanNone, dlType: etherIPv4}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f frame
			err := parseFrame(tt.in, &f)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			f.payload = nil
			if !equalFrames(&f, &tt.want) {
				t.Fatalf("got  %+v\nwant %+v", f, tt.want)
			}
			if f.dlType == etherIPv4 && f.nwSrc.IsValid() && f.tpSrc != 0 {
				// The match the controller installs is the one a switch extracts.
				if m, ok := fakeMatch(tt.in, 3); ok && f.dlVLAN == vlanNone && exactMatch(&f, 3) != m {
					t.Fatalf("exactMatch = %v, switch would match %v", exactMatch(&f, 3), m)
				}
			}
		})
	}
}

// TestFloodBeforeDiscovery: with LLDP lost, every port looks like an edge port, yet
// ARP and pings still get through Abilene's cycles without a storm (the flood guard
// stops frames that come back over undiscovered links).
func TestFloodBeforeDiscovery(t *testing.T) {
	n := newFakeNet(t, Config{LLDPInterval: time.Hour})
	buildGML(t, n, "Abilene.gml")
	n.dropLLDP = true
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	if ls := n.c.topo.Links(); len(ls) != 0 {
		t.Fatalf("%d links discovered with LLDP dropped", len(ls))
	}
	h1, h9 := n.hosts["h1"], n.hosts["h9"]
	if got := n.ping(h1, h9); !strings.HasSuffix(got, ": ok") {
		t.Fatalf("ping before discovery: %s", got)
	}
	if n.c.stats.GuardDrops == 0 {
		t.Fatal("no frame came back over an undiscovered link; the test does not test the guard")
	}
	// Hosts are where they are, not where echoes of flooded frames came from.
	for _, h := range []*fakeHost{h1, h9} {
		if got, ok := n.c.topo.Host(h.mac); !ok || (PortRef{got.DPID, got.Port}) != h.at {
			t.Fatalf("host %s learned at %+v, want %v", h.name, got, h.at)
		}
	}
}

// TestNoiseIsDropped: IPv6 multicast, LLDP of others and link-local frames are neither
// forwarded nor learned.
func TestNoiseIsDropped(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(2)
	n.connect(1)
	n.connect(2)
	h1 := n.hosts["h1"]
	src := h1.mac
	ipv6 := serialize(t,
		&layers.Ethernet{SrcMAC: src[:], DstMAC: []byte{0x33, 0x33, 0, 0, 0, 0x16}, EthernetType: layers.EthernetTypeIPv6},
		&layers.IPv6{Version: 6, NextHeader: layers.IPProtocolNoNextHeader, HopLimit: 1,
			SrcIP: netip.MustParseAddr("fe80::1").AsSlice(), DstIP: netip.MustParseAddr("ff02::16").AsSlice()})
	stp := serialize(t, &layers.Ethernet{SrcMAC: src[:], DstMAC: []byte{0x01, 0x80, 0xc2, 0, 0, 0}, EthernetType: 0x0026},
		gopacket.Payload(make([]byte, 38)))
	lldp := serialize(t, &layers.Ethernet{SrcMAC: src[:], DstMAC: topology.LLDPMulticast, EthernetType: layers.EthernetTypeLinkLayerDiscovery},
		&layers.LinkLayerDiscovery{
			ChassisID: layers.LLDPChassisID{Subtype: layers.LLDPChassisIDSubTypeMACAddr, ID: src[:]},
			PortID:    layers.LLDPPortID{Subtype: layers.LLDPPortIDSubtypeIfaceName, ID: []byte("eth0")}, TTL: 120})
	for _, f := range [][]byte{ipv6, stp, lldp} {
		before := len(n.hosts["h2"].got)
		n.hostSend(h1, f)
		n.run()
		if got := n.hosts["h2"].got[before:]; len(got) != 0 {
			t.Errorf("h2 received %v", got)
		}
	}
	if hs := n.c.topo.Hosts(); len(hs) != 0 {
		t.Errorf("hosts learned from noise: %v", hs)
	}
	if n.c.stats.Dropped != 3 {
		t.Errorf("dropped %d frames, want 3", n.c.stats.Dropped)
	}
}

// TestRacingPacketIns: packets of a flow that reach the controller before its entries
// do are sent on along the flow's entries, and no second flow is installed.
func TestRacingPacketIns(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(time.Second)
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	if got := n.ping(h3, h1); !strings.HasSuffix(got, ": ok") { // locate both hosts
		t.Fatal(got)
	}
	f := udpFrame(h1.mac, h3.mac, h1.ip, h3.ip, 1000, 2000, 0, 10)
	// Two PACKET_INs of the same flow from s1 before any FLOW_MOD is applied, and one
	// from s2 (the packet overtook its entry).
	s1, s2 := n.sw[1], n.sw[2]
	pin := func(sw *fakeSwitch, port uint16) {
		n.take(n.c.receive(sw.s, &ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(f)),
			InPort: ofproto.PortNo(port), Data: f}, n.now))
	}
	pin(s1, 1)
	pin(s1, 1)
	pin(s2, 2)
	before := len(h3.got)
	n.run()
	if got := len(h3.got) - before; got != 3 {
		t.Fatalf("h3 received %d datagrams, want 3", got)
	}
	if st := n.c.stats; st.FlowsInstalled != 3 || st.Forwarded != 2 { // two for the pings, one UDP
		t.Fatalf("installed %d flows, forwarded %d packets; want 3 and 2", st.FlowsInstalled, st.Forwarded)
	}
	if out := n.check(); len(out) != 1 {
		t.Fatalf("check: %v", out)
	}
}

// TestSwitchReplaced: a second connection with the datapath id of a live switch waits
// while the live one is probed with an ECHO_REQUEST; the live one does not answer
// within DuplicateProbe, so the second replaces it.
func TestSwitchReplaced(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(1)
	n.connect(1)
	old := n.sw[1].s
	delete(n.bySess, old) // the old connection is dead: nothing answers on it
	n.connect(1)
	if n.c.switches[1] != old {
		t.Fatal("the new connection took the switch before the probe's deadline")
	}
	n.advance(DefaultDuplicateProbe + DefaultTickInterval)
	if n.c.switches[1] != n.sw[1].s || n.c.switches[1] == old {
		t.Fatal("the new connection does not own the switch")
	}
	var down, up int
	for _, e := range n.events {
		switch e.Kind {
		case SwitchDown:
			down++
			if !errors.Is(e.Err, ErrReplaced) {
				t.Errorf("switch-down err = %v, want ErrReplaced", e.Err)
			}
		case SwitchUp:
			up++
		}
	}
	if up != 2 || down != 1 {
		t.Fatalf("events: %d up, %d down; want 2 and 1", up, down)
	}
}

// TestDuplicateDPIDRefused: a second connection announcing the datapath id of a live
// switch that answers the echo probe is refused, and the live switch keeps its place.
func TestDuplicateDPIDRefused(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(1)
	n.connect(1)
	live := n.sw[1].s
	n.connect(1)
	rogue := n.sw[1].s
	// The live connection answers the probe (the fake network models one connection
	// per switch, so its answer is fed in here).
	n.take(n.c.receive(live, &ofproto.EchoReply{}, n.now))
	n.run()
	require.Same(t, live, n.c.switches[1], "the live connection lost its switch")
	var refused bool
	for _, r := range n.closed {
		if r.s == rogue && errors.Is(r.err, ErrDuplicateDPID) {
			refused = true
		}
		require.NotSame(t, live, r.s, "the live connection was closed: %v", r.err)
	}
	require.True(t, refused, "the second connection was not refused")
	for _, e := range n.events {
		require.NotEqual(t, SwitchDown, e.Kind, "switch went down: %v", e.Err)
	}
}

// TestSwitchAllowAndCertificate: SwitchAllowed refuses unknown datapath ids, and
// BindCertDPID refuses a TLS switch whose certificate names another one.
func TestSwitchAllowAndCertificate(t *testing.T) {
	c := newCore(Config{SwitchAllowed: func(d uint64) bool { return d == 1 }, BindCertDPID: true}.withDefaults(), discardLogger())
	handshake := func(s *session, dpid uint64) *effects {
		c.receive(s, &ofproto.Hello{}, t0)
		return c.receive(s, &ofproto.FeaturesReply{Xid: s.featuresXid, DatapathID: dpid}, t0)
	}
	s, _ := c.open("a", "", t0)
	fx := handshake(s, 2)
	require.Len(t, fx.close, 1)
	require.ErrorIs(t, fx.close[0].err, ErrNotAllowed)

	s, _ = c.open("b", "", t0)
	s.certTLS, s.certNames = true, []string{"0000000000000002 id:1234", "0000000000000002 id:1234"}
	fx = handshake(s, 1)
	require.Len(t, fx.close, 1)
	require.ErrorIs(t, fx.close[0].err, ErrCertificate)

	s, _ = c.open("c", "", t0)
	s.certTLS, s.certNames = true, []string{"0000000000000001 id:1234"}
	fx = handshake(s, 1)
	require.Empty(t, fx.close)
	require.Contains(t, c.switches, uint64(1))
}

func TestCertNamesDPID(t *testing.T) {
	for _, tt := range []struct {
		name string
		dpid uint64
		ok   bool
	}{
		{"0000000000000001 id:8f1e", 1, true},
		{"dpid:00:00:00:00:00:00:00:2a", 0x2a, true},
		{"2A", 0x2a, true},
		{"sw1 id:8f1e", 1, false},
		{"00000000000000001", 1, false}, // 17 digits
		{"", 0, false},
	} {
		d, ok := NameDPID(tt.name)
		assert.Equal(t, tt.ok, ok && d == tt.dpid, "%q", tt.name)
	}
}

// TestHandshakeTimeout: a peer that never answers FEATURES_REQUEST is closed.
func TestHandshakeTimeout(t *testing.T) {
	c := newCore(Config{}.withDefaults(), discardLogger())
	s, _ := c.open("peer", "", t0)
	c.receive(s, &ofproto.Hello{}, t0)
	if fx := c.tick(t0.Add(DefaultHandshakeTimeout - time.Millisecond)); len(fx.close) != 0 {
		t.Fatal("closed before the handshake timeout")
	}
	fx := c.tick(t0.Add(DefaultHandshakeTimeout))
	if len(fx.close) != 1 || !errors.Is(fx.close[0].err, ErrHandshakeTimeout) {
		t.Fatalf("close = %+v, want ErrHandshakeTimeout", fx.close)
	}
}

// TestOutOfPlaceMessages: a peer that skips HELLO loses its connection; asynchronous
// messages racing the handshake are ignored.
func TestOutOfPlaceMessages(t *testing.T) {
	c := newCore(Config{}.withDefaults(), discardLogger())
	s, _ := c.open("peer", "", t0)
	fx := c.receive(s, &ofproto.FeaturesReply{DatapathID: 1}, t0)
	if len(fx.close) != 1 || !errors.Is(fx.close[0].err, ErrProtocol) {
		t.Fatalf("close = %+v, want ErrProtocol", fx.close)
	}
	s2, _ := c.open("peer2", "", t0)
	c.receive(s2, &ofproto.Hello{}, t0)
	fx = c.receive(s2, &ofproto.PacketIn{Data: []byte{1}}, t0)
	if len(fx.close) != 0 || len(fx.out) != 0 {
		t.Fatalf("PACKET_IN during the handshake: %+v", fx)
	}
	fx = c.receive(s2, &ofproto.FeaturesReply{Xid: s2.featuresXid + 7, DatapathID: 1}, t0)
	if len(fx.close) != 1 {
		t.Fatal("a FEATURES_REPLY with a foreign xid was accepted")
	}
}

func TestHelloAllows10(t *testing.T) {
	hello := func(elems ...byte) []byte {
		return append([]byte{4, 0, 0, byte(8 + len(elems)), 0, 0, 0, 1}, elems...)
	}
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"no elements", hello(), true},
		{"bitmap with 1.0 and 1.3", hello(0, 1, 0, 8, 0, 0, 0, 0x12), true},
		{"bitmap with 1.3 only", hello(0, 1, 0, 8, 0, 0, 0, 0x10), false},
		{"unknown element then bitmap without 1.0", hello(0, 9, 0, 4, 0, 0, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0x10), false},
		{"malformed element length", hello(0, 1, 0, 2), true},
		{"element longer than the message", hello(0, 1, 0, 40, 0, 0, 0, 0x10), true},
	}
	for _, tt := range tests {
		if got := helloAllows10(tt.in); got != tt.want {
			t.Errorf("%s: helloAllows10 = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func equalFrames(a, b *frame) bool {
	x, y := *a, *b
	x.payload, y.payload = nil, nil
	return x.dlSrc == y.dlSrc && x.dlDst == y.dlDst && x.dlVLAN == y.dlVLAN && x.dlVLANPCP == y.dlVLANPCP &&
		x.dlType == y.dlType && x.nwTOS == y.nwTOS && x.nwProto == y.nwProto && x.nwSrc == y.nwSrc &&
		x.nwDst == y.nwDst && x.tpSrc == y.tpSrc && x.tpDst == y.tpDst && x.arpSHA == y.arpSHA
}

// TestBufferedPacketIn: a switch that buffered the packet of a new flow gets one
// FLOW_MOD per hop, the ingress switch's naming the buffer (the entry's actions release
// it), and no PACKET_OUT; a packet of that flow that raced its entry gets a PACKET_OUT
// that names its buffer and carries no data.
func TestBufferedPacketIn(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(2)
	n.connect(1)
	n.connect(2)
	n.advance(time.Second)
	h1, h2 := n.hosts["h1"], n.hosts["h2"]
	if got := n.ping(h1, h2); !strings.HasSuffix(got, ": ok") {
		t.Fatal(got)
	}
	f := udpFrame(h1.mac, h2.mac, h1.ip, h2.ip, 7, 9, 0, 10)
	fx := n.c.receive(n.sw[1].s, &ofproto.PacketIn{BufferID: 42, TotalLen: uint16(len(f)), InPort: 1, Data: f[:50]}, n.now)
	var bufs []uint32 // FLOW_MODs' buffer ids, ingress switch's first
	for _, e := range fx.out {
		switch m := e.msg.(type) {
		case *ofproto.PacketOut:
			t.Fatalf("PACKET_OUT %+v for a new flow's buffered packet; want the FLOW_MOD to release it", m)
		case *ofproto.FlowMod:
			if e.s == n.sw[1].s {
				bufs = append([]uint32{m.BufferID}, bufs...)
			} else {
				bufs = append(bufs, m.BufferID)
			}
		}
	}
	require.Equal(t, []uint32{42, ofproto.BufferNone}, bufs)

	fx = n.c.receive(n.sw[1].s, &ofproto.PacketIn{BufferID: 43, TotalLen: uint16(len(f)), InPort: 1, Data: f[:50]}, n.now)
	require.Len(t, fx.out, 1)
	po, ok := fx.out[0].msg.(*ofproto.PacketOut)
	require.True(t, ok, "%T, want a PACKET_OUT", fx.out[0].msg)
	if po.BufferID != 43 || po.Data != nil || po.InPort != 1 {
		t.Fatalf("PACKET_OUT %+v; want one from buffer 43 without data", po)
	}
}

// TestLinkTimeout: a link whose LLDP stops is removed after Config.LinkTimeout, with the
// flows over it.
func TestLinkTimeout(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(2)
	n.connect(1)
	n.connect(2)
	n.advance(time.Second)
	if len(n.c.topo.Links()) != 2 {
		t.Fatalf("%d links, want 2", len(n.c.topo.Links()))
	}
	if got := n.ping(n.hosts["h1"], n.hosts["h2"]); !strings.HasSuffix(got, ": ok") {
		t.Fatal(got)
	}
	// The last probes arrived within the last second; the timeout is 3.5 s.
	n.dropLLDP = true
	n.advance(2 * time.Second)
	if len(n.c.topo.Links()) != 2 {
		t.Fatal("links removed before the link timeout")
	}
	n.advance(2 * time.Second)
	if len(n.c.topo.Links()) != 0 {
		t.Fatalf("%d links after 4 s of silence, want 0", len(n.c.topo.Links()))
	}
	if out := n.check(); out[len(out)-1] != "0 entries in tables, 0 in the tracker, 0 live flows" {
		t.Fatalf("flows over the dead link remain: %v", out)
	}
}

func TestServeBadConfig(t *testing.T) {
	c := New(Config{IdleTimeout: -time.Second}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Serve(context.Background(), ln); !errors.Is(err, ErrConfig) {
		t.Fatalf("Serve = %v, want ErrConfig", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Fatal("Serve left the listener open")
	}
}

// FuzzPacketIn feeds arbitrary frames to a connected switch: the controller must never
// panic, and whatever it sends must encode.
func FuzzPacketIn(f *testing.F) {
	h1, h2 := ofproto.MAC{0, 0, 0, 0, 0, 1}, ofproto.MAC{0, 0, 0, 0, 0, 2}
	ip1, ip2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	f.Add(uint16(1), arpFrame(layers.ARPRequest, h1, ip1, ofproto.MAC{}, ip2))
	f.Add(uint16(1), icmpFrame(h1, h2, ip1, ip2, 8, 1, 1))
	f.Add(uint16(2), udpFrame(h2, h1, ip2, ip1, 1, 2, 4, 3))
	probe := topology.BuildLLDP(2, 2, [6]byte{2, 0, 0, 0, 0, 2})
	f.Add(uint16(3), probe)
	f.Add(uint16(0xfffe), []byte{})
	f.Fuzz(func(t *testing.T, port uint16, data []byte) {
		n := newFakeNet(t, Config{})
		n.linear(2)
		n.connect(1)
		n.connect(2)
		fx := n.c.receive(n.sw[1].s, &ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(data)),
			InPort: ofproto.PortNo(port), Data: data}, n.now)
		for _, e := range fx.out {
			if _, err := e.msg.MarshalBinary(); err != nil && len(data) < 60000 {
				t.Fatalf("controller produced an unencodable %v: %v", e.msg.Type(), err)
			}
		}
	})
}

// TestGratuitousARPAndHairpin: a gratuitous ARP reaches the other hosts; a frame for a
// host behind the very port it came from is dropped, not sent back.
func TestGratuitousARPAndHairpin(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(2)
	n.connect(1)
	n.connect(2)
	h1, h2 := n.hosts["h1"], n.hosts["h2"]
	if got := n.ping(h1, h2); !strings.HasSuffix(got, ": ok") {
		t.Fatal(got)
	}
	before1, before2 := len(h1.got), len(h2.got)
	n.hostSend(h1, arpFrame(layers.ARPRequest, h1.mac, h1.ip, ofproto.MAC{}, h1.ip))
	n.run()
	if got := h2.got[before2:]; len(got) != 1 || got[0] != "arp request 10.0.0.1>10.0.0.1" {
		t.Fatalf("h2 received %v, want the gratuitous ARP", got)
	}
	dropped := n.c.stats.Dropped
	n.hostSend(h1, udpFrame(h1.mac, h1.mac, h1.ip, h1.ip, 1, 2, 0, 10))
	n.run()
	if got := h1.got[before1:]; len(got) != 0 {
		t.Fatalf("h1 received %v", got)
	}
	if n.c.stats.Dropped != dropped+1 {
		t.Fatal("the hairpin frame was not counted as dropped")
	}
}

// TestFlowRemovedOfAnotherEntry: a FLOW_REMOVED whose match is an active flow's but
// whose cookie is not (an entry of a flow the tracker no longer retains, or another
// controller's) leaves the flow alone; the flow's own FLOW_REMOVED is recorded.
func TestFlowRemovedOfAnotherEntry(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(2)
	n.connect(1)
	n.connect(2)
	h1, h2 := n.hosts["h1"], n.hosts["h2"]
	if got := n.ping(h2, h1); !strings.HasSuffix(got, ": ok") { // locate both hosts
		t.Fatal(got)
	}
	n.hostSend(h1, udpFrame(h1.mac, h2.mac, h1.ip, h2.ip, 1000, 2000, 0, 10))
	n.run()
	var fl flowtracker.Flow
	for _, f := range n.c.tracker.Snapshot() {
		if f.Key.NWProto == 17 {
			fl = f
		}
	}
	if fl.ID == 0 || fl.State != flowtracker.StateActive {
		t.Fatalf("no active UDP flow: %+v", fl)
	}
	m := flowkey.ToMatch(fl.Key, ofproto.PortNo(fl.Entries[0].InPort))
	for _, cookie := range []uint64{fl.Cookie + 1<<20, 0, 0xdead << 48} {
		n.fromSwitch(n.sw[1], &ofproto.FlowRemoved{Match: m, Cookie: cookie, Priority: DefaultFlowPriority,
			Reason: ofproto.RemovedIdleTimeout, PacketCount: 99, ByteCount: 9999})
		n.run()
		if f, _ := n.c.tracker.Get(fl.ID); f.State != flowtracker.StateActive || f.Entries[0].Gone {
			t.Fatalf("after a FLOW_REMOVED with cookie %#x: %+v", cookie, f)
		}
	}
	n.fromSwitch(n.sw[1], &ofproto.FlowRemoved{Match: m, Cookie: fl.Cookie, Priority: DefaultFlowPriority,
		Reason: ofproto.RemovedIdleTimeout, PacketCount: 3, ByteCount: 300})
	n.run()
	f, _ := n.c.tracker.Get(fl.ID)
	if c, ok := f.Final(); f.State != flowtracker.StateDraining || !ok || c.Packets != 3 || c.Bytes != 300 {
		t.Fatalf("after its own FLOW_REMOVED: %+v", f)
	}
}

// TestSupersededLeftoversDeleted: when a packet of a draining flow enters at a switch
// off the flow's path (its source moved), the old flow's remaining entries are deleted
// once the move is verified and a new flow starts at the new place: the switches end up
// holding exactly the entries the tracker knows.
func TestSupersededLeftoversDeleted(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	if got := n.ping(h3, h1); !strings.HasSuffix(got, ": ok") { // locate both hosts
		t.Fatal(got)
	}
	f := udpFrame(h1.mac, h3.mac, h1.ip, h3.ip, 1000, 2000, 0, 10)
	n.hostSend(h1, f)
	n.run()
	sr := &scenario{t: t, n: n}
	sr.do("expire s3") // the UDP flow (and the pings') drain
	var udp flowtracker.Flow
	for _, fl := range n.c.tracker.Snapshot() {
		if fl.Key.NWProto == 17 {
			udp = fl
		}
	}
	if udp.State != flowtracker.StateDraining {
		t.Fatalf("UDP flow not draining: %+v", udp)
	}
	// h1 leaves s1 silently; the same datagram enters s2 on port 1, off the flow's
	// path. The move is verified first (h1 does not answer at s1 any more): the
	// datagram is held, and h1 moves after Config.MoveProbe, which deletes its flows.
	delete(n.hostAt, PortRef{1, 1})
	n.advance(time.Second) // past the flood guard
	pin := func() {
		n.take(n.c.receive(n.sw[2].s, &ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(f)),
			InPort: 1, Data: f}, n.now))
		n.run()
	}
	pin()
	if h, _ := n.c.topo.Host(h1.mac); h.DPID != 1 {
		t.Fatalf("h1 moved before verification: %+v", h)
	}
	n.advance(DefaultMoveProbe + DefaultTickInterval)
	if h, _ := n.c.topo.Host(h1.mac); h.DPID != 2 || h.Port != 1 {
		t.Fatalf("h1 not moved after an unanswered probe: %+v", h)
	}
	pin()
	got, _ := n.c.tracker.Get(udp.ID)
	if got.State != flowtracker.StateExpired {
		t.Fatalf("old flow: %+v, want expired", got)
	}
	now, ok := n.c.tracker.ByKey(udp.Key)
	if !ok || now.ID == udp.ID || now.Entries[0].DPID != 2 || now.Entries[0].InPort != 1 {
		t.Fatalf("new flow: %+v", now)
	}
	if out := n.check(); len(out) != 1 {
		t.Fatalf("check: %v", out)
	}
}
