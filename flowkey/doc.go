// Package flowkey converts between the flow tracker's key and the OpenFlow 1.0 exact
// match cemon installs for it.
//
// The controller installs one exact-match entry per switch of a flow's path: every
// OpenFlow 1.0 field, no wildcard, in_port set per switch. flowtracker.Key holds the
// fields that stay the same along the path (all but in_port). FromMatch takes the key
// out of a match (as a FLOW_MOD, a FLOW_REMOVED or a flow statistics entry carries it),
// and ToMatch builds the match of one switch's entry back from the key and that
// switch's in_port. The package is pure: no I/O, no state.
//
//	m := flowkey.ToMatch(f.Key, ofproto.PortNo(f.Entries[0].InPort))
//	req := &ofproto.StatsRequest{Body: &ofproto.FlowStatsRequest{Match: m, TableID: 0xff, OutPort: ofproto.PortNone}}
//	...
//	k := flowkey.FromMatch(&entry.Match) // == f.Key
package flowkey
