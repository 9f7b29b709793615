package controller

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/ofproto"
)

// This file holds a message-level fake of a network of OpenFlow 1.0 switches and
// hosts, in the spirit of faucet's FakeOFTable: each fake switch applies the FLOW_MODs
// it gets to a table and forwards frames by that table, sending PACKET_IN on a miss;
// hosts answer ARP and ping. It drives the controller's deterministic core directly,
// message by message, with a fake clock: tests ask "where does this packet go?" and
// assert forwarding behaviour, not bytes. Every message crosses the real codec
// (marshal, then decode) in both directions.

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// PortRef names one port of one fake switch.
type PortRef struct {
	DPID uint64
	Port uint16
}

func (p PortRef) String() string { return fmt.Sprintf("%016x:%d", p.DPID, p.Port) }

type fakeEntry struct {
	match          ofproto.Match
	cookie         uint64
	priority       uint16
	idle, hard     uint16
	flags          ofproto.FlowModFlags
	out            []ofproto.PortNo
	packets, bytes uint64
	installed, hit time.Time
}

type fakeSwitch struct {
	dpid   uint64
	name   string
	ports  []ofproto.PhyPort
	s      *session
	table  []*fakeEntry
	config ofproto.SwitchConfig
	mute   bool // stop answering echo requests
	role   ofproto.Role
	got    []ofproto.Message
	limit  int    // table size: a FLOW_ADD past it is refused (OFPFMFC_ALL_TABLES_FULL); 0: unlimited
	maxRep uint32 // max_entries its table statistics report (0: 1000000, as Open vSwitch)
}

type fakeHost struct {
	name string
	mac  ofproto.MAC
	ip   netip.Addr
	at   PortRef
	arp  map[netip.Addr]ofproto.MAC
	got  []string // summaries of frames received
}

type frameAt struct {
	data []byte
	at   PortRef // arrives at this switch port
}

type fakeNet struct {
	t      testing.TB
	c      *core
	now    time.Time
	sw     map[uint64]*fakeSwitch
	byName map[string]*fakeSwitch
	bySess map[*session]*fakeSwitch
	names  map[*session]string // every session ever opened
	wire   map[PortRef]PortRef
	hosts  map[string]*fakeHost
	hostAt map[PortRef]*fakeHost

	toSwitch []envelope
	toCtl    []struct {
		sw *fakeSwitch
		m  ofproto.Message
	}
	frames   []frameAt
	toClose  []closeReq
	events   []Event
	closed   []closeReq
	trace    []string
	record   bool       // record every message in trace
	dropLLDP bool       // links lose LLDP frames
	held     []envelope // writes to slave switches (Config.Roles), for their master
	steps    int
}

func newFakeNet(t testing.TB, cfg Config) *fakeNet {
	cfg = cfg.withDefaults()
	return &fakeNet{
		t: t, c: newCore(cfg, slog.New(slog.DiscardHandler)), now: t0,
		sw: map[uint64]*fakeSwitch{}, byName: map[string]*fakeSwitch{}, bySess: map[*session]*fakeSwitch{},
		names: map[*session]string{},
		wire:  map[PortRef]PortRef{}, hosts: map[string]*fakeHost{}, hostAt: map[PortRef]*fakeHost{},
	}
}

func (n *fakeNet) addSwitch(dpid uint64, ports ...uint16) *fakeSwitch {
	s := &fakeSwitch{dpid: dpid, name: fmt.Sprintf("s%d", dpid)}
	for _, p := range ports {
		s.ports = append(s.ports, ofproto.PhyPort{PortNo: ofproto.PortNo(p),
			HWAddr: ofproto.MAC{0x02, 0, 0, 0, byte(dpid), byte(p)}, Name: fmt.Sprintf("s%d-eth%d", dpid, p)})
	}
	n.sw[dpid] = s
	n.byName[s.name] = s
	return s
}

func (n *fakeNet) connectWire(a, b PortRef) {
	n.wire[a] = b
	n.wire[b] = a
}

