// Package flowtracker holds the set of active flows of a cemon controller: for each, its
// key (the exact match without in_port), its path with every switch's entry, the cookie
// all those entries carry, its start time and state, and the final counters each entry
// reported when it went. It publishes flow arrivals and expiries to subscribers (the
// polling optimizer is one) and keeps a bounded ring of recently expired flows.
//
// It does not speak OpenFlow: the controller converts an ofp_match into a Key and a
// FLOW_REMOVED into EntryRemoved, and it installs the entries itself. It does no I/O and
// reads no clock; every mutating call takes now.
//
// Life cycle. Add creates a flow (StateActive) and returns its Handle: the ID (what MCPS
// keys flows by) and the cookie to set on every entry, CookieTag<<48 | ID. EntryRemoved
// marks one switch's entry gone with its final counters (StateDraining while others
// remain); when the last entry goes the flow is StateExpired, leaves the active set and
// an EventExpired goes out. The flow's final counters are its ingress entry's.
// RemoveSwitch drops a departed switch's entries; Remove expires a flow outright.
//
// Refusals and grains. EntryRefused records a switch refusing an entry's FLOW_MOD (a
// full table): the entry is gone and flagged Refused, and EventChanged tells
// subscribers which switches still hold the flow (Event.Installed). A flow's Grain
// says how finely its entries match: GrainExact (the default) or GrainHostPair, an
// aggregate of a host pair's traffic whose key has the IP protocol, ToS and transport
// ports zero (HostPairKey), added with AddGrain and found with ByKeyGrain apart from
// the exact flows.
//
// Identity. A stats entry or FLOW_REMOVED maps back with Resolve: by cookie first, then
// by key among the active flows, as the architecture's "Flow identity" section says.
//
// Concurrency and size. Every method is safe for concurrent use. Flows are spread over
// Config.Shards shards by Key.Hash (xxhash); a flow's ID encodes its shard, so each call
// locks one shard. Events are handed over under the shard lock without blocking: what
// a subscriber's channel cannot take waits in its bounded backlog, and only beyond that
// bound are events lost (counted), so a slow subscriber never stalls the tracker; see
// Subscription. Each shard indexes its flows' live entries by switch and port, so that
// RemoveSwitch, RangeSwitch, RangePort and RangeLink visit only the flows through the
// switches concerned. A flow with a 3-hop path costs about 370 bytes, its index entries
// included (see BENCHMARKS.md).
//
// Example:
//
//	t, _ := flowtracker.New(flowtracker.Config{})
//	sub := t.Subscribe(4096)
//	h, created, err := t.Add(key, []flowtracker.Hop{{DPID: 1, InPort: 1, OutPort: 2}}, now)
//	// install the entries with cookie h.Cookie and OFPFF_SEND_FLOW_REM ...
//	// on FLOW_REMOVED from dpid 1:
//	if fh, ok := t.Resolve(fr.Cookie, key); ok {
//		t.EntryRemoved(1, fh.Cookie, counters, flowtracker.ReasonIdleTimeout, now)
//	}
//	ev := <-sub.C // EventArrived, then EventExpired
package flowtracker
