package controller

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/cemon-sdn/cemon/ofproto"
)

// EtherTypes the controller looks at.
const (
	etherIPv4 = 0x0800
	etherARP  = 0x0806
	etherVLAN = 0x8100
	etherIPv6 = 0x86dd
	etherLLDP = 0x88cc
)

// IP protocols with OpenFlow 1.0 transport fields.
const (
	protoICMP = 1
	protoTCP  = 6
	protoUDP  = 17
)

// vlanNone is dl_vlan when the frame has no 802.1Q tag (OFP_VLAN_NONE).
const vlanNone = 0xffff

var errShortFrame = errors.New("controller: short frame")

// frame is what the controller reads from a PACKET_IN's data: the fields of an OpenFlow
// 1.0 match, as a switch would extract them, plus ARP's addresses.
type frame struct {
	dlSrc, dlDst ofproto.MAC
	dlVLAN       uint16 // vlanNone without a tag
	dlVLANPCP    uint8
	dlType       uint16
	payload      []byte // after the Ethernet (and VLAN) header

	// IPv4 (dlType 0x0800), or ARP (nwProto is the opcode, nwSrc/nwDst the IPs).
	nwTOS        uint8
	nwProto      uint8
	nwSrc, nwDst netip.Addr
	tpSrc, tpDst uint16

	arpSHA ofproto.MAC // ARP sender hardware address
}

// parseFrame decodes the Ethernet, 802.1Q, ARP, IPv4 and TCP/UDP/ICMP headers the way
// an OpenFlow 1.0 switch fills a match. It reads only; f's slices point into b.
func parseFrame(b []byte, f *frame) error {
	*f = frame{dlVLAN: vlanNone}
	if len(b) < 14 {
		return errShortFrame
	}
	copy(f.dlDst[:], b[0:6])
	copy(f.dlSrc[:], b[6:12])
	f.dlType = binary.BigEndian.Uint16(b[12:14])
	p := b[14:]
	if f.dlType == etherVLAN {
		if len(p) < 4 {
			return errShortFrame
		}
		tci := binary.BigEndian.Uint16(p[0:2])
		f.dlVLAN = tci & 0x0fff
		f.dlVLANPCP = uint8(tci >> 13)
		f.dlType = binary.BigEndian.Uint16(p[2:4])
		p = p[4:]
	}
	f.payload = p
	switch f.dlType {
	case etherARP:
		// htype 1, ptype 0x0800, hlen 6, plen 4: 28 bytes.
		if len(p) < 28 || binary.BigEndian.Uint16(p[0:2]) != 1 || binary.BigEndian.Uint16(p[2:4]) != etherIPv4 ||
			p[4] != 6 || p[5] != 4 {
			return nil // not Ethernet/IPv4 ARP: no network fields
		}
		op := binary.BigEndian.Uint16(p[6:8])
		if op <= 0xff {
			f.nwProto = uint8(op)
		}
		copy(f.arpSHA[:], p[8:14])
		f.nwSrc = netip.AddrFrom4([4]byte(p[14:18]))
		f.nwDst = netip.AddrFrom4([4]byte(p[24:28]))
	case etherIPv4:
		if len(p) < 20 || p[0]>>4 != 4 {
			return nil
		}
		ihl := int(p[0]&0x0f) * 4
		if ihl < 20 || len(p) < ihl {
			return nil
		}
		f.nwTOS = p[1] & 0xfc
		f.nwProto = p[9]
		f.nwSrc = netip.AddrFrom4([4]byte(p[12:16]))
		f.nwDst = netip.AddrFrom4([4]byte(p[16:20]))
		if binary.BigEndian.Uint16(p[6:8])&0x1fff != 0 {
			return nil // a later fragment: no transport header
		}
		l4 := p[ihl:]
		switch f.nwProto {
		case protoTCP, protoUDP:
			if len(l4) >= 4 {
				f.tpSrc = binary.BigEndian.Uint16(l4[0:2])
				f.tpDst = binary.BigEndian.Uint16(l4[2:4])
			}
		case protoICMP:
			if len(l4) >= 2 {
				f.tpSrc, f.tpDst = uint16(l4[0]), uint16(l4[1])
			}
		}
	}
	return nil
}

func isMulticast(m ofproto.MAC) bool { return m[0]&1 != 0 }

// isLinkLocalMulticast reports 01:80:c2:00:00:0X, the addresses bridges never forward
// (STP, LLDP, pause frames, ...).
func isLinkLocalMulticast(m ofproto.MAC) bool {
	return m[0] == 0x01 && m[1] == 0x80 && m[2] == 0xc2 && m[3] == 0 && m[4] == 0 && m[5]&0xf0 == 0
}

// exactMatch returns the exact OpenFlow 1.0 match of an IPv4 frame entering on inPort.
func exactMatch(f *frame, inPort ofproto.PortNo) ofproto.Match {
	return ofproto.Match{
		InPort: inPort, DLSrc: f.dlSrc, DLDst: f.dlDst, DLVLAN: f.dlVLAN, DLVLANPCP: f.dlVLANPCP,
		DLType: f.dlType, NWTOS: f.nwTOS, NWProto: f.nwProto, NWSrc: f.nwSrc, NWDst: f.nwDst,
		TPSrc: f.tpSrc, TPDst: f.tpDst,
	}
}
