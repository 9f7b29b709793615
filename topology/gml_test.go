package topology

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readGML(t testing.TB, name string) *Graph {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	g, err := ParseGML(data)
	require.NoError(t, err, "ParseGML(%s)", name)
	return g
}

// TestParseGMLZoo reads the Topology Zoo files in testdata; the counts were taken by
// reading each file (edges counted once per unordered pair).
func TestParseGMLZoo(t *testing.T) {
	tests := []struct {
		file      string
		nodes     int
		edges     int
		connected bool
		node0     string
	}{
		{"Abilene.gml", 11, 14, true, "New York"},
		{"Heanet.gml", 7, 11, true, "Galway"},
		{"Arpanet196912.gml", 4, 4, true, "SRI"},
		{"Nsfcnet.gml", 10, 10, false, "Peking University"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			g := readGML(t, tc.file)
			assert.Equal(t, tc.nodes, g.NumNodes(), "nodes")
			assert.Equal(t, tc.edges, g.NumEdges(), "edges")
			assert.Equal(t, tc.connected, g.Connected(), "Connected")
			assert.Equal(t, tc.node0, g.Name(0), "Name(0)")
		})
	}
}

func TestParseGMLAbileneShape(t *testing.T) {
	g := readGML(t, "Abilene.gml")
	// Abilene: New York (0) - Chicago (1) and New York - Washington DC (2) are links.
	assert.True(t, g.HasEdge(0, 1), "New York - Chicago")
	assert.True(t, g.HasEdge(0, 2), "New York - Washington DC")
	hops := g.AllPairsHops()
	maxHops := 0
	for _, row := range hops {
		maxHops = max(maxHops, slices.Max(row))
	}
	assert.Equal(t, 5, maxHops, "Abilene diameter")
}

func TestParseGML(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		err   error
		names []string
		edges [][2]int
	}{
		{
			name:  "minimal",
			in:    `graph [ node [ id 0 label "a" ] node [ id 1 label "b" ] edge [ source 0 target 1 ] ]`,
			names: []string{"a", "b"},
			edges: [][2]int{{0, 1}},
		},
		{
			name: "multigraph, duplicates both ways, self loop, directed",
			in: `graph [ directed 1 multigraph 1
				node [ id 0 label "a" ] node [ id 1 label "b" ] node [ id 2 label "c" ]
				edge [ source 0 target 1 key 0 ] edge [ source 0 target 1 key 1 ]
				edge [ source 1 target 0 ] edge [ source 2 target 2 ] edge [ source 2 target 1 ] ]`,
			names: []string{"a", "b", "c"},
			edges: [][2]int{{0, 1}, {1, 2}},
		},
		{
			name:  "missing labels, sparse ids, comments, entities, nested lists",
			in:    "# comment\ngraph [\n node [ id 10 graphics [ x 1.5 y -2e3 ] ]\n node [ id 3 label \"AT&amp;T [x]\" ]\n edge [ source 3 target 10 LinkLabel \"< 10 Gbps\" ] ]\n",
			names: []string{"n10", "AT&T [x]"},
			edges: [][2]int{{0, 1}},
		},
		{
			name:  "integral real ids",
			in:    `graph [ node [ id 0.0 ] node [ id 1 ] edge [ source 1.0 target 0 ] ]`,
			names: []string{"n0", "n1"},
			edges: [][2]int{{0, 1}},
		},
		{name: "empty graph", in: `graph [ ]`, names: nil},
		{name: "empty input", in: ``, err: ErrGML},
		{name: "no graph", in: `Creator "x"`, err: ErrGML},
		{name: "graph not a list", in: `graph 3`, err: ErrGML},
		{name: "two graphs", in: `graph [ ] graph [ ]`, err: ErrGML},
		{name: "unclosed", in: `graph [ node [ id 0 ]`, err: ErrGML},
		{name: "stray bracket", in: `graph [ ] ]`, err: ErrGML},
		{name: "unterminated string", in: `graph [ node [ id 0 label "a ] ]`, err: ErrGML},
		{name: "missing value", in: `graph [ node`, err: ErrGML},
		{name: "bad number", in: `graph [ node [ id 1-2 ] ]`, err: ErrGML},
		{name: "bad key", in: `graph [ 7 node ]`, err: ErrGML},
		{name: "node without id", in: `graph [ node [ label "a" ] ]`, err: ErrGML},
		{name: "string id", in: `graph [ node [ id "0" ] ]`, err: ErrGML},
		{name: "fractional id", in: `graph [ node [ id 0.5 ] ]`, err: ErrGML},
		{name: "repeated id", in: `graph [ node [ id 0 ] node [ id 0 ] ]`, err: ErrGML},
		{name: "node not a list", in: `graph [ node 4 ]`, err: ErrGML},
		{name: "edge not a list", in: `graph [ edge "x" ]`, err: ErrGML},
		{name: "edge to unknown node", in: `graph [ node [ id 0 ] edge [ source 0 target 1 ] ]`, err: ErrGML},
		{name: "edge without target", in: `graph [ node [ id 0 ] edge [ source 0 ] ]`, err: ErrGML},
		{name: "too deep", in: "graph " + repeat("a [ ", 40) + repeat("] ", 40) + "]", err: ErrGML},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGML([]byte(tc.in))
			require.ErrorIs(t, err, tc.err)
			if err != nil {
				return
			}
			var names []string
			for i := 0; i < g.NumNodes(); i++ {
				names = append(names, g.Name(i))
			}
			assert.Equal(t, tc.names, names, "names")
			if got := g.Edges(); !slices.Equal(got, tc.edges) && !(len(got) == 0 && len(tc.edges) == 0) {
				t.Errorf("edges = %v, want %v", got, tc.edges)
			}
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

func TestFormatGMLRoundTrip(t *testing.T) {
	odd := NewGraph()
	for _, name := range []string{`quote "q"`, "amp & lt <", "", "[brackets]", "# not a comment", "日本"} {
		odd.AddNode(name)
	}
	_ = odd.AddEdge(0, 5)
	_ = odd.AddEdge(2, 3)
	tests := []struct {
		name string
		g    *Graph
	}{
		{"Abilene", readGML(t, "Abilene.gml")},
		{"Nsfcnet", readGML(t, "Nsfcnet.gml")},
		{"fat-tree", FatTree(4)},
		{"empty", NewGraph()},
		{"odd names", odd},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			back, err := ParseGML(FormatGML(tc.g))
			require.NoError(t, err)
			assertSameGraph(t, back, tc.g)
		})
	}
}

