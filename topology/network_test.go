package topology

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

func sec(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// lab wires a Graph up as switches: node i is DPID i+1; its k-th neighbour (ascending)
// is on port k+1 and one host port follows, numbered degree+1. Every switch also lists
// OFPP_LOCAL, which must never show up anywhere.
type lab struct {
	g     *Graph
	net   *Network
	port  map[[2]int]uint16 // (node, neighbour) -> port on node
	hostP []uint16          // host port of each node
}

const ofppLocal = 0xfffe

func newLab(t testing.TB, g *Graph) *lab {
	t.Helper()
	l := &lab{g: g, net: NewNetwork(), port: map[[2]int]uint16{}}
	for i := 0; i < g.NumNodes(); i++ {
		var ports []uint16
		for k, j := range g.Neighbors(i) {
			l.port[[2]int{i, j}] = uint16(k + 1)
			ports = append(ports, uint16(k+1))
		}
		hp := uint16(g.Degree(i) + 1)
		l.hostP = append(l.hostP, hp)
		l.net.AddSwitch(uint64(i+1), append(ports, hp, ofppLocal))
	}
	return l
}

// link is the directed link from node a to node b.
func (l *lab) link(a, b int) Link {
	return Link{uint64(a + 1), l.port[[2]int{a, b}], uint64(b + 1), l.port[[2]int{b, a}]}
}

// discover sends LLDP out of every switch-to-switch port, as the controller does, and
// feeds what arrives to the Network.
func (l *lab) discover(t testing.TB, now time.Time) {
	t.Helper()
	for _, e := range l.g.Edges() {
		for _, d := range [][2]int{{e[0], e[1]}, {e[1], e[0]}} {
			want := l.link(d[0], d[1])
			dpid, port, err := ParseLLDP(BuildLLDP(want.SrcDPID, want.SrcPort, testMAC))
			require.NoError(t, err)
			if _, err := l.net.AddLink(Link{dpid, port, want.DstDPID, want.DstPort}, now); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// flood injects a broadcast on a host port and follows FloodPorts across links; it
// returns how many copies reach each host port, and fails if copies keep circulating.
func (l *lab) flood(t testing.TB, origin int) map[int]int {
	t.Helper()
	type at struct {
		dpid uint64
		in   uint16
	}
	delivered := map[int]int{}
	queue := []at{{uint64(origin + 1), l.hostP[origin]}}
	links := map[[2]uint64]Link{}
	for _, lk := range l.net.Links() {
		links[[2]uint64{lk.SrcDPID, uint64(lk.SrcPort)}] = lk
	}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 10*l.g.NumNodes()*l.g.NumNodes()+100 {
			t.Fatal("flooding does not terminate: a loop")
		}
		cur := queue[0]
		queue = queue[1:]
		for _, p := range l.net.FloodPorts(cur.dpid, cur.in) {
			if p == ofppLocal {
				t.Fatal("flooded to a reserved port")
			}
			if lk, ok := links[[2]uint64{cur.dpid, uint64(p)}]; ok {
				queue = append(queue, at{lk.DstDPID, lk.DstPort})
				continue
			}
			node := int(cur.dpid) - 1
			if p != l.hostP[node] {
				t.Fatalf("switch %d floods to unknown port %d", cur.dpid, p)
			}
			delivered[node]++
		}
	}
	return delivered
}

func abilene(t testing.TB) *Graph { return readGML(t, "Abilene.gml") }

// TestDiscoveryScenarios discovers whole topologies through LLDP and checks links,
// paths against BFS hop counts, the spanning tree and loop-free flooding.
func TestDiscoveryScenarios(t *testing.T) {
	tests := []struct {
		name string
		g    *Graph
	}{
		{"line of 5", Linear(5)},
		{"ring of 6", Ring(6)},
		{"Abilene", abilene(t)},
		{"fat-tree k=4", FatTree(4)},
		{"waxman 30", Waxman(30, 0.5, 0.3, seeded(11))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, tc.g)
			v0 := l.net.Version()
			l.discover(t, t0)
			n, g := tc.g.NumNodes(), tc.g
			if got := len(l.net.Links()); got != 2*g.NumEdges() {
				t.Fatalf("%d links, want %d", got, 2*g.NumEdges())
			}
			if l.net.Version() == v0 {
				t.Error("version unchanged by discovery")
			}
			// Rediscovery only refreshes.
			v1 := l.net.Version()
			l.discover(t, sec(1))
			if l.net.Version() != v1 {
				t.Error("refreshing links changed the version")
			}
			ng, dpids := l.net.Graph()
			if !slices.Equal(ng.Edges(), g.Edges()) || len(dpids) != n || dpids[0] != 1 {
				t.Errorf("Graph() edges differ from the topology")
			}
			hops := g.AllPairsHops()
			for s := 0; s < n; s++ {
				for d := 0; d < n; d++ {
					path, ok := l.net.Path(uint64(s+1), uint64(d+1))
					if !ok || len(path)-1 != hops[s][d] {
						t.Fatalf("Path(%d, %d) = %v %v, want %d hops", s+1, d+1, path, ok, hops[s][d])
					}
					// Same tie-breaking as Graph.ShortestPath (DPIDs ascend with nodes).
					want := g.ShortestPath(s, d)
					for i, h := range path {
						if h.DPID != uint64(want[i]+1) {
							t.Fatalf("Path(%d, %d) = %v, want nodes %v", s+1, d+1, path, want)
						}
						if i > 0 && (h.InPort != l.port[[2]int{want[i], want[i-1]}] || path[i-1].OutPort != l.port[[2]int{want[i-1], want[i]}]) {
							t.Fatalf("Path(%d, %d) ports wrong at hop %d: %v", s+1, d+1, i, path)
						}
					}
					if path[0].InPort != 0 || path[len(path)-1].OutPort != 0 {
						t.Fatalf("end ports not left to the caller: %v", path)
					}
				}
			}
			tree := l.net.SpanningTree()
			tg := NewGraph()
			addSwitches(tg, n)
			for _, e := range tree {
				if !slices.Contains(l.net.Links(), e) {
					t.Fatalf("tree edge %v is not a link", e)
				}
				_ = tg.AddEdge(int(e.SrcDPID-1), int(e.DstDPID-1))
			}
			if len(tree) != n-1 || tg.NumEdges() != n-1 || !tg.Connected() {
				t.Fatalf("tree of %d edges (%d distinct), connected %v: want a spanning tree of %d", len(tree), tg.NumEdges(), tg.Connected(), n-1)
			}
			for origin := 0; origin < n; origin++ {
				got := l.flood(t, origin)
				for node := 0; node < n; node++ {
					want := 1
					if node == origin {
						want = 0
					}
					if got[node] != want {
						t.Fatalf("flood from %d: host %d got %d copies, want %d", origin, node, got[node], want)
					}
				}
			}
		})
	}
}

func TestPortDownRemovesLink(t *testing.T) {
	l := newLab(t, Ring(4)) // s1-s2-s3-s4-s1
	l.discover(t, t0)
	p, _ := l.net.Path(1, 2)
	require.Len(t, p, 2, "before")
	v := l.net.Version()
	port := l.port[[2]int{0, 1}]
	removed := l.net.PortDown(1, port)
	want := []Link{l.link(0, 1), l.link(1, 0)}
	slices.SortFunc(want, cmpLink)
	require.Equal(t, want, removed, "PortDown removed")
	assert.NotEqual(t, v, l.net.Version(), "version unchanged")
	p, ok := l.net.Path(1, 2)
	assert.True(t, ok)
	assert.Len(t, p, 4, "rerouted around the ring")
	assert.NotContains(t, l.net.Ports(1), port, "down port still listed")
	assert.NotContains(t, l.net.FloodPorts(1, 0), port, "down port still flooded to")
	assert.Nil(t, l.net.PortDown(1, port), "second PortDown")
	assert.Nil(t, l.net.PortDown(99, 1), "PortDown of an unknown switch")
	// LLDP comes back after the port does.
	require.NoError(t, l.net.PortUp(1, port))
	l.discover(t, sec(1))
	p, _ = l.net.Path(1, 2)
	assert.Len(t, p, 2, "after port up")
	assert.ErrorIs(t, l.net.PortUp(99, 1), ErrUnknownSwitch)
	assert.ErrorIs(t, l.net.PortUp(1, 0), ErrBadPort)
}

func TestLinkExpiry(t *testing.T) {
	l := newLab(t, Linear(3))
	l.discover(t, t0)
	// Only s1<->s2 keeps answering.
	for _, lk := range []Link{l.link(0, 1), l.link(1, 0)} {
		added, err := l.net.AddLink(lk, sec(8))
		require.NoError(t, err)
		require.False(t, added, "a refresh adds nothing")
	}
	tests := []struct {
		now     time.Time
		removed []Link
	}{
		{sec(10), nil}, // exactly the timeout: kept
		{sec(11), []Link{l.link(1, 2), l.link(2, 1)}},
		{sec(18), nil},
		{sec(19), []Link{l.link(0, 1), l.link(1, 0)}},
	}
	for i, tc := range tests {
		got := l.net.Expire(tc.now, 10*time.Second)
		slices.SortFunc(tc.removed, cmpLink)
		assert.True(t, slices.Equal(got, tc.removed), "step %d: Expire removed %v, want %v", i, got, tc.removed)
	}
	_, ok := l.net.Path(1, 3)
	assert.False(t, ok, "path survives expiry")
}

func TestHostLearning(t *testing.T) {
	l := newLab(t, Linear(3)) // s2 has trunk ports 1, 2 and host port 3
	l.discover(t, t0)
	h1 := [6]byte{0, 0, 0, 0, 0, 1}
	h2 := [6]byte{0, 0, 0, 0, 0, 2}
	ip := netip.MustParseAddr
	steps := []struct {
		name string
		mac  [6]byte
		ip   netip.Addr
		dpid uint64
		port uint16
		want Learn
	}{
		{"trunk port ignored", h1, ip("10.0.0.1"), 2, 1, LearnIgnored},
		{"unknown switch", h1, ip("10.0.0.1"), 9, 1, LearnIgnored},
		{"reserved port", h1, ip("10.0.0.1"), 1, ofppLocal, LearnIgnored},
		{"broadcast MAC", [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ip("10.0.0.1"), 1, 2, LearnIgnored},
		{"zero MAC", [6]byte{}, ip("10.0.0.1"), 1, 2, LearnIgnored},
		{"new", h1, ip("10.0.0.1"), 1, 2, LearnNew},
		{"refresh", h1, netip.Addr{}, 1, 2, LearnRefreshed},
		{"ARP probe keeps IP", h1, ip("0.0.0.0"), 1, 2, LearnRefreshed},
		{"moved", h1, ip("10.0.0.1"), 3, 2, LearnMoved},
		{"second host", h2, ip("10.0.0.2"), 2, 3, LearnNew},
		{"IP taken over", h2, ip("10.0.0.1"), 2, 3, LearnRefreshed},
	}
	for i, st := range steps {
		require.Equal(t, st.want, l.net.LearnHost(st.mac, st.ip, st.dpid, st.port, sec(i)), st.name)
	}
	got, ok := l.net.Host(h1)
	if !ok || got.DPID != 3 || got.Port != 2 || got.IP.IsValid() || !got.LastSeen.Equal(sec(8)) {
		t.Errorf("h1 = %+v", got)
	}
	if h, ok := l.net.HostByIP(ip("10.0.0.1")); !ok || h.MAC != h2 {
		t.Errorf("HostByIP = %+v %v, want h2", h, ok)
	}
	if _, ok := l.net.HostByIP(ip("10.0.0.2")); ok {
		t.Error("h2's old address still maps")
	}
	if p, ok := l.net.HostPath(h1, h2); !ok || !slices.Equal(p, []Hop{{3, 2, 1}, {2, 2, 3}}) {
		t.Errorf("HostPath = %v %v", p, ok)
	}
	if hosts := l.net.Hosts(); len(hosts) != 2 || hosts[0].MAC != h1 || hosts[0].HardwareAddr().String() != "00:00:00:00:00:01" {
		t.Errorf("Hosts = %v", hosts)
	}
	// A port that turns out to be switch-to-switch loses its hosts.
	l.net.LearnHost([6]byte{0, 0, 0, 0, 0, 3}, ip("10.0.0.3"), 1, 2, sec(20))
	l.net.AddSwitch(4, []uint16{1})
	_, err := l.net.AddLink(Link{1, 2, 4, 1}, sec(21))
	require.NoError(t, err)
	if _, ok := l.net.Host([6]byte{0, 0, 0, 0, 0, 3}); ok {
		t.Error("host on a new trunk port kept")
	}
	if gone := l.net.ExpireHosts(sec(30), 15*time.Second); len(gone) != 2 || gone[0].MAC != h1 {
		t.Errorf("ExpireHosts = %v", gone)
	}
	if len(l.net.Hosts()) != 0 {
		t.Error("hosts left")
	}
	if _, ok := l.net.HostPath(h1, h2); ok {
		t.Error("HostPath for forgotten hosts")
	}
}

func TestAddLinkRules(t *testing.T) {
	nw := NewNetwork()
	nw.AddSwitch(1, []uint16{1, 2})
	nw.AddSwitch(2, []uint16{1, 2})
	nw.AddSwitch(3, []uint16{1})
	tests := []struct {
		name  string
		link  Link
		added bool
		err   error
		links int
	}{
		{"new", Link{1, 1, 2, 1}, true, nil, 1},
		{"refresh", Link{1, 1, 2, 1}, false, nil, 1},
		{"reverse", Link{2, 1, 1, 1}, true, nil, 2},
		{"unknown source", Link{9, 1, 2, 2}, false, ErrUnknownSwitch, 2},
		{"unknown destination", Link{1, 2, 9, 1}, false, ErrUnknownSwitch, 2},
		{"port 0", Link{1, 0, 2, 2}, false, ErrBadPort, 2},
		{"reserved port", Link{1, 2, 2, ofppLocal}, false, ErrBadPort, 2},
		{"port to itself", Link{1, 2, 1, 2}, false, ErrBadLink, 2},
		// Recabled: s1 port 1 now reaches s3; s1->s2 on that port is replaced, and
		// s2->s1 (into s1 port 1) stays until it expires or the port goes down.
		{"recabled", Link{1, 1, 3, 1}, true, nil, 2},
		{"switch looped to itself", Link{5, 1, 5, 2}, true, nil, 3},
		{"and back", Link{5, 2, 5, 1}, true, nil, 4},
	}
	nw.AddSwitch(5, []uint16{1, 2, 3})
	for _, tc := range tests {
		added, err := nw.AddLink(tc.link, t0)
		if added != tc.added || !errors.Is(err, tc.err) || len(nw.Links()) != tc.links {
			t.Fatalf("%s: AddLink = %v %v with %d links, want %v %v %d", tc.name, added, err, len(nw.Links()), tc.added, tc.err, tc.links)
		}
	}
	// The self-looped switch never floods onto its loop and has no tree edge to itself.
	if fp := nw.FloodPorts(5, 3); len(fp) != 0 {
		t.Errorf("FloodPorts(5, 3) = %v, want none (ports 1 and 2 are an off-tree loop)", fp)
	}
	if p, ok := nw.Path(5, 5); !ok || !slices.Equal(p, []Hop{{DPID: 5}}) {
		t.Errorf("Path(5, 5) = %v %v", p, ok)
	}
	for _, e := range nw.SpanningTree() {
		if e.SrcDPID == e.DstDPID {
			t.Errorf("tree has a self loop %v", e)
		}
	}
}

func TestSwitchChanges(t *testing.T) {
	l := newLab(t, Linear(3))
	l.discover(t, t0)
	l.net.LearnHost([6]byte{0, 0, 0, 0, 0, 9}, netip.Addr{}, 2, l.hostP[1], t0)
	removed := l.net.RemoveSwitch(2)
	if len(removed) != 4 || len(l.net.Links()) != 0 {
		t.Fatalf("RemoveSwitch removed %v, %d left", removed, len(l.net.Links()))
	}
	if len(l.net.Hosts()) != 0 || slices.Contains(l.net.Switches(), 2) {
		t.Error("switch or host left behind")
	}
	if l.net.RemoveSwitch(2) != nil || l.net.FloodPorts(2, 0) != nil || l.net.Ports(2) != nil {
		t.Error("removed switch still answers")
	}
	if _, ok := l.net.Path(1, 2); ok {
		t.Error("path to a removed switch")
	}
	// A reconnecting switch with fewer ports loses the links on the missing ones.
	l2 := newLab(t, Linear(3))
	l2.discover(t, t0)
	v := l2.net.Version()
	if got := l2.net.AddSwitch(2, []uint16{1, 2, 3}); got != nil || l2.net.Version() != v {
		t.Errorf("same ports: removed %v, version changed %v", got, l2.net.Version() != v)
	}
	got := l2.net.AddSwitch(2, []uint16{1, 3})
	want := []Link{l2.link(1, 2), l2.link(2, 1)}
	slices.SortFunc(want, cmpLink)
	if !slices.Equal(got, want) || l2.net.Version() == v {
		t.Errorf("AddSwitch dropped %v, want %v", got, want)
	}
	if sw := l2.net.Switches(); !slices.Equal(sw, []uint64{1, 2, 3}) {
		t.Errorf("Switches = %v", sw)
	}
	if !l2.net.IsTrunk(2, 1) || l2.net.IsTrunk(2, 3) {
		t.Error("IsTrunk")
	}
}

func TestNetworkConcurrent(t *testing.T) {
	l := newLab(t, abilene(t))
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				switch w {
				case 0:
					l.discover(t, sec(i))
				case 1:
					l.net.Expire(sec(i), time.Hour)
					l.net.PortDown(1, 1)
				case 2:
					l.net.LearnHost([6]byte{2, 0, 0, 0, 0, byte(i)}, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 3, l.hostP[2], sec(i))
				default:
					l.net.Path(1, 11)
					l.net.FloodPorts(5, 0)
					l.net.Graph()
				}
			}
		}()
	}
	wg.Wait()
	if len(l.net.Hosts()) != 50 {
		t.Errorf("%d hosts", len(l.net.Hosts()))
	}
}