func (n *fakeNet) addHost(name string, i byte, at PortRef) *fakeHost {
	h := &fakeHost{name: name, mac: ofproto.MAC{0, 0, 0, 0, 0, i}, ip: netip.AddrFrom4([4]byte{10, 0, 0, i}),
		at: at, arp: map[netip.Addr]ofproto.MAC{}}
	n.hosts[name] = h
	n.hostAt[at] = h
	return h
}

// linear builds s1..sN in a line (port 1 host hi, port 2 towards s(i-1), port 3 towards
// s(i+1)).
func (n *fakeNet) linear(k int) {
	for i := 1; i <= k; i++ {
		n.addSwitch(uint64(i), 1, 2, 3)
		n.addHost(fmt.Sprintf("h%d", i), byte(i), PortRef{uint64(i), 1})
	}
	for i := 1; i < k; i++ {
		n.connectWire(PortRef{uint64(i), 3}, PortRef{uint64(i + 1), 2})
	}
}

// connect opens a session for switch dpid and runs until quiet.
func (n *fakeNet) connect(dpid uint64) {
	sw := n.sw[dpid]
	s, fx := n.c.open("fake:"+sw.name, "", n.now)
	sw.s = s
	n.bySess[s] = sw
	n.names[s] = sw.name
	n.take(fx)
	n.fromSwitch(sw, &ofproto.Hello{Xid: 1})
	n.run()
}

func (n *fakeNet) disconnect(dpid uint64) {
	sw := n.sw[dpid]
	n.take(n.c.closed(sw.s, nil, n.now))
	delete(n.bySess, sw.s)
	sw.s = nil
	sw.table = nil
	n.run()
}

// take copies the core's effects (the core reuses them) into the queues.
func (n *fakeNet) take(fx *effects) {
	for _, e := range fx.out {
		n.toSwitch = append(n.toSwitch, envelope{e.s, roundTrip(n.t, e.msg)})
	}
	for _, e := range fx.held {
		n.held = append(n.held, envelope{e.s, roundTrip(n.t, e.msg)})
	}
	n.events = append(n.events, fx.events...)
	n.closed = append(n.closed, fx.close...)
	n.toClose = append(n.toClose, fx.close...)
}

func (n *fakeNet) fromSwitch(sw *fakeSwitch, m ofproto.Message) {
	n.toCtl = append(n.toCtl, struct {
		sw *fakeSwitch
		m  ofproto.Message
	}{sw, roundTrip(n.t, m)})
}

// roundTrip encodes m and decodes it again, as the wire would.
func roundTrip(t testing.TB, m ofproto.Message) ofproto.Message {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatalf("marshal %v: %v", m.Type(), err)
	}
	d, err := ofproto.Decode(b)
	if err != nil {
		t.Fatalf("decode %v: %v", m.Type(), err)
	}
	return d
}

// run delivers messages and frames until nothing moves.
func (n *fakeNet) run() {
	for len(n.toSwitch)+len(n.toCtl)+len(n.frames)+len(n.toClose) > 0 {
		n.steps++
		if n.steps > 200000 {
			n.t.Fatalf("the network does not settle (a forwarding loop?)")
		}
		switch {
		case len(n.toClose) > 0:
			// The edge closes the connection: the switch forgets its controller.
			r := n.toClose[0]
			n.toClose = n.toClose[1:]
			sw, ok := n.bySess[r.s]
			if !ok {
				continue
			}
			if n.record {
				n.trace = append(n.trace, fmt.Sprintf("ctl closes %s: %v", sw.name, r.err))
			}
			delete(n.bySess, r.s)
			n.take(n.c.closed(r.s, r.err, n.now))
			if sw.s == r.s {
				sw.s = nil
			}
		case len(n.toCtl) > 0:
			x := n.toCtl[0]
			n.toCtl = n.toCtl[1:]
			if x.sw.s == nil {
				continue
			}
			if n.record {
				n.trace = append(n.trace, fmt.Sprintf("%s -> ctl %s", x.sw.name, fmtMsg(x.m)))
			}
			n.take(n.c.receive(x.sw.s, x.m, n.now))
		case len(n.toSwitch) > 0:
			e := n.toSwitch[0]
			n.toSwitch = n.toSwitch[1:]
			sw, ok := n.bySess[e.s]
			if !ok {
				continue
			}
			if n.record {
				n.trace = append(n.trace, fmt.Sprintf("ctl -> %s %s", sw.name, fmtMsg(e.msg)))
			}
			n.switchGot(sw, e.msg)
		default:
			f := n.frames[0]
			n.frames = n.frames[1:]
			n.arrive(f)
		}
	}
}

