package controller

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// Controller is an OpenFlow 1.0 controller: it accepts switch connections, runs the
// handshake and keepalives, discovers links and hosts, installs a shortest path for
// every new IPv4 flow, tracks every installed flow and lets the rest of the program send
// requests to switches and subscribe to their events. All methods are safe for
// concurrent use.
type Controller struct {
	cfg    Config
	cfgErr error // from Validate; Serve returns it
	log    *slog.Logger
	now    func() time.Time // the clock; time.Now outside tests

	mu      sync.Mutex // guards core and conns
	core    *core
	conns   map[*conn]struct{}
	serving bool
	up      atomic.Bool // serving, readable without mu (health checks)

	hub    hub
	wg     sync.WaitGroup
	dialed dialCounters // Config.SwitchConnect (dial.go)

	// handling is the time from a PACKET_IN read to the FLOW_MODs it caused handed to
	// the writer (cemon_packet_in_handling_seconds).
	handling prometheus.Histogram
	refMu    sync.Mutex
	refused  map[string]uint64 // connections refused before their switch came up, by kind
}

// New returns a controller with cfg (zero fields take their defaults). A cfg that does
// not pass Validate makes Serve return that error (and the controller runs nothing);
// check it first when it comes from a user. A nil logger discards.
func New(cfg Config, logger *slog.Logger) *Controller {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfgErr := cfg.Validate()
	if cfgErr != nil {
		cfg = Config{}
	}
	cfg = cfg.withDefaults()
	return &Controller{
		cfg:    cfg,
		cfgErr: cfgErr,
		log:    logger,
		now:    time.Now,
		core:   newCore(cfg, logger),
		conns:  make(map[*conn]struct{}),
		handling: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "cemon_packet_in_handling_seconds",
			Help: "Time from a PACKET_IN read from the socket to the FLOW_MODs it caused handed to the writer.",
			Buckets: []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3,
				250e-3, 1},
		}),
		refused: make(map[string]uint64),
	}
}

// Config returns the controller's configuration with defaults filled in.
func (c *Controller) Config() Config { return c.cfg }

// apply carries out effects; the caller holds c.mu.
func (c *Controller) apply(fx *effects) { c.applyFrom(fx, nil) }

// applyFrom carries out effects produced by the reader of self, which writes its own
// connection's queue itself (its messages do not wake the writer goroutine); the
// caller holds c.mu.
func (c *Controller) applyFrom(fx *effects, self *conn) {
	for _, e := range fx.out {
		if e.s.conn == nil {
			continue
		}
		if err := e.s.conn.push(e.msg, e.s.conn != self); err != nil {
			// A closing connection drops its messages quietly; an overflow is news.
			lv := slog.LevelDebug
			if errors.Is(err, ErrQueueFull) {
				lv = slog.LevelWarn
			}
			c.log.Log(context.Background(), lv, "dropping message", "dpid", dpidString(e.s.dpid), "type", e.msg.Type(), "err", err)
		}
	}
	if c.cfg.Forward != nil {
		for _, e := range fx.held {
			c.cfg.Forward(e.s.dpid, e.msg)
		}
	}
	c.hub.publish(fx.events)
	for _, r := range fx.close {
		if r.s.conn != nil {
			c.log.Info("closing connection", "dpid", dpidString(r.s.dpid), "addr", r.s.addr, "reason", errString(r.err))
			r.s.conn.closeAfterFlush(r.err)
		}
	}
}

