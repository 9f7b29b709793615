package mcps

import (
	"math/bits"
	"math/rand/v2"
	"slices"
)

// ratioLess reports whether a/ua < b/ub for non-negative costs and positive counts,
// exactly (128-bit products).
func ratioLess(a int64, ua int32, b int64, ub int32) bool {
	h1, l1 := bits.Mul64(uint64(a), uint64(ub))
	h2, l2 := bits.Mul64(uint64(b), uint64(ua))
	return h1 < h2 || (h1 == h2 && l1 < l2)
}

// switchHeap is a min-heap of switches keyed by poll-all cost per uncovered flow, with
// the uncovered count recorded when the key was set (the lazy key). Ties go to the lower
// switch index so results are deterministic.
type switchHeap struct {
	ids  []int32
	cost []int64
	key  []int32 // uncovered count at the time the key was set
}

func (h *switchHeap) less(i, j int) bool {
	a, b := h.ids[i], h.ids[j]
	if ratioLess(h.cost[a], h.key[a], h.cost[b], h.key[b]) {
		return true
	}
	if ratioLess(h.cost[b], h.key[b], h.cost[a], h.key[a]) {
		return false
	}
	return a < b
}

func (h *switchHeap) down(i int) {
	n := len(h.ids)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.ids[i], h.ids[m] = h.ids[m], h.ids[i]
		i = m
	}
}

func (h *switchHeap) init() {
	for i := len(h.ids)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *switchHeap) pop() {
	n := len(h.ids) - 1
	h.ids[0] = h.ids[n]
	h.ids = h.ids[:n]
	h.down(0)
}

// greedyState is the cover bookkeeping shared by the greedy steps.
type greedyState struct {
	p       *prepared
	covered []bool
	u       []int32 // uncovered flows per switch
	left    int
}

func (g *greedyState) cover(f int32) {
	g.covered[f] = true
	g.left--
	for _, s := range g.p.path(f) {
		g.u[s]--
	}
}

// greedy is the paper's Algorithm 3: repeatedly take the candidate set (a switch's
// poll-all, or one flow's poll-single) with the lowest cost per newly covered flow.
//
// Poll-single sets all cover one flow and their costs take few distinct values (one per
// hop count), so they are not heaped: flows are bucketed by their poll-single cost and
// walked in increasing order, while poll-all sets sit in a lazy heap. A poll-all's ratio
// only grows as flows get covered, so once the heap's best ratio is no better than the
// current bucket's cost, the rest of that bucket is polled singly without looking at the
// heap again. Ties go to the poll-single.
func (p *prepared) greedy() *Solution { return p.greedyScheme(true) }

// greedyScheme runs the greedy; without singles it lists only the poll-all requests
// (and still counts the poll-singles' cost), which is all the clean-up needs.
func (p *prepared) greedyScheme(singles bool) *Solution {
	g := &greedyState{p: p, covered: make([]bool, p.nf), u: make([]int32, p.ns), left: p.nf}
	h := &switchHeap{cost: p.cAll, key: make([]int32, p.ns)}
	for s := 0; s < p.ns; s++ {
		n := p.fsStart[s+1] - p.fsStart[s]
		g.u[s], h.key[s] = n, n
		if n > 0 {
			h.ids = append(h.ids, int32(s))
		}
	}
	h.init()

	order, bucketStart, bucketCost := p.singleOrder()
	sol := &Solution{}
	in := p.in
	for b := 0; b+1 < len(bucketStart) && g.left > 0; b++ {
		v := bucketCost[b]
		heapDone := false
		for i := bucketStart[b]; i < bucketStart[b+1]; i++ {
			f := int32(i) // one bucket: flows in index order, no order array
			if order != nil {
				f = order[i]
			}
			if g.covered[f] {
				continue
			}
			for !heapDone && len(h.ids) > 0 {
				s := h.ids[0]
				if g.u[s] == 0 {
					h.pop()
					continue
				}
				if h.key[s] != g.u[s] {
					h.key[s] = g.u[s]
					h.down(0)
					continue
				}
				// Take the poll-all only if strictly cheaper per flow than v.
				if !ratioLess(p.cAll[s], g.u[s], v, 1) {
					heapDone = true
					break
				}
				h.pop()
				sol.PollAll = append(sol.PollAll, AllRequest{Switch: s, Controller: in.ctrl[s]})
				sol.Cost += p.cAll[s]
				for _, ff := range p.flowsOf(int(s)) {
					if !g.covered[ff] {
						g.cover(ff)
					}
				}
			}
			if g.covered[f] {
				continue
			}
			if singles {
				s := p.oneSw[f]
				sol.PollSingle = append(sol.PollSingle, SingleRequest{Flow: f, Switch: s, Controller: in.ctrl[s]})
			}
			sol.Cost += p.cOne[f]
			g.cover(f)
		}
	}
	return sol
}

