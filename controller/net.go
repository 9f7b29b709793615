package controller

import (
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// PortRef names one port of one switch.
type PortRef struct {
	DPID uint64
	Port uint16
}

func (p PortRef) String() string { return dpidString(p.DPID) + ":" + strconv.Itoa(int(p.Port)) }

// Link is one direction of a switch-to-switch link: an LLDP probe sent out of Src
// arrived at Dst.
type Link struct {
	Src, Dst PortRef
	LastSeen time.Time
}

// Host is an end host the controller located from its ARP or IPv4 traffic.
type Host struct {
	MAC      ofproto.MAC
	IP       netip.Addr // the last IPv4 address seen; invalid if none yet
	At       PortRef
	LastSeen time.Time
}

// swState is the network's record of one connected switch.
type swState struct {
	s     *session
	ports map[ofproto.PortNo]ofproto.PhyPort
}

// netState is the live network: switches and ports, links learned from LLDP, hosts
// learned from ARP and IPv4, the graph and shortest paths over the links, the flood
// guard, and the flow tracker. It belongs to the core and shares its lock.
type netState struct {
	c       *core
	tracker *flowtracker.Tracker

	sw    map[uint64]*swState
	links map[PortRef]*Link   // by source port
	rev   map[PortRef]PortRef // destination port -> source port
	hosts map[ofproto.MAC]*Host
	byIP  map[netip.Addr]ofproto.MAC

	// Derived from sw and links; rebuilt when dirty.
	dirty  bool
	graph  *topology.Graph
	index  map[uint64]int // dpid -> node
	dpids  []uint64       // node -> dpid
	portTo map[[2]int]ofproto.PortNo
	toward map[int][]int // BFS parents towards a destination node, cached

	guard     map[uint64]time.Time // hashes of frames the controller sent out itself
	lastGuard time.Time

	fr    frame // scratch
	stats NetStats
}

// NetStats counts what the network logic did.
type NetStats struct {
	PacketIns       uint64 // PACKET_INs handled
	FlowsInstalled  uint64 // flows installed (one FLOW_MOD per switch of the path)
	FlowMods        uint64 // FLOW_MODs sent for flows
	Forwarded       uint64 // PACKET_INs of already installed flows sent on along their entry
	Flooded         uint64 // frames delivered out of every edge port
	Delivered       uint64 // frames delivered straight to a known host's port
	GuardDrops      uint64 // frames of ours that came back through an undiscovered link
	Dropped         uint64 // frames dropped for other reasons (IPv6, link-local, no path, ...)
	LLDPReceived    uint64 // LLDP probes received
	LinksAdded      uint64
	LinksRemoved    uint64
	FlowsTornDown   uint64 // flows deleted because a switch, port or link went away
	TrackerFailures uint64 // tracker calls that failed (logged)
}

func newNetState(c *core) *netState {
	t, err := flowtracker.New(c.cfg.Tracker)
	if err != nil {
		panic(err) // Config.Validate checked the tracker config
	}
	return &netState{
		c: c, tracker: t,
		sw:    make(map[uint64]*swState),
		links: make(map[PortRef]*Link),
		rev:   make(map[PortRef]PortRef),
		hosts: make(map[ofproto.MAC]*Host),
		byIP:  make(map[netip.Addr]ofproto.MAC),
		guard: make(map[uint64]time.Time),
		dirty: true,
	}
}

// portUp reports whether a port can carry traffic.
func portUp(p ofproto.PhyPort) bool {
	return p.Config&ofproto.PortConfigDown == 0 && p.State&ofproto.PortStateLinkDown == 0
}

// isLinkPort reports whether a port is one end of a discovered switch-to-switch link.
func (n *netState) isLinkPort(p PortRef) bool {
	if _, ok := n.links[p]; ok {
		return true
	}
	_, ok := n.rev[p]
	return ok
}

func (n *netState) switchUp(s *session, now time.Time) {
	st := &swState{s: s, ports: make(map[ofproto.PortNo]ofproto.PhyPort, len(s.features.Ports))}
	for _, p := range s.features.Ports {
		st.ports[p.PortNo] = p
	}
	n.sw[s.dpid] = st
	n.dirty = true
	n.probeSwitch(st) // discover its links at once
}

func (n *netState) switchDown(s *session, now time.Time) {
	dpid := s.dpid
	if st, ok := n.sw[dpid]; !ok || st.s != s {
		return
	}
	delete(n.sw, dpid)
	for src, l := range n.links {
		if src.DPID == dpid || l.Dst.DPID == dpid {
			n.removeLink(src)
		}
	}
	for mac, h := range n.hosts {
		if h.At.DPID == dpid {
			n.forgetHost(mac)
		}
	}
	n.dirty = true
	// Every flow through the switch lost a hop: delete its entries elsewhere so that
	// its next packet takes a fresh path, then drop the switch's entries.
	n.tearDown(func(f *flowtracker.Flow) bool {
		for _, e := range f.Entries {
			if e.DPID == dpid && !e.Gone {
				return true
			}
		}
		return false
	}, now)
	n.tracker.RemoveSwitch(dpid, now)
}

// tearDown deletes, on every connected switch, the live entries of the active flows
// that sel picks. The switches answer with FLOW_REMOVED (reason DELETE), which the
// tracker records with final counters.
func (n *netState) tearDown(sel func(f *flowtracker.Flow) bool, now time.Time) {
	type del struct {
		dpid uint64
		fm   *ofproto.FlowMod
	}
	var dels []del
	n.tracker.Range(func(f flowtracker.Flow) bool {
		if f.State == flowtracker.StateExpired || !sel(&f) {
			return true
		}
		n.stats.FlowsTornDown++
		for _, e := range f.Entries {
			if e.Gone {
				continue
			}
			if _, ok := n.sw[e.DPID]; !ok {
				continue
			}
			m := matchOfKey(f.Key, ofproto.PortNo(e.InPort))
			dels = append(dels, del{e.DPID, &ofproto.FlowMod{Match: m, Cookie: f.Cookie,
				Command: ofproto.FlowDeleteStrict, Priority: n.c.cfg.FlowPriority,
				BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone}})
		}
		return true
	})
	for _, d := range dels {
		n.c.fx.send(n.sw[d.dpid].s, d.fm)
	}
}

func (n *netState) removeLink(src PortRef) {
	l, ok := n.links[src]
	if !ok {
		return
	}
	delete(n.links, src)
	if n.rev[l.Dst] == src {
		delete(n.rev, l.Dst)
	}
	n.stats.LinksRemoved++
	n.dirty = true
	n.c.log.Info("link down", "src", src.String(), "dst", l.Dst.String())
}

func (n *netState) portStatus(s *session, m *ofproto.PortStatus, now time.Time) {
	st, ok := n.sw[s.dpid]
	if !ok {
		return
	}
	p := m.Desc
	ref := PortRef{s.dpid, uint16(p.PortNo)}
	if m.Reason == ofproto.PortDeleted {
		delete(st.ports, p.PortNo)
	} else {
		st.ports[p.PortNo] = p
	}
	if m.Reason != ofproto.PortDeleted && portUp(p) {
		if p.PortNo < ofproto.PortMax {
			n.probePort(st, p) // a port that came up: look for a link behind it
		}
		return
	}
	// The port is gone or down: its links, its hosts and the flows through it go too.
	n.portGone(ref, now)
}

func (n *netState) portGone(ref PortRef, now time.Time) {
	n.removeLink(ref)
	if src, ok := n.rev[ref]; ok {
		n.removeLink(src)
	}
	for mac, h := range n.hosts {
		if h.At == ref {
			n.forgetHost(mac)
		}
	}
	n.tearDown(func(f *flowtracker.Flow) bool {
		for _, e := range f.Entries {
			if e.DPID == ref.DPID && !e.Gone && (e.InPort == ref.Port || e.OutPort == ref.Port) {
				return true
			}
		}
		return false
	}, now)
}

// ports returns the ports of switch dpid by number.
func (n *netState) ports(dpid uint64) []ofproto.PhyPort {
	st, ok := n.sw[dpid]
	if !ok {
		return nil
	}
	return sortedPorts(st.ports)
}

// probeAll sends an LLDP probe out of every up port of every switch.
func (n *netState) probeAll(now time.Time) {
	n.rebuild()
	for _, dpid := range n.dpids {
		n.probeSwitch(n.sw[dpid])
	}
}

func (n *netState) probeSwitch(st *swState) {
	for _, p := range sortedPorts(st.ports) {
		if p.PortNo < ofproto.PortMax && portUp(p) {
			n.probePort(st, p)
		}
	}
}

// sortedPorts returns the ports by number, so that the core's output is deterministic.
func sortedPorts(m map[ofproto.PortNo]ofproto.PhyPort) []ofproto.PhyPort {
	out := make([]ofproto.PhyPort, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PortNo < out[j].PortNo })
	return out
}

