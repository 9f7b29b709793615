package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// errDeadline is the error of a pipelined request whose own deadline passed: a
// timeout both as ErrTimeout and as context.DeadlineExceeded (what Request returns
// when the caller's per-request context runs out), so that callers count it as
// either would.
var errDeadline = fmt.Errorf("%w: %w", ErrTimeout, context.DeadlineExceeded)

// inflight is one outstanding request of RequestPipelined.
type inflight struct {
	i        int // its ordinal: the i-th message next returned
	xid      uint32
	xids     *xidTable // the table of the session it went to
	deadline time.Time
}

// outcome is a finished request of RequestPipelined, to hand to done.
type outcome struct {
	i    int
	msgs []ofproto.Message
	err  error
}

// RequestPipelined sends the switch dpid the requests next returns, with at most depth
// of them outstanding, and hands each one's whole reply to done, as Request would
// return it. It is Request for many requests at once: the messages that fit in the
// pipeline are given xids and queued under one hold of the controller's lock and
// leave in one write, and every reply comes back on one channel to the calling
// goroutine, with no goroutine, context or channel per request.
//
// next is called, in the calling goroutine, whenever a place in the pipeline is free;
// it returns the next message, or nil when there are no more (it is not called again
// then). done is called in the calling goroutine once for each message next returned,
// with i its ordinal (0 for the first message next returned): the reply's parts in
// arrival order, or the error (*SwitchError, ErrNoSwitch, ErrDisconnected,
// ErrQueueFull, ErrBadRequest; a request not answered within timeout, or
// Config.RequestTimeout if that is shorter or timeout is not positive, fails with an
// error that is both ErrTimeout and context.DeadlineExceeded, and its reply if it
// comes later counts as late). Neither may call into the controller's request path.
//
// When ctx ends, the outstanding requests fail with ctx.Err(), next is not called
// again and RequestPipelined returns ctx.Err(); it returns nil once next returned nil
// and every request is done. A depth below 1 counts as 1. The messages are encoded
// later by the connection's writer: do not modify them after next returns them.
func (c *Controller) RequestPipelined(ctx context.Context, dpid uint64, depth int, timeout time.Duration,
	next func() ofproto.Message, done func(i int, msgs []ofproto.Message, err error)) error {
	depth = max(depth, 1)
	if timeout <= 0 || timeout > c.cfg.RequestTimeout {
		timeout = c.cfg.RequestTimeout
	}
	// Every outstanding request writes its result at most once and the pipeline
	// holds at most depth of them: the table's writes never block.
	results := make(chan result, depth)
	var (
		out      = make([]inflight, 0, depth)
		batch    = make([]ofproto.Message, 0, depth)
		finished []outcome
		n        int // messages next returned
		more     = true
		timer    *time.Timer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if more && len(out) < depth && ctx.Err() == nil {
			batch = batch[:0]
			for len(out)+len(batch) < depth {
				m := next()
				if m == nil {
					more = false
					break
				}
				batch = append(batch, m)
			}
			out, finished = c.sendPipelined(ctx, dpid, batch, n, timeout, results, out, finished[:0])
			n += len(batch)
			for _, f := range finished {
				done(f.i, f.msgs, f.err)
			}
			continue // places freed by requests that failed at once are filled again
		}
		if len(out) == 0 {
			return ctx.Err()
		}
		wait := out[0].deadline
		for _, p := range out[1:] {
			if p.deadline.Before(wait) {
				wait = p.deadline
			}
		}
		if timer == nil {
			timer = time.NewTimer(wait.Sub(c.now()))
		} else {
			timer.Reset(wait.Sub(c.now()))
		}
		select {
		case r := <-results:
			out = c.received(r, out, done)
			out = c.receivedAll(results, out, done)
		case <-timer.C:
			out, finished = c.expirePipelined(out, c.now(), finished[:0])
			for _, f := range finished {
				done(f.i, f.msgs, f.err)
			}
			// A request past its deadline that was answered meanwhile has its result
			// in results already (written under c.mu): take it now rather than let
			// the timer fire again for it.
			out = c.receivedAll(results, out, done)
		case <-ctx.Done():
			// Take back what is still pending; what is not has its result in results.
			err := ctx.Err()
			finished = finished[:0]
			c.mu.Lock()
			kept := out[:0]
			for _, p := range out {
				if p.xids.take(p.xid) {
					finished = append(finished, outcome{i: p.i, err: err})
				} else {
					kept = append(kept, p)
				}
			}
			c.mu.Unlock()
			out = kept
			for _, f := range finished {
				done(f.i, f.msgs, f.err)
			}
			for len(out) > 0 {
				out = c.received(<-results, out, done)
			}
			return err
		}
	}
}

