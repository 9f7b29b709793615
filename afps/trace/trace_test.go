package trace

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Key
		err  bool
	}{
		{in: "tcp:10.0.0.1:4000>10.0.0.2:5201", want: Key{Proto: 6, Src: netip.MustParseAddr("10.0.0.1"), SPort: 4000, Dst: netip.MustParseAddr("10.0.0.2"), DPort: 5201}},
		{in: "UDP:10.0.0.1:1>10.0.0.2:2", want: Key{Proto: 17, Src: netip.MustParseAddr("10.0.0.1"), SPort: 1, Dst: netip.MustParseAddr("10.0.0.2"), DPort: 2}},
		{in: "47:10.0.0.1:0>10.0.0.2:0", want: Key{Proto: 47, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}},
		{in: "tcp:[2001:db8::1]:80>[2001:db8::2]:443", want: Key{Proto: 6, Src: netip.MustParseAddr("2001:db8::1"), SPort: 80, Dst: netip.MustParseAddr("2001:db8::2"), DPort: 443}},
		{in: "tcp10.0.0.1:4000>10.0.0.2:5201", err: true},
		{in: "xyz:10.0.0.1:4000>10.0.0.2:5201", err: true},
		{in: "tcp:10.0.0.1:4000-10.0.0.2:5201", err: true},
		{in: "tcp:10.0.0.1>10.0.0.2:5201", err: true},
		{in: "tcp:10.0.0.1:70000>10.0.0.2:5201", err: true},
		{in: "tcp:10.0.0.1:1>10.0.0.256:5201", err: true},
		{in: "300:10.0.0.1:1>10.0.0.2:5201", err: true},
	} {
		got, err := ParseKey(tc.in)
		if tc.err {
			assert.ErrorIs(t, err, ErrSyntax, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got)
		back, err := ParseKey(got.String())
		require.NoError(t, err)
		assert.Equal(t, got, back)
	}
}

const sample = `time_ns,flow_id,bytes
# a comment
2000000000,udp:10.0.0.1:5000>10.0.0.3:5201,1442

1000000000,tcp:10.0.0.1:4000>10.0.0.2:5201,1514
1500000000,tcp:10.0.0.1:4000>10.0.0.2:5201,66
`

func TestReadCSV(t *testing.T) {
	tr, err := ReadCSV(strings.NewReader(sample))
	require.NoError(t, err)
	require.Len(t, tr.Packets, 3)
	require.Len(t, tr.Keys, 2)
	assert.Equal(t, []Packet{{1e9, 1, 1514}, {1.5e9, 1, 66}, {2e9, 0, 1442}}, tr.Packets, "sorted by time")
	var b bytes.Buffer
	require.NoError(t, WriteCSV(&b, tr))
	back, err := ReadCSV(&b)
	require.NoError(t, err)
	require.Len(t, back.Packets, 3)
	for i, p := range back.Packets {
		assert.Equal(t, tr.Keys[tr.Packets[i].Flow], back.Keys[p.Flow])
		assert.Equal(t, tr.Packets[i].Time, p.Time)
	}
}

func TestReadCSVErrors(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"no header", "1,tcp:10.0.0.1:1>10.0.0.2:2,5\n"},
		{"bad header", "time,flow,bytes\n"},
		{"two fields", Header + "\n1,tcp:10.0.0.1:1>10.0.0.2:2\n"},
		{"four fields", Header + "\n1,tcp:10.0.0.1:1>10.0.0.2:2,5,6\n"},
		{"negative time", Header + "\n-1,tcp:10.0.0.1:1>10.0.0.2:2,5\n"},
		{"bad time", Header + "\nx,tcp:10.0.0.1:1>10.0.0.2:2,5\n"},
		{"bad bytes", Header + "\n1,tcp:10.0.0.1:1>10.0.0.2:2,-5\n"},
		{"huge packet", Header + "\n1,tcp:10.0.0.1:1>10.0.0.2:2,99999999\n"},
		{"bad flow", Header + "\n1,tcp:10.0.0.1>10.0.0.2:2,5\n"},
		{"long line", Header + "\n" + strings.Repeat("1", 600) + "\n"},
	} {
		_, err := ReadCSV(strings.NewReader(tc.in))
		assert.ErrorIs(t, err, ErrSyntax, tc.name)
	}
}

// Flows end after the idle timeout: a 5-tuple that pauses longer starts a new flow.
func TestFlowsIdle(t *testing.T) {
	in := Header + `
0,tcp:10.0.0.1:1>10.0.0.2:2,100
1000000000,tcp:10.0.0.1:1>10.0.0.2:2,100
2900000000,tcp:10.0.0.1:1>10.0.0.2:2,100
5000000000,tcp:10.0.0.1:1>10.0.0.2:2,100
5100000000,udp:10.0.0.1:1>10.0.0.2:2,7
`
	tr, err := ReadCSV(strings.NewReader(in))
	require.NoError(t, err)
	flows, of := Flows(tr, DefaultIdle)
	require.Len(t, flows, 3)
	assert.Equal(t, []int32{0, 0, 0, 1, 2}, of)
	assert.Equal(t, uint64(300), flows[0].Bytes)
	assert.Equal(t, int64(2.9e9), flows[0].Last)
	assert.Equal(t, int64(5e9), flows[1].Start)
	// A longer timeout keeps them together.
	flows, _ = Flows(tr, 3*time.Second)
	assert.Len(t, flows, 2)
}

