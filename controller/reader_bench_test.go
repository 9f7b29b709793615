package controller

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
)

// streamConn is a net.Conn whose reads serve a switch's side of a connection from
// memory: first the handshake and set-up bytes, then, once released, n messages made by
// gen, then io.EOF. Writes are discarded. It stands in for the socket so that a
// benchmark times the reader (framing, decoding, the core, the effects) and not TCP.
type streamConn struct {
	setup   []byte
	gen     func(i int, dst []byte) []byte // appends message i
	n       int
	release chan struct{} // closed by the benchmark to start the measured messages
	idle    chan struct{} // closed when the set-up is consumed

	mu       sync.Mutex
	buf      []byte
	next     int
	released bool
	closed   bool
}

func (sc *streamConn) Read(p []byte) (int, error) {
	// A socket read lets the writer run, as netpoll would.
	runtime.Gosched()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return 0, net.ErrClosed
	}
	if len(sc.setup) > 0 {
		k := copy(p, sc.setup)
		sc.setup = sc.setup[k:]
		return k, nil
	}
	if !sc.released {
		// Every set-up message is handled before the reader asks for more.
		close(sc.idle)
		sc.mu.Unlock()
		<-sc.release
		sc.mu.Lock()
		sc.released = true
	}
	for len(sc.buf) < len(p) && sc.next < sc.n {
		sc.buf = sc.gen(sc.next, sc.buf)
		sc.next++
	}
	if len(sc.buf) == 0 {
		return 0, io.EOF
	}
	k := copy(p, sc.buf)
	sc.buf = sc.buf[:copy(sc.buf, sc.buf[k:])]
	return k, nil
}

func (sc *streamConn) Write(p []byte) (int, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return 0, net.ErrClosed
	}
	return len(p), nil
}

func (sc *streamConn) Close() error {
	sc.mu.Lock()
	sc.closed = true
	sc.mu.Unlock()
	return nil
}

