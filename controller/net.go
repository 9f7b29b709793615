package controller

import (
	"errors"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// swState is the controller's record of one connected switch: its session and its
// ports as the switch describes them (names, addresses, configuration).
type swState struct {
	s     *session
	ports map[ofproto.PortNo]ofproto.PhyPort
}

// netState is the forwarding logic: it feeds discovery into the live topology view
// (topology.Network: switches, ports, LLDP links, hosts, paths), routes IPv4 flows
// and records them in the flow tracker, floods, and keeps the flood guard. It belongs
// to the core and runs under its lock.
type netState struct {
	c       *core
	tracker *flowtracker.Tracker
	topo    *topology.Network
	sw      map[uint64]*swState

	guard     map[uint64]time.Time // hashes of frames the controller sent out itself
	lastGuard time.Time
	torn      map[uint64]time.Time // flows whose entries were deleted mid-drain, by ID

	fr    frame // scratch
	stats NetStats
}

// NetStats counts what the forwarding logic did.
type NetStats struct {
	PacketIns       uint64 // PACKET_INs handled
	FlowsInstalled  uint64 // flows installed (one FLOW_MOD per switch of the path)
	FlowMods        uint64 // FLOW_MODs sent for flows
	Forwarded       uint64 // PACKET_INs of already installed flows sent on along their entry
	Flooded         uint64 // frames delivered out of every edge port
	Delivered       uint64 // frames delivered straight to a known host's port
	GuardDrops      uint64 // frames of ours that came back through an undiscovered link
	Dropped         uint64 // frames dropped for other reasons (IPv6, link-local, ...)
	LLDPReceived    uint64 // LLDP probes received
	LinksAdded      uint64
	LinksRemoved    uint64
	FlowsTornDown   uint64 // flows deleted because a switch, port or link went away, or their path broke while draining
	TrackerFailures uint64 // tracker calls that failed (logged)
}

func newNetState(c *core) *netState {
	t, err := flowtracker.New(c.cfg.Tracker)
	if err != nil {
		// Controller.New validated the tracker config, and falls back to the defaults
		// when it is bad; reaching this is a bug.
		panic(err)
	}
	return &netState{
		c: c, tracker: t, topo: topology.NewNetwork(),
		sw:    make(map[uint64]*swState),
		guard: make(map[uint64]time.Time),
		torn:  make(map[uint64]time.Time),
	}
}

// retearAfter is how long tearDownOnce waits before deleting the same flow's entries
// again: the packets that raced the first deletes arrive well within it.
const retearAfter = time.Second

// tearDownOnce deletes the live entries of a draining flow whose path broke, unless
// it did so less than retearAfter ago.
func (n *netState) tearDownOnce(f *flowtracker.Flow, now time.Time) {
	if t, ok := n.torn[f.ID]; ok && now.Sub(t) < retearAfter {
		return
	}
	n.torn[f.ID] = now
	n.stats.FlowsTornDown++
	n.c.log.Debug("draining flow's path broke; deleting its entries", "flow", f.ID, "cookie", f.Cookie)
	n.deleteLive(f)
}

// portUp reports whether a port can carry traffic.
func portUp(p ofproto.PhyPort) bool {
	return p.Config&ofproto.PortConfigDown == 0 && p.State&ofproto.PortStateLinkDown == 0
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

func (n *netState) switchUp(s *session, now time.Time) {
	st := &swState{s: s, ports: make(map[ofproto.PortNo]ofproto.PhyPort, len(s.features.Ports))}
	var up []uint16
	for _, p := range s.features.Ports {
		st.ports[p.PortNo] = p
		if portUp(p) {
			up = append(up, uint16(p.PortNo))
		}
	}
	n.sw[s.dpid] = st
	n.linksGone(n.topo.AddSwitch(s.dpid, up), now)
	n.probeSwitch(st) // discover its links at once
}

func (n *netState) switchDown(s *session, now time.Time) {
	dpid := s.dpid
	if st, ok := n.sw[dpid]; !ok || st.s != s {
		return
	}
	delete(n.sw, dpid)
	for _, l := range n.topo.RemoveSwitch(dpid) {
		n.stats.LinksRemoved++
		n.c.log.Info("link down", "link", l.String(), "reason", "switch left")
	}
	// Every flow through the switch lost a hop: delete its entries elsewhere so that
	// its next packet takes a fresh path, then drop the switch's entries.
	n.tearDown(func(f *flowtracker.Flow) bool {
		for _, e := range f.Entries {
			if e.DPID == dpid && !e.Gone {
				return true
			}
		}
		return false
	})
	n.tracker.RemoveSwitch(dpid, now)
}

// tearDown deletes, on every connected switch, the live entries of the active flows
// that sel picks. The switches answer with FLOW_REMOVED (reason DELETE), which the
// tracker records with final counters.
func (n *netState) tearDown(sel func(f *flowtracker.Flow) bool) {
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
			dels = append(dels, del{e.DPID, n.deleteEntry(f.Key, f.Cookie, e.InPort)})
		}
		return true
	})
	sort.SliceStable(dels, func(i, j int) bool { return dels[i].dpid < dels[j].dpid })
	for _, d := range dels {
		n.c.fx.send(n.sw[d.dpid].s, d.fm)
	}
}

