package flowkey

import (
	"net/netip"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
)

// FromMatch is the tracker key of an exact match, as the controller installs one and
// as FLOW_REMOVED and flow statistics report it: every field but in_port. An address
// that is not IPv4 (an ARP or other non-IP match leaves nw_src and nw_dst unset) gives
// 0.0.0.0. The wildcards are not looked at: the key of a wildcarded match is the key of
// the fields it holds.
func FromMatch(m *ofproto.Match) flowtracker.Key {
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

// ToMatch is the exact match the controller installs for key k at a switch whose entry
// matches inPort: every field, no wildcard. FromMatch undoes it.
func ToMatch(k flowtracker.Key, inPort ofproto.PortNo) ofproto.Match {
	return ofproto.Match{InPort: inPort, DLSrc: k.DLSrc, DLDst: k.DLDst, DLVLAN: k.DLVLAN,
		DLVLANPCP: k.DLVLANPCP, DLType: k.DLType, NWTOS: k.NWTos, NWProto: k.NWProto,
		NWSrc: netip.AddrFrom4(k.NWSrc), NWDst: netip.AddrFrom4(k.NWDst), TPSrc: k.TPSrc, TPDst: k.TPDst}
}

// HostPairWildcards are the fields a host-pair entry (flowtracker.GrainHostPair)
// wildcards: IP protocol and ToS, transport ports.
const HostPairWildcards = ofproto.WildNWProto | ofproto.WildNWTOS | ofproto.WildTPSrc | ofproto.WildTPDst

// ToMatchGrain is ToMatch for an entry of the given grain: a host-pair key (its
// wildcarded fields zero, as flowtracker.HostPairKey leaves them) gets
// HostPairWildcards; an exact key is ToMatch's.
func ToMatchGrain(k flowtracker.Key, g flowtracker.Grain, inPort ofproto.PortNo) ofproto.Match {
	m := ToMatch(k, inPort)
	if g == flowtracker.GrainHostPair {
		m.Wildcards = HostPairWildcards
	}
	return m
}