// advance moves the clock by d in tick steps, expiring idle entries as switches do.
func (n *fakeNet) advance(d time.Duration) {
	step := n.c.cfg.TickInterval
	for end := n.now.Add(d); n.now.Before(end); {
		n.now = n.now.Add(min(step, end.Sub(n.now)))
		for _, dpid := range sortedDPIDs(n.sw) {
			n.expireIdle(n.sw[dpid])
		}
		n.take(n.c.tick(n.now))
		n.run()
	}
}

func sortedDPIDs(m map[uint64]*fakeSwitch) []uint64 {
	var ds []uint64
	for d := range m {
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return ds
}

func (n *fakeNet) expireIdle(sw *fakeSwitch) {
	if sw.s == nil {
		return
	}
	var keep []*fakeEntry
	for _, e := range sw.table {
		if e.idle > 0 && n.now.Sub(e.hit) >= time.Duration(e.idle)*time.Second {
			n.removed(sw, e, ofproto.RemovedIdleTimeout)
			continue
		}
		if e.hard > 0 && n.now.Sub(e.installed) >= time.Duration(e.hard)*time.Second {
			n.removed(sw, e, ofproto.RemovedHardTimeout)
			continue
		}
		keep = append(keep, e)
	}
	sw.table = keep
}

func (n *fakeNet) removed(sw *fakeSwitch, e *fakeEntry, why ofproto.FlowRemovedReason) {
	if e.flags&ofproto.FlagSendFlowRem == 0 || sw.role == ofproto.RoleSecondary {
		return
	}
	d := n.now.Sub(e.installed)
	n.fromSwitch(sw, &ofproto.FlowRemoved{Match: e.match, Cookie: e.cookie, Priority: e.priority, Reason: why,
		DurationSec: uint32(d / time.Second), DurationNsec: uint32(d % time.Second), IdleTimeout: e.idle,
		PacketCount: e.packets, ByteCount: e.bytes})
}

// switchGot is the fake switch handling a message from the controller.
func (n *fakeNet) switchGot(sw *fakeSwitch, m ofproto.Message) {
	sw.got = append(sw.got, m)
	switch m := m.(type) {
	case *ofproto.FeaturesRequest:
		n.fromSwitch(sw, &ofproto.FeaturesReply{Xid: m.Xid, DatapathID: sw.dpid, NBuffers: 0, NTables: 1,
			Ports: slices.Clone(sw.ports)})
	case *ofproto.EchoRequest:
		if !sw.mute {
			n.fromSwitch(sw, &ofproto.EchoReply{Xid: m.Xid, Data: m.Data})
		}
	case *ofproto.SetConfig:
		sw.config = m.SwitchConfig
	case *ofproto.RoleRequest:
		// As Open vSwitch: a slave gets no PACKET_IN or FLOW_REMOVED, and may not write.
		sw.role = m.Role
		n.fromSwitch(sw, &ofproto.RoleReply{Xid: m.Xid, Role: m.Role})
	case *ofproto.BarrierRequest:
		n.fromSwitch(sw, &ofproto.BarrierReply{Xid: m.Xid})
	case *ofproto.StatsRequest:
		if _, ok := m.Body.(*ofproto.TableStatsRequest); ok {
			max := sw.maxRep
			if max == 0 {
				max = 1000000
			}
			n.fromSwitch(sw, &ofproto.StatsReply{Xid: m.Xid, Body: &ofproto.TableStatsReply{Entries: []ofproto.TableStats{
				{TableID: 0, Name: "classifier", Wildcards: ofproto.WildAll, MaxEntries: max, ActiveCount: uint32(len(sw.table))}}}})
			return
		}
		if _, ok := m.Body.(*ofproto.FlowStatsRequest); !ok {
			n.t.Errorf("%s: the fake only answers flow statistics, got %T", sw.name, m.Body)
			return
		}
		body := &ofproto.FlowStatsReply{}
		for _, e := range sw.table {
			d := n.now.Sub(e.installed)
			body.Entries = append(body.Entries, ofproto.FlowStats{Match: e.match, Cookie: e.cookie, Priority: e.priority,
				IdleTimeout: e.idle, HardTimeout: e.hard, DurationSec: uint32(d / time.Second),
				DurationNsec: uint32(d % time.Second), PacketCount: e.packets, ByteCount: e.bytes, Actions: outputs(e.out)})
		}
		n.fromSwitch(sw, &ofproto.StatsReply{Xid: m.Xid, Body: body})
	case *ofproto.FlowMod, *ofproto.PacketOut:
		if sw.role == ofproto.RoleSecondary {
			n.t.Errorf("%s: %v sent to a slave", sw.name, m.Type())
			return
		}
	}
	switch m := m.(type) {
	case *ofproto.FlowMod:
		n.flowMod(sw, m)
	case *ofproto.PacketOut:
		if m.BufferID != ofproto.BufferNone {
			n.t.Errorf("%s: PACKET_OUT with buffer %d, but the fake has no buffers", sw.name, m.BufferID)
			return
		}
		n.output(sw, m.Data, m.InPort, m.Actions)
	}
}

func (n *fakeNet) flowMod(sw *fakeSwitch, m *ofproto.FlowMod) {
	switch m.Command {
	case ofproto.FlowAdd:
		if m.Match.Wildcards != 0 && m.Match.Wildcards != flowkey.HostPairWildcards && len(m.Actions) != 0 {
			n.t.Errorf("%s: FLOW_MOD add with wildcards %v; the controller installs exact matches", sw.name, m.Match.Wildcards)
		}
		var outs []ofproto.PortNo
		for _, a := range m.Actions {
			o, ok := a.(*ofproto.OutputAction)
			if !ok {
				n.t.Errorf("%s: unexpected action %v", sw.name, a)
				continue
			}
			outs = append(outs, o.Port)
		}
		e := &fakeEntry{match: m.Match, cookie: m.Cookie, priority: m.Priority, idle: m.IdleTimeout,
			hard: m.HardTimeout, flags: m.Flags, out: outs, installed: n.now, hit: n.now}
		for i, old := range sw.table {
			if old.match == m.Match && old.priority == m.Priority {
				sw.table[i] = e
				return
			}
		}
		if sw.limit > 0 && len(sw.table) >= sw.limit {
			b, _ := m.MarshalBinary()
			n.fromSwitch(sw, &ofproto.ErrorMsg{Xid: m.Xid, ErrType: ofproto.ErrTypeFlowModFailed,
				Code: ofproto.FlowModAllTablesFull, Data: b[:min(len(b), 64)]})
			return
		}
		sw.table = append(sw.table, e)
	case ofproto.FlowDelete:
		if m.Match.Wildcards != ofproto.WildAll {
			n.t.Errorf("%s: the fake only supports delete-all, got %v", sw.name, &m.Match)
		}
		for _, e := range sw.table {
			n.removed(sw, e, ofproto.RemovedDelete)
		}
		sw.table = nil
	case ofproto.FlowDeleteStrict:
		for i, e := range sw.table {
			if e.match == m.Match && e.priority == m.Priority {
				n.removed(sw, e, ofproto.RemovedDelete)
				sw.table = slices.Delete(sw.table, i, i+1)
				return
			}
		}
	default:
		n.t.Errorf("%s: unexpected FLOW_MOD command %v", sw.name, m.Command)
	}
}

func (n *fakeNet) output(sw *fakeSwitch, data []byte, in ofproto.PortNo, acts []ofproto.Action) {
	for _, a := range acts {
		o, ok := a.(*ofproto.OutputAction)
		if !ok {
			n.t.Errorf("%s: unexpected action %v", sw.name, a)
			continue
		}
		switch p := o.Port; {
		case p == ofproto.PortInPort:
			n.emit(sw, in, data)
		case p == ofproto.PortFlood || p == ofproto.PortAll:
			for _, pp := range sw.ports {
				if pp.PortNo != in {
					n.emit(sw, pp.PortNo, data)
				}
			}
		case p < ofproto.PortMax:
			if p == in {
				n.t.Errorf("%s: output to the input port %d without OFPP_IN_PORT", sw.name, p)
			}
			n.emit(sw, p, data)
		default:
			n.t.Errorf("%s: output to reserved port %v", sw.name, p)
		}
	}
}

// emit sends a frame out of a switch port onto its wire.
func (n *fakeNet) emit(sw *fakeSwitch, port ofproto.PortNo, data []byte) {
	from := PortRef{sw.dpid, uint16(port)}
	if peer, ok := n.wire[from]; ok {
		if n.dropLLDP && len(data) >= 14 && data[12] == 0x88 && data[13] == 0xcc {
			return
		}
		if n.sw[peer.DPID].s == nil {
			return // a switch without a controller connection drops everything here
		}
		n.frames = append(n.frames, frameAt{slices.Clone(data), peer})
		return
	}
	if h, ok := n.hostAt[from]; ok {
		n.hostGot(h, data)
	}
}

// arrive is a frame entering a switch port: table lookup, else PACKET_IN.
func (n *fakeNet) arrive(f frameAt) {
	sw := n.sw[f.at.DPID]
	m, ok := fakeMatch(f.data, ofproto.PortNo(f.at.Port))
	if ok {
		// Drop entries (the PACKET_IN budget's) match on in_port and dl_src only.
		for _, e := range sw.table {
			if e.match.Wildcards == ofproto.WildAll&^(ofproto.WildInPort|ofproto.WildDLSrc) &&
				e.match.InPort == m.InPort && e.match.DLSrc == m.DLSrc {
				e.packets++
				return
			}
		}
		for _, e := range sw.table {
			if e.match == m {
				e.packets++
				e.bytes += uint64(len(f.data))
				e.hit = n.now
				n.output(sw, f.data, m.InPort, outputs(e.out))
				return
			}
		}
		// Host-pair entries (lower priority than exact ones) wildcard the IP
		// protocol and ToS and the transport ports.
		pm := m
		pm.Wildcards, pm.NWProto, pm.NWTOS, pm.TPSrc, pm.TPDst = flowkey.HostPairWildcards, 0, 0, 0, 0
		for _, e := range sw.table {
			if e.match == pm {
				e.packets++
				e.bytes += uint64(len(f.data))
				e.hit = n.now
				n.output(sw, f.data, m.InPort, outputs(e.out))
				return
			}
		}
	}
	if sw.role == ofproto.RoleSecondary {
		return // the switch's master would get it
	}
	n.fromSwitch(sw, &ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(f.data)),
		InPort: ofproto.PortNo(f.at.Port), Reason: ofproto.ReasonNoMatch, Data: f.data[:min(len(f.data), int(sw.config.MissSendLen))]})
}

