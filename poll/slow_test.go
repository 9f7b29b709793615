package poll

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/mcps"
)

// slowPlanned is a Planned scheduler (no offloading: Due solves inline) over flows
// with the given paths, switches 1..ns.
func slowPlanned(t *testing.T, s Strategy, ns int, paths [][]uint64) (*Planned, map[uint64][]uint64) {
	t.Helper()
	p, err := NewPlanned(PlannedConfig{Strategy: s, ReplyTimeEvery: -1})
	require.NoError(t, err)
	p.SetSwitches(t0, switches(ns))
	flows := map[uint64][]uint64{}
	for i, path := range paths {
		id := uint64(i + 1)
		p.OnArrive(t0, Flow{ID: id, DPIDs: path})
		flows[id] = path
	}
	return p, flows
}

func withSlow(ns int, slow ...uint64) []Switch {
	sw := switches(ns)
	for i := range sw {
		for _, d := range slow {
			if sw[i].DPID == d {
				sw[i].Slow = true
			}
		}
	}
	return sw
}

// TestSlowSwitchTieBreak: 40 flows cross the line s1-s2-s3, so a poll-all at any of
// the three costs the same; the scheme polls s1 (the lowest dpid) until s1 is found
// slow, then s2, then s3 when s2 is slow too, and s1 again once both answer fast;
// the cost never changes.
func TestSlowSwitchTieBreak(t *testing.T) {
	paths := make([][]uint64, 40)
	for i := range paths {
		paths[i] = []uint64{1, 2, 3}
	}
	p, flows := slowPlanned(t, MCPS, 3, paths)
	due := p.Due(t0, nil)
	checkDue(t, p, due, flows)
	plan := p.Plan()
	require.Equal(t, []uint64{1}, plan.PollAll)
	cost := plan.Cost

	for _, c := range []struct {
		slow []uint64
		want uint64
	}{{[]uint64{1}, 2}, {[]uint64{1, 2}, 3}, {nil, 1}, {[]uint64{3}, 1}} {
		p.SetSwitches(t0, withSlow(3, c.slow...))
		due = p.Due(t0, nil)
		checkDue(t, p, due, flows)
		plan = p.Plan()
		assert.Equal(t, []uint64{c.want}, plan.PollAll, "slow %v", c.slow)
		assert.Equal(t, cost, plan.Cost, "slow %v", c.slow)
	}
	// Only a change of a switch's class rebuilds: the same slow set again does not.
	n := p.Plan().Rebuilds
	p.SetSwitches(t0, withSlow(3, 3))
	p.Due(t0, nil)
	assert.Equal(t, n, p.Plan().Rebuilds)
	require.NotNil(t, p.Plan().Last)
	assert.Equal(t, "reply-time", p.Plan().Last.Reason)
}

// TestSlowSwitchStillPolledWhenCheaper: a slow switch that is the only one of some
// flows, or the cheaper place to read them, is still polled: the preference acts
// only between choices of equal cost.
func TestSlowSwitchStillPolledWhenCheaper(t *testing.T) {
	var paths [][]uint64
	for range 30 {
		paths = append(paths, []uint64{2}) // s2 alone
	}
	for range 10 {
		paths = append(paths, []uint64{1, 2}) // s1 then s2
	}
	p, flows := slowPlanned(t, MCPS, 2, paths)
	checkDue(t, p, p.Due(t0, nil), flows)
	before := p.Plan()
	require.Equal(t, []uint64{2}, before.PollAll)
	p.SetSwitches(t0, withSlow(2, 2))
	checkDue(t, p, p.Due(t0, nil), flows)
	after := p.Plan()
	assert.Equal(t, []uint64{2}, after.PollAll)
	assert.Equal(t, before.Cost, after.Cost)
}

