package controller

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
)

func TestParseSwitchTarget(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"tcp:127.0.0.1:6654", "127.0.0.1:6654", ""},
		{"tcp:s1.example.net:6653", "s1.example.net:6653", ""},
		{"tcp:[::1]:6654", "[::1]:6654", ""},
		{"127.0.0.1:6654", "", "want tcp:HOST:PORT"},
		{"ssl:10.0.0.1:6653", "", "ssl targets are not supported"},
		{"ptcp:6654", "", "want tcp:HOST:PORT"},
		{"tcp:10.0.0.1", "", "want tcp:HOST:PORT"},
		{"tcp::6654", "", "no host"},
		{"tcp:10.0.0.1:0", "", "not a number from 1 to 65535"},
		{"tcp:10.0.0.1:70000", "", "not a number from 1 to 65535"},
		{"tcp:10.0.0.1:http", "", "not a number from 1 to 65535"},
		{"tcp:a b:1", "", "not a host name"},
		{"", "", "want tcp:HOST:PORT"},
	} {
		got, err := ParseSwitchTarget(tc.in)
		if tc.err == "" {
			require.NoError(t, err, tc.in)
			assert.Equal(t, tc.want, got, tc.in)
			continue
		}
		require.Error(t, err, tc.in)
		assert.ErrorIs(t, err, ErrBadTarget)
		assert.Contains(t, err.Error(), tc.err, tc.in)
		assert.Contains(t, err.Error(), tc.in, "the error names the target")
	}
	err := Config{SwitchConnect: []string{"tcp:127.0.0.1:1", "udp:x:1", "tcp:127.0.0.1:1"}}.Validate()
	require.ErrorIs(t, err, ErrConfig)
	assert.Contains(t, err.Error(), `SwitchConnect: bad switch target "udp:x:1"`)
	assert.Contains(t, err.Error(), `"tcp:127.0.0.1:1" listed twice`)
}

func TestSameHost(t *testing.T) {
	assert.True(t, sameHost("127.0.0.1:6654", "127.0.0.1:40000"))
	assert.True(t, sameHost("[::ffff:10.0.0.1]:1", "10.0.0.1:2"))
	assert.False(t, sameHost("127.0.0.1:6654", "127.0.0.2:6654"))
	assert.False(t, sameHost("fake", "fake"))
}

// connectFrom opens a session for switch dpid from addr (dialed to target when
// target is not ""), and runs until quiet. The switch keeps its table.
func (n *fakeNet) connectFrom(dpid uint64, addr, target string) *session {
	sw := n.sw[dpid]
	s, fx := n.c.open(addr, target, n.now)
	sw.s = s
	n.bySess[s] = sw
	n.names[s] = sw.name
	n.take(fx)
	n.fromSwitch(sw, &ofproto.Hello{Xid: 1})
	n.run()
	return s
}

func switchAddr(dpid uint64, port int) string {
	return (&net.TCPAddr{IP: net.IPv4(192, 0, 2, byte(dpid)), Port: port}).String()
}

func dialedTarget(dpid uint64) string { return "tcp:" + switchAddr(dpid, 6654) }

// closedWith returns the error the core closed s with, nil if it did not.
func (n *fakeNet) closedWith(s *session) error {
	for _, r := range n.closed {
		if r.s == s {
			if r.err == nil {
				return errors.New("closed without a reason")
			}
			return r.err
		}
	}
	return nil
}

