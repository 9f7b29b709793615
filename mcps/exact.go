package mcps

import (
	"math"
	"slices"
	"sort"
)

// elements groups flows that cross the same set of switches: they are indistinguishable
// to the covering program (same sets, same poll-single cost). A network of S switches
// with shortest-path routing has at most S·(S−1) of them however many flows it carries,
// which is what makes the exact solver fast on small networks.
type elements struct {
	start []int32
	nodes []int32
	n     []int64 // flows
	c1    []int64 // per-flow poll-single cost
	w     []int64 // n·c1
	of    [][]int32
}

func (p *prepared) elements() *elements {
	if p.elems != nil {
		return p.elems
	}
	e := &elements{start: []int32{0}}
	p.elems = e
	// Open addressing on a 64-bit hash of the sorted switch list; a hit is confirmed by
	// comparing the lists, so collisions cost time, never correctness.
	index := make(map[uint64]int32, min(p.nf, 1<<16))
	var sorted []int32
	for f := int32(0); int(f) < p.nf; f++ {
		sorted = append(sorted[:0], p.path(f)...)
		slices.Sort(sorted)
		h := uint64(len(sorted)) * 0x9e3779b97f4a7c15
		for _, s := range sorted {
			h = (h ^ uint64(s)) * 0xbf58476d1ce4e5b9
			h ^= h >> 31
		}
		for {
			i, ok := index[h]
			if !ok {
				i = int32(len(e.n))
				index[h] = i
				e.nodes = append(e.nodes, sorted...)
				e.start = append(e.start, int32(len(e.nodes)))
				e.n = append(e.n, 1)
				e.c1 = append(e.c1, p.cOne[f])
				break
			}
			if slices.Equal(e.sw(i), sorted) {
				e.n[i]++
				break
			}
			h++
		}
	}
	e.w = make([]int64, len(e.n))
	for i := range e.n {
		e.w[i] = e.n[i] * e.c1[i]
	}
	return e
}

// index fills of: the elements of each switch.
func (e *elements) index(ns int) {
	e.of = make([][]int32, ns)
	for i := range e.n {
		for _, s := range e.sw(int32(i)) {
			e.of[s] = append(e.of[s], int32(i))
		}
	}
}

func (e *elements) sw(i int32) []int32 { return e.nodes[e.start[i]:e.start[i+1]] }

// bnb is the state of the exact solver's depth-first branch and bound over the poll-all
// decision of each switch. Once those decisions are fixed the rest of the scheme is
// determined (every uncovered flow takes its cheapest poll-single), so the search space
// is the switches only; each node is bounded by the Lagrangian relaxation of the
// remaining covering problem, warm-started from its parent's multipliers.
type bnb struct {
	p      *prepared
	e      *elements
	order  []int32 // switches to decide, in branching order
	status []int8  // per switch: 0 free, 1 polled, -1 not polled
	cov    []int32 // per element: polled switches covering it
	costIn int64

	best    int64
	bestSet []bool
	openLB  float64 // smallest bound among subtrees left unexplored
	nodes   int64
	limit   int64
	work    int64 // path entries visited by bounding
	wlimit  int64
	aborted bool

	pis   [][]float64 // multipliers per depth
	saved []float64
	U     []float64
	g     []float64
	trial []bool
}

const (
	statusFree int8 = 0
	statusIn   int8 = 1
	statusOut  int8 = -1
)

// exact solves the covering program to optimality within the node budget. Its first
// incumbent is the best of mcps, no poll-all at all and poll-all on every loaded switch,
// so it is never worse than any other strategy even when the budget runs out; then it
// returns the best scheme found with a proven lower bound.
func (p *prepared) exact(opt Options) *Solution {
	if p.nf == 0 {
		return &Solution{}
	}
	// Incumbents.
	m := p.mcps()
	bestSet := make([]bool, p.ns)
	for _, r := range m.PollAll {
		bestSet[r.Switch] = true
	}
	best := m.Cost
	none := make([]bool, p.ns)
	if c := p.setCost(none); c < best {
		best, bestSet = c, none
	}
	loaded := make([]bool, p.ns)
	for s := range loaded {
		loaded[s] = p.fsStart[s+1] > p.fsStart[s]
	}
	if c := p.setCost(loaded); c < best {
		best, bestSet = c, loaded
	}
	bestSet, _, lb, nodes := p.branchAndBound(bestSet, best, opt.nodeLimit(), opt.workLimit())
	sol := &Solution{Nodes: nodes}
	p.schemeFromSet(bestSet, sol)
	sol.LowerBound = min(lb, sol.Cost)
	return sol
}