// deleteEntry is the FLOW_MOD that deletes exactly one entry of a flow: the switch
// answers with FLOW_REMOVED (reason DELETE) and the entry's final counters.
func (n *netState) deleteEntry(k flowtracker.Key, cookie uint64, inPort uint16) *ofproto.FlowMod {
	return &ofproto.FlowMod{Match: MatchOfKey(k, ofproto.PortNo(inPort)), Cookie: cookie,
		Command: ofproto.FlowDeleteStrict, Priority: n.c.cfg.FlowPriority,
		BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone}
}

// deleteLive deletes every entry of f that is still on a connected switch, in path
// order.
func (n *netState) deleteLive(f *flowtracker.Flow) {
	for _, e := range f.Entries {
		if st, ok := n.sw[e.DPID]; ok && !e.Gone {
			n.c.fx.send(st.s, n.deleteEntry(f.Key, f.Cookie, e.InPort))
		}
	}
}

// linksGone deletes the flows that crossed links that went away.
func (n *netState) linksGone(ls []topology.Link, now time.Time) {
	if len(ls) == 0 {
		return
	}
	for _, l := range ls {
		n.stats.LinksRemoved++
		n.c.log.Info("link down", "link", l.String())
	}
	n.tearDown(func(f *flowtracker.Flow) bool {
		for _, e := range f.Entries {
			if e.Gone {
				continue
			}
			for _, l := range ls {
				if (e.DPID == l.SrcDPID && e.OutPort == l.SrcPort) || (e.DPID == l.DstDPID && e.InPort == l.DstPort) {
					return true
				}
			}
		}
		return false
	})
}

func (n *netState) portStatus(s *session, m *ofproto.PortStatus, now time.Time) {
	st, ok := n.sw[s.dpid]
	if !ok {
		return
	}
	p := m.Desc
	if m.Reason == ofproto.PortDeleted {
		delete(st.ports, p.PortNo)
	} else {
		st.ports[p.PortNo] = p
	}
	if p.PortNo >= ofproto.PortMax || p.PortNo == 0 {
		return
	}
	if m.Reason != ofproto.PortDeleted && portUp(p) {
		if err := n.topo.PortUp(s.dpid, uint16(p.PortNo)); err != nil {
			n.c.log.Warn("port up", "dpid", dpidString(s.dpid), "port", p.PortNo, "err", err)
		}
		n.probePort(st, p) // look for a link behind it
		return
	}
	// The port is gone or down: its links, its hosts and the flows through it go too.
	port := uint16(p.PortNo)
	n.linksGone(n.topo.PortDown(s.dpid, port), now)
	n.tearDown(func(f *flowtracker.Flow) bool {
		for _, e := range f.Entries {
			if e.DPID == s.dpid && !e.Gone && (e.InPort == port || e.OutPort == port) {
				return true
			}
		}
		return false
	})
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
func (n *netState) probeAll() {
	for _, dpid := range n.topo.Switches() {
		if st, ok := n.sw[dpid]; ok {
			n.probeSwitch(st)
		}
	}
}

func (n *netState) probeSwitch(st *swState) {
	for _, p := range sortedPorts(st.ports) {
		if p.PortNo < ofproto.PortMax && p.PortNo != 0 && portUp(p) {
			n.probePort(st, p)
		}
	}
}

func (n *netState) probePort(st *swState, p ofproto.PhyPort) {
	b := topology.BuildLLDP(st.s.dpid, uint16(p.PortNo), p.HWAddr)
	if b == nil {
		n.c.log.Error("cannot build an LLDP probe", "dpid", dpidString(st.s.dpid), "port", p.PortNo)
		return
	}
	n.c.fx.send(st.s, &ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: ofproto.PortNone,
		Actions: []ofproto.Action{&ofproto.OutputAction{Port: p.PortNo}}, Data: b})
}

