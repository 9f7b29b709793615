package controller

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
)

// tableNet is s1-s2-s3 in a line with hosts h1..h3 that know each other, every
// switch's table limited to limit entries (max_entries reported as maxRep, 0 for
// Open vSwitch's 1000000).
func tableNet(t *testing.T, cfg Config, limit int, maxRep uint32) *fakeNet {
	t.Helper()
	n := newFakeNet(t, cfg)
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.sw[d].limit, n.sw[d].maxRep = limit, maxRep
		n.connect(d)
	}
	n.advance(2 * time.Second)
	for _, p := range [][2]string{{"h1", "h3"}, {"h3", "h1"}, {"h2", "h1"}} {
		require.Contains(t, n.ping(n.hosts[p[0]], n.hosts[p[1]]), "ok")
	}
	n.advance(cfg.withDefaults().IdleTimeout + time.Second) // the pings' flows go
	require.Zero(t, n.c.tracker.Len())
	return n
}

// sendUDP sends one packet of each of k UDP flows h1 -> h3 (source ports from base).
func sendUDP(n *fakeNet, base, k int) {
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	for i := range k {
		n.hostSend(h1, udpFrame(h1.mac, h3.mac, h1.ip, h3.ip, uint16(base+i), 5001, 0, 100))
	}
	n.run()
}

// checkTables: no flow of the tracker claims an entry its switch does not hold.
func checkTables(t *testing.T, n *fakeNet) {
	t.Helper()
	for _, f := range n.c.tracker.Snapshot() {
		if f.State == flowtracker.StateExpired {
			continue
		}
		for _, e := range f.Entries {
			if e.Gone {
				continue
			}
			want := flowkey.ToMatchGrain(f.Key, f.Grain, ofproto.PortNo(e.InPort))
			found := false
			for _, fe := range n.sw[e.DPID].table {
				found = found || (fe.cookie == f.Cookie && fe.match == want)
			}
			assert.True(t, found, "flow %d (%v) claims an entry on s%d the switch does not hold", f.ID, f.Grain, e.DPID)
		}
	}
}

