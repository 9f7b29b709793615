package controller

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// Host-location verification, in the manner of TopoGuard (Hong et al., "Poisoning
// Network Visibility in Software-Defined Networks", NDSS 2015): a host known at one
// place and seen at another moves only when the move is plausible. When its old port
// went down or its switch left, the host was forgotten with them and is simply
// learned at the new place. Otherwise the controller sends an ARP probe to the old
// place (PACKET_OUT out of the old port, sender probeMAC, sender address 0.0.0.0, as
// an RFC 5227 probe, so that the host answers without caching anything) and moves the
// host only if no frame of the host arrives there within Config.MoveProbe; a frame
// from the old place in the meantime refuses the move. Frames of the host from the
// claimed place wait (they are dropped) until the claim is settled. A port that is,
// or within Config.LinkPortMemory was, one end of a switch-to-switch link never
// becomes a host's place: a switch that flaps still forwards frames from its
// neighbours there.

// probeMAC is the Ethernet source of the controller's ARP probes (locally
// administered, unicast). Answers to it are learned from and go no further.
var probeMAC = ofproto.MAC{0x02, 0xce, 0x4d, 0x00, 0x00, 0x01}

// moveClaim is a host seen at a new place while its old place is still up.
type moveClaim struct {
	ip       netip.Addr
	from, to Location
	until    time.Time
}

// RestoredHostConfirm is how long a host restored from saved state stays at its saved
// place without being seen there. A restored place is provisional: the controller
// sends the host an ARP probe there at once and again halfway; the first frame of the
// host at that place confirms it, a frame from elsewhere is a claimed move like any
// other (verified at the restored place), and a host not seen by the end is
// forgotten until it speaks again (traffic to it is then resolved by ARP).
const RestoredHostConfirm = 2 * time.Second

// restoredHost is a host put back from saved state, not yet seen at its place.
type restoredHost struct {
	at     Location
	ip     netip.Addr
	until  time.Time
	probed int // probes sent
}

// verdict is what verify decides about a frame's sender.
type verdict uint8

const (
	learnFrom verdict = iota // learn the sender from it
	skipLearn                // pass the frame on, learn nothing
	holdFrame                // drop the frame: its sender's place is being verified
)

// rememberLink records that both ends of l stopped being a link at now.
func (d *discovery) rememberLink(l topology.Link, now time.Time) {
	if d.wasLink == nil {
		d.wasLink = make(map[Location]time.Time)
	}
	d.wasLink[Location{l.SrcDPID, l.SrcPort}] = now
	d.wasLink[Location{l.DstDPID, l.DstPort}] = now
}

// verify decides whether the sender of f (address ip), seen at place at, may be
// learned there.
// It returns the host as known before this frame, if it was.
func (d *discovery) verify(x *Context, f *frame, ip netip.Addr, at Location, now time.Time) (verdict, topology.Host, bool) {
	if t, ok := d.wasLink[at]; ok && now.Sub(t) < d.c.cfg.LinkPortMemory {
		d.c.stats.HostsOnLinkPort++
		return skipLearn, topology.Host{}, false
	}
	h, known := d.c.topo.Host(f.dlSrc)
	if !known {
		return learnFrom, h, false // LearnHost ignores a switch-to-switch port itself
	}
	from := Location{h.DPID, h.Port}
	if from != at && d.c.topo.IsTrunk(at.DPID, at.Port) {
		return skipLearn, h, true // a frame in transit: it says nothing of where its sender is
	}
	if from == at {
		if cl := d.claims[f.dlSrc]; cl != nil {
			delete(d.claims, f.dlSrc)
			d.c.stats.HostMovesRefused++
			d.c.log.Warn("host move refused: the host answers at its old place", "mac", f.dlSrc.String(),
				"ip", h.IP, "at", from.String(), "claimed", cl.to.String())
		}
		return learnFrom, h, true
	}
	if s, up := d.c.switches[from.DPID]; !up || s.state != stateUp {
		return learnFrom, h, true // the old place is gone: the move is plausible
	}
	if d.claims[f.dlSrc] != nil {
		return holdFrame, h, true
	}
	if d.claims == nil {
		d.claims = make(map[[6]byte]*moveClaim)
	}
	d.claims[f.dlSrc] = &moveClaim{ip: ip, from: from, to: at, until: now.Add(d.c.cfg.MoveProbe)}
	target := h.IP
	if !target.IsValid() {
		target = ip
	}
	if sw, ok := x.Switch(from.DPID); ok && target.Is4() {
		x.Send(sw, &ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: ofproto.PortNone,
			Actions: []ofproto.Action{&ofproto.OutputAction{Port: ofproto.PortNo(from.Port)}},
			Data:    arpProbe(f.dlSrc, target)})
	}
	d.c.log.Info("host seen at a new place: verifying at the old one", "mac", f.dlSrc.String(), "ip", h.IP,
		"from", from.String(), "to", at.String())
	return holdFrame, h, true
}

