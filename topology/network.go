package topology

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Errors returned by Network methods.
var (
	ErrUnknownSwitch = errors.New("topology: unknown switch")
	ErrBadPort       = errors.New("topology: bad port number")
	ErrBadLink       = errors.New("topology: link from a port to itself")
)

// MaxPort is the highest physical port number of OpenFlow 1.0 (OFPP_MAX); numbers above
// it are reserved ports (LOCAL, CONTROLLER, FLOOD...) and never appear in links, hosts
// or flood lists.
const MaxPort = 0xff00

// Link is a directed switch-to-switch link: frames sent out of SrcPort on SrcDPID arrive
// on DstPort of DstDPID (an LLDP frame built for SrcDPID/SrcPort was received there).
type Link struct {
	SrcDPID uint64
	SrcPort uint16
	DstDPID uint64
	DstPort uint16
}

// Reverse returns the link in the other direction.
func (l Link) Reverse() Link { return Link{l.DstDPID, l.DstPort, l.SrcDPID, l.SrcPort} }

func (l Link) String() string {
	return fmt.Sprintf("%016x/%d->%016x/%d", l.SrcDPID, l.SrcPort, l.DstDPID, l.DstPort)
}

func cmpLink(a, b Link) int {
	return cmp.Or(cmp.Compare(a.SrcDPID, b.SrcDPID), cmp.Compare(a.SrcPort, b.SrcPort),
		cmp.Compare(a.DstDPID, b.DstDPID), cmp.Compare(a.DstPort, b.DstPort))
}

// Host is an end host seen behind a switch port that is not switch-to-switch.
type Host struct {
	MAC      [6]byte
	IP       netip.Addr // last address seen in its ARP or IPv4 traffic; invalid if none yet
	DPID     uint64
	Port     uint16
	LastSeen time.Time
}

// HardwareAddr returns the MAC as a net.HardwareAddr.
func (h Host) HardwareAddr() net.HardwareAddr { return net.HardwareAddr(h.MAC[:]) }

// Hop is one switch of a path: traffic enters on InPort and leaves on OutPort.
type Hop struct {
	DPID    uint64
	InPort  uint16
	OutPort uint16
}

// Learn says what LearnHost did.
type Learn uint8

// LearnHost outcomes.
const (
	LearnIgnored   Learn = iota // switch-to-switch or reserved port, unknown switch, group MAC
	LearnNew                    // first sighting
	LearnMoved                  // seen at another port than before
	LearnRefreshed              // same place; LastSeen (and IP if given) updated
)

func (l Learn) String() string {
	switch l {
	case LearnIgnored:
		return "ignored"
	case LearnNew:
		return "new"
	case LearnMoved:
		return "moved"
	case LearnRefreshed:
		return "refreshed"
	}
	return fmt.Sprintf("learn(%d)", uint8(l))
}

type portKey struct {
	dpid uint64
	port uint16
}

// Network is the controller's live view of the network: switches and their ports,
// directed links learned from LLDP, host locations, and what follows from them (paths,
// the flooding tree). It is pure state: the caller feeds it events with the current time
// and asks questions. All methods are safe for concurrent use (one mutex).
//
// Version changes whenever switches, ports or links change, the inputs of Path,
// FloodPorts, SpanningTree and Graph, so callers may cache their answers per version.
// Host changes do not change the version.
type Network struct {
	mu       sync.Mutex
	switches map[uint64]map[uint16]bool // dpid -> port -> up
	links    map[Link]time.Time         // link -> last LLDP
	out      map[portKey]Link           // link leaving a port
	in       map[portKey]Link           // link arriving at a port
	hosts    map[[6]byte]*Host
	hostsAt  map[portKey]map[[6]byte]struct{} // hosts behind each port
	byIP     map[netip.Addr][6]byte
	version  uint64

	// Switches get dense slots for the path search: slot[dpid] indexes adj, and the
	// slots of departed switches are reused.
	slot  map[uint64]int32
	free  []int32
	nslot int32
	// dpidAt is the switch in each slot (the last one to hold it, for a free slot).
	dpidAt []uint64
	// adj holds the links out of each slot, sorted by (DstDPID, SrcPort, DstPort),
	// without self loops; kept up to date link by link.
	adj [][]arc
	// bfs caches the BFS from each source asked for by Path. A link change drops only
	// the trees it can change (see addLinkLocked and removeLinkLocked), so discovery
	// and flapping links elsewhere leave the other sources' answers in place.
	bfs      map[uint64]*bfsTree
	bfsQueue []int32 // the search's queue, reused

	derived *derived // flooding tree for version, built on demand
}

