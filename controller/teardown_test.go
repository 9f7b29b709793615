package controller

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
)

// TestPortDownDeletesOnce: a switch-to-switch port going down brings Routing's port
// teardown and Discovery's LinkDown for its link at the same instant; every entry of
// the flows over it is deleted once, on every switch of their paths.
func TestPortDownDeletesOnce(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	require.True(t, strings.HasSuffix(n.ping(n.hosts["h1"], n.hosts["h3"]), ": ok"))
	n.advance(time.Second)
	require.Equal(t, 2, n.c.tracker.Len(), "h1>h3 and h3>h1 over s1-s2-s3")

	sw := n.sw[2]
	var desc ofproto.PhyPort
	for _, p := range sw.ports {
		if p.PortNo == 3 {
			desc = p
		}
	}
	desc.State |= ofproto.PortStateLinkDown
	fx := n.c.receive(sw.s, roundTrip(t, &ofproto.PortStatus{Reason: ofproto.PortModified, Desc: desc}), n.now)
	dels := map[string]int{}
	for _, o := range fx.out {
		if fm, ok := o.msg.(*ofproto.FlowMod); ok && fm.Command == ofproto.FlowDeleteStrict {
			dels[fmt.Sprintf("%d/%#x/%d", o.s.dpid, fm.Cookie, fm.Match.InPort)]++
		}
	}
	assert.Len(t, dels, 6, "two flows of three entries each")
	for k, c := range dels {
		assert.Equal(t, 1, c, "entry %s deleted %d times", k, c)
	}
	n.take(fx)
	n.run()
	assert.Zero(t, n.c.tracker.Len(), "every entry's FLOW_REMOVED came back")
}

// TestSwitchDownInBatches: a switch carrying more flows than teardownBatch is torn down
// a batch at a time. The core's handling of the disconnect deletes the first batch; a
// packet of a flow still waiting gets that flow's deletes at once; the later steps
// delete the rest; every entry on the other switches is deleted exactly once and the
// switch ends with no flow in the tracker.
func TestSwitchDownInBatches(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	require.True(t, strings.HasSuffix(n.ping(n.hosts["h1"], n.hosts["h3"]), ": ok"))
	n.advance(time.Second)
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	const flows = 2*teardownBatch + 300
	frames := map[uint16][]byte{}
	path := []flowtracker.Hop{{DPID: 1, InPort: 1, OutPort: 3}, {DPID: 2, InPort: 2, OutPort: 3}, {DPID: 3, InPort: 2, OutPort: 1}}
	for i := range flows {
		port := uint16(1000 + i)
		f := udpFrame(h1.mac, h3.mac, h1.ip, h3.ip, port, 9, 0, 10)
		m, ok := fakeMatch(f, 1)
		require.True(t, ok)
		_, _, err := n.c.tracker.Add(flowkey.FromMatch(&m), path, n.now)
		require.NoError(t, err)
		frames[port] = f
	}
	total := n.c.tracker.OnSwitch(2)
	require.Equal(t, flows+2, total, "the UDP flows and the two pings' flows")

	dels := map[string]int{}
	count := func(fx *effects) int {
		k := 0
		for _, o := range fx.out {
			if fm, ok := o.msg.(*ofproto.FlowMod); ok && fm.Command == ofproto.FlowDeleteStrict {
				require.NotEqual(t, uint64(2), o.s.dpid, "a delete for the switch that went down")
				dels[fmt.Sprintf("%d/%#x/%d", o.s.dpid, fm.Cookie, fm.Match.InPort)]++
				k++
			}
		}
		return k
	}
	sw2 := n.sw[2]
	fx := n.c.closed(sw2.s, nil, n.now)
	assert.Equal(t, 2*teardownBatch, count(fx), "the first batch: two entries per flow")
	require.True(t, n.c.tearingDown())
	assert.Equal(t, total-teardownBatch, n.c.tracker.OnSwitch(2))

	// A packet of a flow still waiting: its entries are deleted at once.
	var waiting flowtracker.Flow
	n.c.tracker.RangeSwitch(2, func(f flowtracker.Flow) bool {
		if f.Key.TPDst == 9 {
			waiting = f
			waiting.Entries = slices.Clone(f.Entries)
			return false
		}
		return true
	})
	require.NotZero(t, waiting.ID)
	f := frames[waiting.Key.TPSrc]
	fx = n.c.receive(n.sw[1].s, roundTrip(t, &ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(f)), InPort: 1, Data: f}), n.now)
	assert.Equal(t, 2, count(fx), "the waiting flow's entries on s1 and s3")
	got, ok := n.c.tracker.Get(waiting.ID)
	require.True(t, ok)
	assert.True(t, got.Entries[1].Gone, "its entry on the switch that went down is gone")

	steps := 0
	for more := true; more; steps++ {
		fx, more = n.c.teardownStep(n.now.Add(time.Millisecond))
		count(fx)
	}
	assert.Equal(t, 2, steps)
	assert.False(t, n.c.tearingDown())
	assert.Zero(t, n.c.tracker.OnSwitch(2))
	assert.Len(t, dels, 2*total, "every flow's entries on s1 and s3")
	for k, c := range dels {
		assert.Equal(t, 1, c, "entry %s deleted %d times", k, c)
	}
}