// TestRefusedFlowMod: a FLOW_MOD the switch refuses marks the entry not installed
// (matched by xid), the table learns its limit from the refusal where max_entries does
// not say it, and the next flows through the full switch go by host-pair entries that
// carry every packet: PACKET_INs stop once they are in.
func TestRefusedFlowMod(t *testing.T) {
	n := tableNet(t, Config{IdleTimeout: 5 * time.Second, TableLow: 0.3}, 10, 0)
	h3 := n.hosts["h3"]
	got := len(h3.got)
	sendUDP(n, 1000, 14)
	checkTables(t, n)
	assert.Equal(t, got+14, len(h3.got), "every packet arrives")
	assert.Equal(t, uint64(3), n.c.stats.FlowModsRefused, "the 11th flow found every table full")
	// The next three were delivered without FLOW_MODs, and so was the 11th flow's
	// packet when it came back from s2, which had refused its entry.
	assert.Equal(t, uint64(4), n.c.stats.TableFullDelivered)
	var f flowtracker.Flow
	for _, g := range n.c.tracker.Snapshot() {
		if g.Key == keyOf(n, 1010) {
			f = g
		}
	}
	require.NotZero(t, f.ID, "the 11th flow is retained")
	assert.Equal(t, flowtracker.StateExpired, f.State, "no entry anywhere: the flow is not live")
	for _, e := range f.Entries {
		assert.True(t, e.Refused && e.Gone, "%+v", e)
		assert.Equal(t, flowtracker.ReasonRefused, e.Reason)
	}
	assert.Empty(t, f.Installed())

	ti := tableOf(t, n, 2)
	assert.Equal(t, 10, ti.Limit, "learned from the refusal: Open vSwitch reports 1000000")
	assert.True(t, ti.Learned)
	assert.True(t, ti.Fallback)
	assert.Equal(t, uint64(1), ti.Refused)
	assert.Equal(t, 10, ti.Estimate)

	n.advance(time.Second) // the table reading the refusal asked for
	ti = tableOf(t, n, 2)
	assert.True(t, ti.Read)
	assert.Equal(t, 10, ti.Active)
	assert.Equal(t, 1000000, ti.MaxEntries)
	assert.Equal(t, 10, ti.Limit)

	// Half the exact flows go idle and expire; the table has room for the aggregate.
	for range 6 {
		sendUDP(n, 1005, 5)
		n.advance(time.Second)
	}
	ti = tableOf(t, n, 2)
	assert.Equal(t, 5, ti.Estimate)
	assert.True(t, ti.Fallback, "above TableLow")

	got = len(h3.got)
	sendUDP(n, 1010, 20)
	checkTables(t, n)
	assert.Equal(t, got+20, len(h3.got), "every packet arrives")
	pf, ok := n.c.tracker.ByKeyGrain(flowtracker.HostPairKey(keyOf(n, 1000)), flowtracker.GrainHostPair)
	require.True(t, ok, "a host-pair aggregate carries the new flows")
	assert.Equal(t, flowtracker.StateActive, pf.State)
	assert.Equal(t, []uint64{1, 2, 3}, pf.DPIDs())

	pins := n.c.stats.PacketIns
	for range 5 {
		sendUDP(n, 1005, 25) // 5 exact flows, 20 in the aggregate
		sendUDP(n, 3000, 20) // new flows, in the aggregate at once
	}
	assert.Equal(t, pins, n.c.stats.PacketIns, "no PACKET_IN once the aggregate is in")
	var pairPkts, exactPkts uint64
	for _, fe := range n.sw[1].table {
		if fe.cookie == pf.Cookie {
			pairPkts = fe.packets
		} else {
			exactPkts += fe.packets
		}
	}
	assert.Equal(t, uint64(19+5*40), pairPkts, "the aggregate counts the host pair's packets no exact entry takes")
	assert.Equal(t, uint64(6+5)*5, exactPkts)
	checkTables(t, n)
}

// TestFallbackEnds: with max_entries telling the limit, the fallback starts at
// TableHigh before any refusal, and ends once entries expired below TableLow; the
// host-pair entries live FallbackHold at most.
func TestFallbackEnds(t *testing.T) {
	n := tableNet(t, Config{IdleTimeout: 2 * time.Second, FallbackHold: 4 * time.Second}, 10, 10)
	n.advance(10 * time.Second) // a table reading: max_entries 10
	require.Equal(t, 10, tableOf(t, n, 1).Limit)
	require.False(t, tableOf(t, n, 1).Learned)

	sendUDP(n, 1000, 12)
	checkTables(t, n)
	assert.Zero(t, n.c.stats.FlowModsRefused, "the fallback began at 8 entries, before the table was full")
	exact, pairs := 0, 0
	for _, f := range n.c.tracker.Snapshot() {
		if f.State == flowtracker.StateExpired {
			continue
		}
		if f.Grain == flowtracker.GrainHostPair {
			pairs++
		} else {
			exact++
		}
	}
	assert.Equal(t, 8, exact)
	assert.Equal(t, 1, pairs)
	assert.True(t, tableOf(t, n, 2).Fallback)

	// Only the aggregate's flows go on; the exact ones expire and the table empties.
	for range 3 {
		n.hostSend(n.hosts["h1"], udpFrame(n.hosts["h1"].mac, n.hosts["h3"].mac, n.hosts["h1"].ip, n.hosts["h3"].ip, 1011, 5001, 0, 100))
		n.run()
		n.advance(time.Second)
	}
	assert.False(t, tableOf(t, n, 2).Fallback, "estimate %d", tableOf(t, n, 2).Estimate)
	n.advance(2 * time.Second) // the aggregate's hard timeout
	_, ok := n.c.tracker.ByKeyGrain(flowtracker.HostPairKey(keyOf(n, 1000)), flowtracker.GrainHostPair)
	assert.False(t, ok, "the aggregate expired at its hard timeout")
	sendUDP(n, 5000, 1)
	f, ok := n.c.tracker.ByKey(keyOf(n, 5000))
	require.True(t, ok, "a new flow gets exact entries again")
	assert.Equal(t, flowtracker.GrainExact, f.Grain)
	checkTables(t, n)
}

