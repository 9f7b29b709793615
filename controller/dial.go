package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// Active connections: a switch that listens for controllers (OpenFlow's passive mode;
// Open vSwitch's ptcp:PORT controller target) is dialed by the controller
// (Config.SwitchConnect), so that it is served as soon as the controller starts rather
// than when the switch's own connection next retries (Open vSwitch waits a second at
// least). A dialed connection goes through the same handshake and serving as an
// accepted one.
//
// Handover: when the switch's own connection then arrives for a datapath id served
// by a dialed connection, from the dialed address's IP, it takes over the switch
// without any switch-down processing (links, flows, hosts and counters continue) and
// the dialed connection is closed. From another IP the duplicate contest applies as to
// any second connection. A target whose datapath id is connected through another
// connection is not dialed until that connection is gone.

// Dial backoff: a target that cannot be reached, or whose connection ended, is dialed
// again after DialBackoffMin, doubling up to DialBackoffMax; a connection whose switch
// came up resets it.
const (
	DialBackoffMin = 100 * time.Millisecond
	DialBackoffMax = 3 * time.Second
)

var (
	// ErrHandedOver: the switch's own connection took over from the dialed one.
	ErrHandedOver = errors.New("controller: handed over to the switch's own connection")
	// ErrAlreadyConnected: a dialed connection reached a switch already connected
	// from the same IP through its own connection.
	ErrAlreadyConnected = errors.New("controller: switch already connected through its own connection")
	// ErrBadTarget is wrapped by ParseSwitchTarget's errors.
	ErrBadTarget = errors.New("bad switch target")
)

// ParseSwitchTarget checks a switch target of Config.SwitchConnect, "tcp:HOST:PORT"
// (an IPv6 host in brackets), and returns HOST:PORT for dialing.
func ParseSwitchTarget(t string) (string, error) {
	rest, ok := strings.CutPrefix(t, "tcp:")
	if !ok {
		if strings.HasPrefix(t, "ssl:") {
			return "", fmt.Errorf("%w %q: ssl targets are not supported; want tcp:HOST:PORT", ErrBadTarget, t)
		}
		return "", fmt.Errorf("%w %q: want tcp:HOST:PORT", ErrBadTarget, t)
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return "", fmt.Errorf("%w %q: want tcp:HOST:PORT (%v)", ErrBadTarget, t, err)
	}
	if host == "" {
		return "", fmt.Errorf("%w %q: no host", ErrBadTarget, t)
	}
	if strings.ContainsAny(host, " /\t") {
		return "", fmt.Errorf("%w %q: %q is not a host name or address", ErrBadTarget, t, host)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return "", fmt.Errorf("%w %q: port %q is not a number from 1 to 65535", ErrBadTarget, t, port)
	}
	return rest, nil
}

// DialStats counts what the controller did with its switch targets
// (Config.SwitchConnect).
type DialStats struct {
	Dials        uint64 // TCP connections made to a target
	DialFailures uint64 // attempts that failed to connect
	Handovers    uint64 // dialed connections the switch's own connection took over
}

// dialCounters are the DialStats, updated without the controller's lock.
type dialCounters struct {
	dials, failures atomic.Uint64
}

// DialStats returns the dial counters.
func (c *Controller) DialStats() DialStats {
	c.mu.Lock()
	h := c.core.handovers
	c.mu.Unlock()
	return DialStats{Dials: c.dialed.dials.Load(), DialFailures: c.dialed.failures.Load(), Handovers: h}
}

// connResult is how a connection ended, for its dialer.
type connResult struct {
	up     bool   // its switch came up
	dpid   uint64 // the datapath id it announced, 0 when none
	reason error
}

// dialLoop dials target until ctx ends: at once, then whenever its connection is gone,
// with the backoff above; not while its datapath id is connected through another
// connection.
func (c *Controller) dialLoop(ctx context.Context, target string) {
	addr, err := ParseSwitchTarget(target)
	if err != nil { // Validate checked it; reaching this is a bug
		c.log.Error("switch target", "err", err)
		return
	}
	d := net.Dialer{Timeout: c.cfg.HandshakeTimeout}
	backoff := DialBackoffMin
	var dpid uint64
	failing := false
	for ctx.Err() == nil {
		if dpid != 0 && c.servedElsewhere(dpid, target) {
			sleepCtx(ctx, c.cfg.TickInterval)
			continue
		}
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.dialed.failures.Add(1)
			if !failing {
				c.log.Warn("cannot connect to switch; retrying", "target", target, "err", err)
				failing = true
			} else {
				c.log.Debug("cannot connect to switch", "target", target, "err", err, "retry_in", backoff)
			}
			sleepCtx(ctx, backoff)
			backoff = min(2*backoff, DialBackoffMax)
			continue
		}
		c.dialed.dials.Add(1)
		failing = false
		r := c.handle(ctx, nc, target)
		if r.dpid != 0 {
			dpid = r.dpid
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(r.reason, ErrHandedOver) || errors.Is(r.reason, ErrAlreadyConnected) {
			backoff = DialBackoffMin
			continue // wait while the switch's own connection serves it
		}
		if r.up {
			backoff = DialBackoffMin
		}
		c.log.Info("switch connection ended; dialing again", "target", target, "reason", errString(r.reason), "retry_in", backoff)
		sleepCtx(ctx, backoff)
		backoff = min(2*backoff, DialBackoffMax)
	}
}

