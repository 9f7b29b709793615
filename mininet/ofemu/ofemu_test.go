package ofemu

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// ctlConn is the controller side of one switch connection in a test.
type ctlConn struct {
	t   *testing.T
	c   net.Conn
	fr  *ofproto.Framer
	xid uint32
}

func accept(t *testing.T, ln net.Listener) *ctlConn {
	t.Helper()
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(15 * time.Second))
	c, err := ln.Accept()
	require.NoError(t, err, "the switch did not connect")
	t.Cleanup(func() { c.Close() })
	cc := &ctlConn{t: t, c: c, fr: ofproto.NewFramer(c, ofproto.MaxMessageLen)}
	cc.send(&ofproto.Hello{})
	cc.recv(func(m ofproto.Message) bool { _, ok := m.(*ofproto.Hello); return ok })
	return cc
}

func (cc *ctlConn) send(m ofproto.Message) uint32 {
	cc.t.Helper()
	if m.XID() == 0 {
		cc.xid++
		m.SetXID(cc.xid)
	}
	b, err := ofproto.AppendMarshal(nil, m)
	require.NoError(cc.t, err)
	_, err = cc.c.Write(b)
	require.NoError(cc.t, err)
	return m.XID()
}

// recv returns the first message want accepts, skipping others (echoes are answered).
func (cc *ctlConn) recv(want func(ofproto.Message) bool) ofproto.Message {
	cc.t.Helper()
	_ = cc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		b, err := cc.fr.Next()
		require.NoError(cc.t, err)
		m, err := ofproto.Decode(b)
		if err != nil {
			continue // messages our codec does not know (Open vSwitch extensions)
		}
		if e, ok := m.(*ofproto.EchoRequest); ok {
			cc.send(&ofproto.EchoReply{Xid: e.Xid, Data: e.Data})
			continue
		}
		if want(m) {
			return m
		}
	}
}

// stats sends a statistics request and returns every part of its reply.
func (cc *ctlConn) stats(body ofproto.StatsBody) []*ofproto.StatsReply {
	cc.t.Helper()
	xid := cc.send(&ofproto.StatsRequest{Body: body})
	var out []*ofproto.StatsReply
	for {
		m := cc.recv(func(m ofproto.Message) bool {
			r, ok := m.(*ofproto.StatsReply)
			return ok && r.Xid == xid
		})
		r := m.(*ofproto.StatsReply)
		out = append(out, r)
		if !r.More() {
			return out
		}
	}
}

func (cc *ctlConn) barrier() {
	xid := cc.send(&ofproto.BarrierRequest{})
	cc.recv(func(m ofproto.Message) bool { b, ok := m.(*ofproto.BarrierReply); return ok && b.Xid == xid })
}

// script installs n exact-match UDP entries (each outputting to port 1) and two
// wildcard ones, then returns the flow statistics of all entries, the aggregate of
// the UDP ones and the table statistics, as the controller sees them.
type observed struct {
	parts     []int // entries per reply message
	more      []bool
	entries   []string
	aggregate ofproto.AggregateStatsReply
	active    uint32
}

func flowMods(n int) []*ofproto.FlowMod {
	var out []*ofproto.FlowMod
	for i := 0; i < n; i++ {
		m := ofproto.MatchAll()
		m.Wildcards = ofproto.WildAll &^ (ofproto.WildInPort | ofproto.WildDLType | ofproto.WildNWProto | ofproto.WildTPSrc | ofproto.WildTPDst)
		m.Wildcards = m.Wildcards.WithNWSrcPrefixLen(32).WithNWDstPrefixLen(32)
		m.InPort, m.DLType, m.NWProto = 1, 0x0800, 17
		m.NWSrc = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		m.NWDst = netip.AddrFrom4([4]byte{10, 1, 0, 1})
		m.TPSrc, m.TPDst = uint16(1000+i), 5001
		out = append(out, &ofproto.FlowMod{Match: m, Cookie: uint64(i + 1), Command: ofproto.FlowAdd, IdleTimeout: 300,
			Priority: 100, BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone, Flags: ofproto.FlagSendFlowRem,
			Actions: []ofproto.Action{&ofproto.OutputAction{Port: 1, MaxLen: 0}}})
	}
	arp := ofproto.MatchAll()
	arp.Wildcards &^= ofproto.WildDLType
	arp.DLType = 0x0806
	out = append(out, &ofproto.FlowMod{Match: arp, Cookie: 0xa, Command: ofproto.FlowAdd, Priority: 10,
		BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone, Actions: []ofproto.Action{&ofproto.OutputAction{Port: ofproto.PortController, MaxLen: 128}}})
	return out
}

