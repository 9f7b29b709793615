package controller

import (
	"encoding/binary"
	"testing"

	"github.com/cemon-sdn/cemon/ofproto"
)

// BenchmarkPacketInFallback is BenchmarkPacketInToFlowMod on Abilene with every
// switch's table in the fallback: each new UDP flow's first packet finds (after the
// first of its host pair) the pair's aggregate and is sent on along it. Reported:
// packets/s and FLOW_MODs per packet (the aggregates' only).
func BenchmarkPacketInFallback(b *testing.B) {
	n := newFakeNet(b, Config{})
	n = benchNet(b, buildGML(b, n, "Abilene.gml"))
	for d := range n.sw {
		n.c.table(d).info.Fallback = true // no limit known: it stays on
	}
	names := hostNames(n)
	type tmpl struct {
		s   *session
		msg []byte
	}
	var ts []tmpl
	for _, a := range names {
		for _, c := range names {
			if a == c {
				continue
			}
			ha, hc := n.hosts[a], n.hosts[c]
			f := udpFrame(ha.mac, hc.mac, ha.ip, hc.ip, 1, 1, 0, 64)
			raw, err := (&ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(f)), InPort: 1, Data: f}).MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			ts = append(ts, tmpl{n.sw[ha.at.DPID].s, raw})
		}
	}
	const udpPorts = 18 + 14 + 20 // PACKET_IN header + Ethernet + IPv4
	out := make([]byte, 0, 64<<10)
	flowMods := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := &ts[i%len(ts)]
		k := uint32(i / len(ts))
		binary.BigEndian.PutUint16(t.msg[udpPorts:], uint16(k))
		binary.BigEndian.PutUint16(t.msg[udpPorts+2:], uint16(k>>16)|0x8000)
		m, err := ofproto.Decode(t.msg)
		if err != nil {
			b.Fatal(err)
		}
		fx := n.c.receive(t.s, m, n.now)
		out = out[:0]
		for _, e := range fx.out {
			if e.msg.Type() == ofproto.TypeFlowMod {
				flowMods++
			}
			if out, err = ofproto.AppendMarshal(out, e.msg); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	if got := n.c.stats.HostPairFlows; got > uint64(len(ts)) {
		b.Fatalf("%d host-pair aggregates for %d host pairs", got, len(ts))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(flowMods)/float64(b.N), "flowmods/packet")
}
