package ofproto

// Differential tests against Open vSwitch: what we encode, ovs-ofctl
// ofp-print must read as what we meant; what a live Open vSwitch (userspace
// datapath) sends, we must decode to what ovs-ofctl reports. They install
// nothing: without Open vSwitch they skip (make setup installs it).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// -capture FILE appends every message TestOVSLive receives to FILE as
// "TYPE HEX" lines; testdata/ovs-capture.txt was made that way.
var captureFile = flag.String("capture", "", "append the messages TestOVSLive receives, in hex, to this file")

func requireOVSOfctl(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ovs-ofctl"); err != nil {
		t.Skip("ovs-ofctl not installed (make setup installs Open vSwitch)")
	}
}

func requireOVS(t *testing.T) {
	t.Helper()
	requireOVSOfctl(t)
	if _, err := exec.LookPath("ovs-vsctl"); err != nil {
		t.Skip("ovs-vsctl not installed (make setup installs Open vSwitch)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ovs-vsctl", "--timeout=3", "show").CombinedOutput(); err != nil {
		t.Skipf("Open vSwitch is not running (ovs-vsctl show: %v: %s); make setup starts it", err, bytes.TrimSpace(out))
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestOVSPrintsWhatWeEncode: ovs-ofctl ofp-print decodes each message we
// encode to what we meant.
func TestOVSPrintsWhatWeEncode(t *testing.T) {
	requireOVSOfctl(t)
	m := testMatch()
	cases := []struct {
		msg  Message
		want []string
	}{
		{&Hello{Xid: 1}, []string{"OFPT_HELLO (xid=0x1)"}},
		{&ErrorMsg{Xid: 2, ErrType: ErrTypeFlowModFailed, Code: FlowModAllTablesFull, Data: make([]byte, 8)},
			[]string{"OFPT_ERROR (xid=0x2): OFPFMFC_TABLE_FULL"}},
		{&ErrorMsg{Xid: 2, ErrType: ErrTypeBadAction, Code: BadActionBadOutPort, Data: make([]byte, 8)},
			[]string{"OFPT_ERROR (xid=0x2): OFPBAC_BAD_OUT_PORT"}},
		{&EchoRequest{Xid: 3, Data: []byte("ping")}, []string{"OFPT_ECHO_REQUEST (xid=0x3): 4 bytes of payload"}},
		{&EchoReply{Xid: 3}, []string{"OFPT_ECHO_REPLY (xid=0x3): 0 bytes of payload"}},
		{&RoleRequest{Xid: 4, Role: RolePrimary}, []string{"NXT_ROLE_REQUEST (xid=0x4): role=primary"}},
		{&RoleReply{Xid: 4, Role: RoleOther}, []string{"NXT_ROLE_REPLY (xid=0x4): role=equal"}},
		{&FeaturesRequest{Xid: 5}, []string{"OFPT_FEATURES_REQUEST (xid=0x5)"}},
		{&FeaturesReply{Xid: 5, DatapathID: 0xc0ffee, NBuffers: 256, NTables: 254,
			Capabilities: CapFlowStats | CapTableStats | CapPortStats, Actions: 1<<ActionOutput | 1<<ActionEnqueue,
			Ports: []PhyPort{testPort(7, "s1-eth7")}},
			[]string{"OFPT_FEATURES_REPLY (xid=0x5): dpid:0000000000c0ffee", "n_tables:254, n_buffers:256",
				"capabilities: FLOW_STATS TABLE_STATS PORT_STATS", "actions: output enqueue",
				" 7(s1-eth7): addr:00:11:22:33:44:55", "config:     NO_FLOOD", "current:    1GB-FD COPPER"}},
		{&GetConfigRequest{Xid: 6}, []string{"OFPT_GET_CONFIG_REQUEST (xid=0x6)"}},
		{&GetConfigReply{Xid: 6, SwitchConfig: SwitchConfig{Flags: FragReasm, MissSendLen: 128}},
			[]string{"OFPT_GET_CONFIG_REPLY (xid=0x6): frags=reassemble miss_send_len=128"}},
		{&SetConfig{Xid: 7, SwitchConfig: SwitchConfig{MissSendLen: 0xffff}},
			[]string{"OFPT_SET_CONFIG (xid=0x7): frags=normal miss_send_len=65535"}},
		{&PacketIn{Xid: 8, BufferID: 0x100, TotalLen: 64, InPort: 2, Reason: ReasonAction, Data: testFrame()},
			[]string{"OFPT_PACKET_IN (xid=0x8): total_len=64 in_port=2 (via action) data_len=42 buffer=0x00000100",
				"udp,vlan_tci=0x0000,dl_src=00:11:22:33:44:55,dl_dst=66:77:88:99:aa:bb,nw_src=10.0.0.1,nw_dst=10.0.0.2"}},
		{&FlowRemoved{Xid: 9, Match: m, Cookie: 0xabc, Priority: 7, Reason: RemovedIdleTimeout,
			DurationSec: 3, DurationNsec: 5e8, IdleTimeout: 10, PacketCount: 11, ByteCount: 1234},
			[]string{"OFPT_FLOW_REMOVED (xid=0x9): priority=7,tcp,in_port=3,dl_src=00:11:22:33:44:55,dl_dst=66:77:88:99:aa:bb,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=40000,tp_dst=80 reason=idle cookie:0xabc duration3.500s idle10 pkts11 bytes1234"}},
		{&FlowRemoved{Xid: 9, Match: m, Reason: RemovedDelete}, []string{"reason=delete"}},
		{&PortStatus{Xid: 10, Reason: PortDeleted, Desc: testPort(3, "eth3")},
			[]string{"OFPT_PORT_STATUS (xid=0xa): DEL: 3(eth3): addr:00:11:22:33:44:55"}},
		{&PacketOut{Xid: 11, BufferID: BufferNone, InPort: 1, Actions: []Action{&OutputAction{Port: 2}, &OutputAction{Port: PortController, MaxLen: 64}}, Data: testFrame()},
			[]string{"OFPT_PACKET_OUT (xid=0xb): in_port=1 actions=output:2,CONTROLLER:64 data_len=42", "udp,vlan_tci=0x0000,dl_src=00:11:22:33:44:55"}},
		{&FlowMod{Xid: 12, Match: m, Cookie: 0x99, Command: FlowModifyStrict, IdleTimeout: 5, HardTimeout: 10,
			Priority: 300, BufferID: BufferNone, OutPort: PortNone, Flags: FlagSendFlowRem | FlagCheckOverlap, Actions: allActions()[:13]},
			[]string{"OFPT_FLOW_MOD (xid=0xc): MOD_STRICT priority=300,tcp,in_port=3,dl_src=00:11:22:33:44:55,dl_dst=66:77:88:99:aa:bb,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=40000,tp_dst=80 cookie:0x99 idle:5 hard:10 send_flow_rem check_overlap actions=output:2,CONTROLLER:128,mod_vlan_vid:42,mod_vlan_pcp:5,strip_vlan,mod_dl_src:00:11:22:33:44:55,mod_dl_dst:66:77:88:99:aa:bb,mod_nw_src:192.168.1.1,mod_nw_dst:192.168.1.2,mod_nw_tos:32,mod_tp_src:1234,mod_tp_dst:4321,enqueue:1:7"}},
		{&FlowMod{Xid: 13, Match: Match{Wildcards: (WildAll &^ WildDLType).WithNWSrcPrefixLen(24).WithNWDstPrefixLen(16),
			DLType: 0x0800, NWSrc: netip.MustParseAddr("10.1.2.0"), NWDst: netip.MustParseAddr("10.9.0.0")}, Command: FlowDelete, OutPort: 5, BufferID: BufferNone},
			[]string{"OFPT_FLOW_MOD (xid=0xd): DEL priority=0,ip,nw_src=10.1.2.0/24,nw_dst=10.9.0.0/16 out_port:5"}},
		{&PortMod{Xid: 14, PortNo: 1, HWAddr: testMAC1, Config: PortConfigNoFlood, Mask: PortConfigNoFlood | PortConfigDown},
			[]string{"OFPT_PORT_MOD (xid=0xe): port: 1: addr:00:11:22:33:44:55", "config: NO_FLOOD", "mask:   PORT_DOWN NO_FLOOD"}},
		{&StatsRequest{Xid: 15, Body: &DescStatsRequest{}}, []string{"OFPST_DESC request (xid=0xf)"}},
		{&StatsRequest{Xid: 16, Body: &FlowStatsRequest{Match: m, TableID: 0xff, OutPort: 4}},
			[]string{"OFPST_FLOW request (xid=0x10): out_port=4 tcp,in_port=3,"}},
		{&StatsRequest{Xid: 17, Body: &AggregateStatsRequest{Match: MatchAll(), TableID: 0xff, OutPort: PortNone}},
			[]string{"OFPST_AGGREGATE request (xid=0x11)"}},
		{&StatsRequest{Xid: 18, Body: &TableStatsRequest{}}, []string{"OFPST_TABLE request (xid=0x12)"}},
		{&StatsRequest{Xid: 19, Body: &PortStatsRequest{PortNo: 3}}, []string{"OFPST_PORT request (xid=0x13): port_no=3"}},
		{&StatsRequest{Xid: 20, Body: &QueueStatsRequest{PortNo: 3, QueueID: 2}}, []string{"OFPST_QUEUE request (xid=0x14): port=3 queue=2"}},
		{&StatsReply{Xid: 21, Body: &DescStats{MfrDesc: "cemon", HWDesc: "hw", SWDesc: "sw", SerialNum: "42", DPDesc: "dp"}},
			[]string{"OFPST_DESC reply (xid=0x15)", "Manufacturer: cemon", "Serial Num: 42", "DP Description: dp"}},
		{&StatsReply{Xid: 22, Flags: StatsReplyMore, Body: &FlowStatsReply{Entries: []FlowStats{{Match: m, DurationSec: 2, Priority: 5,
			IdleTimeout: 60, Cookie: 0x77, PacketCount: 10, ByteCount: 1000, Actions: []Action{&OutputAction{Port: 4}}}}}},
			[]string{"OFPST_FLOW reply (xid=0x16): flags=[more]", " cookie=0x77, duration=2s, table=0, n_packets=10, n_bytes=1000, idle_timeout=60, priority=5,tcp,in_port=3,"}},
		{&StatsReply{Xid: 23, Body: &AggregateStatsReply{PacketCount: 5, ByteCount: 6, FlowCount: 7}},
			[]string{"OFPST_AGGREGATE reply (xid=0x17): packet_count=5 byte_count=6 flow_count=7"}},
		{&StatsReply{Xid: 24, Body: &PortStatsReply{Entries: []PortStats{{PortNo: 2, RxPackets: 100, TxBytes: 2000}}}},
			[]string{"OFPST_PORT reply (xid=0x18): 1 ports", "port  2: rx pkts=100", "tx pkts=0, bytes=2000"}},
		{&StatsReply{Xid: 25, Body: &QueueStatsReply{Entries: []QueueStats{{PortNo: 2, QueueID: 1, TxBytes: 9, TxPackets: 8, TxErrors: 7}}}},
			[]string{"OFPST_QUEUE reply (xid=0x19): 1 queues", "port 2 queue 1: bytes=9, pkts=8, errors=7"}},
		{&StatsReply{Xid: 26, Body: &TableStatsReply{Entries: []TableStats{{Name: "classifier", MaxEntries: 100, ActiveCount: 3, LookupCount: 10, MatchedCount: 9}}}},
			[]string{"OFPST_TABLE reply (xid=0x1a)", `table 0 ("classifier")`, "active=3, lookup=10, matched=9"}},
		{&BarrierRequest{Xid: 27}, []string{"OFPT_BARRIER_REQUEST (xid=0x1b)"}},
		{&BarrierReply{Xid: 27}, []string{"OFPT_BARRIER_REPLY (xid=0x1b)"}},
		{&QueueGetConfigRequest{Xid: 28, Port: 2}, []string{"OFPT_QUEUE_GET_CONFIG_REQUEST (xid=0x1c): port=2"}},
		{&QueueGetConfigReply{Xid: 29, Port: 2, Queues: []PacketQueue{{QueueID: 5, Properties: []QueueProperty{{Property: QueuePropMinRate, Rate: 250}}}}},
			[]string{"OFPT_QUEUE_GET_CONFIG_REPLY (xid=0x1d): port=2", "queue 5: min_rate:25.0%"}},
	}
	for _, tc := range cases {
		t.Run(tc.msg.Type().String(), func(t *testing.T) {
			b, err := tc.msg.MarshalBinary()
			require.NoError(t, err)
			out := run(t, "ovs-ofctl", "ofp-print", hex.EncodeToString(b))
			if strings.Contains(out, "decode error") || strings.Contains(out, "too short") {
				t.Fatalf("ovs-ofctl could not decode %x:\n%s", b, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("ovs-ofctl ofp-print output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// testFrame is a 42-byte Ethernet/IPv4/UDP frame from testMAC1 10.0.0.1:5000
// to testMAC2 10.0.0.2:6000.
func testFrame() []byte {
	f := make([]byte, 0, 42)
	f = append(f, testMAC2[:]...)
	f = append(f, testMAC1[:]...)
	f = append(f, 0x08, 0x00)
	ip := []byte{0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	var sum uint32
	for i := 0; i < len(ip); i += 2 {
		sum += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	ip[10], ip[11] = byte(^sum>>8), byte(^sum)
	f = append(f, ip...)
	f = append(f, 0x13, 0x88, 0x17, 0x70, 0, 8, 0, 0)
	return f
}

// ofConn is the controller side of one switch connection in a test.
type ofConn struct {
	t    *testing.T
	c    net.Conn
	fr   *Framer
	xid  uint32
	buf  []byte
	skip []Message // messages read while waiting for others
}

func (oc *ofConn) send(m Message) uint32 {
	oc.t.Helper()
	if m.XID() == 0 {
		oc.xid++
		m.SetXID(oc.xid)
	}
	var err error
	oc.buf, err = AppendMarshal(oc.buf[:0], m)
	if err != nil {
		oc.t.Fatalf("encoding %v: %v", m.Type(), err)
	}
	_ = oc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := oc.c.Write(oc.buf); err != nil {
		oc.t.Fatalf("writing %v: %v", m.Type(), err)
	}
	return m.XID()
}

// recv returns the raw bytes and decoded form of the first message for
// which want is true, answering echo requests and failing on an error
// message for one of ours. It gives up after timeout.
func (oc *ofConn) recv(timeout time.Duration, want func(Message) bool) ([]byte, Message) {
	oc.t.Helper()
	for i, m := range oc.skip {
		if want(m) {
			oc.skip = append(oc.skip[:i], oc.skip[i+1:]...)
			b, _ := m.MarshalBinary()
			return b, m
		}
	}
	deadline := time.Now().Add(timeout)
	_ = oc.c.SetReadDeadline(deadline)
	for n := 0; n < 100000; n++ {
		b, err := oc.fr.Next()
		if err != nil {
			oc.t.Fatalf("reading from Open vSwitch: %v", err)
		}
		m, err := Decode(b)
		if err != nil {
			oc.t.Fatalf("decoding % x: %v", b[:min(len(b), 64)], err)
		}
		if *captureFile != "" {
			oc.capture(m, b)
		}
		if e, ok := m.(*EchoRequest); ok {
			oc.send(&EchoReply{Xid: e.Xid, Data: e.Data})
			continue
		}
		if want(m) {
			return append([]byte(nil), b...), m
		}
		if e, ok := m.(*ErrorMsg); ok {
			oc.t.Fatalf("Open vSwitch sent %v %s for xid %d: % x", e.ErrType, e.CodeString(), e.Xid, e.Data)
		}
		oc.skip = append(oc.skip, m)
	}
	oc.t.Fatal("too many messages")
	return nil, nil
}

func (oc *ofConn) capture(m Message, b []byte) {
	f, err := os.OpenFile(*captureFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		oc.t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%v %x\n", m.Type(), b); err != nil {
		oc.t.Fatal(err)
	}
}

func isType[T Message](xid uint32) func(Message) bool {
	return func(m Message) bool {
		_, ok := m.(T)
		return ok && (xid == 0 || m.XID() == xid)
	}
}

// TestOVSLive runs one Open vSwitch bridge (userspace datapath, OpenFlow 1.0)
// against a controller on 127.0.0.1 that speaks through this package, and
// checks what it receives against ovs-ofctl.
func TestOVSLive(t *testing.T) {
	requireOVS(t)
	if testing.Short() {
		t.Skip("live Open vSwitch test skipped in -short mode")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	br := fmt.Sprintf("cmof%x", os.Getpid()&0xffffff)
	p1, p2 := br+"p1", br+"p2"
	dpid := uint64(0xc0ffee000000) | uint64(os.Getpid()&0xffffff) // unique per test process
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "ovs-vsctl", "--timeout=10", "--if-exists", "del-br", br).CombinedOutput(); err != nil {
			t.Errorf("deleting bridge %s: %v: %s", br, err, out)
		}
	})
	run(t, "ovs-vsctl", "--timeout=10", "add-br", br,
		"--", "set", "bridge", br, "datapath_type=netdev", "protocols=OpenFlow10", "fail_mode=secure",
		fmt.Sprintf("other-config:datapath-id=%016x", dpid), "other-config:disable-in-band=true",
		"--", "add-port", br, p1, "--", "set", "interface", p1, "type=internal", "ofport_request=1",
		"--", "set-controller", br, fmt.Sprintf("tcp:127.0.0.1:%d", port))

	if tl, ok := ln.(*net.TCPListener); ok {
		_ = tl.SetDeadline(time.Now().Add(15 * time.Second))
	}
	c, err := ln.Accept()
	require.NoError(t, err, "Open vSwitch did not connect")
	defer c.Close()
	oc := &ofConn{t: t, c: c, fr: NewFramer(c, MaxMessageLen)}

	oc.send(&Hello{})
	oc.recv(10*time.Second, isType[*Hello](0))

	t.Run("features reply", func(t *testing.T) {
		oc.t = t
		xid := oc.send(&FeaturesRequest{})
		_, m := oc.recv(5*time.Second, isType[*FeaturesReply](xid))
		fr := m.(*FeaturesReply)
		if fr.DatapathID != dpid {
			t.Errorf("datapath_id %016x, want %016x", fr.DatapathID, dpid)
		}
		got := map[string]string{}
		for _, p := range fr.Ports {
			got[p.PortNo.String()+"("+p.Name+")"] = p.HWAddr.String()
		}
		// ovs-ofctl show lists " 1(name): addr:.." and " LOCAL(name): addr:..".
		want := map[string]string{}
		re := regexp.MustCompile(`(?m)^ (\w+)\(([^)]+)\): addr:([0-9a-f:]+)`)
		for _, s := range re.FindAllStringSubmatch(run(t, "ovs-ofctl", "-O", "OpenFlow10", "show", br), -1) {
			no := s[1]
			if no == "LOCAL" {
				no = "OFPP_LOCAL"
			}
			want[no+"("+s[2]+")"] = s[3]
		}
		if len(want) < 2 || !reflect.DeepEqual(got, want) {
			t.Errorf("ports %v, ovs-ofctl show says %v", got, want)
		}
		if fr.Capabilities&CapFlowStats == 0 || fr.Actions&(1<<ActionOutput) == 0 {
			t.Errorf("capabilities %v actions %v lack flow stats or output", fr.Capabilities, fr.Actions)
		}
	})

	t.Run("port status", func(t *testing.T) {
		oc.t = t
		run(t, "ovs-vsctl", "--timeout=10", "add-port", br, p2, "--", "set", "interface", p2, "type=internal", "ofport_request=2")
		_, m := oc.recv(5*time.Second, func(m Message) bool {
			ps, ok := m.(*PortStatus)
			return ok && ps.Reason == PortAdded
		})
		ps := m.(*PortStatus)
		if ps.Desc.Name != p2 || ps.Desc.PortNo != 2 {
			t.Errorf("OFPPR_ADD for %d(%s), want 2(%s)", ps.Desc.PortNo, ps.Desc.Name, p2)
		}
		run(t, "ovs-vsctl", "--timeout=10", "del-port", br, p2)
		_, m = oc.recv(5*time.Second, func(m Message) bool {
			ps, ok := m.(*PortStatus)
			return ok && ps.Reason == PortDeleted
		})
		if ps := m.(*PortStatus); ps.Desc.Name != p2 {
			t.Errorf("OFPPR_DELETE for %s, want %s", ps.Desc.Name, p2)
		}
	})

	t.Run("packet in", func(t *testing.T) {
		oc.t = t
		frame := testFrame()
		for _, tc := range []struct {
			out    PortNo
			reason PacketInReason
		}{{PortController, ReasonAction}, {PortTable, ReasonNoMatch}} {
			oc.send(&PacketOut{BufferID: BufferNone, InPort: PortLocal,
				Actions: []Action{&OutputAction{Port: tc.out, MaxLen: 0xffff}}, Data: frame})
			raw, m := oc.recv(5*time.Second, func(m Message) bool {
				pi, ok := m.(*PacketIn)
				return ok && pi.Reason == tc.reason
			})
			pi := m.(*PacketIn)
			if pi.InPort != PortLocal || pi.BufferID != BufferNone || int(pi.TotalLen) != len(frame) || !bytes.Equal(pi.Data, frame) {
				t.Errorf("output to %v: packet-in in_port=%v buffer_id=%x total_len=%d data=% x", tc.out, pi.InPort, pi.BufferID, pi.TotalLen, pi.Data)
			}
			var hot PacketIn
			if err := hot.DecodeFromBytes(raw); err != nil || !reflect.DeepEqual(&hot, pi) {
				t.Errorf("DecodeFromBytes = %+v, %v; Decode = %+v", hot, err, pi)
			}
			if out := run(t, "ovs-ofctl", "ofp-print", hex.EncodeToString(raw)); !strings.Contains(out, "total_len=42 in_port=LOCAL") {
				t.Errorf("ovs-ofctl reads the captured packet-in as:\n%s", out)
			}
		}
	})

	t.Run("flow removed", func(t *testing.T) {
		oc.t = t
		match := Match{Wildcards: WildAll &^ (WildDLType | WildNWProto | WildNWSrcMask | WildTPDst),
			DLType: 0x0800, NWProto: 17, NWSrc: netip.MustParseAddr("10.9.9.9"), TPDst: 9999}
		oc.send(&FlowMod{Match: match, Cookie: 0xc0de, Command: FlowAdd, HardTimeout: 1, Priority: 1234,
			BufferID: BufferNone, OutPort: PortNone, Flags: FlagSendFlowRem, Actions: []Action{&OutputAction{Port: 1}}})
		bx := oc.send(&BarrierRequest{})
		oc.recv(5*time.Second, isType[*BarrierReply](bx))
		raw, m := oc.recv(8*time.Second, isType[*FlowRemoved](0))
		fr := m.(*FlowRemoved)
		if fr.Cookie != 0xc0de || fr.Reason != RemovedHardTimeout || fr.Priority != 1234 ||
			fr.Match.String() != "udp,nw_src=10.9.9.9,tp_dst=9999" || fr.DurationSec < 1 {
			t.Errorf("flow removed %+v (match %s)", fr, fr.Match.String())
		}
		var hot FlowRemoved
		if err := hot.DecodeFromBytes(raw); err != nil || !reflect.DeepEqual(&hot, fr) {
			t.Errorf("DecodeFromBytes = %+v, %v", hot, err)
		}
	})

	t.Run("flow stats", func(t *testing.T) {
		oc.t = t
		const n = 1500
		var flows strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&flows, "cookie=0x%x,priority=%d,udp,nw_src=10.1.%d.%d,nw_dst=10.2.0.1,tp_dst=%d,idle_timeout=300,actions=output:1\n",
				0x1000+i, 100+i%7, i/250, i%250+1, 1000+i)
		}
		file := filepath.Join(t.TempDir(), "flows.txt")
		require.NoError(t, os.WriteFile(file, []byte(flows.String()), 0o644))
		run(t, "ovs-ofctl", "-O", "OpenFlow10", "add-flows", br, file)

		xid := oc.send(&StatsRequest{Body: &FlowStatsRequest{Match: MatchAll(), TableID: 0xff, OutPort: PortNone}})
		var it FlowStatsIter
		ours := map[uint64]string{}
		parts := 0
		for more := true; more; parts++ {
			raw, m := oc.recv(5*time.Second, isType[*StatsReply](xid))
			require.NoError(t, it.Reset(raw))
			copied := m.(*StatsReply).Body.(*FlowStatsReply).Entries
			i := 0
			for ; it.Next(); i++ {
				e := it.Entry()
				if i >= len(copied) || e.Cookie != copied[i].Cookie || e.Match != copied[i].Match || e.PacketCount != copied[i].PacketCount {
					t.Fatalf("entry %d: iterator and Decode disagree", i)
				}
				ours[e.Cookie] = fmt.Sprintf("n_packets=%d, n_bytes=%d, idle_timeout=%d, priority=%d,%s actions=%s",
					e.PacketCount, e.ByteCount, e.IdleTimeout, e.Priority, e.Match.String(), actionsString(e.Actions))
			}
			if err := it.Err(); err != nil || i != len(copied) {
				t.Fatalf("iterator: %v after %d of %d entries", err, i, len(copied))
			}
			more = it.More()
		}
		if parts < 2 {
			t.Errorf("%d flows came in %d reply; want several OFPSF_REPLY_MORE parts", n, parts)
		}
		theirs := map[uint64]string{}
		re := regexp.MustCompile(`cookie=0x([0-9a-f]+), duration=[^,]+, table=0, (n_packets=\d+, n_bytes=\d+, idle_timeout=\d+), (?:idle_age=\d+, )?(priority=.*)$`)
		sc := bufio.NewScanner(strings.NewReader(run(t, "ovs-ofctl", "-O", "OpenFlow10", "-F", "openflow10", "dump-flows", br)))
		for sc.Scan() {
			s := re.FindStringSubmatch(sc.Text())
			if s == nil {
				continue
			}
			c, _ := strconv.ParseUint(s[1], 16, 64)
			theirs[c] = s[2] + ", " + s[3]
		}
		if len(ours) != n || len(theirs) != n {
			t.Fatalf("decoded %d entries in %d replies, ovs-ofctl dump-flows lists %d; want %d", len(ours), parts, len(theirs), n)
		}
		bad := 0
		for c, want := range theirs {
			if ours[c] != want {
				if bad++; bad <= 3 {
					t.Errorf("cookie %#x:\n ours %s\n ovs  %s", c, ours[c], want)
				}
			}
		}
		t.Logf("%d flow stats entries in %d OFPST_FLOW replies agree with ovs-ofctl dump-flows", n, parts)

		ax := oc.send(&StatsRequest{Body: &AggregateStatsRequest{Match: MatchAll(), TableID: 0xff, OutPort: PortNone}})
		_, m := oc.recv(5*time.Second, isType[*StatsReply](ax))
		if agg := m.(*StatsReply).Body.(*AggregateStatsReply); agg.FlowCount != n {
			t.Errorf("aggregate flow_count %d, want %d", agg.FlowCount, n)
		}
	})

	t.Run("other stats and requests", func(t *testing.T) {
		oc.t = t
		x := oc.send(&StatsRequest{Body: &DescStatsRequest{}})
		_, m := oc.recv(5*time.Second, isType[*StatsReply](x))
		if d := m.(*StatsReply).Body.(*DescStats); d.DPDesc == "" || d.SWDesc == "" || d.MfrDesc == "" {
			t.Errorf("desc %+v", d)
		}
		x = oc.send(&StatsRequest{Body: &PortStatsRequest{PortNo: PortNone}})
		_, m = oc.recv(5*time.Second, isType[*StatsReply](x))
		if p := m.(*StatsReply).Body.(*PortStatsReply); len(p.Entries) != 2 {
			t.Errorf("port stats for %d ports, want 2 (%s and LOCAL)", len(p.Entries), p1)
		}
		x = oc.send(&StatsRequest{Body: &TableStatsRequest{}})
		_, m = oc.recv(5*time.Second, isType[*StatsReply](x))
		if tb := m.(*StatsReply).Body.(*TableStatsReply); len(tb.Entries) == 0 || tb.Entries[0].ActiveCount == 0 {
			t.Errorf("table stats %+v", tb)
		}
		x = oc.send(&StatsRequest{Body: &QueueStatsRequest{PortNo: PortAll, QueueID: QueueAll}})
		_, m = oc.recv(5*time.Second, isType[*StatsReply](x))
		if _, ok := m.(*StatsReply).Body.(*QueueStatsReply); !ok {
			t.Errorf("queue stats body %T", m.(*StatsReply).Body)
		}
		x = oc.send(&RoleRequest{Role: RoleOther})
		if _, m = oc.recv(5*time.Second, isType[*RoleReply](x)); m.(*RoleReply).Role != RoleOther {
			t.Errorf("role reply %v", m.(*RoleReply).Role)
		}
		x = oc.send(&EchoRequest{Data: []byte("cemon")})
		if _, m = oc.recv(5*time.Second, isType[*EchoReply](x)); string(m.(*EchoReply).Data) != "cemon" {
			t.Errorf("echo reply payload %q", m.(*EchoReply).Data)
		}
		oc.send(&SetConfig{SwitchConfig: SwitchConfig{MissSendLen: 256}})
		x = oc.send(&GetConfigRequest{})
		if _, m = oc.recv(5*time.Second, isType[*GetConfigReply](x)); m.(*GetConfigReply).MissSendLen != 256 {
			t.Errorf("miss_send_len %d after SET_CONFIG 256", m.(*GetConfigReply).MissSendLen)
		}
		// A request Open vSwitch cannot honour comes back as an OFPT_ERROR
		// that names it.
		x = oc.send(&StatsRequest{Body: &VendorStats{Vendor: 0x00abcdef, Data: make([]byte, 4)}})
		_, m = oc.recv(5*time.Second, isType[*ErrorMsg](x))
		if e := m.(*ErrorMsg); e.ErrType != ErrTypeBadRequest {
			t.Errorf("error %v %s, want OFPET_BAD_REQUEST", e.ErrType, e.CodeString())
		}
	})
	oc.t = t
}

func actionsString(acts []Action) string {
	if len(acts) == 0 {
		return "drop"
	}
	s := make([]string, len(acts))
	for i, a := range acts {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}
