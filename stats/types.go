package stats

import (
	"fmt"
	"time"
)

// Source says where a reading came from.
type Source uint8

// Sources of a reading.
const (
	SourceUnknown     Source = iota
	SourcePollAll            // a flow stats reply to an all-wildcard request
	SourcePollSingle         // a flow stats reply to an exact-match request
	SourceFlowRemoved        // the final counters of a FLOW_REMOVED message
)

var sourceNames = [...]string{"unknown", "poll-all", "poll-single", "flow-removed"}

// String returns the name used in the REST API: poll-all, poll-single or
// flow-removed.
func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return fmt.Sprintf("Source(%d)", uint8(s))
}

// Hop is one switch of a flow's path and the ports its entry uses.
type Hop struct {
	DPID    uint64
	InPort  uint16
	OutPort uint16
}

// Link is a directed link from a switch port to a switch port.
type Link struct {
	SrcDPID uint64
	SrcPort uint16
	DstDPID uint64
	DstPort uint16
}

// String formats the link as src_dpid:port->dst_dpid:port in hex dpids.
func (l Link) String() string {
	return fmt.Sprintf("%016x:%d->%016x:%d", l.SrcDPID, l.SrcPort, l.DstDPID, l.DstPort)
}

// PortKey names one switch port.
type PortKey struct {
	DPID uint64
	Port uint16
}

// Pair is an ordered pair of hosts, the key of the traffic matrix.
type Pair struct {
	Src, Dst string
}

// LinksOf returns the directed links a path crosses, in path order.
func LinksOf(path []Hop) []Link {
	if len(path) < 2 {
		return nil
	}
	out := make([]Link, 0, len(path)-1)
	for i := 0; i+1 < len(path); i++ {
		out = append(out, Link{
			SrcDPID: path[i].DPID, SrcPort: path[i].OutPort,
			DstDPID: path[i+1].DPID, DstPort: path[i+1].InPort,
		})
	}
	return out
}

// FlowInfo registers a flow: its id (the tracker's), its endpoint hosts (MAC
// or IP, as the caller names hosts) and its path from ingress to egress.
type FlowInfo struct {
	ID    uint64
	Src   string
	Dst   string
	Path  []Hop
	Start time.Time
}

// Reading is one counter sample of one entry of a flow.
type Reading struct {
	Flow     uint64
	DPID     uint64 // switch whose entry was read
	Bytes    uint64
	Packets  uint64
	Duration time.Duration // the entry's age as the switch reports it; 0 if unknown
	At       time.Time     // when the reading was taken (reply received)
	Source   Source
}

// PortReading is one port stats sample.
type PortReading struct {
	DPID      uint64
	Port      uint16
	RxBytes   uint64
	TxBytes   uint64
	RxPackets uint64
	TxPackets uint64
	At        time.Time
}

// FlowStats is what the store knows about one flow.
type FlowStats struct {
	ID         uint64
	Src, Dst   string
	Path       []Hop
	Bytes      uint64  // cumulative over the flow's life, across counter resets
	Packets    uint64  // likewise
	RateBps    float64 // bits per second from the last two readings
	PacketRate float64 // packets per second, likewise
	LastPolled time.Time
	Source     Source // source of the last reading
	DPID       uint64 // switch of the last reading
	Readings   int
	Resets     int
	Active     bool
	Start      time.Time
	End        time.Time // zero while active
}

// Sample is one point of a history.
type Sample struct {
	At      time.Time
	Bytes   uint64 // cumulative bytes at At
	RateBps float64
}

// LinkLoad is the load of one directed link.
type LinkLoad struct {
	Link        Link
	RateBps     float64 // sum of the rates of the active flows crossing the link
	Utilization float64 // RateBps / Config.LinkCapacityBps
	Bytes       uint64  // cumulative bytes of the flows that crossed it
	Flows       int     // active flows crossing it
	// PortRateBps is the link's rate from port statistics: the transmit rate
	// of the source port, or the receive rate of the destination port when
	// the former is unknown. HasPortRate is false when neither is known.
	PortRateBps     float64
	PortUtilization float64
	HasPortRate     bool
}

// MatrixEntry is one cell of the host-to-host traffic matrix.
type MatrixEntry struct {
	Src, Dst string
	RateBps  float64
	Bytes    uint64 // cumulative, including expired flows
	Flows    int    // active flows
}

// HostTraffic is one host's traffic.
type HostTraffic struct {
	Host          string
	SentBps       float64
	ReceivedBps   float64
	SentBytes     uint64
	ReceivedBytes uint64
	FlowsOut      int // active flows from the host
	FlowsIn       int // active flows to the host
}

// PortRate is the rate of one port from port statistics.
type PortRate struct {
	Port  PortKey
	TxBps float64
	RxBps float64
	At    time.Time
	Valid bool // false until two readings without a reset have been seen
}
