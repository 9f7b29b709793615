package collector

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pipeNet is a fakeNet that offers RequestPipelined, built the plain way: a goroutine
// and a context per request, results on one channel, next called only while fewer
// than depth are out. It records the most requests it ever had out at one switch.
type pipeNet struct {
	*fakeNet
	mu     sync.Mutex
	maxOut map[uint64]int
}

// pipeBatches counts the batches that went through a pipeNet.
var pipeBatches atomic.Int64

func (p *pipeNet) RequestPipelined(ctx context.Context, dpid uint64, depth int, timeout time.Duration,
	next func() ofproto.Message, done func(i int, msgs []ofproto.Message, err error)) error {
	type res struct {
		i    int
		msgs []ofproto.Message
		err  error
	}
	pipeBatches.Add(1)
	results := make(chan res, depth)
	out, n := 0, 0
	for more := true; ; {
		for more && out < depth && ctx.Err() == nil {
			m := next()
			if m == nil {
				more = false
				break
			}
			out++
			p.mu.Lock()
			p.maxOut[dpid] = max(p.maxOut[dpid], out)
			p.mu.Unlock()
			go func(i int) {
				rctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				msgs, err := p.Request(rctx, dpid, m)
				results <- res{i, msgs, err}
			}(n)
			n++
		}
		if out == 0 {
			return ctx.Err()
		}
		r := <-results
		out--
		done(r.i, r.msgs, r.err)
	}
}

// usePipeNet makes newEnv's collectors send through a pipeNet.
var usePipeNet bool

// TestPipelinedPath runs the round tests again with a Requester that offers
// RequestPipelined: batch sends through it, with the same results, accounting,
// timeouts, slow-switch handling and late batches.
func TestPipelinedPath(t *testing.T) {
	usePipeNet = true
	defer func() { usePipeNet = false }()
	for name, f := range map[string]func(*testing.T){
		"Strategies": TestStrategies, "MCPSCheapest": TestMCPSCheapest, "AccountingMultipart": TestAccountingMultipart,
		"FlowRemovedBetweenPolls": TestFlowRemovedBetweenPolls,
		"TimeoutsAndErrors":       TestTimeoutsAndErrors, "RoundTimeout": TestRoundTimeout, "RoundPipelined": TestRoundPipelined,
		"InBand": TestInBand, "ReadPoint": TestReadPoint, "SlowSwitchLeftBehind": TestSlowSwitchLeftBehind,
		"LateReadingOfAFlowReadInTime": TestLateReadingOfAFlowReadInTime, "SlowSwitchMetrics": TestSlowSwitchMetrics,
		"SlowSwitchTakesTurns": TestSlowSwitchTakesTurns, "PortRoundSkipsSlowSwitchOut": TestPortRoundSkipsSlowSwitchOut,
	} {
		t.Run(name, func(t *testing.T) {
			pipeBatches.Store(0)
			f(t)
			assert.Positive(t, pipeBatches.Load(), "no batch went through RequestPipelined")
		})
	}
}

// TestPipelinedDepth: a switch's batch never has more than Config.Pipeline requests
// out, and every request is answered once, whatever the depth.
func TestPipelinedDepth(t *testing.T) {
	usePipeNet = true
	defer func() { usePipeNet = false }()
	for _, depth := range []int{1, 2, 16} {
		e := newEnv(t, Config{Strategy: StrategyPerFlowMin, Pipeline: depth, RequestTimeout: time.Second})
		p := currentPipe.Load().(*pipeNet)
		for i := range 40 { // 40 flows on s2 alone: 40 singles there
			e.addFlow(t, i, 2, 2)
		}
		e.c.Drain()
		e.net.delay[2] = time.Millisecond
		res := e.c.Round(context.Background())
		assert.Equal(t, 40, res.Requests)
		assert.Equal(t, 40, res.Readings, "depth %d", depth)
		p.mu.Lock()
		assert.Equal(t, depth, p.maxOut[2], "depth %d", depth)
		p.mu.Unlock()
		assert.Equal(t, uint64(40), e.c.Total("").Requests)
	}
}

