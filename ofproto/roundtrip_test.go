package ofproto

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	testMAC1 = MAC{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}
	testMAC2 = MAC{0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb}
)

func testMatch() Match {
	return Match{
		Wildcards: WildDLVLANPCP | WildNWTOS | WildDLVLAN,
		InPort:    3,
		DLSrc:     testMAC1,
		DLDst:     testMAC2,
		DLVLAN:    VLANNone,
		DLType:    0x0800,
		NWProto:   6,
		NWSrc:     netip.MustParseAddr("10.0.0.1"),
		NWDst:     netip.MustParseAddr("10.0.0.2"),
		TPSrc:     40000,
		TPDst:     80,
	}
}

func allActions() []Action {
	return []Action{
		&OutputAction{Port: 2, MaxLen: 0},
		&OutputAction{Port: PortController, MaxLen: 128},
		&SetVLANVIDAction{VID: 42},
		&SetVLANPCPAction{PCP: 5},
		&StripVLANAction{},
		&SetDLSrcAction{Addr: testMAC1},
		&SetDLDstAction{Addr: testMAC2},
		&SetNWSrcAction{Addr: netip.MustParseAddr("192.168.1.1")},
		&SetNWDstAction{Addr: netip.MustParseAddr("192.168.1.2")},
		&SetNWTOSAction{TOS: 0x20},
		&SetTPSrcAction{Port: 1234},
		&SetTPDstAction{Port: 4321},
		&EnqueueAction{Port: 1, QueueID: 7},
		&VendorAction{Vendor: NiciraVendor, Data: []byte{0, 1, 2, 3, 4, 5, 6, 7}},
	}
}

func testPort(n PortNo, name string) PhyPort {
	return PhyPort{
		PortNo: n, HWAddr: testMAC1, Name: name,
		Config: PortConfigNoFlood, State: PortStateSTPForward | PortStateLinkDown,
		Curr: Feature1GBFD | FeatureCopper, Advertised: Feature1GBFD, Supported: Feature10GBFD,
		Peer: FeatureAutoneg,
	}
}