// arc is a link out of a switch with the slot of its far end.
type arc struct {
	l  Link
	to int32
}

// bfsTree is the BFS from one source, by slot: the hop count of every switch (-1 when
// unreachable; slots made after the search are unreachable) and the link used to reach
// it (zero for the source). 12 bytes a switch: a thousand trees of a thousand switches
// take 12 MB.
type bfsTree struct {
	dist []int32
	via  []step
}

// step is the link a BFS reached a switch by: the slot of its source switch and its
// ports (the destination is the switch itself).
type step struct {
	from             int32
	srcPort, dstPort uint16
}

func (t *bfsTree) distOf(s int32) int32 {
	if int(s) >= len(t.dist) {
		return -1
	}
	return t.dist[s]
}

// derived holds the flooding tree, computed from switches and links for one version.
type derived struct {
	version   uint64
	treePorts map[portKey]bool
	tree      []Link
}

// NewNetwork returns an empty network view.
func NewNetwork() *Network {
	return &Network{
		switches: map[uint64]map[uint16]bool{},
		links:    map[Link]time.Time{},
		out:      map[portKey]Link{},
		in:       map[portKey]Link{},
		hosts:    map[[6]byte]*Host{},
		hostsAt:  map[portKey]map[[6]byte]struct{}{},
		byIP:     map[netip.Addr][6]byte{},
		slot:     map[uint64]int32{},
		bfs:      map[uint64]*bfsTree{},
	}
}

func validPort(p uint16) bool { return p >= 1 && p <= MaxPort }

// Version returns a counter that changes whenever switches, ports or links change.
func (n *Network) Version() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.version
}

// AddSwitch records a switch that connected, with its ports (from its features reply),
// all up. Reserved numbers above MaxPort and port 0 are ignored. For a switch already
// known the port set is replaced, and links and hosts on ports it no longer has are
// removed; those links are returned.
func (n *Network) AddSwitch(dpid uint64, ports []uint16) []Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	set := map[uint16]bool{}
	for _, p := range ports {
		if validPort(p) {
			set[p] = true
		}
	}
	old, existed := n.switches[dpid]
	n.switches[dpid] = set
	if !existed {
		n.takeSlotLocked(dpid)
	}
	var removed []Link
	if existed {
		for p := range old {
			if !set[p] {
				removed = append(removed, n.dropPortLocked(dpid, p)...)
			}
		}
		if maps.Equal(old, set) && len(removed) == 0 {
			return nil
		}
	}
	n.version++
	slices.SortFunc(removed, cmpLink)
	return removed
}

// RemoveSwitch forgets a switch that disconnected, with its links in both directions and
// the hosts behind it, and returns the removed links.
func (n *Network) RemoveSwitch(dpid uint64) []Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	ports, ok := n.switches[dpid]
	if !ok {
		return nil
	}
	var removed []Link
	for p := range ports {
		removed = append(removed, n.dropPortLocked(dpid, p)...)
	}
	// Links may name ports the features reply did not list.
	for l := range n.links {
		if l.SrcDPID == dpid || l.DstDPID == dpid {
			n.removeLinkLocked(l)
			removed = append(removed, l)
		}
	}
	for mac, h := range n.hosts {
		if h.DPID == dpid {
			n.removeHostLocked(mac)
		}
	}
	delete(n.switches, dpid)
	delete(n.bfs, dpid)
	n.free = append(n.free, n.slot[dpid]) // no link or tree refers to it any more
	delete(n.slot, dpid)
	n.version++
	slices.SortFunc(removed, cmpLink)
	return removed
}

