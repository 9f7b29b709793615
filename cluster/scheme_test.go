package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/cemon-sdn/cemon/cluster/etcdtest"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/poll"
	"github.com/cemon-sdn/cemon/topology"
)

// savedFlow is a flow over dpids.
func savedFlow(id uint64, dpids ...uint64) controller.SavedFlow {
	f := controller.SavedFlow{ID: id, Cookie: id, Key: flowtracker.Key{NWProto: 17, TPSrc: uint16(id), TPDst: uint16(id >> 16)}}
	for _, d := range dpids {
		f.Path = append(f.Path, flowtracker.Hop{DPID: d, InPort: 1, OutPort: 2})
	}
	return f
}

// checkCovered asserts that parts read every flow of in whose owner is live: a
// poll-all of a switch of its path (in that switch's master's part) or a poll-single
// in its owner's part at a switch of its path; and that each part polls whole only
// switches its instance masters.
func checkCovered(t *testing.T, in SchemeInput, parts map[string]Part) {
	t.Helper()
	whole := map[uint64]bool{}
	single := map[uint64]uint64{}
	singleBy := map[uint64]string{}
	for id, p := range parts {
		for _, k := range p.PollAll {
			d, ok := parseDPID(k)
			require.True(t, ok)
			assert.Equal(t, id, in.Masters[d], "a poll-all of switch %d in %s's part", d, id)
			whole[d] = true
		}
		for k, fs := range p.PollSingle {
			d, ok := parseDPID(k)
			require.True(t, ok)
			for _, f := range fs {
				single[f], singleBy[f] = d, id
			}
		}
	}
	for owner, fs := range in.Flows {
		for _, f := range fs {
			if !in.Live[owner] {
				continue
			}
			covered := false
			for _, h := range f.Path {
				covered = covered || whole[h.DPID]
			}
			if d, ok := single[f.ID]; ok {
				assert.Equal(t, owner, singleBy[f.ID], "flow %d read singly by its owner", f.ID)
				assert.True(t, slices.ContainsFunc(f.Path, func(h flowtracker.Hop) bool { return h.DPID == d }))
				covered = true
			}
			assert.True(t, covered, "flow %d is read", f.ID)
		}
	}
}

func TestSchemeStep(t *testing.T) {
	// Switches 1, 2 mastered by a (1 and 2 hops), 3, 4 by b (1 and 2 hops).
	in := SchemeInput{
		Masters: map[uint64]string{1: "a", 2: "a", 3: "b", 4: "b"},
		Hops:    map[string]map[uint64]int{"a": {1: 1, 2: 2, 3: 3, 4: 4}, "b": {1: 4, 2: 3, 3: 1, 4: 2}},
		Flows:   map[string][]controller.SavedFlow{},
		Live:    map[string]bool{"a": true, "b": true},
	}
	id := uint64(1)
	for range 40 { // many flows at switch 3: a poll-all there
		in.Flows["b"] = append(in.Flows["b"], savedFlow(id, 3, 4))
		id++
	}
	for range 3 { // a's few flows crossing into b's switches
		in.Flows["a"] = append(in.Flows["a"], savedFlow(id, 2, 3, 4))
		id++
	}
	in.Flows["a"] = append(in.Flows["a"], savedFlow(id, 1, 2))
	id++
	in.Flows["gone"] = []controller.SavedFlow{savedFlow(999, 1)} // of no live instance
	s := newSchemer()
	now := time.Unix(100, 0)
	h, parts, changed, err := s.step(now, in)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "masters", h.Reason)
	assert.Equal(t, 44, h.Flows)
	assert.Equal(t, 1, h.Unowned)
	assert.Positive(t, h.Cost)
	assert.LessOrEqual(t, h.LowerBound, h.Cost)
	assert.Equal(t, []string{"a", "b"}, h.Instances)
	checkCovered(t, in, parts)
	assert.Contains(t, parts["b"].PollAll, dpidKey(3), "b's 40 flows at switch 3, 1 hop from b: polled whole")
	// a's crossing flows are covered by b's poll-all of switch 3: a reads them from
	// the hand-over, not singly.
	assert.Len(t, parts["a"].PollSingle[dpidKey(1)], 1)

	// The same input: nothing to publish.
	_, _, changed, err = s.step(now.Add(time.Second), in)
	require.NoError(t, err)
	assert.False(t, changed)

	// DAPR: a new flow of a, a flow of b gone.
	in.Flows["a"] = append(in.Flows["a"], savedFlow(id, 1))
	in.Flows["b"] = in.Flows["b"][1:]
	h, parts, changed, err = s.step(now.Add(2*time.Second), in)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Contains(t, []string{"flows", "rebuild"}, h.Reason)
	assert.Equal(t, 44, h.Flows)
	checkCovered(t, in, parts)

	// New masters: rebuilt from scratch, the poll-all of switch 3 now a's.
	in.Masters[3], in.Masters[4] = "a", "a"
	h, parts, changed, err = s.step(now.Add(3*time.Second), in)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "masters", h.Reason)
	checkCovered(t, in, parts)
	assert.Empty(t, parts["b"].PollAll)
	// b's flows read singly move to a switch of b's... b masters none of their path:
	// they are read at their first switch.
	for k := range parts["b"].PollSingle {
		assert.Equal(t, dpidKey(3), k)
	}
}