// Serve accepts switch connections on ln until ctx ends, then closes ln and every
// connection, waits for their goroutines and returns nil. It returns an error if ln
// fails, if the Config given to New was invalid (ErrConfig) or if Serve is already
// running. Pass a tls.Listener for OpenFlow over TLS.
func (c *Controller) Serve(ctx context.Context, ln net.Listener) error {
	if c.cfgErr != nil {
		ln.Close()
		return c.cfgErr
	}
	c.mu.Lock()
	if c.serving {
		c.mu.Unlock()
		return fmt.Errorf("%w: Serve is already running", ErrClosed)
	}
	c.serving = true
	c.up.Store(true)
	c.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.ticker(ctx)
	}()
	go func() {
		defer wg.Done()
		<-ctx.Done()
		ln.Close()
	}()
	for _, t := range c.cfg.SwitchConnect {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.dialLoop(ctx, t)
		}()
	}

	var serveErr error
	backoff := 5 * time.Millisecond
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(backoff)
				backoff = min(2*backoff, time.Second)
				continue
			}
			serveErr = fmt.Errorf("controller: accept: %w", err)
			break
		}
		backoff = 5 * time.Millisecond
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.handle(ctx, nc, "")
		}()
	}
	cancel()
	c.mu.Lock()
	for cn := range c.conns {
		cn.closeNow(ErrClosed)
	}
	c.mu.Unlock()
	c.wg.Wait()
	wg.Wait()
	c.mu.Lock()
	c.serving = false
	c.up.Store(false)
	c.mu.Unlock()
	return serveErr
}

func (c *Controller) ticker(ctx context.Context) {
	t := time.NewTicker(c.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.mu.Lock()
			c.apply(c.core.tick(c.now()))
			c.mu.Unlock()
		}
	}
}

// handle runs one connection (accepted, or dialed to target): it starts the writer,
// reads until the connection ends, then tears the switch down.
func (c *Controller) handle(ctx context.Context, nc net.Conn, target string) connResult {
	addr := nc.RemoteAddr().String()
	var names []string
	var hasCert bool
	if tc, ok := nc.(*tls.Conn); ok {
		hctx, cancel := context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			if ctx.Err() == nil {
				c.refuse(addr, "tls", fmt.Errorf("TLS handshake: %w", err))
			}
			return connResult{reason: err}
		}
		if pc := tc.ConnectionState().PeerCertificates; len(pc) > 0 {
			hasCert = true
			names = append([]string{pc[0].Subject.CommonName}, pc[0].DNSNames...)
		}
	}
	cn := newConn(nc, c.cfg, c.log)
	c.mu.Lock()
	if ctx.Err() != nil {
		c.mu.Unlock()
		nc.Close()
		return connResult{reason: ErrClosed}
	}
	s, fx := c.core.open(addr, target, c.now())
	s.certNames, s.certTLS = names, hasCert
	s.conn = cn
	cn.s = s
	c.conns[cn] = struct{}{}
	c.apply(fx)
	c.mu.Unlock()
	if target != "" {
		c.log.Info("connected to switch", "target", target, "addr", s.addr, "conn", s.id)
	} else {
		c.log.Debug("connection", "addr", s.addr, "conn", s.id)
	}

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writer(cn)
	}()
	err := c.reader(cn)
	cn.closeNow(err)
	<-writerDone

	c.mu.Lock()
	delete(c.conns, cn)
	wasUp := !s.upSince.IsZero()
	c.apply(c.core.closed(s, cn.reason(), c.now()))
	res := connResult{up: wasUp, dpid: s.claimed, reason: cn.reason()}
	c.mu.Unlock()
	c.finishTeardowns()
	if !wasUp && ctx.Err() == nil {
		reason := cn.reason()
		if reason == nil {
			reason = errors.New("closed by the peer before the handshake ended")
		}
		if errors.Is(reason, ErrAlreadyConnected) {
			c.log.Info("dialed connection closed: the switch is connected through its own", "target", target,
				"dpid", dpidString(s.claimed))
		} else {
			c.refuse(addr, refusalKind(reason), reason)
		}
	}
	return res
}

// refuse logs and counts a connection that ended before its switch came up.
func (c *Controller) refuse(addr, kind string, reason error) {
	c.refMu.Lock()
	c.refused[kind]++
	c.refMu.Unlock()
	c.log.Warn("connection refused", "addr", addr, "kind", kind, "reason", reason.Error())
}