// expire removes links whose LLDP stopped (and the flows over them) and forgets old
// flood-guard entries.
func (n *netState) expire(now time.Time) {
	n.linksGone(n.topo.Expire(now, n.c.cfg.LinkTimeout), now)
	if now.Sub(n.lastGuard) >= n.c.cfg.FloodGuard {
		n.lastGuard = now
		for h, t := range n.guard {
			if now.Sub(t) > n.c.cfg.FloodGuard {
				delete(n.guard, h)
			}
		}
		for id, t := range n.torn {
			if now.Sub(t) >= retearAfter {
				delete(n.torn, id)
			}
		}
	}
}

// packetIn handles one PACKET_IN: discovery, learning, routing or flooding.
func (n *netState) packetIn(s *session, pi *ofproto.PacketIn, now time.Time) {
	n.stats.PacketIns++
	f := &n.fr
	if err := parseFrame(pi.Data, f); err != nil {
		n.stats.Dropped++
		return
	}
	in := uint16(pi.InPort)
	if f.dlType == etherLLDP {
		n.lldp(s.dpid, in, pi.Data, now)
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
	n.learn(f, s.dpid, in, now)
	if isMulticast(f.dlDst) {
		// An ARP request for a known host goes to that host only (a gratuitous one,
		// for the sender's own address, is flooded).
		if f.dlType == etherARP && f.nwProto == 1 && f.nwSrc != f.nwDst {
			if h, ok := n.topo.HostByIP(f.nwDst); ok && (h.DPID != s.dpid || h.Port != in) {
				n.deliver(pi, h, now)
				return
			}
		}
		n.flood(pi, s.dpid, in, now)
		return
	}
	dst, known := n.topo.Host(f.dlDst)
	if !known {
		n.flood(pi, s.dpid, in, now)
		return
	}
	if dst.DPID == s.dpid && dst.Port == in {
		n.stats.Dropped++ // the destination is behind the port the frame came from
		return
	}
	if f.dlType == etherIPv4 {
		n.route(s, pi, f, dst, now)
		return
	}
	n.deliver(pi, dst, now)
}

func (n *netState) lldp(dpid uint64, in uint16, data []byte, now time.Time) {
	src, port, err := topology.ParseLLDP(data)
	if err != nil {
		n.stats.Dropped++
		return
	}
	n.stats.LLDPReceived++
	l := topology.Link{SrcDPID: src, SrcPort: port, DstDPID: dpid, DstPort: in}
	added, err := n.topo.AddLink(l, now)
	if err != nil {
		if !errors.Is(err, topology.ErrUnknownSwitch) {
			n.c.log.Debug("LLDP ignored", "link", l.String(), "err", err)
		}
		return
	}
	if added {
		n.stats.LinksAdded++
		n.c.log.Info("link up", "link", l.String())
		// Probe back at once, so that the other direction is known within a round
		// trip rather than at the next LLDP round. (A probe that only refreshes a known
		// link adds nothing, so this stops after one exchange.)
		if st, ok := n.sw[dpid]; ok {
			if p, ok := st.ports[ofproto.PortNo(in)]; ok {
				n.probePort(st, p)
			}
		}
	}
}

func (n *netState) learn(f *frame, dpid uint64, port uint16, now time.Time) {
	var ip netip.Addr
	switch f.dlType {
	case etherARP:
		if f.arpSHA != f.dlSrc {
			return // a proxy's or a forger's ARP: the frame does not say where the sender is
		}
		ip = f.nwSrc
	case etherIPv4:
		ip = f.nwSrc
	}
	if ip.IsValid() && (ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255})) {
		ip = netip.Addr{}
	}
	switch n.topo.LearnHost(f.dlSrc, ip, dpid, port, now) {
	case topology.LearnNew:
		n.c.log.Debug("host learned", "mac", f.dlSrc.String(), "ip", ip, "dpid", dpidString(dpid), "port", port)
	case topology.LearnMoved:
		n.c.log.Info("host moved", "mac", f.dlSrc.String(), "dpid", dpidString(dpid), "port", port)
	}
}

