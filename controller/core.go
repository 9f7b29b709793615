package controller

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// Reasons a connection ends, reported in SwitchDown events and logs.
var (
	// ErrHandshakeTimeout: no FEATURES_REPLY within Config.HandshakeTimeout.
	ErrHandshakeTimeout = errors.New("controller: handshake timed out")
	// ErrEchoTimeout: Config.EchoMissed keepalives went unanswered.
	ErrEchoTimeout = errors.New("controller: echo keepalive missed")
	// ErrVersion: the switch does not speak OpenFlow 1.0.
	ErrVersion = errors.New("controller: unsupported OpenFlow version")
	// ErrProtocol: the switch sent a message that cannot be decoded or is out of place.
	ErrProtocol = errors.New("controller: protocol error")
	// ErrReplaced: another connection completed a handshake with the same datapath id.
	ErrReplaced = errors.New("controller: replaced by a newer connection of the same switch")
	// ErrDuplicateDPID: a connection announced the datapath id of a switch whose live
	// connection still answers (it answered the echo probe sent to check it).
	ErrDuplicateDPID = errors.New("controller: datapath id already connected and answering")
	// ErrNotAllowed: the datapath id is not in Config.SwitchAllowed.
	ErrNotAllowed = errors.New("controller: datapath id not allowed")
	// ErrCertificate: the switch's TLS certificate does not name its datapath id
	// (Config.BindCertDPID).
	ErrCertificate = errors.New("controller: certificate does not name the datapath id")
)

// sessionState is where a connection is in its life.
type sessionState uint8

const (
	stateHello    sessionState = iota // HELLO sent, waiting for the switch's HELLO
	stateFeatures                     // FEATURES_REQUEST sent
	stateUp                           // handshake done; the switch is in the network
	stateClosed                       // torn down
)

func (s sessionState) String() string {
	return [...]string{"hello", "features", "up", "closed"}[s]
}

// session is the deterministic state of one switch connection. The core owns it; the
// I/O edge keeps the socket and the queues in conn and never touches the fields.
type session struct {
	id      uint64 // connection serial number, for logs
	addr    string // remote address
	dialed  string // the target the controller dialed (Config.SwitchConnect); "" for an accepted connection
	claimed uint64 // the datapath id its FEATURES_REPLY announced, 0 before
	// nudgeXids are the xids of the placeholder entry's FLOW_MODs on a dialed
	// connection (dial.go), so that a refusal of them is not taken for a full table.
	nudgeXids [2]uint32
	state     sessionState
	closing   bool // the edge was asked to close the connection
	opened    time.Time
	upSince   time.Time
	lastRecv  time.Time
	lastEcho  time.Time
	echoOut   int // ECHO_REQUESTs sent since the last message received

	helloXid    uint32
	featuresXid uint32
	dpid        uint64
	features    *ofproto.FeaturesReply
	ports       map[ofproto.PortNo]ofproto.PhyPort // as last described: FEATURES_REPLY, then PORT_STATUS
	xids        *xidTable
	meter       *meter

	// certNames are the names of the peer's TLS certificate (its CN and DNS SANs),
	// set by the edge before the first message; certTLS says the peer presented one.
	certNames []string
	certTLS   bool
	// A second connection for a live datapath id waits (contest) while the live one
	// (whose challenger points back) is probed with an ECHO_REQUEST.
	contest         *session
	contestUntil    time.Time
	contestFeatures *ofproto.FeaturesReply
	challenger      *session
	adoptXid        uint32              // the flow table read at connect (adoption), 0 when none is pending
	adoptTable      []ofproto.FlowStats // its parts so far
	adoptAgain      bool                // read the table again when the pending read is done

	role        ofproto.Role // granted by the switch (Config.Roles: RoleSecondary from the start)
	roleXid     uint32       // the role request waiting for its reply, 0 when none
	rolePending ofproto.Role // the role asked for

	conn *conn // the I/O edge; nil in deterministic tests
}

// envelope is one message for one session.
type envelope struct {
	s   *session
	msg ofproto.Message
}

// closeReq asks the edge to close a session's connection.
type closeReq struct {
	s   *session
	err error
}

// effects is what handling one input produced: messages to send, events to publish and
// connections to close, in that order. The core reuses the slices between calls.
type effects struct {
	out    []envelope
	events []Event
	close  []closeReq
	held   []envelope // writes to switches where this controller is a slave: not sent
	nHeld  *uint64    // counts them (RoleStats.HeldWrites)
}

func (e *effects) reset() {
	clear(e.out)
	e.out = e.out[:0]
	clear(e.events)
	e.events = e.events[:0]
	clear(e.close)
	e.close = e.close[:0]
	clear(e.held)
	e.held = e.held[:0]
}

