package collector

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
)

// weakNet is fakeNet keeping only weak pointers to the flow statistics replies it
// hands out, by switch: a test sees when the collector has let go of them.
type weakNet struct {
	*fakeNet
	mu      sync.Mutex
	replies map[uint64][]weak.Pointer[ofproto.StatsReply]
}

func (w *weakNet) Request(ctx context.Context, dpid uint64, msg ofproto.Message) ([]ofproto.Message, error) {
	msgs, err := w.fakeNet.Request(ctx, dpid, msg)
	w.mu.Lock()
	for _, m := range msgs {
		if sr, ok := m.(*ofproto.StatsReply); ok {
			w.replies[dpid] = append(w.replies[dpid], weak.Make(sr))
		}
	}
	w.mu.Unlock()
	return msgs, err
}

// held returns how many of switch dpid's replies are still reachable, and how many
// it sent.
func (w *weakNet) held(dpid uint64) (held, sent int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.replies[dpid] {
		if p.Value() != nil {
			held++
		}
	}
	return held, len(w.replies[dpid])
}

// TestRoundIngestsBatchesAsTheyArrive: a switch's replies are matched to flows as
// soon as its batch is back, and let go of then, while the round still waits for a
// slower switch; the round's readings are those of every switch.
func TestRoundIngestsBatchesAsTheyArrive(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyPerFlowMin, Interval: time.Second, RequestTimeout: 2 * time.Second, Pipeline: 1})
	e.c.deps.Clock = time.Now
	w := &weakNet{fakeNet: e.net, replies: map[uint64][]weak.Pointer[ofproto.StatsReply]{}}
	e.c.deps.Requester = w
	e.net.delay[2] = 150 * time.Millisecond // its three singles one after the other
	e.loadLine(t)                           // singles at the ingress: three at s1, three at s2, one at s4
	for _, h := range e.flows {
		e.net.count(h.Cookie, 1000, 10, 1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); e.c.Wait() }()

	done := make(chan RoundResult, 1)
	go func() { done <- e.c.Round(ctx) }()
	// While s2's replies are still coming, s1's are no longer held.
	released := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !released; {
		runtime.GC()
		held, sent := w.held(1)
		_, s2 := w.held(2)
		if sent == 3 && held == 0 && s2 < 3 {
			released = true
			break
		}
		select {
		case res := <-done:
			done <- res
			deadline = time.Time{}
		case <-time.After(10 * time.Millisecond):
		}
	}
	assert.True(t, released, "s1's replies were held until the round's end")
	res := <-done
	assert.Equal(t, 7, res.Requests)
	assert.Zero(t, res.Late)
	assert.Equal(t, 7, res.Readings)
	for _, h := range e.flows {
		f, ok := e.store.Flow(h.ID)
		require.True(t, ok)
		assert.Equal(t, uint64(1000), f.Bytes, "flow %d", h.ID)
	}
}
