package collector

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/poll"
	"github.com/cemon-sdn/cemon/stats"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSlowSwitchLeftBehind: s2 answers its statistics 300 ms late, rounds have
// 100 ms. The first round waits for s2 until RoundTimeout and leaves its batch out;
// its readings are applied when they come, stamped with the request/reply midpoint.
// s2 is then found slow, and its poll-singles move to s3, as cheap and on the same
// paths: the next round reads every flow in time.
func TestSlowSwitchLeftBehind(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyPerFlowMin, Interval: 100 * time.Millisecond, RequestTimeout: 2 * time.Second, Pipeline: 1})
	e.c.deps.Clock = time.Now
	e.net.delay[2] = 300 * time.Millisecond
	e.loadLine(t) // singles at the ingress: three at s1, three at s2, one at s4
	for _, h := range e.flows {
		e.net.count(h.Cookie, 1000, 10, 1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); e.c.Wait() }()

	start := time.Now()
	res := e.c.Round(ctx)
	assert.Less(t, time.Since(start), 250*time.Millisecond)
	assert.Equal(t, 7, res.Requests)
	assert.Equal(t, 1, res.Late)
	assert.Equal(t, 4, res.Readings) // s1's three and s4's one
	e.c.Wait()
	got := time.Now()
	k := e.c.Counters()
	assert.Equal(t, uint64(1), k.Late)
	// s2's first request took 300 ms, its others were not started after the round.
	assert.Equal(t, uint64(1), k.LateReadings)
	assert.Equal(t, uint64(2), k.Skipped)
	rt := e.c.ReplyTimes()
	require.Len(t, rt, 3)
	s2 := rt[1]
	require.Equal(t, uint64(2), s2.DPID)
	assert.True(t, s2.Slow)
	assert.GreaterOrEqual(t, s2.Smoothed, 300*time.Millisecond)
	assert.Less(t, rt[0].Smoothed, 50*time.Millisecond)
	assert.False(t, rt[0].Slow)
	// The late reading is stamped at the midpoint: about 150 ms after the request.
	var read int
	for _, h := range e.flows[3:6] {
		f, ok := e.store.Flow(h.ID)
		require.True(t, ok)
		if f.Readings == 0 {
			continue
		}
		read++
		assert.WithinDuration(t, start.Add(150*time.Millisecond), f.LastPolled, 60*time.Millisecond)
		assert.True(t, f.LastPolled.Before(got.Add(-100*time.Millisecond)))
	}
	assert.Equal(t, 1, read)

	// Found slow: the scheme moves s2's singles to s3 (the same cost, on the same
	// paths), so the next round reads all seven flows in time and asks s2 nothing.
	asked := func(dpid uint64) int {
		n := 0
		for _, r := range e.net.requests() {
			if r.dpid == dpid {
				n++
			}
		}
		return n
	}
	s2asked := asked(2)
	start = time.Now()
	res = e.c.Round(ctx)
	assert.Less(t, time.Since(start), 150*time.Millisecond)
	assert.Equal(t, 0, res.Late)
	assert.Equal(t, 7, res.Readings)
	assert.Equal(t, s2asked, asked(2))
	assert.Equal(t, 3, asked(3))
	e.c.Wait()
}

// TestLateReadingOfAFlowReadInTime: a late batch's reading of a flow the round
// already read from a faster switch is dropped (one reading per flow and round).
func TestLateReadingOfAFlowReadInTime(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyPollAll, Interval: 100 * time.Millisecond, RequestTimeout: 2 * time.Second})
	e.c.deps.Clock = time.Now
	e.net.delay[3] = 250 * time.Millisecond
	e.loadLine(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); e.c.Wait() }()
	res := e.c.Round(ctx)
	assert.Equal(t, 1, res.Late)
	assert.Equal(t, 7, res.Readings) // every flow crosses s1, s2 or s4
	e.c.Wait()
	assert.Equal(t, uint64(0), e.c.Counters().LateReadings)
	assert.Equal(t, uint64(0), e.c.Counters().Unmatched, "a reading left out is not an entry of no flow")
	for _, h := range e.flows {
		f, ok := e.store.Flow(h.ID)
		require.True(t, ok)
		assert.Equal(t, 1, f.Readings, "flow %d", h.ID)
	}
}

