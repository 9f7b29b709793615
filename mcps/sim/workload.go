package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/topology"
)

// ErrWorkload reports a workload that cannot be built (bad sizes, unreachable pairs).
var ErrWorkload = errors.New("sim: bad workload")

// Router gives shortest paths on a graph: the path from src is the one the BFS tree
// rooted at src holds, the same path topology.Graph.ShortestPath returns. Trees are
// built on first use, one per source.
type Router struct {
	g      *topology.Graph
	parent [][]int32
	dist   [][]int32
}

// NewRouter returns a router on g.
func NewRouter(g *topology.Graph) *Router {
	n := g.NumNodes()
	return &Router{g: g, parent: make([][]int32, n), dist: make([][]int32, n)}
}

func (r *Router) tree(src int) {
	if r.parent[src] != nil {
		return
	}
	dist, parent := r.g.BFS(src)
	p := make([]int32, len(parent))
	d := make([]int32, len(dist))
	for i := range parent {
		p[i], d[i] = int32(parent[i]), int32(dist[i])
	}
	r.parent[src], r.dist[src] = p, d
}

// Hops is the number of links between a and b, or -1 when b is unreachable.
func (r *Router) Hops(a, b int) int {
	r.tree(a)
	return int(r.dist[a][b])
}

// Path appends the switches from src to dst (both included) to buf[:0]; nil when dst
// is unreachable.
func (r *Router) Path(src, dst int, buf []int32) []int32 {
	r.tree(src)
	d := r.dist[src][dst]
	if d < 0 {
		return nil
	}
	n := int(d) + 1
	if cap(buf) < n {
		buf = make([]int32, n)
	}
	buf = buf[:n]
	v := int32(dst)
	for i := n - 1; i >= 0; i-- {
		buf[i] = v
		v = r.parent[src][v]
	}
	return buf
}

// MaxSwitches bounds the graphs workloads are generated on: routing keeps one BFS tree
// per source switch.
const MaxSwitches = 5000

// PlaceControllers picks k switches for controllers that minimise the total hops from
// every switch to its nearest controller: the best single switch first, then greedily
// the switch that lowers the total most (ties to the lower index). It is exact for k=1.
// It runs one BFS per switch and round, in memory linear in the graph.
func PlaceControllers(g *topology.Graph, k int) ([]int, error) {
	n := g.NumNodes()
	if k < 1 || k > n {
		return nil, fmt.Errorf("%w: %d controllers on %d switches", ErrWorkload, k, n)
	}
	if n > MaxSwitches {
		return nil, fmt.Errorf("%w: %d switches, at most %d", ErrWorkload, n, MaxSwitches)
	}
	near := make([]int, n)
	for i := range near {
		near[i] = 1 << 30
	}
	var chosen []int
	taken := make([]bool, n)
	for len(chosen) < k {
		best, bestTotal := -1, int64(1)<<62
		for c := 0; c < n; c++ {
			if taken[c] {
				continue
			}
			var total int64
			dist, _ := g.BFS(c)
			for s := 0; s < n; s++ {
				d := dist[s]
				if d < 0 {
					d = 1 << 20 // unreachable: heavily penalised
				}
				total += int64(min(near[s], d))
			}
			if total < bestTotal {
				best, bestTotal = c, total
			}
		}
		taken[best] = true
		chosen = append(chosen, best)
		dist, _ := g.BFS(best)
		for s := 0; s < n; s++ {
			if d := dist[s]; d >= 0 {
				near[s] = min(near[s], d)
			}
		}
	}
	return chosen, nil
}

// ControllerHops returns Hops[k][s] = links from s to controller k's switch plus one (a
// controller is attached to its switch by one link), as mcps.Network wants.
func ControllerHops(r *Router, ctrls []int) ([][]int32, error) {
	n := r.g.NumNodes()
	out := make([][]int32, len(ctrls))
	for k, c := range ctrls {
		if c < 0 || c >= n {
			return nil, fmt.Errorf("%w: controller switch %d out of range", ErrWorkload, c)
		}
		row := make([]int32, n)
		for s := 0; s < n; s++ {
			d := r.Hops(c, s)
			if d < 0 {
				return nil, fmt.Errorf("%w: switch %s cannot reach controller %d at %s", ErrWorkload, r.g.Name(s), k, r.g.Name(c))
			}
			row[s] = int32(d + 1)
		}
		out[k] = row
	}
	return out, nil
}

// Network builds the mcps network for g with controllers at the given switches (for
// out-of-band the hops only pick which controller polls a switch).
func Network(r *Router, dep mcps.Deployment, ctrls []int) (mcps.Network, error) {
	net := mcps.Network{Switches: r.g.NumNodes(), Deployment: dep}
	if len(ctrls) > 0 {
		h, err := ControllerHops(r, ctrls)
		if err != nil {
			return net, err
		}
		net.Hops = h
	}
	return net, net.Validate()
}

// Pair is one flow's source and destination switch.
type Pair struct{ Src, Dst int32 }

// RandomPairs draws n flows between uniformly random pairs of distinct switches (one
// host on every switch), redrawing pairs that cannot reach each other.
func RandomPairs(r *Router, n int, rng *rand.Rand) ([]Pair, error) {
	ns := r.g.NumNodes()
	if ns < 2 || ns > MaxSwitches {
		return nil, fmt.Errorf("%w: need 2 to %d switches, have %d", ErrWorkload, MaxSwitches, ns)
	}
	if n < 0 {
		return nil, fmt.Errorf("%w: %d flows", ErrWorkload, n)
	}
	out := make([]Pair, 0, n)
	for len(out) < n {
		ok := false
		for try := 0; try < 100; try++ {
			a := rng.IntN(ns)
			b := rng.IntN(ns - 1)
			if b >= a {
				b++
			}
			if r.Hops(a, b) >= 0 {
				out = append(out, Pair{int32(a), int32(b)})
				ok = true
				break
			}
		}
		if !ok {
			return nil, fmt.Errorf("%w: no reachable pair in 100 draws (graph too fragmented)", ErrWorkload)
		}
	}
	return out, nil
}

// Instance adds the flows of pairs, routed by r, to a new instance on net.
func Instance(net mcps.Network, r *Router, pairs []Pair) (*mcps.Instance, error) {
	in, err := mcps.NewInstance(net)
	if err != nil {
		return nil, err
	}
	in.Grow(len(pairs), 6)
	var buf []int32
	for _, p := range pairs {
		buf = r.Path(int(p.Src), int(p.Dst), buf)
		if buf == nil {
			return nil, fmt.Errorf("%w: %d cannot reach %d", ErrWorkload, p.Src, p.Dst)
		}
		if _, err := in.AddFlow(buf); err != nil {
			return nil, err
		}
	}
	return in, nil
}
