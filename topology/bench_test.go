package topology

import (
	"fmt"
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
// per-source BFS of the current version, "cold" changes the version first (a port goes
// down and comes back with its links), so the tree and the BFS are rebuilt.
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