// restoreHost puts a host an earlier run saved back at its saved place, provisionally
// (RestoredHostConfirm), and probes it there. A host already known (learned from a
// frame since the restart) keeps its place, and no host is put on a port that is or
// just was a switch-to-switch link. It reports whether the host was put back.
func (d *discovery) restoreHost(x *Context, h topology.Host, now time.Time) bool {
	at := Location{h.DPID, h.Port}
	if t, ok := d.wasLink[at]; ok && now.Sub(t) < d.c.cfg.LinkPortMemory {
		return false
	}
	if _, known := d.c.topo.Host(h.MAC); known {
		return false
	}
	if d.c.topo.LearnHost(h.MAC, h.IP, h.DPID, h.Port, now) == topology.LearnIgnored {
		return false
	}
	if d.restored == nil {
		d.restored = make(map[[6]byte]*restoredHost)
	}
	r := &restoredHost{at: at, ip: h.IP, until: now.Add(RestoredHostConfirm)}
	d.restored[h.MAC] = r
	d.probeRestored(x, h.MAC, r)
	return true
}

// probeRestored sends a restored host an ARP probe at its saved place.
func (d *discovery) probeRestored(x *Context, mac [6]byte, r *restoredHost) {
	r.probed++
	if sw, ok := x.Switch(r.at.DPID); ok && r.ip.Is4() {
		x.Send(sw, &ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: ofproto.PortNone,
			Actions: []ofproto.Action{&ofproto.OutputAction{Port: ofproto.PortNo(r.at.Port)}},
			Data:    arpProbe(mac, r.ip)})
	}
}

// seenRestored settles a restored host's place once a frame of it was learned at
// place at: confirmed when that is its restored place.
func (d *discovery) seenRestored(mac [6]byte, at Location) {
	r := d.restored[mac]
	if r == nil {
		return
	}
	delete(d.restored, mac)
	if r.at == at && d.c.adopt != nil {
		d.c.adopt.stats.HostsConfirmed++
	}
}

// tickRestored probes again, halfway, the restored hosts not yet seen, and forgets
// those whose time is up.
func (d *discovery) tickRestored(x *Context, now time.Time) {
	var due [][6]byte
	for mac, r := range d.restored {
		switch {
		case !now.Before(r.until):
			due = append(due, mac)
		case r.probed == 1 && !now.Before(r.until.Add(-RestoredHostConfirm/2)):
			d.probeRestored(x, mac, r)
		}
	}
	slices.SortFunc(due, func(a, b [6]byte) int { return bytes.Compare(a[:], b[:]) })
	for _, mac := range due {
		r := d.restored[mac]
		delete(d.restored, mac)
		h, ok := d.c.topo.Host(mac)
		if !ok || (Location{h.DPID, h.Port}) != r.at || d.claims[mac] != nil {
			continue // moved or forgotten meanwhile, or a claim settles it
		}
		d.c.topo.ForgetHost(mac)
		if d.c.adopt != nil {
			d.c.adopt.stats.HostsForgotten++
		}
		d.c.log.Info("restored host not seen at its saved place; forgotten until it is seen",
			"mac", ofproto.MAC(mac).String(), "ip", h.IP, "at", r.at.String(), "probes", r.probed)
	}
}

// tickGuard settles the claims whose probe went unanswered, and forgets the link
// ports remembered for longer than Config.LinkPortMemory.
func (d *discovery) tickGuard(x *Context, now time.Time) {
	d.tickRestored(x, now)
	var due [][6]byte
	for mac, cl := range d.claims {
		if !now.Before(cl.until) {
			due = append(due, mac)
		}
	}
	slices.SortFunc(due, func(a, b [6]byte) int { return bytes.Compare(a[:], b[:]) })
	for _, mac := range due {
		cl := d.claims[mac]
		delete(d.claims, mac)
		h, ok := d.c.topo.Host(mac)
		if !ok || (Location{h.DPID, h.Port}) != cl.from {
			continue // forgotten or moved meanwhile: its next frame is learned afresh
		}
		if d.c.topo.LearnHost(mac, cl.ip, cl.to.DPID, cl.to.Port, now) == topology.LearnMoved {
			d.seenRestored(mac, cl.to)
			d.moved(x, h, cl.to, "no answer at the old place", now)
		}
	}
	for at, t := range d.wasLink {
		if now.Sub(t) >= d.c.cfg.LinkPortMemory {
			delete(d.wasLink, at)
		}
	}
}

// moved logs and counts a host's move from old's place to to, and tells the other
// applications (HostMoved: Routing deletes the flows to and from it).
func (d *discovery) moved(x *Context, old topology.Host, to Location, why string, now time.Time) {
	from := Location{old.DPID, old.Port}
	d.c.stats.HostMoves++
	h, _ := d.c.topo.Host(old.MAC)
	d.c.log.Info("host moved", "mac", ofproto.MAC(old.MAC).String(), "ip", h.IP, "from", from.String(),
		"to", to.String(), "reason", why)
	x.Emit(Event{Kind: HostMoved, DPID: to.DPID, Time: now, Host: h, From: from})
}

// arpProbe builds an ARP request for ip, sent to mac from probeMAC with sender
// address 0.0.0.0 (an RFC 5227 probe: the host answers and caches nothing).
func arpProbe(mac [6]byte, ip netip.Addr) []byte {
	b := make([]byte, 42)
	copy(b[0:6], mac[:])
	copy(b[6:12], probeMAC[:])
	binary.BigEndian.PutUint16(b[12:14], etherARP)
	p := b[14:]
	binary.BigEndian.PutUint16(p[0:2], 1)
	binary.BigEndian.PutUint16(p[2:4], etherIPv4)
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:8], 1)
	copy(p[8:14], probeMAC[:])
	a := ip.As4()
	copy(p[24:28], a[:])
	return b
}
