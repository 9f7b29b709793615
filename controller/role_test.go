package controller

import (
	"log/slog"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
)

// setRoles asks every switch for role r and delivers the replies.
func (n *fakeNet) setRoles(r ofproto.Role, dpids ...uint64) {
	n.t.Helper()
	for _, d := range dpids {
		require.NoError(n.t, n.c.setRole(d, r))
		n.take(&n.c.fx)
	}
	n.run()
}

func rolesSent(sw *fakeSwitch) []ofproto.Role {
	var out []ofproto.Role
	for _, m := range sw.got {
		if r, ok := m.(*ofproto.RoleRequest); ok {
			out = append(out, r.Role)
		}
	}
	return out
}

func TestRolesStartAsSlaveAndKeepTables(t *testing.T) {
	n := newFakeNet(t, Config{Roles: true, IdleTimeout: 60 * time.Second})
	n.linear(3)
	// An entry of another controller of the cluster.
	other := &fakeEntry{match: ofproto.MatchAll(), cookie: 0xbeef, priority: 5, out: []ofproto.PortNo{1},
		installed: n.now, hit: n.now}
	n.sw[2].table = append(n.sw[2].table, other)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(2 * time.Second)
	for _, d := range sortedDPIDs(n.sw) {
		sw := n.sw[d]
		assert.Equal(t, []ofproto.Role{ofproto.RoleSecondary}, rolesSent(sw), "s%d", d)
		assert.Equal(t, ofproto.RoleSecondary, sw.role)
		for _, m := range sw.got {
			_, write := m.(*ofproto.FlowMod)
			assert.False(t, write, "s%d: no FLOW_MOD to a slave (the fake fails the test too)", d)
		}
	}
	require.Len(t, n.sw[2].table, 1, "the table is kept")
	assert.Equal(t, uint64(0xbeef), n.sw[2].table[0].cookie)
	// A slave hears no PACKET_IN: nothing is routed.
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	assert.Equal(t, "h1 -> h3: no arp reply", n.ping(h1, h3))
	assert.Zero(t, n.c.stats.PacketIns)
	assert.Positive(t, n.c.roleStats.HeldWrites, "LLDP probes held back")

	// Master of every switch: links are discovered and traffic routed.
	n.setRoles(ofproto.RolePrimary, 1, 2, 3)
	assert.Equal(t, uint64(6), n.c.roleStats.Replies)
	// Probed at the grant, before the next round of probes.
	assert.Len(t, n.c.topo.Links(), 4, "the links found as soon as the switches are granted")
	for _, d := range sortedDPIDs(n.sw) {
		assert.Equal(t, ofproto.RolePrimary, n.c.switches[d].role)
	}
	n.advance(2 * time.Second)
	assert.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
	assert.Equal(t, 2, len(n.sw[2].table)-1, "the two flows' entries beside the other controller's")

	// Back to slave: at once, no writes; PACKET_INs a slave sends anyway are ignored.
	n.setRoles(ofproto.RoleSecondary, 2)
	assert.Equal(t, ofproto.RoleSecondary, n.c.switches[2].role)
	pis := n.c.stats.PacketIns
	n.take(n.c.receive(n.sw[2].s, &ofproto.PacketIn{Xid: 9, BufferID: ofproto.BufferNone, InPort: 1,
		Data: make([]byte, 60)}, n.now))
	assert.Equal(t, pis, n.c.stats.PacketIns)
	assert.Equal(t, uint64(1), n.c.roleStats.SlavePacketIns)

	require.ErrorIs(t, n.c.setRole(2, ofproto.RoleOther), ErrNotSlaveOrMaster)
	require.ErrorIs(t, n.c.setRole(99, ofproto.RolePrimary), ErrNoSwitch)
}

func TestRolesRefused(t *testing.T) {
	n := newFakeNet(t, Config{Roles: true})
	n.addSwitch(1, 1, 2)
	n.connect(1)
	s := n.c.switches[1]
	require.NoError(t, n.c.setRole(1, ofproto.RolePrimary))
	n.take(&n.c.fx)
	xid := s.roleXid
	require.NotZero(t, xid)
	n.toSwitch = nil // the switch does not know the extension: it answers with an error
	n.take(n.c.receive(s, &ofproto.ErrorMsg{Xid: xid, ErrType: ofproto.ErrTypeBadRequest, Code: 3}, n.now))
	assert.Equal(t, uint64(1), n.c.roleStats.Refused)
	assert.Equal(t, ofproto.RoleSecondary, s.role, "still a slave")
	assert.Zero(t, s.rolePending)
}