func keyOf(n *fakeNet, sport int) flowtracker.Key {
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	m, ok := fakeMatch(udpFrame(h1.mac, h3.mac, h1.ip, h3.ip, uint16(sport), 5001, 0, 100), 1)
	if !ok {
		panic(fmt.Sprint("no match for port ", sport))
	}
	return flowkey.FromMatch(&m)
}

func tableOf(t *testing.T, n *fakeNet, dpid uint64) TableInfo {
	t.Helper()
	ts := n.c.tables[dpid]
	require.NotNil(t, ts, "no table state for s%d", dpid)
	return ts.info
}

// TestTableMetrics: the occupancy, limit, fallback and refusals of each switch's
// table are metrics, and lint clean.
func TestTableMetrics(t *testing.T) {
	n := tableNet(t, Config{IdleTimeout: 5 * time.Second}, 10, 0)
	sendUDP(n, 1000, 11)
	n.advance(time.Second)
	col := NewCollector(controllerOn(n))
	problems, err := testutil.CollectAndLint(col)
	require.NoError(t, err)
	require.Empty(t, problems)
	want := `
# HELP cemon_flow_table_entries Entries in the switch's flow table now: the last table statistics reading plus what was installed, less what was removed, since.
# TYPE cemon_flow_table_entries gauge
cemon_flow_table_entries{dpid="0000000000000001"} 10
cemon_flow_table_entries{dpid="0000000000000002"} 10
cemon_flow_table_entries{dpid="0000000000000003"} 10
# HELP cemon_flow_table_limit_entries Flow table capacity in force: max_entries, or the limit learned from a refused FLOW_MOD (0 while unknown).
# TYPE cemon_flow_table_limit_entries gauge
cemon_flow_table_limit_entries{dpid="0000000000000001"} 10
cemon_flow_table_limit_entries{dpid="0000000000000002"} 10
cemon_flow_table_limit_entries{dpid="0000000000000003"} 10
# HELP cemon_flow_table_fallback 1 while new flows through the switch are forwarded by host-pair entries (its table is full or nearly so).
# TYPE cemon_flow_table_fallback gauge
cemon_flow_table_fallback{dpid="0000000000000001"} 1
cemon_flow_table_fallback{dpid="0000000000000002"} 1
cemon_flow_table_fallback{dpid="0000000000000003"} 1
# HELP cemon_flow_mods_refused_all_total FLOW_MODs refused by any switch, the departed ones included.
# TYPE cemon_flow_mods_refused_all_total counter
cemon_flow_mods_refused_all_total 3
`
	require.NoError(t, testutil.CollectAndCompare(col, strings.NewReader(want), "cemon_flow_table_entries",
		"cemon_flow_table_limit_entries", "cemon_flow_table_fallback", "cemon_flow_mods_refused_all_total"))
}

// TestTakeAdd: a refusal finds its FLOW_ADD by xid, also across the xid counter's
// wrap, and only once.
func TestTakeAdd(t *testing.T) {
	ts := &tableState{}
	for i := range 62 { // adds that go: the next ones wrap around the ring
		ts.adds.push(pendingAdd{xid: uint32(0xfffffff0 - 200 + i), cookie: 1, at: int64(i)})
	}
	ts.adds.dropBefore(61)
	require.Equal(t, 64, len(ts.adds.buf))
	require.Equal(t, 62, ts.adds.head)
	for i, x := range []uint32{0xfffffffe, 0xffffffff, 1, 2} {
		ts.adds.push(pendingAdd{xid: x, cookie: uint64(10 + i), at: 1000})
	}
	require.Equal(t, 4, ts.adds.n)
	for _, tc := range []struct {
		xid    uint32
		cookie uint64
		ok     bool
	}{{1, 12, true}, {0xffffffff, 11, true}, {2, 13, true}, {5, 0, false}, {1, 0, false}} {
		p, ok := ts.takeAdd(tc.xid)
		assert.Equal(t, tc.ok, ok, "xid %#x", tc.xid)
		if ok {
			assert.Equal(t, tc.cookie, p.cookie, "xid %#x", tc.xid)
		}
	}
}

