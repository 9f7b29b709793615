package collector

import (
	"net/netip"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
)

const etherTypeIPv4 = 0x0800

// keyOfMatch is the tracker key of an entry's match: every field but in_port.
func keyOfMatch(m *ofproto.Match) flowtracker.Key {
	k := flowtracker.Key{DLSrc: m.DLSrc, DLDst: m.DLDst, DLVLAN: m.DLVLAN, DLType: m.DLType,
		TPSrc: m.TPSrc, TPDst: m.TPDst, DLVLANPCP: m.DLVLANPCP, NWTos: m.NWTOS, NWProto: m.NWProto}
	if m.NWSrc.Is4() {
		k.NWSrc = m.NWSrc.As4()
	}
	if m.NWDst.Is4() {
		k.NWDst = m.NWDst.As4()
	}
	return k
}

// matchOfKey is the exact match the controller installs for key at a switch whose
// entry matches inPort: the match of a poll-single.
func matchOfKey(k flowtracker.Key, inPort uint16) ofproto.Match {
	return ofproto.Match{InPort: ofproto.PortNo(inPort), DLSrc: k.DLSrc, DLDst: k.DLDst, DLVLAN: k.DLVLAN,
		DLVLANPCP: k.DLVLANPCP, DLType: k.DLType, NWTOS: k.NWTos, NWProto: k.NWProto,
		NWSrc: netip.AddrFrom4(k.NWSrc), NWDst: netip.AddrFrom4(k.NWDst), TPSrc: k.TPSrc, TPDst: k.TPDst}
}

// hostsOf names a flow's endpoints: IPv4 addresses for IPv4 flows, MAC addresses
// otherwise.
func hostsOf(k flowtracker.Key) (src, dst string) {
	if k.DLType == etherTypeIPv4 {
		return netip.AddrFrom4(k.NWSrc).String(), netip.AddrFrom4(k.NWDst).String()
	}
	return ofproto.MAC(k.DLSrc).String(), ofproto.MAC(k.DLDst).String()
}
