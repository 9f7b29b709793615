package controller

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
)

// smallBufListener shrinks the send buffer of every accepted connection, so that a
// switch that stops reading fills the socket buffers after a few messages (and a
// burst fills the send queue). Its receive buffer, like the switch's send buffer, is
// peerBuf (see startBackpressure): small enough to fill soon once the controller stops
// reading, above loopback's 64 KB segment so that window updates are not held back.
const peerBuf = 64 << 10

type smallBufListener struct {
	net.Listener
	size int
}

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(l.size)
		tc.SetReadBuffer(peerBuf)
	}
	return c, err
}

// rawSwitch is a switch whose reading the test controls: after the handshake it reads
// only when told to.
type rawSwitch struct {
	t    *testing.T
	conn net.Conn
	fr   *ofproto.Framer
}

// startBackpressure serves a controller with cfg behind small socket buffers and
// connects one switch (dpid 1, ports 1 and 2) through the handshake; hosts h1 (port 1)
// and h2 (port 2) are learned, so that every new UDP flow from h1 to h2 is answered
// with a FLOW_MOD.
func startBackpressure(t *testing.T, cfg Config, bufSize int) (*Controller, *rawSwitch, *Subscription) {
	t.Helper()
	c := New(cfg, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		c.Serve(ctx, smallBufListener{ln, bufSize})
	}()
	t.Cleanup(func() { cancel(); <-served })
	sub := c.Subscribe(16, SwitchUp, SwitchDown)
	t.Cleanup(sub.Close)
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	// The switch's receive buffer is small, so that when it stops reading the
	// controller's sends block soon. Its send buffer is not: one of a few KB waits on
	// the controller's delayed ACKs once the controller has nothing to send them with,
	// and the switch's writes crawl (70 PACKET_INs in 2.5 s, seen under load), so that
	// the keepalive, not the backpressure, ended the connection.
	nc.(*net.TCPConn).SetReadBuffer(bufSize)
	nc.(*net.TCPConn).SetWriteBuffer(peerBuf)
	sw := &rawSwitch{t: t, conn: nc, fr: ofproto.NewFramer(nc, 0)}
	sw.write(&ofproto.Hello{Xid: 1})
	// Answer the handshake; read until the switch is up.
	up := make(chan struct{})
	go func() {
		select {
		case ev := <-sub.C:
			if ev.Kind == SwitchUp {
				close(up)
			}
		case <-time.After(10 * time.Second):
		}
	}()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for done := false; !done; {
		b, err := sw.fr.Next()
		require.NoError(t, err, "handshake")
		if ofproto.Type(b[1]) == ofproto.TypeFeaturesRequest {
			sw.write(&ofproto.FeaturesReply{Xid: binary.BigEndian.Uint32(b[4:8]), DatapathID: 1, NTables: 1,
				Ports: []ofproto.PhyPort{{PortNo: 1}, {PortNo: 2}}})
		}
		select {
		case <-up:
			done = true
		default:
		}
	}
	nc.SetReadDeadline(time.Time{})
	for i, h := range []struct {
		mac ofproto.MAC
		ip  string
	}{{bpH1, "10.0.0.1"}, {bpH2, "10.0.0.2"}} {
		ip := netip.MustParseAddr(h.ip)
		f := arpFrame(layers.ARPRequest, h.mac, ip, ofproto.MAC{}, ip)
		sw.write(&ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(f)), InPort: ofproto.PortNo(i + 1), Data: f})
	}
	require.Eventually(t, func() bool { return len(c.Hosts()) == 2 }, 10*time.Second, 5*time.Millisecond, "hosts learned")
	return c, sw, sub
}

var bpH1, bpH2 = ofproto.MAC{0, 0, 0, 0, 0, 1}, ofproto.MAC{0, 0, 0, 0, 0, 2}

func (sw *rawSwitch) write(m ofproto.Message) {
	b, err := m.MarshalBinary()
	require.NoError(sw.t, err)
	_, err = sw.conn.Write(b)
	require.NoError(sw.t, err)
}

