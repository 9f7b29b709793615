package api

import "time"

// Port is one port of a switch as the switch last described it.
type Port struct {
	PortNo uint16 `json:"port_no"`
	Name   string `json:"name"`
	HWAddr string `json:"hw_addr"`
	Up     bool   `json:"up"`
}

// Switch is a connected OpenFlow switch.
type Switch struct {
	DPID           string    `json:"dpid"` // 16 lower-case hex digits
	Address        string    `json:"address"`
	Ports          []Port    `json:"ports"`
	ConnectedSince time.Time `json:"connected_since"`
	// Table is the switch's flow table occupancy; absent while the controller has
	// installed nothing there.
	Table *SwitchTable `json:"table,omitempty"`
}

// SwitchTable is a switch's flow table as the controller knows it: the last table
// statistics reading (OFPST_TABLE), what was installed and removed since, the limit
// in force, and whether new flows through the switch are forwarded by host-pair
// entries (the fallback of a full or nearly full table).
type SwitchTable struct {
	Entries      int        `json:"entries"`       // occupancy now: the reading plus what was added, less what was removed, since
	Limit        int        `json:"limit"`         // capacity in force; 0 while unknown
	LimitLearned bool       `json:"limit_learned"` // the limit came from a refusal: max_entries did not say it
	ActiveCount  int        `json:"active_count"`  // active_count of the last reading
	MaxEntries   int        `json:"max_entries"`   // max_entries of the last reading
	ReadAt       *time.Time `json:"read_at,omitempty"`
	Refused      uint64     `json:"flow_mods_refused"` // FLOW_MODs the switch refused (OFPET_FLOW_MOD_FAILED)
	Fallback     bool       `json:"fallback"`          // new flows through it get host-pair entries
	// FallbackSince is when the fallback began.
	FallbackSince *time.Time `json:"fallback_since,omitempty"`
	// StatsUnsupported: the switch answers table statistics with an error; Entries is
	// then counted from what was installed and removed.
	StatsUnsupported bool `json:"stats_unsupported,omitempty"`
}

// Link is one direction of a switch-to-switch link; a cable appears twice.
type Link struct {
	SrcDPID string `json:"src_dpid"`
	SrcPort uint16 `json:"src_port"`
	DstDPID string `json:"dst_dpid"`
	DstPort uint16 `json:"dst_port"`
}

// Host is an end host located at a switch port.
type Host struct {
	MAC  string `json:"mac"`
	IP   string `json:"ip"`
	DPID string `json:"dpid"`
	Port uint16 `json:"port"`
}

// Match is an OpenFlow 1.0 match without in_port; JSON names are the OpenFlow 1.0
// member names.
type Match struct {
	DlSrc     string `json:"dl_src"`
	DlDst     string `json:"dl_dst"`
	DlVlan    uint16 `json:"dl_vlan"`
	DlVlanPcp uint8  `json:"dl_vlan_pcp"`
	DlType    uint16 `json:"dl_type"`
	NwTos     uint8  `json:"nw_tos"`
	NwProto   uint8  `json:"nw_proto"`
	NwSrc     string `json:"nw_src"`
	NwDst     string `json:"nw_dst"`
	TpSrc     uint16 `json:"tp_src"`
	TpDst     uint16 `json:"tp_dst"`
}

// FlowEntry is the forwarding entry a flow has on one switch of its path.
type FlowEntry struct {
	DPID    string `json:"dpid"`
	InPort  uint16 `json:"in_port"`
	OutPort uint16 `json:"out_port"`
	Removed bool   `json:"removed"`
	// Refused: the switch refused the entry's FLOW_MOD (a full table, say): it was
	// never installed, and the flow is neither counted nor polled there.
	Refused bool `json:"refused,omitempty"`
}

// Flow granularities and how a flow is measured.
const (
	// GranularityExact: one exact entry per switch; the flow is measured on its own.
	GranularityExact = "exact"
	// GranularityHostPair: an aggregate whose entries match the host pair (IP
	// protocol, ToS and transport ports wildcarded), installed where tables were full:
	// the traffic of the pair's flows that have no exact entry is measured together.
	GranularityHostPair = "host-pair"
	// MeasuredIndividually and MeasuredInAggregate say which flows are which.
	MeasuredIndividually = "individually"
	MeasuredInAggregate  = "in-aggregate"
)

// Flow states. A flow is active while every switch on its path holds its entry,
// draining once some of those entries are gone (switches expire idle entries each on
// its own schedule, so the last packets' entries leave over a second or so) while
// others remain, and expired when none is left. Its final counters are those its
// ingress switch reported when its entry there went, so a draining flow may have them
// already.
const (
	StateActive   = "active"
	StateDraining = "draining"
	StateExpired  = "expired"
)

// flowStates lists the flow states in life-cycle order.
var flowStates = []string{StateActive, StateDraining, StateExpired}

// Flow is a tracked flow: its match, its path and the entries installed for it.
type Flow struct {
	ID               uint64      `json:"id"`
	Cookie           string      `json:"cookie"` // "0x%016x"
	Match            Match       `json:"match"`
	Path             []string    `json:"path"` // dpids, ingress first
	Entries          []FlowEntry `json:"entries"`
	State            string      `json:"state"` // StateActive, StateDraining or StateExpired
	Start            time.Time   `json:"start"`
	End              *time.Time  `json:"end,omitempty"`
	FinalByteCount   *uint64     `json:"final_byte_count,omitempty"`
	FinalPacketCount *uint64     `json:"final_packet_count,omitempty"`
	// Granularity is GranularityExact or GranularityHostPair; Measured says whether the
	// flow's traffic is measured individually or only in aggregate (a host-pair flow,
	// whose match's wildcarded fields read zero).
	Granularity string `json:"granularity,omitempty"`
	Measured    string `json:"measured,omitempty"`
	// Record is set on an item of a cluster's federated list served from the
	// cluster's record because its owner did not answer (record.go).
	Record *RecordMark `json:"record,omitempty"`
}

// Backend supplies the views the API serves. Its methods are called concurrently
// from request goroutines and must be safe for that. The handler may reorder the
// slices it receives; a Backend returns slices it does not keep.
type Backend interface {
	Switches() []Switch
	Links() []Link
	Hosts() []Host
	Flows() []Flow // active, draining and recently expired
	Flow(id uint64) (Flow, bool)
}

// HealthChecker is an optional Backend capability: when the Backend implements it,
// /healthz answers 503 with the error's text while Health returns an error.
type HealthChecker interface {
	Health() error
}

// Error is the body of every 4xx and 5xx answer.
type Error struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}