// certify spends a small branch-and-bound budget on a scheme's certificate: it returns
// a proven lower bound on the optimum (the scheme itself is not changed). Used for
// small networks, where it usually proves the mcps scheme optimal in milliseconds.
func (p *prepared) certify(sol *Solution) int64 {
	inA := make([]bool, p.ns)
	for _, r := range sol.PollAll {
		inA[r.Switch] = true
	}
	_, _, lb, _ := p.branchAndBound(inA, p.setCost(inA), 5_000, 8_000_000)
	return lb
}

// branchAndBound searches for a cheaper set of poll-all switches than start (of cost
// startCost) within the budgets and returns the best set found, its cost, a proven
// lower bound on the optimum and the nodes explored.
func (p *prepared) branchAndBound(start []bool, startCost int64, nodeLimit, workLimit int64) (best []bool, cost, lb, nodes int64) {
	e := p.elements()
	if e.of == nil {
		e.index(p.ns)
	}
	b := &bnb{p: p, e: e, status: make([]int8, p.ns), cov: make([]int32, len(e.n)), limit: nodeLimit, wlimit: workLimit, openLB: math.Inf(1)}
	b.best = startCost
	b.bestSet = append([]bool(nil), start...)

	// A switch whose poll-all costs at least the single polls of all its flows is never
	// needed: swapping it for those single polls never costs more.
	wsum := make([]int64, p.ns)
	for i, w := range e.w {
		for _, s := range e.sw(int32(i)) {
			wsum[s] += w
		}
	}
	for s := 0; s < p.ns; s++ {
		if p.cAll[s] >= wsum[s] {
			b.status[s] = statusOut
		} else {
			b.order = append(b.order, int32(s))
		}
	}

	// Root bound on the element LP, then branching order by Lagrangian reduced cost.
	q := b.lp()
	pi := make([]float64, len(e.n))
	root := q.dualAscent(pi)
	// 300 rounds on small instances, fewer (at least 20) past 60 million entries' work.
	rounds := min(300, max(20, 60_000_000/max(len(e.nodes), 1)))
	root = q.subgradient(pi, root, float64(b.best), rounds)
	rootLB := integerBound(root, b.best)
	U := make([]float64, p.ns)
	q.lagrangian(pi, U)
	sort.SliceStable(b.order, func(i, j int) bool {
		si, sj := b.order[i], b.order[j]
		return U[si]-q.cAll[si] > U[sj]-q.cAll[sj]
	})

	if rootLB < b.best {
		depth := len(b.order) + 1
		b.pis = make([][]float64, depth+1)
		for i := range b.pis {
			b.pis[i] = make([]float64, len(e.n))
		}
		copy(b.pis[0], pi)
		b.U = make([]float64, p.ns)
		b.g = make([]float64, len(e.n))
		b.trial = make([]bool, p.ns)
		b.dfs(0, root)
	}
	switch {
	case rootLB >= b.best || !b.aborted:
		lb = b.best
	default:
		lb = max(rootLB, integerBound(min(b.openLB, float64(b.best)), b.best))
	}
	return b.bestSet, b.best, lb, b.nodes
}

func (b *bnb) lp() *coverLP {
	e, p := b.e, b.p
	q := &coverLP{ns: p.ns, start: e.start, nodes: e.nodes}
	q.n = make([]float64, len(e.n))
	q.c1 = e.c1
	for i := range e.n {
		q.n[i] = float64(e.n[i])
	}
	q.cAll = make([]float64, p.ns)
	for s, c := range p.cAll {
		q.cAll[s] = float64(c)
	}
	return q
}

// nodeBound evaluates the Lagrangian of the residual problem (elements not yet covered,
// switches still free) at pi, filling U and returning the bound including costIn.
// Elements with no free switch left must be polled singly, so they count in full.
func (b *bnb) nodeBound(pi []float64) float64 {
	e := b.e
	b.work += int64(len(e.nodes))
	clear(b.U)
	total := float64(b.costIn)
	for i := range e.n {
		if b.cov[i] > 0 {
			continue
		}
		free := false
		for _, s := range e.sw(int32(i)) {
			if b.status[s] == statusFree {
				free = true
				break
			}
		}
		if !free {
			total += float64(e.w[i])
			continue
		}
		v := float64(e.n[i]) * pi[i]
		total += v
		for _, s := range e.sw(int32(i)) {
			b.U[s] += v
		}
	}
	for _, s := range b.order {
		if b.status[s] == statusFree {
			if d := float64(b.p.cAll[s]) - b.U[s]; d < 0 {
				total += d
			}
		}
	}
	return total
}