// singleOrder buckets the flows by poll-single cost (counting sort over the few
// distinct per-switch multipliers), each bucket in flow index order. With a single
// bucket (out-of-band) order is nil: the flows in index order.
func (p *prepared) singleOrder() (order []int32, bucketStart []int, bucketCost []int64) {
	mults := slices.Clone(p.in.mult)
	slices.Sort(mults)
	mults = slices.Compact(mults)
	bucketOf := make([]int32, p.ns)
	for s := range bucketOf {
		i, _ := slices.BinarySearch(mults, p.in.mult[s])
		bucketOf[s] = int32(i)
	}
	one := p.in.cost.PollSingle()
	bucketCost = make([]int64, len(mults))
	for i, m := range mults {
		bucketCost[i] = m * one
	}
	bucketStart = make([]int, len(mults)+1)
	if len(mults) == 1 {
		bucketStart[1] = p.nf
		return nil, bucketStart, bucketCost
	}
	for f := 0; f < p.nf; f++ {
		bucketStart[bucketOf[p.oneSw[f]]+1]++
	}
	for i := 1; i < len(bucketStart); i++ {
		bucketStart[i] += bucketStart[i-1]
	}
	fill := slices.Clone(bucketStart[:len(mults)])
	order = make([]int32, p.nf)
	for f := 0; f < p.nf; f++ {
		b := bucketOf[p.oneSw[f]]
		order[fill[b]] = int32(f)
		fill[b]++
	}
	return order, bucketStart, bucketCost
}

// mcps is the greedy followed by the clean-up pass (algorithms.md section 2, "beyond the
// paper"): a local search over the set of poll-all switches with drop, add and swap
// moves to a fixed point, then an iterated local search (a few random switches toggled,
// local search again, kept if cheaper) while the work budget lasts. Every accepted step
// lowers the cost, so the result is never worse than greedy. When flows outnumber the
// distinct switch sets, the search runs on flows grouped by switch set, which changes
// nothing in the costs and makes it much cheaper.
func (p *prepared) mcps() *Solution {
	g := p.greedyScheme(false)
	inA := make([]bool, p.ns)
	for _, r := range g.PollAll {
		inA[r.Switch] = true
	}
	work := p.searchBudget()
	q := p
	if p.nf <= 20_000 || 2*p.ns*p.ns <= p.nf {
		q = p.grouped()
	}
	ls := q.improve(inA, work)
	sol := &Solution{}
	if q == p {
		p.schemeFromCounts(inA, ls.cnt, sol)
	} else {
		p.schemeFromSet(inA, sol)
	}
	if sol.Cost > g.Cost { // cannot happen: every step lowers the cost
		return p.greedy()
	}
	return sol
}

// searchBudget is the clean-up's work budget in path entries visited: enough for
// hundreds of restarts on small networks; on the largest instances it is spent by the
// first drop/add pass, so no swap or restart runs there.
func (p *prepared) searchBudget() int {
	return 4_000_000 + len(p.in.nodes)/2
}

