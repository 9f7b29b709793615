package flowtracker

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/cespare/xxhash/v2"
)

// Key identifies a flow: the L2–L4 fields of an OpenFlow 1.0 exact match, without
// in_port (which differs at every switch of the path). The controller fills it from the
// ofp_match it installs or the one a stats entry carries. Key is comparable and 32 bytes.
type Key struct {
	DLSrc, DLDst [6]byte // Ethernet source and destination
	NWSrc, NWDst [4]byte // IPv4 source and destination
	DLVLAN       uint16  // VLAN id (0xffff: none, as OpenFlow 1.0 writes it)
	DLType       uint16  // EtherType
	TPSrc, TPDst uint16  // transport ports (ICMP type and code)
	DLVLANPCP    uint8   // VLAN priority
	NWTos        uint8   // IP ToS (DSCP bits)
	NWProto      uint8   // IP protocol (ARP opcode)
}

// keyLen is the length of the canonical encoding Hash digests.
const keyLen = 31

// encode writes the canonical big-endian encoding of k.
func (k *Key) encode(b *[keyLen]byte) {
	copy(b[0:6], k.DLSrc[:])
	copy(b[6:12], k.DLDst[:])
	copy(b[12:16], k.NWSrc[:])
	copy(b[16:20], k.NWDst[:])
	binary.BigEndian.PutUint16(b[20:], k.DLVLAN)
	binary.BigEndian.PutUint16(b[22:], k.DLType)
	binary.BigEndian.PutUint16(b[24:], k.TPSrc)
	binary.BigEndian.PutUint16(b[26:], k.TPDst)
	b[28] = k.DLVLANPCP
	b[29] = k.NWTos
	b[30] = k.NWProto
}

// Hash returns the xxhash (XXH64, seed 0) of the key's canonical 31-byte encoding: the
// fields in declaration order, integers big-endian. It is stable across processes and
// releases, so it may be stored or sent to another cemon instance.
func (k Key) Hash() uint64 {
	var b [keyLen]byte
	k.encode(&b)
	return xxhash.Sum64(b[:])
}

// String formats the key for logs: "proto src:port>dst:port" plus the MACs and type.
func (k Key) String() string {
	return fmt.Sprintf("%x>%x type=%#04x vlan=%d/%d tos=%d proto=%d %s:%d>%s:%d",
		k.DLSrc, k.DLDst, k.DLType, k.DLVLAN, k.DLVLANPCP, k.NWTos, k.NWProto,
		netip.AddrFrom4(k.NWSrc), k.TPSrc, netip.AddrFrom4(k.NWDst), k.TPDst)
}