// TestHandoverKeepsSwitch: the switch's own connection from the dialed IP takes over
// from the dialed one with no switch-down processing: no event, its entries, links,
// hosts and flows stay, and traffic goes on.
func TestHandoverKeepsSwitch(t *testing.T) {
	n := newFakeNet(t, Config{IdleTimeout: 60 * time.Second})
	n.linear(3)
	dialed := map[uint64]*session{}
	for _, d := range sortedDPIDs(n.sw) {
		dialed[d] = n.connectFrom(d, switchAddr(d, 6654), dialedTarget(d))
	}
	n.advance(2 * time.Second)
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
	links, hosts := len(n.c.topo.Links()), n.c.topo.Hosts()
	flows := n.c.tracker.Len()
	require.Equal(t, 4, links)
	require.Positive(t, flows)
	tableBefore := n.dump(n.sw[2])
	countsBefore := packetCounts(n.sw[2])
	// (The fake network has no I/O edge to count messages: count one here.)
	dialed[2].meter.count(Sent, mustMarshal(t, &ofproto.BarrierRequest{Xid: 9}))
	upSince := dialed[2].upSince
	n.events = nil
	n.sw[2].got = nil

	n.advance(500 * time.Millisecond)
	own := n.connectFrom(2, switchAddr(2, 40001), "")
	n.advance(time.Second)

	require.Same(t, own, n.c.switches[2], "the switch's own connection does not serve it")
	require.ErrorIs(t, n.closedWith(dialed[2]), ErrHandedOver)
	require.NoError(t, n.closedWith(own))
	assert.Equal(t, uint64(1), n.c.handovers)
	for _, e := range n.events {
		assert.NotContains(t, []EventKind{SwitchDown, SwitchUp}, e.Kind, "event %v during the handover: %v", e.Kind, e.Err)
	}
	assert.Equal(t, tableBefore, n.dump(n.sw[2]), "the table changed on the handover")
	assert.Len(t, n.c.topo.Links(), links)
	assert.Equal(t, hosts, n.c.topo.Hosts())
	assert.Equal(t, flows, n.c.tracker.Len())
	tr := own.meter.snapshot(2)
	assert.Equal(t, uint64(1), tr.ByType(Sent, ofproto.TypeBarrierRequest).Messages, "the traffic counters do not continue")
	assert.Equal(t, upSince, own.upSince)
	assert.NotZero(t, n.sw[2].config.MissSendLen, "no SET_CONFIG with a miss_send_len on the new connection")
	for _, m := range n.sw[2].got {
		if fm, ok := m.(*ofproto.FlowMod); ok && fm.Command != ofproto.FlowAdd {
			t.Errorf("%v sent to the switch after it was up", fm.Command)
		}
	}

	require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
	after := packetCounts(n.sw[2])
	for cookie, p := range countsBefore {
		assert.Greater(t, after[cookie], p, "entry %#x: its counter did not go on", cookie)
	}
	// A link through the switch still carries LLDP on the new connection.
	n.advance(5 * time.Second)
	assert.Len(t, n.c.topo.Links(), links)
}

// TestDialedTableNudged: a switch that comes up on a dialed connection gets a
// placeholder entry added and deleted at once (so that Open vSwitch translates its
// datapath flows again), before the table is read for adoption; the entry does not
// stay, and an accepted connection gets none.
func TestDialedTableNudged(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(2)
	n.connectFrom(1, switchAddr(1, 6654), dialedTarget(1))
	n.connectFrom(2, switchAddr(2, 40000), "")
	var got []string
	for _, m := range n.sw[1].got {
		if fm, ok := m.(*ofproto.FlowMod); ok && fm.Match.DLType == 0x88b5 {
			got = append(got, fm.Command.String())
		}
	}
	assert.Equal(t, []string{ofproto.FlowAdd.String(), ofproto.FlowDeleteStrict.String()}, got)
	assert.Empty(t, n.dump(n.sw[1]), "the placeholder entry stayed")
	// A switch that refuses it: no table-full refusal is counted.
	s1 := n.c.switches[1]
	n.take(n.c.receive(s1, &ofproto.ErrorMsg{Xid: s1.nudgeXids[0], ErrType: ofproto.ErrTypeFlowModFailed,
		Code: 0, Data: mustMarshal(t, &ofproto.FlowMod{Match: nudgeMatch, Command: ofproto.FlowAdd})}, n.now))
	n.run()
	assert.Zero(t, n.c.stats.FlowModsRefused, "the refused placeholder was counted as a table refusal")
	assert.False(t, n.c.inFallback(1))
	for _, m := range n.sw[2].got {
		if fm, ok := m.(*ofproto.FlowMod); ok {
			assert.NotEqual(t, ofproto.FlowAdd, fm.Command, "an accepted connection was nudged")
		}
	}
}

