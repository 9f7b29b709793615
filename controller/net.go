package controller

import (
	"sort"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/cemon-sdn/cemon/ofproto"
)

// NetStats counts what the built-in applications (Discovery and Routing) did.
type NetStats struct {
	PacketIns       uint64 // PACKET_INs received from connected switches
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

	HostMoves        uint64 // hosts moved to a new place (verified, or their old port gone)
	HostMovesRefused uint64 // move claims refused: the host answered at its old place
	HostsOnLinkPort  uint64 // frames not learned from: their port is or just was switch-to-switch
	BudgetDrops      uint64 // PACKET_INs stopped by the PACKET_IN budget
	BudgetBlocks     uint64 // drop entries the PACKET_IN budget installed
	BudgetDeferred   uint64 // heavy sources' PACKET_INs the reader handled after the others'
	BudgetDeferDrops uint64 // heavy sources' PACKET_INs dropped, their connection's deferred queue full
	ARPResolves      uint64 // ARP requests sent for unknown IPv4 destinations (each out of every edge port)

	FlowModsRefused uint64 // FLOW_MODs a switch refused (OFPET_FLOW_MOD_FAILED; a full table, say)
	FallbackStarts  uint64 // times a switch's table went into the fallback (host-pair entries for new flows)
	HostPairFlows   uint64 // host-pair aggregates installed (the fallback's entries)
	// TableFullDelivered counts packets delivered without installing anything: a
	// switch of their path had a full table.
	TableFullDelivered uint64
	// FlowsEvicted counts exact flows deleted from a full table to make room for an
	// aggregate: their host pair's aggregate carries their packets on.
	FlowsEvicted uint64
	// FlowsMidPath counts active flows deleted because a packet of theirs came in at
	// the real ingress while they started further on (installed from a packet in
	// flight): the next packet installs them over the whole path.
	FlowsMidPath uint64
}

// floodGuard remembers the frames Routing sent out itself (flooded or delivered to a
// host), by hash, for Config.FloodGuard: Discovery drops such a frame when it comes back
// through a switch-to-switch link not discovered yet, before it is learned from or
// flooded again.
type floodGuard struct {
	seen      map[uint64]time.Time
	lastSweep time.Time
}

// remember records a frame sent at now.
func (g *floodGuard) remember(data []byte, now time.Time) { g.seen[xxhash.Sum64(data)] = now }

// hit reports whether data is a frame remembered within window of now.
func (g *floodGuard) hit(data []byte, now time.Time, window time.Duration) bool {
	if len(g.seen) == 0 {
		return false
	}
	t, ok := g.seen[xxhash.Sum64(data)]
	return ok && now.Sub(t) <= window
}

// expire forgets frames older than window, at most once per window.
func (g *floodGuard) expire(now time.Time, window time.Duration) {
	if now.Sub(g.lastSweep) < window {
		return
	}
	g.lastSweep = now
	for h, t := range g.seen {
		if now.Sub(t) > window {
			delete(g.seen, h)
		}
	}
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
