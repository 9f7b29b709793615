package controller

import (
	"errors"
	"net/netip"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// discovery is the built-in Discovery application: it feeds the live topology view
// (core.topo) with switches, up ports, LLDP links and host locations, and filters the
// PACKET_INs no application should see.
type discovery struct {
	c        *core
	lastLLDP time.Time
	// Host-location verification (hostguard.go).
	claims  map[[6]byte]*moveClaim // hosts claimed at a new place, being verified
	wasLink map[Location]time.Time // ports that were link ends, and when the link went
	// restored holds the hosts put back from saved state, not yet seen at their place.
	restored map[[6]byte]*restoredHost
}

var _ App = (*discovery)(nil)

func (d *discovery) Name() string { return "discovery" }

func (d *discovery) SwitchUp(x *Context, sw Switch, now time.Time) {
	var up []uint16
	for _, p := range sw.s.features.Ports {
		if portUp(p) {
			up = append(up, uint16(p.PortNo))
		}
	}
	d.linksGone(x, sw.s.dpid, d.c.topo.AddSwitch(sw.s.dpid, up), now)
	d.probeSwitch(x, sw) // discover its links at once
}

// SwitchDown removes the switch and its links from the view. No LinkDown is emitted
// for them: SwitchDown says it, and Routing deletes every flow through the switch.
func (d *discovery) SwitchDown(_ *Context, sw Switch, now time.Time) {
	for _, l := range d.c.topo.RemoveSwitch(sw.s.dpid) {
		d.rememberLink(l, now)
		d.c.stats.LinksRemoved++
		d.c.log.Info("link down", "link", l.String(), "reason", "switch left")
	}
}

func (d *discovery) FlowRemoved(*Context, Switch, *ofproto.FlowRemoved, time.Time) {}

func (d *discovery) PortStatus(x *Context, sw Switch, m *ofproto.PortStatus, now time.Time) {
	p := m.Desc
	if p.PortNo >= ofproto.PortMax || p.PortNo == 0 {
		return
	}
	if m.Reason != ofproto.PortDeleted && portUp(p) {
		if err := d.c.topo.PortUp(sw.s.dpid, uint16(p.PortNo)); err != nil {
			d.c.log.Warn("port up", "dpid", dpidString(sw.s.dpid), "port", p.PortNo, "err", err)
		}
		d.probePort(x, sw, p) // look for a link behind it
		return
	}
	// The port is gone or down: its links and hosts go too.
	d.linksGone(x, sw.s.dpid, d.c.topo.PortDown(sw.s.dpid, uint16(p.PortNo)), now)
}

// Tick probes every up port each Config.LLDPInterval and removes the links whose
// probes stopped for Config.LinkTimeout.
func (d *discovery) Tick(x *Context, now time.Time) {
	if now.Sub(d.lastLLDP) >= d.c.cfg.LLDPInterval {
		d.lastLLDP = now
		for _, dpid := range d.c.topo.Switches() {
			if s, ok := d.c.switches[dpid]; ok {
				d.probeSwitch(x, Switch{s})
			}
		}
	}
	d.linksGone(x, 0, d.c.topo.Expire(now, d.c.cfg.LinkTimeout), now)
	d.tickGuard(x, now)
}

// linksGone reports links that went away (LinkDown), so that Routing deletes the flows
// over them. dpid is the switch where the change was seen (0: link expiry).
func (d *discovery) linksGone(x *Context, dpid uint64, ls []topology.Link, now time.Time) {
	if len(ls) == 0 {
		return
	}
	for _, l := range ls {
		d.rememberLink(l, now)
		d.c.stats.LinksRemoved++
		d.c.log.Info("link down", "link", l.String())
	}
	x.Emit(Event{Kind: LinkDown, DPID: dpid, Time: now, Links: ls})
}

func (d *discovery) probeSwitch(x *Context, sw Switch) {
	for _, p := range sortedPorts(sw.s.ports) {
		if p.PortNo < ofproto.PortMax && p.PortNo != 0 && portUp(p) {
			d.probePort(x, sw, p)
		}
	}
}

func (d *discovery) probePort(x *Context, sw Switch, p ofproto.PhyPort) {
	b := topology.BuildLLDP(sw.s.dpid, uint16(p.PortNo), p.HWAddr)
	if b == nil {
		d.c.log.Error("cannot build an LLDP probe", "dpid", dpidString(sw.s.dpid), "port", p.PortNo)
		return
	}
	x.Send(sw, &ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: ofproto.PortNone,
		Actions: []ofproto.Action{&ofproto.OutputAction{Port: p.PortNo}}, Data: b})
}