func (e *effects) send(s *session, m ofproto.Message) {
	if m.XID() == 0 {
		m.SetXID(s.xids.allocate())
	}
	if s.role == ofproto.RoleSecondary && isWrite(m) {
		// A slave may not write (the switch would refuse it): its master does.
		if e.nHeld != nil {
			*e.nHeld++
		}
		e.held = append(e.held, envelope{s, m})
		return
	}
	e.out = append(e.out, envelope{s, m})
}

// core is the controller's deterministic heart: it takes messages, ticks and the
// current time and returns effects. It runs the connections' protocol itself (handshake,
// keepalives, replies) and hands switch events to the applications, in order. It does
// no I/O, starts no goroutine and reads no clock; the Controller serialises calls to it
// under its lock.
type core struct {
	cfg      Config
	log      *slog.Logger
	nextID   uint64
	sessions map[*session]struct{}
	switches map[uint64]*session // sessions in stateUp, by datapath id
	fx       effects

	apps    []App
	ctxs    []Context // ctxs[i] is what apps[i] is called with
	appLogs []*slog.Logger

	// State the built-in applications share, and the controller's views show.
	topo    *topology.Network    // fed by Discovery
	tracker *flowtracker.Tracker // fed by Routing
	guard   floodGuard           // frames Routing sent out; Discovery drops them when they come back
	stats   NetStats             // what the built-in applications did
	pktSeq  uint64               // PACKET_INs received, numbering frameOf's cache
	frame   frame                // the current PACKET_IN's frame, parsed once for every application
	frameAt uint64               // pktSeq the frame was parsed at
	frameEr error                // and its parse error
	adopt   *adoption            // state saved by an earlier run, being matched to the switches (Restore)

	roleStats RoleStats // role requests and what slaves sent or were not sent
	handovers uint64    // dialed connections the switch's own connection took over (dial.go)

	// tables: the flow table occupancy of the connected switches (tables.go).
	tables map[uint64]*tableState
	// routing is the built-in Routing application and its index in apps, when listed.
	routing   *routing
	routingAt int
}

func newCore(cfg Config, logger *slog.Logger) *core {
	t, err := flowtracker.New(cfg.Tracker)
	if err != nil {
		// Controller.New validated the tracker config, and falls back to the defaults
		// when it is bad; reaching this is a bug.
		panic(err)
	}
	c := &core{
		cfg:      cfg,
		log:      logger,
		sessions: make(map[*session]struct{}),
		switches: make(map[uint64]*session),
		topo:     topology.NewNetwork(),
		tracker:  t,
		guard:    floodGuard{seen: make(map[uint64]time.Time)},
	}
	c.fx.nHeld = &c.roleStats.HeldWrites
	apps := cfg.Apps
	if len(apps) == 0 {
		apps = DefaultApps()
	}
	for i, a := range apps {
		switch a {
		case Discovery:
			a = &discovery{c: c}
		case Routing:
			a = newRouting(c)
			c.routing, c.routingAt = a.(*routing), i
		}
		c.apps = append(c.apps, a)
		c.ctxs = append(c.ctxs, Context{c: c, self: i})
		c.appLogs = append(c.appLogs, logger.With("app", a.Name()))
	}
	return c
}

// frameOf returns the parsed frame of the PACKET_IN being handled, parsing it on the
// first call.
func (c *core) frameOf(pi *ofproto.PacketIn) (*frame, error) {
	if c.frameAt != c.pktSeq {
		c.frameAt = c.pktSeq
		c.frameEr = parseFrame(pi.Data, &c.frame)
	}
	return &c.frame, c.frameEr
}

// open starts a session for a new connection (dialed to a target, or accepted when
// dialed is ""): it sends HELLO.
func (c *core) open(addr, dialed string, now time.Time) (*session, *effects) {
	c.fx.reset()
	c.nextID++
	s := &session{id: c.nextID, addr: addr, dialed: dialed, opened: now, lastRecv: now, xids: newXidTable(), meter: &meter{}}
	c.sessions[s] = struct{}{}
	s.helloXid = s.xids.allocate()
	c.fx.send(s, &ofproto.Hello{Xid: s.helloXid})
	return s, &c.fx
}

