package ofptext

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
)

func encodeHex(t *testing.T, m ofproto.Message) string {
	t.Helper()
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// printHex runs PrintHex and returns what it printed.
func printHex(t *testing.T, in string, asJSON bool) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := PrintHex(&out, in, asJSON)
	return out.String(), err
}

func sampleFlowStatsReply() *ofproto.StatsReply {
	m := ofproto.Match{
		Wildcards: ofproto.WildAll &^ (ofproto.WildDLType | ofproto.WildNWProto | ofproto.WildNWSrcMask | ofproto.WildTPDst),
		DLType:    0x0800, NWProto: 17, NWSrc: netip.MustParseAddr("10.0.0.1"), TPDst: 53,
	}
	return &ofproto.StatsReply{Xid: 0x42, Flags: ofproto.StatsReplyMore, Body: &ofproto.FlowStatsReply{Entries: []ofproto.FlowStats{
		{Match: m, DurationSec: 3, Priority: 10, IdleTimeout: 5, Cookie: 0xabc, PacketCount: 7, ByteCount: 700,
			Actions: []ofproto.Action{&ofproto.OutputAction{Port: 2}}},
		{Match: ofproto.MatchAll(), Cookie: 0xdef, PacketCount: 1, ByteCount: 60},
	}}}
}

func sampleFlowRemoved() *ofproto.FlowRemoved {
	return &ofproto.FlowRemoved{Xid: 9, Match: ofproto.MatchAll(), Cookie: 0x1f, Priority: 100,
		Reason: ofproto.RemovedIdleTimeout, DurationSec: 12, IdleTimeout: 10, PacketCount: 3, ByteCount: 180}
}

func samplePacketIn() *ofproto.PacketIn {
	return &ofproto.PacketIn{Xid: 5, BufferID: ofproto.BufferNone, TotalLen: 4, InPort: 3,
		Reason: ofproto.ReasonNoMatch, Data: []byte{0xde, 0xad, 0xbe, 0xef}}
}

func TestPrintHexText(t *testing.T) {
	hello := "01 00 00 08 00 00 00 01" // OFPT_HELLO, xid 1, as a switch sends it
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"one message per line", hello + "\n" + encodeHex(t, sampleFlowRemoved()),
			[]string{"OFPT_HELLO (xid=0x1)", "OFPT_FLOW_REMOVED (xid=0x9): priority=100 reason=OFPRR_IDLE_TIMEOUT cookie:0x1f duration:12.000s idle_timeout:10 packet_count:3 byte_count:180"}},
		{"stream of several messages with 0x and spaces", "0x" + strings.ReplaceAll(hello, " ", "") + " 0x" + encodeHex(t, samplePacketIn()),
			[]string{"OFPT_HELLO (xid=0x1)", "OFPT_PACKET_IN (xid=0x5): total_len=4 in_port=3 reason=OFPR_NO_MATCH data_len=4 (unbuffered)", "de ad be ef"}},
		{"comments and a wrapped stream", "# captured\n" + encodeHex(t, sampleFlowStatsReply())[:50] + "\n" + encodeHex(t, sampleFlowStatsReply())[50:] + "\n",
			[]string{"OFPT_STATS_REPLY (xid=0x42): OFPST_FLOW reply flags=OFPSF_REPLY_MORE 2 flows",
				" cookie=0xabc, duration=3.000s, table=0, n_packets=7, n_bytes=700, idle_timeout=5, hard_timeout=0, priority=10,udp,nw_src=10.0.0.1,tp_dst=53 actions=output:2",
				" cookie=0xdef, duration=0.000s, table=0, n_packets=1, n_bytes=60, idle_timeout=0, hard_timeout=0, priority=0 actions=drop"}},
		{"stats request", encodeHex(t, &ofproto.StatsRequest{Xid: 3, Body: &ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone}}),
			[]string{"OFPT_STATS_REQUEST (xid=0x3): OFPST_FLOW request table_id=255 out_port=NONE match=any"}},
		{"error message", "010100140000000700010006" + "0100000800000007",
			[]string{"OFPT_ERROR (xid=0x7): OFPET_BAD_REQUEST OFPBRC_BAD_LEN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := printHex(t, tc.in, false)
			require.NoError(t, err)
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
		})
	}
}

