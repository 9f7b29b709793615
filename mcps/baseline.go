package mcps

import "math/rand/v2"

// perFlowRandom is the OpenTM-style baseline: every flow polled singly at a uniformly
// random switch of its path, by a uniformly random controller.
func (p *prepared) perFlowRandom(r *rand.Rand) *Solution {
	if r == nil {
		r = rand.New(rand.NewPCG(1, 1))
	}
	in := p.in
	nk := in.net.Controllers()
	one := in.cost.PollSingle()
	sol := &Solution{PollSingle: make([]SingleRequest, 0, p.nf)}
	for f := int32(0); int(f) < p.nf; f++ {
		path := p.path(f)
		s := path[r.IntN(len(path))]
		k := int32(r.IntN(nk))
		h := int64(1)
		if in.net.Deployment == InBand {
			h = int64(in.net.Hops[k][s])
		}
		sol.PollSingle = append(sol.PollSingle, SingleRequest{Flow: f, Switch: s, Controller: k})
		sol.Cost += h * one
	}
	return sol
}

// perFlowMin polls every flow singly at its cheapest switch and controller.
func (p *prepared) perFlowMin() *Solution {
	sol := &Solution{PollSingle: make([]SingleRequest, 0, p.nf)}
	for f := int32(0); int(f) < p.nf; f++ {
		s := p.oneSw[f]
		sol.PollSingle = append(sol.PollSingle, SingleRequest{Flow: f, Switch: s, Controller: p.in.ctrl[s]})
		sol.Cost += p.cOne[f]
	}
	return sol
}

// pollEverySwitch is what Ryu, Floodlight and ONOS do by default: a poll-all on every
// switch of the network, whether or not it carries flows.
func (p *prepared) pollEverySwitch() *Solution {
	sol := &Solution{PollAll: make([]AllRequest, 0, p.ns)}
	for s := 0; s < p.ns; s++ {
		sol.PollAll = append(sol.PollAll, AllRequest{Switch: int32(s), Controller: p.in.ctrl[s]})
		sol.Cost += p.cAll[s]
	}
	return sol
}