func (n *netState) probePort(st *swState, p ofproto.PhyPort) {
	b, err := buildProbe(st.s.dpid, uint16(p.PortNo), net.HardwareAddr(p.HWAddr[:]))
	if err != nil {
		n.c.log.Error("LLDP probe", "err", err)
		return
	}
	n.c.fx.send(st.s, &ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: ofproto.PortNone,
		Actions: []ofproto.Action{&ofproto.OutputAction{Port: p.PortNo}}, Data: b})
}

// expire removes links whose LLDP stopped and forgets old flood-guard entries.
func (n *netState) expire(now time.Time) {
	for src, l := range n.links {
		if now.Sub(l.LastSeen) > n.c.cfg.LinkTimeout {
			n.removeLink(src)
			n.tearDownLink(src, l.Dst, now)
		}
	}
	if now.Sub(n.lastGuard) >= n.c.cfg.FloodGuard {
		n.lastGuard = now
		for h, t := range n.guard {
			if now.Sub(t) > n.c.cfg.FloodGuard {
				delete(n.guard, h)
			}
		}
	}
}

// tearDownLink deletes the flows that cross the link src->dst.
func (n *netState) tearDownLink(src, dst PortRef, now time.Time) {
	n.tearDown(func(f *flowtracker.Flow) bool {
		for _, e := range f.Entries {
			if (e.DPID == src.DPID && e.OutPort == src.Port) || (e.DPID == dst.DPID && e.InPort == dst.Port) {
				return true
			}
		}
		return false
	}, now)
}

