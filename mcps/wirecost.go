package mcps

import "fmt"

// WireCost is the calibrated byte model of algorithms.md section 1: what an exchange
// puts on the wire, with replies split into OpenFlow messages of at most MaxMessage
// bytes (OFPSF_REPLY_MORE) and each direction's bytes carried in TCP segments of at
// most MSS bytes, each segment costing Overhead bytes of Ethernet, IPv4 and TCP
// headers. The zero value models Open vSwitch on loopback with one output action per
// entry; set MSS to 1448 for an Ethernet control network.
//
// With every reply in one segment it equals PaperCost. Checked against tshark on
// Open vSwitch by the end-to-end test in package mininet (TestE2EPollingStrategies).
type WireCost struct {
	MSS        int // TCP payload per segment; 0 means 65483 (loopback MTU 65536, timestamps)
	Overhead   int // bytes per segment; 0 means 66 (Ethernet 14, IPv4 20, TCP 32)
	EntryLen   int // bytes per flow stats entry (88 + its actions); 0 means 96
	MaxMessage int // largest reply message a switch sends; 0 means 65535
}

// Defaults of WireCost.
const (
	DefaultWireMSS      = 65483
	DefaultWireOverhead = 66
	DefaultEntryLen     = 96
	flowStatsRequestLen = 56 // ofp_header, type and flags, ofp_flow_stats_request
	statsReplyHeaderLen = 12
)

func (c WireCost) withDefaults() WireCost {
	if c.MSS <= 0 {
		c.MSS = DefaultWireMSS
	}
	if c.Overhead <= 0 {
		c.Overhead = DefaultWireOverhead
	}
	if c.EntryLen <= 0 {
		c.EntryLen = DefaultEntryLen
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = 65535
	}
	// A message must hold at least one entry.
	c.MaxMessage = max(c.MaxMessage, statsReplyHeaderLen+c.EntryLen)
	return c
}

// Name implements CostModel.
func (c WireCost) Name() string {
	d := c.withDefaults()
	return fmt.Sprintf("wire(mss=%d,overhead=%d,entry=%d)", d.MSS, d.Overhead, d.EntryLen)
}

// onWire is n bytes of one direction plus the overhead of their segments (at least one).
func (c WireCost) onWire(n int64) int64 {
	mss := int64(c.MSS)
	segs := max((n+mss-1)/mss, 1)
	return n + segs*int64(c.Overhead)
}

// ReplyBytes returns the OpenFlow bytes of a flow stats reply with entries entries:
// one 12-byte header per message of at most MaxMessage bytes.
func (c WireCost) ReplyBytes(entries int) int64 {
	d := c.withDefaults()
	per := (d.MaxMessage - statsReplyHeaderLen) / d.EntryLen
	msgs := max((entries+per-1)/per, 1)
	return int64(msgs)*statsReplyHeaderLen + int64(entries)*int64(d.EntryLen)
}

// PollAll implements CostModel.
func (c WireCost) PollAll(entries int) int64 {
	d := c.withDefaults()
	return d.onWire(flowStatsRequestLen) + d.onWire(c.ReplyBytes(max(entries, 0)))
}

// PollSingle implements CostModel.
func (c WireCost) PollSingle() int64 { return c.PollAll(1) }
