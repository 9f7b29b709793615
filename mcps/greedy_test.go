package mcps

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveGreedy is Algorithm 3 by plain scanning: at every step look at every poll-all
// and every poll-single set, take the lowest cost per newly covered flow (ties: a
// poll-single first, then the lower switch or flow index). No heap, no buckets.
func naiveGreedy(in *Instance) (cost int64, all []int32) {
	ns, nf := in.NumSwitches(), in.NumFlows()
	hop := func(s int32) int64 {
		if in.Network().Deployment != InBand {
			return 1
		}
		best := int32(1 << 30)
		for _, row := range in.Network().Hops {
			best = min(best, row[s])
		}
		return int64(best)
	}
	cm := in.CostModel()
	load := make([]int, ns)
	for f := 0; f < nf; f++ {
		for _, s := range in.Path(f) {
			load[s]++
		}
	}
	covered := make([]bool, nf)
	left := nf
	for left > 0 {
		// Best poll-single: lowest cost, then lowest flow index.
		bf, bv := -1, int64(0)
		for f := 0; f < nf; f++ {
			if covered[f] {
				continue
			}
			v := int64(1 << 62)
			for _, s := range in.Path(f) {
				v = min(v, hop(s)*cm.PollSingle())
			}
			if bf < 0 || v < bv {
				bf, bv = f, v
			}
		}
		// Best poll-all by exact rational comparison.
		bs, bc, bu := -1, int64(0), int64(0)
		for s := 0; s < ns; s++ {
			u := int64(0)
			for f := 0; f < nf; f++ {
				if !covered[f] && slices.Contains(in.Path(f), int32(s)) {
					u++
				}
			}
			if u == 0 {
				continue
			}
			c := hop(int32(s)) * cm.PollAll(load[s])
			if bs < 0 || c*bu < bc*u {
				bs, bc, bu = s, c, u
			}
		}
		if bs >= 0 && bc < bv*bu {
			cost += bc
			all = append(all, int32(bs))
			for f := 0; f < nf; f++ {
				if !covered[f] && slices.Contains(in.Path(f), int32(bs)) {
					covered[f] = true
					left--
				}
			}
			continue
		}
		cost += bv
		covered[bf] = true
		left--
	}
	return cost, all
}

// TestGreedyMatchesPlainScan checks the lazy heap and the bucketed poll-singles against
// the plain scan of Algorithm 3: same sets in the same order, same cost.
func TestGreedyMatchesPlainScan(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	cases := 1500
	if testing.Short() {
		cases = 200
	}
	for c := 0; c < cases; c++ {
		in := randomInstance(t, r, 2+r.IntN(12), 1+r.IntN(3), r.IntN(60), 1+r.IntN(6), Deployment(r.IntN(2)))
		wantCost, wantAll := naiveGreedy(in)
		sol, err := Solve(in, StrategyGreedy, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var gotAll []int32
		for _, a := range sol.PollAll {
			gotAll = append(gotAll, a.Switch)
		}
		if sol.Cost != wantCost || !slices.Equal(gotAll, wantAll) {
			t.Fatalf("case %d: greedy %d %v, plain scan %d %v", c, sol.Cost, gotAll, wantCost, wantAll)
		}
	}
}
