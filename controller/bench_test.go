package controller

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/store"
	"github.com/cemon-sdn/cemon/topology"
)

// benchNet builds a fake network of graph g (host on port 1 of every switch), connects
// every switch, discovers the links and lets every host announce itself.
func benchNet(b *testing.B, g *topology.Graph) *fakeNet {
	n := newFakeNet(b, Config{})
	next := make([]uint16, g.NumNodes())
	ports := make([][]uint16, g.NumNodes())
	for i := range next {
		next[i] = 2
		ports[i] = []uint16{1}
	}
	type wire struct{ a, b PortRef }
	var wires []wire
	for _, e := range g.Edges() {
		a, c := e[0], e[1]
		wires = append(wires, wire{PortRef{uint64(a + 1), next[a]}, PortRef{uint64(c + 1), next[c]}})
		ports[a] = append(ports[a], next[a])
		ports[c] = append(ports[c], next[c])
		next[a]++
		next[c]++
	}
	for i := 0; i < g.NumNodes(); i++ {
		n.addSwitch(uint64(i+1), ports[i]...)
		n.addHost(fmt.Sprintf("h%d", i+1), byte(i+1), PortRef{uint64(i + 1), 1})
	}
	for _, w := range wires {
		n.connectWire(w.a, w.b)
	}
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(time.Second) // every link in both directions
	for _, name := range hostNames(n) {
		h := n.hosts[name]
		n.hostSend(h, arpFrame(layers.ARPRequest, h.mac, h.ip, ofproto.MAC{}, h.ip))
		n.run()
	}
	if want, ls, hs := 2*g.NumEdges(), n.c.topo.Links(), n.c.topo.Hosts(); len(ls) != want || len(hs) != g.NumNodes() {
		b.Fatalf("%d links, %d hosts; want %d and %d", len(ls), len(hs), want, g.NumNodes())
	}
	return n
}

// BenchmarkPacketInToFlowMod measures the controller's work for the first packet of a
// new flow on one core: decode the PACKET_IN, parse the frame, compute the path, record
// the flow in the tracker, build one FLOW_MOD per switch and the PACKET_OUT, and encode
// them all, as the reader and writer goroutines do. Every iteration is a new UDP flow
// between a rotating pair of hosts. Reported: flows/s and FLOW_MODs per flow.
func BenchmarkPacketInToFlowMod(b *testing.B) {
	rng := func(spec string) *topology.Graph {
		g, err := topology.ParseSpec(spec, nil)
		if err != nil {
			b.Fatal(err)
		}
		return g
	}
	abilene := func() *topology.Graph {
		n := newFakeNet(b, Config{})
		return buildGML(b, n, "Abilene.gml")
	}
	for _, tc := range []struct {
		name string
		g    func() *topology.Graph
	}{
		{"linear3", func() *topology.Graph { return rng("linear:3") }},
		{"abilene11", abilene},
		{"fattree-k4-20sw", func() *topology.Graph { return rng("fattree:4") }},
		{"fattree-k8-80sw", func() *topology.Graph { return rng("fattree:8") }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			n := benchNet(b, tc.g())
			names := hostNames(n)
			// One PACKET_IN template per ordered host pair; the UDP ports are patched
			// per iteration so that every packet starts a new flow.
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
					pi := &ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(f)), InPort: 1, Data: f}
					raw, err := pi.MarshalBinary()
					if err != nil {
						b.Fatal(err)
					}
					ts = append(ts, tmpl{n.sw[ha.at.DPID].s, raw})
				}
			}
			const udpPorts = 18 + 14 + 20 // PACKET_IN header + Ethernet + IPv4
			out := make([]byte, 0, 64<<10)
			flowMods := 0
			now := n.now
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
				fx := n.c.receive(t.s, m, now)
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
			if n.c.stats.FlowsInstalled < uint64(b.N) {
				b.Fatalf("installed %d flows for %d packets", n.c.stats.FlowsInstalled, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
			b.ReportMetric(float64(flowMods)/float64(b.N), "flowmods/flow")
		})
	}
}