// TestRolesAdoptAnotherControllersFlows: controller A installs flows and dies; B,
// connected to the same switches as a slave, is handed A's flows and becomes master:
// it tracks them under their IDs and cookies, deletes nothing, and the traffic and the
// counters go on over the same entries.
func TestRolesAdoptAnotherControllersFlows(t *testing.T) {
	n := newFakeNet(t, Config{Roles: true, IdleTimeout: 60 * time.Second})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.setRoles(ofproto.RolePrimary, 1, 2, 3)
	n.advance(2 * time.Second)
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	for range 3 {
		require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
	}
	_, flows := saveState(n.c)
	require.Len(t, flows, 2)
	before := map[uint64]map[uint64]uint64{}
	for d, sw := range n.sw {
		before[d] = packetCounts(sw)
	}

	// A dies; B connects to the same switches (a new connection starts equal).
	n.c = newCore(n.c.cfg, slog.New(slog.DiscardHandler))
	n.bySess = map[*session]*fakeSwitch{}
	n.toSwitch, n.toCtl, n.toClose = nil, nil, nil
	for _, sw := range n.sw {
		sw.s, sw.role = nil, ofproto.RoleOther
	}
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	for d, sw := range n.sw {
		assert.Equal(t, before[d], packetCounts(sw), "s%d: B keeps the table", d)
	}
	// A's flows are handed over while B is still a slave: the tables are read (a
	// slave may read) and the flows found whole.
	require.Equal(t, 2, n.c.adoptFlows(flows, n.now))
	n.take(&n.c.fx)
	n.run()
	assert.Equal(t, uint64(2), n.c.adopt.stats.FlowsAdopted)
	assert.Zero(t, n.c.adopt.stats.EntriesDeleted)
	for _, f := range flows {
		got, ok := n.c.tracker.ByCookie(f.Cookie)
		require.True(t, ok)
		assert.Equal(t, f.ID, got.ID)
		assert.Equal(t, f.Path, got.Path())
		assert.Equal(t, flowtracker.StateActive, got.State)
	}
	assert.Zero(t, n.c.adoptFlows(flows, n.now), "handed twice: nothing new")
	n.take(&n.c.fx)

	n.setRoles(ofproto.RolePrimary, 1, 2, 3)
	n.advance(2 * time.Second)
	pis := n.c.stats.PacketIns
	require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
	assert.Equal(t, pis, n.c.stats.PacketIns, "the adopted entries carry the traffic")
	assert.Zero(t, n.c.stats.FlowsInstalled)
	for d, sw := range n.sw {
		for c, p := range packetCounts(sw) {
			assert.GreaterOrEqual(t, p, before[d][c], "s%d cookie %#x: counters continue", d, c)
		}
	}
	n.advance(AdoptWindow + time.Second)
	assert.True(t, n.c.adopt.done)
	assert.Zero(t, n.c.adopt.stats.EntriesDeleted)
}

// TestRolesAdoptOnlyWholeFlows: a flow one of whose entries is gone is not adopted,
// and its other entries are left to idle out rather than deleted.
func TestRolesAdoptOnlyWholeFlows(t *testing.T) {
	n := newFakeNet(t, Config{Roles: true, IdleTimeout: 60 * time.Second})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.setRoles(ofproto.RolePrimary, 1, 2, 3)
	n.advance(2 * time.Second)
	require.Equal(t, "h1 -> h3: ok", n.ping(n.hosts["h1"], n.hosts["h3"]))
	_, flows := saveState(n.c)
	n.sw[3].table = nil

	n.c = newCore(n.c.cfg, slog.New(slog.DiscardHandler))
	n.bySess = map[*session]*fakeSwitch{}
	for _, sw := range n.sw {
		sw.s, sw.role = nil, ofproto.RoleOther
	}
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.c.adoptFlows(flows, n.now)
	n.take(&n.c.fx)
	n.run()
	n.setRoles(ofproto.RolePrimary, 1, 2, 3)
	n.advance(AdoptWindow + time.Second)
	assert.Zero(t, n.c.adopt.stats.FlowsAdopted)
	assert.Equal(t, uint64(2), n.c.adopt.stats.FlowsAbandoned)
	assert.Len(t, n.sw[1].table, 2, "left to idle out")
}

