package sim

import (
	"fmt"
	"math"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/topology"
)

// Figure 2 of the paper is its worked example: four flows on a small network, polled
// out-of-band and in-band. The text of the paper lost the figure's labels (which switch
// each flow crosses, where the controller sits, the byte counts), keeping only: four
// flows; the out-of-band optimum is two requests, both poll-all; the in-band optimum
// (controller attached to one switch, control messages on shortest paths) polls the same
// two switches; random and minimum-cost per-flow querying both cost more; one per-flow
// figure counts six requests. Figure2 rebuilds an instance that satisfies every one of
// those statements: a line s1–s2–s3–s4–s5 with one host per switch, the controller
// attached to s3, and the flows h1→h2, h2→h3, h3→h4, h4→h5. Out-of-band the optimum polls
// all at s2 and s4 (2 × (200 + 2·96) = 784 bytes against 4 × 296 = 1184 per flow);
// in-band it polls the same switches (2 hops each: 1568 bytes) where minimum-cost
// per-flow querying sends six hop-requests (f1 at s2, f2 and f3 at s3, f4 at s4:
// 6 × 296 = 1776) and random per-flow querying 8 on average (2368).
var Figure2Flows = [][2]int32{{0, 1}, {1, 2}, {2, 3}, {3, 4}}

// Figure2Controller is the switch (s3) the controller of Figure 2 is attached to.
const Figure2Controller = 2

// Figure2 returns the Figure 2 instance for a deployment (see Figure2Flows).
func Figure2(dep mcps.Deployment) (*mcps.Instance, error) {
	g := topology.Linear(5)
	rt := NewRouter(g)
	net, err := Network(rt, dep, []int{Figure2Controller})
	if err != nil {
		return nil, err
	}
	pairs := make([]Pair, len(Figure2Flows))
	for i, f := range Figure2Flows {
		pairs[i] = Pair{f[0], f[1]}
	}
	return Instance(net, rt, pairs)
}

// ExpectedPerFlowRandom is the mean cost of per-flow-random on an instance: each flow
// polled at a uniformly random switch of its path by a uniformly random controller.
func ExpectedPerFlowRandom(in *mcps.Instance) float64 {
	net := in.Network()
	single := float64(in.CostModel().PollSingle())
	var total float64
	for f := 0; f < in.NumFlows(); f++ {
		var sum float64
		for _, s := range in.Path(f) {
			if net.Deployment != mcps.InBand || len(net.Hops) == 0 {
				sum++
				continue
			}
			var h float64
			for k := range net.Hops {
				h += float64(net.Hops[k][s])
			}
			sum += h / float64(len(net.Hops))
		}
		total += single * sum / float64(len(in.Path(f)))
	}
	return total
}

// MaxCoverageCurve is the paper's figure 3: poll-all switches are chosen one at a time
// by the simple greedy rule of section 3.1 (the switch covering the most flows not yet
// covered; ties to the lower index) and, after k of them, the remaining flows are polled
// one by one at their cheapest switch. It returns the cost after k = 0, 1, ... switches,
// up to the k at which every flow is covered.
func MaxCoverageCurve(in *mcps.Instance) []int64 {
	nf, ns := in.NumFlows(), in.NumSwitches()
	cm := in.CostModel()
	load := make([]int, ns)
	flowsOf := make([][]int32, ns)
	for f := 0; f < nf; f++ {
		for _, s := range in.Path(f) {
			load[s]++
			flowsOf[s] = append(flowsOf[s], int32(f))
		}
	}
	single := make([]int64, nf)
	var singles int64
	for f := range single {
		best := int64(math.MaxInt64)
		for _, s := range in.Path(f) {
			best = min(best, in.Hops(int(s))*cm.PollSingle())
		}
		single[f] = best
		singles += best
	}
	uncovered := make([]int, ns) // flows of s not yet covered
	copy(uncovered, load)
	covered := make([]bool, nf)
	taken := make([]bool, ns)
	var all int64
	left := nf
	curve := []int64{singles}
	for left > 0 {
		best := -1
		for s := 0; s < ns; s++ {
			if !taken[s] && uncovered[s] > 0 && (best < 0 || uncovered[s] > uncovered[best]) {
				best = s
			}
		}
		taken[best] = true
		all += in.Hops(best) * cm.PollAll(load[best])
		for _, f := range flowsOf[best] {
			if covered[f] {
				continue
			}
			covered[f] = true
			left--
			singles -= single[f]
			for _, s := range in.Path(int(f)) {
				uncovered[s]--
			}
		}
		curve = append(curve, all+singles)
	}
	return curve
}