// TestPipelinedOneTimeout: one request of a batch times out, the others are read; the
// timeout is counted once and taught to the switch's reply time.
func TestPipelinedOneTimeout(t *testing.T) {
	usePipeNet = true
	defer func() { usePipeNet = false }()
	e := newEnv(t, Config{Strategy: StrategyPerFlowMin, RequestTimeout: 100 * time.Millisecond, RoundTimeout: time.Second})
	for i := range 5 {
		e.addFlow(t, i, 2, 2)
	}
	e.c.Drain()
	p := currentPipe.Load().(*pipeNet)
	// The third request (by the batch's order) answers with a timeout.
	e.c.deps.Requester = &failNth{pipeNet: p, nth: 2, err: context.DeadlineExceeded}
	res := e.c.Round(context.Background())
	assert.Equal(t, 5, res.Requests)
	assert.Equal(t, 1, res.Failed)
	assert.Equal(t, 4, res.Readings)
	u := e.c.Total("")
	assert.Equal(t, uint64(5), u.Requests)
	assert.Equal(t, uint64(1), u.Timeouts)
	assert.Equal(t, uint64(0), u.Errors)
	rt := e.c.ReplyTimes()
	require.Len(t, rt, 1)
	assert.Equal(t, uint64(5), rt[0].Samples)
	assert.Equal(t, uint64(1), rt[0].Timeouts)
}

// failNth fails the nth request next returns with err (counting from 0).
type failNth struct {
	*pipeNet
	nth int
	err error
}

func (f *failNth) RequestPipelined(ctx context.Context, dpid uint64, depth int, timeout time.Duration,
	next func() ofproto.Message, done func(i int, msgs []ofproto.Message, err error)) error {
	return f.pipeNet.RequestPipelined(ctx, dpid, depth, timeout, next, func(i int, msgs []ofproto.Message, err error) {
		if i == f.nth {
			msgs, err = nil, f.err
		}
		done(i, msgs, err)
	})
}

// TestPipelinedDisconnect: a switch that leaves mid-batch fails its outstanding
// requests (ErrDisconnected-like errors count as errors) and the rest that the
// requester refuses; nothing is read twice and the batch ends.
func TestPipelinedDisconnect(t *testing.T) {
	usePipeNet = true
	defer func() { usePipeNet = false }()
	e := newEnv(t, Config{Strategy: StrategyPerFlowMin, Pipeline: 2, RequestTimeout: time.Second})
	for i := range 6 {
		e.addFlow(t, i, 2, 2)
	}
	e.c.Drain()
	gone := errors.New("switch disconnected")
	p := currentPipe.Load().(*pipeNet)
	e.c.deps.Requester = &failFrom{pipeNet: p, from: 3, err: gone}
	res := e.c.Round(context.Background())
	assert.Equal(t, 6, res.Requests)
	assert.Equal(t, 3, res.Failed)
	assert.Equal(t, 3, res.Readings)
	u := e.c.Total("")
	assert.Equal(t, uint64(3), u.Errors)
	assert.False(t, e.c.ReplyTimes()[0].InFlight)
}

// failFrom fails every request from the from-th on with err.
type failFrom struct {
	*pipeNet
	from int
	err  error
}

func (f *failFrom) RequestPipelined(ctx context.Context, dpid uint64, depth int, timeout time.Duration,
	next func() ofproto.Message, done func(i int, msgs []ofproto.Message, err error)) error {
	return f.pipeNet.RequestPipelined(ctx, dpid, depth, timeout, next, func(i int, msgs []ofproto.Message, err error) {
		if i >= f.from {
			msgs, err = nil, f.err
		}
		done(i, msgs, err)
	})
}

// currentPipe is the pipeNet of the latest env built with usePipeNet.
var currentPipe atomic.Value

// TestPipelinedFillFrames: the requests a pipeline takes together leave in one write
// and share its frames: five single-flow requests to one switch are charged their
// own bytes and one frame's headers between them; with a pipeline of one, each has
// its own frame.
func TestPipelinedFillFrames(t *testing.T) {
	usePipeNet = true
	defer func() { usePipeNet = false }()
	for _, tc := range []struct {
		depth, frames int
	}{{16, 1}, {1, 5}} {
		e := newEnv(t, Config{Strategy: StrategyPerFlowMin, Pipeline: tc.depth})
		for i := range 5 {
			e.addFlow(t, i, 2, 2)
		}
		e.c.Drain()
		e.now = t0.Add(time.Second)
		res := e.c.Round(context.Background())
		require.Equal(t, 5, res.Requests)
		u := e.c.Total(StrategyPerFlowMin.String())
		reqLen := (&ofproto.StatsRequest{Body: &ofproto.FlowStatsRequest{}}).Len()
		assert.Equal(t, uint64(5), u.Requests)
		assert.Equal(t, uint64(5*reqLen), u.OpenFlowBytesSent)
		assert.Equal(t, uint64(5*reqLen+tc.frames*DefaultFrameOverhead), u.WireBytesSent, "depth %d", tc.depth)
	}
}
