package controller

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// These tests run the real I/O edge: a Controller serving on 127.0.0.1:0 and wire-level
// fake switches that speak OpenFlow over TCP.

// wireSwitch is a fake switch on a real connection. It completes the handshake and
// answers echo, barrier and flow statistics requests (the latter in parts parts);
// everything else it receives goes to got.
type wireSwitch struct {
	t     testing.TB
	dpid  uint64
	conn  net.Conn
	parts int          // STATS_REPLY parts per request
	delay atomic.Int64 // nanoseconds to wait before answering a BARRIER_REQUEST
	got   chan ofproto.Message
	done  chan struct{}
	mu    sync.Mutex
}

func dialSwitch(t testing.TB, addr string, dpid uint64, parts int) *wireSwitch {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	w := newWireSwitch(t, c, dpid, parts)
	t.Cleanup(func() { c.Close(); <-w.done })
	return w
}

// newWireSwitch runs a fake switch on c: it sends HELLO and answers in a goroutine
// that ends when c closes (the caller closes it and waits for done).
func newWireSwitch(t testing.TB, c net.Conn, dpid uint64, parts int) *wireSwitch {
	w := &wireSwitch{t: t, dpid: dpid, conn: c, parts: parts, got: make(chan ofproto.Message, 1024), done: make(chan struct{})}
	w.send(&ofproto.Hello{Xid: 1})
	go w.loop()
	return w
}

func (w *wireSwitch) send(m ofproto.Message) {
	b, err := m.MarshalBinary()
	if err != nil {
		w.t.Errorf("marshal: %v", err)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.conn.Write(b)
}

func (w *wireSwitch) loop() {
	defer close(w.done)
	fr := ofproto.NewFramer(w.conn, 0)
	for {
		b, err := fr.Next()
		if err != nil {
			return
		}
		m, err := ofproto.Decode(b)
		if err != nil {
			w.t.Errorf("switch %d: undecodable message from the controller: %v", w.dpid, err)
			return
		}
		switch m := m.(type) {
		case *ofproto.FeaturesRequest:
			w.send(&ofproto.FeaturesReply{Xid: m.Xid, DatapathID: w.dpid, NTables: 1,
				Ports: []ofproto.PhyPort{{PortNo: 1, Name: "p1"}}})
		case *ofproto.EchoRequest:
			w.send(&ofproto.EchoReply{Xid: m.Xid, Data: m.Data})
		case *ofproto.BarrierRequest:
			go func() {
				select {
				case <-time.After(time.Duration(w.delay.Load())):
					w.send(&ofproto.BarrierReply{Xid: m.Xid})
				case <-w.done:
				}
			}()
		case *ofproto.StatsRequest:
			if _, ok := m.Body.(*ofproto.FlowStatsRequest); !ok {
				w.got <- m
				continue
			}
			for i := 0; i < w.parts; i++ {
				r := &ofproto.StatsReply{Xid: m.Xid, Body: &ofproto.FlowStatsReply{Entries: []ofproto.FlowStats{
					{Cookie: uint64(i), Match: ofproto.MatchAll(), PacketCount: uint64(i)}}}}
				if i+1 < w.parts {
					r.Flags = ofproto.StatsReplyMore
				}
				w.send(r)
			}
		default:
			select {
			case w.got <- m:
			default:
			}
		}
	}
}

// serve starts a controller on loopback and stops it when the test ends, checking that
// Serve returns nil and that no goroutine is left behind.
func serve(t *testing.T, cfg Config) (*Controller, string) {
	t.Helper()
	before := runtime.NumGoroutine()
	c := New(cfg, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Serve = %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after its context ended")
		}
		// Goroutines of the test's switches end with their connections (their own
		// cleanups ran first); give them a moment.
		for i := 0; i < 100 && runtime.NumGoroutine() > before; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines leaked:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
	return c, ln.Addr().String()
}

func waitEvent(t *testing.T, sub *Subscription, kind EventKind, dpid uint64) Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-sub.C:
			if e.Kind == kind && e.DPID == dpid {
				return e
			}
		case <-timeout:
			t.Fatalf("no %v event for %016x", kind, dpid)
		}
	}
}

