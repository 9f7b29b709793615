package topology

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func seeded(s uint64) *rand.Rand { return rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)) }

func TestErdosRenyi(t *testing.T) {
	tests := []struct {
		name       string
		n          int
		p          float64
		minE, maxE int
	}{
		{"p=0 is a spanning tree", 30, 0, 29, 29},
		{"p=1 is complete", 12, 1, 66, 66},
		{"p>1 clamps", 5, 7, 10, 10},
		{"NaN is 0", 5, math.NaN(), 4, 4},
		// Expected 0.1·C(200,2) = 1990, sd ≈ 42: accept ±5 sd.
		{"density", 200, 0.1, 1780, 2200},
		{"sparse gets connected", 100, 0.001, 99, 120},
		{"one node", 1, 0.5, 0, 0},
		{"none", 0, 0.5, 0, 0},
		{"negative n", -3, 0.5, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := ErdosRenyi(tc.n, tc.p, seeded(1))
			if g.NumNodes() != max(tc.n, 0) {
				t.Fatalf("nodes = %d, want %d", g.NumNodes(), tc.n)
			}
			if e := g.NumEdges(); e < tc.minE || e > tc.maxE {
				t.Errorf("edges = %d, want %d..%d", e, tc.minE, tc.maxE)
			}
			if !g.Connected() {
				t.Error("not connected")
			}
		})
	}
	a, b := ErdosRenyi(50, 0.05, seeded(3)), ErdosRenyi(50, 0.05, seeded(3))
	if !slices.Equal(a.Edges(), b.Edges()) {
		t.Error("same seed gave different graphs")
	}
	if c := ErdosRenyi(50, 0.05, seeded(4)); slices.Equal(a.Edges(), c.Edges()) {
		t.Error("different seeds gave the same graph")
	}
	if g := ErdosRenyi(10, 0.3, nil); g.NumNodes() != 10 || !g.Connected() {
		t.Error("nil rng")
	}
	if g := ErdosRenyi(3, 1, nil); g.Name(0) != "s1" || g.Name(2) != "s3" {
		t.Errorf("names %q %q", g.Name(0), g.Name(2))
	}
}

func TestWaxman(t *testing.T) {
	tests := []struct {
		name        string
		n           int
		alpha, beta float64
		minE, maxE  int
	}{
		{"alpha=0 is a spanning tree", 40, 0, 0.5, 39, 39},
		{"beta=0 is a spanning tree", 40, 1, 0, 39, 39},
		{"alpha=1 huge beta is nearly complete", 20, 1, 1e9, 189, 190},
		{"typical", 100, 0.4, 0.2, 150, 2000},
		{"one node", 1, 0.5, 0.5, 0, 0},
		{"none", 0, 0.5, 0.5, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := Waxman(tc.n, tc.alpha, tc.beta, seeded(2))
			if g.NumNodes() != tc.n {
				t.Fatalf("nodes = %d, want %d", g.NumNodes(), tc.n)
			}
			if e := g.NumEdges(); e < tc.minE || e > tc.maxE {
				t.Errorf("edges = %d, want %d..%d", e, tc.minE, tc.maxE)
			}
			if !g.Connected() {
				t.Error("not connected")
			}
		})
	}
	a, b := Waxman(60, 0.4, 0.1, seeded(5)), Waxman(60, 0.4, 0.1, seeded(5))
	if !slices.Equal(a.Edges(), b.Edges()) {
		t.Error("same seed gave different graphs")
	}
	// Smaller beta favours short links: fewer edges on average.
	short, long := Waxman(150, 0.5, 0.05, seeded(6)), Waxman(150, 0.5, 0.5, seeded(6))
	if short.NumEdges() >= long.NumEdges() {
		t.Errorf("beta 0.05 gave %d edges, beta 0.5 gave %d", short.NumEdges(), long.NumEdges())
	}
}