// TestSlowSwitchNeverCostsMore: on random instances, marking random switches slow
// never yields a dearer scheme than the plain dpid order (Run keeps the cheaper of
// the two), under every planned strategy, out-of-band and in-band.
func TestSlowSwitchNeverCostsMore(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 17))
	for trial := range 30 {
		ns := 3 + r.IntN(8)
		paths := make([][]uint64, 5+r.IntN(60))
		for i := range paths {
			paths[i] = randomPath(r, ns)
		}
		dep := mcps.OutOfBand
		if trial%2 == 1 {
			dep = mcps.InBand
		}
		sw := switches(ns)
		for i := range sw {
			sw[i].Hops = 1 + r.IntN(3)
		}
		plain, err := NewPlanned(PlannedConfig{Strategy: MCPS, Deployment: dep})
		require.NoError(t, err)
		tied, err := NewPlanned(PlannedConfig{Strategy: MCPS, Deployment: dep})
		require.NoError(t, err)
		slow := append([]Switch(nil), sw...)
		for i := range slow {
			slow[i].Slow = r.IntN(3) == 0
		}
		plain.SetSwitches(t0, sw)
		tied.SetSwitches(t0, slow)
		flows := map[uint64][]uint64{}
		for i, path := range paths {
			id := uint64(i + 1)
			plain.OnArrive(t0, Flow{ID: id, DPIDs: path})
			tied.OnArrive(t0, Flow{ID: id, DPIDs: path})
			flows[id] = path
		}
		plain.Due(t0, nil)
		checkDue(t, tied, tied.Due(t0, nil), flows)
		assert.LessOrEqual(t, tied.Plan().Cost, plain.Plan().Cost, "trial %d", trial)
	}
}

// TestSlowSwitchSingles: a poll-single the planner puts at a slow switch goes to the
// first fast switch of the flow's path from the read point that costs the same
// (out-of-band any; in-band one as many hops from the controller); a flow with no
// such switch stays where it is. The scheme's cost does not change.
func TestSlowSwitchSingles(t *testing.T) {
	tests := []struct {
		name    string
		dep     mcps.Deployment
		rp      mcps.ReadPoint
		hops    []int // of s1..s3
		slow    uint64
		want    uint64 // where flow 1 (path s1-s2-s3) is read
		wantOne uint64 // where flow 2 (s1 alone) is read
	}{
		{"ingress", mcps.OutOfBand, mcps.ReadIngress, nil, 1, 2, 1},
		{"egress", mcps.OutOfBand, mcps.ReadEgress, nil, 3, 2, 1},
		{"not slow", mcps.OutOfBand, mcps.ReadIngress, nil, 2, 1, 1},
		{"in-band equal hops", mcps.InBand, mcps.ReadIngress, []int{1, 2, 1}, 1, 3, 1},
		{"in-band none equal", mcps.InBand, mcps.ReadIngress, []int{1, 2, 3}, 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlanned(PlannedConfig{Strategy: PerFlowMin, Deployment: tt.dep, ReadPoint: tt.rp})
			require.NoError(t, err)
			sw := switches(3)
			for i := range sw {
				if tt.hops != nil {
					sw[i].Hops = tt.hops[i]
				}
			}
			p.SetSwitches(t0, sw)
			flows := map[uint64][]uint64{1: {1, 2, 3}, 2: {1}}
			for id, path := range flows {
				p.OnArrive(t0, Flow{ID: id, DPIDs: path})
			}
			checkDue(t, p, p.Due(t0, nil), flows)
			cost := p.Plan().Cost
			for i := range sw {
				sw[i].Slow = sw[i].DPID == tt.slow
			}
			p.SetSwitches(t0, sw)
			due := p.Due(t0, nil)
			checkDue(t, p, due, flows)
			at := map[uint64]uint64{}
			for _, r := range due {
				at[r.Flow] = r.DPID
			}
			assert.Equal(t, tt.want, at[1])
			assert.Equal(t, tt.wantOne, at[2])
			assert.Equal(t, cost, p.Plan().Cost)
			assert.Equal(t, []Single{{Flow: 1, DPID: tt.want}, {Flow: 2, DPID: tt.wantOne}}, p.Plan().PollSingle)
		})
	}
}