// TestHandoverOtherAddressContests: a connection for the dialed switch's datapath id
// from another IP is not a handover: the duplicate contest applies, and the live
// dialed connection, answering the probe, keeps the switch.
func TestHandoverOtherAddressContests(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(1)
	live := n.connectFrom(1, switchAddr(1, 6654), dialedTarget(1))
	n.events = nil
	rogue := n.connectFrom(1, "198.51.100.7:5555", "")
	require.Same(t, live, n.c.switches[1])
	n.take(n.c.receive(live, &ofproto.EchoReply{}, n.now))
	n.run()
	require.Same(t, live, n.c.switches[1], "the dialed connection lost its switch")
	require.ErrorIs(t, n.closedWith(rogue), ErrDuplicateDPID)
	require.NoError(t, n.closedWith(live))
	assert.Zero(t, n.c.handovers)
}

// TestDialedAfterOwnConnection: a dialed connection that reaches a switch already
// connected from the same IP through its own connection is closed, and the switch
// stays up.
func TestDialedAfterOwnConnection(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(1)
	own := n.connectFrom(1, switchAddr(1, 40000), "")
	n.events = nil
	d := n.connectFrom(1, switchAddr(1, 6654), dialedTarget(1))
	require.ErrorIs(t, n.closedWith(d), ErrAlreadyConnected)
	require.Same(t, own, n.c.switches[1])
	assert.Empty(t, n.events)
	assert.Equal(t, d.claimed, uint64(1))
}

// TestHandoverDuringAdoption: a restarted controller reads a dialed switch's table to
// adopt its entries; the switch's own connection takes over before the reply: the table
// is read again on it, and the entries are adopted, not deleted.
func TestHandoverDuringAdoption(t *testing.T) {
	n := newFakeNet(t, Config{IdleTimeout: 60 * time.Second})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(2 * time.Second)
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
	hosts, flows := saveState(n.c)
	tables := map[uint64][]string{}
	for d, sw := range n.sw {
		tables[d] = n.dump(sw)
	}

	n.crash(hosts, flows, 0) // connects every switch (accepted) and adopts
	// Now a second restart, where the controller dials: switch 2's read is cut short.
	n.c = newCore(n.c.cfg, n.c.log)
	n.c.restore(hosts, flows, 0)
	n.bySess = map[*session]*fakeSwitch{}
	n.toSwitch, n.toCtl, n.toClose = nil, nil, nil
	for _, sw := range n.sw {
		sw.s = nil
	}
	n.connectFrom(1, switchAddr(1, 6654), dialedTarget(1))
	n.connectFrom(3, switchAddr(3, 6654), dialedTarget(3))
	sw2 := n.sw[2]
	d2, fx := n.c.open(switchAddr(2, 6654), dialedTarget(2), n.now)
	sw2.s = d2
	n.bySess[d2] = sw2
	n.take(fx)
	n.take(n.c.receive(d2, &ofproto.Hello{Xid: 1}, n.now))
	n.take(n.c.receive(d2, &ofproto.FeaturesReply{Xid: d2.featuresXid, DatapathID: 2, NTables: 1, Ports: sw2.ports}, n.now))
	require.NotZero(t, d2.adoptXid, "no table read on the dialed connection")
	n.toSwitch = nil // the switch has not answered yet
	own := n.connectFrom(2, switchAddr(2, 40002), "")
	require.Same(t, own, n.c.switches[2])
	require.ErrorIs(t, n.closedWith(d2), ErrHandedOver)
	n.advance(time.Second)

	assert.Zero(t, n.c.adopt.stats.EntriesDeleted, "entries deleted")
	assert.Equal(t, uint64(len(flows)), n.c.adopt.stats.FlowsAdopted)
	for d, sw := range n.sw {
		assert.Equal(t, len(tables[d]), len(n.dump(sw)), "switch %d lost entries", d)
	}
	require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
}