func TestPrintHexJSON(t *testing.T) {
	in := encodeHex(t, sampleFlowStatsReply()) + "\n" + encodeHex(t, sampleFlowRemoved()) + "\n" + encodeHex(t, samplePacketIn())
	out, err := printHex(t, in, true)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, "one JSON line per message:\n%s", out)
	var msgs []map[string]any
	for _, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "JSON %q", l)
		msgs = append(msgs, m)
	}
	sr := msgs[0]
	if sr["type"] != "OFPT_STATS_REPLY" || sr["stats_type"] != "OFPST_FLOW" || sr["xid"] != float64(0x42) {
		t.Errorf("stats reply header %v", sr)
	}
	body, _ := sr["body"].([]any)
	require.Len(t, body, 2, "body entries")
	e := body[0].(map[string]any)
	match := e["match"].(map[string]any)
	acts := e["actions"].([]any)
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"cookie", e["cookie"], float64(0xabc)},
		{"packet_count", e["packet_count"], float64(7)},
		{"byte_count", e["byte_count"], float64(700)},
		{"duration_sec", e["duration_sec"], float64(3)},
		{"idle_timeout", e["idle_timeout"], float64(5)},
		{"match.nw_src", match["nw_src"], "10.0.0.1"},
		{"match.tp_dst", match["tp_dst"], float64(53)},
		{"match.dl_type", match["dl_type"], float64(0x800)},
		{"actions[0].type", acts[0].(map[string]any)["type"], "OFPAT_OUTPUT"},
		{"actions[0].port", acts[0].(map[string]any)["port"], float64(2)},
		{"flags", sr["flags"].([]any)[0], "OFPSF_REPLY_MORE"},
		{"flow removed type", msgs[1]["type"], "OFPT_FLOW_REMOVED"},
		{"flow removed reason", msgs[1]["reason"], "OFPRR_IDLE_TIMEOUT"},
		{"flow removed cookie", msgs[1]["cookie"], float64(0x1f)},
		{"packet in type", msgs[2]["type"], "OFPT_PACKET_IN"},
		{"packet in reason", msgs[2]["reason"], "OFPR_NO_MATCH"},
		{"packet in total_len", msgs[2]["total_len"], float64(4)},
		{"packet in buffer_id", msgs[2]["buffer_id"], float64(0xffffffff)},
		{"packet in in_port", msgs[2]["in_port"], float64(3)},
		{"packet in data", msgs[2]["data"], "deadbeef"},
	}
	for _, c := range checks {
		assert.Equal(t, c.want, c.got, c.name)
	}
}

func TestPrintHexErrors(t *testing.T) {
	fr := encodeHex(t, sampleFlowStatsReply())
	// The first entry's length field (bytes 12-13 of the message) says 0x0100.
	lyingEntry := fr[:24] + "0100" + fr[28:]
	tests := []struct {
		name string
		in   string
		want string
		is   error
	}{
		{"no input", "# nothing\n", "no input", ErrNoInput},
		{"bad hex", "0100000z", "input line 1, column 8", nil},
		{"odd digits", "0100000800000001\n010", "input line 2", nil},
		{"truncated", "01000010000000010000", "message 1 at byte offset 0: ofproto: short message", ofproto.ErrShortMessage},
		{"length below 8", "0100000800000001 0100000400000002", "message 2 at byte offset 8: ofproto: bad length at offset 10", ofproto.ErrBadLength},
		{"bad version", "0400000800000001", "ofproto: bad version at offset 0", ofproto.ErrBadVersion},
		{"unknown type", "0117000800000001", "ofproto: bad message type at offset 1", ofproto.ErrBadType},
		{"entry length lies", lyingEntry, "byte offset 12: ofproto: bad length at offset 12 in OFPT_STATS_REPLY", ofproto.ErrBadLength},
		{"bad action length", "010e005000000001" + strings.Repeat("00", 64) + "0000000900000000", "ofproto: bad action at offset 74 in OFPT_FLOW_MOD", ofproto.ErrBadAction},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := printHex(t, tc.in, false)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
		})
	}
}

func TestPrintHexKeepsGoodMessagesBeforeABadOne(t *testing.T) {
	out, err := printHex(t, "0100000800000001\n0100000400000002", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "message 2")
	assert.Contains(t, out, "OFPT_HELLO (xid=0x1)")
}

// FuzzPrint: any bytes, given as hex, print as text and as JSON or fail
// with an error; the printers never panic, and JSON output is valid.
func FuzzPrint(f *testing.F) {
	f.Add([]byte{1, 0, 0, 8, 0, 0, 0, 1})
	for _, m := range []ofproto.Message{sampleFlowStatsReply(), sampleFlowRemoved(), samplePacketIn(),
		&ofproto.FeaturesReply{Ports: []ofproto.PhyPort{{Name: "eth0"}}},
		&ofproto.QueueGetConfigReply{Queues: []ofproto.PacketQueue{{QueueID: 1, Properties: []ofproto.QueueProperty{{Property: 1, Rate: 5}}}}}} {
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := hex.EncodeToString(b)
		var text bytes.Buffer
		terr := PrintHex(&text, in, false)
		var js bytes.Buffer
		jerr := PrintHex(&js, in, true)
		if (terr == nil) != (jerr == nil) {
			t.Fatalf("text error %v, JSON error %v", terr, jerr)
		}
		for _, line := range strings.Split(strings.TrimSpace(js.String()), "\n") {
			if line != "" && !json.Valid([]byte(line)) {
				t.Fatalf("invalid JSON %q", line)
			}
		}
	})
}

var update = flag.Bool("update", false, "rewrite testdata/ofpprint/*.golden from the current output")

// TestOfpPrintGolden prints messages a live Open vSwitch sent (see the input
// file's header) as text and as JSON and compares with the golden files;
// -update rewrites them.
func TestPrintGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/ovs.hex")
	require.NoError(t, err)
	for _, tc := range []struct {
		golden string
		json   bool
	}{{"testdata/ovs.txt.golden", false}, {"testdata/ovs.json.golden", true}} {
		var out bytes.Buffer
		require.NoError(t, PrintHex(&out, string(in), tc.json))
		if *update {
			if err := os.WriteFile(tc.golden, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(tc.golden)
		require.NoError(t, err)
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s differs from the output (rerun with -update to accept):\n%s", tc.golden, out.String())
		}
	}
}
