package controller

import (
	"net/netip"
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

// budgetNet is a one-switch network with a budget of 10/s (burst 20) in front of
// Routing; frames of made-up sources enter at port 1.
func budgetNet(t *testing.T) (*fakeNet, *PacketInBudget) {
	budget := &PacketInBudget{Rate: 10, Burst: 20, Block: 2 * time.Second}
	n := newFakeNet(t, Config{Apps: []App{Discovery, budget, Routing}})
	n.linear(1)
	n.connect(1)
	n.advance(time.Second)
	return n, budget
}

// sendAs makes source i (MAC 02:00:00:00:01:i at s1 port 1) send a frame for a new
// flow.
func sendAs(n *fakeNet, i, seq int) {
	h := n.hosts["h1"]
	mac := ofproto.MAC{0x02, 0, 0, 0, 1, byte(i)}
	n.frames = append(n.frames, frameAt{udpFrame(mac, h.mac, netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), h.ip,
		4000, uint16(seq), 0, 10), PortRef{1, 1}})
}

// drive runs for d in steps of 10 ms; at each step source i sends perStep[i] frames.
func drive(n *fakeNet, d time.Duration, perStep []int) {
	seq := 0
	for range int(d / (10 * time.Millisecond)) {
		for i, k := range perStep {
			for range k {
				seq++
				sendAs(n, i, seq)
			}
		}
		n.run()
		n.advance(10 * time.Millisecond)
	}
}

// TestPacketInBudgetRelative: sources that are all past the budget by as much are
// served (a surge is not a flood); one source far faster than the others' median is
// blocked, and only that one.
func TestPacketInBudgetRelative(t *testing.T) {
	t.Run("a surge of equals", func(t *testing.T) {
		n, _ := budgetNet(t)
		drive(n, 3*time.Second, []int{1, 1, 1, 1, 1}) // 100/s each, ten times the budget
		require.Zero(t, n.c.stats.BudgetBlocks)
		require.Zero(t, n.c.stats.BudgetDrops)
	})
	t.Run("one far faster than busy others", func(t *testing.T) {
		n, b := budgetNet(t)
		drive(n, 1500*time.Millisecond, []int{1, 1, 1, 1, 1})
		drive(n, 1500*time.Millisecond, []int{20, 1, 1, 1, 1}) // 2,000/s against 100/s
		require.EqualValues(t, 1, n.c.stats.BudgetBlocks)
		require.InDelta(t, 100, b.others, 20, "the others' median")
		for k, bk := range b.buckets {
			blocked := n.now.Before(bk.blockedUntil)
			require.Equal(t, k.mac[5] == 0, blocked, "source %v", k.mac)
		}
	})
	t.Run("five times busy others", func(t *testing.T) {
		n, _ := budgetNet(t)
		drive(n, 1500*time.Millisecond, []int{1, 1, 1, 1, 1})
		drive(n, 1500*time.Millisecond, []int{5, 1, 1, 1, 1}) // 500/s against 100/s: not ten times
		require.Zero(t, n.c.stats.BudgetBlocks)
	})
	t.Run("a flood and its victim's answers", func(t *testing.T) {
		n, _ := budgetNet(t)
		drive(n, 10*time.Millisecond, []int{1, 1, 1, 1, 1, 1, 1}) // seven hosts known
		n.advance(11 * time.Second)                               // and quiet since
		drive(n, 1500*time.Millisecond, []int{20, 20})            // two sources at 2,000/s
		require.GreaterOrEqual(t, n.c.stats.BudgetBlocks, uint64(1), "the quiet hosts make the median")
	})
	t.Run("one alone", func(t *testing.T) {
		n, _ := budgetNet(t)
		drive(n, time.Second, []int{5}) // 500/s, nobody else
		require.EqualValues(t, 1, n.c.stats.BudgetBlocks)
	})
	t.Run("below the budget", func(t *testing.T) {
		n, _ := budgetNet(t)
		drive(n, 3*time.Second, []int{0, 0, 0, 0}) // warm nothing
		seq := 0
		for range 300 { // 8/s against the others' nothing
			seq++
			sendAs(n, 0, seq)
			n.run()
			n.advance(125 * time.Millisecond)
		}
		require.Zero(t, n.c.stats.BudgetBlocks)
	})
}

func TestOthersMedian(t *testing.T) {
	require.Zero(t, othersMedian(nil))
	require.Zero(t, othersMedian([]float64{100}))
	require.Equal(t, 1.0, othersMedian([]float64{1000, 1}))
	require.Equal(t, 2.0, othersMedian([]float64{1000, 3, 1, 2}))
	require.Equal(t, 2.0, othersMedian([]float64{5, 1000, 3, 1, 2}))
}