func outputs(ps []ofproto.PortNo) []ofproto.Action {
	out := make([]ofproto.Action, len(ps))
	for i, p := range ps {
		out[i] = &ofproto.OutputAction{Port: p}
	}
	return out
}

// fakeMatch extracts the exact OpenFlow 1.0 match of an IPv4 frame with gopacket, as a
// switch would (independently of the controller's own parser). ok is false for other
// frames, which the fake never matches.
func fakeMatch(data []byte, in ofproto.PortNo) (ofproto.Match, bool) {
	p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if eth == nil || ip == nil {
		return ofproto.Match{}, false
	}
	m := ofproto.Match{InPort: in, DLVLAN: vlanNone, DLType: etherIPv4, NWTOS: ip.TOS &^ 3,
		NWProto: uint8(ip.Protocol), NWSrc: netip.AddrFrom4([4]byte(ip.SrcIP.To4())),
		NWDst: netip.AddrFrom4([4]byte(ip.DstIP.To4()))}
	copy(m.DLSrc[:], eth.SrcMAC)
	copy(m.DLDst[:], eth.DstMAC)
	switch l := p.TransportLayer().(type) {
	case *layers.UDP:
		m.TPSrc, m.TPDst = uint16(l.SrcPort), uint16(l.DstPort)
	case *layers.TCP:
		m.TPSrc, m.TPDst = uint16(l.SrcPort), uint16(l.DstPort)
	}
	if ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		m.TPSrc, m.TPDst = uint16(ic.TypeCode.Type()), uint16(ic.TypeCode.Code())
	}
	return m, true
}