func TestSchemeSinglesMoveToTheOwner(t *testing.T) {
	// One flow of a over 1 (a, 5 hops) and 2 (b, 1 hop): the solver reads it at
	// switch 2; a alone has its match, so it moves to switch 1.
	in := SchemeInput{
		Masters: map[uint64]string{1: "a", 2: "b"},
		Hops:    map[string]map[uint64]int{"a": {1: 5, 2: 6}, "b": {1: 6, 2: 1}},
		Flows:   map[string][]controller.SavedFlow{"a": {savedFlow(7, 1, 2)}},
		Live:    map[string]bool{"a": true, "b": true},
	}
	h, parts, _, err := newSchemer().step(time.Unix(1, 0), in)
	require.NoError(t, err)
	assert.Equal(t, 1, h.Moved)
	assert.Equal(t, []uint64{7}, parts["a"].PollSingle[dpidKey(1)])
	assert.Empty(t, parts["b"].PollSingle)
	assert.Empty(t, parts["b"].PollAll)
	a := assigned(&Part{Revision: 3, PollAll: []string{dpidKey(9), "bad"}, PollSingle: map[string][]uint64{dpidKey(1): {7, 8}, "x": {1}}})
	assert.Equal(t, &poll.Assigned{Revision: 3, PollAll: []uint64{9}, PollSingle: []poll.Single{{Flow: 7, DPID: 1}, {Flow: 8, DPID: 1}}}, a)
}

// abilene is the Abilene network (switch i+1 is the GML's node i) and every
// switch's hop count from the instances at switches at (BFS distance plus one).
func abilene(tb testing.TB, at map[string]uint64) (*topology.Graph, map[string]map[uint64]int) {
	tb.Helper()
	data, err := os.ReadFile("../topology/testdata/Abilene.gml")
	require.NoError(tb, err)
	g, err := topology.ParseGML(data)
	require.NoError(tb, err)
	hops := map[string]map[uint64]int{}
	for id, d := range at {
		dist, _ := g.BFS(int(d - 1))
		hops[id] = map[uint64]int{}
		for i, x := range dist {
			hops[id][uint64(i+1)] = x + 1
		}
	}
	return g, hops
}

// abileneFlows spreads n flows over shortest paths between random switch pairs of g,
// each owned by the master of its first switch.
func abileneFlows(g *topology.Graph, masters map[uint64]string, n int) map[string][]controller.SavedFlow {
	out := map[string][]controller.SavedFlow{}
	nodes := g.NumNodes()
	x := uint64(12345)
	for i := range n {
		x = x*6364136223846793005 + 1442695040888963407
		src, dst := int(x>>33)%nodes, int(x>>17)%nodes
		if src == dst {
			dst = (dst + 1) % nodes
		}
		var dpids []uint64
		for _, v := range g.ShortestPath(src, dst) {
			dpids = append(dpids, uint64(v+1))
		}
		f := savedFlow(uint64(i+1), dpids...)
		out[masters[dpids[0]]] = append(out[masters[dpids[0]]], f)
	}
	return out
}