// rebuild recomputes the graph of connected switches and discovered links.
func (n *netState) rebuild() {
	if !n.dirty {
		return
	}
	n.dirty = false
	n.dpids = n.dpids[:0]
	for d := range n.sw {
		n.dpids = append(n.dpids, d)
	}
	slices.Sort(n.dpids)
	n.graph = topology.NewGraph()
	n.index = make(map[uint64]int, len(n.dpids))
	for _, d := range n.dpids {
		n.index[d] = n.graph.AddNode(dpidString(d))
	}
	n.portTo = make(map[[2]int]ofproto.PortNo, 2*len(n.links))
	n.toward = make(map[int][]int)
	srcs := make([]PortRef, 0, len(n.links))
	for src := range n.links {
		srcs = append(srcs, src)
	}
	// Lowest port first, so that parallel links resolve the same way every time.
	sort.Slice(srcs, func(i, j int) bool {
		if srcs[i].DPID != srcs[j].DPID {
			return srcs[i].DPID < srcs[j].DPID
		}
		return srcs[i].Port < srcs[j].Port
	})
	for _, src := range srcs {
		l := n.links[src]
		a, okA := n.index[src.DPID]
		b, okB := n.index[l.Dst.DPID]
		if !okA || !okB || a == b {
			continue
		}
		if n.graph.AddEdge(a, b) != nil {
			continue
		}
		if _, ok := n.portTo[[2]int{a, b}]; !ok {
			n.portTo[[2]int{a, b}] = ofproto.PortNo(src.Port)
		}
		if _, ok := n.portTo[[2]int{b, a}]; !ok {
			n.portTo[[2]int{b, a}] = ofproto.PortNo(l.Dst.Port)
		}
	}
}

// path returns the switches from src to dst along a shortest path of discovered
// links (src and dst included), or nil when dst cannot be reached.
func (n *netState) path(src, dst uint64) []int {
	n.rebuild()
	a, okA := n.index[src]
	b, okB := n.index[dst]
	if !okA || !okB {
		return nil
	}
	parent, ok := n.toward[b]
	if !ok {
		var dist []int
		dist, parent = n.graph.BFS(b)
		_ = dist
		n.toward[b] = parent
	}
	p := []int{a}
	for v := a; v != b; {
		v = parent[v]
		if v < 0 {
			return nil
		}
		p = append(p, v)
	}
	return p
}