// Theorem 3.2 (accuracy under loss). The paper's formula is lost; its proof assumes the
// polled switch is a uniformly random position of the flow's path and the loss switches
// fall at random along it. With each of the L switches a loss switch with probability ρ
// (so the number of loss switches on the path is binomial, L and ρ, and given their
// number their positions are uniform), a loss switch counting a packet and then dropping
// it with probability p, and the polled switch at position j (1 = ingress), the egress
// sees a packet the polled switch counted only if no loss switch at positions j..L drops
// it. Each of those L−j+1 switches keeps a packet with probability 1 − ρp, independently,
// so the expected fraction of the flow's packets both count is (1 − ρp)^(L−j+1); the mean
// over j uniform on 1..L is
//
//	A(L) = (1/L) Σ_{k=1..L} q^k = q (1 − q^L) / (L (1 − q)),   q = 1 − ρp,
//
// (A = 1 when ρp = 0). TheoremAccuracy returns A(L).
func TheoremAccuracy(L int, rho, p float64) float64 {
	if L < 1 {
		return 1
	}
	q := 1 - rho*p
	if q >= 1 {
		return 1
	}
	return q * (1 - math.Pow(q, float64(L))) / (float64(L) * (1 - q))
}

// TheoremExact is the companion estimate of the accurate flow ratio under the same
// assumptions: a flow of n packets is read exactly when none of its packets is dropped
// downstream of the polled switch, which a switch at or after it allows with probability
// 1 − ρ + ρ(1 − p)^n; so P = (1/L) Σ_{k=1..L} (1 − ρ + ρ(1 − p)^n)^k. It counts n
// packets at the polled switch, ignoring loss upstream of it (which only shrinks n and
// raises P), so it is a slight underestimate.
func TheoremExact(L, n int, rho, p float64) float64 {
	if L < 1 {
		return 1
	}
	q := 1 - rho + rho*math.Pow(1-p, float64(n))
	var s, qk float64 = 0, 1
	for k := 1; k <= L; k++ {
		qk *= q
		s += qk
	}
	return s / float64(L)
}

// figure2 reports the paper's worked example (Figure2) under every strategy.
func (r *runner) figure2() error {
	t := Table{Name: "fig2_example", Title: "The paper's worked example (figure 2): four flows on s1–s2–s3–s4–s5, controller at s3",
		Columns: []string{"strategy", "out-of-band bytes", "out-of-band requests", "in-band bytes", "in-band hop-requests"},
		Note:    "per-flow-random is its expectation over the random choice of switch; a hop-request is one request carried over one hop (in-band costs multiply by hops)"}
	var ins [2]*mcps.Instance
	for i, dep := range []mcps.Deployment{mcps.OutOfBand, mcps.InBand} {
		in, err := Figure2(dep)
		if err != nil {
			return err
		}
		ins[i] = in
	}
	for k, st := range []string{mcps.StrategyExact, mcps.StrategyMCPS, mcps.StrategyGreedy, mcps.StrategyPerFlowMin, mcps.StrategyPerFlowRandom, mcps.StrategyPollAll} {
		row := []float64{float64(k)}
		for _, in := range ins {
			sol, err := mcps.Solve(in, st, mcps.Options{})
			if err != nil {
				return err
			}
			cost := float64(sol.Cost)
			var hopReq int64
			for _, a := range sol.PollAll {
				hopReq += in.Hops(int(a.Switch))
			}
			for _, s := range sol.PollSingle {
				hopReq += in.Hops(int(s.Switch))
			}
			if st == mcps.StrategyPerFlowRandom {
				cost = ExpectedPerFlowRandom(in)
				hopReq = int64(math.Round(cost / float64(in.CostModel().PollSingle())))
			}
			if in.Network().Deployment == mcps.OutOfBand {
				hopReq = int64(len(sol.PollAll) + len(sol.PollSingle))
			}
			row = append(row, cost, float64(hopReq))
		}
		t.RowLabels = append(t.RowLabels, st)
		t.Rows = append(t.Rows, row)
	}
	r.res.Tables = append(r.res.Tables, t)
	return nil
}