func runScript(t *testing.T, cc *ctlConn, n int) observed {
	t.Helper()
	for _, fm := range flowMods(n) {
		cc.send(fm)
	}
	cc.barrier()
	var o observed
	for _, r := range cc.stats(&ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone}) {
		fs := r.Body.(*ofproto.FlowStatsReply)
		o.parts = append(o.parts, len(fs.Entries))
		o.more = append(o.more, r.More())
		for _, e := range fs.Entries {
			o.entries = append(o.entries, fmt.Sprintf("%s cookie=%#x prio=%d idle=%d hard=%d pkts=%d bytes=%d acts=%v",
				e.Match.String(), e.Cookie, e.Priority, e.IdleTimeout, e.HardTimeout, e.PacketCount, e.ByteCount, e.Actions))
		}
	}
	slices.Sort(o.entries)
	udp := ofproto.MatchAll()
	udp.Wildcards &^= ofproto.WildDLType | ofproto.WildNWProto
	udp.DLType, udp.NWProto = 0x0800, 17
	agg := cc.stats(&ofproto.AggregateStatsRequest{Match: udp, TableID: 0xff, OutPort: ofproto.PortNone})
	o.aggregate = *agg[0].Body.(*ofproto.AggregateStatsReply)
	for _, r := range cc.stats(&ofproto.TableStatsRequest{}) {
		for _, ts := range r.Body.(*ofproto.TableStatsReply).Entries {
			if ts.TableID == 0 {
				o.active = ts.ActiveCount
			}
		}
	}
	return o
}

// TestStatsRepliesLikeOpenVSwitch runs the same FLOW_MODs and statistics requests
// against an Open vSwitch bridge and an emulated switch: the replies have the same
// shape (messages, entries per message, REPLY_MORE flags), the same entries and
// counters, the same aggregate and the same active count.
func TestStatsRepliesLikeOpenVSwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("live Open vSwitch test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create an Open vSwitch bridge")
	}
	if _, err := exec.LookPath("ovs-vsctl"); err != nil {
		t.Skip("needs Open vSwitch (ovs-vsctl)")
	}
	if out, err := exec.Command("ovs-vsctl", "--timeout=3", "show").CombinedOutput(); err != nil {
		t.Skipf("Open vSwitch is not running: %v: %s", err, out)
	}
	const n = 1500 // three reply messages: 682 + 682 + 137 entries of 96 bytes
	lnOVS, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer lnOVS.Close()
	br := fmt.Sprintf("cmemu%x", os.Getpid()&0xffffff)
	t.Cleanup(func() { _ = exec.Command("ovs-vsctl", "--timeout=10", "--if-exists", "del-br", br).Run() })
	out, err := exec.Command("ovs-vsctl", "--timeout=10", "add-br", br,
		"--", "set", "bridge", br, "datapath_type=netdev", "protocols=OpenFlow10", "fail_mode=secure",
		"other-config:disable-in-band=true",
		"--", "add-port", br, br+"p1", "--", "set", "interface", br+"p1", "type=internal", "ofport_request=1",
		"--", "set-controller", br, "tcp:"+lnOVS.Addr().String()).CombinedOutput()
	require.NoError(t, err, "%s", out)
	ovs := runScript(t, accept(t, lnOVS), n)

	lnEmu, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer lnEmu.Close()
	emu, err := New(Config{Controller: lnEmu.Addr().String(), Switches: 1})
	require.NoError(t, err)
	started := make(chan error, 1)
	go func() { started <- emu.Start(context.Background()) }()
	cc := accept(t, lnEmu)
	require.NoError(t, <-started)
	defer emu.Close()
	got := runScript(t, cc, n)

	require.Equal(t, ovs.parts, got.parts, "entries per reply message")
	require.Equal(t, ovs.more, got.more, "OFPSF_REPLY_MORE flags")
	require.Equal(t, ovs.entries, got.entries, "flow entries")
	require.Equal(t, ovs.aggregate, got.aggregate, "aggregate statistics of the UDP entries")
	require.Equal(t, ovs.active, got.active, "active entries of table 0")
	require.Equal(t, uint32(n+1), got.active)
}

