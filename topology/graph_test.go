package topology

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func build(t testing.TB, n int, edges [][2]int) *Graph {
	t.Helper()
	g := NewGraph()
	addSwitches(g, n)
	for _, e := range edges {
		if err := g.AddEdge(e[0], e[1]); err != nil {
			t.Fatalf("AddEdge(%d, %d): %v", e[0], e[1], err)
		}
	}
	return g
}

func TestAddEdge(t *testing.T) {
	tests := []struct {
		name      string
		a, b      int
		err       error
		wantEdges int
	}{
		{"new edge", 0, 1, nil, 2},
		{"duplicate", 1, 2, nil, 1},
		{"duplicate reversed", 2, 1, nil, 1},
		{"self loop", 2, 2, ErrSelfLoop, 1},
		{"negative", -1, 2, ErrNodeRange, 1},
		{"too large", 0, 3, ErrNodeRange, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := build(t, 3, [][2]int{{1, 2}})
			err := g.AddEdge(tc.a, tc.b)
			require.ErrorIs(t, err, tc.err)
			assert.Equal(t, tc.wantEdges, g.NumEdges(), "NumEdges")
			assert.Len(t, g.Edges(), g.NumEdges(), "Edges()")
		})
	}
}

func TestNeighborsAndEdgesSorted(t *testing.T) {
	g := build(t, 5, [][2]int{{4, 0}, {2, 0}, {0, 3}, {1, 0}, {3, 4}})
	assert.Equal(t, []int{1, 2, 3, 4}, g.Neighbors(0))
	nb := g.Neighbors(0)
	nb[0] = 99 // the caller owns the slice
	assert.Equal(t, 1, g.Neighbors(0)[0], "Neighbors returned the internal slice")
	assert.Equal(t, [][2]int{{0, 1}, {0, 2}, {0, 3}, {0, 4}, {3, 4}}, g.Edges())
	assert.Nil(t, g.Neighbors(7), "out of range")
	assert.Empty(t, g.Name(7), "out of range")
	assert.Empty(t, g.Name(-1), "out of range")
	assert.Zero(t, g.Degree(9), "out of range")
	assert.True(t, g.HasEdge(4, 3))
	assert.False(t, g.HasEdge(1, 2))
	assert.False(t, g.HasEdge(0, 9))
}

func TestShortestPath(t *testing.T) {
	// 0-1-3, 0-2-3 (tie: via 1, the lower neighbour), 3-4, 5 isolated.
	g := build(t, 6, [][2]int{{0, 2}, {2, 3}, {0, 1}, {1, 3}, {3, 4}})
	tests := []struct {
		name     string
		src, dst int
		want     []int
	}{
		{"tie broken by lower node", 0, 3, []int{0, 1, 3}},
		{"reverse", 4, 0, []int{4, 3, 1, 0}},
		{"self", 2, 2, []int{2}},
		{"neighbour", 3, 4, []int{3, 4}},
		{"unreachable", 0, 5, nil},
		{"bad src", -1, 0, nil},
		{"bad dst", 0, 6, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := g.ShortestPath(tc.src, tc.dst); !slices.Equal(got, tc.want) {
				t.Errorf("ShortestPath(%d, %d) = %v, want %v", tc.src, tc.dst, got, tc.want)
			}
		})
	}
	if g.Connected() {
		t.Error("graph with an isolated node reported connected")
	}
	if d, p := g.BFS(6); d != nil || p != nil {
		t.Error("BFS from bad node should be nil")
	}
}

func TestConnectedSmall(t *testing.T) {
	tests := []struct {
		name string
		g    *Graph
		want bool
	}{
		{"empty", NewGraph(), true},
		{"one node", Linear(1), true},
		{"two apart", build(t, 2, nil), false},
		{"line", Linear(5), true},
		{"ring", Ring(6), true},
	}
	for _, tc := range tests {
		if got := tc.g.Connected(); got != tc.want {
			t.Errorf("%s: Connected = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// naiveHops is a Floyd–Warshall reference for AllPairsHops.
func naiveHops(g *Graph) [][]int {
	n := g.NumNodes()
	const inf = 1 << 30
	d := make([][]int, n)
	for i := range d {
		d[i] = make([]int, n)
		for j := range d[i] {
			if i != j {
				d[i][j] = inf
			}
		}
	}
	for _, e := range g.Edges() {
		d[e[0]][e[1]], d[e[1]][e[0]] = 1, 1
	}
	for k := 0; k < n; k++ {
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if d[i][k]+d[k][j] < d[i][j] {
					d[i][j] = d[i][k] + d[k][j]
				}
			}
		}
	}
	for i := range d {
		for j := range d[i] {
			if d[i][j] >= inf {
				d[i][j] = -1
			}
		}
	}
	return d
}

// TestAllPairsHopsAgainstReference checks BFS hop counts and paths on random graphs
// (not made connected) against Floyd–Warshall.
func TestAllPairsHopsAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 60; trial++ {
		n := 1 + rng.IntN(25)
		g := NewGraph()
		addSwitches(g, n)
		p := rng.Float64() * 0.3
		for a := 0; a < n; a++ {
			for b := a + 1; b < n; b++ {
				if rng.Float64() < p {
					_ = g.AddEdge(a, b)
				}
			}
		}
		got, want := g.AllPairsHops(), naiveHops(g)
		connected := true
		for s := 0; s < n; s++ {
			if !slices.Equal(got[s], want[s]) {
				t.Fatalf("trial %d row %d: got %v want %v", trial, s, got[s], want[s])
			}
			for d := 0; d < n; d++ {
				if want[s][d] < 0 {
					connected = false
				}
				path := g.ShortestPath(s, d)
				if want[s][d] < 0 {
					if path != nil {
						t.Fatalf("path %d->%d exists but unreachable", s, d)
					}
					continue
				}
				if len(path) != want[s][d]+1 || path[0] != s || path[len(path)-1] != d {
					t.Fatalf("path %d->%d = %v, want %d hops", s, d, path, want[s][d])
				}
				for i := 1; i < len(path); i++ {
					if !g.HasEdge(path[i-1], path[i]) {
						t.Fatalf("path %v uses a missing edge", path)
					}
				}
			}
		}
		if g.Connected() != connected {
			t.Fatalf("trial %d: Connected = %v, want %v", trial, g.Connected(), connected)
		}
	}
}

func TestCloneIndependent(t *testing.T) {
	g := Linear(3)
	c := g.Clone()
	_ = c.AddEdge(0, 2)
	if g.HasEdge(0, 2) || g.NumEdges() != 2 || c.NumEdges() != 3 {
		t.Error("Clone shares state with the original")
	}
}

func TestComponents(t *testing.T) {
	g := build(t, 6, [][2]int{{5, 1}, {2, 3}})
	want := [][]int{{0}, {1, 5}, {2, 3}, {4}}
	got := g.Components()
	if len(got) != len(want) {
		t.Fatalf("Components = %v, want %v", got, want)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("Components = %v, want %v", got, want)
		}
	}
}