// TestAddRingShrinks: after a burst the ring keeps a buffer for what is left
// of it, oldest first, and not the burst's.
func TestAddRingShrinks(t *testing.T) {
	var r addRing
	for i := range 10_000 {
		r.push(pendingAdd{xid: uint32(i + 1), cookie: 1, at: int64(i)})
	}
	require.Equal(t, 16384, len(r.buf))
	r.dropBefore(9_899) // 100 left
	assert.Equal(t, 100, r.n)
	assert.Equal(t, 256, len(r.buf))
	for i := range r.n {
		assert.Equal(t, uint32(9_901+i), r.at(i).xid)
	}
	r.dropBefore(10_000)
	assert.Equal(t, 0, r.n)
	assert.Equal(t, minAddRing, len(r.buf))
	r.push(pendingAdd{xid: 7, cookie: 1, at: 20_000})
	assert.Equal(t, uint32(7), r.at(0).xid)
}

// TestRefusedCookie reads the cookie of the FLOW_ADD an error's data copies, and
// nothing from other requests or short data.
func TestRefusedCookie(t *testing.T) {
	add, err := (&ofproto.FlowMod{Xid: 7, Cookie: 0xabcd, Command: ofproto.FlowAdd, BufferID: ofproto.BufferNone,
		OutPort: ofproto.PortNone}).MarshalBinary()
	require.NoError(t, err)
	ck, ok := refusedCookie(add[:64])
	assert.True(t, ok)
	assert.Equal(t, uint64(0xabcd), ck)
	del, err := (&ofproto.FlowMod{Xid: 7, Cookie: 0xabcd, Command: ofproto.FlowDeleteStrict, BufferID: ofproto.BufferNone,
		OutPort: ofproto.PortNone}).MarshalBinary()
	require.NoError(t, err)
	_, ok = refusedCookie(del)
	assert.False(t, ok)
	_, ok = refusedCookie(add[:57])
	assert.False(t, ok)
	_, ok = refusedCookie(nil)
	assert.False(t, ok)
}

// FuzzRefusedCookie: any error data is read without a panic, and a FLOW_ADD's cookie
// comes back as encoded.
func FuzzRefusedCookie(f *testing.F) {
	add, _ := (&ofproto.FlowMod{Cookie: 0x1234, Command: ofproto.FlowAdd}).MarshalBinary()
	f.Add(add[:64])
	f.Add([]byte{1, 14, 0, 8})
	f.Fuzz(func(t *testing.T, data []byte) {
		ck, ok := refusedCookie(data)
		if !ok {
			return
		}
		m, err := ofproto.Decode(padFlowMod(data))
		if err != nil {
			return // the first bytes of something that is no whole FLOW_MOD
		}
		if fm, isFM := m.(*ofproto.FlowMod); isFM && fm.Cookie != ck {
			t.Fatalf("cookie %#x, the FLOW_MOD says %#x", ck, fm.Cookie)
		}
	})
}

// padFlowMod extends a FLOW_MOD's first bytes to its fixed length (72), setting the
// header's length, so that the codec can read it.
func padFlowMod(b []byte) []byte {
	if len(b) >= 72 {
		return b
	}
	out := append(append([]byte(nil), b...), make([]byte, 72-len(b))...)
	out[2], out[3] = 0, 72
	return out
}

