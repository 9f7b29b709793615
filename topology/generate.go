package topology

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// ErrSpec reports a topology specification ParseSpec cannot build.
var ErrSpec = errors.New("topology: bad topology spec")

// MaxSpecNodes bounds the switch count ParseSpec accepts (the generators are quadratic).
const MaxSpecNodes = 20000

// MaxFatTreeK bounds the fat-tree arity ParseSpec accepts (k=64 is 5,120 switches).
const MaxFatTreeK = 64

// switchName is the Mininet-style name of switch i (0-based): s1, s2, ...
func switchName(i int) string { return "s" + strconv.Itoa(i+1) }

func addSwitches(g *Graph, n int) {
	for i := 0; i < n; i++ {
		g.AddNode(switchName(i))
	}
}

// Linear returns the line s1 - s2 - ... - sN; empty when n <= 0.
func Linear(n int) *Graph {
	g := NewGraph()
	addSwitches(g, n)
	for i := 1; i < n; i++ {
		_ = g.AddEdge(i-1, i) // valid by construction
	}
	return g
}

// Ring returns the cycle s1 - ... - sN - s1; for n < 3 it is Linear(n).
func Ring(n int) *Graph {
	g := Linear(n)
	if n >= 3 {
		_ = g.AddEdge(n-1, 0)
	}
	return g
}

// ErdosRenyi returns a G(n, p) random graph on switches s1..sN: each of the n(n-1)/2
// pairs is an edge with probability p, drawn from rng in the order (0,1), (0,2), ...,
// (1,2), .... The result is then made connected: the components, ordered by their
// smallest node, are chained by one edge each between a node drawn uniformly from the
// component and one drawn from all nodes before it. p is clamped to [0, 1] (NaN counts
// as 0); n <= 0 gives an empty graph; a nil rng uses a fixed seed.
func ErdosRenyi(n int, p float64, rng *rand.Rand) *Graph {
	rng = orDefault(rng)
	p = clamp01(p)
	g := NewGraph()
	addSwitches(g, n)
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			if rng.Float64() < p {
				_ = g.AddEdge(a, b)
			}
		}
	}
	connect(g, rng)
	return g
}

// Waxman returns a Waxman random graph on switches s1..sN: the nodes are placed uniformly
// in the unit square (x then y drawn from rng for each node in turn) and each pair u < v
// is an edge with probability alpha·exp(-d(u,v)/(beta·L)), where d is the Euclidean
// distance and L the largest distance between any two of the placed nodes. The result is
// made connected as ErdosRenyi's is. alpha is clamped to [0, 1]; beta <= 0 (or NaN)
// gives no random edges; n <= 0 gives an empty graph; a nil rng uses a fixed seed.
func Waxman(n int, alpha, beta float64, rng *rand.Rand) *Graph {
	rng = orDefault(rng)
	alpha = clamp01(alpha)
	g := NewGraph()
	addSwitches(g, n)
	if n <= 0 {
		return g
	}
	xs := make([]float64, n)
	ys := make([]float64, n)
	for i := range xs {
		xs[i] = rng.Float64()
		ys[i] = rng.Float64()
	}
	var maxD float64
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			maxD = math.Max(maxD, math.Hypot(xs[a]-xs[b], ys[a]-ys[b]))
		}
	}
	if beta > 0 && maxD > 0 {
		scale := beta * maxD
		for a := 0; a < n; a++ {
			for b := a + 1; b < n; b++ {
				d := math.Hypot(xs[a]-xs[b], ys[a]-ys[b])
				if rng.Float64() < alpha*math.Exp(-d/scale) {
					_ = g.AddEdge(a, b)
				}
			}
		}
	}
	connect(g, rng)
	return g
}

// connect chains the components of g so the graph becomes connected.
func connect(g *Graph, rng *rand.Rand) {
	comps := g.Components()
	if len(comps) <= 1 {
		return
	}
	// Nodes of the components already chained, in chaining order.
	done := append([]int(nil), comps[0]...)
	for _, c := range comps[1:] {
		a := c[rng.IntN(len(c))]
		b := done[rng.IntN(len(done))]
		_ = g.AddEdge(a, b) // distinct components, so never a self loop
		done = append(done, c...)
	}
}

func clamp01(p float64) float64 {
	switch {
	case !(p > 0): // also NaN
		return 0
	case p > 1:
		return 1
	}
	return p
}

func orDefault(rng *rand.Rand) *rand.Rand {
	if rng == nil {
		return rand.New(rand.NewPCG(1, 2))
	}
	return rng
}

