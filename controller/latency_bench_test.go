package controller

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/cemon-sdn/cemon/ofproto"
)

// BenchmarkCbenchPacketIn measures what the reader does under the core's lock for one
// PACKET_IN of cbench's load: a buffered PACKET_IN of a new flow between two known hosts
// of one switch, decoded with the reader's decoder (zero-allocation for PACKET_IN),
// handled by the core (Discovery, the PACKET_IN budget, Routing, the tracker) and its
// answer, one FLOW_MOD releasing the buffer, encoded as the writer does. Every
// iteration is a new flow (new UDP ports). allocs/op is the allocations per new flow on
// the whole in-process path. The installed case is cbench's steady state: the switch
// sends again packets of flows whose entry it has (cbench's switches ignore FLOW_MODs),
// answered with a PACKET_OUT naming the buffer.
func BenchmarkCbenchPacketIn(b *testing.B) {
	b.Run("new-flow", func(b *testing.B) { benchCbenchPacketIn(b, false) })
	b.Run("installed", func(b *testing.B) { benchCbenchPacketIn(b, true) })
}

func benchCbenchPacketIn(b *testing.B, installed bool) {
	n := newFakeNet(b, Config{})
	n.addSwitch(1, 1, 2)
	ha := n.addHost("a", 1, PortRef{1, 1})
	hb := n.addHost("b", 2, PortRef{1, 2})
	n.connect(1)
	n.advance(time.Second)
	for _, h := range []*fakeHost{ha, hb} {
		n.hostSend(h, arpFrame(layers.ARPRequest, h.mac, h.ip, ofproto.MAC{}, h.ip))
		n.run()
	}
	if hs := n.c.topo.Hosts(); len(hs) != 2 {
		b.Fatalf("%d hosts known, want 2", len(hs))
	}
	s := n.sw[1].s
	f := udpFrame(ha.mac, hb.mac, ha.ip, hb.ip, 1, 1, 0, 64)
	pi := &ofproto.PacketIn{BufferID: 0, TotalLen: uint16(len(f)), InPort: 1, Reason: ofproto.ReasonNoMatch, Data: f}
	msg, err := pi.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	const udpPorts = 18 + 14 + 20 // PACKET_IN header + Ethernet + IPv4
	var d decoder
	out := make([]byte, 0, 64<<10)
	flowMods, packetOuts := 0, 0
	now := n.now
	const flows = 1000 // installed: the flows sent again, round robin
	if installed {
		for i := 0; i < flows; i++ {
			binary.BigEndian.PutUint16(msg[udpPorts:], uint16(i))
			m, _, err := d.decode(msg)
			if err != nil {
				b.Fatal(err)
			}
			n.c.receive(s, m, now)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		binary.BigEndian.PutUint32(msg[8:], uint32(i%100000)) // buffer id, cycling as cbench's
		if installed {
			binary.BigEndian.PutUint16(msg[udpPorts:], uint16(i%flows))
		} else {
			binary.BigEndian.PutUint16(msg[udpPorts:], uint16(i))
			binary.BigEndian.PutUint16(msg[udpPorts+2:], uint16(i>>16)|0x8000)
		}
		now = now.Add(time.Microsecond)
		m, borrowed, err := d.decode(msg)
		if err != nil {
			b.Fatal(err)
		}
		fx := n.c.receive(s, m, now)
		if borrowed {
			ownOutput(fx, msg)
		}
		out = out[:0]
		for _, e := range fx.out {
			switch e.msg.Type() {
			case ofproto.TypeFlowMod:
				flowMods++
			case ofproto.TypePacketOut:
				packetOuts++
			}
			if out, err = ofproto.AppendMarshal(out, e.msg); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	switch {
	case installed && (flowMods != 0 || packetOuts != b.N):
		b.Fatalf("%d FLOW_MODs and %d PACKET_OUTs for %d packets of installed flows; want one PACKET_OUT each", flowMods, packetOuts, b.N)
	case !installed && (flowMods != b.N || packetOuts != 0):
		b.Fatalf("%d FLOW_MODs and %d PACKET_OUTs for %d new flows; want one FLOW_MOD each", flowMods, packetOuts, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}
