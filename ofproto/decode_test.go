package ofproto

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	require.NoError(t, err)
	return b
}

// TestOVSCapture decodes messages a live Open vSwitch sent (see the file's
// header) and re-encodes each to the very same bytes.
func TestOVSCapture(t *testing.T) {
	f, err := os.Open("testdata/ovs-capture.txt")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	seen := map[Type]int{}
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, hx, _ := strings.Cut(line, " ")
		b := mustHex(t, hx)
		m, err := Decode(b)
		require.NoError(t, err, "%s", name)
		if m.Type().String() != name {
			t.Fatalf("decoded %v, capture says %s", m.Type(), name)
		}
		seen[m.Type()]++
		again, err := m.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Errorf("%s: re-encoding differs (%v)\n got % x\nwant % x", name, err, again, b)
		}
		switch m := m.(type) {
		case *FeaturesReply:
			if m.DatapathID != 0xc0ffee000001 || len(m.Ports) != 2 || m.Ports[0].PortNo != 1 || !strings.HasSuffix(m.Ports[0].Name, "p1") {
				t.Errorf("features reply %+v", m)
			}
		case *PacketIn:
			var hot PacketIn
			if err := hot.DecodeFromBytes(b); err != nil || !bytes.Equal(hot.Data, testFrame()) || hot.InPort != PortLocal {
				t.Errorf("packet-in %+v, %v", hot, err)
			}
		case *FlowRemoved:
			if m.Cookie != 0xc0de || m.Reason != RemovedHardTimeout || m.Match.String() != "udp,nw_src=10.9.9.9,tp_dst=9999" {
				t.Errorf("flow removed %+v", m)
			}
		case *StatsReply:
			if fs, ok := m.Body.(*FlowStatsReply); ok {
				if len(fs.Entries) != 136 || m.More() {
					t.Errorf("last flow stats part: %d entries, more=%v; want 136, false", len(fs.Entries), m.More())
				}
				for _, e := range fs.Entries {
					if e.Cookie < 0x1000 || e.Cookie >= 0x1000+1500 || actionsString(e.Actions) != "output:1" {
						t.Errorf("entry cookie %#x actions %s", e.Cookie, actionsString(e.Actions))
					}
				}
			}
		case *ErrorMsg:
			if m.ErrType != ErrTypeBadRequest || m.CodeString() != "OFPBRC_BAD_VENDOR" {
				t.Errorf("error %v %s", m.ErrType, m.CodeString())
			}
		}
	}
	require.NoError(t, sc.Err())
	for _, typ := range []Type{TypeHello, TypeFeaturesReply, TypePortStatus, TypePacketIn, TypeFlowRemoved, TypeStatsReply, TypeError} {
		if seen[typ] == 0 {
			t.Errorf("capture has no %v", typ)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	enc := func(m Message) string {
		b, err := m.MarshalBinary()
		require.NoError(t, err)
		return hex.EncodeToString(b)
	}
	fr := enc(&FlowRemoved{Match: testMatch()})
	fmOut := enc(&FlowMod{Actions: []Action{&OutputAction{Port: 1}}}) // action at byte 72
	fmVendor := enc(&FlowMod{Actions: []Action{&VendorAction{Data: make([]byte, 8)}}})
	tests := []struct {
		name   string
		in     string
		err    error
		offset int64
	}{
		{"empty", "", ErrShortMessage, 0},
		{"seven bytes", "01000008000000", ErrShortMessage, 0},
		{"OpenFlow 1.3 hello", "0400000800000001", ErrBadVersion, 0},
		{"unknown type 22", "0116000800000001", ErrBadType, 1},
		{"length below 8", "0100000400000001", ErrBadLength, 2},
		{"length beyond the buffer", "0100000c00000001", ErrShortMessage, 2},
		{"trailing bytes", "010000080000000100", ErrBadLength, 2},
		{"features request with a body", "010500090000000100", ErrBadLength, 2},
		{"error without type and code", "0101000a000000010001", ErrBadLength, 2},
		{"features reply, ports not a multiple of 48", "01060021000000010000000000000001000000000000000000000000000000000000", ErrBadLength, 2},
		{"flow removed one byte short", fr[:len(fr)-2], ErrShortMessage, 2},
		{"flow removed one byte long", "010b0059" + fr[8:] + "00", ErrBadLength, 2},
		{"packet in without its fixed part", "010a00110000000100000000000000000000"[:34], ErrBadLength, 2},
		{"packet out actions_len past the end", "010d00100000000100000000ffff0008", ErrBadLength, 14},
		{"flow mod action of unknown type", fmOut[:144] + "000c" + fmOut[148:], ErrBadAction, 72},
		{"flow mod output action 16 bytes long", fmVendor[:144] + "0000" + fmVendor[148:], ErrBadAction, 74},
		{"flow mod action length 0", fmOut[:148] + "0000" + fmOut[152:], ErrBadAction, 74},
		{"flow mod vendor action length past the end", fmOut[:144] + "ffff0010" + fmOut[152:], ErrShortMessage, 74},
		{"flow mod actions not a multiple of 8", "010e004c00000001" + strings.Repeat("00", 68), ErrBadLength, 72},
		{"stats request of type 6", "0110000c0000000100060000", ErrBadStatsType, 8},
		{"flow stats request body short", "011000140000000100010000" + strings.Repeat("00", 8), ErrBadLength, 12},
		{"flow stats entry length below 88", "0111006c0000000100010000" + "0050" + strings.Repeat("00", 94), ErrBadLength, 12},
		{"flow stats entry length past the end", "0111006c0000000100010000" + "0068" + strings.Repeat("00", 94), ErrBadLength, 12},
		{"flow stats entry cut short", "0111001c0000000100010000" + "0058" + strings.Repeat("00", 14), ErrShortMessage, 12},
		{"desc stats reply short", "0111000c0000000100000000", ErrBadLength, 12},
		{"port stats reply not a multiple of 104", "0111001400000001000400000000000000000000", ErrBadLength, 12},
		{"vendor without vendor id", "0104000a000000010000", ErrBadLength, 2},
		{"queue reply, queue length 4", "01150018000000010001000000000000" + "0000000100040000", ErrBadLength, 20},
		{"queue reply, min rate length 8", "01150020000000010001000000000000" + "0000000100100000" + "0001000800000000", ErrBadLength, 26},
		// ofp_queue_prop_header: properties are 64-bit aligned, so a
		// length of 12 could never be re-encoded.
		{"queue reply, property length 12", "01150024000000010001000000000000" + "0000000100140000" + "0002000c00000000deadbeef", ErrBadLength, 26},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(mustHex(t, tc.in))
			require.ErrorIs(t, err, tc.err)
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.offset, de.Offset, "offset of %v", err)
			assert.True(t, strings.HasPrefix(err.Error(), "ofproto: "), "error %q lacks the package prefix", err)
		})
	}
}

