package controller

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// TestHostMoveVerified: a forged claim of h1's address from another port moves
// nothing (h1 answers the probe at its old place); when h1 really moves (silent at the
// old place, a gratuitous ARP from the new one) it is followed after MoveProbe, and
// traffic reaches it there.
func TestHostMoveVerified(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(time.Second)
	h1, h2, h3 := n.hosts["h1"], n.hosts["h2"], n.hosts["h3"]
	require.True(t, strings.HasSuffix(n.ping(h2, h1), ": ok"))

	garp := arpFrame(layers.ARPRequest, h1.mac, h1.ip, ofproto.MAC{}, h1.ip)
	n.frames = append(n.frames, frameAt{garp, PortRef{3, 1}}) // forged, at h3's port
	n.run()
	n.advance(DefaultMoveProbe + DefaultTickInterval)
	h, _ := n.c.topo.Host(h1.mac)
	require.Equal(t, Location{1, 1}, Location{h.DPID, h.Port}, "a forged claim moved h1")
	require.EqualValues(t, 1, n.c.stats.HostMovesRefused)
	require.Zero(t, n.c.stats.HostMoves)

	// h1 leaves s1 silently and appears where h3 was.
	delete(n.hostAt, PortRef{1, 1})
	delete(n.hostAt, h3.at)
	h1.at = h3.at
	n.hostAt[h1.at] = h1
	n.advance(time.Second) // past the flood guard
	n.hostSend(h1, garp)
	n.run()
	h, _ = n.c.topo.Host(h1.mac)
	require.Equal(t, Location{1, 1}, Location{h.DPID, h.Port}, "moved before the probe's deadline")
	n.advance(DefaultMoveProbe + DefaultTickInterval)
	h, _ = n.c.topo.Host(h1.mac)
	require.Equal(t, Location{3, 1}, Location{h.DPID, h.Port}, "the real move was not followed")
	require.EqualValues(t, 1, n.c.stats.HostMoves)
	require.True(t, strings.HasSuffix(n.ping(h2, h1), ": ok"), "h1 unreachable at its new place")
}

// TestNoHostOnFormerLinkPort: after a switch leaves, the ports that linked to it learn
// no host for LinkPortMemory (a flapping switch still forwards frames there); after
// that, they do.
func TestNoHostOnFormerLinkPort(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(time.Second)
	require.True(t, n.c.topo.IsTrunk(1, 3))
	n.disconnect(2)
	require.False(t, n.c.topo.IsTrunk(1, 3))
	mac := ofproto.MAC{0, 0, 0, 0, 0, 9}
	ip := netip.AddrFrom4([4]byte{10, 0, 0, 9})
	frame := arpFrame(layers.ARPRequest, mac, ip, ofproto.MAC{}, netip.AddrFrom4([4]byte{10, 0, 0, 1}))
	n.frames = append(n.frames, frameAt{frame, PortRef{1, 3}})
	n.run()
	_, ok := n.c.topo.Host(mac)
	require.False(t, ok, "host learned on a port that just was a link end")
	require.NotZero(t, n.c.stats.HostsOnLinkPort)
	n.advance(DefaultLinkPortMemory)
	n.frames = append(n.frames, frameAt{frame, PortRef{1, 3}})
	n.run()
	_, ok = n.c.topo.Host(mac)
	require.True(t, ok, "port still refused after LinkPortMemory")
}

// TestRestoredHostsVerified: hosts restored after a restart are provisional. Those
// that answer the probe at their saved place are confirmed; one that is gone is
// forgotten after RestoredHostConfirm; a forged claim of a restored host's address
// from another port moves nothing, as for a learned host.
func TestRestoredHostsVerified(t *testing.T) {
	n := newFakeNet(t, Config{IdleTimeout: 60 * time.Second})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(2 * time.Second)
	h1, h2, h3 := n.hosts["h1"], n.hosts["h2"], n.hosts["h3"]
	require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
	hosts, flows := saveState(n.c)
	// A host that was at h2's port and has left since (h2 is there now, silent).
	gone := topology.Host{MAC: [6]byte{0x02, 0, 0, 0, 0, 0x99}, IP: netip.MustParseAddr("10.0.0.99"), DPID: 2, Port: 1}
	hosts = append(hosts, gone)

	n.crash(hosts, flows, 0)
	st := n.c.adopt.stats
	require.EqualValues(t, 3, st.HostsRestored)
	require.EqualValues(t, 2, st.HostsConfirmed, "h1 and h3 answered the probe at their saved places")
	_, ok := n.c.topo.Host(gone.MAC)
	require.True(t, ok, "provisional until its time is up")

	// A forged claim of h1 from h2's port, before anything else was seen of h1.
	garp := arpFrame(layers.ARPRequest, h1.mac, h1.ip, ofproto.MAC{}, h1.ip)
	n.frames = append(n.frames, frameAt{garp, h2.at})
	n.run()
	n.advance(RestoredHostConfirm + DefaultTickInterval)
	h, _ := n.c.topo.Host(h1.mac)
	require.Equal(t, Location{1, 1}, Location{h.DPID, h.Port}, "a forged claim moved a restored host")
	require.EqualValues(t, 1, n.c.stats.HostMovesRefused)
	_, ok = n.c.topo.Host(gone.MAC)
	require.False(t, ok, "a restored host not seen at its place is forgotten")
	require.EqualValues(t, 1, n.c.adopt.stats.HostsForgotten)
	require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
}

// TestRestoredHostMoved: a restored host that moved while the controller was down is
// followed once its saved place stays silent, by the same rule as a learned host.
func TestRestoredHostMoved(t *testing.T) {
	n := newFakeNet(t, Config{IdleTimeout: 60 * time.Second})
	n.linear(3)
	for _, d := range sortedDPIDs(n.sw) {
		n.connect(d)
	}
	n.advance(2 * time.Second)
	h1, h2, h3 := n.hosts["h1"], n.hosts["h2"], n.hosts["h3"]
	require.Equal(t, "h1 -> h3: ok", n.ping(h1, h3))
	hosts, flows := saveState(n.c)
	// While the controller is down, h1 goes to h2's port (h2 leaves).
	delete(n.hostAt, h1.at)
	delete(n.hostAt, h2.at)
	h1.at = h2.at
	n.hostAt[h1.at] = h1

	n.crash(hosts, flows, 0)
	require.EqualValues(t, 1, n.c.adopt.stats.HostsConfirmed, "only h3 is where it was")
	n.advance(time.Second) // past the flood guard
	n.hostSend(h1, arpFrame(layers.ARPRequest, h1.mac, h1.ip, ofproto.MAC{}, h1.ip))
	n.run()
	h, _ := n.c.topo.Host(h1.mac)
	require.Equal(t, Location{1, 1}, Location{h.DPID, h.Port}, "moved before the probe's deadline")
	n.advance(DefaultMoveProbe + DefaultTickInterval)
	h, _ = n.c.topo.Host(h1.mac)
	require.Equal(t, Location{2, 1}, Location{h.DPID, h.Port}, "the move was not followed")
	require.EqualValues(t, 1, n.c.stats.HostMoves)
	n.advance(RestoredHostConfirm)
	require.Zero(t, n.c.adopt.stats.HostsForgotten, "a host that moved is not forgotten")
	require.True(t, strings.HasSuffix(n.ping(h3, h1), ": ok"))
}