// TestAbileneFullTables is the end-to-end test's scenario on the fake network: every
// Abilene switch holds 60 entries (and says so in max_entries); every host pair
// pings, then 300 UDP flows over ten host pairs send packets. No flow claims an entry
// its switch does not hold, every packet arrives, each pair's packets are all counted
// by its entries (exact or aggregate), and once the aggregates are in no data packet
// comes to the controller.
func TestAbileneFullTables(t *testing.T) {
	n := newFakeNet(t, Config{IdleTimeout: 3 * time.Second})
	buildGML(t, n, "Abilene.gml")
	for _, d := range sortedDPIDs(n.sw) {
		n.sw[d].limit, n.sw[d].maxRep = 60, 60
		n.connect(d)
	}
	n.advance(2 * time.Second)
	names := hostNames(n)
	for _, a := range names {
		for _, b := range names {
			if a != b {
				require.Contains(t, n.ping(n.hosts[a], n.hosts[b]), "ok", "pingall")
			}
		}
	}
	checkTables(t, n)
	n.advance(5 * time.Second) // the pings' flows go
	pairs := [][2]string{{"h1", "h4"}, {"h6", "h3"}, {"h9", "h2"}, {"h5", "h11"}, {"h2", "h7"},
		{"h3", "h10"}, {"h4", "h8"}, {"h7", "h1"}, {"h8", "h5"}, {"h10", "h6"}}
	send := func() {
		for _, p := range pairs {
			a, b := n.hosts[p[0]], n.hosts[p[1]]
			for i := range 30 {
				n.hostSend(a, udpFrame(a.mac, b.mac, a.ip, b.ip, uint16(40000+i), 5001, 0, 958))
			}
		}
		n.run()
	}
	udpFrom := func(dst, src *fakeHost) int {
		k := 0
		for _, g := range dst.got {
			if strings.HasPrefix(g, "udp "+src.ip.String()+":") {
				k++
			}
		}
		return k
	}
	var pins uint64
	const rounds = 10
	for r := range rounds {
		if r == 3 {
			pins = n.c.stats.PacketIns - n.c.stats.LLDPReceived
		}
		send()
		checkTables(t, n)
		n.advance(500 * time.Millisecond)
	}
	assert.Equal(t, pins, n.c.stats.PacketIns-n.c.stats.LLDPReceived, "PACKET_INs but LLDP once the aggregates are in")
	for _, p := range pairs {
		assert.Equal(t, 30*rounds, udpFrom(n.hosts[p[1]], n.hosts[p[0]]), "%s -> %s: every packet arrives", p[0], p[1])
	}
	// Every packet but those that went through the controller (the first of each
	// flow or aggregate) is counted at the ingress by an entry of the tracker.
	exact, aggregate := 0, 0
	for _, p := range pairs {
		a, b := n.hosts[p[0]], n.hosts[p[1]]
		var counted uint64
		for _, fe := range n.sw[a.at.DPID].table {
			if fe.match.NWSrc == a.ip && fe.match.NWDst == b.ip && fe.match.InPort == 1 {
				f, ok := n.c.tracker.ByCookie(fe.cookie)
				require.True(t, ok)
				if f.Grain == flowtracker.GrainHostPair {
					aggregate++
				} else {
					exact++
				}
				counted += fe.packets
			}
		}
		assert.InDelta(t, 30*rounds, counted, 30, "%s -> %s: packets counted by its entries", p[0], p[1])
	}
	assert.Positive(t, aggregate, "some pairs go by aggregates")
	for _, d := range sortedDPIDs(n.sw) {
		ex, ag := 0, 0
		for _, fe := range n.sw[d].table {
			if fe.match.Wildcards != 0 {
				ag++
			} else {
				ex++
			}
		}
		ti := tableOf(t, n, d)
		t.Logf("s%d: %d exact, %d aggregate entries; estimate %d limit %d fallback %v refused %d", d, ex, ag, ti.Estimate, ti.Limit, ti.Fallback, ti.Refused)
	}
	for _, d := range sortedDPIDs(n.sw) {
		assert.LessOrEqual(t, len(n.sw[d].table), 60)
	}
	t.Logf("%d exact flows and %d aggregates at the ingresses; %d FLOW_MODs refused; %d host-pair aggregates; %d packets delivered past full tables",
		exact, aggregate, n.c.stats.FlowModsRefused, n.c.stats.HostPairFlows, n.c.stats.TableFullDelivered)
}