// packetIn handles one PACKET_IN: discovery, learning, routing or flooding.
func (n *netState) packetIn(s *session, pi *ofproto.PacketIn, now time.Time) {
	n.stats.PacketIns++
	f := &n.fr
	if err := parseFrame(pi.Data, f); err != nil {
		n.stats.Dropped++
		return
	}
	in := PortRef{s.dpid, uint16(pi.InPort)}
	if f.dlType == etherLLDP {
		n.lldp(in, f.payload, now)
		return
	}
	if pi.InPort >= ofproto.PortMax || isLinkLocalMulticast(f.dlDst) || f.dlType == etherIPv6 ||
		(f.dlType != etherIPv4 && f.dlType != etherARP) {
		n.stats.Dropped++
		return
	}
	if len(n.guard) > 0 {
		if t, ok := n.guard[xxhash.Sum64(pi.Data)]; ok && now.Sub(t) <= n.c.cfg.FloodGuard {
			n.stats.GuardDrops++
			return
		}
	}
	edge := !n.isLinkPort(in)
	if edge && !isMulticast(f.dlSrc) {
		n.learn(f, in, now)
	}
	if isMulticast(f.dlDst) {
		if f.dlType == etherARP && f.nwProto == 1 { // ARP request: deliver to the target
			if h := n.hostByIP(f.nwDst); h != nil {
				n.deliver(pi, h, now)
				return
			}
		}
		n.flood(pi, in, now)
		return
	}
	dst, known := n.hosts[f.dlDst]
	if !known {
		n.flood(pi, in, now)
		return
	}
	if f.dlType == etherIPv4 {
		n.route(s, pi, f, dst, now)
		return
	}
	n.deliver(pi, dst, now)
}

func (n *netState) lldp(in PortRef, payload []byte, now time.Time) {
	dpid, port, err := parseProbe(payload)
	if err != nil {
		n.stats.Dropped++
		return
	}
	n.stats.LLDPReceived++
	src := PortRef{dpid, port}
	if _, ok := n.sw[dpid]; !ok || src == in {
		return
	}
	if l, ok := n.links[src]; ok && l.Dst == in {
		l.LastSeen = now
		return
	}
	if old, ok := n.links[src]; ok { // the cable moved
		n.removeLink(src)
		n.tearDownLink(src, old.Dst, now)
	}
	n.links[src] = &Link{Src: src, Dst: in, LastSeen: now}
	n.rev[in] = src
	n.stats.LinksAdded++
	n.dirty = true
	// A port behind a link is no host's.
	for mac, h := range n.hosts {
		if h.At == in || h.At == src {
			n.forgetHost(mac)
		}
	}
	n.c.log.Info("link up", "src", src.String(), "dst", in.String())
}

func (n *netState) learn(f *frame, at PortRef, now time.Time) {
	var ip netip.Addr
	switch f.dlType {
	case etherARP:
		if f.arpSHA != f.dlSrc || !f.nwSrc.IsValid() {
			return
		}
		ip = f.nwSrc
	case etherIPv4:
		ip = f.nwSrc
	}
	if ip.IsValid() && (ip.IsUnspecified() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255})) {
		ip = netip.Addr{}
	}
	h, ok := n.hosts[f.dlSrc]
	if !ok {
		h = &Host{MAC: f.dlSrc}
		n.hosts[f.dlSrc] = h
	}
	if h.At != at && ok {
		n.c.log.Info("host moved", "mac", f.dlSrc.String(), "from", h.At.String(), "to", at.String())
	} else if !ok {
		n.c.log.Debug("host learned", "mac", f.dlSrc.String(), "at", at.String(), "ip", ip)
	}
	h.At = at
	h.LastSeen = now
	if ip.IsValid() && h.IP != ip {
		if n.byIP[h.IP] == h.MAC {
			delete(n.byIP, h.IP)
		}
		h.IP = ip
		n.byIP[ip] = h.MAC
	}
}