func assertSameGraph(t *testing.T, got, want *Graph) {
	t.Helper()
	if got.NumNodes() != want.NumNodes() || !slices.Equal(got.Edges(), want.Edges()) {
		t.Fatalf("got %d nodes %v, want %d nodes %v", got.NumNodes(), got.Edges(), want.NumNodes(), want.Edges())
	}
	for i := 0; i < want.NumNodes(); i++ {
		if got.Name(i) != want.Name(i) {
			t.Fatalf("node %d named %q, want %q", i, got.Name(i), want.Name(i))
		}
	}
}

// FuzzParseGML checks that ParseGML never panics, that what it accepts is a valid simple
// graph, and that it survives FormatGML and a second parse unchanged.
func FuzzParseGML(f *testing.F) {
	for _, name := range []string{"Abilene.gml", "Heanet.gml", "Arpanet196912.gml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(`graph [ node [ id 3 label "a&amp;b" ] node [ id 1 ] edge [ source 3 target 1 ] edge [ source 1 target 1 ] ]`))
	f.Add([]byte("# c\ngraph [ directed 1 node [ id -2 ] ]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := ParseGML(data)
		if err != nil {
			require.ErrorIs(t, err, ErrGML)
			return
		}
		for _, e := range g.Edges() {
			if e[0] >= e[1] || e[1] >= g.NumNodes() {
				t.Fatalf("bad edge %v in %d nodes", e, g.NumNodes())
			}
		}
		back, err := ParseGML(FormatGML(g))
		require.NoError(t, err, "FormatGML output does not parse")
		assertSameGraph(t, back, g)
	})
}

// TestParseGMLLargeStar reads a star of 5,000 edges (each listed twice) through the bulk
// edge insertion ParseGML uses.
func TestParseGMLLargeStar(t *testing.T) {
	const n = 5000
	var b []byte
	b = append(b, "graph [\n"...)
	for i := 0; i <= n; i++ {
		b = fmt.Appendf(b, "node [ id %d ]\n", i)
	}
	for i := 1; i <= n; i++ {
		b = fmt.Appendf(b, "edge [ source 0 target %d ] edge [ source %d target 0 ]\n", i, i)
	}
	b = append(b, "]\n"...)
	g, err := ParseGML(b)
	require.NoError(t, err)
	if g.NumEdges() != n || g.Degree(0) != n || !g.Connected() {
		t.Errorf("%d edges, hub degree %d", g.NumEdges(), g.Degree(0))
	}
}

// TestParseGMLCoordinates: Abilene's nodes carry Longitude and Latitude; New York
// (node 0) lies east and north of Los Angeles.
func TestParseGMLCoordinates(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "Abilene.gml"))
	require.NoError(t, err)
	g, err := ParseGML(data)
	require.NoError(t, err)
	idx := map[string]int{}
	for i := 0; i < g.NumNodes(); i++ {
		_, _, ok := g.Coord(i)
		require.True(t, ok, "node %d (%s) has coordinates", i, g.Name(i))
		idx[g.Name(i)] = i
	}
	nx, ny, _ := g.Coord(idx["New York"])
	lx, ly, _ := g.Coord(idx["Los Angeles"])
	require.Greater(t, nx, lx)
	require.Greater(t, ny, ly)
	require.InDelta(t, -73.99, nx, 0.5)

	// A node without both coordinates has none; clones keep them.
	g2, err := ParseGML([]byte(`graph [ node [ id 0 Longitude 1.5 ] node [ id 1 Longitude 2 Latitude 3 ] ]`))
	require.NoError(t, err)
	_, _, ok := g2.Coord(0)
	require.False(t, ok)
	x, y, ok := g2.Clone().Coord(1)
	require.True(t, ok)
	require.Equal(t, [2]float64{2, 3}, [2]float64{x, y})
}