// servedElsewhere reports whether dpid is connected through a connection other than
// one dialed to target.
func (c *Controller) servedElsewhere(dpid uint64, target string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.core.switches[dpid]
	return ok && s.dialed != target
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// sameHost reports whether two host:port addresses have the same IP.
func sameHost(a, b string) bool {
	ha, _, err1 := net.SplitHostPort(a)
	hb, _, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil {
		return false
	}
	ia, err1 := netip.ParseAddr(ha)
	ib, err2 := netip.ParseAddr(hb)
	if err1 != nil || err2 != nil {
		return ha == hb
	}
	return ia.Unmap() == ib.Unmap()
}

// nudgeMatch is the match of the placeholder entry nudge adds and deletes: IEEE
// 802's local experimental EtherType 1 to a locally administered unicast address.
var nudgeMatch = ofproto.Match{Wildcards: ofproto.WildAll &^ (ofproto.WildDLType | ofproto.WildDLDst),
	DLType: 0x88b5, DLDst: ofproto.MAC{0x02, 0, 0, 0, 0xce, 0x01}, NWSrc: netip.IPv4Unspecified(), NWDst: netip.IPv4Unspecified()}

// nudge changes the flow table of a switch that came up on a dialed connection, by
// adding a placeholder entry and deleting it at once (a 1 s hard timeout removes it
// should the delete be lost). Open vSwitch keeps the datapath flows it translated
// while its own connection was down, and until its flow table changes it sent no
// PACKET_IN on the new (service) connection for packets matching them, which were
// then dropped: without this, a restarted cemon saw one PACKET_IN per switch in the
// second before the switches' own connections came back, and none after it. The
// change makes the switch translate them again. The read of the table for adoption
// is sent after it, so it never sees the entry.
//
// A switch that refuses the entry (a table profile without layer-2 matches, say) only
// gets a line in the log: the refusal says nothing of its table's room.
func (c *core) nudge(s *session) {
	s.nudgeXids = [2]uint32{s.xids.allocate(), s.xids.allocate()}
	c.fx.send(s, &ofproto.FlowMod{Xid: s.nudgeXids[0], Match: nudgeMatch, Command: ofproto.FlowAdd, HardTimeout: 1,
		BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone})
	c.fx.send(s, &ofproto.FlowMod{Xid: s.nudgeXids[1], Match: nudgeMatch, Command: ofproto.FlowDeleteStrict,
		BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone})
}

// nudgeRefused reports whether m answers one of nudge's FLOW_MODs, and logs it.
func (c *core) nudgeRefused(s *session, m *ofproto.ErrorMsg) bool {
	if m.Xid == 0 || (m.Xid != s.nudgeXids[0] && m.Xid != s.nudgeXids[1]) {
		return false
	}
	c.log.Info("switch refused the placeholder entry of a dialed connection", "dpid", dpidString(s.dpid), "error", m.Error())
	return true
}

// handsOver reports whether s, a connection that announced the datapath id served
// by old, takes over from it without a contest: old was dialed by the controller and
// s is the switch's own connection from the same IP.
func handsOver(old, s *session) bool {
	return old.dialed != "" && s.dialed == "" && sameHost(old.addr, s.addr)
}

// handover makes s, the switch's own connection, serve the switch old (dialed)
// served: no switch-down processing, the switch's links, hosts, flows and counters
// continue. Requests pending on old fail (ErrDisconnected); a flow table read for
// adoption, or a table statistics request, pending on old is asked again on s.
func (c *core) handover(old, s *session, m *ofproto.FeaturesReply, now time.Time) {
	dpid := m.DatapathID
	s.state = stateUp
	s.dpid = dpid
	s.features = m
	s.ports = make(map[ofproto.PortNo]ofproto.PhyPort, len(m.Ports))
	for _, p := range m.Ports {
		s.ports[p.PortNo] = p
	}
	s.upSince = old.upSince
	s.meter.addFrom(old.meter) // the switch's traffic counters go on
	// xids go on from old's, so that the FLOW_ADDs remembered for refusals (tables.go)
	// stay in order and no new xid names an old FLOW_ADD.
	s.xids.next = old.xids.next
	c.switches[dpid] = s

	old.state = stateClosed
	old.xids.failAll(ErrDisconnected)
	if old.contest != nil && old.contest.challenger == old {
		old.contest.challenger = nil
	}
	old.contest, old.contestFeatures = nil, nil
	c.fail(old, ErrHandedOver)
	c.handovers++

	c.fx.send(s, &ofproto.SetConfig{SwitchConfig: ofproto.SwitchConfig{MissSendLen: c.cfg.MissSendLen}})
	if c.cfg.Roles {
		// The switch's new connection starts in the equal role: ask for old's.
		s.role = old.role
		want := old.role
		if old.rolePending != 0 {
			want = old.rolePending
		}
		if want == ofproto.RolePrimary || want == ofproto.RoleSecondary {
			c.sendRole(s, want)
		}
	}
	if old.adoptXid != 0 {
		c.adoptStart(s)
	}
	if t := c.tables[dpid]; t != nil && t.xid != 0 {
		t.xid, t.askNow = 0, true
	}
	c.log.Info("switch handed over to its own connection", "dpid", dpidString(dpid), "addr", s.addr,
		"dialed_addr", old.addr, "target", old.dialed, "dialed_for", now.Sub(old.upSince).Round(time.Millisecond))
}

// addFrom adds o's counts to m.
func (m *meter) addFrom(o *meter) {
	for d := range m.byType {
		for i := range m.byType[d] {
			c := o.byType[d][i].load()
			m.byType[d][i].msgs.Add(c.Messages)
			m.byType[d][i].bytes.Add(c.Bytes)
		}
		for i := range m.byStats[d] {
			c := o.byStats[d][i].load()
			m.byStats[d][i].msgs.Add(c.Messages)
			m.byStats[d][i].bytes.Add(c.Bytes)
		}
	}
	m.late.Add(o.late.Load())
}