// FatTree returns the switches of a k-ary fat-tree (Al-Fares et al., SIGCOMM 2008):
// (k/2)² core switches core1.., then k²/2 aggregation switches agg1.., then k²/2 edge
// switches edge1.. (node indices in that order). Pod p (0-based) holds aggregation
// switches agg(p·k/2+1)..agg((p+1)·k/2) and edge switches likewise numbered; every edge
// switch links to every aggregation switch of its pod, and the pod's i-th aggregation
// switch (0-based) links to core switches core(i·k/2+1)..core((i+1)·k/2). Hosts are not
// included. k must be even and at least 2; otherwise the graph is empty.
func FatTree(k int) *Graph {
	g := NewGraph()
	if k < 2 || k%2 != 0 {
		return g
	}
	h := k / 2
	nCore, nPod := h*h, k*h
	for i := 0; i < nCore; i++ {
		g.AddNode("core" + strconv.Itoa(i+1))
	}
	for i := 0; i < nPod; i++ {
		g.AddNode("agg" + strconv.Itoa(i+1))
	}
	for i := 0; i < nPod; i++ {
		g.AddNode("edge" + strconv.Itoa(i+1))
	}
	agg := func(pod, i int) int { return nCore + pod*h + i }
	edge := func(pod, i int) int { return nCore + nPod + pod*h + i }
	for pod := 0; pod < k; pod++ {
		for i := 0; i < h; i++ {
			for j := 0; j < h; j++ {
				_ = g.AddEdge(edge(pod, i), agg(pod, j))
				_ = g.AddEdge(agg(pod, i), i*h+j)
			}
		}
	}
	return g
}

// ParseSpec builds a graph from a short specification:
//
//	er:N:P          ErdosRenyi(N, P, rng)
//	waxman:N:A:B    Waxman(N, A, B, rng)
//	fattree:K       FatTree(K)
//	linear:N        Linear(N)
//	ring:N          Ring(N)
//
// N must be in 1..MaxSpecNodes, P and A in [0, 1], B > 0, K even in 2..MaxFatTreeK.
// Errors wrap ErrSpec and name the bad field. rng is used only by er and waxman; nil
// means a fixed seed.
func ParseSpec(spec string, rng *rand.Rand) (*Graph, error) {
	parts := strings.Split(strings.TrimSpace(spec), ":")
	kind := strings.ToLower(parts[0])
	want := map[string]int{"er": 3, "waxman": 4, "fattree": 2, "linear": 2, "ring": 2}
	n, known := want[kind]
	if !known {
		return nil, fmt.Errorf("%w: %q: unknown kind %q (want er, waxman, fattree, linear or ring)", ErrSpec, spec, parts[0])
	}
	if len(parts) != n {
		return nil, fmt.Errorf("%w: %q: %s takes %d fields separated by ':'", ErrSpec, spec, kind, n-1)
	}
	if kind == "fattree" {
		k, err := strconv.Atoi(parts[1])
		if err != nil || k < 2 || k > MaxFatTreeK || k%2 != 0 {
			return nil, fmt.Errorf("%w: %q: K must be an even integer in 2..%d", ErrSpec, spec, MaxFatTreeK)
		}
		return FatTree(k), nil
	}
	nodes, err := strconv.Atoi(parts[1])
	if err != nil || nodes < 1 || nodes > MaxSpecNodes {
		return nil, fmt.Errorf("%w: %q: N must be an integer in 1..%d", ErrSpec, spec, MaxSpecNodes)
	}
	switch kind {
	case "linear":
		return Linear(nodes), nil
	case "ring":
		return Ring(nodes), nil
	case "er":
		p, err := strconv.ParseFloat(parts[2], 64)
		if err != nil || !(p >= 0 && p <= 1) {
			return nil, fmt.Errorf("%w: %q: P must be a number in [0, 1]", ErrSpec, spec)
		}
		return ErdosRenyi(nodes, p, rng), nil
	default: // waxman
		a, err := strconv.ParseFloat(parts[2], 64)
		if err != nil || !(a >= 0 && a <= 1) {
			return nil, fmt.Errorf("%w: %q: A (alpha) must be a number in [0, 1]", ErrSpec, spec)
		}
		b, err := strconv.ParseFloat(parts[3], 64)
		if err != nil || !(b > 0) || math.IsInf(b, 0) {
			return nil, fmt.Errorf("%w: %q: B (beta) must be a positive number", ErrSpec, spec)
		}
		return Waxman(nodes, a, b, rng), nil
	}
}
