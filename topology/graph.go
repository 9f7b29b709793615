package topology

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Errors returned by Graph methods.
var (
	// ErrNodeRange reports a node index outside 0..NumNodes()-1.
	ErrNodeRange = errors.New("topology: node index out of range")
	// ErrSelfLoop reports an edge from a node to itself.
	ErrSelfLoop = errors.New("topology: self loop")
)

// Graph is an undirected simple graph whose nodes are numbered 0..n-1 in the order they
// were added, each with a name. Parallel edges collapse into one and self loops are
// refused, so the graph is always simple. The zero value is an empty graph ready to use.
//
// A Graph is not safe for concurrent mutation; concurrent readers are fine once it is
// built.
type Graph struct {
	names  []string
	adj    [][]int // adj[i] is sorted ascending, without duplicates
	edges  int
	coords map[int][2]float64 // optional node coordinates (longitude, latitude)
}

// NewGraph returns an empty graph.
func NewGraph() *Graph { return &Graph{} }

// AddNode adds a node with the given name and returns its index.
func (g *Graph) AddNode(name string) int {
	g.names = append(g.names, name)
	g.adj = append(g.adj, nil)
	return len(g.names) - 1
}

// AddEdge adds the undirected edge {a, b}. An edge that already exists is ignored (no
// error). It fails with ErrNodeRange or ErrSelfLoop.
func (g *Graph) AddEdge(a, b int) error {
	if !g.valid(a) || !g.valid(b) {
		return fmt.Errorf("%w: edge %d-%d with %d nodes", ErrNodeRange, a, b, len(g.names))
	}
	if a == b {
		return fmt.Errorf("%w: node %d", ErrSelfLoop, a)
	}
	if !insertSorted(&g.adj[a], b) {
		return nil
	}
	insertSorted(&g.adj[b], a)
	g.edges++
	return nil
}

// addEdges adds many valid edges (distinct in-range ends) at once in O(m log m), where
// AddEdge one by one is quadratic on a high-degree node.
func (g *Graph) addEdges(pairs [][2]int) {
	for _, e := range pairs {
		g.adj[e[0]] = append(g.adj[e[0]], e[1])
		g.adj[e[1]] = append(g.adj[e[1]], e[0])
	}
	total := 0
	for i := range g.adj {
		slices.Sort(g.adj[i])
		g.adj[i] = slices.Compact(g.adj[i])
		total += len(g.adj[i])
	}
	g.edges = total / 2
}

// insertSorted inserts v into the sorted slice *s and reports whether it was absent.
func insertSorted(s *[]int, v int) bool {
	i, found := slices.BinarySearch(*s, v)
	if found {
		return false
	}
	*s = slices.Insert(*s, i, v)
	return true
}

// HasEdge reports whether the edge {a, b} exists; out-of-range nodes have no edges.
func (g *Graph) HasEdge(a, b int) bool {
	if !g.valid(a) || !g.valid(b) {
		return false
	}
	_, found := slices.BinarySearch(g.adj[a], b)
	return found
}

func (g *Graph) valid(i int) bool { return i >= 0 && i < len(g.names) }

// NumNodes returns the number of nodes.
func (g *Graph) NumNodes() int { return len(g.names) }

// NumEdges returns the number of distinct undirected edges.
func (g *Graph) NumEdges() int { return g.edges }

// Name returns node i's name, or "" when i is out of range.
func (g *Graph) Name(i int) string {
	if !g.valid(i) {
		return ""
	}
	return g.names[i]
}

// Degree returns the number of neighbours of node i (0 when out of range).
func (g *Graph) Degree(i int) int {
	if !g.valid(i) {
		return 0
	}
	return len(g.adj[i])
}

// Neighbors returns node i's neighbours in ascending order, as a fresh slice the caller
// owns; nil when i is out of range or isolated.
func (g *Graph) Neighbors(i int) []int {
	if !g.valid(i) || len(g.adj[i]) == 0 {
		return nil
	}
	return slices.Clone(g.adj[i])
}

// Edges returns every edge once as {a, b} with a < b, sorted by a then b.
func (g *Graph) Edges() [][2]int {
	out := make([][2]int, 0, g.edges)
	for a, nb := range g.adj {
		for _, b := range nb {
			if a < b {
				out = append(out, [2]int{a, b})
			}
		}
	}
	return out
}