// TestEvictForAggregate: a full table makes room for a new host pair's aggregate by
// deleting an exact flow whose own pair's aggregate carries it on; that flow's
// packets then go by its aggregate without a PACKET_IN.
func TestEvictForAggregate(t *testing.T) {
	n := tableNet(t, Config{IdleTimeout: 5 * time.Second}, 10, 10)
	h1, h2, h3 := n.hosts["h1"], n.hosts["h2"], n.hosts["h3"]
	sendUDP(n, 1000, 8) // 8 exact flows: the fallback begins
	sendUDP(n, 2000, 3) // the aggregate h1 -> h3
	for i := range 3 {  // the aggregate h3 -> h1: s1..s3 are full
		n.hostSend(h3, udpFrame(h3.mac, h1.mac, h3.ip, h1.ip, uint16(3000+i), 5001, 0, 100))
	}
	n.run()
	require.Equal(t, 10, tableOf(t, n, 2).Estimate)
	require.Zero(t, n.c.stats.FlowsEvicted)

	n.hostSend(h2, udpFrame(h2.mac, h3.mac, h2.ip, h3.ip, 4000, 5001, 0, 100))
	n.run()
	checkTables(t, n)
	assert.Equal(t, uint64(1), n.c.stats.FlowsEvicted, "one exact h1 -> h3 flow gave way")
	assert.Zero(t, n.c.stats.TableFullDelivered)
	_, ok := n.c.tracker.ByKeyGrain(flowtracker.HostPairKey(flowkey.FromMatch(ptr(mustMatch(t, udpFrame(h2.mac, h3.mac, h2.ip, h3.ip, 4000, 5001, 0, 100))))), flowtracker.GrainHostPair)
	assert.True(t, ok, "the h2 -> h3 aggregate is installed")
	assert.Equal(t, 10, len(n.sw[3].table))

	pins := n.c.stats.PacketIns
	sendUDP(n, 1000, 8) // the evicted flow's packets go by the aggregate
	assert.Equal(t, pins, n.c.stats.PacketIns)
	checkTables(t, n)
}

func mustMatch(t *testing.T, frame []byte) ofproto.Match {
	t.Helper()
	m, ok := fakeMatch(frame, 1)
	require.True(t, ok)
	return m
}

func ptr[T any](v T) *T { return &v }

// TestRefusedUnderAggregate: an exact flow whose ingress entry is refused while its
// host pair's aggregate is in would have its packets taken by the aggregate at the
// ingress and counted again by its own entries further on: what is left of it goes.
func TestRefusedUnderAggregate(t *testing.T) {
	n := tableNet(t, Config{IdleTimeout: 5 * time.Second}, 0, 0)
	sendUDP(n, 1000, 1) // an exact flow
	f, ok := n.c.tracker.ByKey(keyOf(n, 1000))
	require.True(t, ok)
	n.c.table(2).info.Fallback = true // no limit known: it stays on
	sendUDP(n, 2000, 1)               // the pair's aggregate
	_, ok = n.c.tracker.ByKeyGrain(flowtracker.HostPairKey(keyOf(n, 1000)), flowtracker.GrainHostPair)
	require.True(t, ok)

	// s1 refuses the exact flow's entry after all (it never held it).
	s1 := n.sw[1]
	for i, fe := range s1.table {
		if fe.cookie == f.Cookie {
			s1.table = slices.Delete(s1.table, i, i+1)
			break
		}
	}
	add, err := (&ofproto.FlowMod{Xid: 999999, Cookie: f.Cookie, Command: ofproto.FlowAdd, BufferID: ofproto.BufferNone,
		OutPort: ofproto.PortNone}).MarshalBinary()
	require.NoError(t, err)
	n.fromSwitch(s1, &ofproto.ErrorMsg{Xid: 999999, ErrType: ofproto.ErrTypeFlowModFailed, Code: ofproto.FlowModAllTablesFull, Data: add[:64]})
	n.run()
	got, _ := n.c.tracker.Get(f.ID)
	assert.Equal(t, flowtracker.StateExpired, got.State, "the rest of the flow was deleted")
	assert.True(t, got.Entries[0].Refused)
	for _, d := range []uint64{2, 3} {
		for _, fe := range n.sw[d].table {
			assert.NotEqual(t, f.Cookie, fe.cookie, "s%d still holds the flow's entry", d)
		}
	}
	checkTables(t, n)
}

