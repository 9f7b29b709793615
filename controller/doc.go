// Package controller is cemon's OpenFlow 1.0 controller core: it accepts switch
// connections (TCP, or TLS through a tls.Listener), runs the handshake and the echo
// keepalive, matches requests to replies by xid, and hands every switch event to a
// list of applications. Its two built-in applications discover the topology with LLDP,
// learn hosts from ARP and IPv4, install a shortest path for every new IPv4 flow and
// track every installed flow in a flowtracker.Tracker. It hands events, read-only
// views and traffic counters to the rest of cemon.
//
// It owns the sockets, the application interface and the forwarding decisions. It does
// not own the wire format (package ofproto), the graph algorithms (package topology),
// the flow records (package flowtracker), the codec between flow keys and matches
// (package flowkey), statistics collection (the collector uses Request) or the REST
// server (package api; cmd/cemon adapts a Controller to api.Backend).
//
// # Structure
//
// A deterministic core with I/O at the edge. The core takes one input at a time (a
// decoded message of one connection, a timer tick, a closed connection) together with
// the current time, and returns effects: messages to send, events to publish and
// connections to close. It reads no clock, starts no goroutine and touches no socket,
// so tests drive it message by message (see the scenario files in testdata). The edge
// (Controller.Serve) runs one reader and one writer goroutine per connection and one
// ticker, and serialises calls into the core under one lock.
//
// # Backpressure
//
// A connection's reader writes its own replies before it reads again (one batched
// write for everything queued; the writer goroutine writes what other goroutines
// queue). When the queue holds Config.SendQueue messages, the reader waits for the
// switch to take them: the controller stops reading from a switch that does not read,
// and TCP slows the switch down. A bursting switch is never disconnected for that;
// only one that reads nothing for Config.StallTimeout is (ErrStalled), and ECHO
// keepalives are not counted against a switch while the controller waits on it.
//
// # Applications
//
// The core runs the connections itself (handshake, keepalive, replies to requests)
// and hands every other switch event to the applications of Config.Apps, in order:
// SwitchUp, SwitchDown, PacketIn, FlowRemoved, PortStatus and Tick, each with the
// current time and a *Context. An application is deterministic in the same way as the
// core: it answers by leaving effects on the Context (Context.Send queues a message for
// a switch, Context.Emit publishes an event and hands it at once to the other
// applications that implement EventHandler) and never does I/O or reads a clock. A
// PacketIn handler returns Stop to keep the packet from the applications after it.
// Applications read the controller through the Context: the connected switches and
// their ports, Network and Tracker (read-only views), Config.
//
// Config.Apps defaults to DefaultApps: Discovery, then Routing (the built-ins, below).
// Discovery emits LinkUp and LinkDown; Routing deletes the flows over a link that went
// down when it gets LinkDown. To add an application, list the built-ins too, where it
// belongs. A filter that stops PACKET_INs over a budget goes before Routing, an
// observer after it:
//
//	// budget lets each switch send at most Max IPv4 PACKET_INs per tick to Routing.
//	type budget struct {
//		controller.BaseApp // every event but the ones below: nothing to do
//		Max  int
//		used map[uint64]int
//	}
//
//	func (b *budget) Name() string { return "budget" }
//
//	func (b *budget) PacketIn(x *controller.Context, sw controller.Switch, m *ofproto.PacketIn, now time.Time) controller.Verdict {
//		if b.used[sw.DPID()] >= b.Max {
//			return controller.Stop // Routing never sees it: nothing installed
//		}
//		b.used[sw.DPID()]++
//		return controller.Continue
//	}
//
//	func (b *budget) Tick(x *controller.Context, now time.Time) { clear(b.used) }
//
//	c := controller.New(controller.Config{Apps: []controller.App{
//		controller.Discovery, &budget{Max: 100, used: map[uint64]int{}}, controller.Routing,
//	}}, logger)
//
// # Buffers
//
// The reader decodes PACKET_IN and FLOW_REMOVED in place (ofproto's DecodeFromBytes):
// the message the core receives points into the read buffer and is valid only during
// the call, so the core copies what it keeps, PACKET_OUT data that still points into
// the buffer is copied before the writer encodes it, and subscribers get copies of
// their events. An OFPST_FLOW reply is walked with ofproto.FlowStatsIter and copied
// once, into a few slices, for the request it answers.
//
// # Connections
//
//   - Handshake: both sides send HELLO; then FEATURES_REQUEST, and on FEATURES_REPLY a
//     SET_CONFIG (miss_send_len Config.MissSendLen, 0xffff by default) and a FLOW_MOD
//     that deletes every entry, so the table holds only what the tracker knows. The
//     switch is then up (event SwitchUp). After Restore, until the adoption window
//     closes, the table is read instead (see Restarts below). A HELLO of a later version is answered in
//     1.0, as version negotiation prescribes, unless its version bitmap leaves 1.0 out;
//     a HELLO of an earlier version, or one whose bitmap excludes 1.0, gets
//     OFPT_ERROR HELLO_FAILED/INCOMPATIBLE and the connection closes. Any other message
//     of another version gets BAD_REQUEST/BAD_VERSION and closes the connection.
//   - A message that does not decode gets an OFPT_ERROR (BAD_REQUEST with the
//     offending bytes) and closes that connection only; a framing error (a length below
//     8) closes it at once.
//   - Keepalive: a connection silent for Config.EchoInterval gets an ECHO_REQUEST, and
//     further ones at that spacing; after Config.EchoMissed unanswered ones it is
//     closed. Switch ECHO_REQUESTs are answered at once. A handshake not done within
//     Config.HandshakeTimeout closes the connection.
//   - A second connection from the same datapath id replaces the first.
//   - Teardown: when a switch leaves, its pending requests fail with ErrDisconnected,
//     its links and hosts go, every flow through it is deleted from the other switches
//     (their FLOW_REMOVED answers give the tracker final counters) and the tracker drops
//     its entries (flowtracker.ReasonSwitchLeft). PORT_STATUS with a port down or
//     deleted does the same for that port.
//
// # Discovery and Routing
//
// Discovery feeds the live view, a topology.Network: switches and their up ports,
// directed links, host locations and shortest paths with ports all live there, and
// Controller.Network hands a read-only view of it to the rest of cemon. Routing reads it,
// and records the flows it installs in the tracker (Controller.Tracker, read-only).
//
//   - LLDP probes (topology.BuildLLDP: chassis "dpid:<16 hex digits>", port ID the port
//     number) go out of every up port when a switch comes up, when a port comes up and
//     every Config.LLDPInterval. A probe received is a directed link; a new link is
//     probed back at once, so both directions are known within a round trip. A link
//     whose probes stop for Config.LinkTimeout is removed, and the flows over it are
//     deleted. LLDP frames are never forwarded and never learned.
//   - Hosts are learned from ARP (sender, when it matches the Ethernet source) and IPv4
//     (source) frames that enter on a port that is not a switch-to-switch link.
//     Discovery stops every frame no application should see (LLDP once read, IPv6,
//     link-local multicast, other EtherTypes, frames of ours that came back: see the
//     flood guard below) before it learns from it; what is left goes on to Routing.
//   - An IPv4 PACKET_IN towards a known host gets a shortest path over the discovered
//     links (topology.Network.Path: BFS, deterministic) and one exact-match entry per
//     switch (every OpenFlow 1.0 field, wildcards 0, in_port per switch, dl_vlan 0xffff
//     without a tag, nw_tos the DSCP bits), installed from the last switch back to the
//     first, with Config.IdleTimeout, OFPFF_SEND_FLOW_REM, priority Config.FlowPriority
//     and the cookie the tracker gives the flow. The packet then goes out of the first
//     switch with PACKET_OUT (from the switch's buffer when it has one). A PACKET_IN of
//     a flow already installed through that switch (packets that raced the FLOW_MODs)
//     is only sent on along its entry. While no path is known yet (discovery still
//     running, or a split network) the packet is delivered straight to the host's port
//     and nothing is installed.
//   - Switches expire idle entries each on its own schedule, so a flow drains: some of
//     its entries are gone, others remain (flowtracker.StateDraining, "draining" in the
//     API). A packet of a draining flow that misses at its ingress switch replaces the
//     flow with a new one (the tracker's supersede; entries of the old flow the new path
//     does not overwrite are deleted). One that misses further along the path, while the
//     switches before still forward it, is delivered straight to its host and what is
//     left of the flow is deleted: FLOW_REMOVED gives the ingress switch's final counters,
//     and the next packet installs a new flow from the ingress, never from mid-path.
//   - A FLOW_REMOVED counts only when its cookie is the flow's: one that matches a flow's
//     fields but carries another cookie (an entry of a flow no longer retained, another
//     controller's) is ignored.
//   - Flooding (ARP broadcasts, unknown destinations) is done by the controller: one
//     PACKET_OUT per switch sends the frame out of every up edge port (ports that are
//     not switch-to-switch links), except the port it came in on. That is a spanning
//     tree rooted at the controller, over the control channel: no flooded frame ever
//     crosses a switch-to-switch link, so topologies with cycles (Abilene) cannot
//     storm, each switch is reached once instead of once per tree hop, and traffic
//     flows before any link is discovered. (topology.Network.FloodPorts, the classic
//     tree over the discovered links, is not needed for that.) A frame the controller
//     sent that comes back within Config.FloodGuard, through a link not discovered yet,
//     is dropped. ARP requests for a known host are delivered to it directly
//     (gratuitous ones are flooded); a frame for a host behind its own ingress port is
//     dropped.
//   - IPv6, link-local multicast (01:80:c2:00:00:0x) and other EtherTypes are dropped.
//
// # Full flow tables
//
// A switch refuses a FLOW_MOD it cannot hold (OFPET_FLOW_MOD_FAILED; Open vSwitch with
// a limited table answers OFPFMFC_ALL_TABLES_FULL). Routing remembers each FLOW_ADD's
// xid for a few seconds; the refusal names it (or, failing that, the cookie in the
// error's copy of the request does), and the tracker marks that entry refused
// (flowtracker.Tracker.EntryRefused): the flow is listed with it, is polled only
// where its entries exist, and expires at once if it has none. The refused flow's
// packets come back as PACKET_INs, and the flow is torn down and routed afresh.
//
// Each switch's table is read with OFPST_TABLE (active_count, max_entries of table 0,
// or of all tables summed when it reports no table 0) once the first entry is
// installed there, every Config.TableInterval, and at once after a refusal. Between
// readings the occupancy is estimated as the reading plus the FLOW_ADDs sent less the
// FLOW_REMOVEDs and refusals since. The limit is max_entries (Open vSwitch reports its
// flow_limit there), or, where a refusal comes below it, the occupancy at the refusal
// (the lowest such figure; a later reading above it raises it). Controller.Tables
// shows it all; the metrics are cemon_flow_table_*.
//
// At Config.TableHigh of the limit (or after a refusal) a switch enters the fallback:
// a new flow whose path crosses such a switch is routed by its host pair's aggregate
// (flowtracker.GrainHostPair): one entry per switch matching the pair's Ethernet and
// IPv4 addresses with the IP protocol, ToS and transport ports wildcarded, below the
// exact entries' priority, with Config.FallbackHold as hard timeout. Every later flow
// of the pair takes it without a PACKET_IN; its counters, polled like any flow's, are
// the pair's traffic that no exact entry carries. Below Config.TableLow the fallback
// ends; the aggregates then run out at their hard timeout and the pair's next flows
// get exact entries again. A switch whose table is full makes room for a new
// aggregate by deleting an exact flow whose own pair's aggregate already carries it
// on; when there is none, packets that would need an entry there are delivered
// straight to their host.
//
// Flows are installed from the switch where their packet came in from a host. A packet
// that reaches a later switch with no entry of its own (in flight while entries were
// refused, evicted or installed) goes on along its pair's aggregate where that has an
// entry there; only otherwise is a flow installed from that switch, and such a flow
// goes as soon as a packet of its key comes in at the real ingress (its counters come
// with its FLOW_REMOVEDs; cemon_flows_mid_path_total), so that no packet is counted
// twice or by no entry for longer than the deletes take.
//
// # Restarts
//
// Controller.Persist writes the host table and every active flow's identity (ID,
// cookie, key, path, start; SavedFlow) to the store in batches, from the tracker's
// events, in one transaction every DefaultPersistInterval: nothing is written on the
// PACKET_IN path. Controller.Restore, before Serve, loads them. Each switch that then
// connects is asked for its whole flow table (OFPST_FLOW, all tables) instead of
// having it emptied. An entry is a saved flow's when it carries the flow's cookie, key
// and priority (or 0xffff: Open vSwitch reports exact-match entries of OpenFlow 1.0 at
// the top priority) and the switch's hop of the saved path (in_port and a single
// output to the hop's out port); once every switch of the path has shown its entry,
// the flow is tracked again under its own ID and cookie (flowtracker.Tracker.Adopt),
// so its entries and their counters carry on. Every other entry is deleted with a log
// line. Saved flows not found whole within AdoptWindow of the first switch coming up
// are dropped and the entries of theirs that were found deleted. Saved hosts are put
// back when their switch comes up. Flow IDs up to the saved high-water mark (plus a
// margin for the last batch) are never issued again. AdoptStats and the metric
// cemon_restart_adoption_total count what happened.
//
// An IPv4 frame towards a MAC no host has is flooded, and an ARP request for its
// destination address (in the sender's name, at most one per address every 250 ms)
// goes out of every edge port: a host that only receives answers it and is located.
//
// # Using it from the rest of cemon
//
//	c := controller.New(controller.Config{IdleTimeout: 10 * time.Second}, logger)
//	go c.Serve(ctx, ln) // ln from net.Listen("tcp", ":6653") or tls.NewListener
//
//	sub := c.Subscribe(0, controller.SwitchUp, controller.SwitchDown)
//	defer sub.Close()
//	for ev := range sub.C { ... }
//
//	// A flow statistics request; the reply's parts come back reassembled, in order.
//	replies, err := c.Request(ctx, dpid, &ofproto.StatsRequest{...})
//
//	t, _ := c.Traffic(dpid) // OpenFlow messages and bytes by type and direction
//	flows := c.Tracker()    // every installed flow, with cookies and paths (read-only)
//
// Request waits for the whole reply; Send is fire-and-forget. Traffic and AllTraffic
// count every OpenFlow message and byte per switch, by message type and (for
// STATS_REQUEST and STATS_REPLY) by statistics type; Collector exports them to
// Prometheus. Network is the live topology view (read-only); Links, Hosts, Graph and
// Switches are snapshots of it.
package controller
