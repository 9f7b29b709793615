package controller

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/cemon-sdn/cemon/ofproto"
)

// Direction says whether a message went to a switch or came from it.
type Direction uint8

// Directions.
const (
	Sent     Direction = iota // controller to switch
	Received                  // switch to controller
)

func (d Direction) String() string {
	if d == Sent {
		return "sent"
	}
	return "received"
}

// numTypes bounds the OpenFlow 1.0 message types (0..21) with room to spare.
const numTypes = 32

// numStatsTypes covers OFPST_DESC (0) to OFPST_QUEUE (5); the vendor type (0xffff)
// and anything unknown count in the last slot.
const numStatsTypes = 7

// Count is a number of messages and the OpenFlow bytes they carried (headers
// included; TCP/IP overhead excluded).
type Count struct {
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
}

// Add returns c plus o.
func (c Count) Add(o Count) Count { return Count{c.Messages + o.Messages, c.Bytes + o.Bytes} }

// Traffic is the OpenFlow traffic of one switch connection, by message type and, for
// STATS_REQUEST and STATS_REPLY, also by statistics type (index = ofp_stats_types
// value; index 6 collects OFPST_VENDOR and unknown types).
type Traffic struct {
	DPID          uint64
	Sent          [numTypes]Count
	Received      [numTypes]Count
	StatsSent     [numStatsTypes]Count
	StatsReceived [numStatsTypes]Count
	// LateReplies counts replies that arrived after their request had timed out or was
	// cancelled, and replies to requests never made; they are dropped.
	LateReplies uint64
}

// Total returns the sum over every message type in direction d.
func (t *Traffic) Total(d Direction) Count {
	arr := &t.Sent
	if d == Received {
		arr = &t.Received
	}
	var c Count
	for _, x := range arr {
		c = c.Add(x)
	}
	return c
}

// ByType returns the count of one message type in direction d.
func (t *Traffic) ByType(d Direction, typ ofproto.Type) Count {
	if int(typ) >= numTypes {
		return Count{}
	}
	if d == Sent {
		return t.Sent[typ]
	}
	return t.Received[typ]
}

// ByStatsType returns the STATS_REQUEST (Sent) or STATS_REPLY (Received) count of one
// statistics type (OFPST_FLOW = 1, ...).
func (t *Traffic) ByStatsType(d Direction, statsType uint16) Count {
	i := statsIndex(statsType)
	if d == Sent {
		return t.StatsSent[i]
	}
	return t.StatsReceived[i]
}

func statsIndex(st uint16) int {
	if st < numStatsTypes-1 {
		return int(st)
	}
	return numStatsTypes - 1
}

// atomicCount is a Count updated without locks.
type atomicCount struct{ msgs, bytes atomic.Uint64 }

func (a *atomicCount) add(n int) {
	a.msgs.Add(1)
	a.bytes.Add(uint64(n))
}

func (a *atomicCount) load() Count { return Count{a.msgs.Load(), a.bytes.Load()} }

// meter counts one connection's traffic; the reader and writer goroutines update it
// and anyone may read it.
type meter struct {
	byType  [2][numTypes]atomicCount
	byStats [2][numStatsTypes]atomicCount
	late    atomic.Uint64
}

// count records one whole message (header included) going in direction d.
func (m *meter) count(d Direction, msg []byte) {
	if len(msg) < ofproto.HeaderLen {
		return
	}
	t := msg[1]
	if int(t) < numTypes {
		m.byType[d][t].add(len(msg))
	}
	if (ofproto.Type(t) == ofproto.TypeStatsRequest || ofproto.Type(t) == ofproto.TypeStatsReply) && len(msg) >= 10 {
		m.byStats[d][statsIndex(binary.BigEndian.Uint16(msg[8:10]))].add(len(msg))
	}
}

func (m *meter) snapshot(dpid uint64) Traffic {
	t := Traffic{DPID: dpid, LateReplies: m.late.Load()}
	for i := range numTypes {
		t.Sent[i] = m.byType[Sent][i].load()
		t.Received[i] = m.byType[Received][i].load()
	}
	for i := range numStatsTypes {
		t.StatsSent[i] = m.byStats[Sent][i].load()
		t.StatsReceived[i] = m.byStats[Received][i].load()
	}
	return t
}