// flowPacketIn is the PACKET_IN of new UDP flow i from h1 to h2, marshalled.
func flowPacketIn(t *testing.T, i int) []byte {
	f := udpFrame(bpH1, bpH2, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"),
		uint16(1024+i%60000), uint16(5001+i/60000), 0, 8)
	b, err := (&ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(f)), InPort: 1, Data: f}).MarshalBinary()
	require.NoError(t, err)
	return b
}

// connOf returns the connection of the switch dpid.
func connOf(c *Controller, dpid uint64) *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.core.switches[dpid]; ok {
		return s.conn
	}
	return nil
}

// A switch that keeps sending PACKET_INs but reads nothing is slowed down: the
// controller stops reading from it (its PACKET_IN count stops growing and the switch's
// own writes block) without closing the connection, even past the echo keepalive
// that would close a silent switch; it is dropped with ErrStalled once it has read
// nothing for StallTimeout.
func TestBackpressureStalledSwitchSlowedThenDropped(t *testing.T) {
	// The echo keepalive must leave the socket buffers time to fill both ways before
	// the switch, which answers no echo, is held back: on a loaded machine (the race
	// detector, other packages' tests) the controller has gone seconds without a
	// PACKET_IN before its reader was held back (one missed 100 ms echo, then two of
	// 500 ms, then three of 1 s, were each outlasted once). So the keepalive allows
	// 7 s of silence (six missed 1 s echoes) and the held-back switch is watched for
	// longer than that. StallTimeout runs from the first write that
	// blocked, which can come seconds before the reader is held back: it is twice
	// the keepalive.
	const (
		echo   = time.Second
		missed = 6
		stall  = 14 * time.Second
	)
	keepalive := echo * (missed + 1)
	c, sw, sub := startBackpressure(t, Config{SendQueue: 16, StallTimeout: stall,
		EchoInterval: echo, EchoMissed: missed, TickInterval: 20 * time.Millisecond}, 4096)
	// The switch sends new flows as fast as TCP takes them and never reads.
	var written atomic.Int64
	go func() {
		sw.conn.SetWriteDeadline(time.Now().Add(time.Minute))
		for i := 0; i < 1_000_000; i++ {
			if _, err := sw.conn.Write(flowPacketIn(t, i)); err != nil {
				return // closed by the controller, or by the test's end
			}
			written.Add(1)
		}
	}()
	// Once the socket buffers are full both ways, the controller's reader is held
	// back for good and the switch's writes stop.
	start := time.Now()
	last, still := int64(-1), 0
	var dropped atomic.Bool
	require.Eventually(t, func() bool {
		cn := connOf(c, 1)
		if cn == nil {
			dropped.Store(true)
			return true
		}
		w := written.Load()
		if w == last && cn.paused.Load() {
			still++
		} else {
			still = 0
		}
		last = w
		return still >= 3
	}, 20*time.Second, 100*time.Millisecond, "the controller never held its reader back for good")
	if dropped.Load() {
		why := fmt.Sprintf("after %v, the switch having written %d PACKET_INs and the controller read %d",
			time.Since(start).Round(time.Millisecond), written.Load(), c.NetStats().PacketIns)
		select {
		case ev := <-sub.C:
			t.Fatalf("switch dropped before it was seen held back, %s: %v (%v)", why, ev.Kind, ev.Err)
		case <-time.After(time.Second):
			t.Fatalf("switch dropped before it was seen held back, %s", why)
		}
	}
	paused := time.Now()
	// While held back, the controller reads nothing more, the switch's writes are
	// blocked, and the connection outlives the keepalive that would drop a silent one.
	n0, w0 := c.NetStats().PacketIns, written.Load()
	time.Sleep(keepalive + echo/2)
	require.Equal(t, n0, c.NetStats().PacketIns, "the controller went on reading from a stalled switch")
	require.Equal(t, w0, written.Load(), "the switch was not slowed down")
	require.NotNil(t, connOf(c, 1), "switch dropped before StallTimeout")
	select {
	case ev := <-sub.C:
		t.Fatalf("event %v before StallTimeout (err %v)", ev.Kind, ev.Err)
	default:
	}
	// Then it is dropped for having read nothing.
	select {
	case ev := <-sub.C:
		require.Equal(t, SwitchDown, ev.Kind)
		require.ErrorIs(t, ev.Err, ErrStalled)
		require.Less(t, time.Since(paused), stall+3*time.Second)
	case <-time.After(stall + 5*time.Second):
		t.Fatal("stalled switch not dropped")
	}
}

