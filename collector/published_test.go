package collector

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/poll"
	"github.com/cemon-sdn/cemon/stats"
)

// Two pollers over one network, as two instances of a cluster: a polls switch 2
// whole by an assigned scheme; the entries there of b's flow go to b (HandOver), and
// b takes them (HandedIn) as readings of its flow. Without an assigned scheme a
// polls by its own.
func TestAssignedSchemeAndHandOver(t *testing.T) {
	net := newFakeNet()
	now := t0
	clock := func() time.Time { return now }
	type inst struct {
		tr    *flowtracker.Tracker
		store *stats.Store
		c     *Collector
	}
	var (
		mu     sync.Mutex
		scheme *poll.Assigned
		handed []foreignEntries
	)
	mk := func(base uint64, assigned bool) *inst {
		tr, err := flowtracker.New(flowtracker.Config{})
		require.NoError(t, err)
		tr.Reserve(base)
		st, err := stats.New(stats.Config{})
		require.NoError(t, err)
		d := Deps{Requester: net, Tracker: tr, Store: st, Clock: clock,
			Switches: func() []uint64 { return []uint64{1, 2, 3} }}
		if assigned {
			d.Scheme = func() *poll.Assigned {
				mu.Lock()
				defer mu.Unlock()
				return scheme
			}
			d.HandOver = func(dpid uint64, entries []ofproto.FlowStats, ids []uint64) {
				mu.Lock()
				defer mu.Unlock()
				handed = append(handed, foreignEntries{dpid: dpid, entries: entries, ids: ids})
			}
		}
		c, err := New(Config{}, d)
		require.NoError(t, err)
		t.Cleanup(c.Close)
		return &inst{tr: tr, store: st, c: c}
	}
	a, b := mk(0, true), mk(1<<40, false)
	add := func(in *inst, i int, dpids ...uint64) flowtracker.Handle {
		var hops []flowtracker.Hop
		for _, d := range dpids {
			hops = append(hops, flowtracker.Hop{DPID: d, InPort: 1, OutPort: 2})
		}
		h, _, err := in.tr.Add(key(i), hops, now)
		require.NoError(t, err)
		for _, hp := range hops {
			net.install(hp.DPID, flowkey.ToMatch(key(i), ofproto.PortNo(hp.InPort)), h.Cookie)
		}
		in.c.Drain()
		return h
	}
	fa := add(a, 0, 1, 2)
	fb := add(b, 1, 2, 3)
	net.count(fa.Cookie, 1000, 10, 1)
	net.count(fb.Cookie, 5000, 50, 1)

	// No scheme: a's own (one flow: read singly).
	now = t0.Add(time.Second)
	res := a.c.Round(context.Background())
	assert.Equal(t, 1, res.Requests)
	assert.False(t, a.c.Scheme().Global)
	_, global := a.c.Assigned()
	assert.False(t, global)
	assert.Empty(t, handed)

	// The assigned scheme: switch 2 whole; b's entry there handed over.
	mu.Lock()
	scheme = &poll.Assigned{Revision: 3, PollAll: []uint64{2}}
	mu.Unlock()
	now = t0.Add(2 * time.Second)
	res = a.c.Round(context.Background())
	assert.Equal(t, 1, res.Requests)
	assert.Equal(t, 1, res.Readings)
	s := a.c.Scheme()
	assert.True(t, s.Global)
	assert.Equal(t, int64(3), s.Assigned)
	rev, global := a.c.Assigned()
	assert.True(t, global)
	assert.Equal(t, int64(3), rev)
	_, global = b.c.Assigned()
	assert.False(t, global, "b has no Deps.Scheme")
	mu.Lock()
	require.Len(t, handed, 1)
	h := handed[0]
	mu.Unlock()
	assert.Equal(t, uint64(2), h.dpid)
	assert.Equal(t, []uint64{fb.ID}, h.ids)
	require.Len(t, h.entries, 1)
	assert.Equal(t, fb.Cookie, h.entries[0].Cookie)
	fs, ok := a.store.Flow(fa.ID)
	require.True(t, ok)
	assert.Equal(t, uint64(1000), fs.Bytes)

	// b takes the handed-over reply: a reading of its flow; a's flow is no flow of b.
	b.c.HandedIn(h.dpid, &ofproto.StatsReply{Body: &ofproto.FlowStatsReply{Entries: append(h.entries, ofproto.FlowStats{Cookie: fa.Cookie})}}, now)
	fs, ok = b.store.Flow(fb.ID)
	require.True(t, ok)
	assert.Equal(t, uint64(5000), fs.Bytes)
	assert.Equal(t, uint64(1), b.c.Counters().Unmatched)
	b.c.HandedIn(2, nil, now) // nothing
}
