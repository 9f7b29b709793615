package topology

import (
	"bytes"
	"encoding/hex"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/stretchr/testify/require"
)

var testMAC = [6]byte{0x00, 0x00, 0x00, 0x00, 0x00, 0xaa}

// TestBuildLLDPWire checks the frame byte for byte against IEEE 802.1AB-2009, section 8
// (TLV header: 7-bit type, 9-bit length), written out by hand.
func TestBuildLLDPWire(t *testing.T) {
	want, err := hex.DecodeString("" +
		"0180c200000e" + "0000000000aa" + "88cc" + // nearest-bridge group, source, LLDP
		"0216" + "07" + hex.EncodeToString([]byte("dpid:0000000000000001")) + // chassis ID, local
		"0405" + "02" + "00000002" + // port ID, port component, port 2
		"0602" + "0078" + // TTL 120 s
		"0000" + // end of LLDPDU
		"000000000000000000") // padding to the 60-byte minimum frame
	require.NoError(t, err)
	if got := BuildLLDP(1, 2, testMAC); !bytes.Equal(got, want) {
		t.Errorf("BuildLLDP(1, 2) =\n%x\nwant\n%x", got, want)
	}
}

func TestLLDPRoundTrip(t *testing.T) {
	tests := []struct {
		dpid uint64
		port uint16
	}{
		{0, 1}, {1, 2}, {0x00000000deadbeef, 48}, {^uint64(0), MaxPort},
	}
	for _, tc := range tests {
		frame := BuildLLDP(tc.dpid, tc.port, testMAC)
		dpid, port, err := ParseLLDP(frame)
		if err != nil || dpid != tc.dpid || port != tc.port {
			t.Errorf("ParseLLDP(BuildLLDP(%#x, %d)) = %#x, %d, %v", tc.dpid, tc.port, dpid, port, err)
		}
	}
}

// lldpFrame serializes an LLDP frame with arbitrary chassis and port IDs, optionally
// VLAN-tagged.
func lldpFrame(t testing.TB, chassis layers.LLDPChassisID, port layers.LLDPPortID, vlan bool) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr(testMAC[:]), DstMAC: LLDPMulticast, EthernetType: layers.EthernetTypeLinkLayerDiscovery}
	lldp := &layers.LinkLayerDiscovery{ChassisID: chassis, PortID: port, TTL: 120}
	ls := []gopacket.SerializableLayer{eth, lldp}
	if vlan {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = []gopacket.SerializableLayer{eth, &layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeLinkLayerDiscovery}, lldp}
	}
	buf := gopacket.NewSerializeBuffer()
	require.NoError(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, ls...))
	return buf.Bytes()
}