// TestSwitchBackDuringTeardown: a switch that reconnects before its teardown ended has
// its remaining flows torn down before it takes new ones.
func TestSwitchBackDuringTeardown(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	path := []flowtracker.Hop{{DPID: 1, InPort: 1, OutPort: 3}, {DPID: 2, InPort: 2, OutPort: 3}, {DPID: 3, InPort: 2, OutPort: 1}}
	for i := range teardownBatch + 10 {
		_, _, err := n.c.tracker.Add(downKey(i), path, n.now)
		require.NoError(t, err)
	}
	n.disconnect(2)
	require.True(t, n.c.tearingDown())
	n.connect(2)
	assert.False(t, n.c.tearingDown())
	assert.Zero(t, n.c.tracker.OnSwitch(2))
}

// TestMidPathFlowGives: a packet in flight that reaches a switch after its flow's
// entries went installs the flow from there (the tracker has no flow of its key).
// When the next packet comes in at the real ingress, that flow goes, with its counters
// from its first switch, and the packet after installs the flow over the whole path:
// the ingress's packets are not delivered uncounted until the mid-path flow idles out.
func TestMidPathFlowGives(t *testing.T) {
	n := newFakeNet(t, Config{IdleTimeout: 5 * time.Second})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(2 * time.Second)
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	require.Contains(t, n.ping(h1, h3), "ok")
	n.advance(6 * time.Second) // the ping's flows go
	require.Zero(t, n.c.tracker.Len())

	// Each frame of the flow its own size: the flood guard drops a frame it sent
	// itself seen again.
	size := 100
	frame := func() []byte { size++; return udpFrame(h1.mac, h3.mac, h1.ip, h3.ip, 4000, 5001, 0, size) }
	n.frames = append(n.frames, frameAt{frame(), PortRef{2, 2}}) // in flight from s1
	n.run()
	key := flowkey.FromMatch(ptr(mustMatch(t, frame())))
	mid, ok := n.c.tracker.ByKey(key)
	require.True(t, ok, "the packet in flight installed a flow")
	require.Equal(t, []uint64{2, 3}, mid.DPIDs(), "from s2, where it came in")
	n.frames = append(n.frames, frameAt{frame(), PortRef{2, 2}}) // the last one in flight
	n.run()

	before := len(h3.got)
	n.hostSend(h1, frame())
	n.run()
	assert.Equal(t, before+1, len(h3.got), "the packet from the ingress was delivered")
	assert.Equal(t, uint64(1), n.c.stats.FlowsMidPath)
	got, ok := n.c.tracker.Get(mid.ID)
	require.True(t, ok)
	assert.Equal(t, flowtracker.StateExpired, got.State, "the mid-path flow went")
	fin, ok := got.Final()
	require.True(t, ok, "with its first switch's final counters")
	assert.Equal(t, uint64(1), fin.Packets)

	n.hostSend(h1, frame())
	n.run()
	f, ok := n.c.tracker.ByKey(key)
	require.True(t, ok)
	assert.Equal(t, []uint64{1, 2, 3}, f.DPIDs(), "the next packet installs the whole path")
	assert.Equal(t, before+2, len(h3.got))
	n.hostSend(h1, frame()) // and the one after goes by the entries
	pins := n.c.stats.PacketIns
	n.run()
	assert.Equal(t, pins, n.c.stats.PacketIns)
	assert.Equal(t, before+3, len(h3.got))
}