// sendPipelined gives the messages of batch (ordinals from first on) xids and queues
// them for dpid under one hold of c.mu; it adds them to out and those that failed at
// once to finished.
func (c *Controller) sendPipelined(ctx context.Context, dpid uint64, batch []ofproto.Message, first int, timeout time.Duration,
	results chan<- result, out []inflight, finished []outcome) ([]inflight, []outcome) {
	if len(batch) == 0 {
		return out, finished
	}
	deadline := c.now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.core.switches[dpid]
	if !ok || s.conn == nil {
		err := fmt.Errorf("%w: %s", ErrNoSwitch, dpidString(dpid))
		for k := range batch {
			finished = append(finished, outcome{i: first + k, err: err})
		}
		return out, finished
	}
	start := len(out)
	send := batch[:0] // the messages that go, in order; batch's slots are reused
	for k, m := range batch {
		if err := requestable(m); err != nil {
			finished = append(finished, outcome{i: first + k, err: err})
			continue
		}
		xid := s.xids.allocate()
		m.SetXID(xid)
		s.xids.addTo(xid, deadline, results, first+k)
		out = append(out, inflight{i: first + k, xid: xid, xids: s.xids, deadline: deadline})
		send = append(send, m)
	}
	sent, err := s.conn.enqueueAll(send)
	if err != nil {
		for _, p := range out[start+sent:] {
			s.xids.cancel(p.xid)
			finished = append(finished, outcome{i: p.i, err: err})
		}
		out = out[:start+sent]
	}
	return out, finished
}

// requestable says why m cannot be sent as a request, if it cannot.
func requestable(m ofproto.Message) error {
	switch m.Type() {
	case ofproto.TypeHello, ofproto.TypeEchoRequest, ofproto.TypeEchoReply:
		return fmt.Errorf("%w: %v is the controller's own", ErrBadRequest, m.Type())
	}
	return nil
}

// received hands a result to done and takes its request out of out.
func (c *Controller) received(r result, out []inflight, done func(int, []ofproto.Message, error)) []inflight {
	for k := range out {
		if out[k].i == r.tag {
			out[k] = out[len(out)-1]
			out = out[:len(out)-1]
			done(r.tag, r.msgs, r.err)
			return out
		}
	}
	return out // not ours: cannot happen, every tag in results is in out
}

// receivedAll hands the results waiting in results to done, without blocking.
func (c *Controller) receivedAll(results <-chan result, out []inflight, done func(int, []ofproto.Message, error)) []inflight {
	for len(out) > 0 {
		select {
		case r := <-results:
			out = c.received(r, out, done)
		default:
			return out
		}
	}
	return out
}

// expirePipelined takes back the requests of out whose deadline is not after now and
// adds them to finished as timed out; one whose reply came meanwhile stays in out
// (its result is in the channel).
func (c *Controller) expirePipelined(out []inflight, now time.Time, finished []outcome) ([]inflight, []outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := out[:0]
	for _, p := range out {
		if !p.deadline.After(now) && p.xids.take(p.xid) {
			finished = append(finished, outcome{i: p.i, err: errDeadline})
			continue
		}
		kept = append(kept, p)
	}
	return kept, finished
}
