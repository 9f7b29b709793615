package collector

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/stats"
)

func arrivedEvent(id uint64, i int, at time.Time) flowtracker.Event {
	path := []flowtracker.Hop{{DPID: 1, InPort: 3, OutPort: 2}, {DPID: 2, InPort: 1, OutPort: 3}}
	return flowtracker.Event{Kind: flowtracker.EventArrived, ID: id, Key: key(i), DPIDs: []uint64{1, 2}, Installed: []uint64{1, 2},
		Path: path, Time: at}
}

// TestHandleEventsInOrder: a batch that holds a flow's arrival and its expiry, and
// arrivals around them, leaves the same flows as the events one by one would.
func TestHandleEventsInOrder(t *testing.T) {
	e := newEnv(t, Config{})
	at := e.now
	evs := []flowtracker.Event{
		arrivedEvent(101, 1, at), arrivedEvent(102, 2, at),
		{Kind: flowtracker.EventExpired, ID: 101, DPIDs: []uint64{1, 2}, Time: at.Add(time.Second)},
		arrivedEvent(103, 3, at.Add(time.Second)),
		{Kind: flowtracker.EventChanged, ID: 103, DPIDs: []uint64{1, 2}, Installed: []uint64{2}, Time: at.Add(time.Second)},
	}
	e.c.HandleEvents(evs)
	k := e.c.Counters()
	assert.Equal(t, 2, k.ActiveFlows)
	e.c.mu.Lock()
	_, has101 := e.c.flows.Get(101)
	f103, _ := e.c.flows.Get(103)
	refused103 := e.c.refused[103]
	e.c.mu.Unlock()
	assert.False(t, has101, "expired in the same batch after its arrival")
	require.NotNil(t, f103)
	assert.True(t, f103.refused)
	assert.Equal(t, []uint64{1}, refused103, "its change came after its arrival")
	active := map[uint64]bool{}
	for _, f := range e.store.Flows() {
		active[f.ID] = f.Active
	}
	assert.Equal(t, map[uint64]bool{101: false, 102: true, 103: true}, active)
	// Scheduled where it may be read: 102 at either switch, 103 only at s2.
	plan := e.c.Scheme()
	assert.Equal(t, 2, plan.Flows)
}

// BenchmarkIntake measures taking a burst of flow arrivals: one event at a time (the
// lock the rounds use taken per flow) and in Run's batches.
func BenchmarkIntake(b *testing.B) {
	const n = 100_000
	evs := make([]flowtracker.Event, n)
	for i := range evs {
		evs[i] = arrivedEvent(uint64(i+1), i, t0)
		evs[i].Key.TPDst, evs[i].Key.NWProto = uint16(i), uint8(i>>16)
	}
	for _, batch := range []int{1, eventBatch} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				tr, _ := flowtracker.New(flowtracker.Config{})
				st, _ := stats.New(stats.Config{})
				c, err := New(Config{}, Deps{Requester: nullNet{}, Tracker: tr, Store: st, Switches: func() []uint64 { return []uint64{1, 2} }})
				require.NoError(b, err)
				c.Round(context.Background()) // the scheme exists: arrivals are DAPR patches
				b.StartTimer()
				for j := 0; j < n; j += batch {
					c.HandleEvents(evs[j:min(j+batch, n)])
				}
				b.StopTimer()
				c.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/flow")
		})
	}
}
