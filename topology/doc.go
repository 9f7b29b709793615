// Package topology owns cemon's view of the network as a graph: a static undirected
// Graph of switches (hop counts, shortest paths, connectivity), readers and generators
// for the graphs the evaluation uses (Internet Topology Zoo GML files, Erdős–Rényi,
// Waxman, k-ary fat-tree, lines and rings), and the live Network the controller builds
// from discovery: switches and ports by DPID, directed links learned from LLDP, host
// locations learned from ARP and IPv4, switch-to-switch paths with ports, and a
// loop-free flooding tree.
//
// The package is pure: it does no I/O and reads no clock. Callers pass file contents to
// ParseGML, a seeded *rand.Rand (math/rand/v2) to the generators, and the current time
// to the Network's methods. The controller owns the sockets, sends the LLDP frames
// BuildLLDP makes and hands received ones to ParseLLDP.
//
// Example:
//
//	g, err := topology.ParseSpec("waxman:50:0.4:0.2", rand.New(rand.NewPCG(1, 2)))
//	if err != nil { ... }
//	hops := g.AllPairsHops()      // hops[s][t], -1 if unreachable
//	path := g.ShortestPath(0, 7)  // nodes 0..7, deterministic
//
// The controller drives a Network from OpenFlow events:
//
//	nw := topology.NewNetwork()
//	nw.AddSwitch(dpid, ports)                        // features reply
//	frame := topology.BuildLLDP(dpid, port, mac)     // PACKET_OUT on each port
//	src, sport, err := topology.ParseLLDP(pktIn.Data) // PACKET_IN on (dpid, inPort)
//	nw.AddLink(topology.Link{src, sport, dpid, inPort}, now)
//	nw.LearnHost(ethSrc, ipSrc, dpid, inPort, now)    // other PACKET_INs
//	hops, ok := nw.HostPath(ethSrc, ethDst)          // install one entry per hop
//	ports := nw.FloodPorts(dpid, inPort)             // unknown destination
//	nw.Expire(now, 3*lldpInterval)                   // on a timer
package topology