// receive handles one decoded message from a session.
func (c *core) receive(s *session, m ofproto.Message, now time.Time) *effects {
	c.fx.reset()
	if s.state == stateClosed {
		return &c.fx
	}
	s.lastRecv = now
	s.echoOut = 0
	if s.challenger != nil {
		c.refuseChallenger(s)
	}
	switch m := m.(type) {
	case *ofproto.EchoRequest:
		c.fx.send(s, &ofproto.EchoReply{Xid: m.Xid, Data: m.Data})
		return &c.fx
	case *ofproto.EchoReply:
		return &c.fx // any message proves the peer alive; nothing else to do
	}
	switch s.state {
	case stateHello:
		c.receiveHello(s, m)
	case stateFeatures:
		c.receiveFeatures(s, m, now)
	case stateUp:
		c.receiveUp(s, m, now)
	}
	return &c.fx
}

// fail asks the edge to close a session's connection (once).
func (c *core) fail(s *session, err error) {
	if s.closing {
		return
	}
	s.closing = true
	c.fx.close = append(c.fx.close, closeReq{s, err})
}

func (c *core) receiveHello(s *session, m ofproto.Message) {
	switch m := m.(type) {
	case *ofproto.Hello:
		s.state = stateFeatures
		s.featuresXid = s.xids.allocate()
		c.fx.send(s, &ofproto.FeaturesRequest{Xid: s.featuresXid})
	case *ofproto.ErrorMsg:
		c.fail(s, fmt.Errorf("%w: switch refused the handshake: %v", ErrVersion, m))
	default:
		c.fail(s, fmt.Errorf("%w: %v before HELLO", ErrProtocol, m.Type()))
	}
}

func (c *core) receiveFeatures(s *session, m ofproto.Message, now time.Time) {
	switch m := m.(type) {
	case *ofproto.FeaturesReply:
		if m.Xid != s.featuresXid {
			c.fail(s, fmt.Errorf("%w: FEATURES_REPLY xid %d, want %d", ErrProtocol, m.Xid, s.featuresXid))
			return
		}
		if s.contest != nil {
			return // a repeated FEATURES_REPLY while the live connection is probed
		}
		s.claimed = m.DatapathID
		if err := c.admit(s, m.DatapathID); err != nil {
			c.fail(s, err)
			return
		}
		if old, ok := c.switches[m.DatapathID]; ok && !old.closing {
			if handsOver(old, s) {
				c.handover(old, s, m, now)
				return
			}
			if s.dialed != "" && old.dialed == "" && sameHost(old.addr, s.addr) {
				// The switch's own connection serves it: the dialed one is not needed.
				c.fail(s, fmt.Errorf("%w: %s (from %s)", ErrAlreadyConnected, dpidString(m.DatapathID), old.addr))
				return
			}
			if old.challenger != nil {
				c.fail(s, fmt.Errorf("%w: %s (another connection is already being checked)", ErrDuplicateDPID, dpidString(m.DatapathID)))
				return
			}
			// Probe the live connection: if it answers within DuplicateProbe, the
			// newcomer is refused; if not, it is dead and the newcomer takes over.
			s.contest, s.contestFeatures = old, m
			s.contestUntil = now.Add(c.cfg.DuplicateProbe)
			old.challenger = s
			c.fx.send(old, &ofproto.EchoRequest{})
			c.log.Warn("second connection for a connected datapath id: probing the live one",
				"dpid", dpidString(m.DatapathID), "addr", s.addr, "live_addr", old.addr)
			return
		}
		if old, ok := c.switches[m.DatapathID]; ok {
			c.teardown(old, ErrReplaced, now) // already closing
		}
		s.state = stateUp
		s.dpid = m.DatapathID
		s.features = m
		s.ports = make(map[ofproto.PortNo]ofproto.PhyPort, len(m.Ports))
		for _, p := range m.Ports {
			s.ports[p.PortNo] = p
		}
		s.upSince = now
		c.switches[s.dpid] = s
		delete(c.tables, s.dpid)
		c.table(s.dpid) // read at the next tick
		c.fx.send(s, &ofproto.SetConfig{SwitchConfig: ofproto.SwitchConfig{MissSendLen: c.cfg.MissSendLen}})
		if s.dialed != "" && !c.cfg.Roles {
			c.nudge(s) // (a slave may not write; in a cluster the switch's master does)
		}
		if c.adopt != nil && !c.adopt.done && c.adopt.until.IsZero() {
			c.adopt.until = now.Add(AdoptWindow)
		}
		if c.cfg.Roles {
			// The switch is shared: it starts as this controller's slave and keeps its
			// table, which holds the other controllers' flows.
			c.roleUp(s)
		} else if c.adopting() {
			// Restarted with saved flows: read the table, keep what is ours.
			c.adoptStart(s)
		} else {
			// Start from an empty table: entries left from an earlier connection are
			// unknown to the tracker.
			c.fx.send(s, &ofproto.FlowMod{Match: ofproto.MatchAll(), Command: ofproto.FlowDelete,
				BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone})
		}
		c.log.Info("switch up", "dpid", dpidString(s.dpid), "addr", s.addr, "ports", len(m.Ports))
		// The input's event goes first, then whatever the applications emit about it.
		c.fx.events = append(c.fx.events, Event{Kind: SwitchUp, DPID: s.dpid, Time: now, Features: m})
		for i, a := range c.apps {
			a.SwitchUp(&c.ctxs[i], Switch{s}, now)
		}
		c.restoreHosts(s, now)
	case *ofproto.ErrorMsg:
		c.fail(s, fmt.Errorf("%w: switch answered the handshake with %v", ErrProtocol, m))
	case *ofproto.Hello:
		// A second HELLO is harmless.
	default:
		// Asynchronous messages may race the handshake; they are dropped until the
		// switch is known.
	}
}