// allMessages returns one populated value of every message type, with its
// encoded length.
func allMessages() []struct {
	name string
	m    Message
	n    int
} {
	fs := FlowStats{
		TableID: 0, Match: testMatch(), DurationSec: 10, DurationNsec: 500,
		Priority: 100, IdleTimeout: 10, HardTimeout: 30, Cookie: 0xdeadbeef,
		PacketCount: 12345, ByteCount: 67890, Actions: []Action{&OutputAction{Port: 2}},
	}
	return []struct {
		name string
		m    Message
		n    int
	}{
		{"hello", &Hello{Xid: 1}, 8},
		{"hello with elements", &Hello{Xid: 1, Data: []byte{0, 1, 0, 8, 0, 0, 0, 2}}, 16},
		{"error", &ErrorMsg{Xid: 2, ErrType: ErrTypeBadRequest, Code: BadRequestBadType, Data: []byte{1, 2, 3}}, 15},
		{"echo request", &EchoRequest{Xid: 3, Data: []byte("ping")}, 12},
		{"echo reply", &EchoReply{Xid: 3, Data: []byte("ping")}, 12},
		{"vendor", &Vendor{Xid: 4, Vendor: 0x2320, Data: []byte{0, 0, 0, 99}}, 16},
		{"role request", &RoleRequest{Xid: 5, Role: RolePrimary}, 20},
		{"role reply", &RoleReply{Xid: 5, Role: RoleSecondary}, 20},
		{"features request", &FeaturesRequest{Xid: 6}, 8},
		{"features reply", &FeaturesReply{Xid: 6, DatapathID: 0x0000aabbccddeeff, NBuffers: 256, NTables: 1,
			Capabilities: CapFlowStats | CapPortStats | CapARPMatchIP, Actions: 0xfff,
			Ports: []PhyPort{testPort(1, "s1-eth1"), testPort(PortLocal, "s1")}}, 32 + 96},
		{"get config request", &GetConfigRequest{Xid: 7}, 8},
		{"get config reply", &GetConfigReply{Xid: 7, SwitchConfig: SwitchConfig{Flags: FragDrop, MissSendLen: 128}}, 12},
		{"set config", &SetConfig{Xid: 8, SwitchConfig: SwitchConfig{MissSendLen: 0xffff}}, 12},
		{"packet in", &PacketIn{Xid: 9, BufferID: BufferNone, TotalLen: 60, InPort: 1, Reason: ReasonNoMatch, Data: bytes.Repeat([]byte{0xab}, 60)}, 78},
		{"flow removed", &FlowRemoved{Xid: 10, Match: testMatch(), Cookie: 7, Priority: 100, Reason: RemovedHardTimeout,
			DurationSec: 1, DurationNsec: 2, IdleTimeout: 3, PacketCount: 4, ByteCount: 5}, 88},
		{"port status", &PortStatus{Xid: 11, Reason: PortModified, Desc: testPort(2, "s1-eth2")}, 64},
		{"packet out", &PacketOut{Xid: 12, BufferID: BufferNone, InPort: PortNone, Actions: []Action{&OutputAction{Port: PortFlood}}, Data: []byte{1, 2, 3, 4}}, 28},
		{"flow mod", &FlowMod{Xid: 13, Match: testMatch(), Cookie: 99, Command: FlowAdd, IdleTimeout: 5, HardTimeout: 10,
			Priority: 0x8000, BufferID: BufferNone, OutPort: PortNone, Flags: FlagSendFlowRem, Actions: allActions()}, 72 + 10*8 + 4*16},
		{"port mod", &PortMod{Xid: 14, PortNo: 1, HWAddr: testMAC1, Config: PortConfigDown, Mask: PortConfigDown, Advertise: Feature100MBFD}, 32},
		{"desc request", &StatsRequest{Xid: 15, Body: &DescStatsRequest{}}, 12},
		{"flow request", &StatsRequest{Xid: 16, Body: &FlowStatsRequest{Match: MatchAll(), TableID: 0xff, OutPort: PortNone}}, 56},
		{"aggregate request", &StatsRequest{Xid: 17, Body: &AggregateStatsRequest{Match: testMatch(), TableID: 0xff, OutPort: 2}}, 56},
		{"table request", &StatsRequest{Xid: 18, Body: &TableStatsRequest{}}, 12},
		{"port request", &StatsRequest{Xid: 19, Body: &PortStatsRequest{PortNo: PortNone}}, 20},
		{"queue request", &StatsRequest{Xid: 20, Body: &QueueStatsRequest{PortNo: PortAll, QueueID: QueueAll}}, 20},
		{"vendor request", &StatsRequest{Xid: 21, Body: &VendorStats{Vendor: 0x2320, Data: []byte{1, 2, 3, 4}}}, 20},
		{"desc reply", &StatsReply{Xid: 15, Body: &DescStats{MfrDesc: "Nicira", HWDesc: "Open vSwitch", SWDesc: "3.1.0", SerialNum: "None", DPDesc: "s1"}}, 12 + 1056},
		{"flow reply", &StatsReply{Xid: 16, Flags: StatsReplyMore, Body: &FlowStatsReply{Entries: []FlowStats{fs, fs}}}, 12 + 2*96},
		{"flow reply empty", &StatsReply{Xid: 16, Body: &FlowStatsReply{}}, 12},
		{"aggregate reply", &StatsReply{Xid: 17, Body: &AggregateStatsReply{PacketCount: 1, ByteCount: 2, FlowCount: 3}}, 36},
		{"table reply", &StatsReply{Xid: 18, Body: &TableStatsReply{Entries: []TableStats{{TableID: 0, Name: "classifier", Wildcards: WildAll, MaxEntries: 1000000, ActiveCount: 3, LookupCount: 10, MatchedCount: 7}}}}, 12 + 64},
		{"port reply", &StatsReply{Xid: 19, Body: &PortStatsReply{Entries: []PortStats{{PortNo: 1, RxPackets: 1, TxPackets: 2, RxBytes: 3, TxBytes: 4, RxDropped: 5, TxDropped: 6, RxErrors: 7, TxErrors: 8, RxFrameErr: 9, RxOverErr: 10, RxCRCErr: 11, Collisions: 12}}}}, 12 + 104},
		{"queue reply", &StatsReply{Xid: 20, Body: &QueueStatsReply{Entries: []QueueStats{{PortNo: 1, QueueID: 2, TxBytes: 3, TxPackets: 4, TxErrors: 5}}}}, 12 + 32},
		{"vendor reply", &StatsReply{Xid: 21, Body: &VendorStats{Vendor: 0x2320, Data: []byte{9}}}, 17},
		{"barrier request", &BarrierRequest{Xid: 22}, 8},
		{"barrier reply", &BarrierReply{Xid: 22}, 8},
		{"queue get config request", &QueueGetConfigRequest{Xid: 23, Port: 1}, 12},
		{"queue get config reply", &QueueGetConfigReply{Xid: 23, Port: 1, Queues: []PacketQueue{
			{QueueID: 1, Properties: []QueueProperty{{Property: QueuePropMinRate, Rate: 500}}},
			{QueueID: 2},
			{QueueID: 3, Properties: []QueueProperty{{Property: 0xffff, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}}}},
		}}, 16 + 24 + 8 + 24},
	}
}

