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
}

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
