package collector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/stats"
)

// TestEventBurstLosesNothing: 256,000 flows arrive through one switch in one burst
// while the collector runs, then the switch goes and all of them expire at once; the
// collector takes every event (none lost, no resync) and ends with no active flow in
// its view or in the statistics store.
func TestEventBurstLosesNothing(t *testing.T) {
	n := 256_000
	if testing.Short() {
		n = 20_000
	}
	tr, err := flowtracker.New(flowtracker.Config{})
	require.NoError(t, err)
	st, err := stats.New(stats.Config{})
	require.NoError(t, err)
	c, err := New(Config{Interval: time.Hour}, Deps{Requester: nullNet{}, Tracker: tr, Store: st,
		Switches: func() []uint64 { return []uint64{7} }})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	now := time.Now()
	start := now
	path := []flowtracker.Hop{{DPID: 7, InPort: 1, OutPort: 2}}
	for i := range n {
		k := key(i)
		k.TPDst, k.NWProto = uint16(i), uint8(i>>16)
		_, _, err := tr.Add(k, path, now)
		require.NoError(t, err)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); !ok(); time.Sleep(5 * time.Millisecond) {
			require.True(t, time.Now().Before(deadline), "%s: %+v", what, c.Counters())
		}
	}
	waitFor("arrivals", func() bool { return c.Counters().ActiveFlows == n })
	_, peak := c.sub.Backlog()
	arrived := time.Since(start)
	start = time.Now()
	require.Equal(t, n, tr.RemoveSwitch(7, now.Add(time.Second)))
	removed := time.Since(start)
	waitFor("expiries", func() bool { return c.Counters().ActiveFlows == 0 })
	_, peak2 := c.sub.Backlog()
	t.Logf("%d flows: added and taken by the collector in %v (backlog peak %d events); switch removed from the tracker in %v, expiries taken in %v (backlog peak %d)",
		n, arrived.Round(time.Millisecond), peak, removed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), peak2)
	k := c.Counters()
	assert.Zero(t, k.EventsLost)
	assert.Zero(t, tr.Stats().Dropped)
	active := 0
	for _, f := range st.Flows() {
		if f.Active {
			active++
		}
	}
	assert.Zero(t, active, "flows still active in the store")
}