// remember puts a frame the controller sends out into the flood guard.
func (n *netState) remember(data []byte, now time.Time) {
	n.guard[xxhash.Sum64(data)] = now
}

// flood delivers a frame out of every up edge port of every switch except the one it
// came in on. Flooded frames never cross a switch-to-switch link, so no topology can
// make them loop; a frame that comes back through a link not discovered yet is caught
// by the flood guard.
func (n *netState) flood(pi *ofproto.PacketIn, inDPID uint64, inPort uint16, now time.Time) {
	n.stats.Flooded++
	n.remember(pi.Data, now)
	for _, dpid := range n.topo.Switches() {
		st, ok := n.sw[dpid]
		if !ok {
			continue
		}
		var acts []ofproto.Action
		for _, p := range n.topo.Ports(dpid) {
			if (dpid == inDPID && p == inPort) || n.topo.IsTrunk(dpid, p) ||
				st.ports[ofproto.PortNo(p)].Config&ofproto.PortConfigNoFlood != 0 {
				continue
			}
			acts = append(acts, &ofproto.OutputAction{Port: ofproto.PortNo(p)})
		}
		if len(acts) == 0 {
			continue
		}
		po := &ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: ofproto.PortNone, Actions: acts, Data: pi.Data}
		if dpid == inDPID {
			po.InPort = ofproto.PortNo(inPort)
			if pi.BufferID != ofproto.BufferNone {
				po.BufferID, po.Data = pi.BufferID, nil
			}
		}
		n.c.fx.send(st.s, po)
	}
}

// deliver sends a frame straight out of a known host's port.
func (n *netState) deliver(pi *ofproto.PacketIn, h topology.Host, now time.Time) {
	st, ok := n.sw[h.DPID]
	if !ok {
		n.stats.Dropped++
		return
	}
	n.stats.Delivered++
	n.remember(pi.Data, now)
	n.c.fx.send(st.s, &ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: ofproto.PortNone,
		Actions: []ofproto.Action{&ofproto.OutputAction{Port: ofproto.PortNo(h.Port)}}, Data: pi.Data})
}

