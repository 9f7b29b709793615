package controller

import (
	"net/netip"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/topology"
)

// TrackerView is the read-only face of the controller's flow tracker: the flows the
// routing application installed, their cookies, paths and final counters, and the
// tracker's event stream. Only the controller records flows; a TrackerView cannot.
// Every method is safe for concurrent use and is the flowtracker.Tracker method of the
// same name. The zero TrackerView is not usable.
type TrackerView struct{ t *flowtracker.Tracker }

// Get returns flow id, active or retained after expiry.
func (v TrackerView) Get(id uint64) (flowtracker.Flow, bool) { return v.t.Get(id) }

// ByCookie returns the flow a cookie names.
func (v TrackerView) ByCookie(cookie uint64) (flowtracker.Flow, bool) { return v.t.ByCookie(cookie) }

// ByKey returns the active or draining flow with key k.
func (v TrackerView) ByKey(k flowtracker.Key) (flowtracker.Flow, bool) { return v.t.ByKey(k) }

// Resolve maps a stats entry or FLOW_REMOVED back to its flow: by cookie first, else by
// key among the active flows.
func (v TrackerView) Resolve(cookie uint64, k flowtracker.Key) (flowtracker.Handle, bool) {
	return v.t.Resolve(cookie, k)
}

// IDOf returns the flow ID a cookie of this tracker carries, without a lookup.
func (v TrackerView) IDOf(cookie uint64) (uint64, bool) { return v.t.IDOf(cookie) }

// Range calls fn for every active, draining and retained flow until fn returns false;
// the Flow passed to fn is reused (see flowtracker.Tracker.Range).
func (v TrackerView) Range(fn func(f flowtracker.Flow) bool) { v.t.Range(fn) }

// Snapshot returns a copy of every active, draining and retained flow, sorted by ID.
func (v TrackerView) Snapshot() []flowtracker.Flow { return v.t.Snapshot() }

// Len returns the number of active and draining flows.
func (v TrackerView) Len() int { return v.t.Len() }

// Stats returns the tracker's counters.
func (v TrackerView) Stats() flowtracker.Stats { return v.t.Stats() }

// Config returns the tracker's configuration.
func (v TrackerView) Config() flowtracker.Config { return v.t.Config() }

// Cookie returns the cookie of flow id.
func (v TrackerView) Cookie(id uint64) uint64 { return v.t.Cookie(id) }

// Subscribe returns a subscription to the tracker's flow events (arrivals, entry
// removals, expiries) with a channel of capacity buf; see flowtracker.Tracker.Subscribe.
func (v TrackerView) Subscribe(buf int) *flowtracker.Subscription { return v.t.Subscribe(buf) }

// NetworkView is the read-only face of the live topology the discovery application
// feeds: switches and their up ports, LLDP links, located hosts, shortest paths. Only
// the controller changes it. Every method is safe for concurrent use and is the
// topology.Network method of the same name. The zero NetworkView is not usable.
type NetworkView struct{ n *topology.Network }

// Version changes whenever the topology does.
func (v NetworkView) Version() uint64 { return v.n.Version() }

// Switches returns the switches, sorted.
func (v NetworkView) Switches() []uint64 { return v.n.Switches() }

// Ports returns the up ports of switch dpid, sorted.
func (v NetworkView) Ports(dpid uint64) []uint16 { return v.n.Ports(dpid) }

// Links returns every discovered link, one per direction, sorted.
func (v NetworkView) Links() []topology.Link { return v.n.Links() }

// IsTrunk reports whether a port is an end of a switch-to-switch link.
func (v NetworkView) IsTrunk(dpid uint64, port uint16) bool { return v.n.IsTrunk(dpid, port) }

// Host returns the located host with MAC mac.
func (v NetworkView) Host(mac [6]byte) (topology.Host, bool) { return v.n.Host(mac) }

// HostByIP returns the located host last seen with address ip.
func (v NetworkView) HostByIP(ip netip.Addr) (topology.Host, bool) { return v.n.HostByIP(ip) }

// Hosts returns every located host, sorted by MAC.
func (v NetworkView) Hosts() []topology.Host { return v.n.Hosts() }

// Path returns a minimum-hop path between two switches (see topology.Network.Path).
func (v NetworkView) Path(src, dst uint64) ([]topology.Hop, bool) { return v.n.Path(src, dst) }

// HostPath returns the path between two known hosts, host ports included.
func (v NetworkView) HostPath(srcMAC, dstMAC [6]byte) ([]topology.Hop, bool) {
	return v.n.HostPath(srcMAC, dstMAC)
}

// SpanningTree returns the BFS flooding tree over the discovered links.
func (v NetworkView) SpanningTree() []topology.Link { return v.n.SpanningTree() }

// FloodPorts returns the ports a frame entering dpid on inPort would be flooded to
// over the spanning tree.
func (v NetworkView) FloodPorts(dpid uint64, inPort uint16) []uint16 {
	return v.n.FloodPorts(dpid, inPort)
}

// Graph returns the discovered switches as a static Graph: node i is dpids[i].
func (v NetworkView) Graph() (*topology.Graph, []uint64) { return v.n.Graph() }
