package flowtracker

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBacklogBurstLosesNothing adds 256,000 flows through one switch, then takes the
// switch away (a mass expiry of all of them), while a subscriber with a small buffer
// reads slowly: every event arrives, each flow's Arrived before its Expired, and
// nothing is counted dropped.
func TestBacklogBurstLosesNothing(t *testing.T) {
	n := 256_000
	if testing.Short() {
		n = 20_000
	}
	tr := mustNew(t, Config{})
	sub := tr.Subscribe(1024)
	got := make(chan map[uint64]int, 1)
	go func() {
		seen := make(map[uint64]int, n)
		bad := 0
		for ev := range sub.C {
			switch {
			case ev.Kind == EventArrived && seen[ev.ID] == 0:
				seen[ev.ID] = 1
			case ev.Kind == EventExpired && seen[ev.ID] == 1:
				seen[ev.ID] = 2
			default:
				bad++
			}
			if len(seen)%4096 == 0 {
				runtime.Gosched() // a consumer slower than the tracker
			}
		}
		seen[0] = bad
		got <- seen
	}()
	path := []Hop{{DPID: 7, InPort: 1, OutPort: 2}}
	for i := range n {
		mustAdd(t, tr, benchKey(i), path, t0)
	}
	require.Equal(t, n, tr.RemoveSwitch(7, t0.Add(time.Second)))
	require.Equal(t, 0, tr.Len())
	// Wait until the backlog is worked off, then end the subscription.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if q, _ := sub.Backlog(); q == 0 && len(sub.C) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "backlog not drained")
		time.Sleep(time.Millisecond)
	}
	_, peak := sub.Backlog()
	sub.Cancel()
	seen := <-got
	assert.Zero(t, seen[0], "events out of order")
	delete(seen, 0)
	assert.Len(t, seen, n)
	for id, st := range seen {
		if st != 2 {
			t.Fatalf("flow %d: state %d after the burst", id, st)
		}
	}
	assert.Zero(t, sub.Dropped())
	assert.Zero(t, tr.Stats().Dropped)
	t.Logf("%d flows: backlog peaked at %d events", n, peak)
}

// TestBacklogBound: beyond Config.EventBacklog waiting events, events are dropped and
// counted; once the subscriber reads again, later events flow.
func TestBacklogBound(t *testing.T) {
	tr := mustNew(t, Config{EventBacklog: 3})
	sub := tr.Subscribe(2)
	for i := range 10 {
		mustAdd(t, tr, udpKey(i), line3, t0)
	}
	// 2 buffered, 3 waiting (the pump holds one of them), 5 dropped.
	assert.Equal(t, uint64(5), sub.Dropped())
	assert.Equal(t, uint64(5), tr.Stats().Dropped)
	q, peak := sub.Backlog()
	assert.Equal(t, 3, q)
	assert.Equal(t, 3, peak)
	var ids []uint64
	for range 5 {
		ev := <-sub.C
		ids = append(ids, ev.ID)
	}
	// The first five flows' events, in order.
	for i, id := range ids {
		f, ok := tr.ByKey(udpKey(i))
		require.True(t, ok)
		assert.Equal(t, f.ID, id)
	}
	sub.Cancel()
	for range sub.C {
	}
	mustAdd(t, tr, udpKey(99), line3, t0) // no subscriber: nothing waits, no leak
}

// TestBacklogCancelStopsPump: Cancel with events waiting ends the pump and closes C.
func TestBacklogCancelStopsPump(t *testing.T) {
	before := runtime.NumGoroutine()
	tr := mustNew(t, Config{})
	sub := tr.Subscribe(1)
	for i := range 100 {
		mustAdd(t, tr, udpKey(i), line3, t0)
	}
	q, _ := sub.Backlog()
	require.Equal(t, 99, q)
	sub.Cancel()
	n := 0
	for range sub.C {
		n++
	}
	assert.Equal(t, 1, n)
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		require.True(t, time.Now().Before(deadline), "goroutines %d, before %d", runtime.NumGoroutine(), before)
		time.Sleep(10 * time.Millisecond)
	}
}
