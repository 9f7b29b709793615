package topology

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func BenchmarkAllPairsHops(b *testing.B) {
	for _, n := range []int{100, 500, 1000} {
		g := Waxman(n, 0.4, 0.1, seeded(1))
		b.Run(fmt.Sprintf("waxman-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				g.AllPairsHops()
			}
		})
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{100, 500, 1000} {
		b.Run(fmt.Sprintf("er-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ErdosRenyi(n, 4/float64(n), seeded(uint64(i)))
			}
		})
		b.Run(fmt.Sprintf("waxman-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				Waxman(n, 0.4, 0.1, seeded(uint64(i)))
			}
		})
	}
	for _, k := range []int{4, 16, 32} {
		b.Run(fmt.Sprintf("fattree-%d", k), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				FatTree(k)
			}
		})
	}
}

func BenchmarkParseGML(b *testing.B) {
	for _, name := range []string{"Arpanet196912.gml", "Abilene.gml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(b, err)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := ParseGML(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchNetwork discovers a Waxman topology of n switches.
func benchNetwork(b *testing.B, n int) *lab {
	l := newLab(b, Waxman(n, 0.4, 0.1, seeded(2)))
	l.discover(b, t0)
	return l
}

// BenchmarkNetworkPath measures Path between random switch pairs: "cached" reuses the
// per-source BFS, "cold" changes a link first (a port goes down and comes back with its
// links), so the BFS trees that used it are searched again.
func BenchmarkNetworkPath(b *testing.B) {
	for _, n := range []int{20, 100, 200} {
		l := benchNetwork(b, n)
		b.Run(fmt.Sprintf("cached-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, ok := l.net.Path(uint64(1+i%n), uint64(1+(i*7)%n)); !ok {
					b.Fatal("no path")
				}
			}
		})
		b.Run(fmt.Sprintf("cold-%d", n), func(b *testing.B) {
			lk := l.net.Links()[0]
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				removed := l.net.PortDown(lk.SrcDPID, lk.SrcPort)
				_ = l.net.PortUp(lk.SrcDPID, lk.SrcPort)
				for _, r := range removed {
					if _, err := l.net.AddLink(r, t0); err != nil {
						b.Fatal(err)
					}
				}
				if _, ok := l.net.Path(uint64(1+i%n), uint64(1+(i*7)%n)); !ok {
					b.Fatal("no path")
				}
			}
		})
	}
}

func BenchmarkFloodPorts(b *testing.B) {
	for _, n := range []int{20, 200} {
		l := benchNetwork(b, n)
		b.Run(fmt.Sprintf("switches-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				l.net.FloodPorts(uint64(1+i%n), 1)
			}
		})
	}
}

// BenchmarkLinkRefresh measures an LLDP arrival for a known link: parse the frame and
// refresh the link.
func BenchmarkLinkRefresh(b *testing.B) {
	l := benchNetwork(b, 100)
	links := l.net.Links()
	frames := make([][]byte, len(links))
	for i, lk := range links {
		frames[i] = BuildLLDP(lk.SrcDPID, lk.SrcPort, testMAC)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		j := i % len(links)
		dpid, port, err := ParseLLDP(frames[j])
		require.NoError(b, err)
		if _, err := l.net.AddLink(Link{dpid, port, links[j].DstDPID, links[j].DstPort}, t0.Add(time.Duration(i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLinkChurn measures a link change at 1,000 switches with 10 hosts each, as
// discovery and flapping links under load cause it: the link goes down at one end and
// its LLDP brings it back, then 100 paths from different sources are asked for, as new
// flows do. Before the per-port host index and the kept BFS trees, each new link walked
// every host and each Path after it rebuilt the whole graph.
func BenchmarkLinkChurn(b *testing.B) {
	const n = 1000
	l := newLab(b, ErdosRenyi(n, 0.006, seeded(3)))
	l.discover(b, t0)
	for i := 0; i < n; i++ {
		for h := 0; h < 10; h++ {
			mac := [6]byte{2, 0, byte(i >> 8), byte(i), 0, byte(h)}
			l.net.LearnHost(mac, netip.Addr{}, uint64(i+1), l.hostP[i], t0)
		}
	}
	links := l.net.Links()
	for src := 1; src <= n; src++ { // every source's tree cached, as after a while of traffic
		l.net.Path(uint64(src), uint64(1+(src*7)%n))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lk := links[(i*131)%len(links)]
		removed := l.net.PortDown(lk.SrcDPID, lk.SrcPort)
		_ = l.net.PortUp(lk.SrcDPID, lk.SrcPort)
		for _, r := range removed {
			if _, err := l.net.AddLink(r, t0); err != nil {
				b.Fatal(err)
			}
		}
		for q := 0; q < 100; q++ {
			src := uint64(1 + (i*100+q)*37%n)
			l.net.Path(src, uint64(1+(q*13)%n))
		}
	}
}

// BenchmarkNetworkAllTrees measures the path search's cache at data-centre size: an op
// searches from every switch of a 1,000-switch Erdős–Rényi network (the cache emptied
// first) and asks one path from each; B/op is what the cache keeps for all sources.
func BenchmarkNetworkAllTrees(b *testing.B) {
	const n = 1000
	l := newLab(b, ErdosRenyi(n, 0.006, seeded(3)))
	l.discover(b, t0)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		clear(l.net.bfs)
		for s := range n {
			l.net.Path(uint64(1+s), uint64(1+(s*7+1)%n))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/source")
}