// BenchmarkServePacketIn measures the whole controller over a loopback TCP connection:
// framing, decoding, the core under its lock, encoding and the writer goroutine. One
// switch with hosts on ports 1 and 2 sends PACKET_INs of new UDP flows from port 1 to
// port 2 as fast as it can (window of 256 outstanding) and waits for every FLOW_MOD.
// The fake switch runs in the same process, so with GOMAXPROCS=1 the figure is the
// cost of one new flow on one core, switch side included.
func BenchmarkServePacketIn(b *testing.B) { benchServePacketIn(b, false) }

// BenchmarkServePacketInPersist is BenchmarkServePacketIn with Persist writing every
// new flow's identity to a bbolt file (batched, every DefaultPersistInterval).
func BenchmarkServePacketInPersist(b *testing.B) { benchServePacketIn(b, true) }

func benchServePacketIn(b *testing.B, persist bool) {
	c := New(Config{SendQueue: 1 << 16}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if persist {
		st, err := store.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		pctx, stop := context.WithCancel(context.Background())
		done := c.Persist(pctx, st, DefaultPersistInterval)
		defer func() {
			stop()
			<-done
			st.Close()
		}()
	}
	go c.Serve(ctx, ln)
	sub := c.Subscribe(16, SwitchUp)
	defer sub.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	write := func(m ofproto.Message) {
		buf, err := m.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	flowMods := make(chan struct{}, 1<<16)
	go func() {
		fr := ofproto.NewFramer(conn, 0)
		for {
			raw, err := fr.Next()
			if err != nil {
				return
			}
			switch ofproto.Type(raw[1]) {
			case ofproto.TypeFeaturesRequest:
				write(&ofproto.FeaturesReply{Xid: binary.BigEndian.Uint32(raw[4:8]), DatapathID: 1, NTables: 1,
					Ports: []ofproto.PhyPort{{PortNo: 1}, {PortNo: 2}}})
			case ofproto.TypeEchoRequest:
				write(&ofproto.EchoReply{Xid: binary.BigEndian.Uint32(raw[4:8])})
			case ofproto.TypeFlowMod:
				flowMods <- struct{}{}
			}
		}
	}()
	write(&ofproto.Hello{Xid: 1})
	select {
	case <-sub.C:
	case <-time.After(10 * time.Second):
		b.Fatal("no handshake")
	}
	h1, h2 := ofproto.MAC{0, 0, 0, 0, 0, 1}, ofproto.MAC{0, 0, 0, 0, 0, 2}
	ip1, ip2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	for i, h := range []struct {
		mac ofproto.MAC
		ip  netip.Addr
	}{{h1, ip1}, {h2, ip2}} {
		f := arpFrame(layers.ARPRequest, h.mac, h.ip, ofproto.MAC{}, h.ip)
		write(&ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(f)), InPort: ofproto.PortNo(i + 1), Data: f})
	}
	for i := 0; ; i++ {
		if _, ok := c.Network().Host(h2); ok {
			break
		}
		if i == 1000 {
			b.Fatal("hosts not learned")
		}
		time.Sleep(time.Millisecond)
	}
	f := udpFrame(h1, h2, ip1, ip2, 1, 1, 0, 64)
	raw, err := (&ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(f)), InPort: 1, Data: f}).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	const udpPorts = 18 + 14 + 20
	const window = 256
	b.ReportAllocs()
	b.ResetTimer()
	sent, got := 0, 0
	batch := make([]byte, 0, 64*len(raw))
	for got < b.N {
		batch = batch[:0]
		for sent < b.N && sent-got < window && len(batch) < cap(batch) {
			binary.BigEndian.PutUint16(raw[udpPorts:], uint16(sent))
			binary.BigEndian.PutUint16(raw[udpPorts+2:], uint16(sent>>16)|0x8000)
			batch = append(batch, raw...)
			sent++
		}
		if len(batch) > 0 {
			if _, err := conn.Write(batch); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-flowMods:
			got++
		case <-time.After(10 * time.Second):
			b.Fatalf("only %d of %d FLOW_MODs arrived", got, b.N)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}