func TestParseLLDP(t *testing.T) {
	local := func(s string) layers.LLDPChassisID {
		return layers.LLDPChassisID{Subtype: layers.LLDPChassisIDSubTypeLocal, ID: []byte(s)}
	}
	portComp := func(b ...byte) layers.LLDPPortID {
		return layers.LLDPPortID{Subtype: layers.LLDPPortIDSubtypePortComp, ID: b}
	}
	good := BuildLLDP(7, 3, testMAC)
	ipv4 := func() []byte {
		buf := gopacket.NewSerializeBuffer()
		_ = gopacket.SerializeLayers(buf, gopacket.SerializeOptions{},
			&layers.Ethernet{SrcMAC: net.HardwareAddr(testMAC[:]), DstMAC: LLDPMulticast, EthernetType: layers.EthernetTypeIPv4},
			&layers.IPv4{Version: 4, IHL: 5, TTL: 1, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}})
		return buf.Bytes()
	}()
	tests := []struct {
		name  string
		frame []byte
		dpid  uint64
		port  uint16
		err   error
	}{
		{"ours", good, 7, 3, nil},
		{"vlan tagged", lldpFrame(t, local("dpid:0000000000000007"), portComp(0, 0, 0, 3), true), 7, 3, nil},
		{"2-byte port, short dpid", lldpFrame(t, local("dpid:a"), portComp(0, 9), false), 10, 9, nil},
		{"extra padding", append(append([]byte(nil), good...), make([]byte, 64)...), 7, 3, nil},
		{"empty", nil, 0, 0, ErrLLDP},
		{"ethernet only", good[:14], 0, 0, ErrLLDP},
		{"truncated TLVs", good[:30], 0, 0, ErrLLDP},
		{"no end TLV", good[:14+24+7+4], 0, 0, ErrLLDP},
		{"ipv4", ipv4, 0, 0, ErrLLDP},
		{"chassis is a MAC", lldpFrame(t, layers.LLDPChassisID{Subtype: layers.LLDPChassisIDSubTypeMACAddr, ID: testMAC[:]}, portComp(0, 0, 0, 1), false), 0, 0, ErrLLDP},
		{"no dpid prefix", lldpFrame(t, local("0000000000000007"), portComp(0, 0, 0, 1), false), 0, 0, ErrLLDP},
		{"empty dpid", lldpFrame(t, local("dpid:"), portComp(0, 0, 0, 1), false), 0, 0, ErrLLDP},
		{"bad hex", lldpFrame(t, local("dpid:00000000000000zz"), portComp(0, 0, 0, 1), false), 0, 0, ErrLLDP},
		{"17 digits", lldpFrame(t, local("dpid:00000000000000001"), portComp(0, 0, 0, 1), false), 0, 0, ErrLLDP},
		{"signed", lldpFrame(t, local("dpid:-1"), portComp(0, 0, 0, 1), false), 0, 0, ErrLLDP},
		{"port is a name", lldpFrame(t, local("dpid:1"), layers.LLDPPortID{Subtype: layers.LLDPPortIDSubtypeIfaceName, ID: []byte("eth1")}, false), 0, 0, ErrLLDP},
		{"3-byte port", lldpFrame(t, local("dpid:1"), portComp(0, 0, 1), false), 0, 0, ErrLLDP},
		{"port 0", lldpFrame(t, local("dpid:1"), portComp(0, 0, 0, 0), false), 0, 0, ErrLLDP},
		{"reserved port", lldpFrame(t, local("dpid:1"), portComp(0, 0, 0xff, 0xfe), false), 0, 0, ErrLLDP},
		{"port above 16 bits", lldpFrame(t, local("dpid:1"), portComp(0, 1, 0, 1), false), 0, 0, ErrLLDP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dpid, port, err := ParseLLDP(tc.frame)
			require.ErrorIs(t, err, tc.err)
			if dpid != tc.dpid || port != tc.port {
				t.Errorf("got %#x/%d, want %#x/%d", dpid, port, tc.dpid, tc.port)
			}
		})
	}
}

// FuzzParseLLDP checks that ParseLLDP never panics, and that whatever it accepts
// rebuilds into a frame that parses to the same DPID and port.
func FuzzParseLLDP(f *testing.F) {
	f.Add(BuildLLDP(1, 2, testMAC))
	f.Add(BuildLLDP(^uint64(0), MaxPort, testMAC))
	f.Add(lldpFrame(f, layers.LLDPChassisID{Subtype: layers.LLDPChassisIDSubTypeLocal, ID: []byte("dpid:5")},
		layers.LLDPPortID{Subtype: layers.LLDPPortIDSubtypePortComp, ID: []byte{0, 4}}, true))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) {
		dpid, port, err := ParseLLDP(frame)
		if err != nil {
			require.ErrorIs(t, err, ErrLLDP)
			return
		}
		d2, p2, err := ParseLLDP(BuildLLDP(dpid, port, testMAC))
		if err != nil || d2 != dpid || p2 != port {
			t.Fatalf("accepted %#x/%d, rebuilt frame gives %#x/%d %v", dpid, port, d2, p2, err)
		}
	})
}

func BenchmarkLLDP(b *testing.B) {
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			BuildLLDP(uint64(i), 1, testMAC)
		}
	})
	b.Run("parse", func(b *testing.B) {
		frame := BuildLLDP(42, 7, testMAC)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, err := ParseLLDP(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
}