// Refused returns the number of connections refused before their switch came up, by
// kind (tls, not_openflow, bad_header, version, duplicate_dpid, not_allowed,
// certificate, handshake_timeout, peer_closed, protocol, other).
func (c *Controller) Refused() map[string]uint64 {
	c.refMu.Lock()
	defer c.refMu.Unlock()
	out := make(map[string]uint64, len(c.refused))
	for k, v := range c.refused {
		out[k] = v
	}
	return out
}

// refusalKind names the reason a connection was refused, for metrics.
func refusalKind(err error) string {
	switch {
	case errors.Is(err, ErrNotOpenFlow):
		return "not_openflow"
	case errors.Is(err, ofproto.ErrBadLength), errors.Is(err, ofproto.ErrTooLong):
		return "bad_header"
	case errors.Is(err, ErrVersion):
		return "version"
	case errors.Is(err, ErrDuplicateDPID):
		return "duplicate_dpid"
	case errors.Is(err, ErrNotAllowed):
		return "not_allowed"
	case errors.Is(err, ErrCertificate):
		return "certificate"
	case errors.Is(err, ErrHandshakeTimeout):
		return "handshake_timeout"
	case errors.Is(err, ErrProtocol):
		return "protocol"
	case strings.Contains(err.Error(), "closed by the peer"):
		return "peer_closed"
	}
	return "other"
}

// ErrNotOpenFlow: the first bytes of a connection cannot be OpenFlow (an HTTP request,
// a TLS handshake on a plaintext port, a version or type no OpenFlow has).
var ErrNotOpenFlow = errors.New("controller: not OpenFlow")

// sniffer checks the first bytes of a connection as they are read, so that a peer
// that does not speak OpenFlow is refused at once rather than at the handshake
// timeout.
type sniffer struct {
	r    io.Reader
	head [ofproto.HeaderLen]byte
	n    int
}

func (s *sniffer) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if s.n == len(s.head) || n == 0 {
		return n, err
	}
	s.n += copy(s.head[s.n:], p[:n])
	if why := notOpenFlow(s.head[:s.n]); why != "" {
		return 0, fmt.Errorf("%w: %s (first bytes % x)", ErrNotOpenFlow, why, s.head[:s.n])
	}
	return n, err
}

// notOpenFlow says why the first bytes b (up to a header's worth) cannot start an
// OpenFlow stream, or "" when they can.
func notOpenFlow(b []byte) string {
	if len(b) >= 4 {
		for _, m := range []string{"GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "CONN", "PATC", "PRI ", "TRAC"} {
			if string(b[:4]) == m {
				return "an HTTP request"
			}
		}
	}
	if len(b) >= 2 && b[0] == 0x16 && b[1] == 0x03 {
		return "a TLS handshake on the plaintext OpenFlow port"
	}
	// Version 0 is left to the HELLO negotiation, which answers HELLO_FAILED.
	if len(b) >= 1 && (b[0] > 0x06 || (b[0] == 0 && len(b) >= 2 && b[1] != 0)) {
		return fmt.Sprintf("version byte 0x%02x is no OpenFlow version", b[0])
	}
	if len(b) >= 2 && b[1] > 35 {
		return fmt.Sprintf("message type %d is no OpenFlow type", b[1])
	}
	if len(b) >= 4 {
		if l := binary.BigEndian.Uint16(b[2:4]); l < ofproto.HeaderLen {
			return fmt.Sprintf("header length %d is under 8", l)
		}
	}
	return ""
}

