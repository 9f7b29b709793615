package controller

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
)

// syncBuf is a log sink safe for concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveLogged starts a controller on ln that logs into a buffer.
func serveLogged(t *testing.T, cfg Config, ln net.Listener) (*Controller, *syncBuf) {
	t.Helper()
	logs := &syncBuf{}
	c := New(cfg, slog.New(slog.NewTextHandler(logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return")
		}
	})
	return c, logs
}

// waitLog waits until the log holds a line with every one of parts.
func waitLog(t *testing.T, logs *syncBuf, within time.Duration, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line with %q within %v; log:\n%s", parts, within, logs.String())
}

// TestRefusedConnectionsLogged: every kind of refused connection is logged at once
// with the peer's address and the reason, well before the 5 s handshake timeout.
func TestRefusedConnectionsLogged(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c, logs := serveLogged(t, Config{}, ln)
	addr := ln.Addr().String()
	for _, tt := range []struct {
		name  string
		bytes []byte
		kind  string
		why   string
	}{
		{"http", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "not_openflow", "an HTTP request"},
		{"tls on plaintext", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}, "not_openflow", "a TLS handshake"},
		{"garbage", []byte{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0}, "not_openflow", "version byte 0xde"},
		{"short header", []byte{1, 0, 0, 4, 0, 0, 0, 1}, "not_openflow", "header length 4 is under 8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer nc.Close()
			local := nc.LocalAddr().String()
			_, err = nc.Write(tt.bytes)
			require.NoError(t, err)
			waitLog(t, logs, time.Second, "connection refused", "addr="+local, "kind="+tt.kind, tt.why)
		})
	}
	// A bad length later in the stream, after a good HELLO.
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	hello := mustMarshal(t, &ofproto.Hello{Xid: 1})
	nc.Write(append(hello, 1, 2, 0, 5, 0, 0, 0, 2))
	waitLog(t, logs, time.Second, "connection refused", "addr="+nc.LocalAddr().String(), "kind=bad_header", "bad length")
	require.GreaterOrEqual(t, c.Refused()["not_openflow"], uint64(4))
}

// TestTLSFailureLogged: a peer that fails the TLS handshake is logged with its address
// and the reason.
func TestTLSFailureLogged(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cemon test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := tls.NewListener(inner, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	c, logs := serveLogged(t, Config{}, ln)
	nc, err := net.Dial("tcp", inner.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	nc.Write(mustMarshal(t, &ofproto.Hello{Xid: 1})) // plaintext OpenFlow on a TLS port
	waitLog(t, logs, 2*time.Second, "connection refused", "addr="+nc.LocalAddr().String(), "kind=tls", "TLS handshake")
	require.EqualValues(t, 1, c.Refused()["tls"])
}

// TestDuplicateDPIDOverSockets: a second connection announcing the datapath id of a
// live switch that answers its echo probe is refused and logged; the live one stays.
func TestDuplicateDPIDOverSockets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c, logs := serveLogged(t, Config{DuplicateProbe: 300 * time.Millisecond}, ln)
	sub := c.Subscribe(8, SwitchUp, SwitchDown)
	defer sub.Close()
	dialSwitch(t, ln.Addr().String(), 7, 1)
	waitEvent(t, sub, SwitchUp, 7)
	rogue := dialSwitch(t, ln.Addr().String(), 7, 1)
	waitLog(t, logs, 2*time.Second, "connection refused", "addr="+rogue.conn.LocalAddr().String(), "kind=duplicate_dpid")
	select {
	case ev := <-sub.C:
		t.Fatalf("unexpected %v of %016x: %v", ev.Kind, ev.DPID, ev.Err)
	case <-time.After(200 * time.Millisecond):
	}
	require.Len(t, c.Switches(), 1)
}

// TestPacketInHandlingObserved: a PACKET_IN that leads to a FLOW_MOD is timed into
// cemon_packet_in_handling_seconds.
func TestPacketInHandlingObserved(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	budget := &PacketInBudget{Rate: 1, Burst: 1}
	c, _ := serveLogged(t, Config{Apps: []App{Discovery, budget, Routing}}, ln)
	sub := c.Subscribe(8, SwitchUp)
	defer sub.Close()
	w := dialSwitch(t, ln.Addr().String(), 9, 1)
	waitEvent(t, sub, SwitchUp, 9)
	for i := range 3 { // the second is over budget: a drop entry
		f := udpFrame(ofproto.MAC{0, 0, 0, 0, 0, 1}, ofproto.MAC{0, 0, 0, 0, 0, 2}, netip.AddrFrom4([4]byte{10, 0, 0, 1}),
			netip.AddrFrom4([4]byte{10, 0, 0, 2}), 1, uint16(2+i), 0, 10)
		w.send(&ofproto.PacketIn{BufferID: ofproto.BufferNone, InPort: 1, TotalLen: uint16(len(f)), Data: f})
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		reg := prometheus.NewPedanticRegistry()
		require.NoError(t, reg.Register(c.handling))
		mfs, err := reg.Gather()
		require.NoError(t, err)
		if mfs[0].GetMetric()[0].GetHistogram().GetSampleCount() == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no handling time observed")
		time.Sleep(10 * time.Millisecond)
	}
}