// dropPortLocked removes the links and hosts on one port and returns the links.
func (n *Network) dropPortLocked(dpid uint64, port uint16) []Link {
	var removed []Link
	pk := portKey{dpid, port}
	if l, ok := n.out[pk]; ok {
		n.removeLinkLocked(l)
		removed = append(removed, l)
	}
	if l, ok := n.in[pk]; ok {
		n.removeLinkLocked(l)
		removed = append(removed, l)
	}
	n.dropHostsAtLocked(pk)
	return removed
}

// dropHostsAtLocked forgets the hosts behind one port.
func (n *Network) dropHostsAtLocked(pk portKey) {
	for mac := range n.hostsAt[pk] {
		n.removeHostLocked(mac)
	}
}

// addLinkLocked records a new link in the link maps and the adjacency, and drops the
// cached BFS trees it can change. A tree from src changes only if the link leaves a
// switch u that src reaches toward a switch v that src does not reach in at most
// dist(u) hops: otherwise v is already found before u is expanded, and the BFS skips
// the new link.
func (n *Network) addLinkLocked(l Link, now time.Time) {
	n.links[l] = now
	n.out[portKey{l.SrcDPID, l.SrcPort}] = l
	n.in[portKey{l.DstDPID, l.DstPort}] = l
	if l.SrcDPID == l.DstDPID {
		return // a switch looped to itself: never on a path or in the tree
	}
	u, v := n.slot[l.SrcDPID], n.slot[l.DstDPID]
	a := n.adj[u]
	i, _ := slices.BinarySearchFunc(a, arc{l: l}, cmpArc)
	n.adj[u] = slices.Insert(a, i, arc{l, v})
	for src, t := range n.bfs {
		du := t.distOf(u)
		if du < 0 {
			continue
		}
		if dv := t.distOf(v); dv >= 0 && dv <= du {
			continue
		}
		delete(n.bfs, src)
	}
}

// takeSlotLocked gives a new switch a slot.
func (n *Network) takeSlotLocked(dpid uint64) {
	var s int32
	if k := len(n.free); k > 0 {
		s, n.free = n.free[k-1], n.free[:k-1]
	} else {
		s = n.nslot
		n.nslot++
		n.adj = append(n.adj, nil)
		n.dpidAt = append(n.dpidAt, 0)
	}
	n.slot[dpid] = s
	n.dpidAt[s] = dpid
}

// removeLinkLocked forgets a link (if known) and drops the cached BFS trees that used
// it. A tree that did not use the link is unchanged: the BFS only skipped it.
func (n *Network) removeLinkLocked(l Link) {
	if _, ok := n.links[l]; !ok {
		return
	}
	delete(n.links, l)
	if n.out[portKey{l.SrcDPID, l.SrcPort}] == l {
		delete(n.out, portKey{l.SrcDPID, l.SrcPort})
	}
	if n.in[portKey{l.DstDPID, l.DstPort}] == l {
		delete(n.in, portKey{l.DstDPID, l.DstPort})
	}
	if l.SrcDPID == l.DstDPID {
		return
	}
	u, v := n.slot[l.SrcDPID], n.slot[l.DstDPID]
	if i, found := slices.BinarySearchFunc(n.adj[u], arc{l: l}, cmpArc); found {
		n.adj[u] = slices.Delete(n.adj[u], i, i+1)
	}
	for src, t := range n.bfs {
		if t.distOf(v) > 0 && t.via[v] == (step{u, l.SrcPort, l.DstPort}) {
			delete(n.bfs, src)
		}
	}
}

func cmpArc(a, b arc) int { return cmpAdj(a.l, b.l) }