// A switch that bursts PACKET_INs far past the send queue but reads (slowly) is
// held back and never dropped, and every flow is answered.
func TestBackpressureBurstingSwitchNeverDropped(t *testing.T) {
	const flows = 4000
	c, sw, sub := startBackpressure(t, Config{SendQueue: 8, StallTimeout: 2 * time.Second}, 64<<10)
	wrote := make(chan error, 1)
	go func() {
		// One burst: all of it written as fast as TCP takes it.
		var buf []byte
		for i := range flows {
			buf = append(buf, flowPacketIn(t, i)...)
		}
		sw.conn.SetWriteDeadline(time.Now().Add(time.Minute))
		_, err := sw.conn.Write(buf)
		wrote <- err
	}()
	flowMods := 0
	sw.conn.SetReadDeadline(time.Now().Add(time.Minute))
	for i := 0; flowMods < flows; i++ {
		if i%64 == 0 {
			time.Sleep(time.Millisecond) // a slow reader
		}
		b, err := sw.fr.Next()
		require.NoError(t, err, "after %d FLOW_MODs", flowMods)
		if ofproto.Type(b[1]) == ofproto.TypeFlowMod {
			flowMods++
		}
		if ofproto.Type(b[1]) == ofproto.TypeEchoRequest {
			sw.write(&ofproto.EchoReply{Xid: binary.BigEndian.Uint32(b[4:8])})
		}
	}
	require.NoError(t, <-wrote)
	cn := connOf(c, 1)
	require.NotNil(t, cn, "bursting switch dropped")
	require.NotZero(t, cn.pauses.Load(), "the burst never filled the queue: the test proves nothing")
	require.Equal(t, uint64(0), cn.refused.Load())
	select {
	case ev := <-sub.C:
		t.Fatalf("event %v during the burst (err %v)", ev.Kind, ev.Err)
	default:
	}
	// The count follows the FLOW_MOD's hand-over to the writer, which the switch can
	// read first.
	require.Eventually(t, func() bool { return c.NetStats().FlowsInstalled == uint64(flows) }, 5*time.Second, 10*time.Millisecond,
		"flows installed: %d, want %d", c.NetStats().FlowsInstalled, flows)
}

// countConn is a net.Conn that counts what is written to it.
type countConn struct {
	net.Conn
	n int
}

func (c *countConn) Write(p []byte) (int, error)    { c.n += len(p); return len(p), nil }
func (*countConn) SetWriteDeadline(time.Time) error { return nil }
func (*countConn) Close() error                     { return nil }

// TestConnBuffersShrink: after a burst of 20,000 messages a connection's queue slices
// and encoding buffer go back to small ones once batches are small again, and every
// byte of every message is written.
func TestConnBuffersShrink(t *testing.T) {
	nc := &countConn{}
	cn := newConn(nc, Config{SendQueue: 1 << 20, StallTimeout: time.Minute}, discardLogger())
	m := newOutputFlowMod(2)
	one, err := m.MarshalBinary()
	require.NoError(t, err)
	for range 20_000 {
		require.NoError(t, cn.push(m, false))
	}
	_, err = cn.flush(nil)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, max(cap(cn.q), cap(cn.spare)), 20_000, "the burst's slice is kept while bursts last")
	assert.Greater(t, cap(cn.buf), keepBuf)
	for range 3 { // the two slices take turns as the queue
		for range 3 {
			require.NoError(t, cn.push(m, false))
		}
		_, err = cn.flush(nil)
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, cap(cn.spare), keepQueue)
	assert.LessOrEqual(t, cap(cn.q), keepQueue)
	assert.LessOrEqual(t, cap(cn.buf), keepBuf)
	assert.Equal(t, 20_009*len(one), nc.n)
}
