package mcps

import (
	"math/bits"
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
func (p *prepared) greedy() *Solution {
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
		for _, f := range order[bucketStart[b]:bucketStart[b+1]] {
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
			s := p.oneSw[f]
			sol.PollSingle = append(sol.PollSingle, SingleRequest{Flow: f, Switch: s, Controller: in.ctrl[s]})
			sol.Cost += p.cOne[f]
			g.cover(f)
		}
	}
	return sol
}

// singleOrder buckets the flows by poll-single cost (counting sort over the few
// distinct per-switch multipliers), each bucket in flow index order.
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
		order = make([]int32, p.nf)
		for f := range order {
			order[f] = int32(f)
		}
		bucketStart[1] = p.nf
		return order, bucketStart, bucketCost
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
// paper"): a local search over the set of poll-all switches that drops a switch when
// re-polling its uniquely covered flows singly is cheaper, and adds one when polling it
// is cheaper than the single polls of the flows only it would cover, best move first, to
// a fixed point. Every move lowers the cost, so the result is never worse than greedy.
func (p *prepared) mcps() *Solution {
	g := p.greedy()
	inA := make([]bool, p.ns)
	for _, r := range g.PollAll {
		inA[r.Switch] = true
	}
	p.localSearch(inA)
	sol := &Solution{}
	p.schemeFromSet(inA, sol)
	if sol.Cost > g.Cost { // cannot happen: local search only lowers the cost
		return g
	}
	return sol
}

// localSearch improves a set of poll-all switches in place with drop and add moves.
func (p *prepared) localSearch(inA []bool) {
	cnt := make([]int32, p.nf) // chosen switches on each flow's path
	zero := make([]int64, p.ns)
	one := make([]int64, p.ns)
	for f := int32(0); int(f) < p.nf; f++ {
		var c int32
		path := p.path(f)
		for _, s := range path {
			if inA[s] {
				c++
			}
		}
		cnt[f] = c
		switch c {
		case 0:
			for _, s := range path {
				zero[s] += p.cOne[f]
			}
		case 1:
			for _, s := range path {
				one[s] += p.cOne[f]
			}
		}
	}
	shift := func(f int32, from, to int32) {
		c := p.cOne[f]
		for _, s := range p.path(f) {
			switch from {
			case 0:
				zero[s] -= c
			case 1:
				one[s] -= c
			}
			switch to {
			case 0:
				zero[s] += c
			case 1:
				one[s] += c
			}
		}
	}
	for {
		best, bs := int64(0), -1
		for s := 0; s < p.ns; s++ {
			var save int64
			if inA[s] {
				save = p.cAll[s] - one[s] // drop s: its unique flows go single
			} else {
				save = zero[s] - p.cAll[s] // add s: its uncovered flows stop being single
			}
			if save > best {
				best, bs = save, s
			}
		}
		if bs < 0 {
			return
		}
		d := int32(1)
		if inA[bs] {
			d = -1
		}
		inA[bs] = !inA[bs]
		for _, f := range p.flowsOf(bs) {
			c := cnt[f]
			cnt[f] = c + d
			if c <= 1 || c+d <= 1 {
				shift(f, c, c+d)
			}
		}
	}
}