// cmpAdj orders the links out of one switch: by far end, then ports.
func cmpAdj(a, b Link) int {
	return cmp.Or(cmp.Compare(a.DstDPID, b.DstDPID), cmp.Compare(a.SrcPort, b.SrcPort), cmp.Compare(a.DstPort, b.DstPort))
}

func (n *Network) removeHostLocked(mac [6]byte) {
	h := n.hosts[mac]
	if h == nil {
		return
	}
	if h.IP.IsValid() && n.byIP[h.IP] == mac {
		delete(n.byIP, h.IP)
	}
	n.unindexHostLocked(h)
	delete(n.hosts, mac)
}

func (n *Network) indexHostLocked(h *Host) {
	pk := portKey{h.DPID, h.Port}
	set := n.hostsAt[pk]
	if set == nil {
		set = map[[6]byte]struct{}{}
		n.hostsAt[pk] = set
	}
	set[h.MAC] = struct{}{}
}

func (n *Network) unindexHostLocked(h *Host) {
	pk := portKey{h.DPID, h.Port}
	if set := n.hostsAt[pk]; set != nil {
		delete(set, h.MAC)
		if len(set) == 0 {
			delete(n.hostsAt, pk)
		}
	}
}

// PortUp marks a port up (port-status), adding it if the switch did not list it.
func (n *Network) PortUp(dpid uint64, port uint16) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ports, ok := n.switches[dpid]
	switch {
	case !ok:
		return fmt.Errorf("%w: %#x", ErrUnknownSwitch, dpid)
	case !validPort(port):
		return fmt.Errorf("%w: %d", ErrBadPort, port)
	}
	if up, known := ports[port]; !known || !up {
		ports[port] = true
		n.version++
	}
	return nil
}

// PortDown marks a port down (port-status: link down, or port deleted) and removes the
// links in both directions on it and the hosts behind it. It returns the removed links.
// Unknown switches and ports are ignored.
func (n *Network) PortDown(dpid uint64, port uint16) []Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	ports, ok := n.switches[dpid]
	if !ok {
		return nil
	}
	removed := n.dropPortLocked(dpid, port)
	if up, known := ports[port]; (known && up) || len(removed) > 0 {
		if known {
			ports[port] = false
		}
		n.version++
	}
	slices.SortFunc(removed, cmpLink)
	return removed
}

// AddLink records (or refreshes) a link learned from an LLDP frame, at time now. It
// reports whether the link is new. A port carries one link each way: a new link out of
// SrcPort or into DstPort replaces the old one there (the cabling changed). Hosts learned
// on either port are forgotten, since the port is switch-to-switch after all. Both
// switches must be known; ports must be in 1..MaxPort; a port cannot link to itself.
func (n *Network) AddLink(l Link, now time.Time) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case !validPort(l.SrcPort) || !validPort(l.DstPort):
		return false, fmt.Errorf("%w: link %v", ErrBadPort, l)
	case l.SrcDPID == l.DstDPID && l.SrcPort == l.DstPort:
		return false, fmt.Errorf("%w: %v", ErrBadLink, l)
	}
	for _, d := range [2]uint64{l.SrcDPID, l.DstDPID} {
		if _, ok := n.switches[d]; !ok {
			return false, fmt.Errorf("%w: %#x in link %v", ErrUnknownSwitch, d, l)
		}
	}
	if _, ok := n.links[l]; ok {
		n.links[l] = now
		return false, nil
	}
	src, dst := portKey{l.SrcDPID, l.SrcPort}, portKey{l.DstDPID, l.DstPort}
	if old, ok := n.out[src]; ok {
		n.removeLinkLocked(old)
	}
	if old, ok := n.in[dst]; ok {
		n.removeLinkLocked(old)
	}
	n.addLinkLocked(l, now)
	for _, pk := range [2]portKey{src, dst} {
		if _, known := n.switches[pk.dpid][pk.port]; !known {
			n.switches[pk.dpid][pk.port] = true
		}
		n.dropHostsAtLocked(pk)
	}
	n.version++
	return true, nil
}