// TestTableLimit: additions past MaxEntries are refused with
// OFPFMFC_ALL_TABLES_FULL, by xid, and the table keeps MaxEntries entries.
func TestTableLimit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	emu, err := New(Config{Controller: ln.Addr().String(), Switches: 1, MaxEntries: 10})
	require.NoError(t, err)
	go func() { _ = emu.Start(context.Background()) }()
	cc := accept(t, ln)
	defer emu.Close()
	var xids []uint32
	for _, fm := range flowMods(30)[:30] {
		xids = append(xids, cc.send(fm))
	}
	var refused []uint32
	for range 20 {
		m := cc.recv(func(m ofproto.Message) bool { _, ok := m.(*ofproto.ErrorMsg); return ok }).(*ofproto.ErrorMsg)
		require.Equal(t, ofproto.ErrTypeFlowModFailed, m.ErrType)
		require.Equal(t, ofproto.FlowModAllTablesFull, m.Code)
		refused = append(refused, m.Xid)
	}
	require.Equal(t, xids[10:], refused)
	cc.barrier()
	require.Equal(t, 10, emu.Switches()[0].Stats().Entries)
	ts := cc.stats(&ofproto.TableStatsRequest{})[0].Body.(*ofproto.TableStatsReply).Entries[0]
	require.Equal(t, uint32(10), ts.MaxEntries)
	require.Equal(t, uint32(10), ts.ActiveCount)
}

// TestCountersAndExpiry: an entry's counters follow the traffic model; an entry
// without traffic expires by its idle timeout with a FLOW_REMOVED carrying its
// counters; a slow switch's statistics come late.
func TestCountersAndExpiry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	traffic := func(_ uint64, m *ofproto.Match, cookie uint64) (float64, int) {
		if cookie == 1 {
			return 1e6, 1000 // 8 Mbit/s
		}
		return 0, 0
	}
	emu, err := New(Config{Controller: ln.Addr().String(), Switches: 1, Traffic: traffic, Tick: 20 * time.Millisecond,
		StatsDelay: func(uint64) time.Duration { return 300 * time.Millisecond }})
	require.NoError(t, err)
	go func() { _ = emu.Start(context.Background()) }()
	cc := accept(t, ln)
	defer emu.Close()
	fms := flowMods(2)
	fms[1].IdleTimeout = 1
	cc.send(fms[0])
	cc.send(fms[1])
	cc.barrier()
	fr := cc.recv(func(m ofproto.Message) bool { _, ok := m.(*ofproto.FlowRemoved); return ok }).(*ofproto.FlowRemoved)
	require.Equal(t, uint64(2), fr.Cookie)
	require.Equal(t, ofproto.RemovedIdleTimeout, fr.Reason)
	require.Zero(t, fr.PacketCount)
	asked := time.Now()
	parts := cc.stats(&ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone})
	require.GreaterOrEqual(t, time.Since(asked), 250*time.Millisecond, "the reply waited for the switch's delay")
	es := parts[0].Body.(*ofproto.FlowStatsReply).Entries
	require.Len(t, es, 1)
	e := es[0]
	secs := float64(e.DurationSec) + float64(e.DurationNsec)/1e9
	require.InDelta(t, 1e6*secs, float64(e.ByteCount), 1e6*0.1+1000, "bytes follow 1 MB/s over %.2f s", secs)
	require.Equal(t, e.ByteCount/1000, e.PacketCount)
	ps := cc.stats(&ofproto.PortStatsRequest{PortNo: 1})[0].Body.(*ofproto.PortStatsReply).Entries[0]
	require.GreaterOrEqual(t, ps.RxBytes, e.ByteCount, "port 1 counts what enters by it")
}

// TestTopologyDiscoveryByLLDP: an LLDP frame sent out of a link port arrives at the
// other end as a PACKET_IN with the peer's port.
func TestLLDPCrossesLinks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	emu, err := New(Config{Controller: ln.Addr().String(), Graph: topology.Linear(2)})
	require.NoError(t, err)
	go func() { _ = emu.Start(context.Background()) }()
	a, b := accept(t, ln), accept(t, ln)
	defer emu.Close()
	fa := a.recvFeatures()
	fb := b.recvFeatures()
	if fa.DatapathID != 1 {
		a, b, fa, fb = b, a, fb, fa
	}
	require.Len(t, fa.Ports, 2)
	require.Len(t, fb.Ports, 2)
	lldp := topology.BuildLLDP(fa.DatapathID, 2, fa.Ports[1].HWAddr)
	a.send(&ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: ofproto.PortNone,
		Actions: []ofproto.Action{&ofproto.OutputAction{Port: 2}}, Data: lldp})
	pi := b.recv(func(m ofproto.Message) bool { _, ok := m.(*ofproto.PacketIn); return ok }).(*ofproto.PacketIn)
	require.Equal(t, ofproto.PortNo(2), pi.InPort)
	src, port, err := topology.ParseLLDP(pi.Data)
	require.NoError(t, err)
	require.Equal(t, uint64(1), src)
	require.Equal(t, uint16(2), port)
}

func (cc *ctlConn) recvFeatures() *ofproto.FeaturesReply {
	xid := cc.send(&ofproto.FeaturesRequest{})
	return cc.recv(func(m ofproto.Message) bool {
		f, ok := m.(*ofproto.FeaturesReply)
		return ok && f.Xid == xid
	}).(*ofproto.FeaturesReply)
}