// reader reads and handles messages until the connection fails or closes.
func (c *Controller) reader(cn *conn) error {
	fr := ofproto.NewFramer(&sniffer{r: cn.nc}, c.cfg.MaxMessageLen)
	var d decoder
	for {
		if !fr.Ready() || cn.queued() >= cn.soft {
			// About to block on the socket, or the queue is full: write what is owed
			// first. With a full queue this waits for the switch to read (backpressure).
			if err := c.drain(cn); err != nil {
				return err
			}
		}
		if !fr.Ready() && len(cn.deferred) > 0 {
			// Nothing else buffered: the heavy sources' deferred PACKET_INs (budget.go).
			c.serveDeferred(cn, &d)
			continue
		}
		b, err := fr.Next()
		if err != nil {
			return c.readErr(cn, err)
		}
		// Messages already buffered are handled under one acquisition of the lock, up
		// to lockBatch of them: a busy switch takes the lock once per read rather than
		// once per message.
		c.mu.Lock()
		for n := 1; ; n++ {
			// One clock reading per message: the core's now and, for a PACKET_IN, the
			// start of its handling time (c.now is time.Now).
			now := c.now()
			var t0 time.Time
			if len(b) > 1 && ofproto.Type(b[1]) == ofproto.TypePacketIn {
				t0 = now
			}
			cn.s.meter.count(Received, b)
			m, borrowed, derr := d.decode(b)
			if derr != nil {
				c.mu.Unlock()
				if rerr := c.undecodable(cn, b, derr); rerr != nil {
					return rerr
				}
				break
			}
			if !c.deferPacketIn(cn, m, b) {
				fx := c.core.receive(cn.s, m, now)
				if borrowed {
					// m points into b, which the next fr.Next may overwrite.
					ownOutput(fx, b)
				}
				c.applyFrom(fx, cn)
				if !t0.IsZero() && hasFlowMod(fx) {
					c.handling.Observe(time.Since(t0).Seconds())
				}
			}
			if n >= lockBatch || !fr.Ready() || cn.queued() >= cn.soft {
				c.mu.Unlock()
				break
			}
			if b, err = fr.Next(); err != nil {
				c.mu.Unlock()
				return c.readErr(cn, err)
			}
		}
	}
}

// lockBatch bounds the buffered messages of one connection handled under one
// acquisition of the controller's lock, so that other switches wait little.
const lockBatch = 16