// localCost is what the instances' own schemes cost together, each over its own
// flows with its own costs: its hops to the switches it masters, 64 to the others
// (what cemon run gives an instance polling by its own scheme).
func localCost(tb testing.TB, in SchemeInput) int64 {
	var total int64
	for id, fs := range in.Flows {
		p, err := poll.NewPlanned(poll.PlannedConfig{Strategy: poll.MCPS, Deployment: mcps.InBand})
		require.NoError(tb, err)
		var sw []poll.Switch
		for d, m := range in.Masters {
			h := 64
			if m == id {
				h = max(in.Hops[id][d], 1)
			}
			sw = append(sw, poll.Switch{DPID: d, Hops: h})
		}
		p.SetSwitches(time.Unix(0, 0), sw)
		for _, f := range fs {
			var dp []uint64
			for _, h := range f.Path {
				dp = append(dp, h.DPID)
			}
			p.OnArrive(time.Unix(0, 0), poll.Flow{ID: f.ID, DPIDs: dp})
		}
		require.NoError(tb, poll.Settle(p, time.Unix(0, 0)))
		// Priced by the masters' hops, as the global scheme is.
		plan := p.Plan()
		total += schemeCost(in, plan)
	}
	return total
}

// schemeCost prices a plan with each switch's cost from its master.
func schemeCost(in SchemeInput, plan poll.Plan) int64 {
	costs := switchCosts(in)
	w := mcps.WireCost{}
	counts := map[uint64]int{}
	for _, fs := range in.Flows {
		for _, f := range fs {
			for _, h := range f.Path {
				counts[h.DPID]++
			}
		}
	}
	var total int64
	for _, d := range plan.PollAll {
		total += int64(costs[d]) * w.PollAll(counts[d])
	}
	for _, s := range plan.PollSingle {
		total += int64(costs[s.DPID]) * w.PollSingle()
	}
	return total
}

func abileneInput(tb testing.TB, n int) SchemeInput {
	at := map[string]uint64{"a": 1, "b": 4, "c": 9}
	g, hops := abilene(tb, at)
	var cands []Candidate
	for id, h := range hops {
		cands = append(cands, Candidate{ID: id, Hops: h})
	}
	masters := Assign(cands, nil)
	return SchemeInput{Masters: masters, Hops: hops, Flows: abileneFlows(g, masters, n),
		Live: map[string]bool{"a": true, "b": true, "c": true}}
}

func TestSchemeAbileneBelowLocal(t *testing.T) {
	in := abileneInput(t, 2000)
	h, parts, _, err := newSchemer().step(time.Unix(1, 0), in)
	require.NoError(t, err)
	checkCovered(t, in, parts)
	local := localCost(t, in)
	t.Logf("Abilene, 3 instances, 2000 flows: global scheme %d B a round (solver %d, bound %d, %d poll-all, %d single, %d moved), instances' own schemes %d B",
		schemeCostParts(in, parts), h.Cost, h.LowerBound, h.PollAll, h.PollSingle, h.Moved, local)
	assert.Less(t, schemeCostParts(in, parts), local)
}

// schemeCostParts prices published parts, each switch's cost from its master.
func schemeCostParts(in SchemeInput, parts map[string]Part) int64 {
	var plan poll.Plan
	for _, p := range parts {
		plan.PollAll = append(plan.PollAll, assigned(&p).PollAll...)
		plan.PollSingle = append(plan.PollSingle, assigned(&p).PollSingle...)
	}
	return schemeCost(in, plan)
}