// hostGot is a host receiving a frame: it answers ARP requests and pings for itself.
func (n *fakeNet) hostGot(h *fakeHost, data []byte) {
	p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth == nil {
		return
	}
	if !isMulticast(ofproto.MAC(eth.DstMAC)) && ofproto.MAC(eth.DstMAC) != h.mac {
		h.got = append(h.got, "foreign "+summary(p))
		return
	}
	h.got = append(h.got, summary(p))
	if arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
		sender := netip.AddrFrom4([4]byte(arp.SourceProtAddress))
		h.arp[sender] = ofproto.MAC(arp.SourceHwAddress)
		if arp.Operation == layers.ARPRequest && netip.AddrFrom4([4]byte(arp.DstProtAddress)) == h.ip {
			n.hostSend(h, arpFrame(layers.ARPReply, h.mac, h.ip, ofproto.MAC(arp.SourceHwAddress), sender))
		}
		return
	}
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ip != nil && ic != nil && ic.TypeCode.Type() == layers.ICMPv4TypeEchoRequest &&
		netip.AddrFrom4([4]byte(ip.DstIP.To4())) == h.ip {
		n.hostSend(h, icmpFrame(h.mac, ofproto.MAC(eth.SrcMAC), h.ip, netip.AddrFrom4([4]byte(ip.SrcIP.To4())),
			layers.ICMPv4TypeEchoReply, ic.Id, ic.Seq))
	}
}