// forgetHost removes a host and its address.
func (n *netState) forgetHost(mac ofproto.MAC) {
	h, ok := n.hosts[mac]
	if !ok {
		return
	}
	if n.byIP[h.IP] == mac {
		delete(n.byIP, h.IP)
	}
	delete(n.hosts, mac)
}

func (n *netState) hostByIP(ip netip.Addr) *Host {
	mac, ok := n.byIP[ip]
	if !ip.IsValid() || !ok {
		return nil
	}
	return n.hosts[mac]
}

// remember puts a frame the controller sends out into the flood guard.
func (n *netState) remember(data []byte, now time.Time) {
	n.guard[xxhash.Sum64(data)] = now
}

// flood delivers a frame out of every up edge port of every switch except the one it
// came in on. Flooded frames never cross a switch-to-switch link, so no topology can
// make them loop; a frame that comes back through a link not discovered yet is caught
// by the flood guard.
func (n *netState) flood(pi *ofproto.PacketIn, in PortRef, now time.Time) {
	n.stats.Flooded++
	n.remember(pi.Data, now)
	n.rebuild()
	for _, dpid := range n.dpids {
		st := n.sw[dpid]
		var acts []ofproto.Action
		for _, p := range sortedPorts(st.ports) {
			ref := PortRef{dpid, uint16(p.PortNo)}
			if p.PortNo >= ofproto.PortMax || ref == in || !portUp(p) || n.isLinkPort(ref) ||
				p.Config&ofproto.PortConfigNoFlood != 0 {
				continue
			}
			acts = append(acts, &ofproto.OutputAction{Port: p.PortNo})
		}
		if len(acts) == 0 {
			continue
		}
		po := &ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: ofproto.PortNone, Actions: acts, Data: pi.Data}
		if dpid == in.DPID {
			po.InPort = ofproto.PortNo(in.Port)
			if pi.BufferID != ofproto.BufferNone {
				po.BufferID, po.Data = pi.BufferID, nil
			}
		}
		n.c.fx.send(st.s, po)
	}
}

// deliver sends a frame straight out of a known host's port.
func (n *netState) deliver(pi *ofproto.PacketIn, h *Host, now time.Time) {
	st, ok := n.sw[h.At.DPID]
	if !ok {
		n.stats.Dropped++
		return
	}
	n.stats.Delivered++
	n.remember(pi.Data, now)
	n.c.fx.send(st.s, &ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: ofproto.PortNone,
		Actions: []ofproto.Action{&ofproto.OutputAction{Port: ofproto.PortNo(h.At.Port)}}, Data: pi.Data})
}

// route installs a shortest path for an IPv4 flow towards a known host (one exact
// entry per switch, last switch first) and sends the packet on from the switch that
// asked. A packet of a flow already installed through this switch is only sent on.
func (n *netState) route(s *session, pi *ofproto.PacketIn, f *frame, dst *Host, now time.Time) {
	m := exactMatch(f, pi.InPort)
	key := keyOfMatch(&m)
	if fl, ok := n.tracker.ByKey(key); ok {
		for _, e := range fl.Entries {
			if e.DPID == s.dpid && !e.Gone && e.InPort == uint16(pi.InPort) {
				n.stats.Forwarded++
				n.packetOut(s, pi, ofproto.PortNo(e.OutPort))
				return
			}
		}
	}
	p := n.path(s.dpid, dst.At.DPID)
	if p == nil {
		// No discovered path yet (links are still being probed, or the network is
		// split): deliver this packet directly and install nothing.
		n.deliver(pi, dst, now)
		return
	}
	hops := make([]flowtracker.Hop, len(p))
	inPort := pi.InPort
	for i, v := range p {
		out := ofproto.PortNo(dst.At.Port)
		if i+1 < len(p) {
			out = n.portTo[[2]int{v, p[i+1]}]
		}
		hops[i] = flowtracker.Hop{DPID: n.dpids[v], InPort: uint16(inPort), OutPort: uint16(out)}
		if i+1 < len(p) {
			inPort = n.portTo[[2]int{p[i+1], v}]
		}
	}
	if hops[0].InPort == hops[0].OutPort && len(hops) == 1 {
		n.stats.Dropped++ // the destination is behind the port the packet came from
		return
	}
	h, created, err := n.tracker.Add(key, hops, now)
	if err != nil {
		n.stats.TrackerFailures++
		n.c.log.Warn("tracker refused a flow", "key", key.String(), "err", err)
		return
	}
	if !created {
		// An active flow with this key takes another path (the host moved, say): send
		// the packet straight to its destination and leave the flow alone.
		n.deliver(pi, dst, now)
		return
	}
	n.stats.FlowsInstalled++
	idle := uint16(n.c.cfg.IdleTimeout / time.Second)
	hard := uint16(n.c.cfg.HardTimeout / time.Second)
	for i := len(hops) - 1; i >= 0; i-- {
		hp := hops[i]
		em := m
		em.InPort = ofproto.PortNo(hp.InPort)
		n.stats.FlowMods++
		n.c.fx.send(n.sw[hp.DPID].s, &ofproto.FlowMod{Match: em, Cookie: h.Cookie, Command: ofproto.FlowAdd,
			IdleTimeout: idle, HardTimeout: hard, Priority: n.c.cfg.FlowPriority,
			BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone, Flags: ofproto.FlagSendFlowRem,
			Actions: []ofproto.Action{&ofproto.OutputAction{Port: ofproto.PortNo(hp.OutPort)}}})
	}
	n.packetOut(s, pi, ofproto.PortNo(hops[0].OutPort))
}