func BenchmarkGlobalScheme(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		in := abileneInput(b, n)
		b.Run("abilene-3-instances-"+strconv.Itoa(n)+"-flows/build", func(b *testing.B) {
			b.ReportAllocs()
			var h Scheme
			var parts map[string]Part
			for b.Loop() {
				var err error
				h, parts, _, err = newSchemer().step(time.Unix(1, 0), in)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(schemeCostParts(in, parts)), "global-B/round")
			b.ReportMetric(float64(h.LowerBound), "bound-B/round")
			b.ReportMetric(float64(localCost(b, in)), "local-B/round")
			largest := 0
			for _, p := range parts {
				j, _ := json.Marshal(p)
				largest = max(largest, len(j))
			}
			b.ReportMetric(float64(largest), "largest-part-B")
		})
		b.Run("abilene-3-instances-"+strconv.Itoa(n)+"-flows/dapr-1pct", func(b *testing.B) {
			// The leader's step when 1 % of the flows changed: DAPR patches.
			b.ReportAllocs()
			s := newSchemer()
			if _, _, _, err := s.step(time.Unix(1, 0), in); err != nil {
				b.Fatal(err)
			}
			alt := SchemeInput{Masters: in.Masters, Hops: in.Hops, Live: in.Live, Flows: map[string][]controller.SavedFlow{}}
			for id, fs := range in.Flows {
				alt.Flows[id] = fs[len(fs)/100:]
			}
			for i := 0; b.Loop(); i++ {
				cur := in
				if i%2 == 0 {
					cur = alt
				}
				if _, _, _, err := s.step(time.Unix(1, 0), cur); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The leader publishes the global scheme with a revision, each instance polls its
// part; with the leader gone the part is stale and the instances poll by their own
// schemes until the new leader publishes a new revision.
func TestGlobalSchemePublished(t *testing.T) {
	etcd := etcdtest.Start(t, 3)
	a, b, c := threeInstances(t, etcd.Endpoints())
	ins := []*instance{a, b, c}
	// Each instance's flows start at its switches (a: 1, 2; b: 3, 4; c: 5, 6), many
	// crossing to 3, so that a poll-all of 3 (b's) reads a's flows too.
	id := uint64(1)
	add := func(in *instance, n int, path ...uint64) {
		in.ctl.mu.Lock()
		defer in.ctl.mu.Unlock()
		for range n {
			in.ctl.flows = append(in.ctl.flows, savedFlow(id, path...))
			id++
		}
	}
	add(a, 30, 2, 3)
	add(b, 30, 3, 4)
	add(c, 2, 5, 6)
	var rev int64
	require.Eventually(t, func() bool {
		for _, in := range ins {
			if in.node.PollScheme() == nil {
				return false
			}
		}
		s := a.node.Status()
		rev = s.Scheme.Revision
		return s.Scheme.Flows == 62 && s.SchemeRevision == rev && b.node.Status().SchemeRevision == rev
	}, 15*time.Second, 50*time.Millisecond, "every instance polls by the published scheme: %+v %q %q", a.node.Status().Scheme, a.node.Status().LastError, c.node.Status().LastError)
	pb := b.node.PollScheme()
	assert.Contains(t, pb.PollAll, uint64(3), "b polls switch 3 whole: %+v", pb)
	for _, in := range ins {
		for _, s := range in.node.PollScheme().PollSingle {
			assert.True(t, slices.Contains(in.ctl.mastered(), s.DPID), "%s reads singly only at its switches", in.id)
		}
	}

	// DAPR: a new flow is in the next revision.
	add(c, 1, 6)
	var last Status
	if !assert.Eventually(t, func() bool {
		last = c.node.Status()
		return last.Scheme.Revision > rev && last.Scheme.Flows == 63 && last.SchemeRevision == last.Scheme.Revision
	}, 10*time.Second, 50*time.Millisecond) {
		t.Fatalf("%+v %+v", last.Scheme, last.SchemeWhy)
	}
	rev = c.node.Status().Scheme.Revision

	// The leader killed: its scheme is stale once its lease expires (the others poll
	// by their own schemes), and the new leader publishes a new one.
	var lead *instance
	var rest []*instance
	for _, in := range ins {
		if in.node.Status().IsLeader {
			lead = in
		} else {
			rest = append(rest, in)
		}
	}
	require.NotNil(t, lead)
	lead.kill()
	sawLocal := false
	var seen []string
	require.Eventually(t, func() bool {
		if rest[0].node.PollScheme() == nil {
			sawLocal = true
			assert.NotEmpty(t, rest[0].node.Status().SchemeWhy)
		}
		s := rest[0].node.Status()
		seen = append(seen, fmt.Sprintf("%d/%d %s", s.SchemeRevision, s.Scheme.Revision, s.SchemeWhy))
		return s.SchemeRevision > rev && s.Scheme.Leader != lead.id && rest[1].node.PollScheme() != nil
	}, 15*time.Second, 20*time.Millisecond, "a new scheme from the new leader: %+v", rest[0].node.Status())
	// (The window between the two is about one Interval: seen, not asserted here;
	// TestSchemeStale checks the staleness itself.)
	t.Logf("leader killed; saw the own scheme in between: %v (%v)", sawLocal, slices.Compact(seen))
}

// A published scheme is current only while its leader is a member and it is of the
// assignment in force; otherwise, or disconnected, the instance polls by its own.
func TestSchemeStale(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	cli := etcdClient(t, etcd.Endpoints())
	ctx := context.Background()
	n, err := New(Config{Endpoints: etcd.Endpoints(), ID: "b"}, newFakeCtl(3), nil)
	require.NoError(t, err)
	n.status.Connected = true
	require.NoError(t, n.followScheme(ctx, cli, Masters{Revision: 4}, nil))
	assert.Nil(t, n.PollScheme())
	assert.Equal(t, "no scheme published yet", n.Status().SchemeWhy)

	h, _ := json.Marshal(Scheme{Revision: 7, Leader: "a", MastersRevision: 4, Instances: []string{"a", "b"}})
	p, _ := json.Marshal(Part{Revision: 7, PollAll: []string{dpidKey(3)}})
	_, err = cli.Txn(ctx).Then(clientv3.OpPut(DefaultPrefix+"scheme", string(h)), clientv3.OpPut(DefaultPrefix+"schemes/b", string(p))).Commit()
	require.NoError(t, err)
	members := []Member{{ID: "a"}, {ID: "b"}}
	require.NoError(t, n.followScheme(ctx, cli, Masters{Revision: 4}, members))
	require.Equal(t, &poll.Assigned{Revision: 7, PollAll: []uint64{3}}, n.PollScheme())
	assert.Equal(t, int64(7), n.Status().SchemeRevision)

	require.NoError(t, n.followScheme(ctx, cli, Masters{Revision: 5}, members))
	assert.Nil(t, n.PollScheme())
	assert.Equal(t, "the scheme is of an older assignment of masters", n.Status().SchemeWhy)
	assert.Zero(t, n.Status().SchemeRevision)

	require.NoError(t, n.followScheme(ctx, cli, Masters{Revision: 4}, members[1:]))
	assert.Nil(t, n.PollScheme())
	assert.Equal(t, "the scheme's leader has left", n.Status().SchemeWhy)

	require.NoError(t, n.followScheme(ctx, cli, Masters{Revision: 4}, members))
	require.NotNil(t, n.PollScheme())
	n.mu.Lock()
	n.status.Connected = false
	n.mu.Unlock()
	assert.Nil(t, n.PollScheme())
	assert.Equal(t, "not connected to etcd", n.Status().SchemeWhy)

	// A part of another revision than the header's is no part.
	p, _ = json.Marshal(Part{Revision: 6})
	h, _ = json.Marshal(Scheme{Revision: 8, Leader: "a", MastersRevision: 4})
	_, err = cli.Txn(ctx).Then(clientv3.OpPut(DefaultPrefix+"scheme", string(h)), clientv3.OpPut(DefaultPrefix+"schemes/b", string(p))).Commit()
	require.NoError(t, err)
	n.status.Connected = true
	require.NoError(t, n.followScheme(ctx, cli, Masters{Revision: 4}, members))
	assert.Nil(t, n.PollScheme())
	assert.Equal(t, "no part for this instance in the scheme", n.Status().SchemeWhy)
}