// passiveSwitch is a fake switch listening for controllers on loopback (Open
// vSwitch's ptcp:), running a wireSwitch on each connection it accepts.
type passiveSwitch struct {
	ln       net.Listener
	accepted chan *wireSwitch
	n        atomic.Int32
	mu       sync.Mutex
	all      []*wireSwitch
	wg       sync.WaitGroup
}

func listenSwitch(t *testing.T, dpid uint64) *passiveSwitch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &passiveSwitch{ln: ln, accepted: make(chan *wireSwitch, 64)}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			w := newWireSwitch(t, c, dpid, 1)
			p.mu.Lock()
			p.all = append(p.all, w)
			p.mu.Unlock()
			p.n.Add(1)
			select {
			case p.accepted <- w:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, w := range p.all {
			w.conn.Close()
			<-w.done
		}
	})
	return p
}

func (p *passiveSwitch) target() string { return "tcp:" + p.ln.Addr().String() }

func (p *passiveSwitch) next(t *testing.T) *wireSwitch {
	t.Helper()
	select {
	case w := <-p.accepted:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("the controller did not connect to the switch")
		return nil
	}
}

// dialSwitchFrom is dialSwitch from the local IP from.
func dialSwitchFrom(t *testing.T, addr, from string, dpid uint64) *wireSwitch {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	w := newWireSwitch(t, c, dpid, 1)
	t.Cleanup(func() { c.Close(); <-w.done })
	return w
}

// TestDialConnectsAndRedials: the controller dials a listening switch at start, runs
// the handshake on the connection (with a nonzero miss_send_len, without which Open
// vSwitch sends nothing asynchronous there) and dials again when the switch closes it.
func TestDialConnectsAndRedials(t *testing.T) {
	p := listenSwitch(t, 11)
	c, _ := serve(t, Config{SwitchConnect: []string{p.target()}})
	sub := c.Subscribe(64, SwitchUp, SwitchDown)
	defer sub.Close()
	w := p.next(t)
	waitUp(t, c, 11)
	sw := c.Switches()
	require.Len(t, sw, 1)
	assert.Equal(t, p.ln.Addr().String(), sw[0].Addr)
	waitSetConfig(t, w)

	// The switch is usable: a request over the dialed connection is answered.
	_, err := c.Request(t.Context(), 11, &ofproto.BarrierRequest{})
	require.NoError(t, err)

	start := time.Now()
	w.conn.Close()
	waitEvent(t, sub, SwitchDown, 11)
	p.next(t)
	waitEvent(t, sub, SwitchUp, 11)
	assert.Less(t, time.Since(start), 2*time.Second, "redial too slow")
	ds := c.DialStats()
	assert.Equal(t, uint64(2), ds.Dials)
	assert.Zero(t, ds.Handovers)
}

// waitUp waits until switch dpid is listed (the controller may dial it before a
// subscription could see its event).
func waitUp(t *testing.T, c *Controller, dpid uint64) {
	t.Helper()
	require.Eventually(t, func() bool {
		return slices.ContainsFunc(c.Switches(), func(s SwitchInfo) bool { return s.DPID == dpid })
	}, 10*time.Second, 5*time.Millisecond, "switch %016x not up", dpid)
}

func waitSetConfig(t *testing.T, w *wireSwitch) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-w.got:
			if sc, ok := m.(*ofproto.SetConfig); ok {
				require.NotZero(t, sc.MissSendLen, "SET_CONFIG with miss_send_len 0")
				return
			}
		case <-timeout:
			t.Fatal("no SET_CONFIG on the connection")
		}
	}
}

// TestDialBackoff: an unreachable target is retried with a growing delay, and Serve
// still stops at once (serve checks no goroutine is left).
func TestDialBackoff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	target := "tcp:" + ln.Addr().String()
	ln.Close() // nothing listens there now
	c, _ := serve(t, Config{SwitchConnect: []string{target}})
	time.Sleep(time.Second)
	// 0, 100, 300, 700 ms: four attempts in the first second (a fifth at 1.5 s).
	f := c.DialStats().DialFailures
	assert.GreaterOrEqual(t, f, uint64(3))
	assert.LessOrEqual(t, f, uint64(5))
	assert.Zero(t, c.DialStats().Dials)
}