func TestLearnString(t *testing.T) {
	for l, want := range map[Learn]string{LearnIgnored: "ignored", LearnNew: "new", LearnMoved: "moved", LearnRefreshed: "refreshed", 9: "learn(9)"} {
		if l.String() != want {
			t.Errorf("%d: %q", l, l.String())
		}
	}
	if s := (Link{1, 2, 3, 4}).String(); s != fmt.Sprintf("%016x/2->%016x/4", 1, 3) {
		t.Errorf("Link.String = %q", s)
	}
}

// TestPathParallelLinks: of two links between the same switches the path takes the
// lower ports; when that link goes, the cached search is dropped and the path takes
// the other; when a switch's slot is reused the paths name the new switch.
func TestPathParallelLinks(t *testing.T) {
	n := NewNetwork()
	n.AddSwitch(1, []uint16{1, 2, 3})
	n.AddSwitch(2, []uint16{1, 2, 3})
	n.AddSwitch(3, []uint16{1})
	for _, l := range []Link{{1, 1, 2, 1}, {1, 2, 2, 2}, {2, 3, 3, 1}} {
		_, err := n.AddLink(l, t0)
		require.NoError(t, err)
	}
	p, ok := n.Path(1, 3)
	require.True(t, ok)
	assert.Equal(t, []Hop{{DPID: 1, OutPort: 1}, {DPID: 2, InPort: 1, OutPort: 3}, {DPID: 3, InPort: 1}}, p)
	n.PortDown(1, 1)
	p, ok = n.Path(1, 3)
	require.True(t, ok)
	assert.Equal(t, []Hop{{DPID: 1, OutPort: 2}, {DPID: 2, InPort: 2, OutPort: 3}, {DPID: 3, InPort: 1}}, p)

	n.RemoveSwitch(3) // its slot is free, and taken by the next switch
	n.AddSwitch(9, []uint16{1})
	_, err := n.AddLink(Link{2, 3, 9, 1}, t0)
	require.NoError(t, err)
	p, ok = n.Path(1, 9)
	require.True(t, ok)
	assert.Equal(t, []Hop{{DPID: 1, OutPort: 2}, {DPID: 2, InPort: 2, OutPort: 3}, {DPID: 9, InPort: 1}}, p)
	_, ok = n.Path(1, 3)
	assert.False(t, ok)
}
