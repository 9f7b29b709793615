package mcps

import "math"

// coverLP is the linear relaxation of the covering program over items, each standing
// for n identical flows (same switches, same poll-single cost). Its dual is
//
//	maximize Σ_i n_i·π_i  s.t.  Σ_{i ∋ s} n_i·π_i ≤ c_all(s) for every s,  0 ≤ π_i ≤ c_one(i)
//
// and any feasible π, or the Lagrangian value of any π ≥ 0, bounds the optimum from
// below (weak duality).
type coverLP struct {
	ns    int
	start []int32 // item i's switches are nodes[start[i]:start[i+1]]
	nodes []int32
	n     []float64 // flows per item; nil means 1 each
	c1    []int64   // per-flow poll-single cost of the item
	cAll  []float64
	load  []float64 // flows per switch, if known (else counted)
}

func (q *coverLP) items() int { return len(q.start) - 1 }

func (q *coverLP) count(i int) float64 {
	if q.n == nil {
		return 1
	}
	return q.n[i]
}

// dualAscent returns a maximal dual-feasible π: each item first gets the smallest
// per-flow share c_all(s)/N_s over its switches (feasible because every switch's shares
// add up to at most c_all(s)), then, in item order, is raised as far as the remaining
// slack of its switches allows.
func (q *coverLP) dualAscent(pi []float64) float64 {
	share := make([]float64, q.ns) // c_all(s) / N_s, N_s the flows s sees
	if q.load != nil {
		copy(share, q.load)
	} else {
		for i := 0; i < q.items(); i++ {
			for _, s := range q.nodes[q.start[i]:q.start[i+1]] {
				share[s] += q.count(i)
			}
		}
	}
	for s := range share {
		if share[s] > 0 {
			share[s] = q.cAll[s] / share[s]
		}
	}
	slack := make([]float64, q.ns)
	copy(slack, q.cAll)
	for i := 0; i < q.items(); i++ {
		path := q.nodes[q.start[i]:q.start[i+1]]
		v := float64(q.c1[i])
		for _, s := range path {
			v = min(v, share[s])
		}
		pi[i] = v
		n := q.count(i) * v
		for _, s := range path {
			slack[s] -= n
		}
	}
	var total float64
	for i := 0; i < q.items(); i++ {
		path := q.nodes[q.start[i]:q.start[i+1]]
		n := q.count(i)
		inc := float64(q.c1[i]) - pi[i]
		for _, s := range path {
			inc = min(inc, slack[s]/n)
		}
		if inc > 0 {
			pi[i] += inc
			for _, s := range path {
				slack[s] -= n * inc
			}
		}
		total += n * pi[i]
	}
	return total
}

// lagrangian evaluates L(π) = Σ n_i π_i + Σ_s min(0, c_all(s) − Σ_{i∋s} n_i π_i) for
// 0 ≤ π_i ≤ c_one(i), filling U with the per-switch sums.
func (q *coverLP) lagrangian(pi, U []float64) float64 {
	clear(U)
	var total float64
	for i := 0; i < q.items(); i++ {
		v := q.count(i) * pi[i]
		total += v
		for _, s := range q.nodes[q.start[i]:q.start[i+1]] {
			U[s] += v
		}
	}
	for s := 0; s < q.ns; s++ {
		if d := q.cAll[s] - U[s]; d < 0 {
			total += d
		}
	}
	return total
}

// subgradient improves π by Polyak-step subgradient rounds toward ub (the cost of a
// known scheme) and returns the best Lagrangian value seen; pi ends as the best point.
func (q *coverLP) subgradient(pi []float64, start float64, ub float64, rounds int) float64 {
	if rounds <= 0 || q.items() == 0 {
		return start
	}
	best := start
	bestPi := make([]float64, len(pi))
	copy(bestPi, pi)
	U := make([]float64, q.ns)
	g := make([]float64, q.items())
	lambda, stall := 1.0, 0
	for r := 0; r < rounds; r++ {
		L := q.lagrangian(pi, U)
		if L > best+1e-9 {
			best, stall = L, 0
			copy(bestPi, pi)
		} else if stall++; stall >= 3 {
			lambda, stall = lambda/2, 0
		}
		if ub-best < 1e-6*math.Max(1, ub) {
			break
		}
		var norm float64
		for i := 0; i < q.items(); i++ {
			gi := 1.0
			for _, s := range q.nodes[q.start[i]:q.start[i+1]] {
				if U[s] > q.cAll[s] {
					gi--
				}
			}
			// Projected direction: stay inside [0, c1].
			if (gi > 0 && pi[i] >= float64(q.c1[i])) || (gi < 0 && pi[i] <= 0) {
				gi = 0
			}
			g[i] = gi
			norm += q.count(i) * gi * gi
		}
		if norm == 0 {
			break
		}
		t := lambda * (ub - L) / norm
		for i, gi := range g {
			if gi != 0 {
				pi[i] = min(max(pi[i]+t*gi, 0), float64(q.c1[i]))
			}
		}
	}
	copy(pi, bestPi)
	return best
}

// integerBound turns a real-valued lower bound on an integer optimum into an integer
// one, with room for floating-point error, never above ub.
func integerBound(v float64, ub int64) int64 {
	if v <= 0 {
		return 0
	}
	v -= 1e-9*v + 1e-6
	lb := int64(math.Ceil(v))
	return min(max(lb, 0), ub)
}

// flowLP is the covering LP with one item per flow.
func (p *prepared) flowLP() *coverLP {
	q := &coverLP{ns: p.ns, start: p.in.start, nodes: p.in.nodes, c1: p.cOne}
	q.cAll = make([]float64, p.ns)
	q.load = make([]float64, p.ns)
	for s, c := range p.cAll {
		q.cAll[s] = float64(c)
		q.load[s] = float64(p.fsStart[s+1] - p.fsStart[s])
	}
	return q
}

// lowerBound is the certificate every strategy reports: the better of the dual-ascent
// bound and a budgeted Lagrangian refinement, rounded up to an integer (costs are whole
// bytes) and never above ub, the cost of a scheme for the same instance.
func (p *prepared) lowerBound(opt Options, ub int64) int64 {
	if p.nf == 0 {
		return 0
	}
	q := p.flowLP()
	pi := make([]float64, p.nf)
	v := q.dualAscent(pi)
	v = q.subgradient(pi, v, float64(ub), opt.boundRounds(len(p.in.nodes)))
	return integerBound(v, ub)
}
