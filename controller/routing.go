package controller

import (
	"encoding/binary"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// routing is the built-in Routing application: it forwards what Discovery let through
// (shortest-path installs for IPv4 flows, flooding, delivery to known hosts), records
// the flows in the tracker (core.tracker) and deletes the flows that lost a switch, a
// port or a link.
type routing struct {
	c         *core
	torn      map[uint64]time.Time     // flows whose entries were deleted mid-drain, by ID
	asked     map[netip.Addr]time.Time // unknown IPv4 destinations ARP was sent for, and when
	lastSweep time.Time
	// tornAt and tornSet are the flows tearDown deleted at tornAt: a port going down
	// comes with Discovery's LinkDown for its link at the same instant, and the
	// flows over it are deleted once.
	tornAt  time.Time
	tornSet map[uint64]struct{}
	// downs are the switches that went down whose flows are still being torn down,
	// oldest first (drainDowns).
	downs []uint64
	// hops is route's scratch path, reused from one new flow to the next (the core's
	// lock is held).
	hops []flowtracker.Hop
}

// outputFlowMod is a FLOW_MOD with its one output action, allocated together: one
// allocation instead of three for every FLOW_MOD of a new flow's path.
type outputFlowMod struct {
	fm   ofproto.FlowMod
	out  ofproto.OutputAction
	acts [1]ofproto.Action
}

// newOutputFlowMod returns a FLOW_MOD whose only action outputs to port; the caller
// fills in the rest. Its Actions slice has capacity 1: appending copies it.
func newOutputFlowMod(port ofproto.PortNo) *ofproto.FlowMod {
	a := &outputFlowMod{out: ofproto.OutputAction{Port: port}}
	a.acts[0] = &a.out
	a.fm.Actions = a.acts[:]
	return &a.fm
}

// outputPacketOut is a PACKET_OUT with its one output action, allocated together.
type outputPacketOut struct {
	po   ofproto.PacketOut
	out  ofproto.OutputAction
	acts [1]ofproto.Action
}

// newOutputPacketOut returns a PACKET_OUT whose only action outputs to port.
func newOutputPacketOut(port ofproto.PortNo) *ofproto.PacketOut {
	a := &outputPacketOut{out: ofproto.OutputAction{Port: port}}
	a.acts[0] = &a.out
	a.po.Actions = a.acts[:]
	return &a.po
}

var (
	_ App          = (*routing)(nil)
	_ EventHandler = (*routing)(nil)
)

func newRouting(c *core) *routing {
	return &routing{c: c, torn: make(map[uint64]time.Time), asked: make(map[netip.Addr]time.Time)}
}

func (n *routing) Name() string { return "routing" }

// SwitchUp finishes the teardown of a switch that comes back before its flows were all
// torn down: they are deleted (from it too) and gone from the tracker before it takes
// new flows.
func (n *routing) SwitchUp(x *Context, sw Switch, now time.Time) {
	if i := slices.Index(n.downs, sw.s.dpid); i >= 0 {
		n.downs = slices.Delete(n.downs, i, i+1)
		for more := true; more; {
			_, more = n.downStep(x, sw.s.dpid, 0, now)
		}
	}
}

// teardownBatch is how many flows through a switch that went down one step of its
// teardown handles (drainDowns): a few milliseconds of the core's time.
const teardownBatch = 1024

// SwitchDown deletes every flow through the switch from the other switches, so that
// its next packet takes a fresh path, and drops the switch's entries from the tracker,
// teardownBatch flows at a time: the first batch now, the rest in drainDowns steps
// (the Controller runs them right after, releasing its lock between steps; Tick runs
// one too). A flow still waiting is torn down at once when a packet of it comes in
// (route), so its deletes go out before it is installed again. Both visit only the
// flows through the switch (the tracker's switch index).
func (n *routing) SwitchDown(x *Context, sw Switch, now time.Time) {
	if !slices.Contains(n.downs, sw.s.dpid) {
		n.downs = append(n.downs, sw.s.dpid)
	}
	n.drainDowns(x, now, teardownBatch)
}

// drainDowns tears down at most budget flows through the switches that went down, the
// oldest switch first, and reports whether flows are left.
func (n *routing) drainDowns(x *Context, now time.Time, budget int) bool {
	for len(n.downs) > 0 && budget > 0 {
		done, more := n.downStep(x, n.downs[0], budget, now)
		budget -= done
		if !more {
			n.downs = n.downs[1:]
		}
	}
	if len(n.downs) == 0 {
		n.downs = nil
	}
	return len(n.downs) > 0
}

// downStep deletes, from the connected switches, the entries of at most max flows
// through switch dpid (all when max <= 0) and marks their entries on dpid gone in the
// tracker (RemoveSwitchBatch). It returns how many flows it handled and whether more
// remain on dpid.
func (n *routing) downStep(x *Context, dpid uint64, max int, now time.Time) (int, bool) {
	if !now.Equal(n.tornAt) {
		n.tornAt, n.tornSet = now, nil
	}
	dels := map[uint64][]ofproto.Message{}
	done, more := n.c.tracker.RemoveSwitchBatch(dpid, max, now, func(f flowtracker.Flow) {
		n.addDeletes(dels, &f)
	})
	n.sendDeletes(x, dels)
	return done, more
}

// pendingDown reports whether f still has a live entry on a switch whose teardown is
// under way.
func (n *routing) pendingDown(f *flowtracker.Flow) bool {
	for _, e := range f.Entries {
		if !e.Gone && slices.Contains(n.downs, e.DPID) {
			return true
		}
	}
	return false
}

// tearDownPending tears flow f down at once, ahead of its switch's teardown steps:
// its entries on the connected switches are deleted and its entries on the switches
// that went down are marked gone.
func (n *routing) tearDownPending(x *Context, f *flowtracker.Flow, now time.Time) {
	if !now.Equal(n.tornAt) {
		n.tornAt, n.tornSet = now, nil
	}
	dels := map[uint64][]ofproto.Message{}
	n.addDeletes(dels, f)
	n.sendDeletes(x, dels)
	for _, e := range f.Entries {
		if !e.Gone && slices.Contains(n.downs, e.DPID) {
			n.c.tracker.RemoveSwitchFlow(e.DPID, f.ID, now)
		}
	}
}

// PortStatus deletes the flows through a port that went down or away.
func (n *routing) PortStatus(x *Context, sw Switch, m *ofproto.PortStatus, now time.Time) {
	p := m.Desc
	if p.PortNo >= ofproto.PortMax || p.PortNo == 0 || (m.Reason != ofproto.PortDeleted && portUp(p)) {
		return
	}
	dpid, port := sw.s.dpid, uint16(p.PortNo)
	n.tearDown(x, now, func(fn func(flowtracker.Flow) bool) { n.c.tracker.RangePort(dpid, port, fn) }, nil)
}

// HandleEvent deletes the flows over links that went away (LinkDown) and those to
// and from a host that moved (HostMoved).
func (n *routing) HandleEvent(x *Context, ev Event) {
	if ev.Kind == HostMoved {
		mac := ev.Host.MAC
		n.tearDown(x, ev.Time, n.c.tracker.Range, func(f *flowtracker.Flow) bool { return f.Key.DLSrc == mac || f.Key.DLDst == mac })
		return
	}
	if ev.Kind != LinkDown || len(ev.Links) == 0 {
		return
	}
	ls := ev.Links
	n.tearDown(x, ev.Time, func(fn func(flowtracker.Flow) bool) {
		// A flow over several of the links is visited once per link; tearDown
		// deletes it once.
		for _, l := range ls {
			n.c.tracker.RangeLink(l.SrcDPID, l.SrcPort, l.DstDPID, l.DstPort, fn)
		}
	}, nil)
}

// Tick forgets the flows torn down mid-drain long enough ago.
func (n *routing) Tick(x *Context, now time.Time) {
	if !now.Equal(n.tornAt) {
		n.tornSet = nil // a later event's teardown is a new one
	}
	if len(n.downs) > 0 {
		n.drainDowns(x, now, teardownBatch)
	}
	if now.Sub(n.lastSweep) < n.c.cfg.FloodGuard {
		return
	}
	n.lastSweep = now
	for id, t := range n.torn {
		if now.Sub(t) >= retearAfter {
			delete(n.torn, id)
		}
	}
	for ip, t := range n.asked {
		if now.Sub(t) >= arpRetry {
			delete(n.asked, ip)
		}
	}
}

// PacketIn forwards what Discovery let through: routing, flooding or delivery.
func (n *routing) PacketIn(x *Context, sw Switch, pi *ofproto.PacketIn, now time.Time) Verdict {
	f, err := n.c.frameOf(pi)
	if err != nil {
		return Continue
	}
	s, in := sw.s, uint16(pi.InPort)
	if isMulticast(f.dlDst) {
		// An ARP request for a known host goes to that host only (a gratuitous one,
		// for the sender's own address, is flooded).
		if f.dlType == etherARP && f.nwProto == 1 && f.nwSrc != f.nwDst {
			if h, ok := n.c.topo.HostByIP(f.nwDst); ok && (h.DPID != s.dpid || h.Port != in) {
				n.deliver(x, pi, h, now)
				return Continue
			}
		}
		n.flood(x, pi, s.dpid, in, now)
		return Continue
	}
	dst, known := n.c.topo.Host(f.dlDst)
	if !known {
		n.flood(x, pi, s.dpid, in, now)
		if f.dlType == etherIPv4 {
			n.resolve(x, f, s.dpid, in, now)
		}
		return Continue
	}
	if dst.DPID == s.dpid && dst.Port == in {
		n.c.stats.Dropped++ // the destination is behind the port the frame came from
		return Continue
	}
	if f.dlType == etherIPv4 {
		n.route(x, s, pi, f, dst, now)
		return Continue
	}
	n.deliver(x, pi, dst, now)
	return Continue
}

// FlowRemoved records a FLOW_REMOVED in the tracker.
func (n *routing) FlowRemoved(_ *Context, sw Switch, m *ofproto.FlowRemoved, now time.Time) {
	s := sw.s
	n.c.noteEntryRemoved(s, m.Reason, now)
	key := flowkey.FromMatch(&m.Match)
	h, ok := n.c.tracker.Resolve(m.Cookie, key)
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
	if _, err := n.c.tracker.EntryRemoved(s.dpid, h.Cookie, c, flowtracker.Reason(m.Reason), now); err != nil {
		n.c.log.Debug("FLOW_REMOVED not recorded", "dpid", dpidString(s.dpid), "cookie", m.Cookie, "err", err)
	}
}

// retearAfter is how long tearDownOnce waits before deleting the same flow's entries
// again: the packets that raced the first deletes arrive well within it.
const retearAfter = time.Second

// tearDownOnce deletes the live entries of a draining flow whose path broke, unless
// it did so less than retearAfter ago. It reports whether it deleted them.
func (n *routing) tearDownOnce(x *Context, f *flowtracker.Flow, now time.Time) bool {
	if t, ok := n.torn[f.ID]; ok && now.Sub(t) < retearAfter {
		return false
	}
	n.torn[f.ID] = now
	n.c.stats.FlowsTornDown++
	n.c.log.Debug("draining flow's path broke; deleting its entries", "flow", f.ID, "cookie", f.Cookie)
	n.deleteLive(x, f)
	return true
}

// route installs a shortest path for an IPv4 flow towards a known host (one exact
// entry per switch, last switch first) and sends the packet on from the switch that
// asked. A packet of a flow already installed through this switch is only sent on.
func (n *routing) route(x *Context, s *session, pi *ofproto.PacketIn, f *frame, dst topology.Host, now time.Time) {
	m := exactMatch(f, pi.InPort)
	key := flowkey.FromMatch(&m)
	old, exists := n.c.tracker.ByKey(key)
	if exists && len(n.downs) > 0 && n.pendingDown(&old) {
		// Its switch's teardown has not reached it yet: its deletes go out first.
		n.tearDownPending(x, &old, now)
		old, exists = n.c.tracker.ByKey(key)
	}
	if exists {
		for i, e := range old.Entries {
			if e.DPID != s.dpid || e.InPort != uint16(pi.InPort) {
				continue
			}
			if !e.Gone {
				// The packet raced its entry's FLOW_MOD: send it on along the entry.
				n.c.stats.Forwarded++
				n.packetOut(x, s, pi, ofproto.PortNo(e.OutPort))
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
				n.tearDownOnce(x, &old, now)
				n.deliver(x, pi, dst, now)
				return
			}
		}
	}
	if !exists && n.c.cfg.Roles && n.c.topo.IsTrunk(s.dpid, uint16(pi.InPort)) {
		// Shared switches: a packet from another switch of a flow this controller does
		// not know is another controller's flow, whose entries here are on their way.
		// Installing it from mid-path would give the flow a second owner.
		n.deliver(x, pi, dst, now)
		return
	}
	// The hops live until the tracker copied them (AddGrain) and the FLOW_MODs are
	// built: a slice of the routing's, reused by every new flow.
	hops := n.hops[:0]
	if s.dpid == dst.DPID && n.c.topo.HasSwitch(s.dpid) {
		// Both hosts on this switch: its one hop, no path search.
		hops = append(hops, flowtracker.Hop{DPID: s.dpid})
	} else {
		path, ok := n.c.topo.Path(s.dpid, dst.DPID)
		if !ok {
			// No discovered path yet (links are still being probed, or the network is
			// split): deliver this packet directly and install nothing.
			n.deliver(x, pi, dst, now)
			return
		}
		for _, h := range path {
			hops = append(hops, flowtracker.Hop{DPID: h.DPID, InPort: h.InPort, OutPort: h.OutPort})
		}
	}
	n.hops = hops
	hops[0].InPort = uint16(pi.InPort)
	hops[len(hops)-1].OutPort = dst.Port
	for _, h := range hops {
		if _, ok := n.c.switches[h.DPID]; !ok {
			// The view knows a switch whose connection is gone: never install half a path.
			n.c.stats.Dropped++
			return
		}
	}
	// A switch of the path whose table is (nearly) full takes no more exact entries:
	// the flow goes by its host pair's aggregate entries instead.
	grain, fkey := flowtracker.GrainExact, key
	for _, hp := range hops {
		if n.c.tableFull(hp.DPID) && !n.makeRoom(x, hp.DPID, now) {
			// Not even an aggregate's entry fits: the packet goes straight to its
			// destination until entries expire.
			n.c.stats.TableFullDelivered++
			n.deliver(x, pi, dst, now)
			return
		}
		if n.c.inFallback(hp.DPID) {
			grain, fkey = flowtracker.GrainHostPair, hostPairKey(key)
		}
	}
	// A packet of the host pair's aggregate is handled by it where the aggregate
	// has an entry at this switch and port: where the fallback holds, and also for a
	// packet that came from another switch with no exact flow of its own, which the
	// aggregate carried upstream (it raced the aggregate's FLOW_MOD here, which an
	// exact flow installed from here would make it counted twice).
	if grain == flowtracker.GrainHostPair || (!exists && n.c.topo.IsTrunk(s.dpid, uint16(pi.InPort))) {
		if pf, ok := n.c.tracker.ByKeyGrain(hostPairKey(key), flowtracker.GrainHostPair); ok {
			for i, e := range pf.Entries {
				if e.DPID != s.dpid || e.InPort != uint16(pi.InPort) {
					continue
				}
				switch {
				case !e.Gone:
					// The packet raced the aggregate's FLOW_MOD, or its exact flow
					// lost an entry here (a refusal): the aggregate carries it from
					// now on, and what is left of the exact flow goes, so that no
					// switch further on counts its packets a second time.
					if exists && old.State != flowtracker.StateExpired {
						n.tearDownOnce(x, &old, now)
					}
					n.c.stats.Forwarded++
					n.packetOut(x, s, pi, ofproto.PortNo(e.OutPort))
					return
				case e.Refused:
					// Even the aggregate found no room here: what is left of it goes,
					// so that the pair's next packet tries again (a full table makes
					// room then, if it can); this one goes straight to its
					// destination.
					n.tearDownOnce(x, &pf, now)
					n.deliver(x, pi, dst, now)
					return
				case i > 0:
					n.tearDownOnce(x, &pf, now)
					n.deliver(x, pi, dst, now)
					return
				}
			}
		}
	}
	h, created, err := n.c.tracker.AddGrain(fkey, grain, hops, now)
	if err != nil {
		n.c.stats.TrackerFailures++
		n.c.log.Warn("tracker refused a flow", "key", fkey.String(), "err", err)
		return
	}
	if !created {
		// An active flow with this key takes another path (the host moved, say): send
		// the packet straight to its destination and leave the flow alone, unless the
		// flow starts in the middle of this packet's path.
		if cur, ok := n.c.tracker.ByKeyGrain(fkey, grain); ok && n.startsMidPath(&cur, s.dpid, uint16(pi.InPort)) {
			// It was installed from a switch that a packet in flight reached after
			// its predecessor's entries went (a full table's refusal, an eviction):
			// nothing upstream carries it, so every packet from the real ingress
			// would come here and go uncounted until it idles out. It goes (its
			// FLOW_REMOVEDs bring its counters) and the pair's next packet installs
			// it over the whole path.
			if n.tearDownOnce(x, &cur, now) {
				n.c.stats.FlowsMidPath++
			}
		}
		n.deliver(x, pi, dst, now)
		return
	}
	if exists && old.ID != h.ID {
		// A draining flow was superseded (or, where a table filled up, gives way to
		// its host pair's aggregate): the tracker counts its remaining entries gone.
		// The new flow's exact entries replace those on the same switch and in_port;
		// delete the others, so that every switch holds only entries the tracker
		// knows. (Their FLOW_REMOVED concerns an expired flow and changes nothing.)
		for _, e := range old.Entries {
			st, ok := n.c.switches[e.DPID]
			if e.Gone || !ok || (grain == flowtracker.GrainExact && slices.ContainsFunc(hops, func(hp flowtracker.Hop) bool {
				return hp.DPID == e.DPID && hp.InPort == e.InPort
			})) {
				continue
			}
			x.Send(Switch{st}, n.deleteEntry(old.Key, old.Grain, old.Cookie, e.InPort))
		}
	}
	n.c.stats.FlowsInstalled++
	idle := uint16(n.c.cfg.IdleTimeout / time.Second)
	hard := uint16(n.c.cfg.HardTimeout / time.Second)
	prio := n.c.cfg.FlowPriority
	if grain == flowtracker.GrainHostPair {
		n.c.stats.HostPairFlows++
		hard, prio = uint16(n.c.cfg.FallbackHold/time.Second), n.pairPriority()
	}
	// A packet the switch buffered is released by the ingress entry's FLOW_MOD, which
	// applies the entry's actions to it (one message instead of FLOW_MOD + PACKET_OUT),
	// unless the entry sends it back out of its in_port, which an output action does not
	// do: that packet goes out with a PACKET_OUT to OFPP_IN_PORT.
	release := pi.BufferID != ofproto.BufferNone && hops[0].OutPort != uint16(pi.InPort)
	for i := len(hops) - 1; i >= 0; i-- {
		hp := hops[i]
		buf := ofproto.BufferNone
		if i == 0 && release {
			buf = pi.BufferID
		}
		n.c.stats.FlowMods++
		st := n.c.switches[hp.DPID]
		fm := newOutputFlowMod(ofproto.PortNo(hp.OutPort))
		fm.Match, fm.Cookie = flowkey.ToMatchGrain(fkey, grain, ofproto.PortNo(hp.InPort)), h.Cookie
		fm.Command, fm.IdleTimeout, fm.HardTimeout, fm.Priority = ofproto.FlowAdd, idle, hard, prio
		fm.BufferID, fm.OutPort, fm.Flags = buf, ofproto.PortNone, ofproto.FlagSendFlowRem
		if x.Send(Switch{st}, fm) {
			n.c.noteFlowAdd(st, fm, now)
		}
	}
	if !release {
		n.packetOut(x, s, pi, ofproto.PortNo(hops[0].OutPort))
	}
}

// startsMidPath reports whether flow f's first entry takes its packets from another
// switch (a switch-to-switch port) while a packet of the same key came in at switch
// dpid's port in, an edge port that f's path does not hold: f was installed from the
// middle of the path that packet takes.
func (n *routing) startsMidPath(f *flowtracker.Flow, dpid uint64, in uint16) bool {
	if len(f.Entries) == 0 || n.c.topo.IsTrunk(dpid, in) {
		return false
	}
	first := f.Entries[0]
	if !n.c.topo.IsTrunk(first.DPID, first.InPort) {
		return false // it starts at an edge port: the host moved, say
	}
	return !slices.ContainsFunc(f.Entries, func(e flowtracker.Entry) bool { return e.DPID == dpid && e.InPort == in })
}

// entryRefused handles an exact flow that lost an entry to a refusal while it keeps
// others. If its host pair's aggregate is installed, the aggregate takes the flow's
// packets where its entry is missing and the flow's entries further on would count
// them a second time: what is left of the flow goes (its FLOW_REMOVEDs bring the
// counters), and its packets go by the aggregate. Otherwise it stays, polled where it
// is installed, until its packets come back as PACKET_INs.
func (n *routing) entryRefused(x *Context, cookie uint64, now time.Time) {
	f, ok := n.c.tracker.ByCookie(cookie)
	if !ok || f.State == flowtracker.StateExpired || f.Grain != flowtracker.GrainExact {
		return
	}
	if _, ok := n.c.tracker.ByKeyGrain(hostPairKey(f.Key), flowtracker.GrainHostPair); ok {
		n.tearDownOnce(x, &f, now)
	}
}

// makeRoom frees a place in switch dpid's full table for a host-pair aggregate: it
// deletes an exact flow through dpid whose own host pair's aggregate is installed
// along the same path, so that the flow's packets go on by the aggregate (and are
// counted there) without a PACKET_IN, and its final counters come with its
// FLOW_REMOVEDs. It reports whether it found such a flow; when it finds none, it
// does not look again for a second.
func (n *routing) makeRoom(x *Context, dpid uint64, now time.Time) bool {
	t := n.c.tables[dpid]
	if t == nil || now.Before(t.noRoomUntil) {
		return false
	}
	var victim flowtracker.Flow
	found := false
	n.c.tracker.RangeSwitch(dpid, func(f flowtracker.Flow) bool { // the flows with a live entry there
		if f.State == flowtracker.StateExpired || f.Grain != flowtracker.GrainExact {
			return true
		}
		at := slices.IndexFunc(f.Entries, func(e flowtracker.Entry) bool { return e.DPID == dpid && !e.Gone })
		if at < 0 {
			return true
		}
		pf, ok := n.c.tracker.ByKeyGrain(hostPairKey(f.Key), flowtracker.GrainHostPair)
		if !ok || len(pf.Entries) != len(f.Entries) {
			return true
		}
		for i, e := range f.Entries {
			pe := pf.Entries[i]
			if pe.DPID != e.DPID || pe.InPort != e.InPort || (pe.Gone && !e.Gone) {
				return true // the aggregate does not carry this flow everywhere
			}
		}
		victim, found = f.Clone(), true
		return false
	})
	if !found {
		t.noRoomUntil = now.Add(time.Second)
		return false
	}
	n.c.stats.FlowsEvicted++
	for _, e := range victim.Entries {
		if st, ok := n.c.switches[e.DPID]; ok && !e.Gone {
			x.Send(Switch{st}, n.deleteEntry(victim.Key, victim.Grain, victim.Cookie, e.InPort))
			n.c.table(e.DPID).evicting++
		}
	}
	n.c.log.Debug("full table: an exact flow gives way to its host pair's aggregate", "dpid", dpidString(dpid), "flow", victim.ID)
	return true
}

// packetOut sends a PACKET_IN's packet out of port on the switch it came from, from the
// switch's buffer when it has one.
func (n *routing) packetOut(x *Context, s *session, pi *ofproto.PacketIn, port ofproto.PortNo) {
	if port == pi.InPort {
		port = ofproto.PortInPort
	}
	po := newOutputPacketOut(port)
	po.BufferID, po.InPort = pi.BufferID, pi.InPort
	if pi.BufferID == ofproto.BufferNone {
		po.Data = pi.Data
	}
	x.Send(Switch{s}, po)
}

// flood delivers a frame out of every up edge port of every switch except the one it
// came in on. Flooded frames never cross a switch-to-switch link, so no topology can
// make them loop; a frame that comes back through a link not discovered yet is caught
// by the flood guard.
func (n *routing) flood(x *Context, pi *ofproto.PacketIn, inDPID uint64, inPort uint16, now time.Time) {
	n.c.stats.Flooded++
	n.c.guard.remember(pi.Data, now)
	for _, dpid := range n.c.topo.Switches() {
		st, ok := n.c.switches[dpid]
		if !ok {
			continue
		}
		var acts []ofproto.Action
		for _, p := range n.c.topo.Ports(dpid) {
			if (dpid == inDPID && p == inPort) || n.c.topo.IsTrunk(dpid, p) ||
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
		x.Send(Switch{st}, po)
	}
}

// deliver sends a frame straight out of a known host's port.
func (n *routing) deliver(x *Context, pi *ofproto.PacketIn, h topology.Host, now time.Time) {
	st, ok := n.c.switches[h.DPID]
	if !ok {
		n.c.stats.Dropped++
		return
	}
	n.c.stats.Delivered++
	n.c.guard.remember(pi.Data, now)
	po := newOutputPacketOut(ofproto.PortNo(h.Port))
	po.BufferID, po.InPort, po.Data = ofproto.BufferNone, ofproto.PortNone, pi.Data
	x.Send(Switch{st}, po)
}

// tearDown deletes, on every connected switch, the live entries of the active flows
// that flows visits and sel (if not nil) picks. The switches answer with FLOW_REMOVED
// (reason DELETE), which the tracker records with final counters. flows is the
// tracker's Range or one of its indexed walks (RangeSwitch, RangePort, RangeLink),
// and may visit a flow more than once. A flow torn down already at the same now (a
// port and its link going down together) is not deleted again.
func (n *routing) tearDown(x *Context, now time.Time, flows func(fn func(flowtracker.Flow) bool), sel func(f *flowtracker.Flow) bool) {
	dels := map[uint64][]ofproto.Message{} // by switch, each in the order the flows came
	if !now.Equal(n.tornAt) {
		n.tornAt, n.tornSet = now, nil
	}
	flows(func(f flowtracker.Flow) bool {
		if f.State == flowtracker.StateExpired || (sel != nil && !sel(&f)) {
			return true
		}
		n.addDeletes(dels, &f)
		return true
	})
	n.sendDeletes(x, dels)
}

// addDeletes adds to dels the deletes of f's live entries on the connected switches,
// unless f was torn down already at the same instant (tornSet).
func (n *routing) addDeletes(dels map[uint64][]ofproto.Message, f *flowtracker.Flow) {
	if n.tornSet == nil {
		n.tornSet = make(map[uint64]struct{})
	}
	if _, dup := n.tornSet[f.ID]; dup {
		return
	}
	n.tornSet[f.ID] = struct{}{}
	n.c.stats.FlowsTornDown++
	for _, e := range f.Entries {
		if e.Gone {
			continue
		}
		if _, ok := n.c.switches[e.DPID]; !ok {
			continue
		}
		dels[e.DPID] = append(dels[e.DPID], n.deleteEntry(f.Key, f.Grain, f.Cookie, e.InPort))
	}
}

// sendDeletes sends dels, switch by switch in dpid order.
func (n *routing) sendDeletes(x *Context, dels map[uint64][]ofproto.Message) {
	for _, d := range slices.Sorted(maps.Keys(dels)) {
		sw := Switch{n.c.switches[d]}
		for _, fm := range dels[d] {
			x.Send(sw, fm)
		}
	}
}

// deleteEntry is the FLOW_MOD that deletes exactly one entry of a flow of grain g: the
// switch answers with FLOW_REMOVED (reason DELETE) and the entry's final counters.
func (n *routing) deleteEntry(k flowtracker.Key, g flowtracker.Grain, cookie uint64, inPort uint16) *ofproto.FlowMod {
	prio := n.c.cfg.FlowPriority
	if g == flowtracker.GrainHostPair {
		prio = n.pairPriority()
	}
	return &ofproto.FlowMod{Match: flowkey.ToMatchGrain(k, g, ofproto.PortNo(inPort)), Cookie: cookie,
		Command: ofproto.FlowDeleteStrict, Priority: prio,
		BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone}
}

// pairPriority is the priority of host-pair entries: below the exact entries', so
// that a flow that has its own entry keeps being measured by it.
func (n *routing) pairPriority() uint16 { return max(n.c.cfg.FlowPriority-1, 1) }

// deleteLive deletes every entry of f that is still on a connected switch, in path
// order.
func (n *routing) deleteLive(x *Context, f *flowtracker.Flow) {
	for _, e := range f.Entries {
		if st, ok := n.c.switches[e.DPID]; ok && !e.Gone {
			x.Send(Switch{st}, n.deleteEntry(f.Key, f.Grain, f.Cookie, e.InPort))
		}
	}
}

// arpRetry is the spacing of the ARP requests resolve sends for one address.
const arpRetry = 250 * time.Millisecond

// resolve finds a host that only receives: an IPv4 frame towards a MAC the
// controller has not located is flooded (above), and an ARP request for its
// destination address, in the name of its sender, goes out of every edge port but
// the one it came in on. The host answers; Discovery learns it from the reply and
// the flow's next packet gets a path. At most one request per address every
// arpRetry, and none for an address whose host is known.
func (n *routing) resolve(x *Context, f *frame, inDPID uint64, inPort uint16, now time.Time) {
	if !f.nwDst.Is4() || !f.nwSrc.Is4() || f.nwDst.IsMulticast() || f.nwDst == netip.IPv4Unspecified() {
		return
	}
	if _, ok := n.c.topo.HostByIP(f.nwDst); ok {
		return
	}
	if t, ok := n.asked[f.nwDst]; ok && now.Sub(t) < arpRetry {
		return
	}
	n.asked[f.nwDst] = now
	n.c.stats.ARPResolves++
	arp := make([]byte, 42)
	for i := range 6 {
		arp[i] = 0xff
	}
	copy(arp[6:12], f.dlSrc[:])
	binary.BigEndian.PutUint16(arp[12:14], etherARP)
	binary.BigEndian.PutUint16(arp[14:16], 1)         // Ethernet
	binary.BigEndian.PutUint16(arp[16:18], etherIPv4) // IPv4
	arp[18], arp[19] = 6, 4
	binary.BigEndian.PutUint16(arp[20:22], 1) // request
	copy(arp[22:28], f.dlSrc[:])
	src, dst := f.nwSrc.As4(), f.nwDst.As4()
	copy(arp[28:32], src[:])
	copy(arp[38:42], dst[:])
	n.c.guard.remember(arp, now)
	for _, dpid := range n.c.topo.Switches() {
		st, ok := n.c.switches[dpid]
		if !ok {
			continue
		}
		var acts []ofproto.Action
		for _, p := range n.c.topo.Ports(dpid) {
			if (dpid == inDPID && p == inPort) || n.c.topo.IsTrunk(dpid, p) ||
				st.ports[ofproto.PortNo(p)].Config&ofproto.PortConfigNoFlood != 0 {
				continue
			}
			acts = append(acts, &ofproto.OutputAction{Port: ofproto.PortNo(p)})
		}
		if len(acts) > 0 {
			x.Send(Switch{st}, &ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: ofproto.PortNone, Actions: acts, Data: arp})
		}
	}
}