func (n *fakeNet) hostSend(h *fakeHost, data []byte) {
	if n.sw[h.at.DPID].s == nil {
		return
	}
	n.frames = append(n.frames, frameAt{data, h.at})
}

func summary(p gopacket.Packet) string {
	if arp, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
		op := "request"
		if arp.Operation == layers.ARPReply {
			op = "reply"
		}
		return fmt.Sprintf("arp %s %v>%v", op, net.IP(arp.SourceProtAddress), net.IP(arp.DstProtAddress))
	}
	if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		if ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
			return fmt.Sprintf("icmp %v %v>%v", ic.TypeCode, ip.SrcIP, ip.DstIP)
		}
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			return fmt.Sprintf("udp %v:%d>%v:%d", ip.SrcIP, u.SrcPort, ip.DstIP, u.DstPort)
		}
		return fmt.Sprintf("ipv4 %v>%v", ip.SrcIP, ip.DstIP)
	}
	return "frame"
}

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var broadcast = ofproto.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func arpFrame(op uint16, sha ofproto.MAC, spa netip.Addr, tha ofproto.MAC, tpa netip.Addr) []byte {
	dst := tha
	if op == layers.ARPRequest {
		dst = broadcast
		tha = ofproto.MAC{}
	}
	s, d := spa.As4(), tpa.As4()
	return serialize(nil,
		&layers.Ethernet{SrcMAC: sha[:], DstMAC: dst[:], EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6,
			ProtAddressSize: 4, Operation: op, SourceHwAddress: sha[:], SourceProtAddress: s[:],
			DstHwAddress: tha[:], DstProtAddress: d[:]})
}