// TestFuzzRegressions holds inputs the fuzzers found (also kept under
// testdata/fuzz).
func TestFuzzRegressions(t *testing.T) {
	// FuzzDecode: a port name of 16 bytes without a NUL decoded to a name
	// that could not be re-encoded; names now keep 15 bytes, as in OVS.
	b := mustHex(t, "0106005000000000"+strings.Repeat("00", 24)+ // features reply header
		"0001"+"000000000000"+strings.Repeat("30", 16)+strings.Repeat("00", 24)) // port 1, name "0000000000000000"
	m, err := Decode(b)
	require.NoError(t, err)
	assert.Equal(t, "000000000000000", m.(*FeaturesReply).Ports[0].Name)
	_, err = m.MarshalBinary()
	assert.NoError(t, err, "re-encoding")
}

func TestEncodeErrors(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		name string
		m    Message
		err  error
	}{
		{"IPv6 nw_src", &FlowMod{Match: Match{NWSrc: v6}}, ErrBadField},
		{"IPv6 set_nw_dst", &FlowMod{Actions: []Action{&SetNWDstAction{Addr: v6}}}, ErrBadField},
		{"vendor action not a multiple of 8", &FlowMod{Actions: []Action{&VendorAction{Data: []byte{1, 2, 3}}}}, ErrBadAction},
		{"nil action", &PacketOut{Actions: []Action{nil}}, ErrBadAction},
		{"nil action pointer", &FlowMod{Actions: []Action{(*VendorAction)(nil)}}, ErrBadAction},
		{"port name of 16 bytes", &PortStatus{Desc: PhyPort{Name: "0123456789abcdef"}}, ErrBadField},
		{"stats request without body", &StatsRequest{}, ErrBadField},
		{"message above 65535 bytes", &PacketOut{Data: make([]byte, 70000)}, ErrTooLong},
		{"queue property not a multiple of 8", &QueueGetConfigReply{Queues: []PacketQueue{{Properties: []QueueProperty{{Property: 9, Data: []byte{1}}}}}}, ErrBadField},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.m.MarshalBinary()
			require.ErrorIs(t, err, tc.err, "MarshalBinary")
			out, err := AppendMarshal([]byte("keep"), tc.m)
			require.Error(t, err, "AppendMarshal")
			require.Equal(t, "keep", string(out), "AppendMarshal after an error gives the input back")
		})
	}
}