// PacketIn reads LLDP probes, drops what no application should see and learns the
// sender of the rest.
func (d *discovery) PacketIn(x *Context, sw Switch, pi *ofproto.PacketIn, now time.Time) Verdict {
	f, err := d.c.frameOf(pi)
	if err != nil {
		d.c.stats.Dropped++
		return Stop
	}
	in := uint16(pi.InPort)
	if f.dlType == etherLLDP {
		d.lldp(x, sw, in, pi.Data, now)
		return Stop
	}
	if pi.InPort >= ofproto.PortMax || isLinkLocalMulticast(f.dlDst) || f.dlType == etherIPv6 ||
		(f.dlType != etherIPv4 && f.dlType != etherARP) {
		d.c.stats.Dropped++
		return Stop
	}
	if d.c.guard.hit(pi.Data, now, d.c.cfg.FloodGuard) {
		d.c.stats.GuardDrops++
		return Stop
	}
	if !d.learn(x, f, sw.s.dpid, in, now) {
		return Stop
	}
	return Continue
}

func (d *discovery) lldp(x *Context, sw Switch, in uint16, data []byte, now time.Time) {
	src, port, err := topology.ParseLLDP(data)
	if err != nil {
		d.c.stats.Dropped++
		return
	}
	d.c.stats.LLDPReceived++
	l := topology.Link{SrcDPID: src, SrcPort: port, DstDPID: sw.s.dpid, DstPort: in}
	added, err := d.c.topo.AddLink(l, now)
	if err != nil {
		if !errors.Is(err, topology.ErrUnknownSwitch) {
			d.c.log.Debug("LLDP ignored", "link", l.String(), "err", err)
		}
		return
	}
	if added {
		d.c.stats.LinksAdded++
		d.c.log.Info("link up", "link", l.String())
		x.Emit(Event{Kind: LinkUp, DPID: sw.s.dpid, Time: now, Links: []topology.Link{l}})
		// Probe back at once, so that the other direction is known within a round
		// trip rather than at the next LLDP round. (A probe that only refreshes a known
		// link adds nothing, so this stops after one exchange.)
		if p, ok := sw.s.ports[ofproto.PortNo(in)]; ok {
			d.probePort(x, sw, p)
		}
	}
}

// learn learns the sender of a frame; it reports false when the frame must go no
// further (an answer to a probe of ours, or a frame of a host whose claimed move is
// being verified).
func (d *discovery) learn(x *Context, f *frame, dpid uint64, port uint16, now time.Time) bool {
	var ip netip.Addr
	switch f.dlType {
	case etherARP:
		if f.arpSHA != f.dlSrc {
			return true // a proxy's or a forger's ARP: the frame does not say where the sender is
		}
		ip = f.nwSrc
	case etherIPv4:
		ip = f.nwSrc
	}
	if ip.IsValid() && (ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255})) {
		ip = netip.Addr{}
	}
	v, old, known := d.verify(x, f, ip, Location{dpid, port}, now)
	switch v {
	case holdFrame:
		return false
	case skipLearn:
		return f.dlDst != probeMAC
	}
	r := d.c.topo.LearnHost(f.dlSrc, ip, dpid, port, now)
	if r != topology.LearnIgnored {
		d.seenRestored(f.dlSrc, Location{dpid, port})
	}
	switch r {
	case topology.LearnNew:
		d.c.log.Debug("host learned", "mac", f.dlSrc.String(), "ip", ip, "dpid", dpidString(dpid), "port", port)
	case topology.LearnMoved:
		// verify let it through: the old place is gone
		if known {
			d.moved(x, old, Location{dpid, port}, "old place gone", now)
		}
	}
	return f.dlDst != probeMAC
}