// Expire removes the links whose last LLDP is more than timeout before now and returns
// them, sorted.
func (n *Network) Expire(now time.Time, timeout time.Duration) []Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	var removed []Link
	for l, seen := range n.links {
		if now.Sub(seen) > timeout {
			removed = append(removed, l)
		}
	}
	for _, l := range removed {
		n.removeLinkLocked(l)
	}
	if len(removed) > 0 {
		n.version++
	}
	slices.SortFunc(removed, cmpLink)
	return removed
}

// Links returns every link, sorted by source then destination.
func (n *Network) Links() []Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Link, 0, len(n.links))
	for l := range n.links {
		out = append(out, l)
	}
	slices.SortFunc(out, cmpLink)
	return out
}

// Switches returns the known DPIDs, sorted.
func (n *Network) Switches() []uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]uint64, 0, len(n.switches))
	for d := range n.switches {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// Ports returns a switch's ports that are up, sorted; nil for an unknown switch.
func (n *Network) Ports(dpid uint64) []uint16 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return upPorts(n.switches[dpid])
}

func upPorts(ports map[uint16]bool) []uint16 {
	var out []uint16
	for p, up := range ports {
		if up {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// IsTrunk reports whether a port is an end of a switch-to-switch link.
func (n *Network) IsTrunk(dpid uint64, port uint16) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.isTrunkLocked(portKey{dpid, port})
}

func (n *Network) isTrunkLocked(pk portKey) bool {
	_, o := n.out[pk]
	_, i := n.in[pk]
	return o || i
}

// LearnHost records that a frame from mac (with source address ip, if valid and not
// unspecified) entered switch dpid on port at time now, and says what changed. Frames
// on switch-to-switch ports, reserved ports or unknown switches, and group or all-zero
// MACs, are ignored. A host seen at a new place has moved. An address claimed by a new
// MAC is taken from the old one.
func (n *Network) LearnHost(mac [6]byte, ip netip.Addr, dpid uint64, port uint16, now time.Time) Learn {
	n.mu.Lock()
	defer n.mu.Unlock()
	if mac[0]&1 == 1 || mac == [6]byte{} || !validPort(port) {
		return LearnIgnored
	}
	if _, ok := n.switches[dpid]; !ok || n.isTrunkLocked(portKey{dpid, port}) {
		return LearnIgnored
	}
	result := LearnRefreshed
	h := n.hosts[mac]
	switch {
	case h == nil:
		h = &Host{MAC: mac, DPID: dpid, Port: port}
		n.hosts[mac] = h
		n.indexHostLocked(h)
		result = LearnNew
	case h.DPID != dpid || h.Port != port:
		n.unindexHostLocked(h)
		h.DPID, h.Port = dpid, port
		n.indexHostLocked(h)
		result = LearnMoved
	}
	h.LastSeen = now
	ip = ip.Unmap()
	if ip.IsValid() && !ip.IsUnspecified() && ip != h.IP {
		if other, ok := n.byIP[ip]; ok && other != mac {
			n.hosts[other].IP = netip.Addr{}
		}
		if h.IP.IsValid() && n.byIP[h.IP] == mac {
			delete(n.byIP, h.IP)
		}
		h.IP = ip
		n.byIP[ip] = mac
	}
	return result
}

// ForgetHost forgets the host with the given MAC, if it is known, and reports whether
// it was.
func (n *Network) ForgetHost(mac [6]byte) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.hosts[mac]
	n.removeHostLocked(mac)
	return ok
}

// ExpireHosts forgets hosts not seen for more than timeout before now and returns them,
// sorted by MAC.
func (n *Network) ExpireHosts(now time.Time, timeout time.Duration) []Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []Host
	for mac, h := range n.hosts {
		if now.Sub(h.LastSeen) > timeout {
			out = append(out, *h)
			n.removeHostLocked(mac)
		}
	}
	slices.SortFunc(out, func(a, b Host) int { return slices.Compare(a.MAC[:], b.MAC[:]) })
	return out
}

