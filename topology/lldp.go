package topology

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// ErrLLDP reports a frame that is not a cemon discovery LLDP frame.
var ErrLLDP = errors.New("topology: not a discovery LLDP frame")

// LLDP frame constants.
var (
	// LLDPMulticast is the nearest-bridge group address discovery frames are sent to;
	// 802.1D bridges do not forward it.
	LLDPMulticast = net.HardwareAddr{0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e}
)

const (
	// LLDPTTL is the time-to-live the frames announce, in seconds.
	LLDPTTL = 120
	// chassisPrefix starts the chassis ID, followed by the DPID in 16 hex digits (as Ryu
	// writes it, so the frames read the same in a capture).
	chassisPrefix = "dpid:"
)

// BuildLLDP returns the Ethernet frame that discovers the link out of port on switch
// dpid: an LLDP frame from srcMAC to LLDPMulticast whose chassis ID (subtype "locally
// assigned") is "dpid:" and the DPID in 16 hex digits, whose port ID (subtype "port
// component") is the port number in 4 bytes big-endian, and whose TTL is LLDPTTL. The
// controller sends it in a PACKET_OUT out of that port, which should be in 1..MaxPort
// (ParseLLDP refuses other port numbers).
func BuildLLDP(dpid uint64, port uint16, srcMAC [6]byte) []byte {
	var portID [4]byte
	binary.BigEndian.PutUint32(portID[:], uint32(port))
	eth := &layers.Ethernet{
		SrcMAC:       net.HardwareAddr(srcMAC[:]),
		DstMAC:       LLDPMulticast,
		EthernetType: layers.EthernetTypeLinkLayerDiscovery,
	}
	lldp := &layers.LinkLayerDiscovery{
		ChassisID: layers.LLDPChassisID{Subtype: layers.LLDPChassisIDSubTypeLocal, ID: []byte(fmt.Sprintf("%s%016x", chassisPrefix, dpid))},
		PortID:    layers.LLDPPortID{Subtype: layers.LLDPPortIDSubtypePortComp, ID: portID[:]},
		TTL:       LLDPTTL,
	}
	buf := gopacket.NewSerializeBuffer()
	// Serializing these two layers into a fresh buffer cannot fail: the only errors
	// gopacket returns come from a buffer that refuses to grow.
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, eth, lldp); err != nil {
		return nil
	}
	return buf.Bytes()
}

// ParseLLDP reads the DPID and port out of a discovery frame BuildLLDP made (possibly
// VLAN-tagged or padded). The chassis ID must be "dpid:" and 1 to 16 hex digits (subtype
// locally assigned); the port ID a port component of 2 or 4 bytes holding a port in
// 1..MaxPort. Anything else, including LLDP from other agents, is an error wrapping
// ErrLLDP. It never panics and does not keep frame.
func ParseLLDP(frame []byte) (dpid uint64, port uint16, err error) {
	defer func() {
		// gopacket's decoders recover their own panics; this guards the rest.
		if r := recover(); r != nil {
			dpid, port, err = 0, 0, fmt.Errorf("%w: malformed frame", ErrLLDP)
		}
	}()
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true})
	l, ok := pkt.Layer(layers.LayerTypeLinkLayerDiscovery).(*layers.LinkLayerDiscovery)
	if !ok || l == nil {
		if e := pkt.ErrorLayer(); e != nil {
			return 0, 0, fmt.Errorf("%w: %v", ErrLLDP, e.Error())
		}
		return 0, 0, fmt.Errorf("%w: no LLDP layer", ErrLLDP)
	}
	if l.ChassisID.Subtype != layers.LLDPChassisIDSubTypeLocal {
		return 0, 0, fmt.Errorf("%w: chassis ID subtype %d", ErrLLDP, l.ChassisID.Subtype)
	}
	hex, found := strings.CutPrefix(string(l.ChassisID.ID), chassisPrefix)
	if !found || len(hex) == 0 || len(hex) > 16 {
		return 0, 0, fmt.Errorf("%w: chassis ID %q", ErrLLDP, l.ChassisID.ID)
	}
	dpid, perr := strconv.ParseUint(hex, 16, 64)
	if perr != nil {
		return 0, 0, fmt.Errorf("%w: chassis ID %q", ErrLLDP, l.ChassisID.ID)
	}
	if l.PortID.Subtype != layers.LLDPPortIDSubtypePortComp {
		return 0, 0, fmt.Errorf("%w: port ID subtype %d", ErrLLDP, l.PortID.Subtype)
	}
	var p uint32
	switch id := l.PortID.ID; len(id) {
	case 2:
		p = uint32(binary.BigEndian.Uint16(id))
	case 4:
		p = binary.BigEndian.Uint32(id)
	default:
		return 0, 0, fmt.Errorf("%w: port ID of %d bytes", ErrLLDP, len(id))
	}
	if p < 1 || p > MaxPort {
		return 0, 0, fmt.Errorf("%w: port %d", ErrLLDP, p)
	}
	return dpid, uint16(p), nil
}