// TestSlowSwitchMetrics: the reply times, the slow flag, late batches and busy
// requests are exported per switch.
func TestSlowSwitchMetrics(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyPollAll, Interval: 100 * time.Millisecond, RequestTimeout: 2 * time.Second})
	e.net.stall[4] = true
	e.loadLine(t)
	ctx, cancel := context.WithCancel(context.Background())
	e.c.Round(ctx)
	e.c.Round(ctx) // s4's batch is still out: busy
	cancel()
	e.c.Wait()
	m := NewMetrics(e.c)
	problems, err := testutil.CollectAndLint(m)
	require.NoError(t, err)
	assert.Empty(t, problems)
	want := `
# HELP cemon_polling_busy_requests_total Statistics requests not sent because the switch's previous batch was still out.
# TYPE cemon_polling_busy_requests_total counter
cemon_polling_busy_requests_total{dpid="0000000000000001"} 0
cemon_polling_busy_requests_total{dpid="0000000000000002"} 0
cemon_polling_busy_requests_total{dpid="0000000000000003"} 0
cemon_polling_busy_requests_total{dpid="0000000000000004"} 1
# HELP cemon_polling_late_batches_total Batches of statistics requests to a switch that came back after their round (applied on arrival).
# TYPE cemon_polling_late_batches_total counter
cemon_polling_late_batches_total{dpid="0000000000000001"} 0
cemon_polling_late_batches_total{dpid="0000000000000002"} 0
cemon_polling_late_batches_total{dpid="0000000000000003"} 0
cemon_polling_late_batches_total{dpid="0000000000000004"} 1
`
	require.NoError(t, testutil.CollectAndCompare(m, strings.NewReader(want), "cemon_polling_busy_requests_total", "cemon_polling_late_batches_total"))
	assert.Equal(t, 4, testutil.CollectAndCount(m, "cemon_polling_reply_seconds"))
}

// TestSlowSwitchTakesTurns: a slow switch whose batches are cut short by the round's
// time starts each batch where the last one stopped, so that every flow it is to
// read is read in turn (not the first one of the batch again and again).
func TestSlowSwitchTakesTurns(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyPerFlowMin, Interval: 60 * time.Millisecond, RequestTimeout: 2 * time.Second, Pipeline: 1})
	e.c.deps.Clock = time.Now
	e.net.delay[2] = 100 * time.Millisecond
	for i := range 3 { // three flows on s2 alone: three singles there, nowhere else to go
		e.addFlow(t, i, 2, 2)
	}
	e.c.Drain()
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); e.c.Wait() }()
	for range 3 {
		e.c.Round(ctx)
		e.c.Wait()
	}
	for _, h := range e.flows {
		f, ok := e.store.Flow(h.ID)
		require.True(t, ok)
		assert.Equal(t, 1, f.Readings, "flow %d", h.ID)
	}
}

// TestPortRoundSkipsSlowSwitchOut: a port round leaves out a slow switch whose flow
// statistics are still out (it keeps its ports), and asks the others.
func TestPortRoundSkipsSlowSwitchOut(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyPollAll, Interval: 100 * time.Millisecond, RequestTimeout: 2 * time.Second})
	e.net.delay[3] = 400 * time.Millisecond
	e.loadLine(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); e.c.Wait() }()
	e.c.Round(ctx)
	e.c.Wait() // s3 found slow
	e.c.Round(ctx)
	require.True(t, e.c.ReplyTimes()[2].InFlight)
	e.c.PortRound(ctx)
	asked := map[uint64]bool{}
	for _, r := range e.net.requests() {
		if _, ok := r.body.(*ofproto.PortStatsRequest); ok {
			asked[r.dpid] = true
		}
	}
	assert.Equal(t, map[uint64]bool{1: true, 2: true, 4: true}, asked)
}