// maxCoverage is the paper's figure 3 on the default graph: cost against the number of
// poll-all switches chosen by maximum coverage, beside per-flow polling and mcps.
func (r *runner) maxCoverage() error {
	g := r.graph("er", r.cfg.Switches, r.rng())
	for _, dep := range []mcps.Deployment{mcps.OutOfBand, mcps.InBand} {
		gen, err := Generate(g, dep, 1, r.cfg.CoverFlows, r.rng())
		if err != nil {
			return err
		}
		in := gen.Instance
		curve := MaxCoverageCurve(in)
		m, err := mcps.Solve(in, mcps.StrategyMCPS, mcps.Options{BoundRounds: -1})
		if err != nil {
			return err
		}
		t := Table{Name: "fig3_max_coverage_" + dep.String(),
			Title:  fmt.Sprintf("Cost against max-coverage poll-all switches (ER, %d switches, %d flows, %s)", g.NumNodes(), r.cfg.CoverFlows, dep),
			XLabel: "poll-all switches", YLabel: "bytes per round",
			Columns: []string{"poll-all switches", "max coverage + per-flow-min for the rest", "per-flow-min", "mcps"}}
		for k, c := range curve {
			t.Rows = append(t.Rows, []float64{float64(k), float64(c), float64(curve[0]), float64(m.Cost)})
		}
		r.res.Tables = append(r.res.Tables, t)
	}
	return nil
}

// sweep measures the headline ratio mcps / per-flow-random out-of-band while one
// workload parameter moves: graph density (mean degree, which sets path lengths),
// network size and flows per switch.
func (r *runner) sweep() error {
	t := Table{Name: "headline_sweep", Title: "mcps against per-flow-random, out-of-band, as the workload moves (Erdős–Rényi)",
		Columns: []string{"varied / setting", "switches", "mean degree", "flows", "mean path length", "mean flows per switch", "mcps / per-flow-random", "greedy / per-flow-random", "mcps saving %"},
		Note:    "each row is the mean of three random graphs and flow sets; out-of-band per-flow-random costs a flat 296 bytes per flow; mean flows per switch is Σ|F_s| / switches"}
	base := r.cfg.SweepPerSwitch[len(r.cfg.SweepPerSwitch)/2]
	type pt struct {
		label string
		n     int
		deg   float64
		per   int
	}
	var pts []pt
	for _, d := range r.cfg.SweepDegrees {
		pts = append(pts, pt{fmt.Sprintf("density / degree %g", d), r.cfg.Switches, d, base})
	}
	for _, n := range r.cfg.SweepSwitches {
		pts = append(pts, pt{fmt.Sprintf("size / %d switches", n), n, r.cfg.ERDegree, base})
	}
	for _, per := range r.cfg.SweepPerSwitch {
		pts = append(pts, pt{fmt.Sprintf("load / %d flows per host", per), r.cfg.Switches, r.cfg.ERDegree, per})
	}
	const reps = 3 // random graphs and flow sets per point, averaged
	for i, p := range pts {
		nf := p.n * p.per
		var deg, plen, load, rm, rg float64
		for k := 0; k < reps; k++ {
			g := topology.ErdosRenyi(p.n, p.deg/float64(p.n-1), r.rng())
			gen, err := Generate(g, mcps.OutOfBand, 1, nf, r.rng())
			if err != nil {
				return err
			}
			in := gen.Instance
			var entries int
			for f := 0; f < in.NumFlows(); f++ {
				entries += len(in.Path(f))
			}
			m, err := mcps.Solve(in, mcps.StrategyMCPS, mcps.Options{BoundRounds: -1})
			if err != nil {
				return err
			}
			gr, err := mcps.Solve(in, mcps.StrategyGreedy, mcps.Options{BoundRounds: -1})
			if err != nil {
				return err
			}
			pf := float64(nf) * float64(in.CostModel().PollSingle())
			deg += 2 * float64(g.NumEdges()) / float64(p.n) / reps
			plen += float64(entries) / float64(nf) / reps
			load += float64(entries) / float64(p.n) / reps
			rm += float64(m.Cost) / pf / reps
			rg += float64(gr.Cost) / pf / reps
		}
		t.RowLabels = append(t.RowLabels, p.label)
		t.Rows = append(t.Rows, []float64{float64(i), float64(p.n), deg, float64(nf), plen, load, rm, rg, 100 * (1 - rm)})
	}
	r.res.Tables = append(r.res.Tables, t)
	return nil
}
