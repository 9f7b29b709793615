package collector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadingsCarryInterval: every reading tells the store the flow's polling
// interval (the round spacing for the round-based strategies), which the store's
// staleness counts in.
func TestReadingsCarryInterval(t *testing.T) {
	for _, s := range []Strategy{StrategyMCPS, StrategyPerFlowMin, StrategyPollAll} {
		e := newEnv(t, Config{Strategy: s, Interval: 250 * time.Millisecond})
		e.loadLine(t)
		res := e.c.Round(context.Background())
		require.Equal(t, 7, res.Readings, s.String())
		for _, h := range e.flows {
			f, ok := e.store.Flow(h.ID)
			require.True(t, ok)
			assert.Equal(t, 250*time.Millisecond, f.Interval, "%s: flow %d", s, h.ID)
		}
	}
}

// TestRunTicksStore: while Run runs, the Store's clock ticks (its subscribers hear
// of new figures) and Run returns when its context ends.
func TestRunTicksStore(t *testing.T) {
	e := newEnv(t, Config{Interval: 20 * time.Millisecond, StoreTick: 5 * time.Millisecond})
	e.loadLine(t)
	e.net.count(e.flows[0].Cookie, 1000, 10, 1)
	ch, cancelSub := e.store.Subscribe()
	defer cancelSub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.c.Run(ctx) }()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("the store was never ticked")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
}