// improve runs local search and then iterated local search on inA within work. The
// returned search state describes the final inA.
func (p *prepared) improve(inA []bool, work int) *localSearch {
	ls := p.newLocalSearch(inA, &work)
	ls.run()
	best := ls.cost()
	bestSet := append([]bool(nil), inA...)
	var cand []int
	for s := 0; s < p.ns; s++ {
		if p.fsStart[s+1] > p.fsStart[s] {
			cand = append(cand, s)
		}
	}
	if len(cand) < 2 {
		return ls
	}
	r := rand.New(rand.NewPCG(0x63656d6f6e, uint64(p.nf)))
	// At most 1000 kicks, and no more than 40 per candidate switch in a row that do not
	// improve (small networks have few sets worth trying).
	maxStall := min(max(40*len(cand), 100), 1000)
	for iter, stall := 0, 0; work > 0 && iter < 1000 && stall < maxStall; iter, stall = iter+1, stall+1 {
		k := 1 + r.IntN(min(3, len(cand)))
		for i := 0; i < k; i++ {
			ls.toggle(cand[r.IntN(len(cand))])
		}
		ls.run()
		if c := ls.cost(); c < best {
			best, stall = c, 0
			copy(bestSet, inA)
		} else {
			for s := range inA {
				if inA[s] != bestSet[s] {
					ls.toggle(s)
				}
			}
		}
	}
	copy(inA, bestSet) // the search state was reverted to bestSet already
	return ls
}

// grouped returns the same problem with one item per distinct switch set, its
// poll-single cost the sum over its flows; poll-all costs stay those of p.
func (p *prepared) grouped() *prepared {
	e := p.elements()
	in := &Instance{net: p.in.net, cost: p.in.cost, start: e.start, nodes: e.nodes, mult: p.in.mult, ctrl: p.in.ctrl}
	q := &prepared{in: in, nf: len(e.n), ns: p.ns, cAll: p.cAll, cOne: e.w}
	q.fsStart = make([]int32, p.ns+1)
	for _, s := range e.nodes {
		q.fsStart[s+1]++
	}
	for s := 0; s < p.ns; s++ {
		q.fsStart[s+1] += q.fsStart[s]
	}
	q.fsFlows = make([]int32, len(e.nodes))
	fill := append([]int32(nil), q.fsStart[:p.ns]...)
	for i := 0; i+1 < len(e.start); i++ {
		for _, s := range e.nodes[e.start[i]:e.start[i+1]] {
			q.fsFlows[fill[s]] = int32(i)
			fill[s]++
		}
	}
	return q
}

// localSearch improves a set of poll-all switches in place with drop, add and swap
// moves, to a fixed point or until the work budget (in path entries visited) runs out.
func (p *prepared) localSearch(inA []bool, work int) {
	p.newLocalSearch(inA, &work).run()
}

// newLocalSearch sets up the running sums for inA. Drop and add moves are then
// evaluated in O(1) per switch; a swap (drop a, add b) also needs the flows a alone
// covers that b would cover again, collected per a.
func (p *prepared) newLocalSearch(inA []bool, work *int) *localSearch {
	ls := &localSearch{p: p, inA: inA, work: work, cnt: make([]int32, p.nf), zero: make([]int64, p.ns), one: make([]int64, p.ns)}
	for f := int32(0); int(f) < p.nf; f++ {
		var c int32
		for _, s := range p.path(f) {
			if inA[s] {
				c++
			}
		}
		ls.cnt[f] = c
		ls.shift(f, -1, c)
	}
	*work -= len(p.in.nodes)
	for s := 0; s < p.ns; s++ {
		if inA[s] {
			ls.total += p.cAll[s]
		}
	}
	for f := 0; f < p.nf; f++ {
		if ls.cnt[f] == 0 {
			ls.total += p.cOne[f]
		}
	}
	return ls
}

