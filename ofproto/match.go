package ofproto

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// MAC is an Ethernet address. Unlike net.HardwareAddr it is a value, so
// decoding one does not allocate.
type MAC [6]byte

func (m MAC) String() string {
	const hexd = "0123456789abcdef"
	var b [17]byte
	for i, v := range m {
		if i > 0 {
			b[i*3-1] = ':'
		}
		b[i*3] = hexd[v>>4]
		b[i*3+1] = hexd[v&0xf]
	}
	return string(b[:])
}

// ParseMAC parses "aa:bb:cc:dd:ee:ff".
func ParseMAC(s string) (MAC, error) {
	var m MAC
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return m, fmt.Errorf("%w: MAC %q", ErrBadField, s)
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) != 2 {
			return m, fmt.Errorf("%w: MAC %q", ErrBadField, s)
		}
		m[i] = byte(v)
	}
	return m, nil
}

// Wildcards is ofp_flow_wildcards: the bits say which match fields are
// ignored; two 6-bit counts give how many low bits of nw_src and nw_dst are.
type Wildcards uint32

// Wildcard bits and the nw_src/nw_dst bit-count fields.
const (
	WildInPort    Wildcards = 1 << 0
	WildDLVLAN    Wildcards = 1 << 1
	WildDLSrc     Wildcards = 1 << 2
	WildDLDst     Wildcards = 1 << 3
	WildDLType    Wildcards = 1 << 4
	WildNWProto   Wildcards = 1 << 5
	WildTPSrc     Wildcards = 1 << 6
	WildTPDst     Wildcards = 1 << 7
	WildDLVLANPCP Wildcards = 1 << 20
	WildNWTOS     Wildcards = 1 << 21

	NWSrcShift              = 8
	NWSrcBits               = 6
	WildNWSrcMask           = Wildcards((1<<NWSrcBits - 1) << NWSrcShift)
	WildNWSrcAll            = Wildcards(32 << NWSrcShift)
	NWDstShift              = 14
	NWDstBits               = 6
	WildNWDstMask           = Wildcards((1<<NWDstBits - 1) << NWDstShift)
	WildNWDstAll            = Wildcards(32 << NWDstShift)
	WildAll       Wildcards = 1<<22 - 1
)

// VLANNone is the dl_vlan value meaning "no 802.1Q header".
const VLANNone uint16 = 0xffff

// NWSrcWildBits is how many low bits of nw_src are ignored (0-32; wire
// values above 32 mean 32).
func (w Wildcards) NWSrcWildBits() int {
	return min(int(w&WildNWSrcMask)>>NWSrcShift, 32)
}

// NWDstWildBits is how many low bits of nw_dst are ignored (0-32).
func (w Wildcards) NWDstWildBits() int {
	return min(int(w&WildNWDstMask)>>NWDstShift, 32)
}

// NWSrcPrefixLen is the CIDR prefix length nw_src matches on (32 exact, 0 any).
func (w Wildcards) NWSrcPrefixLen() int { return 32 - w.NWSrcWildBits() }

// NWDstPrefixLen is the CIDR prefix length nw_dst matches on (32 exact, 0 any).
func (w Wildcards) NWDstPrefixLen() int { return 32 - w.NWDstWildBits() }

// WithNWSrcPrefixLen returns w with nw_src matching the top n bits
// (n is clamped to 0-32).
func (w Wildcards) WithNWSrcPrefixLen(n int) Wildcards {
	n = max(0, min(n, 32))
	return w&^WildNWSrcMask | Wildcards(32-n)<<NWSrcShift
}

// WithNWDstPrefixLen returns w with nw_dst matching the top n bits.
func (w Wildcards) WithNWDstPrefixLen(n int) Wildcards {
	n = max(0, min(n, 32))
	return w&^WildNWDstMask | Wildcards(32-n)<<NWDstShift
}

var wildNames = []string{"OFPFW_IN_PORT", "OFPFW_DL_VLAN", "OFPFW_DL_SRC", "OFPFW_DL_DST",
	"OFPFW_DL_TYPE", "OFPFW_NW_PROTO", "OFPFW_TP_SRC", "OFPFW_TP_DST"}

