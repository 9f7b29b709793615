package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
)

// TestPacketInBudget: a host that opens new flows far faster than its budget gets its
// PACKET_INs stopped and one drop entry (in_port + dl_src, hard timeout) on its switch;
// another host's new flows are installed as usual, and the offender is served again
// once its bucket refills.
func TestPacketInBudget(t *testing.T) {
	budget := &PacketInBudget{Rate: 10, Burst: 20, Block: 3 * time.Second}
	n := newFakeNet(t, Config{Apps: []App{Discovery, budget, Routing}})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(time.Second)
	h1, h2, h3 := n.hosts["h1"], n.hosts["h2"], n.hosts["h3"]
	require.True(t, strings.HasSuffix(n.ping(h1, h3), ": ok"))
	require.True(t, strings.HasSuffix(n.ping(h2, h3), ": ok"))
	before := n.c.stats.FlowsInstalled

	for i := range 200 { // a new flow per packet, all at the same instant
		n.hostSend(h1, udpFrame(h1.mac, h3.mac, h1.ip, h3.ip, 4000, uint16(1000+i), 0, 10))
	}
	n.run()
	require.EqualValues(t, 1, n.c.stats.BudgetBlocks)
	require.NotZero(t, n.c.stats.BudgetDrops)
	require.Less(t, n.c.stats.FlowsInstalled-before, uint64(25), "the flood got past its budget")
	var drop *fakeEntry
	for _, e := range n.sw[1].table {
		if e.priority == DefaultBudgetPriority {
			drop = e
		}
	}
	require.NotNil(t, drop, "no drop entry on s1")
	require.Equal(t, ofproto.PortNo(1), drop.match.InPort)
	require.Equal(t, h1.mac, drop.match.DLSrc)
	require.Equal(t, ofproto.WildAll&^(ofproto.WildInPort|ofproto.WildDLSrc), drop.match.Wildcards)
	require.EqualValues(t, 3, drop.hard)
	require.Empty(t, drop.out)
	require.NotZero(t, drop.packets, "the drop entry kept nothing from the controller")

	// h2 is not affected.
	installed := n.c.stats.FlowsInstalled
	n.hostSend(h2, udpFrame(h2.mac, h3.mac, h2.ip, h3.ip, 4000, 9, 0, 10))
	n.run()
	require.Equal(t, installed+1, n.c.stats.FlowsInstalled)

	// After the block, h1's bucket has refilled.
	n.advance(3 * time.Second)
	n.hostSend(h1, udpFrame(h1.mac, h3.mac, h1.ip, h3.ip, 4000, 7, 0, 10))
	n.run()
	require.Equal(t, installed+2, n.c.stats.FlowsInstalled)
}

// BenchmarkPacketInBudget: the budget's cost per PACKET_IN of a source within its
// budget (the frame parse is shared with the other applications).
func BenchmarkPacketInBudget(b *testing.B) {
	budget := NewPacketInBudget(1e9)
	n := newFakeNet(b, Config{Apps: []App{Discovery, budget, Routing}})
	n.linear(1)
	n.connect(1)
	h1 := n.hosts["h1"]
	f := udpFrame(h1.mac, ofproto.MAC{0, 0, 0, 0, 0, 0x77}, h1.ip, h1.ip, 1, 2, 0, 10)
	pi := &ofproto.PacketIn{BufferID: ofproto.BufferNone, InPort: 1, Data: f}
	sw := Switch{n.sw[1].s}
	x := &n.c.ctxs[1]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n.c.pktSeq++
		n.now = n.now.Add(time.Microsecond)
		budget.PacketIn(x, sw, pi, n.now)
	}
}
