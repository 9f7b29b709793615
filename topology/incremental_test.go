package topology

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// refPath is the path rule of Network.Path computed from scratch over a list of links:
// BFS from src, neighbours by (DstDPID, SrcPort, DstPort), first found wins.
func refPath(links []Link, src, dst uint64) ([]Hop, bool) {
	adj := map[uint64][]Link{}
	for _, l := range links {
		if l.SrcDPID != l.DstDPID {
			adj[l.SrcDPID] = append(adj[l.SrcDPID], l)
		}
	}
	for s := range adj {
		slices.SortFunc(adj[s], cmpAdj)
	}
	if src == dst {
		return []Hop{{DPID: src}}, true
	}
	via := map[uint64]Link{src: {}}
	queue := []uint64{src}
	for h := 0; h < len(queue); h++ {
		for _, l := range adj[queue[h]] {
			if _, seen := via[l.DstDPID]; !seen {
				via[l.DstDPID] = l
				queue = append(queue, l.DstDPID)
			}
		}
	}
	if _, ok := via[dst]; !ok {
		return nil, false
	}
	var nodes []uint64
	for cur := dst; cur != src; cur = via[cur].SrcDPID {
		nodes = append(nodes, cur)
	}
	nodes = append(nodes, src)
	slices.Reverse(nodes)
	hops := make([]Hop, len(nodes))
	for i, dp := range nodes {
		hops[i].DPID = dp
		if i > 0 {
			hops[i].InPort = via[dp].DstPort
		}
		if i+1 < len(nodes) {
			hops[i].OutPort = via[nodes[i+1]].SrcPort
		}
	}
	return hops, true
}

// TestPathCacheMatchesRecompute drives a network through random link arrivals, port
// downs, switch losses and returns, and checks after every step that Path (with its
// BFS trees kept across changes) gives exactly the path computed from scratch.
func TestPathCacheMatchesRecompute(t *testing.T) {
	const n = 24
	rng := rand.New(rand.NewPCG(7, 11))
	net := NewNetwork()
	ports := []uint16{1, 2, 3, 4, 5}
	for d := uint64(1); d <= n; d++ {
		net.AddSwitch(d, ports)
	}
	check := func(step int) {
		links := net.Links()
		sw := net.Switches()
		for q := 0; q < 40; q++ {
			src, dst := uint64(1+rng.IntN(n)), uint64(1+rng.IntN(n))
			got, ok := net.Path(src, dst)
			if !slices.Contains(sw, src) || !slices.Contains(sw, dst) {
				require.False(t, ok, "step %d: path %d->%d with an unknown switch", step, src, dst)
				continue
			}
			want, wok := refPath(links, src, dst)
			require.Equal(t, wok, ok, "step %d: %d->%d", step, src, dst)
			require.Equal(t, want, got, "step %d: %d->%d", step, src, dst)
		}
	}
	for step := 0; step < 3000; step++ {
		switch r := rng.IntN(100); {
		case r < 60:
			l := Link{uint64(1 + rng.IntN(n)), ports[rng.IntN(len(ports))], uint64(1 + rng.IntN(n)), ports[rng.IntN(len(ports))]}
			_, _ = net.AddLink(l, sec(step)) // unknown switches and self ports are refused
		case r < 80:
			d := uint64(1 + rng.IntN(n))
			net.PortDown(d, ports[rng.IntN(len(ports))])
			_ = net.PortUp(d, ports[rng.IntN(len(ports))])
		case r < 88:
			net.RemoveSwitch(uint64(1 + rng.IntN(n)))
		case r < 96:
			net.AddSwitch(uint64(1+rng.IntN(n)), ports[:1+rng.IntN(len(ports))])
		default:
			net.Expire(sec(step), 50e9)
		}
		check(step)
	}
}

// TestHostIndexFollowsMoves checks that a link arriving on a port forgets exactly the
// hosts behind it, after hosts moved between ports.
func TestHostIndexFollowsMoves(t *testing.T) {
	net := NewNetwork()
	net.AddSwitch(1, []uint16{1, 2, 3})
	net.AddSwitch(2, []uint16{1, 2})
	a, b := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 2}
	ip := netip.MustParseAddr("10.0.0.1")
	require.Equal(t, LearnNew, net.LearnHost(a, ip, 1, 1, t0))
	require.Equal(t, LearnNew, net.LearnHost(b, netip.Addr{}, 1, 1, t0))
	require.Equal(t, LearnMoved, net.LearnHost(a, ip, 1, 3, sec(1)))
	added, err := net.AddLink(Link{1, 1, 2, 1}, sec(2))
	require.NoError(t, err)
	require.True(t, added)
	_, okA := net.Host(a)
	_, okB := net.Host(b)
	require.True(t, okA, "a moved to port 3 before the link came")
	require.False(t, okB, "b was behind the new switch-to-switch port")
	net.PortDown(1, 3)
	_, okA = net.Host(a)
	require.False(t, okA)
	_, okIP := net.HostByIP(ip)
	require.False(t, okIP)
	require.Empty(t, net.hostsAt)
}