func (sc *streamConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6653}
}
func (sc *streamConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (sc *streamConn) SetDeadline(t time.Time) error      { return nil }
func (sc *streamConn) SetReadDeadline(t time.Time) error  { return nil }
func (sc *streamConn) SetWriteDeadline(t time.Time) error { return nil }

func marshalAll(tb testing.TB, ms ...ofproto.Message) []byte {
	tb.Helper()
	var out []byte
	for _, m := range ms {
		var err error
		if out, err = ofproto.AppendMarshal(out, m); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// benchFlowStatsReply is an OFPST_FLOW reply of n entries as Open vSwitch sends them
// for the controller's exact entries: one output action each.
func benchFlowStatsReply(n int) *ofproto.StatsReply {
	r := &ofproto.FlowStatsReply{Entries: make([]ofproto.FlowStats, n)}
	for i := range r.Entries {
		k := benchKey(i)
		r.Entries[i] = ofproto.FlowStats{Match: flowkey.ToMatch(k, 1), DurationSec: 12, DurationNsec: 345,
			Priority: 0x8000, IdleTimeout: 10, Cookie: uint64(i + 1), PacketCount: uint64(10 * i), ByteCount: uint64(1000 * i),
			Actions: []ofproto.Action{&ofproto.OutputAction{Port: 2}}}
	}
	return &ofproto.StatsReply{Body: r}
}

// BenchmarkReader times the connection reader per message, from the bytes of the
// socket to the effects queued for the writer: one switch on an in-memory connection
// (handshake done, two hosts learned, one UDP flow installed) sends a stream of one
// kind of message:
//
//   - packet-in: PACKET_INs of the installed flow (frames that reach the controller
//     before the switch's entry takes effect), each answered with a PACKET_OUT that
//     carries the frame;
//   - flow-removed: FLOW_REMOVEDs of entries the controller does not know;
//   - flow-stats-N: OFPST_FLOW replies of N entries, each answering a pending request
//     (the request is registered as its reply is read, as Request would).
//
// The writer goroutine encodes and discards what the reader queues; its work counts
// too. ns/op and allocs/op are per message.
func BenchmarkReader(b *testing.B) {
	h1, h2 := ofproto.MAC{0, 0, 0, 0, 0, 1}, ofproto.MAC{0, 0, 0, 0, 0, 2}
	ip1, ip2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	udp := udpFrame(h1, h2, ip1, ip2, 1000, 2000, 0, 64)
	flowPI := &ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(udp)), InPort: 1, Data: udp}
	var setup []ofproto.Message
	setup = append(setup, &ofproto.Hello{Xid: 1},
		// The core's second xid is its FEATURES_REQUEST's.
		&ofproto.FeaturesReply{Xid: 2, DatapathID: 1, NTables: 1, Ports: []ofproto.PhyPort{{PortNo: 1}, {PortNo: 2}}})
	for i, h := range []struct {
		mac ofproto.MAC
		ip  netip.Addr
	}{{h1, ip1}, {h2, ip2}} {
		f := arpFrame(layers.ARPRequest, h.mac, h.ip, ofproto.MAC{}, h.ip)
		setup = append(setup, &ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(f)),
			InPort: ofproto.PortNo(i + 1), Data: f})
	}
	setup = append(setup, flowPI)

	fixed := func(m ofproto.Message) func(*testing.B, *Controller) func(int, []byte) []byte {
		return func(b *testing.B, _ *Controller) func(int, []byte) []byte {
			raw := marshalAll(b, m)
			return func(_ int, dst []byte) []byte { return append(dst, raw...) }
		}
	}
	reply := func(m ofproto.Message) func(*testing.B, *Controller) func(int, []byte) []byte {
		return func(b *testing.B, c *Controller) func(int, []byte) []byte {
			raw := marshalAll(b, m)
			far := time.Now().Add(time.Hour)
			return func(i int, dst []byte) []byte {
				xid := uint32(0x80000000 | i)
				c.mu.Lock()
				c.core.switches[1].xids.add(xid, far)
				c.mu.Unlock()
				start := len(dst)
				dst = append(dst, raw...)
				binary.BigEndian.PutUint32(dst[start+4:], xid)
				return dst
			}
		}
	}
	flowStats := func(n int) func(*testing.B, *Controller) func(int, []byte) []byte {
		return reply(benchFlowStatsReply(n))
	}
	ports := make([]ofproto.PortStats, 48)
	for i := range ports {
		ports[i] = ofproto.PortStats{PortNo: ofproto.PortNo(i + 1), RxPackets: uint64(i), TxBytes: uint64(1000 * i)}
	}
	portStats := &ofproto.StatsReply{Body: &ofproto.PortStatsReply{Entries: ports}}
	rm := &ofproto.FlowRemoved{Match: flowkey.ToMatch(benchKey(7), 1), Cookie: 0xdead, Priority: 0x8000,
		Reason: ofproto.RemovedIdleTimeout, DurationSec: 3, IdleTimeout: 10, PacketCount: 5, ByteCount: 500}
	for _, tc := range []struct {
		name string
		gen  func(*testing.B, *Controller) func(int, []byte) []byte
		ok   func(*Controller, int) bool
	}{
		{"packet-in", fixed(flowPI), func(c *Controller, n int) bool { return c.NetStats().PacketIns >= uint64(n) }},
		{"flow-removed", fixed(rm), nil},
		{"flow-stats-1", flowStats(1), nil},
		{"flow-stats-100", flowStats(100), nil},
		{"port-stats-48", reply(portStats), nil},
		{"echo-request", fixed(&ofproto.EchoRequest{Xid: 9, Data: []byte("keepalive")}), nil},
		{"echo-reply", fixed(&ofproto.EchoReply{Xid: 9}), nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := New(Config{SendQueue: 1 << 16}, nil)
			sc := &streamConn{setup: marshalAll(b, setup...), n: b.N,
				release: make(chan struct{}), idle: make(chan struct{})}
			sc.gen = tc.gen(b, c)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.handle(ctx, sc, "")
			}()
			select {
			case <-sc.idle:
			case <-time.After(10 * time.Second):
				b.Fatal("set-up messages not consumed")
			}
			if n := c.NetStats().FlowsInstalled; n != 1 {
				b.Fatalf("%d flows installed in the set-up, want 1", n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			close(sc.release)
			<-done
			b.StopTimer()
			if sc.next != b.N || len(sc.buf) != 0 {
				b.Fatalf("connection ended after %d of %d messages", sc.next, b.N)
			}
			if tc.ok != nil && !tc.ok(c, b.N) {
				b.Fatal("messages not handled")
			}
		})
	}
}

// benchKey is a distinct UDP flow key for every i.
func benchKey(i int) flowtracker.Key {
	return flowtracker.Key{DLSrc: ofproto.MAC{0, 0, 0, 0, 1, byte(i >> 16)}, DLDst: ofproto.MAC{0, 0, 0, 0, 2, byte(i >> 24)},
		DLVLAN: 0xffff, DLType: 0x0800, NWProto: 17, NWSrc: [4]byte{10, 0, byte(i >> 8), byte(i)},
		NWDst: [4]byte{10, 1, 0, 1}, TPSrc: uint16(i), TPDst: 5001}
}
