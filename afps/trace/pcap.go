package trace

import (
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// ReadPcap reads a pcap (or pcapng) capture and keeps its IPv4 and IPv6 packets by
// 5-tuple (ports 0 for protocols without ports). Each packet counts its original frame
// length, as a switch's byte counter does. Packets that are not IP are skipped; the
// number skipped is returned.
func ReadPcap(r io.Reader) (*Trace, int, error) {
	src, link, err := open(r)
	if err != nil {
		return nil, 0, err
	}
	var b builder
	skipped := 0
	var eth layers.Ethernet
	var ip4 layers.IPv4
	var ip6 layers.IPv6
	var tcp layers.TCP
	var udp layers.UDP
	var sll layers.LinuxSLL
	var pay gopacket.Payload
	first := layers.LayerTypeEthernet
	switch link {
	case layers.LinkTypeEthernet:
	case layers.LinkTypeLinuxSLL:
		first = layers.LayerTypeLinuxSLL
	case layers.LinkTypeRaw, layers.LinkTypeIPv4:
		first = layers.LayerTypeIPv4
	default:
		return nil, 0, fmt.Errorf("%w: link type %v not supported", ErrBadPcap, link)
	}
	parser := gopacket.NewDecodingLayerParser(first, &eth, &sll, &ip4, &ip6, &tcp, &udp, &pay)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	for {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, skipped, fmt.Errorf("%w: packet %d: %v", ErrBadPcap, len(b.t.Packets)+skipped+1, err)
		}
		if err := parser.DecodeLayers(data, &decoded); err != nil && len(decoded) == 0 {
			skipped++
			continue
		}
		var k Key
		isIP := false
		for _, l := range decoded {
			switch l {
			case layers.LayerTypeIPv4:
				isIP = true
				k.Src, _ = netip.AddrFromSlice(ip4.SrcIP.To4())
				k.Dst, _ = netip.AddrFromSlice(ip4.DstIP.To4())
				k.Proto = uint8(ip4.Protocol)
			case layers.LayerTypeIPv6:
				isIP = true
				k.Src, _ = netip.AddrFromSlice(ip6.SrcIP)
				k.Dst, _ = netip.AddrFromSlice(ip6.DstIP)
				k.Proto = uint8(ip6.NextHeader)
			case layers.LayerTypeTCP:
				k.SPort, k.DPort = uint16(tcp.SrcPort), uint16(tcp.DstPort)
			case layers.LayerTypeUDP:
				k.SPort, k.DPort = uint16(udp.SrcPort), uint16(udp.DstPort)
			}
		}
		if !isIP || !k.Src.IsValid() || !k.Dst.IsValid() {
			skipped++
			continue
		}
		n := ci.Length
		if n <= 0 {
			n = len(data)
		}
		if n > MaxPacketSize {
			n = MaxPacketSize
		}
		at := ci.Timestamp.UnixNano()
		if at < 0 {
			return nil, skipped, fmt.Errorf("%w: packet %d: time before 1970", ErrBadPcap, len(b.t.Packets)+skipped+1)
		}
		if err := b.add(at, k, uint32(n)); err != nil {
			return nil, skipped, err
		}
	}
	return b.done(), skipped, nil
}

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// open reads the file header of a pcap or pcapng stream.
func open(r io.Reader) (packetSource, layers.LinkType, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, 0, fmt.Errorf("%w: short file header: %v", ErrBadPcap, err)
	}
	mr := io.MultiReader(bytesReader(magic[:]), r)
	if magic == [4]byte{0x0a, 0x0d, 0x0d, 0x0a} {
		ng, err := pcapgo.NewNgReader(mr, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %v", ErrBadPcap, err)
		}
		return ng, ng.LinkType(), nil
	}
	pr, err := pcapgo.NewReader(mr)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrBadPcap, err)
	}
	return pr, pr.LinkType(), nil
}

type sliceReader struct{ b []byte }

func bytesReader(b []byte) io.Reader { return &sliceReader{b: append([]byte(nil), b...)} }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}