// Clone returns a deep copy of g.
func (g *Graph) Clone() *Graph {
	c := &Graph{names: slices.Clone(g.names), adj: make([][]int, len(g.adj)), edges: g.edges, coords: maps.Clone(g.coords)}
	for i, nb := range g.adj {
		c.adj[i] = slices.Clone(nb)
	}
	return c
}

// SetCoord gives node i a position: x is the longitude and y the latitude for a
// Topology Zoo network. It fails with ErrNodeRange.
func (g *Graph) SetCoord(i int, x, y float64) error {
	if !g.valid(i) {
		return fmt.Errorf("%w: node %d of %d", ErrNodeRange, i, len(g.names))
	}
	if g.coords == nil {
		g.coords = map[int][2]float64{}
	}
	g.coords[i] = [2]float64{x, y}
	return nil
}

// Coord returns node i's position, if it has one.
func (g *Graph) Coord(i int) (x, y float64, ok bool) {
	c, ok := g.coords[i]
	return c[0], c[1], ok
}

// Connected reports whether every node can reach every other. Graphs with zero or one
// node are connected.
func (g *Graph) Connected() bool {
	if len(g.names) <= 1 {
		return true
	}
	dist, _ := g.BFS(0)
	for _, d := range dist {
		if d < 0 {
			return false
		}
	}
	return true
}

// Components returns the connected components, each sorted ascending, ordered by their
// smallest node.
func (g *Graph) Components() [][]int {
	n := len(g.names)
	seen := make([]bool, n)
	var comps [][]int
	queue := make([]int, 0, n)
	for s := 0; s < n; s++ {
		if seen[s] {
			continue
		}
		seen[s] = true
		queue = append(queue[:0], s)
		for h := 0; h < len(queue); h++ {
			for _, v := range g.adj[queue[h]] {
				if !seen[v] {
					seen[v] = true
					queue = append(queue, v)
				}
			}
		}
		comp := slices.Clone(queue)
		slices.Sort(comp)
		comps = append(comps, comp)
	}
	return comps
}

// BFS runs a breadth-first search from src. dist[v] is the hop count from src to v, or -1
// when v is unreachable; parent[v] is v's predecessor on the shortest path that visits
// lower-numbered nodes first (neighbours are expanded in ascending order), -1 for src and
// unreachable nodes. Both are nil when src is out of range.
func (g *Graph) BFS(src int) (dist, parent []int) {
	if !g.valid(src) {
		return nil, nil
	}
	n := len(g.names)
	dist = make([]int, n)
	parent = make([]int, n)
	for i := range dist {
		dist[i] = -1
		parent[i] = -1
	}
	queue := make([]int, 1, n)
	queue[0] = src
	dist[src] = 0
	for h := 0; h < len(queue); h++ {
		u := queue[h]
		for _, v := range g.adj[u] {
			if dist[v] < 0 {
				dist[v] = dist[u] + 1
				parent[v] = u
				queue = append(queue, v)
			}
		}
	}
	return dist, parent
}

// ShortestPath returns a minimum-hop path from src to dst as the list of nodes src..dst.
// Among equal-length paths it returns the one BFS from src finds (see BFS), so the result
// is deterministic. It returns []int{src} when src == dst and nil when either node is out
// of range or dst is unreachable.
func (g *Graph) ShortestPath(src, dst int) []int {
	if !g.valid(src) || !g.valid(dst) {
		return nil
	}
	dist, parent := g.BFS(src)
	if dist[dst] < 0 {
		return nil
	}
	path := make([]int, dist[dst]+1)
	for i, v := len(path)-1, dst; i >= 0; i, v = i-1, parent[v] {
		path[i] = v
	}
	return path
}

// AllPairsHops returns the hop-count matrix: h[s][t] is the number of hops from s to t,
// -1 when unreachable, 0 on the diagonal. It runs one BFS per node, O(n·(n+m)), and
// stores the matrix in one backing array.
func (g *Graph) AllPairsHops() [][]int {
	n := len(g.names)
	backing := make([]int, n*n)
	out := make([][]int, n)
	queue := make([]int, 0, n)
	for s := 0; s < n; s++ {
		row := backing[s*n : (s+1)*n : (s+1)*n]
		for i := range row {
			row[i] = -1
		}
		row[s] = 0
		queue = append(queue[:0], s)
		for h := 0; h < len(queue); h++ {
			u := queue[h]
			for _, v := range g.adj[u] {
				if row[v] < 0 {
					row[v] = row[u] + 1
					queue = append(queue, v)
				}
			}
		}
		out[s] = row
	}
	return out
}