// normalize clears unexported decode state so values compare with DeepEqual.
func normalize(m Message) {
	if r, ok := m.(*StatsReply); ok {
		if f, ok := r.Body.(*FlowStatsReply); ok {
			for i := range f.Entries {
				f.Entries[i].arena = nil
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range allMessages() {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.n, tc.m.Len(), "Len()")
			b, err := tc.m.MarshalBinary()
			require.NoError(t, err, "MarshalBinary")
			require.Len(t, b, tc.n, "encoded length")
			if b[0] != Version || Type(b[1]) != tc.m.Type() || int(b[2])<<8|int(b[3]) != tc.n {
				t.Fatalf("bad header % x", b[:8])
			}
			got, err := Decode(b)
			require.NoError(t, err, "Decode")
			normalize(got)
			require.Equal(t, tc.m, got, "round trip")
			// Decode must not alias its input.
			b2 := append([]byte(nil), b...)
			clear(b[8:])
			again, err := got.MarshalBinary()
			require.NoError(t, err, "re-encode")
			require.Equal(t, b2, again, "re-encode differs (decode aliased its input?)")
			// AppendMarshal into a reused buffer gives the same bytes.
			buf := make([]byte, 3, 4096)
			buf, err = AppendMarshal(buf, tc.m)
			require.NoError(t, err, "AppendMarshal")
			require.Equal(t, b2, buf[3:], "AppendMarshal")
			out := make([]byte, tc.n)
			n, err := MarshalTo(out, tc.m)
			require.NoError(t, err, "MarshalTo")
			require.Equal(t, tc.n, n, "MarshalTo")
			require.Equal(t, b2, out, "MarshalTo")
			_, err = MarshalTo(out[:tc.n-1], tc.m)
			require.Error(t, err, "MarshalTo into a short buffer")
		})
	}
}

func TestDecodeTruncated(t *testing.T) {
	// Every proper prefix of every message, with its length field patched to
	// match, must decode or fail with a sentinel, never panic.
	for _, tc := range allMessages() {
		b, err := tc.m.MarshalBinary()
		require.NoError(t, err)
		for n := 0; n < len(b); n++ {
			p := append([]byte(nil), b[:n]...)
			_, err := Decode(p)
			assert.ErrorIs(t, err, ErrShortMessage, "%s: prefix of %d bytes with unpatched length", tc.name, n)
			if n >= HeaderLen {
				p[2], p[3] = byte(n>>8), byte(n)
				_, _ = Decode(p)
			}
		}
	}
}

// TestMatchAppendBinary: AppendBinary writes what MarshalBinary returns after what
// the buffer holds, without allocating when it has room, and leaves the buffer as it
// was on error.
func TestMatchAppendBinary(t *testing.T) {
	m := testMatch()
	want, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3, 64)
	got, err := m.AppendBinary(buf)
	if err != nil || !bytes.Equal(got[3:], want) || len(got) != 3+MatchLen {
		t.Fatalf("AppendBinary = %x, %v; want %x after 3 bytes", got, err, want)
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = m.AppendBinary(buf[:3]) }); allocs != 0 {
		t.Errorf("AppendBinary into a buffer with room: %v allocations", allocs)
	}
	bad := m
	bad.NWSrc = netip.MustParseAddr("2001:db8::1")
	if out, err := bad.AppendBinary(buf[:3]); err == nil || len(out) != 3 {
		t.Errorf("IPv6 nw_src: %d bytes, %v; want an error and the buffer unchanged", len(out), err)
	}
}
