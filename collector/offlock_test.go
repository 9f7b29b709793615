package collector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/poll"
)

// blockingSched hands out its scheduler's work wrapped so that Run waits for the
// test: the test then proves that events, views and counters do not wait for a
// rebuild.
type blockingSched struct {
	*poll.Planned
	started chan struct{}
	release chan struct{}
}

type blockingWork struct {
	poll.Work
	b *blockingSched
}

func (w blockingWork) Run() {
	select {
	case w.b.started <- struct{}{}:
	default: // a later piece of work
	}
	<-w.b.release
	w.Work.Run()
}

func (b *blockingSched) Work(now time.Time) poll.Work {
	w := b.Planned.Work(now)
	if w == nil {
		return nil
	}
	return blockingWork{w, b}
}

func (b *blockingSched) Finish(now time.Time, w poll.Work) error {
	return b.Planned.Finish(now, w.(blockingWork).Work)
}

// TestRebuildOutsideLock: while the scheme is being solved, flow arrivals are
// handled and the views answer; the flow that arrived meanwhile is patched into
// the new scheme and read in the same round.
func TestRebuildOutsideLock(t *testing.T) {
	e := newEnv(t, Config{})
	e.loadLine(t)
	b := &blockingSched{started: make(chan struct{}, 1), release: make(chan struct{})}
	e.c.mu.Lock()
	b.Planned = e.c.sched.(*poll.Planned)
	e.c.sched = b
	e.c.mu.Unlock()

	done := make(chan RoundResult)
	go func() { done <- e.c.Round(context.Background()) }()
	select {
	case <-b.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the round never started a rebuild")
	}
	handled := make(chan struct{})
	go func() {
		e.addFlow(t, 40, 1, 2)
		e.c.Drain()
		_ = e.c.Scheme()
		_ = e.c.Counters()
		close(handled)
	}()
	select {
	case <-handled:
	case <-time.After(10 * time.Second):
		t.Fatal("event handling waited for the rebuild")
	}
	close(b.release)
	var res RoundResult
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("round did not finish")
	}
	assert.Equal(t, 8, res.Readings, "the flow that arrived during the solve is read")
	assert.Equal(t, 8, e.c.Scheme().Flows)
	e.now = e.now.Add(time.Second)
	require.Equal(t, 8, e.c.Round(context.Background()).Readings)
}
