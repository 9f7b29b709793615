package mcps

import (
	"fmt"
	"math"
)

// AllRequest is a poll-all: every entry of Switch, requested by Controller.
type AllRequest struct {
	Switch     int32
	Controller int32
}

// SingleRequest is a poll-single: flow Flow's entry at Switch, requested by Controller.
type SingleRequest struct {
	Flow       int32
	Switch     int32
	Controller int32
}

// Solution is a polling scheme with its cost and a proven lower bound on the optimum of
// the same instance, so every run says how far from optimal it can be.
type Solution struct {
	Strategy   string
	Model      string // cost model that produced Cost
	Cost       int64  // bytes per polling round
	LowerBound int64  // no scheme for this instance costs less
	Optimal    bool   // Cost is proven optimal
	PollAll    []AllRequest
	PollSingle []SingleRequest
	Nodes      int64 // branch-and-bound nodes explored (exact only)
}

// Gap is (Cost - LowerBound) / LowerBound, the most the scheme can exceed the optimum by
// as a fraction; 0 when proven optimal or when the bound is 0 and the cost too.
func (s *Solution) Gap() float64 {
	if s.Cost <= s.LowerBound {
		return 0
	}
	if s.LowerBound <= 0 {
		return math.Inf(1)
	}
	return float64(s.Cost-s.LowerBound) / float64(s.LowerBound)
}

// Evaluate checks that a scheme covers every flow of the instance with valid requests
// and recomputes its cost from scratch, using each request's own controller.
func (in *Instance) Evaluate(all []AllRequest, single []SingleRequest) (int64, error) {
	ns, nf, nk := in.NumSwitches(), in.NumFlows(), int32(in.net.Controllers())
	count := make([]int, ns)
	for _, s := range in.nodes {
		count[s]++
	}
	hops := func(s, k int32) int64 {
		if in.net.Deployment != InBand {
			return 1
		}
		return int64(in.net.Hops[k][s])
	}
	polled := make([]bool, ns)
	var cost int64
	for i, r := range all {
		if r.Switch < 0 || int(r.Switch) >= ns || r.Controller < 0 || r.Controller >= nk {
			return 0, fmt.Errorf("%w: poll-all %d: switch %d or controller %d out of range", ErrBadSolution, i, r.Switch, r.Controller)
		}
		polled[r.Switch] = true
		cost += hops(r.Switch, r.Controller) * in.cost.PollAll(count[r.Switch])
	}
	covered := make([]bool, nf)
	for f := 0; f < nf; f++ {
		for _, s := range in.Path(f) {
			if polled[s] {
				covered[f] = true
				break
			}
		}
	}
	one := in.cost.PollSingle()
	for i, r := range single {
		if r.Flow < 0 || int(r.Flow) >= nf || r.Controller < 0 || r.Controller >= nk {
			return 0, fmt.Errorf("%w: poll-single %d: flow %d or controller %d out of range", ErrBadSolution, i, r.Flow, r.Controller)
		}
		on := false
		for _, s := range in.Path(int(r.Flow)) {
			if s == r.Switch {
				on = true
				break
			}
		}
		if !on {
			return 0, fmt.Errorf("%w: poll-single %d: switch %d is not on flow %d's path", ErrBadSolution, i, r.Switch, r.Flow)
		}
		covered[r.Flow] = true
		cost += hops(r.Switch, r.Controller) * one
	}
	for f, c := range covered {
		if !c {
			return 0, fmt.Errorf("%w: flow %d is not polled", ErrBadSolution, f)
		}
	}
	return cost, nil
}

// schemeFromSet turns a set of poll-all switches into a full scheme: every flow no
// chosen switch sees is polled singly at its cheapest switch; sol.Cost is its cost.
func (p *prepared) schemeFromSet(inA []bool, sol *Solution) {
	in := p.in
	sol.PollAll = sol.PollAll[:0]
	sol.PollSingle = sol.PollSingle[:0]
	var cost int64
	for s := 0; s < p.ns; s++ {
		if inA[s] {
			sol.PollAll = append(sol.PollAll, AllRequest{Switch: int32(s), Controller: in.ctrl[s]})
			cost += p.cAll[s]
		}
	}
	for f := 0; f < p.nf; f++ {
		cov := false
		for _, s := range p.path(int32(f)) {
			if inA[s] {
				cov = true
				break
			}
		}
		if !cov {
			s := p.oneSw[f]
			sol.PollSingle = append(sol.PollSingle, SingleRequest{Flow: int32(f), Switch: s, Controller: in.ctrl[s]})
			cost += p.cOne[f]
		}
	}
	sol.Cost = cost
	sol.Model = in.cost.Name()
}

// schemeFromCounts is schemeFromSet when the number of chosen switches on every
// flow's path is already known.
func (p *prepared) schemeFromCounts(inA []bool, cnt []int32, sol *Solution) {
	in := p.in
	var cost int64
	for s := 0; s < p.ns; s++ {
		if inA[s] {
			sol.PollAll = append(sol.PollAll, AllRequest{Switch: int32(s), Controller: in.ctrl[s]})
			cost += p.cAll[s]
		}
	}
	for f, c := range cnt {
		if c == 0 {
			s := p.oneSw[f]
			sol.PollSingle = append(sol.PollSingle, SingleRequest{Flow: int32(f), Switch: s, Controller: in.ctrl[s]})
			cost += p.cOne[f]
		}
	}
	sol.Cost = cost
	sol.Model = in.cost.Name()
}

// setCost is the cost of the scheme schemeFromSet would build, without building it.
func (p *prepared) setCost(inA []bool) int64 {
	var cost int64
	for s := 0; s < p.ns; s++ {
		if inA[s] {
			cost += p.cAll[s]
		}
	}
	for f := 0; f < p.nf; f++ {
		cov := false
		for _, s := range p.path(int32(f)) {
			if inA[s] {
				cov = true
				break
			}
		}
		if !cov {
			cost += p.cOne[f]
		}
	}
	return cost
}