// admit checks a datapath id against Config.SwitchAllowed and, with
// Config.BindCertDPID on a TLS connection, against the peer's certificate.
func (c *core) admit(s *session, dpid uint64) error {
	if c.cfg.SwitchAllowed != nil && !c.cfg.SwitchAllowed(dpid) {
		return fmt.Errorf("%w: %s", ErrNotAllowed, dpidString(dpid))
	}
	if c.cfg.BindCertDPID && s.certTLS && !CertNamesDPID(s.certNames, dpid) {
		return fmt.Errorf("%w: %s (certificate names %q)", ErrCertificate, dpidString(dpid), s.certNames)
	}
	return nil
}

// refuseChallenger: the live session s answered, so the connection that claimed its
// datapath id is refused.
func (c *core) refuseChallenger(s *session) {
	ch := s.challenger
	s.challenger = nil
	if ch.contest != s || ch.state == stateClosed {
		return
	}
	ch.contest, ch.contestFeatures = nil, nil
	c.fail(ch, fmt.Errorf("%w: %s (live connection from %s)", ErrDuplicateDPID, dpidString(s.dpid), s.addr))
}

// settleContest ends the wait of a session whose live rival did not answer the echo
// probe in time, or went away: the rival is replaced, and the session's
// FEATURES_REPLY is taken again.
func (c *core) settleContest(s *session, now time.Time) {
	old, m := s.contest, s.contestFeatures
	s.contest, s.contestFeatures = nil, nil
	if old != nil && old.challenger == s {
		old.challenger = nil
		if old.state != stateClosed {
			c.log.Warn("live connection failed the echo probe: replaced", "dpid", dpidString(old.dpid),
				"addr", old.addr, "new_addr", s.addr)
			c.teardown(old, ErrReplaced, now)
			c.fail(old, ErrReplaced)
		}
	}
	if s.state == stateFeatures && !s.closing && m != nil {
		c.receiveFeatures(s, m, now)
	}
}

// isReply reports whether a message type answers a request.
func isReply(t ofproto.Type) bool {
	switch t {
	case ofproto.TypeStatsReply, ofproto.TypeBarrierReply, ofproto.TypeGetConfigReply,
		ofproto.TypeFeaturesReply, ofproto.TypeQueueGetConfigReply, ofproto.TypeVendor:
		return true
	}
	return false
}