// readErr is the error a failed read ends the connection with: the reason it was
// closed, nil for a clean end of stream, ErrProtocol for a bad length field.
func (c *Controller) readErr(cn *conn, err error) error {
	select {
	case <-cn.done:
		return cn.reason()
	default:
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	if errors.Is(err, ofproto.ErrTooLong) || errors.Is(err, ofproto.ErrBadLength) {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return err
}

// hasFlowMod reports whether fx sends a FLOW_MOD.
func hasFlowMod(fx *effects) bool {
	for _, e := range fx.out {
		if e.msg.Type() == ofproto.TypeFlowMod {
			return true
		}
	}
	return false
}

// undecodable answers a message that did not decode. A HELLO of a later version is
// accepted as a HELLO (OpenFlow version negotiation: both sides use the lower
// version, 1.0) unless its version bitmap leaves 1.0 out; anything else gets an
// OFPT_ERROR and closes the connection. It returns the error that ends the connection,
// or nil to go on.
func (c *Controller) undecodable(cn *conn, b []byte, derr error) error {
	h, _ := ofproto.ParseHeader(b)
	data := b[:min(len(b), 64)]
	errMsg := &ofproto.ErrorMsg{Xid: h.Xid, ErrType: ofproto.ErrTypeBadRequest, Data: append([]byte(nil), data...)}
	var reason error
	switch {
	case h.Version != ofproto.Version && h.Type == ofproto.TypeHello:
		if h.Version > ofproto.Version && helloAllows10(b) {
			c.mu.Lock()
			c.apply(c.core.receive(cn.s, &ofproto.Hello{Xid: h.Xid}, c.now()))
			c.mu.Unlock()
			return nil
		}
		errMsg.ErrType, errMsg.Code = ofproto.ErrTypeHelloFailed, ofproto.HelloIncompatible
		errMsg.Data = []byte(fmt.Sprintf("cemon speaks OpenFlow 1.0 (0x01) only; got version 0x%02x", h.Version))
		reason = fmt.Errorf("%w: HELLO version 0x%02x", ErrVersion, h.Version)
	case errors.Is(derr, ofproto.ErrBadVersion):
		errMsg.Code = ofproto.BadRequestBadVersion
		reason = fmt.Errorf("%w: message version 0x%02x", ErrVersion, h.Version)
	case errors.Is(derr, ofproto.ErrBadType):
		errMsg.Code = ofproto.BadRequestBadType
		reason = fmt.Errorf("%w: %v", ErrProtocol, derr)
	case errors.Is(derr, ofproto.ErrBadStatsType):
		errMsg.Code = ofproto.BadRequestBadStat
		reason = fmt.Errorf("%w: %v", ErrProtocol, derr)
	default:
		errMsg.Code = ofproto.BadRequestBadLen
		reason = fmt.Errorf("%w: %v", ErrProtocol, derr)
	}
	c.log.Warn("bad message from switch", "addr", cn.s.addr, "dpid", dpidString(cn.s.dpid), "err", derr)
	if cn.enqueue(errMsg) == nil {
		cn.closeAfterFlush(reason)
		return nil // the writer closes the connection after the ERROR; keep reading till then
	}
	return reason
}

// helloAllows10 reports whether a HELLO of a later version may be answered with 1.0:
// true unless it carries a version bitmap (OFPHET_VERSIONBITMAP, OpenFlow 1.3.1+)
// without bit 1.
func helloAllows10(b []byte) bool {
	rest := b[ofproto.HeaderLen:]
	for len(rest) >= 4 {
		typ := binary.BigEndian.Uint16(rest[0:2])
		l := int(binary.BigEndian.Uint16(rest[2:4]))
		if l < 4 || l > len(rest) {
			return true // malformed elements: fall back to plain negotiation
		}
		if typ == 1 && l >= 8 {
			return binary.BigEndian.Uint32(rest[4:8])&(1<<ofproto.Version) != 0
		}
		pad := (l + 7) / 8 * 8 // elements are padded to 8 bytes
		if pad > len(rest) {
			return true
		}
		rest = rest[pad:]
	}
	return true
}

// Subscribe returns a subscription to the events of the given kinds (all kinds when
// none is given), with a channel of capacity buffer (Config.SubscriberBuffer when 0).
// Events are never waited for: when the channel is full the event is dropped for that
// subscriber and counted in Dropped. Close the subscription when done.
func (c *Controller) Subscribe(buffer int, kinds ...EventKind) *Subscription {
	if buffer <= 0 {
		buffer = c.cfg.SubscriberBuffer
	}
	s := &subscriber{ch: make(chan Event, buffer)}
	for _, k := range kinds {
		s.kinds |= 1 << k
	}
	c.hub.add(s)
	return &Subscription{C: s.ch, s: s, hub: &c.hub}
}

// Request sends msg to the switch dpid and waits for its whole reply: every part of a
// multipart statistics reply (OFPSF_REPLY_MORE), in arrival order, or the one reply
// message of other requests (BARRIER_REPLY, GET_CONFIG_REPLY, ...). Request sets msg's
// xid. It waits until ctx ends or Config.RequestTimeout passes, whichever is first
// (ErrTimeout); a reply that arrives later is counted in Traffic.LateReplies and
// dropped. An OFPT_ERROR answer returns a *SwitchError (errors.Is ErrSwitchError).
// msg is encoded later by the connection's writer: do not modify it after the call.
func (c *Controller) Request(ctx context.Context, dpid uint64, msg ofproto.Message) ([]ofproto.Message, error) {
	if msg == nil {
		return nil, fmt.Errorf("%w: nil message", ErrBadRequest)
	}
	switch msg.Type() {
	case ofproto.TypeHello, ofproto.TypeEchoRequest, ofproto.TypeEchoReply:
		return nil, fmt.Errorf("%w: %v is the controller's own", ErrBadRequest, msg.Type())
	}
	deadline := c.now().Add(c.cfg.RequestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.mu.Lock()
	s, ok := c.core.switches[dpid]
	if !ok || s.conn == nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrNoSwitch, dpidString(dpid))
	}
	xid := s.xids.allocate()
	msg.SetXID(xid)
	ch := s.xids.add(xid, deadline)
	err := s.conn.enqueue(msg)
	if err != nil {
		s.xids.cancel(xid)
	}
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.msgs, r.err
	case <-ctx.Done():
		c.mu.Lock()
		s.xids.cancel(xid)
		c.mu.Unlock()
		select {
		case r := <-ch: // the reply won the race
			return r.msgs, r.err
		default:
		}
		return nil, ctx.Err()
	}
}