// TestDialHandoverOverSockets: the switch's own connection, from the dialed IP, takes
// over without a switch-down event; the dialed connection is closed and not dialed
// again while the switch's own serves; when that one goes, the switch is dialed again.
func TestDialHandoverOverSockets(t *testing.T) {
	p := listenSwitch(t, 12)
	c, addr := serve(t, Config{SwitchConnect: []string{p.target()}})
	sub := c.Subscribe(64, SwitchUp, SwitchDown)
	defer sub.Close()
	dw := p.next(t)
	waitUp(t, c, 12)
	// Its switch-up event, if the subscription came in time, is published by now.
	for len(sub.C) > 0 {
		<-sub.C
	}

	own := dialSwitch(t, addr, 12, 1)
	select {
	case <-dw.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the dialed connection was not closed on the handover")
	}
	require.Eventually(t, func() bool {
		sw := c.Switches()
		return len(sw) == 1 && sw[0].Addr == own.conn.LocalAddr().String()
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, uint64(1), c.DialStats().Handovers)
	waitSetConfig(t, own)
	_, err := c.Request(t.Context(), 12, &ofproto.BarrierRequest{})
	require.NoError(t, err)

	time.Sleep(500 * time.Millisecond) // several dial periods
	assert.Equal(t, int32(1), p.n.Load(), "the target was dialed again while the switch's own connection served it")
	select {
	case e := <-sub.C:
		t.Fatalf("%v event on a handover", e.Kind)
	default:
	}

	own.conn.Close()
	waitEvent(t, sub, SwitchDown, 12)
	p.next(t)
	waitEvent(t, sub, SwitchUp, 12)
	assert.Equal(t, uint64(2), c.DialStats().Dials)
}

// TestDialRogueFromOtherAddress: a connection announcing a dialed switch's datapath id
// from another IP meets the duplicate contest and is refused; the dialed one stays.
func TestDialRogueFromOtherAddress(t *testing.T) {
	p := listenSwitch(t, 13)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c, logs := serveLogged(t, Config{SwitchConnect: []string{p.target()}}, ln)
	sub := c.Subscribe(64, SwitchUp, SwitchDown)
	defer sub.Close()
	dw := p.next(t)
	waitUp(t, c, 13)
	rogue := dialSwitchFrom(t, ln.Addr().String(), "127.0.0.2", 13)
	waitLog(t, logs, 3*time.Second, "connection refused", "addr="+rogue.conn.LocalAddr().String(), "kind=duplicate_dpid")
	sw := c.Switches()
	require.Len(t, sw, 1)
	assert.Equal(t, p.ln.Addr().String(), sw[0].Addr)
	select {
	case <-dw.done:
		t.Fatal("the dialed connection was closed")
	default:
	}
	assert.Zero(t, c.DialStats().Handovers)
	assert.False(t, strings.Contains(logs.String(), "handed over"))
}

// FuzzParseSwitchTarget: any string is either refused with ErrBadTarget or accepted
// as tcp:HOST:PORT with a port from 1 to 65535, and never panics.
func FuzzParseSwitchTarget(f *testing.F) {
	for _, s := range []string{"tcp:127.0.0.1:6654", "tcp:[::1]:1", "ssl:a:1", "tcp::", "tcp:a:65536", "tcp:[::1]", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addr, err := ParseSwitchTarget(s)
		if err != nil {
			require.ErrorIs(t, err, ErrBadTarget)
			return
		}
		require.Equal(t, strings.TrimPrefix(s, "tcp:"), addr)
		host, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		require.NotEmpty(t, host)
		p, err := strconv.Atoi(port)
		require.NoError(t, err)
		require.True(t, p >= 1 && p <= 65535, "port %d", p)
	})
}