func (w Wildcards) String() string {
	var parts []string
	for i, n := range wildNames {
		if w&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if b := w.NWSrcWildBits(); b != 0 {
		parts = append(parts, "OFPFW_NW_SRC("+strconv.Itoa(b)+")")
	}
	if b := w.NWDstWildBits(); b != 0 {
		parts = append(parts, "OFPFW_NW_DST("+strconv.Itoa(b)+")")
	}
	if w&WildDLVLANPCP != 0 {
		parts = append(parts, "OFPFW_DL_VLAN_PCP")
	}
	if w&WildNWTOS != 0 {
		parts = append(parts, "OFPFW_NW_TOS")
	}
	if rest := w &^ WildAll; rest != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, "|")
}

// MatchLen is the size of ofp_match.
const MatchLen = 40

// Match is ofp_match, the 12-tuple an entry matches on. A field counts only
// when its wildcard bit is clear (for nw_src/nw_dst: only the prefix the
// wildcard bit count leaves).
type Match struct {
	Wildcards Wildcards
	InPort    PortNo
	DLSrc     MAC
	DLDst     MAC
	DLVLAN    uint16
	DLVLANPCP uint8
	DLType    uint16
	NWTOS     uint8
	NWProto   uint8
	NWSrc     netip.Addr // IPv4; the zero Addr encodes as 0.0.0.0 (and decodes as 0.0.0.0)
	NWDst     netip.Addr
	TPSrc     uint16
	TPDst     uint16
}

// MatchAll returns a match that matches every packet, as decoding one gives
// it (nw_src and nw_dst 0.0.0.0).
func MatchAll() Match {
	return Match{Wildcards: WildAll, NWSrc: netip.IPv4Unspecified(), NWDst: netip.IPv4Unspecified()}
}

func putAddr4(b []byte, a netip.Addr) bool {
	switch {
	case a.Is4():
		v := a.As4()
		copy(b, v[:])
	case a.Is4In6():
		v := a.Unmap().As4()
		copy(b, v[:])
	case !a.IsValid():
		clear(b[:4])
	default:
		return false
	}
	return true
}

func getAddr4(b []byte) netip.Addr {
	return netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]})
}

// marshalInto writes the 40-byte match into b.
func (m *Match) marshalInto(b []byte) error {
	_ = b[MatchLen-1]
	be.PutUint32(b[0:], uint32(m.Wildcards))
	be.PutUint16(b[4:], uint16(m.InPort))
	copy(b[6:12], m.DLSrc[:])
	copy(b[12:18], m.DLDst[:])
	be.PutUint16(b[18:], m.DLVLAN)
	b[20] = m.DLVLANPCP
	b[21] = 0
	be.PutUint16(b[22:], m.DLType)
	b[24] = m.NWTOS
	b[25] = m.NWProto
	b[26], b[27] = 0, 0
	if !putAddr4(b[28:32], m.NWSrc) {
		return fmt.Errorf("%w: nw_src %v is not IPv4", ErrBadField, m.NWSrc)
	}
	if !putAddr4(b[32:36], m.NWDst) {
		return fmt.Errorf("%w: nw_dst %v is not IPv4", ErrBadField, m.NWDst)
	}
	be.PutUint16(b[36:], m.TPSrc)
	be.PutUint16(b[38:], m.TPDst)
	return nil
}