// route installs a shortest path for an IPv4 flow towards a known host (one exact
// entry per switch, last switch first) and sends the packet on from the switch that
// asked. A packet of a flow already installed through this switch is only sent on.
func (n *netState) route(s *session, pi *ofproto.PacketIn, f *frame, dst topology.Host, now time.Time) {
	m := exactMatch(f, pi.InPort)
	key := KeyOfMatch(&m)
	old, exists := n.tracker.ByKey(key)
	if exists {
		for i, e := range old.Entries {
			if e.DPID != s.dpid || e.InPort != uint16(pi.InPort) {
				continue
			}
			if !e.Gone {
				// The packet raced its entry's FLOW_MOD: send it on along the entry.
				n.stats.Forwarded++
				n.packetOut(s, pi, ofproto.PortNo(e.OutPort))
				return
			}
			if i > 0 {
				// The flow is draining and its entry here went first (switches expire
				// idle entries on their own schedules), while the switches before this
				// one still send its packets this way. A flow installed from here would
				// start mid-path and leave those upstream entries counting traffic
				// nobody tracks. Delete what is left instead: FLOW_REMOVED brings the
				// ingress switch's final counters, the flow expires, and its next packet
				// at the ingress installs a new flow over the whole path. This packet
				// goes straight to its destination.
				n.tearDownOnce(&old, now)
				n.deliver(pi, dst, now)
				return
			}
		}
	}
	path, ok := n.topo.Path(s.dpid, dst.DPID)
	if !ok {
		// No discovered path yet (links are still being probed, or the network is
		// split): deliver this packet directly and install nothing.
		n.deliver(pi, dst, now)
		return
	}
	hops := make([]flowtracker.Hop, len(path))
	for i, h := range path {
		hops[i] = flowtracker.Hop{DPID: h.DPID, InPort: h.InPort, OutPort: h.OutPort}
	}
	hops[0].InPort = uint16(pi.InPort)
	hops[len(hops)-1].OutPort = dst.Port
	for _, h := range hops {
		if _, ok := n.sw[h.DPID]; !ok {
			// The view knows a switch whose connection is gone: never install half a path.
			n.stats.Dropped++
			return
		}
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
	if exists && old.ID != h.ID {
		// A draining flow was superseded: the tracker counts its remaining entries
		// gone. The new flow's entries replace those on the same switch and in_port;
		// delete the others, so that every switch holds only entries the tracker
		// knows. (Their FLOW_REMOVED concerns an expired flow and changes nothing.)
		for _, e := range old.Entries {
			st, ok := n.sw[e.DPID]
			if e.Gone || !ok || slices.ContainsFunc(hops, func(hp flowtracker.Hop) bool {
				return hp.DPID == e.DPID && hp.InPort == e.InPort
			}) {
				continue
			}
			n.c.fx.send(st.s, n.deleteEntry(old.Key, old.Cookie, e.InPort))
		}
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
	key := KeyOfMatch(&m.Match)
	h, ok := n.tracker.Resolve(m.Cookie, key)
	if !ok {
		return // not ours, or long gone
	}
	if h.Cookie != m.Cookie {
		// Found by its match only: the entry is not the flow's (every entry the
		// controller installs carries its flow's cookie). It is an entry of a flow the
		// tracker no longer retains, or one left by another controller; its counters
		// are not this flow's.
		n.c.log.Debug("FLOW_REMOVED of an unknown entry", "dpid", dpidString(s.dpid), "cookie", m.Cookie)
		return
	}
	c := flowtracker.Counters{Packets: m.PacketCount, Bytes: m.ByteCount, DurationSec: m.DurationSec,
		DurationNsec: m.DurationNsec}
	if _, err := n.tracker.EntryRemoved(s.dpid, h.Cookie, c, flowtracker.Reason(m.Reason), now); err != nil {
		n.c.log.Debug("FLOW_REMOVED not recorded", "dpid", dpidString(s.dpid), "cookie", m.Cookie, "err", err)
	}
}

// KeyOfMatch is the tracker key of an exact match, as the controller installs one and
// as FLOW_REMOVED and flow statistics report it: every field but in_port.
func KeyOfMatch(m *ofproto.Match) flowtracker.Key {
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

// MatchOfKey is the exact match the controller installs for a tracker key at a switch
// whose entry matches inPort (every field, no wildcard). KeyOfMatch undoes it.
func MatchOfKey(k flowtracker.Key, inPort ofproto.PortNo) ofproto.Match {
	return ofproto.Match{InPort: inPort, DLSrc: k.DLSrc, DLDst: k.DLDst, DLVLAN: k.DLVLAN,
		DLVLANPCP: k.DLVLANPCP, DLType: k.DLType, NWTOS: k.NWTos, NWProto: k.NWProto,
		NWSrc: netip.AddrFrom4(k.NWSrc), NWDst: netip.AddrFrom4(k.NWDst), TPSrc: k.TPSrc, TPDst: k.TPDst}
}