// Send queues msg for the switch dpid without waiting for any answer (fire and
// forget). An xid of 0 is replaced by a fresh one. Replies to it, if any, count as late.
// msg is encoded later by the connection's writer: do not modify it after the call.
func (c *Controller) Send(dpid uint64, msg ofproto.Message) error {
	if msg == nil {
		return fmt.Errorf("%w: nil message", ErrBadRequest)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.core.switches[dpid]
	if !ok || s.conn == nil {
		return fmt.Errorf("%w: %s", ErrNoSwitch, dpidString(dpid))
	}
	if msg.XID() == 0 {
		msg.SetXID(s.xids.allocate())
	}
	return s.conn.enqueue(msg)
}

// SwitchInfo describes a connected switch.
type SwitchInfo struct {
	DPID     uint64
	Addr     string
	Since    time.Time
	Features *ofproto.FeaturesReply // as received; do not modify
	Ports    []ofproto.PhyPort      // current, by port number
}

// Switches returns the switches that finished their handshake, by datapath id.
func (c *Controller) Switches() []SwitchInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]SwitchInfo, 0, len(c.core.switches))
	for dpid, s := range c.core.switches {
		out = append(out, SwitchInfo{DPID: dpid, Addr: s.addr, Since: s.upSince, Features: s.features,
			Ports: sortedPorts(s.ports)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DPID < out[j].DPID })
	return out
}

// Serving reports whether Serve is running. It takes no lock, so that a health check
// answers at once however busy the controller is.
func (c *Controller) Serving() bool { return c.up.Load() }

// Traffic returns the OpenFlow traffic counters of the connected switch dpid.
func (c *Controller) Traffic(dpid uint64) (Traffic, bool) {
	c.mu.Lock()
	s, ok := c.core.switches[dpid]
	c.mu.Unlock()
	if !ok {
		return Traffic{}, false
	}
	return s.meter.snapshot(dpid), true
}

// AllTraffic returns the traffic counters of every connected switch, by datapath id.
func (c *Controller) AllTraffic() []Traffic {
	c.mu.Lock()
	ms := make([]Traffic, 0, len(c.core.switches))
	type pair struct {
		dpid uint64
		m    *meter
	}
	ps := make([]pair, 0, len(c.core.switches))
	for dpid, s := range c.core.switches {
		ps = append(ps, pair{dpid, s.meter})
	}
	c.mu.Unlock()
	for _, p := range ps {
		ms = append(ms, p.m.snapshot(p.dpid))
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].DPID < ms[j].DPID })
	return ms
}

// Tracker returns a read-only view of the flow tracker that holds every flow the
// Routing application installed. It is safe for concurrent use.
func (c *Controller) Tracker() TrackerView { return TrackerView{c.core.tracker} }

// Network returns a read-only view of the live topology: switches and their up ports,
// links discovered with LLDP (one per direction), located hosts, shortest paths and the
// spanning tree. It is safe for concurrent use; the Discovery application feeds it.
func (c *Controller) Network() NetworkView { return NetworkView{c.core.topo} }

// Links returns every discovered link, one per direction, sorted.
func (c *Controller) Links() []topology.Link { return c.core.topo.Links() }

// Hosts returns every located host, sorted by MAC.
func (c *Controller) Hosts() []topology.Host { return c.core.topo.Hosts() }

// Graph returns the current switch graph (node i is switch dpids[i], named by its
// 16-digit dpid), with an edge wherever a link was discovered in either direction.
func (c *Controller) Graph() (g *topology.Graph, dpids []uint64) { return c.core.topo.Graph() }

// NetStats returns the counters of the built-in applications.
func (c *Controller) NetStats() NetStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.stats
}