func TestReadPcap(t *testing.T) {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	require.NoError(t, w.WriteFileHeader(128, layers.LinkTypeEthernet))
	mk := func(src, dst string, sp, dp int, udp bool, payload int) []byte {
		eth := &layers.Ethernet{SrcMAC: []byte{0, 0, 0, 0, 0, 1}, DstMAC: []byte{0, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: netip.MustParseAddr(src).AsSlice(), DstIP: netip.MustParseAddr(dst).AsSlice()}
		var l4 gopacket.SerializableLayer
		if udp {
			ip.Protocol = layers.IPProtocolUDP
			u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
			require.NoError(t, u.SetNetworkLayerForChecksum(ip))
			l4 = u
		} else {
			ip.Protocol = layers.IPProtocolTCP
			tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Window: 100}
			require.NoError(t, tc.SetNetworkLayerForChecksum(ip))
			l4 = tc
		}
		buf := gopacket.NewSerializeBuffer()
		require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, l4, gopacket.Payload(make([]byte, payload))))
		return buf.Bytes()
	}
	at := time.Unix(100, 0)
	pkts := [][]byte{mk("10.0.0.1", "10.0.0.3", 4000, 5201, false, 1000), mk("10.0.0.2", "10.0.0.4", 5000, 5202, true, 200),
		mk("10.0.0.1", "10.0.0.3", 4000, 5201, false, 0)}
	for i, p := range pkts {
		// The capture keeps 128 bytes but the frame's length is what counts.
		data := p[:min(len(p), 128)]
		require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: at.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(data), Length: len(p)}, data))
	}
	// an ARP frame is skipped
	arp := make([]byte, 42)
	arp[12], arp[13] = 0x08, 0x06
	require.NoError(t, w.WritePacket(gopacket.CaptureInfo{Timestamp: at.Add(5 * time.Millisecond), CaptureLength: 42, Length: 42}, arp))
	tr, skipped, err := ReadPcap(&b)
	require.NoError(t, err)
	assert.Equal(t, 1, skipped)
	require.Len(t, tr.Packets, 3)
	require.Len(t, tr.Keys, 2)
	assert.Equal(t, "tcp:10.0.0.1:4000>10.0.0.3:5201", tr.Keys[0].String())
	assert.Equal(t, "udp:10.0.0.2:5000>10.0.0.4:5202", tr.Keys[1].String())
	assert.Equal(t, uint32(len(pkts[0])), tr.Packets[0].Bytes)
	assert.Equal(t, int64(100e9), tr.Packets[0].Time)
}

func TestReadPcapErrors(t *testing.T) {
	_, _, err := ReadPcap(strings.NewReader("ab"))
	assert.ErrorIs(t, err, ErrBadPcap)
	_, _, err = ReadPcap(strings.NewReader("not a pcap file at all, no"))
	assert.ErrorIs(t, err, ErrBadPcap)
	// A header for an unsupported link type.
	hdr, _ := hex.DecodeString("d4c3b2a1020004000000000000000000ffff0000" + "69000000")
	_, _, err = ReadPcap(bytes.NewReader(hdr))
	assert.True(t, errors.Is(err, ErrBadPcap), "%v", err)
	// A truncated packet record.
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	require.NoError(t, w.WriteFileHeader(128, layers.LinkTypeEthernet))
	b.Write([]byte{1, 2, 3})
	_, _, err = ReadPcap(&b)
	assert.ErrorIs(t, err, ErrBadPcap)
}

// FuzzReadCSV: any input either fails with a syntax error or reads into a trace that
// writes and reads back the same.
func FuzzReadCSV(f *testing.F) {
	f.Add(sample)
	f.Add(Header + "\n0,udp:[::1]:1>[::2]:2,0\n")
	f.Add(Header + "\n5,6:1.2.3.4:0>5.6.7.8:65535,1048576\n")
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := ReadCSV(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrTooBig) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		var b bytes.Buffer
		if err := WriteCSV(&b, tr); err != nil {
			t.Fatal(err)
		}
		back, err := ReadCSV(&b)
		if err != nil {
			t.Fatalf("re-read: %v\n%s", err, b.String())
		}
		if len(back.Packets) != len(tr.Packets) {
			t.Fatalf("packets %d != %d", len(back.Packets), len(tr.Packets))
		}
		for i := range tr.Packets {
			p, q := tr.Packets[i], back.Packets[i]
			if p.Time != q.Time || p.Bytes != q.Bytes || tr.Keys[p.Flow] != back.Keys[q.Flow] {
				t.Fatalf("packet %d: %+v %v != %+v %v", i, p, tr.Keys[p.Flow], q, back.Keys[q.Flow])
			}
		}
		Flows(tr, DefaultIdle)
	})
}

// FuzzReadPcap: any input either reads or fails with a pcap error, never panics.
func FuzzReadPcap(f *testing.F) {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	_ = w.WriteFileHeader(128, layers.LinkTypeEthernet)
	frame, _ := hex.DecodeString("00000000000200000000000108004500002e000000004011000000" + "0a0000010a000003" + "13881451001a0000" + "000000000000000000000000000000000000")
	_ = w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(frame), Length: len(frame)}, frame)
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		tr, _, err := ReadPcap(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrBadPcap) && !errors.Is(err, ErrTooBig) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		for _, p := range tr.Packets {
			if p.Flow < 0 || int(p.Flow) >= len(tr.Keys) {
				t.Fatalf("bad flow index %d", p.Flow)
			}
		}
	})
}