func TestDecodeWrongType(t *testing.T) {
	b, _ := (&Hello{Xid: 1}).MarshalBinary()
	for _, m := range []Message{&PacketIn{}, &FlowRemoved{}, &StatsReply{}, &RoleRequest{}} {
		assert.ErrorIs(t, m.UnmarshalBinary(b), ErrBadType, "%T.UnmarshalBinary(hello)", m)
	}
	var it FlowStatsIter
	port, _ := (&StatsReply{Body: &PortStatsReply{}}).MarshalBinary()
	assert.ErrorIs(t, it.Reset(port), ErrBadStatsType, "FlowStatsIter on a port stats reply")
	assert.False(t, it.Next(), "FlowStatsIter on a port stats reply")
	role, _ := (&RoleReply{Role: RolePrimary}).MarshalBinary()
	assert.ErrorIs(t, new(RoleRequest).UnmarshalBinary(role), ErrBadType, "RoleRequest from a role reply")
	// A vendor message that is not a role message stays raw.
	m, err := Decode(mustHex(t, "01040014000000010000232000000009000000000"[:40]))
	require.NoError(t, err)
	assert.IsType(t, &Vendor{}, m, "Nicira subtype 9")
}

// flowStatsReplyParts encodes an OFPST_FLOW reply of n entries, each with an
// output action (and every tenth with a vendor action too), split into
// messages of at most 64 KiB as a switch does, all but the last flagged
// OFPSF_REPLY_MORE.
func flowStatsReplyParts(tb testing.TB, n int) [][]byte {
	tb.Helper()
	var entries []FlowStats
	for i := 0; i < n; i++ {
		m := testMatch()
		m.TPSrc = uint16(i)
		e := FlowStats{Match: m, Cookie: uint64(i), PacketCount: uint64(i) * 10, ByteCount: uint64(i) * 1000,
			Priority: 100, Actions: []Action{&OutputAction{Port: PortNo(i%4 + 1)}}}
		if i%10 == 0 {
			e.Actions = append(e.Actions, &VendorAction{Vendor: 0x2320, Data: make([]byte, 8)})
		}
		entries = append(entries, e)
	}
	var parts [][]byte
	for len(entries) > 0 || parts == nil {
		k, size := 0, statsHeaderLen
		for k < len(entries) && size+entries[k].Len() <= MaxMessageLen {
			size += entries[k].Len()
			k++
		}
		r := &StatsReply{Xid: 1, Body: &FlowStatsReply{Entries: entries[:k]}}
		if k < len(entries) {
			r.Flags = StatsReplyMore
		}
		b, err := r.MarshalBinary()
		require.NoError(tb, err)
		parts = append(parts, b)
		entries = entries[k:]
	}
	return parts
}