// packetOut sends a PACKET_IN's packet out of port on the switch it came from, from the
// switch's buffer when it has one.
func (n *netState) packetOut(s *session, pi *ofproto.PacketIn, port ofproto.PortNo) {
	if port == pi.InPort {
		port = ofproto.PortInPort
	}
	po := &ofproto.PacketOut{BufferID: pi.BufferID, InPort: pi.InPort,
		Actions: []ofproto.Action{&ofproto.OutputAction{Port: port}}}
	if pi.BufferID == ofproto.BufferNone {
		po.Data = pi.Data
	}
	n.c.fx.send(s, po)
}

// flowRemoved records a FLOW_REMOVED in the tracker.
func (n *netState) flowRemoved(s *session, m *ofproto.FlowRemoved, now time.Time) {
	key := keyOfMatch(&m.Match)
	h, ok := n.tracker.Resolve(m.Cookie, key)
	if !ok {
		return // not ours, or long gone
	}
	c := flowtracker.Counters{Packets: m.PacketCount, Bytes: m.ByteCount, DurationSec: m.DurationSec,
		DurationNsec: m.DurationNsec}
	if _, err := n.tracker.EntryRemoved(s.dpid, h.Cookie, c, flowtracker.Reason(m.Reason), now); err != nil {
		n.c.log.Debug("FLOW_REMOVED not recorded", "dpid", dpidString(s.dpid), "cookie", m.Cookie, "err", err)
	}
}

// keyOfMatch is the tracker key of an exact match: every field but in_port.
func keyOfMatch(m *ofproto.Match) flowtracker.Key {
	k := flowtracker.Key{DLSrc: m.DLSrc, DLDst: m.DLDst, DLVLAN: m.DLVLAN, DLType: m.DLType,
		TPSrc: m.TPSrc, TPDst: m.TPDst, DLVLANPCP: m.DLVLANPCP, NWTos: m.NWTOS, NWProto: m.NWProto}
	if m.NWSrc.Is4() {
		k.NWSrc = m.NWSrc.As4()
	}
	if m.NWDst.Is4() {
		k.NWDst = m.NWDst.As4()
	}
	return k
}

// matchOfKey is the exact match of a tracker key entering on inPort.
func matchOfKey(k flowtracker.Key, inPort ofproto.PortNo) ofproto.Match {
	return ofproto.Match{InPort: inPort, DLSrc: k.DLSrc, DLDst: k.DLDst, DLVLAN: k.DLVLAN,
		DLVLANPCP: k.DLVLANPCP, DLType: k.DLType, NWTOS: k.NWTos, NWProto: k.NWProto,
		NWSrc: netip.AddrFrom4(k.NWSrc), NWDst: netip.AddrFrom4(k.NWDst), TPSrc: k.TPSrc, TPDst: k.TPDst}
}