// MarshalBinary encodes the 40-byte ofp_match.
func (m *Match) MarshalBinary() ([]byte, error) {
	b, err := m.AppendBinary(make([]byte, 0, MatchLen))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// AppendBinary appends the 40-byte ofp_match to b and returns the extended buffer;
// with b of enough capacity it does not allocate. On error b is returned unchanged.
func (m *Match) AppendBinary(b []byte) ([]byte, error) {
	start := len(b)
	b = slices.Grow(b, MatchLen)[:start+MatchLen]
	if err := m.marshalInto(b[start:]); err != nil {
		return b[:start], err
	}
	return b, nil
}

// UnmarshalBinary decodes a 40-byte ofp_match.
func (m *Match) UnmarshalBinary(b []byte) error {
	if len(b) != MatchLen {
		return errAt(typeUnknown, 0, ErrBadLength, "match is %d bytes, want 40", len(b))
	}
	m.unmarshal(b)
	return nil
}

// unmarshal decodes b[:40]; the caller checked the length.
func (m *Match) unmarshal(b []byte) {
	_ = b[MatchLen-1]
	m.Wildcards = Wildcards(be.Uint32(b[0:]))
	m.InPort = PortNo(be.Uint16(b[4:]))
	copy(m.DLSrc[:], b[6:12])
	copy(m.DLDst[:], b[12:18])
	m.DLVLAN = be.Uint16(b[18:])
	m.DLVLANPCP = b[20]
	m.DLType = be.Uint16(b[22:])
	m.NWTOS = b[24]
	m.NWProto = b[25]
	m.NWSrc = getAddr4(b[28:32])
	m.NWDst = getAddr4(b[32:36])
	m.TPSrc = be.Uint16(b[36:])
	m.TPDst = be.Uint16(b[38:])
}

// NWSrcPrefix is nw_src with the prefix the wildcards leave (a /0 prefix when
// nw_src is fully wildcarded).
func (m *Match) NWSrcPrefix() netip.Prefix {
	a := m.NWSrc
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	p, _ := a.Unmap().Prefix(m.Wildcards.NWSrcPrefixLen())
	return p
}

// NWDstPrefix is nw_dst with the prefix the wildcards leave.
func (m *Match) NWDstPrefix() netip.Prefix {
	a := m.NWDst
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	p, _ := a.Unmap().Prefix(m.Wildcards.NWDstPrefixLen())
	return p
}

const (
	ethTypeIP  = 0x0800
	ethTypeARP = 0x0806
)

// String formats the match the way ovs-ofctl does for OpenFlow 1.0: a
// protocol shorthand (ip, tcp, udp, icmp, arp) when it applies, then the
// fields that are not wildcarded, comma-separated; "" matches everything.
func (m *Match) String() string {
	w := m.Wildcards
	var parts []string
	add := func(k, v string) { parts = append(parts, k+"="+v) }
	shorthand := ""
	typeDone, protoDone := false, false
	if w&WildDLType == 0 {
		switch m.DLType {
		case ethTypeIP:
			shorthand = "ip"
			typeDone = true
			if w&WildNWProto == 0 {
				switch m.NWProto {
				case 1:
					shorthand, protoDone = "icmp", true
				case 6:
					shorthand, protoDone = "tcp", true
				case 17:
					shorthand, protoDone = "udp", true
				}
			}
		case ethTypeARP:
			shorthand, typeDone = "arp", true
		}
	}
	if shorthand != "" {
		parts = append(parts, shorthand)
	}
	if w&WildInPort == 0 {
		add("in_port", m.InPort.String())
	}
	if w&WildDLVLAN == 0 {
		if m.DLVLAN == VLANNone {
			add("dl_vlan", "0xffff")
		} else {
			add("dl_vlan", strconv.Itoa(int(m.DLVLAN)))
		}
	}
	if w&WildDLVLANPCP == 0 {
		add("dl_vlan_pcp", strconv.Itoa(int(m.DLVLANPCP)))
	}
	if w&WildDLSrc == 0 {
		add("dl_src", m.DLSrc.String())
	}
	if w&WildDLDst == 0 {
		add("dl_dst", m.DLDst.String())
	}
	if w&WildDLType == 0 && !typeDone {
		add("dl_type", "0x"+fmt.Sprintf("%04x", m.DLType))
	}
	if n := w.NWSrcPrefixLen(); n > 0 {
		add("nw_src", prefixString(m.NWSrcPrefix()))
	}
	if n := w.NWDstPrefixLen(); n > 0 {
		add("nw_dst", prefixString(m.NWDstPrefix()))
	}
	if w&WildNWProto == 0 && !protoDone {
		add("nw_proto", strconv.Itoa(int(m.NWProto)))
	}
	if w&WildNWTOS == 0 {
		add("nw_tos", strconv.Itoa(int(m.NWTOS)))
	}
	tpSrc, tpDst := "tp_src", "tp_dst"
	if shorthand == "icmp" {
		tpSrc, tpDst = "icmp_type", "icmp_code"
	}
	if w&WildTPSrc == 0 {
		add(tpSrc, strconv.Itoa(int(m.TPSrc)))
	}
	if w&WildTPDst == 0 {
		add(tpDst, strconv.Itoa(int(m.TPDst)))
	}
	return strings.Join(parts, ",")
}

func prefixString(p netip.Prefix) string {
	if p.Bits() == 32 {
		return p.Addr().String()
	}
	return p.String()
}
