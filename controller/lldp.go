package controller

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

// lldpMulticast is the nearest-bridge LLDP address; 802.1D bridges never forward it.
var lldpMulticast = net.HardwareAddr{0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e}

// ErrNotProbe: an LLDP frame that is not one of cemon's discovery probes.
var ErrNotProbe = errors.New("controller: not a cemon LLDP probe")

const lldpChassisPrefix = "dpid:"

// buildProbe returns the LLDP frame that switch dpid sends out of port to discover the
// link behind it: chassis ID "dpid:<16 hex digits>" (locally assigned), port ID the port
// number (port component, 2 bytes big-endian), TTL 120 s.
func buildProbe(dpid uint64, port uint16, src net.HardwareAddr) ([]byte, error) {
	var pid [2]byte
	binary.BigEndian.PutUint16(pid[:], port)
	eth := &layers.Ethernet{SrcMAC: src, DstMAC: lldpMulticast, EthernetType: layers.EthernetTypeLinkLayerDiscovery}
	lldp := &layers.LinkLayerDiscovery{
		ChassisID: layers.LLDPChassisID{Subtype: layers.LLDPChassisIDSubTypeLocal,
			ID: []byte(lldpChassisPrefix + fmt.Sprintf("%016x", dpid))},
		PortID: layers.LLDPPortID{Subtype: layers.LLDPPortIDSubtypePortComp, ID: pid[:]},
		TTL:    120,
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, lldp); err != nil {
		return nil, fmt.Errorf("controller: building LLDP probe: %w", err)
	}
	return buf.Bytes(), nil
}

// parseProbe extracts the sending switch and port from one of our LLDP probes.
func parseProbe(payload []byte) (dpid uint64, port uint16, err error) {
	pkt := gopacket.NewPacket(payload, layers.LayerTypeLinkLayerDiscovery, gopacket.DecodeOptions{NoCopy: true})
	if el := pkt.ErrorLayer(); el != nil {
		return 0, 0, fmt.Errorf("%w: %v", ErrNotProbe, el.Error())
	}
	l, ok := pkt.Layer(layers.LayerTypeLinkLayerDiscovery).(*layers.LinkLayerDiscovery)
	if !ok {
		return 0, 0, fmt.Errorf("%w: no LLDP layer", ErrNotProbe)
	}
	id := string(l.ChassisID.ID)
	if l.ChassisID.Subtype != layers.LLDPChassisIDSubTypeLocal || !strings.HasPrefix(id, lldpChassisPrefix) {
		return 0, 0, fmt.Errorf("%w: chassis %q", ErrNotProbe, id)
	}
	dpid, err = strconv.ParseUint(id[len(lldpChassisPrefix):], 16, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: chassis %q", ErrNotProbe, id)
	}
	if l.PortID.Subtype != layers.LLDPPortIDSubtypePortComp || len(l.PortID.ID) != 2 {
		return 0, 0, fmt.Errorf("%w: port id subtype %d length %d", ErrNotProbe, l.PortID.Subtype, len(l.PortID.ID))
	}
	return dpid, binary.BigEndian.Uint16(l.PortID.ID), nil
}
