package flowkey_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
)

// TestRoundTrip: ToMatch gives the exact match the controller installs and FromMatch
// recovers the key from it, whatever the in_port; the match survives the wire.
func TestRoundTrip(t *testing.T) {
	keys := []struct {
		name string
		k    flowtracker.Key
	}{
		{"tcp", flowtracker.Key{DLSrc: [6]byte{0, 0, 0, 0, 0, 1}, DLDst: [6]byte{0, 0, 0, 0, 0, 2}, DLVLAN: 0xffff,
			DLType: 0x0800, NWProto: 6, NWSrc: [4]byte{10, 0, 0, 1}, NWDst: [4]byte{10, 0, 0, 2}, TPSrc: 40001, TPDst: 5201}},
		{"udp vlan tos", flowtracker.Key{DLSrc: [6]byte{2, 0, 0, 0, 0, 9}, DLDst: [6]byte{2, 0, 0, 0, 0, 8}, DLVLAN: 7,
			DLVLANPCP: 3, DLType: 0x0800, NWTos: 0xb8, NWProto: 17, NWSrc: [4]byte{192, 168, 1, 1},
			NWDst: [4]byte{192, 168, 1, 2}, TPSrc: 53, TPDst: 53}},
		{"icmp", flowtracker.Key{DLType: 0x0800, NWProto: 1, NWSrc: [4]byte{10, 0, 0, 3}, NWDst: [4]byte{10, 0, 0, 4}, TPSrc: 8}},
		{"zero", flowtracker.Key{}},
	}
	for _, tc := range keys {
		for _, in := range []ofproto.PortNo{1, 65279} {
			m := flowkey.ToMatch(tc.k, in)
			assert.Equal(t, in, m.InPort, tc.name)
			assert.Zero(t, m.Wildcards, "%s: an installed match has no wildcard", tc.name)
			assert.Equal(t, tc.k, flowkey.FromMatch(&m), tc.name)

			// The same through the encoder and decoder, as a FLOW_REMOVED brings it back.
			raw, err := (&ofproto.FlowRemoved{Match: m}).MarshalBinary()
			require.NoError(t, err, tc.name)
			back, err := ofproto.Decode(raw)
			require.NoError(t, err, tc.name)
			fr, ok := back.(*ofproto.FlowRemoved)
			require.True(t, ok, tc.name)
			assert.Equal(t, tc.k, flowkey.FromMatch(&fr.Match), tc.name)
		}
	}
}

// TestFromMatchNonIPv4: a match whose network addresses are unset or IPv6 gives a key
// with zero addresses rather than a panic or a truncated address.
func TestFromMatchNonIPv4(t *testing.T) {
	m := ofproto.Match{DLType: 0x0806, NWProto: 1, NWDst: netip.MustParseAddr("2001:db8::1")}
	k := flowkey.FromMatch(&m)
	assert.Equal(t, [4]byte{}, k.NWSrc)
	assert.Equal(t, [4]byte{}, k.NWDst)
	assert.Equal(t, uint16(0x0806), k.DLType)
	assert.Equal(t, uint8(1), k.NWProto)
}

// FuzzRoundTrip: FromMatch(ToMatch(k, in)) == k for every key and in_port.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 10, 0, 0, 1, 10, 0, 0, 2}, uint16(0xffff), uint16(0x0800),
		uint16(40001), uint16(5201), uint8(0), uint8(0), uint8(6), uint16(1))
	f.Fuzz(func(t *testing.T, addrs []byte, vlan, typ, tpSrc, tpDst uint16, pcp, tos, proto uint8, in uint16) {
		var b [20]byte
		copy(b[:], addrs)
		k := flowtracker.Key{DLSrc: [6]byte(b[0:6]), DLDst: [6]byte(b[6:12]), NWSrc: [4]byte(b[12:16]),
			NWDst: [4]byte(b[16:20]), DLVLAN: vlan, DLType: typ, TPSrc: tpSrc, TPDst: tpDst, DLVLANPCP: pcp,
			NWTos: tos, NWProto: proto}
		m := flowkey.ToMatch(k, ofproto.PortNo(in))
		if got := flowkey.FromMatch(&m); got != k || m.InPort != ofproto.PortNo(in) {
			t.Fatalf("FromMatch(ToMatch(%v, %d)) = %v (in_port %d)", k, in, got, m.InPort)
		}
	})
}