// TestRolesWritesGoToTheMaster: a controller that masters only the ingress switch
// routes a flow over switches it is a slave of, with the links and hosts another
// controller learned: the writes for those switches are held for their master
// (Config.Forward), and once the master sends them the traffic flows.
func TestRolesWritesGoToTheMaster(t *testing.T) {
	n := newFakeNet(t, Config{Roles: true, IdleTimeout: 60 * time.Second})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.setRoles(ofproto.RolePrimary, 1, 2, 3)
	n.advance(2 * time.Second)
	links := n.c.topo.Links()
	require.Len(t, links, 4)
	require.Equal(t, "h3 -> h1: ok", n.ping(n.hosts["h3"], n.hosts["h1"]), "h3 and h1 located")
	hosts := n.c.topo.Hosts()

	// A new controller masters s1 only; what it knows of the rest comes from the other.
	n.c = newCore(n.c.cfg, slog.New(slog.DiscardHandler))
	n.bySess = map[*session]*fakeSwitch{}
	for _, sw := range n.sw {
		sw.s, sw.role, sw.table = nil, ofproto.RoleOther, nil
	}
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.setRoles(ofproto.RolePrimary, 1)
	for _, l := range links {
		_, err := n.c.topo.AddLink(l, n.now)
		require.NoError(t, err)
	}
	for _, h := range hosts {
		n.c.topo.LearnHost(h.MAC, h.IP, h.DPID, h.Port, n.now)
	}
	n.held = nil
	h1, h3 := n.hosts["h1"], n.hosts["h3"]
	n.hostSend(h1, icmpFrame(h1.mac, h3.mac, h1.ip, h3.ip, layers.ICMPv4TypeEchoRequest, 1, 1))
	n.run()
	require.NotEmpty(t, n.held)
	for _, e := range n.held {
		assert.NotEqual(t, uint64(1), e.s.dpid, "writes to the master's own switch are sent")
		_, fm := e.msg.(*ofproto.FlowMod)
		_, po := e.msg.(*ofproto.PacketOut)
		assert.True(t, fm || po, "%T", e.msg)
	}
	assert.Len(t, n.sw[1].table, 1, "s1's entry is installed")
	assert.Empty(t, n.sw[2].table)
	// The masters of s2 and s3 send what was held: the flow's entries are all there,
	// under this controller's cookie.
	for _, e := range n.held {
		if fm, ok := e.msg.(*ofproto.FlowMod); ok {
			n.flowMod(n.bySess[e.s], fm)
		}
	}
	f, ok := n.c.tracker.ByKey(flowKeyOf(t, n.sw[1].table[0]))
	require.True(t, ok)
	for _, d := range []uint64{2, 3} {
		require.Len(t, n.sw[d].table, 1)
		assert.Equal(t, f.Cookie, n.sw[d].table[0].cookie)
	}
	// A packet of another controller's flow arriving from a switch-to-switch port is
	// delivered, not installed from mid-path.
	n.setRoles(ofproto.RolePrimary, 2)
	h2 := n.hosts["h2"]
	data := icmpFrame(h3.mac, h2.mac, h3.ip, h2.ip, layers.ICMPv4TypeEchoRequest, 2, 1)
	before := len(h2.got)
	n.frames = append(n.frames, frameAt{data, PortRef{2, 3}})
	n.run()
	assert.Greater(t, len(h2.got), before, "delivered")
	m, ok := fakeMatch(data, 3)
	require.True(t, ok)
	_, tracked := n.c.tracker.ByKey(flowkey.FromMatch(&m))
	assert.False(t, tracked, "not installed from mid-path")
}

func flowKeyOf(t *testing.T, e *fakeEntry) flowtracker.Key {
	t.Helper()
	return flowkey.FromMatch(&e.match)
}