// flowStatsReplyBytes is a single-message flow stats reply of n entries.
func flowStatsReplyBytes(tb testing.TB, n int) []byte {
	tb.Helper()
	parts := flowStatsReplyParts(tb, n)
	if len(parts) != 1 {
		tb.Fatalf("%d entries need %d messages", n, len(parts))
	}
	return parts[0]
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	pi, _ := (&PacketIn{BufferID: BufferNone, TotalLen: 42, InPort: 1, Data: testFrame()}).MarshalBinary()
	fr, _ := (&FlowRemoved{Match: testMatch(), Cookie: 1, PacketCount: 2}).MarshalBinary()
	fs := flowStatsReplyBytes(t, 500)
	var (
		p  PacketIn
		r  FlowRemoved
		it FlowStatsIter
	)
	n := 0
	walk := func() {
		require.NoError(t, it.Reset(fs))
		for it.Next() {
			n++
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
	}
	walk() // warm the iterator's action storage
	tests := []struct {
		name string
		f    func()
	}{
		{"PacketIn.DecodeFromBytes", func() {
			require.NoError(t, p.DecodeFromBytes(pi))
		}},
		{"FlowRemoved.DecodeFromBytes", func() {
			require.NoError(t, r.DecodeFromBytes(fr))
		}},
		{"FlowStatsIter over 500 entries", walk},
	}
	for _, tc := range tests {
		if a := testing.AllocsPerRun(50, tc.f); a != 0 {
			t.Errorf("%s: %.1f allocations, want 0", tc.name, a)
		}
	}
	if &p.Data[0] != &pi[18] {
		t.Error("PacketIn.DecodeFromBytes copied the data; it should alias")
	}
	if n != 500*52 {
		t.Errorf("iterated %d entries, want %d", n, 500*52)
	}
}

func TestFlowStatsIterEntries(t *testing.T) {
	b := flowStatsReplyBytes(t, 30)
	var it FlowStatsIter
	require.NoError(t, it.Reset(b))
	i := 0
	for ; it.Next(); i++ {
		e := it.Entry()
		wantActs := 1
		if i%10 == 0 {
			wantActs = 2
		}
		if e.Cookie != uint64(i) || e.Match.TPSrc != uint16(i) || len(e.Actions) != wantActs ||
			e.Actions[0].(*OutputAction).Port != PortNo(i%4+1) {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	if it.Err() != nil || i != 30 || it.XID() != 1 || it.More() {
		t.Fatalf("after %d entries: err %v xid %d more %v", i, it.Err(), it.XID(), it.More())
	}
	sum := uint64(0)
	err := ForEachFlowStats(b, func(e *FlowStats) error { sum += e.PacketCount; return nil })
	if err != nil || sum != 10*29*30/2 {
		t.Fatalf("ForEachFlowStats: sum %d, %v", sum, err)
	}
	stop := errors.New("stop")
	if err := ForEachFlowStats(b, func(*FlowStats) error { return stop }); err != stop {
		t.Fatalf("ForEachFlowStats did not return the callback's error: %v", err)
	}
	var e FlowStats
	if err := e.DecodeFromBytes(b[statsHeaderLen : statsHeaderLen+FlowStatsLen+24]); err != nil || e.Cookie != 0 || len(e.Actions) != 2 {
		t.Fatalf("FlowStats.DecodeFromBytes: %+v, %v", e, err)
	}
	if err := e.DecodeFromBytes(b[statsHeaderLen : statsHeaderLen+FlowStatsLen]); !errors.Is(err, ErrBadLength) {
		t.Fatalf("FlowStats.DecodeFromBytes of a cut entry: %v", err)
	}
}

func TestWildcardPrefixes(t *testing.T) {
	tests := []struct {
		w              Wildcards
		srcLen, dstLen int
	}{
		{0, 32, 32},
		{WildAll, 0, 0},
		{Wildcards(8 << NWSrcShift), 24, 32},
		{Wildcards(16 << NWDstShift), 32, 16},
		{Wildcards(63<<NWSrcShift | 40<<NWDstShift), 0, 0}, // counts above 32 mean all
		{Wildcards(0).WithNWSrcPrefixLen(24).WithNWDstPrefixLen(8), 24, 8},
		{WildAll.WithNWSrcPrefixLen(32), 32, 0},
		{Wildcards(0).WithNWSrcPrefixLen(-5).WithNWDstPrefixLen(99), 0, 32},
	}
	for _, tc := range tests {
		if tc.w.NWSrcPrefixLen() != tc.srcLen || tc.w.NWDstPrefixLen() != tc.dstLen {
			t.Errorf("%#x: prefix lengths %d/%d, want %d/%d", uint32(tc.w), tc.w.NWSrcPrefixLen(), tc.w.NWDstPrefixLen(), tc.srcLen, tc.dstLen)
		}
	}
	if got := WildAll.WithNWSrcPrefixLen(24) &^ WildNWSrcMask; got != WildAll&^WildNWSrcMask {
		t.Errorf("WithNWSrcPrefixLen touched other bits: %#x", uint32(got))
	}
	m := Match{Wildcards: (WildAll &^ WildDLType).WithNWSrcPrefixLen(24), DLType: 0x0800, NWSrc: netip.MustParseAddr("10.1.2.3")}
	if p := m.NWSrcPrefix(); p.String() != "10.1.2.0/24" {
		t.Errorf("NWSrcPrefix %v", p)
	}
	if p := m.NWDstPrefix(); p.String() != "0.0.0.0/0" {
		t.Errorf("NWDstPrefix %v", p)
	}
}

func TestStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{TypePacketIn.String(), "OFPT_PACKET_IN"},
		{TypeQueueGetConfigReply.String(), "OFPT_QUEUE_GET_CONFIG_REPLY"},
		{Type(22).String(), "OFPT_UNKNOWN(22)"},
		{StatsFlow.String(), "OFPST_FLOW"},
		{StatsVendor.String(), "OFPST_VENDOR"},
		{ActionOutput.String(), "OFPAT_OUTPUT"},
		{ActionEnqueue.String(), "OFPAT_ENQUEUE"},
		{ActionVendor.String(), "OFPAT_VENDOR"},
		{RemovedIdleTimeout.String(), "OFPRR_IDLE_TIMEOUT"},
		{RemovedDelete.String(), "OFPRR_DELETE"},
		{PortModified.String(), "OFPPR_MODIFY"},
		{ReasonNoMatch.String(), "OFPR_NO_MATCH"},
		{FlowDeleteStrict.String(), "OFPFC_DELETE_STRICT"},
		{ErrTypeQueueOpFailed.String(), "OFPET_QUEUE_OP_FAILED"},
		{ErrorCodeString(ErrTypeHelloFailed, HelloEPerm), "OFPHFC_EPERM"},
		{ErrorCodeString(ErrTypeBadRequest, BadRequestBufferUnknown), "OFPBRC_BUFFER_UNKNOWN"},
		{ErrorCodeString(ErrTypeBadAction, BadActionBadQueue), "OFPBAC_BAD_QUEUE"},
		{ErrorCodeString(ErrTypeFlowModFailed, FlowModUnsupported), "OFPFMFC_UNSUPPORTED"},
		{ErrorCodeString(ErrTypePortModFailed, PortModBadHWAddr), "OFPPMFC_BAD_HW_ADDR"},
		{ErrorCodeString(ErrTypeQueueOpFailed, QueueOpEPerm), "OFPQOFC_EPERM"},
		{ErrorCodeString(ErrTypeQueueOpFailed, 3), "3"},
		{PortController.String(), "OFPP_CONTROLLER"},
		{PortNo(7).String(), "7"},
		{(FlagSendFlowRem | FlagEmerg).String(), "OFPFF_SEND_FLOW_REM|OFPFF_EMERG"},
		{(CapFlowStats | 1<<9).String(), "OFPC_FLOW_STATS|0x200"},
		{PortStateSTPBlock.String(), "OFPPS_STP_BLOCK"},
		{FragReasm.String(), "OFPC_FRAG_REASM"},
		{RoleSecondary.String(), "NX_ROLE_SECONDARY"},
		{(WildInPort | Wildcards(32<<NWSrcShift)).String(), "OFPFW_IN_PORT|OFPFW_NW_SRC(32)"},
		{(&OutputAction{Port: PortController, MaxLen: 128}).String(), "CONTROLLER:128"},
		{(&OutputAction{Port: PortFlood}).String(), "FLOOD"},
		{(&EnqueueAction{Port: 1, QueueID: 2}).String(), "enqueue:1:2"},
		{testMAC1.String(), "00:11:22:33:44:55"},
		{(&ErrorMsg{ErrType: ErrTypeBadRequest, Code: BadRequestBadLen}).Error(), "ofproto: switch error OFPET_BAD_REQUEST OFPBRC_BAD_LEN"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	m := testMatch()
	if got, want := m.String(), "tcp,in_port=3,dl_src=00:11:22:33:44:55,dl_dst=66:77:88:99:aa:bb,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=40000,tp_dst=80"; got != want {
		t.Errorf("Match.String() = %q, want %q", got, want)
	}
	if mac, err := ParseMAC("66:77:88:99:aa:bb"); err != nil || mac != testMAC2 {
		t.Errorf("ParseMAC: %v, %v", mac, err)
	}
	for _, bad := range []string{"", "66:77:88:99:aa", "66:77:88:99:aa:bg", "666:77:88:99:aa:bb"} {
		if _, err := ParseMAC(bad); !errors.Is(err, ErrBadField) {
			t.Errorf("ParseMAC(%q): %v", bad, err)
		}
	}
}