func (ls *localSearch) run() {
	for {
		ls.dropAdd()
		// A swap round visits about every path entry once; start one only if it fits.
		if *ls.work < len(ls.p.in.nodes) || !ls.swap() {
			return
		}
	}
}

func (ls *localSearch) cost() int64 { return ls.total }

type localSearch struct {
	p         *prepared
	work      *int
	total     int64 // cost of the current set
	inA       []bool
	cnt       []int32 // chosen switches on each flow's path
	zero, one []int64 // per switch: Σ c_one over its flows covered 0 / 1 times
	inter     []int64
	touched   []int32
}

// shift moves flow f's contribution from coverage count from to count to (-1: none).
func (ls *localSearch) shift(f int32, from, to int32) {
	c := ls.p.cOne[f]
	sub, add := ls.sums(from), ls.sums(to)
	path := ls.p.path(f)
	switch {
	case sub != nil && add != nil:
		for _, s := range path {
			sub[s] -= c
			add[s] += c
		}
	case sub != nil:
		for _, s := range path {
			sub[s] -= c
		}
	case add != nil:
		for _, s := range path {
			add[s] += c
		}
	}
}

// sums returns the running sum kept for flows covered n times (0 or 1), else nil.
func (ls *localSearch) sums(n int32) []int64 {
	switch n {
	case 0:
		return ls.zero
	case 1:
		return ls.one
	}
	return nil
}

func (ls *localSearch) toggle(s int) {
	ls.total -= ls.saving(s)
	*ls.work -= int(ls.p.fsStart[s+1] - ls.p.fsStart[s])
	d := int32(1)
	if ls.inA[s] {
		d = -1
	}
	ls.inA[s] = !ls.inA[s]
	for _, f := range ls.p.flowsOf(s) {
		c := ls.cnt[f]
		ls.cnt[f] = c + d
		if c <= 1 || c+d <= 1 {
			ls.shift(f, c, c+d)
		}
	}
}

// saving of toggling s: positive means the cost falls.
func (ls *localSearch) saving(s int) int64 {
	if ls.inA[s] {
		return ls.p.cAll[s] - ls.one[s] // drop s: its unique flows go single
	}
	return ls.zero[s] - ls.p.cAll[s] // add s: its uncovered flows stop being single
}

func (ls *localSearch) dropAdd() {
	for {
		best, bs := int64(0), -1
		for s := 0; s < ls.p.ns; s++ {
			if v := ls.saving(s); v > best {
				best, bs = v, s
			}
		}
		if bs < 0 {
			return
		}
		ls.toggle(bs)
	}
}

// swap applies the best improving (drop a, add b) pair, if any.
func (ls *localSearch) swap() bool {
	budget := ls.work
	p := ls.p
	if ls.inter == nil {
		ls.inter = make([]int64, p.ns)
	}
	best, ba, bb := int64(0), -1, -1
	for a := 0; a < p.ns; a++ {
		if !ls.inA[a] {
			continue
		}
		// inter[b] = Σ c_one of flows only a covers that b also sees.
		for _, f := range p.flowsOf(a) {
			if ls.cnt[f] != 1 {
				continue
			}
			path := p.path(f)
			*budget -= len(path)
			for _, b := range path {
				if ls.inter[b] == 0 {
					ls.touched = append(ls.touched, b)
				}
				ls.inter[b] += p.cOne[f]
			}
		}
		dropA := ls.saving(a) // ≤ 0 at a drop/add fixed point
		for _, b := range ls.touched {
			if ls.inA[b] {
				continue
			}
			if v := dropA + ls.saving(int(b)) + ls.inter[b]; v > best {
				best, ba, bb = v, a, int(b)
			}
		}
		for _, b := range ls.touched {
			ls.inter[b] = 0
		}
		ls.touched = ls.touched[:0]
		if *budget <= 0 {
			break
		}
	}
	if ba < 0 {
		return false
	}
	ls.toggle(ba)
	ls.toggle(bb)
	return true
}