// Host returns the host with the given MAC.
func (n *Network) Host(mac [6]byte) (Host, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if h := n.hosts[mac]; h != nil {
		return *h, true
	}
	return Host{}, false
}

// HostByIP returns the host that last used address ip.
func (n *Network) HostByIP(ip netip.Addr) (Host, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if mac, ok := n.byIP[ip.Unmap()]; ok {
		return *n.hosts[mac], true
	}
	return Host{}, false
}

// Hosts returns every host, sorted by MAC.
func (n *Network) Hosts() []Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Host, 0, len(n.hosts))
	for _, h := range n.hosts {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b Host) int { return slices.Compare(a.MAC[:], b.MAC[:]) })
	return out
}

// derive returns the answers for the current version, building them if needed.
func (n *Network) derive() *derived {
	if d := n.derived; d != nil && d.version == n.version {
		return d
	}
	d := &derived{version: n.version, treePorts: map[portKey]bool{}}
	// Undirected edges for the tree: per switch pair, the link with the lowest ports
	// (oriented from the lower DPID).
	type pair struct{ a, b uint64 }
	edge := map[pair]Link{}
	for l := range n.links {
		if l.SrcDPID == l.DstDPID {
			continue // a switch looped to itself: never on a path or in the tree
		}
		o := l
		if o.SrcDPID > o.DstDPID {
			o = o.Reverse()
		}
		p := pair{o.SrcDPID, o.DstDPID}
		if cur, ok := edge[p]; !ok || cmpLink(o, cur) < 0 {
			edge[p] = o
		}
	}
	und := map[uint64][]Link{} // oriented away from the key
	for _, e := range edge {
		und[e.SrcDPID] = append(und[e.SrcDPID], e)
		und[e.DstDPID] = append(und[e.DstDPID], e.Reverse())
	}
	for s := range und {
		slices.SortFunc(und[s], func(a, b Link) int { return cmp.Compare(a.DstDPID, b.DstDPID) })
	}
	dpids := make([]uint64, 0, len(n.switches))
	for s := range n.switches {
		dpids = append(dpids, s)
	}
	slices.Sort(dpids)
	seen := map[uint64]bool{}
	for _, root := range dpids {
		if seen[root] {
			continue
		}
		seen[root] = true
		queue := []uint64{root}
		for h := 0; h < len(queue); h++ {
			for _, e := range und[queue[h]] {
				if seen[e.DstDPID] {
					continue
				}
				seen[e.DstDPID] = true
				queue = append(queue, e.DstDPID)
				d.treePorts[portKey{e.SrcDPID, e.SrcPort}] = true
				d.treePorts[portKey{e.DstDPID, e.DstPort}] = true
				if e.SrcDPID > e.DstDPID {
					e = e.Reverse()
				}
				d.tree = append(d.tree, e)
			}
		}
	}
	slices.SortFunc(d.tree, cmpLink)
	n.derived = d
	return d
}

// SpanningTree returns the flooding tree: one link per tree edge, oriented from the lower
// DPID, sorted. It is a BFS tree from the lowest DPID of each connected part (a forest if
// the network is split), over switch pairs joined by a link in either direction, taking
// the lowest-numbered link between a pair and visiting neighbours in DPID order.
func (n *Network) SpanningTree() []Link {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.derive().tree)
}

// FloodPorts returns the ports a frame that entered dpid on inPort should be flooded to,
// sorted: every up port that is not switch-to-switch, plus the ports on the spanning
// tree, minus inPort. Switch-to-switch ports off the tree are left out, so flooding never
// loops. nil for an unknown switch.
func (n *Network) FloodPorts(dpid uint64, inPort uint16) []uint16 {
	n.mu.Lock()
	defer n.mu.Unlock()
	ports, ok := n.switches[dpid]
	if !ok {
		return nil
	}
	d := n.derive()
	var out []uint16
	for _, p := range upPorts(ports) {
		pk := portKey{dpid, p}
		if p != inPort && (d.treePorts[pk] || !n.isTrunkLocked(pk)) {
			out = append(out, p)
		}
	}
	return out
}

