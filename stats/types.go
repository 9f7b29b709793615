package stats

import (
	"bytes"
	"cmp"
	"fmt"
	"net"
	"net/netip"
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

// HostID names an end host by the addresses a flow's match gives it: its
// MAC address, and its IP address when the flow is IP traffic (the zero
// netip.Addr otherwise). It is comparable and serves as a map key.
type HostID struct {
	MAC [6]byte
	IP  netip.Addr
}

// HostOf returns the HostID of a MAC and an IP address (ip may be the zero
// netip.Addr).
func HostOf(mac net.HardwareAddr, ip netip.Addr) (HostID, error) {
	if len(mac) != 6 {
		return HostID{}, fmt.Errorf("stats: host MAC %q is not 6 bytes", mac)
	}
	h := HostID{IP: ip.Unmap()}
	copy(h.MAC[:], mac)
	return h, nil
}

// ParseHostID reads a host named by its IP address (IPv4 or IPv6) or by its
// MAC address (aa:bb:cc:dd:ee:ff), as String writes it.
func ParseHostID(s string) (HostID, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return HostID{IP: ip.Unmap()}, nil
	}
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		return HostID{}, fmt.Errorf("stats: host %q is neither an IP address nor a 6-byte MAC address", s)
	}
	return HostOf(mac, netip.Addr{})
}

// String returns the IP address when it is known, else the MAC address
// (aa:bb:cc:dd:ee:ff): the name the REST API and the metrics show.
func (h HostID) String() string {
	if h.IP.IsValid() {
		return h.IP.String()
	}
	return net.HardwareAddr(h.MAC[:]).String()
}

// MACString returns the MAC address as aa:bb:cc:dd:ee:ff.
func (h HostID) MACString() string { return net.HardwareAddr(h.MAC[:]).String() }

// MarshalText implements encoding.TextMarshaler with String.
func (h HostID) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// Compare orders hosts by IP address (hosts without one first), then MAC.
func (h HostID) Compare(o HostID) int {
	return cmp.Or(h.IP.Compare(o.IP), bytes.Compare(h.MAC[:], o.MAC[:]))
}

// Pair is an ordered pair of hosts, the key of the traffic matrix.
type Pair struct {
	Src, Dst HostID
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

// FlowInfo registers a flow: its id (the tracker's), its endpoint hosts and
// its path from ingress to egress.
type FlowInfo struct {
	ID    uint64
	Src   HostID
	Dst   HostID
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
	// Interval is the polling interval the scheduler expects for this flow
	// from now on; 0 keeps the one the store knows (given before, or learned
	// from the spacing of the flow's readings). A flow's rate stops counting
	// in the aggregates Config.StaleAfter of its intervals after its last
	// reading.
	Interval time.Duration
}

// FlowSample is what one reading made of its flow: Observe returns it so
// that whoever adapts to the flow's traffic (an adaptive sampler, say) sees
// the derived figures without reading the store again.
type FlowSample struct {
	Flow       uint64
	At         time.Time // the reading's time
	Bytes      uint64    // cumulative, as FlowStats.Bytes
	Packets    uint64
	NewBytes   uint64  // traffic this reading counted for the first time
	RateBps    float64 // the flow's rate after the reading
	PacketRate float64
	// NewRate is true when the reading gave a new rate (false for a first
	// reading without the entry's age, or a switch that counted less than
	// the last one read, whose reading keeps the previous rate).
	NewRate bool
	// Span is the interval the new rate was taken over (0 when NewRate is
	// false).
	Span  time.Duration
	Reset bool // the reading started a new counter epoch (entry re-installed)
	// Interval is the flow's polling interval as the store now knows it and
	// ValidUntil the instant its rate stops counting without a new reading.
	Interval   time.Duration
	ValidUntil time.Time
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
	Src, Dst   HostID
	Path       []Hop
	Bytes      uint64  // cumulative over the flow's life, across counter resets
	Packets    uint64  // likewise
	RateBps    float64 // bits per second from the last two readings
	PacketRate float64 // packets per second, likewise
	// Interval is the polling interval the flow's staleness counts in: the
	// one its scheduler gave, else the spacing of its last two readings,
	// else Config.Interval. ValidUntil is when its rate stops counting in
	// links, matrix and hosts without a new reading (zero before the first);
	// Stale says that instant has passed at the store's clock.
	Interval   time.Duration
	ValidUntil time.Time
	Stale      bool
	LastPolled time.Time
	Source     Source // source of the last reading
	DPID       uint64 // switch of the last reading
	Readings   int
	Resets     int
	Active     bool
	Start      time.Time
	End        time.Time // zero while active
}

// CurrentBps is the rate the flow adds to its links, matrix cell and hosts:
// RateBps while it is active and not stale, else 0.
func (f FlowStats) CurrentBps() float64 {
	if !f.Active || f.Stale {
		return 0
	}
	return f.RateBps
}

// Sample is one point of a history.
type Sample struct {
	At      time.Time
	Bytes   uint64 // cumulative bytes at At
	RateBps float64
}

// CapacitySource says where a link's capacity comes from.
type CapacitySource uint8

// Sources of a link's capacity, in the order they win.
const (
	CapacityDefault CapacitySource = iota // DefaultLinkCapacityBps: nothing else known
	CapacityPort                          // the ports' advertised speed (SetPortSpeeds)
	CapacityConfig                        // Config.LinkCapacityBps, set explicitly
)

var capacityNames = [...]string{"default", "port", "config"}

// String returns default, port or config.
func (c CapacitySource) String() string {
	if int(c) < len(capacityNames) {
		return capacityNames[c]
	}
	return fmt.Sprintf("CapacitySource(%d)", uint8(c))
}

// LinkLoad is the load of one directed link.
type LinkLoad struct {
	Link Link
	At   time.Time // the instant the figures are valid at (the store's clock)
	// RateBps is the sum of the current rates of the active flows crossing
	// the link whose readings are not stale at At.
	RateBps     float64
	Utilization float64 // RateBps / CapacityBps
	CapacityBps float64
	Capacity    CapacitySource
	Bytes       uint64 // cumulative bytes of the flows that crossed it
	Flows       int    // active flows crossing it
	// PortRateBps is the link's rate from port statistics: the transmit rate
	// of the source port, or the receive rate of the destination port when
	// the former is unknown. HasPortRate is false when neither is known.
	PortRateBps     float64
	PortUtilization float64
	HasPortRate     bool
}

// MatrixEntry is one cell of the host-to-host traffic matrix.
type MatrixEntry struct {
	Src, Dst HostID
	At       time.Time // the instant the rate is valid at
	RateBps  float64   // current rates of the pair's active, not stale flows
	Bytes    uint64    // cumulative, including expired flows
	Flows    int       // active flows
}

// HostTraffic is one host's traffic.
type HostTraffic struct {
	Host          HostID
	At            time.Time // the instant the rates are valid at
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

// Snapshot is every figure of the store at one instant, taken under one
// lock: each link's, cell's and host's rate is the sum of CurrentBps over
// the flows of Flows that it counts.
type Snapshot struct {
	At     time.Time // the store's clock: the latest input or Tick
	Flows  []FlowStats
	Links  []LinkLoad
	Matrix []MatrixEntry
	Hosts  []HostTraffic
	Ports  []PortRate // valid port rates only
}
