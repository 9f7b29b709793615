// Package ofemu emulates OpenFlow 1.0 switches over TCP, for tests and benchmarks
// that need more switches, more flows or other behaviour than Open vSwitch under
// Mininet gives on one machine.
//
// Each emulated switch connects to a controller, completes the handshake (HELLO,
// FEATURES_REPLY with its ports, GET_CONFIG_REPLY), answers ECHO and BARRIER, and
// keeps a flow table that applies FLOW_MOD (add, modify, delete, strict or not, with
// out_port filtering), refuses additions past a table limit with
// OFPET_FLOW_MOD_FAILED/OFPFMFC_ALL_TABLES_FULL as Open vSwitch does with a limited
// table, expires entries by idle and hard timeout (FLOW_REMOVED when the entry asked
// for it), and counts per-entry packets and bytes from a traffic model. It answers
// flow, aggregate, port, table and description statistics, splitting large replies
// into several OFPT_STATS_REPLY messages flagged OFPSF_REPLY_MORE at about the size
// Open vSwitch uses, optionally after a delay (a slow hardware switch).
//
// Switches of one Network may be joined by links (a topology.Graph, from the Topology
// Zoo or generated): an LLDP frame a controller sends out of a link port with
// PACKET_OUT arrives at the other end as a PACKET_IN, so that the controller
// discovers the topology without Mininet. Other frames sent out of a port are
// counted on the port and dropped.
//
// What it does not do: forward data packets through the tables (traffic exists only
// as counters driven by the traffic model), buffer packets, or speak any version but
// 1.0.
//
// Cbench reproduces the classic controller benchmark: switches that send PACKET_INs
// for new source MACs, with a given number outstanding, counting the responses (a
// FLOW_MOD that adds an entry, or a PACKET_OUT that is not LLDP) per second.
package ofemu