func icmpFrame(src, dst ofproto.MAC, sip, dip netip.Addr, typ uint8, id, seq uint16) []byte {
	s, d := sip.As4(), dip.As4()
	return serialize(nil,
		&layers.Ethernet{SrcMAC: src[:], DstMAC: dst[:], EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: s[:], DstIP: d[:]},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: seq},
		gopacket.Payload([]byte("cemon-ping")))
}

func udpFrame(src, dst ofproto.MAC, sip, dip netip.Addr, sport, dport uint16, tos uint8, payload int) []byte {
	s, d := sip.As4(), dip.As4()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, TOS: tos, Protocol: layers.IPProtocolUDP, SrcIP: s[:], DstIP: d[:]}
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	u.SetNetworkLayerForChecksum(ip)
	return serialize(nil, &layers.Ethernet{SrcMAC: src[:], DstMAC: dst[:], EthernetType: layers.EthernetTypeIPv4},
		ip, u, gopacket.Payload(make([]byte, payload)))
}

// ping makes host a ping host b (ARP first if needed) and reports what happened.
func (n *fakeNet) ping(a, b *fakeHost) string {
	before := len(a.got)
	if _, ok := a.arp[b.ip]; !ok {
		n.hostSend(a, arpFrame(layers.ARPRequest, a.mac, a.ip, ofproto.MAC{}, b.ip))
		n.run()
	}
	mac, ok := a.arp[b.ip]
	if !ok {
		return fmt.Sprintf("%s -> %s: no arp reply", a.name, b.name)
	}
	n.hostSend(a, icmpFrame(a.mac, mac, a.ip, b.ip, layers.ICMPv4TypeEchoRequest, 1, 1))
	n.run()
	for _, g := range a.got[before:] {
		if strings.HasPrefix(g, "icmp EchoReply") {
			return fmt.Sprintf("%s -> %s: ok", a.name, b.name)
		}
	}
	return fmt.Sprintf("%s -> %s: lost", a.name, b.name)
}

// dump lists a switch's table like ovs-ofctl dump-flows, sorted.
func (n *fakeNet) dump(sw *fakeSwitch) []string {
	var out []string
	for _, e := range sw.table {
		out = append(out, fmt.Sprintf("%s cookie=%#x prio=%d idle=%d flags=%v %s actions=%v n_packets=%d",
			sw.name, e.cookie, e.priority, e.idle, e.flags, &e.match, e.out, e.packets))
	}
	sort.Strings(out)
	return out
}

func fmtMsg(m ofproto.Message) string {
	switch m := m.(type) {
	case *ofproto.FlowMod:
		return fmt.Sprintf("%v %v cookie=%#x %v actions=%v", m.Type(), m.Command, m.Cookie, &m.Match, actionsString(m.Actions))
	case *ofproto.PacketOut:
		kind := "frame"
		if len(m.Data) >= 14 {
			kind = fmt.Sprintf("ethertype=%#04x", uint16(m.Data[12])<<8|uint16(m.Data[13]))
		}
		return fmt.Sprintf("%v in_port=%v actions=%v %s", m.Type(), m.InPort, actionsString(m.Actions), kind)
	case *ofproto.PacketIn:
		return fmt.Sprintf("%v in_port=%v len=%d", m.Type(), m.InPort, len(m.Data))
	case *ofproto.SetConfig:
		return fmt.Sprintf("%v miss_send_len=%d", m.Type(), m.MissSendLen)
	case *ofproto.FeaturesReply:
		return fmt.Sprintf("%v dpid=%016x ports=%d", m.Type(), m.DatapathID, len(m.Ports))
	case *ofproto.ErrorMsg:
		return fmt.Sprintf("%v %v", m.Type(), m.Error())
	}
	return m.Type().String()
}

func actionsString(as []ofproto.Action) string {
	var s []string
	for _, a := range as {
		s = append(s, a.String())
	}
	return strings.Join(s, ",")
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
