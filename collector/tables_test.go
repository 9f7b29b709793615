package collector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
)

// TestRefusedEntriesNotPolled: a flow whose entry some switches refused is polled
// only where it is installed, and read there; a flow refused everywhere is not
// polled at all.
func TestRefusedEntriesNotPolled(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyPerFlowRandom, Seed: 7})
	h := e.addFlow(t, 0, 1, 4)
	gone := e.addFlow(t, 1, 2, 3)
	e.c.Drain()
	// s1, s3 and s4 refused the first flow's entry; both switches the second's.
	e.net.remove(h.Cookie)
	e.net.install(2, flowkey.ToMatch(key(0), 1), h.Cookie)
	e.net.remove(gone.Cookie)
	for _, d := range []uint64{1, 3, 4} {
		_, err := e.tr.EntryRefused(d, h.Cookie, e.now)
		require.NoError(t, err)
	}
	for _, d := range []uint64{2, 3} {
		_, err := e.tr.EntryRefused(d, gone.Cookie, e.now)
		require.NoError(t, err)
	}
	e.c.Drain()
	e.net.count(h.Cookie, 5000, 5, 1)
	for i := range 8 {
		e.now = t0.Add(time.Duration(i+1) * time.Second)
		e.c.Round(context.Background())
	}
	reqs := e.net.requests()
	require.NotEmpty(t, reqs)
	for _, r := range reqs {
		assert.Equal(t, uint64(2), r.dpid, "polled where no entry exists")
	}
	f, ok := e.store.Flow(h.ID)
	require.True(t, ok)
	assert.Equal(t, uint64(5000), f.Bytes)
	assert.Equal(t, 1, e.c.Counters().ActiveFlows)
}

// TestHostPairPolled: a host-pair aggregate is polled with its wildcards, costed as
// one entry like any flow, and its counters go to its host pair in the matrix.
func TestHostPairPolled(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyPerFlowMin})
	k := flowtracker.HostPairKey(key(4))
	hops := []flowtracker.Hop{{DPID: 2, InPort: 3, OutPort: 2}, {DPID: 3, InPort: 1, OutPort: 3}}
	h, _, err := e.tr.AddGrain(k, flowtracker.GrainHostPair, hops, e.now)
	require.NoError(t, err)
	for _, hp := range hops {
		e.net.install(hp.DPID, flowkey.ToMatchGrain(k, flowtracker.GrainHostPair, ofproto.PortNo(hp.InPort)), h.Cookie)
	}
	e.addFlow(t, 5, 2, 3)
	e.c.Drain()
	e.net.count(h.Cookie, 9000, 9, 1)
	e.now = t0.Add(time.Second)
	res := e.c.Round(context.Background())
	assert.Equal(t, 2, res.Readings)
	var wild int
	for _, r := range e.net.requests() {
		b := r.body.(*ofproto.FlowStatsRequest)
		if b.Match.Wildcards == flowkey.HostPairWildcards {
			wild++
			assert.Zero(t, b.Match.TPSrc|b.Match.TPDst)
		}
	}
	assert.Equal(t, 1, wild, "one poll-single of the aggregate, with its wildcards")
	f, ok := e.store.Flow(h.ID)
	require.True(t, ok)
	assert.Equal(t, uint64(9000), f.Bytes)
	sch := e.c.Scheme()
	assert.Len(t, sch.PollSingle, 2, "the aggregate costs one poll-single like any flow")
	var pairBytes uint64
	src, dst := hostsOf(k)
	for _, m := range e.store.Matrix() {
		if m.Src == src && m.Dst == dst {
			pairBytes += m.Bytes
		}
	}
	assert.Equal(t, uint64(9000), pairBytes, "the aggregate's counters go to its host pair")
}