func TestFatTree(t *testing.T) {
	for _, k := range []int{2, 4, 6, 8} {
		g := FatTree(k)
		h := k / 2
		if g.NumNodes() != 5*k*k/4 || g.NumEdges() != k*k*k/2 {
			t.Errorf("k=%d: %d nodes %d edges, want %d %d", k, g.NumNodes(), g.NumEdges(), 5*k*k/4, k*k*k/2)
		}
		if !g.Connected() {
			t.Errorf("k=%d not connected", k)
		}
		nCore, nPod := h*h, k*h
		for i := 0; i < g.NumNodes(); i++ {
			name := g.Name(i)
			var wantPrefix string
			wantDeg := k
			switch {
			case i < nCore:
				wantPrefix = "core"
			case i < nCore+nPod:
				wantPrefix = "agg"
			default:
				wantPrefix, wantDeg = "edge", h
			}
			if !strings.HasPrefix(name, wantPrefix) || g.Degree(i) != wantDeg {
				t.Errorf("k=%d node %d %q degree %d, want %s* degree %d", k, i, name, g.Degree(i), wantPrefix, wantDeg)
			}
		}
		// Edge switches of different pods are 4 hops apart, of the same pod 2.
		hops := g.AllPairsHops()
		e0, e1, eOther := nCore+nPod, nCore+nPod+1, nCore+nPod+h
		if k >= 4 && (hops[e0][e1] != 2 || hops[e0][eOther] != 4) {
			t.Errorf("k=%d: same-pod %d, cross-pod %d hops", k, hops[e0][e1], hops[e0][eOther])
		}
	}
	if g := FatTree(4); g.Name(0) != "core1" || g.Name(4) != "agg1" || g.Name(12) != "edge1" {
		t.Errorf("names: %q %q %q", g.Name(0), g.Name(4), g.Name(12))
	}
	for _, k := range []int{-2, 0, 1, 3} {
		if g := FatTree(k); g.NumNodes() != 0 {
			t.Errorf("FatTree(%d) has %d nodes", k, g.NumNodes())
		}
	}
}

func TestParseSpec(t *testing.T) {
	tests := []struct {
		spec         string
		err          error
		nodes, edges int // edges -1: not checked
	}{
		{"linear:4", nil, 4, 3},
		{"ring:5", nil, 5, 5},
		{"ring:2", nil, 2, 1},
		{" LINEAR:1 ", nil, 1, 0},
		{"fattree:4", nil, 20, 32},
		{"er:30:0.1", nil, 30, -1},
		{"er:30:0", nil, 30, 29},
		{"waxman:30:0.4:0.2", nil, 30, -1},
		{"", ErrSpec, 0, 0},
		{"mesh:4", ErrSpec, 0, 0},
		{"linear", ErrSpec, 0, 0},
		{"linear:0", ErrSpec, 0, 0},
		{"linear:x", ErrSpec, 0, 0},
		{"linear:4:5", ErrSpec, 0, 0},
		{"linear:999999999", ErrSpec, 0, 0},
		{"fattree:3", ErrSpec, 0, 0},
		{"fattree:0", ErrSpec, 0, 0},
		{"fattree:66", ErrSpec, 0, 0},
		{"er:10", ErrSpec, 0, 0},
		{"er:10:1.5", ErrSpec, 0, 0},
		{"er:10:NaN", ErrSpec, 0, 0},
		{"er:10:-0.1", ErrSpec, 0, 0},
		{"waxman:10:0.5", ErrSpec, 0, 0},
		{"waxman:10:2:0.5", ErrSpec, 0, 0},
		{"waxman:10:0.5:0", ErrSpec, 0, 0},
		{"waxman:10:0.5:-1", ErrSpec, 0, 0},
		{"waxman:10:0.5:Inf", ErrSpec, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			g, err := ParseSpec(tc.spec, seeded(9))
			require.ErrorIs(t, err, tc.err)
			if err != nil {
				return
			}
			if g.NumNodes() != tc.nodes || (tc.edges >= 0 && g.NumEdges() != tc.edges) {
				t.Errorf("%d nodes %d edges, want %d %d", g.NumNodes(), g.NumEdges(), tc.nodes, tc.edges)
			}
			if !g.Connected() {
				t.Error("not connected")
			}
		})
	}
}