// TestReplyTimeRebuildsSpaced: by default a change of the slow set rebuilds the scheme
// at most every ReplyTimeEvery (a rebuild only moves ties, and under load the slow set
// changes nearly every round); one still pending when the time has passed is made then.
func TestReplyTimeRebuildsSpaced(t *testing.T) {
	paths := make([][]uint64, 40)
	for i := range paths {
		paths[i] = []uint64{1, 2, 3}
	}
	p, err := NewPlanned(PlannedConfig{Strategy: MCPS, ReplyTimeFlows: 40})
	require.NoError(t, err)
	p.SetSwitches(t0, switches(3))
	flows := map[uint64][]uint64{}
	for i, path := range paths {
		p.OnArrive(t0, Flow{ID: uint64(i + 1), DPIDs: path})
		flows[uint64(i+1)] = path
	}
	checkDue(t, p, p.Due(t0, nil), flows)
	base := p.Plan().Rebuilds

	slowAt(t, p, flows, 1, 1)
	require.Equal(t, base+1, p.Plan().Rebuilds, "the first change rebuilds at once")
	require.Equal(t, []uint64{2}, p.Plan().PollAll)

	for s := 2; s < 31; s++ { // the slow set flips every round for 30 s
		slowAt(t, p, flows, s, uint64(1+s%2))
	}
	require.Equal(t, base+1, p.Plan().Rebuilds, "no rebuild within 30 s of the last")

	at := slowAt(t, p, flows, 31, 2)
	require.Equal(t, base+2, p.Plan().Rebuilds)
	assert.Equal(t, []uint64{1}, p.Plan().PollAll)
	assert.Equal(t, "reply-time", p.Plan().Last.Reason)

	// Below ReplyTimeFlows every change rebuilds, as before.
	p.OnExpire(at, 40)
	delete(flows, 40)
	for s := 32; s < 35; s++ {
		slowAt(t, p, flows, s, uint64(1+s%2))
	}
	assert.Equal(t, base+5, p.Plan().Rebuilds)
}

// TestReplyTimeRebuildsScaled: a scheme larger than ReplyTimeScale waits longer in
// proportion between two reply-time rebuilds: 40 flows at a scale of 20, twice
// ReplyTimeEvery (30 s).
func TestReplyTimeRebuildsScaled(t *testing.T) {
	p, err := NewPlanned(PlannedConfig{Strategy: MCPS, ReplyTimeFlows: 10, ReplyTimeScale: 20})
	require.NoError(t, err)
	p.SetSwitches(t0, switches(3))
	flows := map[uint64][]uint64{}
	for i := range 40 {
		p.OnArrive(t0, Flow{ID: uint64(i + 1), DPIDs: []uint64{1, 2, 3}})
		flows[uint64(i+1)] = []uint64{1, 2, 3}
	}
	checkDue(t, p, p.Due(t0, nil), flows)
	base := p.Plan().Rebuilds
	slowAt(t, p, flows, 1, 1)
	require.Equal(t, base+1, p.Plan().Rebuilds, "the first change rebuilds at once")
	for s := 2; s < 61; s++ {
		slowAt(t, p, flows, s, uint64(1+s%2))
	}
	require.Equal(t, base+1, p.Plan().Rebuilds, "no rebuild within 60 s of the last")
	slowAt(t, p, flows, 61, 2)
	require.Equal(t, base+2, p.Plan().Rebuilds)
	assert.Equal(t, "reply-time", p.Plan().Last.Reason)
}

// slowAt makes switch slow the slow one of three at t0 + sec seconds and checks that
// round's requests; it returns the time.
func slowAt(t *testing.T, p *Planned, flows map[uint64][]uint64, sec int, slow uint64) time.Time {
	t.Helper()
	at := t0.Add(time.Duration(sec) * time.Second)
	p.SetSwitches(at, withSlow(3, slow))
	checkDue(t, p, p.Due(at, nil), flows)
	return at
}