// TestTableReadingKeepsLaterAdds: FLOW_ADDs sent after the table statistics request
// are not in its answer; the estimate keeps them.
func TestTableReadingKeepsLaterAdds(t *testing.T) {
	n := tableNet(t, Config{IdleTimeout: 5 * time.Second}, 0, 60)
	c := n.c
	s := n.sw[1].s
	ts := c.table(1)
	ts.askNow = true
	c.fx.reset()
	c.tablesTick(n.now) // the request goes out
	require.NotZero(t, ts.xid)
	before := ts.estimate()
	for i := range 3 {
		c.noteFlowAdd(s, &ofproto.FlowMod{Xid: uint32(5000 + i), Cookie: 1}, n.now)
	}
	c.tableReply(s, &ofproto.StatsReply{Xid: ts.xid, Body: &ofproto.TableStatsReply{Entries: []ofproto.TableStats{
		{TableID: 0, ActiveCount: uint32(before), MaxEntries: 60}}}}, n.now)
	assert.Equal(t, before+3, ts.info.Estimate, "the adds sent after the request are kept")
}

// TestTrunkPacketOfAggregate: a packet the host pair's aggregate carried upstream
// that reaches a switch before the aggregate's entry there (its FLOW_MOD raced the
// packet) goes on along the aggregate's entry; no exact flow is installed from that
// switch, which would count the packets the aggregate counts at the ingress a second
// time.
func TestTrunkPacketOfAggregate(t *testing.T) {
	n := tableNet(t, Config{IdleTimeout: 5 * time.Second}, 0, 0)
	n.c.table(2).info.Fallback = true // no limit known: it stays on
	sendUDP(n, 2000, 1)               // the pair's aggregate, over s1..s3
	pk := flowtracker.HostPairKey(keyOf(n, 2000))
	pf, ok := n.c.tracker.ByKeyGrain(pk, flowtracker.GrainHostPair)
	require.True(t, ok)
	require.Equal(t, []uint64{1, 2, 3}, pf.DPIDs())

	// s3 has not installed the aggregate's entry yet when a packet of a new flow,
	// which the aggregate took at s1 and s2, comes in from s2.
	s3 := n.sw[3]
	var held *fakeEntry
	for i, fe := range s3.table {
		if fe.cookie == pf.Cookie {
			held = fe
			s3.table = slices.Delete(s3.table, i, i+1)
			break
		}
	}
	require.NotNil(t, held)
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	installed, got := n.c.stats.FlowsInstalled, len(h3.got)
	n.frames = append(n.frames, frameAt{udpFrame(h1.mac, h3.mac, h1.ip, h3.ip, 2001, 5001, 0, 100), PortRef{3, 2}})
	n.run()
	assert.Equal(t, got+1, len(h3.got), "the packet went on")
	assert.Equal(t, installed, n.c.stats.FlowsInstalled, "nothing installed from s3")
	_, ok = n.c.tracker.ByKey(keyOf(n, 2001))
	assert.False(t, ok, "no exact flow from mid-path")
	s3.table = append(s3.table, held)
	checkTables(t, n)
}