func (c *core) receiveUp(s *session, m ofproto.Message, now time.Time) {
	if c.roleReply(s, m) {
		return
	}
	switch m := m.(type) {
	case *ofproto.PacketIn:
		if c.slaveIgnores(s) {
			return
		}
		c.stats.PacketIns++
		c.pktSeq++
		c.fx.events = append(c.fx.events, Event{Kind: PacketIn, DPID: s.dpid, Time: now, PacketIn: m})
		for i, a := range c.apps {
			if a.PacketIn(&c.ctxs[i], Switch{s}, m, now) == Stop {
				break
			}
		}
		return
	case *ofproto.FlowRemoved:
		if c.slaveIgnores(s) {
			return
		}
		c.fx.events = append(c.fx.events, Event{Kind: FlowRemoved, DPID: s.dpid, Time: now, FlowRemoved: m})
		for i, a := range c.apps {
			a.FlowRemoved(&c.ctxs[i], Switch{s}, m, now)
		}
		return
	case *ofproto.PortStatus:
		if m.Reason == ofproto.PortDeleted {
			delete(s.ports, m.Desc.PortNo)
		} else {
			s.ports[m.Desc.PortNo] = m.Desc
		}
		c.fx.events = append(c.fx.events, Event{Kind: PortStatus, DPID: s.dpid, Time: now, PortStatus: m})
		for i, a := range c.apps {
			a.PortStatus(&c.ctxs[i], Switch{s}, m, now)
		}
		return
	case *ofproto.ErrorMsg:
		if s.adoptXid != 0 && m.Xid == s.adoptXid {
			c.adoptFailed(s, m)
			return
		}
		if t := c.tables[s.dpid]; t != nil && t.xid != 0 && m.Xid == t.xid {
			c.tableFailed(s, m)
			return
		}
		if s.xids.deliver(m.Xid, nil, false, &SwitchError{DPID: s.dpid, Msg: m}) {
			return
		}
		if c.nudgeRefused(s, m) {
			return
		}
		if c.flowModFailed(s, m, now) {
			return
		}
		c.log.Warn("switch error", "dpid", dpidString(s.dpid), "xid", m.Xid, "error", m.Error())
		return
	case *ofproto.StatsReply:
		if s.adoptXid != 0 && m.Xid == s.adoptXid {
			c.adoptReply(s, m, now)
			return
		}
		if t := c.tables[s.dpid]; t != nil && t.xid != 0 && m.Xid == t.xid {
			c.tableReply(s, m, now)
			return
		}
		if !s.xids.deliver(m.Xid, m, m.Flags&ofproto.StatsReplyMore != 0, nil) {
			s.meter.late.Add(1)
		}
		return
	}
	if isReply(m.Type()) {
		if !s.xids.deliver(m.XID(), m, false, nil) {
			s.meter.late.Add(1)
		}
		return
	}
	c.log.Debug("ignored message", "dpid", dpidString(s.dpid), "type", m.Type())
}

// closed tears down everything a session owned; the edge calls it once the connection
// is gone. It is idempotent.
func (c *core) closed(s *session, err error, now time.Time) *effects {
	c.fx.reset()
	c.teardown(s, err, now)
	delete(c.sessions, s)
	if ch := s.challenger; ch != nil && ch.contest == s {
		c.settleContest(ch, now) // the live connection went: the waiting one takes over
	}
	return &c.fx
}

// teardown removes a session's switch from the network and fails its requests.
func (c *core) teardown(s *session, err error, now time.Time) {
	if s.state == stateClosed {
		return
	}
	wasUp := s.state == stateUp
	s.state = stateClosed
	if s.contest != nil && s.contest.challenger == s {
		s.contest.challenger = nil
	}
	s.contest, s.contestFeatures = nil, nil
	s.xids.failAll(ErrDisconnected)
	if !wasUp {
		return
	}
	registered := c.switches[s.dpid] == s
	if registered {
		delete(c.switches, s.dpid)
	}
	c.log.Info("switch down", "dpid", dpidString(s.dpid), "addr", s.addr, "reason", errString(err))
	c.fx.events = append(c.fx.events, Event{Kind: SwitchDown, DPID: s.dpid, Time: now, Err: err})
	if registered {
		for i, a := range c.apps {
			a.SwitchDown(&c.ctxs[i], Switch{s}, now)
		}
	}
}

// tick runs the timers: handshake and request timeouts and echo keepalives, then the
// applications' (LLDP probes and link expiry, say).
func (c *core) tick(now time.Time) *effects {
	c.fx.reset()
	for s := range c.sessions {
		if s.state == stateClosed || s.closing {
			continue
		}
		s.xids.expire(now)
		if s.contest != nil && !now.Before(s.contestUntil) {
			c.settleContest(s, now)
		}
		if s.state != stateUp {
			if now.Sub(s.opened) >= c.cfg.HandshakeTimeout {
				c.fail(s, ErrHandshakeTimeout)
			}
			continue
		}
		if s.conn != nil && s.conn.paused.Load() {
			// The reader waits for the switch to read what it was sent (backpressure):
			// the switch's silence is the controller's doing. StallTimeout bounds it.
			s.lastRecv, s.echoOut = now, 0
			continue
		}
		if now.Sub(s.lastRecv) >= c.cfg.EchoInterval && now.Sub(s.lastEcho) >= c.cfg.EchoInterval {
			if s.echoOut >= c.cfg.EchoMissed {
				c.fail(s, ErrEchoTimeout)
				continue
			}
			s.echoOut++
			s.lastEcho = now
			c.fx.send(s, &ofproto.EchoRequest{})
		}
	}
	for i, a := range c.apps {
		a.Tick(&c.ctxs[i], now)
	}
	c.guard.expire(now, c.cfg.FloodGuard)
	c.adoptTick(now)
	c.tablesTick(now)
	return &c.fx
}

func dpidString(d uint64) string { return fmt.Sprintf("%016x", d) }

func errString(err error) string {
	if err == nil {
		return "closed"
	}
	return err.Error()
}