func TestServeRequestMultipart(t *testing.T) {
	c, addr := serve(t, Config{})
	sub := c.Subscribe(64, SwitchUp, SwitchDown)
	defer sub.Close()
	dialSwitch(t, addr, 7, 3)
	waitEvent(t, sub, SwitchUp, 7)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := &ofproto.StatsRequest{Body: &ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone}}
	msgs, err := c.Request(ctx, 7, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("%d parts, want 3", len(msgs))
	}
	for i, m := range msgs {
		r := m.(*ofproto.StatsReply)
		if r.Xid != req.Xid || r.Body.(*ofproto.FlowStatsReply).Entries[0].Cookie != uint64(i) {
			t.Fatalf("part %d out of order or foreign: %+v", i, r)
		}
	}
	tr, ok := c.Traffic(7)
	if !ok {
		t.Fatal("no traffic for a connected switch")
	}
	if got := tr.ByStatsType(Sent, uint16(ofproto.StatsFlow)); got.Messages != 1 || got.Bytes != 56 {
		t.Fatalf("flow stats requests sent = %+v, want 1 message of 56 bytes", got)
	}
	if got := tr.ByType(Received, ofproto.TypeStatsReply); got.Messages != 3 || got.Bytes != 3*(12+88) {
		t.Fatalf("stats replies received = %+v, want 3 messages of 100 bytes", got)
	}
	if tr.ByType(Received, ofproto.TypeFeaturesReply).Messages != 1 || tr.Total(Sent).Messages < 4 {
		t.Fatalf("handshake not counted: %+v", tr)
	}
	// A barrier round trip through the same path.
	if _, err := c.Request(ctx, 7, &ofproto.BarrierRequest{}); err != nil {
		t.Fatal(err)
	}
}

func TestRequestErrors(t *testing.T) {
	c, addr := serve(t, Config{RequestTimeout: 200 * time.Millisecond})
	sub := c.Subscribe(64)
	defer sub.Close()
	w := dialSwitch(t, addr, 9, 1)
	waitEvent(t, sub, SwitchUp, 9)
	ctx := context.Background()

	if _, err := c.Request(ctx, 10, &ofproto.BarrierRequest{}); !errors.Is(err, ErrNoSwitch) {
		t.Errorf("unknown switch: err = %v, want ErrNoSwitch", err)
	}
	if _, err := c.Request(ctx, 9, &ofproto.Hello{}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("HELLO: err = %v, want ErrBadRequest", err)
	}
	if err := c.Send(10, &ofproto.BarrierRequest{}); !errors.Is(err, ErrNoSwitch) {
		t.Errorf("Send to unknown switch: err = %v, want ErrNoSwitch", err)
	}

	// A reply slower than the request timeout: ErrTimeout, then counted as late.
	w.delay.Store(int64(600 * time.Millisecond))
	if _, err := c.Request(ctx, 9, &ofproto.BarrierRequest{}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("slow reply: err = %v, want ErrTimeout", err)
	}
	// A context that ends first wins too.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.Request(cctx, 9, &ofproto.BarrierRequest{}); !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrTimeout) {
		t.Fatalf("context deadline: err = %v", err)
	}
	for i := 0; ; i++ {
		tr, _ := c.Traffic(9)
		if tr.LateReplies == 2 {
			break
		}
		if i == 1000 {
			t.Fatalf("late replies = %d, want 2", tr.LateReplies)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The switch answers with an error.
	w.delay.Store(0)
	errReq := &ofproto.StatsRequest{Body: &ofproto.PortStatsRequest{PortNo: ofproto.PortNone}}
	go func() {
		m := <-w.got // the fake does not know port stats: it sends an error
		for m.Type() != ofproto.TypeStatsRequest {
			m = <-w.got
		}
		w.send(&ofproto.ErrorMsg{Xid: m.XID(), ErrType: ofproto.ErrTypeBadRequest, Code: ofproto.BadRequestBadStat})
	}()
	_, err := c.Request(ctx, 9, errReq)
	var se *SwitchError
	if !errors.As(err, &se) || se.Msg.Code != ofproto.BadRequestBadStat || !errors.Is(err, ErrSwitchError) {
		t.Fatalf("error reply: err = %v, want a *SwitchError", err)
	}

	// The switch leaves while a request is pending.
	w.delay.Store(int64(time.Hour))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Request(context.Background(), 9, &ofproto.BarrierRequest{})
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	w.conn.Close()
	waitEvent(t, sub, SwitchDown, 9)
	if err := <-errc; !errors.Is(err, ErrDisconnected) && !errors.Is(err, ErrNoSwitch) {
		t.Fatalf("pending request of a departed switch: err = %v, want ErrDisconnected", err)
	}
}

// TestGarbageClosesOnlyItsConnection: a switch that sends an undecodable message gets
// an OFPT_ERROR and loses its connection; another switch is not disturbed.
func TestGarbageClosesOnlyItsConnection(t *testing.T) {
	c, addr := serve(t, Config{})
	sub := c.Subscribe(64, SwitchUp, SwitchDown)
	defer sub.Close()
	good := dialSwitch(t, addr, 1, 1)
	_ = good
	waitEvent(t, sub, SwitchUp, 1)

	for _, tt := range []struct {
		name    string
		garbage []byte
		errType ofproto.ErrorType
	}{
		{"unknown type", []byte{1, 0xee, 0, 8, 0, 0, 0, 5}, ofproto.ErrTypeBadRequest},
		{"bad body length", []byte{1, byte(ofproto.TypeFeaturesReply), 0, 12, 0, 0, 0, 5, 0, 0, 0, 0}, ofproto.ErrTypeBadRequest},
		{"other version mid-session", []byte{4, byte(ofproto.TypeEchoRequest), 0, 8, 0, 0, 0, 5}, ofproto.ErrTypeBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			raw.Write(mustMarshal(t, &ofproto.Hello{Xid: 1}))
			raw.Write(tt.garbage)
			msgs := readAll(t, raw)
			last := msgs[len(msgs)-1]
			em, ok := last.(*ofproto.ErrorMsg)
			if !ok || em.ErrType != tt.errType {
				t.Fatalf("last message before close = %v, want OFPT_ERROR %v", fmtMsg(last), tt.errType)
			}
		})
	}
	// A length field below 8 cannot be framed: the connection just closes.
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	raw.Write([]byte{1, 0, 0, 4, 0, 0, 0, 1})
	readAll(t, raw)
	raw.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Request(ctx, 1, &ofproto.BarrierRequest{}); err != nil {
		t.Fatalf("the good switch was disturbed: %v", err)
	}
}