// improve runs a few subgradient rounds on the node's multipliers and returns the best
// bound seen (pi ends at the best point).
func (b *bnb) improve(pi []float64, L float64, rounds int) float64 {
	e := b.e
	best := L
	lambda := 1.0
	b.saved = append(b.saved[:0], pi...) // the multipliers of best
	for r := 0; r < rounds; r++ {
		if float64(b.best)-best < 1 {
			break
		}
		var norm float64
		for i := range e.n {
			b.g[i] = 0
			if b.cov[i] > 0 {
				continue
			}
			gi := 1.0
			free := false
			for _, s := range e.sw(int32(i)) {
				if b.status[s] == statusFree {
					free = true
					if b.U[s] > float64(b.p.cAll[s]) {
						gi--
					}
				}
			}
			if !free || (gi > 0 && pi[i] >= float64(e.c1[i])) || (gi < 0 && pi[i] <= 0) {
				continue
			}
			b.g[i] = gi
			norm += float64(e.n[i]) * gi * gi
		}
		b.work += int64(len(e.nodes))
		if norm == 0 {
			break
		}
		t := lambda * (float64(b.best) - L) / norm
		for i, gi := range b.g {
			if gi != 0 {
				pi[i] = min(max(pi[i]+t*gi, 0), float64(e.c1[i]))
			}
		}
		L = b.nodeBound(pi)
		if L > best {
			best = L
			copy(b.saved, pi)
		} else {
			lambda /= 2
		}
	}
	if L < best {
		copy(pi, b.saved)
		b.nodeBound(pi) // restore U for the caller
	}
	return best
}

func (b *bnb) pruned(bound float64) bool {
	return integerBound(bound, math.MaxInt64) >= b.best
}

// tryRounding completes the node with every free switch the Lagrangian solution takes.
func (b *bnb) tryRounding() {
	p := b.p
	for s := 0; s < p.ns; s++ {
		b.trial[s] = b.status[s] == statusIn ||
			(b.status[s] == statusFree && b.U[s] > float64(p.cAll[s]))
	}
	p.localSearch(b.trial, 4*len(p.in.nodes))
	if c := p.setCost(b.trial); c < b.best {
		b.best = c
		copy(b.bestSet, b.trial)
	}
}

func (b *bnb) set(s int32, st int8) {
	b.status[s] = st
	if st == statusIn {
		b.costIn += b.p.cAll[s]
		for _, i := range b.e.of[s] {
			b.cov[i]++
		}
	}
}

func (b *bnb) unset(s int32) {
	if b.status[s] == statusIn {
		b.costIn -= b.p.cAll[s]
		for _, i := range b.e.of[s] {
			b.cov[i]--
		}
	}
	b.status[s] = statusFree
}

func (b *bnb) dfs(k int, parentBound float64) {
	if b.aborted || b.nodes >= b.limit || b.work >= b.wlimit {
		b.aborted = true
		b.openLB = min(b.openLB, parentBound)
		return
	}
	b.nodes++
	pi := b.pis[k]
	if k > 0 {
		copy(pi, b.pis[k-1])
	}
	L := b.nodeBound(pi)
	if k == len(b.order) {
		// Leaf: every decision is made; L is the exact cost of this set.
		if c := int64(math.Round(L)); c < b.best {
			b.best = c
			for s := range b.bestSet {
				b.bestSet[s] = b.status[s] == statusIn
			}
		}
		return
	}
	if b.pruned(L) {
		return
	}
	L = b.improve(pi, L, 8)
	if b.pruned(L) {
		return
	}
	if b.nodes == 1 || b.nodes%16 == 0 {
		b.tryRounding()
		if b.pruned(L) {
			return
		}
	}
	s := b.order[k]
	first, second := statusOut, statusIn
	if b.U[s] > float64(b.p.cAll[s]) {
		first, second = statusIn, statusOut
	}
	b.set(s, first)
	b.dfs(k+1, L)
	b.unset(s)
	if b.pruned(L) {
		return
	}
	b.set(s, second)
	b.dfs(k+1, L)
	b.unset(s)
}