// TestReadingSpacing: readings from a switch that answers in more than a round carry
// the spacing at which it is read (the rounds it takes plus one), so that the Store
// does not count its flows stale between two readings; others keep the scheduler's.
func TestReadingSpacing(t *testing.T) {
	tests := []struct {
		name             string
		smoothed         time.Duration // 0: never seen
		want, round, got time.Duration
	}{
		{"unknown switch", 0, time.Second, time.Second, time.Second},
		{"fast", 5 * time.Millisecond, time.Second, time.Second, time.Second},
		{"under a round", 900 * time.Millisecond, time.Second, time.Second, time.Second},
		{"2 s at 1 s rounds", 2 * time.Second, time.Second, time.Second, 3 * time.Second},
		{"2.5 s at 1 s rounds", 2500 * time.Millisecond, time.Second, time.Second, 3 * time.Second},
		{"scheduler wants longer", 2 * time.Second, 10 * time.Second, time.Second, 10 * time.Second},
		{"interval unknown", 2 * time.Second, 0, time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tm timings
			if tt.smoothed > 0 {
				tm.learn(7, tt.smoothed, false, t0, tt.round, time.Now(), time.Second)
			}
			assert.Equal(t, tt.got, tm.spacing(7, tt.want, tt.round))
		})
	}
}

// TestHoldAfterTimeouts: after k timeouts in a row a switch is sent nothing for
// min(2^(k-1), 16) request timeouts; a reply ends the hold.
func TestHoldAfterTimeouts(t *testing.T) {
	var tm timings
	now := time.Now()
	hold := time.Second
	for k, want := range []time.Duration{1, 2, 4, 8, 16, 16, 16} {
		tm.learn(9, hold, true, t0, time.Second, now, hold)
		r := tm.list()[0]
		assert.Equal(t, uint64(k+1), r.TimeoutsInARow)
		assert.Equal(t, now.Add(want*hold), r.HeldUntil, "after %d timeouts", k+1)
		assert.False(t, tm.acquire(9, 2, now.Add(want*hold-time.Millisecond)))
		assert.False(t, tm.skipPorts(9, now.Add(want*hold)))
	}
	assert.True(t, tm.skipPorts(9, now))
	assert.Equal(t, uint64(14), tm.list()[0].Busy)
	tm.learn(9, 10*time.Millisecond, false, t0, time.Second, now, hold)
	r := tm.list()[0]
	assert.Zero(t, r.TimeoutsInARow)
	assert.True(t, r.HeldUntil.IsZero())
	assert.True(t, tm.acquire(9, 1, now))
}

// recyclingNet is a fakeNet that takes replies back as the controller does
// (Recycler) and scribbles over their entries when it does: a reading taken from
// an entry after the collector gave it back would come out wrong.
type recyclingNet struct {
	*fakeNet
	mu       sync.Mutex
	handed   map[ofproto.Message]int // reply messages handed out -> times given back
	recycled int
}

func (n *recyclingNet) Request(ctx context.Context, dpid uint64, msg ofproto.Message) ([]ofproto.Message, error) {
	msgs, err := n.fakeNet.Request(ctx, dpid, msg)
	n.mu.Lock()
	for _, m := range msgs {
		n.handed[m] = 0
	}
	n.mu.Unlock()
	return msgs, err
}

func (n *recyclingNet) Recycle(msgs []ofproto.Message) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, m := range msgs {
		if m == nil {
			continue
		}
		n.handed[m]++
		n.recycled++
		if b, ok := m.(*ofproto.StatsReply).Body.(*ofproto.FlowStatsReply); ok {
			for k := range b.Entries {
				b.Entries[k] = ofproto.FlowStats{Cookie: 0xbad, ByteCount: 1 << 40, PacketCount: 1 << 30}
			}
		}
		msgs[i] = nil
	}
}

// TestRepliesRecycledAfterUse: a round gives back every reply it was handed, once,
// both those of batches in time and those of a batch that came after the round,
// and only once it has read them: every flow's reading is the switches' count.
func TestRepliesRecycledAfterUse(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyPerFlowMin, Interval: 100 * time.Millisecond, RequestTimeout: 2 * time.Second, Pipeline: 1})
	e.c.deps.Clock = time.Now
	n := &recyclingNet{fakeNet: e.net, handed: map[ofproto.Message]int{}}
	e.c.deps.Requester = n
	e.net.delay[2] = 300 * time.Millisecond // s2's batch comes after the round
	e.loadLine(t)
	for _, h := range e.flows {
		e.net.count(h.Cookie, 1000, 10, 1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); e.c.Wait() }()
	res := e.c.Round(ctx)
	require.Equal(t, 1, res.Late)
	e.c.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	require.NotEmpty(t, n.handed)
	for m, k := range n.handed {
		assert.Equal(t, 1, k, "reply %p given back %d times", m, k)
	}
	read := 0
	for _, h := range e.flows {
		f, ok := e.store.Flow(h.ID)
		require.True(t, ok)
		if f.Readings > 0 {
			read++
			assert.Equal(t, uint64(1000), f.Bytes, "flow %d", h.ID)
			assert.Equal(t, uint64(10), f.Packets, "flow %d", h.ID)
		}
	}
	assert.Equal(t, 5, read) // four in the round, one late (s2's other requests left unsent)
	assert.Zero(t, e.c.Counters().Unmatched)
}