// TestVersionNegotiation: a HELLO of a later version is answered in 1.0 unless its
// version bitmap leaves 1.0 out; a HELLO of an earlier version is refused.
func TestVersionNegotiation(t *testing.T) {
	_, addr := serve(t, Config{})
	tests := []struct {
		name   string
		hello  []byte
		refuse bool
	}{
		{"1.3 without bitmap", []byte{4, 0, 0, 8, 0, 0, 0, 1}, false},
		{"1.3 with 1.0 in its bitmap", []byte{4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x12}, false},
		{"1.3 only", []byte{4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x10}, true},
		{"version 0", []byte{0, 0, 0, 8, 0, 0, 0, 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			raw.Write(tt.hello)
			if !tt.refuse {
				fr := ofproto.NewFramer(raw, 0)
				raw.SetReadDeadline(time.Now().Add(5 * time.Second))
				for _, want := range []ofproto.Type{ofproto.TypeHello, ofproto.TypeFeaturesRequest} {
					b, err := fr.Next()
					if err != nil || ofproto.Type(b[1]) != want || b[0] != ofproto.Version {
						t.Fatalf("got %x (%v), want a 1.0 %v", b, err, want)
					}
				}
				return
			}
			msgs := readAll(t, raw)
			em, ok := msgs[len(msgs)-1].(*ofproto.ErrorMsg)
			if !ok || em.ErrType != ofproto.ErrTypeHelloFailed || em.Code != ofproto.HelloIncompatible {
				t.Fatalf("last message = %v, want HELLO_FAILED/INCOMPATIBLE", fmtMsg(msgs[len(msgs)-1]))
			}
		})
	}
}

// TestSwitchEcho: the controller answers a switch's ECHO_REQUEST with its payload.
func TestSwitchEcho(t *testing.T) {
	c, addr := serve(t, Config{})
	sub := c.Subscribe(8, SwitchUp)
	defer sub.Close()
	w := dialSwitch(t, addr, 3, 1)
	waitEvent(t, sub, SwitchUp, 3)
	w.send(&ofproto.EchoRequest{Xid: 77, Data: []byte("ping")})
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-w.got:
			if r, ok := m.(*ofproto.EchoReply); ok {
				if r.Xid != 77 || string(r.Data) != "ping" {
					t.Fatalf("echo reply %+v", r)
				}
				return
			}
		case <-timeout:
			t.Fatal("no ECHO_REPLY")
		}
	}
}

func mustMarshal(t testing.TB, m ofproto.Message) []byte {
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll reads messages until the controller closes the connection; it fails the
// test if that does not happen within 5 s.
func readAll(t *testing.T, c net.Conn) []ofproto.Message {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	fr := ofproto.NewFramer(c, 0)
	var out []ofproto.Message
	for {
		b, err := fr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
				return out
			}
			t.Fatalf("the controller did not close the connection: %v", err)
		}
		m, err := ofproto.Decode(b)
		if err != nil {
			t.Fatalf("undecodable message from the controller: %v", err)
		}
		out = append(out, m)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

// TestServeTLS: the controller speaks OpenFlow over a tls.Listener.
func TestServeTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cemon test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	pool := x509.NewCertPool()
	parsed, _ := x509.ParseCertificate(der)
	pool.AddCert(parsed)

	c := New(Config{}, nil)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(inner, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve = %v", err)
		}
	}()
	sub := c.Subscribe(8, SwitchUp)
	defer sub.Close()

	conn, err := tls.Dial("tcp", inner.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write(mustMarshal(t, &ofproto.Hello{Xid: 1}))
	fr := ofproto.NewFramer(conn, 0)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		b, err := fr.Next()
		if err != nil {
			t.Fatalf("reading over TLS: %v", err)
		}
		if ofproto.Type(b[1]) == ofproto.TypeFeaturesRequest {
			h, _ := ofproto.ParseHeader(b)
			conn.Write(mustMarshal(t, &ofproto.FeaturesReply{Xid: h.Xid, DatapathID: 0x42}))
			break
		}
	}
	waitEvent(t, sub, SwitchUp, 0x42)
}