// Path returns a minimum-hop path from switch src to switch dst over the directed links,
// as hops with ports: hop i leaves on the link to hop i+1. The first hop's InPort and the
// last hop's OutPort are 0 (the caller's, e.g. the hosts' ports; HostPath fills them).
// Ties go to the lower next DPID, then the lower port, so the answer is deterministic.
// src == dst gives one hop. ok is false if either switch is unknown or dst unreachable.
func (n *Network) Path(src, dst uint64) ([]Hop, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pathLocked(src, dst)
}

func (n *Network) pathLocked(src, dst uint64) ([]Hop, bool) {
	_, okS := n.switches[src]
	_, okD := n.switches[dst]
	if !okS || !okD {
		return nil, false
	}
	if src == dst {
		return []Hop{{DPID: src}}, true
	}
	t := n.bfsLocked(src)
	cur := n.slot[dst]
	d := t.distOf(cur)
	if d < 0 {
		return nil, false
	}
	hops := make([]Hop, d+1)
	for i := int(d); i >= 0; i-- {
		hops[i].DPID = n.dpidAt[cur]
		if i > 0 {
			via := t.via[cur]
			hops[i].InPort = via.dstPort
			hops[i-1].OutPort = via.srcPort
			cur = via.from
		}
	}
	return hops, true
}

// bfsLocked returns the cached BFS from src, running it if needed. Neighbours are
// expanded in adjacency order, so ties go to the lower next DPID, then the lower port.
func (n *Network) bfsLocked(src uint64) *bfsTree {
	if t := n.bfs[src]; t != nil {
		return t
	}
	t := &bfsTree{dist: make([]int32, n.nslot), via: make([]step, n.nslot)}
	for i := range t.dist {
		t.dist[i] = -1
	}
	s := n.slot[src]
	t.dist[s] = 0
	queue := append(n.bfsQueue[:0], s)
	for h := 0; h < len(queue); h++ {
		u := queue[h]
		du := t.dist[u]
		for _, a := range n.adj[u] {
			if t.dist[a.to] >= 0 {
				continue
			}
			t.dist[a.to] = du + 1
			t.via[a.to] = step{u, a.l.SrcPort, a.l.DstPort}
			queue = append(queue, a.to)
		}
	}
	n.bfs[src], n.bfsQueue = t, queue
	return t
}

// HostPath returns the path between two known hosts, from the source host's port to the
// destination host's port.
func (n *Network) HostPath(srcMAC, dstMAC [6]byte) ([]Hop, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s, d := n.hosts[srcMAC], n.hosts[dstMAC]
	if s == nil || d == nil {
		return nil, false
	}
	path, ok := n.pathLocked(s.DPID, d.DPID)
	if !ok {
		return nil, false
	}
	path[0].InPort = s.Port
	path[len(path)-1].OutPort = d.Port
	return path, true
}

// Graph returns the discovered switches as a static Graph: node i is dpids[i] (sorted
// ascending), named by its DPID in 16 hex digits, with an edge where a link runs in
// either direction.
func (n *Network) Graph() (*Graph, []uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	dpids := make([]uint64, 0, len(n.switches))
	for s := range n.switches {
		dpids = append(dpids, s)
	}
	slices.Sort(dpids)
	g := NewGraph()
	index := make(map[uint64]int, len(dpids))
	for _, s := range dpids {
		index[s] = g.AddNode(fmt.Sprintf("%016x", s))
	}
	for l := range n.links {
		if l.SrcDPID != l.DstDPID {
			_ = g.AddEdge(index[l.SrcDPID], index[l.DstDPID]) // both known: links need known switches
		}
	}
	return g, dpids
}