// TestLateBatchesMatchOneAtATime: a late batch whose matching waits for another's
// waits on the late batches' own lock, leaving the collector's free for rounds and
// arrivals (it fails if the late batches queue on c.mu); once it gets its turn its
// reading is applied.
func TestLateBatchesMatchOneAtATime(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyPerFlowMin, Interval: 100 * time.Millisecond, RequestTimeout: 2 * time.Second, Pipeline: 1})
	e.c.deps.Clock = time.Now
	e.net.delay[2] = 200 * time.Millisecond
	e.loadLine(t)
	for _, h := range e.flows {
		e.net.count(h.Cookie, 1000, 10, 1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); e.c.Wait() }()

	e.c.lateMu.Lock() // another late batch is being matched
	unlock := sync.OnceFunc(e.c.lateMu.Unlock)
	defer unlock()
	res := e.c.Round(ctx)
	require.Equal(t, 1, res.Late)
	// s2's reply comes 200 ms after its request, then waits for its turn.
	require.Eventually(t, func() bool {
		for _, r := range e.c.ReplyTimes() {
			if r.DPID == 2 && !r.LastReply.IsZero() && !r.InFlight {
				return true
			}
		}
		return false
	}, 2*time.Second, 10*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	// Free at some moment of the next half second (a brief hold, as counting the
	// batch's skipped requests takes, may coincide with one try).
	require.Eventually(t, func() bool {
		if !e.c.mu.TryLock() {
			return false
		}
		e.c.mu.Unlock()
		return true
	}, 500*time.Millisecond, 5*time.Millisecond, "a late batch waiting for its turn holds the collector's lock")
	assert.Zero(t, e.c.Counters().LateReadings)

	unlock()
	e.c.Wait()
	assert.Equal(t, uint64(1), e.c.Counters().LateReadings)
}

// TestLateBatchBuffersReused: a late batch's readings and samples go into buffers
// kept from the batches before it, so that applying one allocates next to nothing
// whatever its size (buffers made per batch were about half a megabyte for 3,000
// entries).
func TestLateBatchBuffersReused(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyPerFlowMin, Interval: 100 * time.Millisecond})
	const n = 3000 // three chunks of observe
	for i := range n {
		e.addFlow(t, i, 1, 1)
	}
	e.c.Drain()
	entries := make([]ofproto.FlowStats, n)
	for i, h := range e.flows {
		entries[i] = ofproto.FlowStats{Match: flowkey.ToMatch(key(i), 3), Cookie: h.Cookie, DurationSec: 5, PacketCount: 10, ByteCount: 1000}
	}
	at := time.Now()
	late := func() {
		at = at.Add(time.Second)
		for i := range entries {
			entries[i].DurationSec++
			entries[i].ByteCount += 1000
			entries[i].PacketCount++
		}
		msgs := []ofproto.Message{&ofproto.StatsReply{Body: &ofproto.FlowStatsReply{Entries: entries}}}
		e.c.applyLate([]poll.Reply{{DPID: 1, Source: stats.SourcePollSingle, Interval: time.Second, At: at, Msgs: msgs}}, 0)
	}
	// The flows' histories fill up first (they grow to their limit, 8 readings).
	for range 9 {
		late()
	}
	require.Equal(t, uint64(9*n), e.c.Counters().LateReadings)
	// What is left per batch: the message and its reply, the yielding resolver.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 5 {
		late()
	}
	runtime.ReadMemStats(&after)
	perBatch := float64(after.TotalAlloc-before.TotalAlloc) / 5
	t.Logf("%.0f bytes allocated per late batch of %d entries", perBatch, n)
	// Buffers made per batch: 3,000 readings (80 bytes) and 1,024 samples (about
	// 130 bytes) and their growth, half a megabyte.
	assert.Less(t, perBatch, float64(16*n), "bytes allocated per late batch of %d entries", n)
	assert.Equal(t, uint64(14*n), e.c.Counters().LateReadings, "every reading applied")
}
