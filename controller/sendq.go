package controller

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// ErrStalled: the switch read nothing the controller sent for Config.StallTimeout.
var ErrStalled = errors.New("controller: switch read nothing for the stall timeout")

// hardQueueFactor sizes a connection's hard queue limit from Config.SendQueue: above
// SendQueue messages the connection's own reader stops reading (backpressure); only
// above hardQueueFactor × SendQueue, which only other goroutines can reach (the
// ticker, Request, Routing on another switch's behalf), is a message refused
// (ErrQueueFull) — the connection itself stays.
const hardQueueFactor = 8

// writeChunk is the size at which a batch is written out before encoding more.
const writeChunk = 64 << 10

// A connection's queue slices and encoding buffer grow to the largest burst it sees (a
// path's worth of FLOW_MODs for thousands of flows, say) and go back to at most
// keepQueue messages and keepBuf bytes once a batch uses less than an eighth of them:
// a thousand switches, idle between polling rounds, do not each hold their largest
// burst's memory.
const (
	keepQueue = 256
	keepBuf   = 8 << 10
)

// shrunk returns s, or nil when it is larger than keep and used was less than an
// eighth of it.
func shrunk[T any](s []T, used, keep int) []T {
	if cap(s) > keep && used < cap(s)/8 {
		return nil
	}
	return s
}

// conn is the I/O edge of one switch connection: the socket, the send queue and the
// writer. The core's session holds the protocol state.
//
// Backpressure: the connection's reader writes what is queued itself before it reads
// again whenever the queue holds SendQueue messages or more, and before it blocks on
// the socket. A switch that does not read its replies therefore blocks the reader in
// that write: the controller reads nothing more from it, its socket buffers fill and
// TCP slows the switch down. Every write carries the deadline StallTimeout: a switch
// that reads nothing for that long is disconnected (ErrStalled). A switch that bursts
// but reads is never disconnected.
//
// Writes are batched: whoever writes (the reader, or the writer goroutine for messages
// queued from elsewhere) takes the whole queue, encodes it into one reused buffer and
// writes it with one Write per 64 KiB.
type conn struct {
	nc    net.Conn
	s     *session
	soft  int           // Config.SendQueue: the reader's backpressure mark
	hard  int           // hardQueueFactor × soft: messages beyond are refused
	stall time.Duration // Config.StallTimeout
	log   *slog.Logger
	done  chan struct{} // closed when the connection closes
	once  sync.Once

	qmu     sync.Mutex
	q       []ofproto.Message // waiting for a write, in order
	closing bool              // close once q is written (closeAfterFlush)
	wake    chan struct{}     // capacity 1: the writer goroutine has work

	wmu      sync.Mutex        // held while a batch is encoded and written; guards buf, spare, deadline
	buf      []byte            // encoding buffer, reused
	spare    []ofproto.Message // the previous batch's slice, reused for the queue
	deadline time.Time         // the socket's write deadline as last set

	paused   atomic.Bool   // the reader is held back by a full queue
	pauses   atomic.Uint64 // times the reader was held back
	refused  atomic.Uint64 // messages refused above the hard limit
	maxQueue atomic.Int64  // the longest the queue was

	mu     sync.Mutex
	err    error // why it closed
	errSet bool

	deferred [][]byte // heavy sources' PACKET_INs held back by the reader (budget.go)
}

func newConn(nc net.Conn, cfg Config, log *slog.Logger) *conn {
	return &conn{nc: nc, soft: cfg.SendQueue, hard: hardQueueFactor * cfg.SendQueue, stall: cfg.StallTimeout,
		log: log, done: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// setErr records the first reason given for closing.
func (cn *conn) setErr(err error) {
	cn.mu.Lock()
	if !cn.errSet {
		cn.err, cn.errSet = err, true
	}
	cn.mu.Unlock()
}

// reason returns why the connection closed.
func (cn *conn) reason() error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.err
}

// closeNow closes the connection at once.
func (cn *conn) closeNow(err error) {
	cn.setErr(err)
	cn.once.Do(func() {
		close(cn.done)
		cn.nc.Close()
	})
}

// isClosed reports whether the connection closed.
func (cn *conn) isClosed() bool {
	select {
	case <-cn.done:
		return true
	default:
		return false
	}
}

// enqueue queues m and wakes the writer goroutine. It never blocks and never closes
// the connection: above the hard limit m is refused (ErrQueueFull).
func (cn *conn) enqueue(m ofproto.Message) error { return cn.push(m, true) }

// push queues m; wake says whether to wake the writer goroutine (the connection's own
// reader writes its queue itself and does not).
func (cn *conn) push(m ofproto.Message, wake bool) error {
	if cn.isClosed() {
		return ErrDisconnected
	}
	cn.qmu.Lock()
	if cn.closing {
		cn.qmu.Unlock()
		return ErrDisconnected
	}
	if len(cn.q) >= cn.hard {
		cn.qmu.Unlock()
		cn.refused.Add(1)
		return ErrQueueFull
	}
	cn.q = append(cn.q, m)
	n := int64(len(cn.q))
	cn.qmu.Unlock()
	if n > cn.maxQueue.Load() {
		cn.maxQueue.Store(n) // racy maximum: a statistic
	}
	if wake {
		cn.signal()
	}
	return nil
}

// enqueueAll queues ms in order under one hold of the queue's lock and wakes the
// writer goroutine once, so that they leave in one write. It returns how many it
// queued: all, or the first n when the connection is closing (ErrDisconnected) or the
// hard limit is reached (ErrQueueFull, the rest refused).
func (cn *conn) enqueueAll(ms []ofproto.Message) (int, error) {
	if cn.isClosed() {
		return 0, ErrDisconnected
	}
	cn.qmu.Lock()
	if cn.closing {
		cn.qmu.Unlock()
		return 0, ErrDisconnected
	}
	n := min(len(ms), max(cn.hard-len(cn.q), 0))
	cn.q = append(cn.q, ms[:n]...)
	queued := int64(len(cn.q))
	cn.qmu.Unlock()
	if queued > cn.maxQueue.Load() {
		cn.maxQueue.Store(queued) // racy maximum: a statistic
	}
	if n > 0 {
		cn.signal()
	}
	if n < len(ms) {
		cn.refused.Add(uint64(len(ms) - n))
		return n, ErrQueueFull
	}
	return n, nil
}

func (cn *conn) signal() {
	select {
	case cn.wake <- struct{}{}:
	default:
	}
}

// queued returns the number of messages waiting.
func (cn *conn) queued() int {
	cn.qmu.Lock()
	defer cn.qmu.Unlock()
	return len(cn.q)
}

// closeAfterFlush lets the writer send what is queued (an ERROR, say) and then close.
func (cn *conn) closeAfterFlush(err error) {
	cn.setErr(err)
	cn.qmu.Lock()
	cn.closing = true
	cn.qmu.Unlock()
	cn.signal()
}

// flush writes everything queued, in batches, until the queue is empty. It reports
// closing when the queue ended with closeAfterFlush, and the error of a failed write
// (ErrStalled when the switch read nothing for the stall timeout). meter counts the
// messages sent (nil: none).
func (cn *conn) flush(meter *meter) (closing bool, err error) {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	for {
		cn.qmu.Lock()
		batch := cn.q
		cn.q = cn.spare[:0]
		closing = cn.closing
		cn.qmu.Unlock()
		if len(batch) == 0 {
			cn.spare = batch
			return closing, nil
		}
		err := cn.writeBatch(batch, meter)
		clear(batch)
		cn.spare = shrunk(batch[:0], len(batch), keepQueue)
		if err != nil {
			return closing, err
		}
	}
}

// writeBatch encodes batch into cn.buf and writes it, one Write per writeChunk. The
// caller holds wmu.
func (cn *conn) writeBatch(batch []ofproto.Message, meter *meter) error {
	buf := cn.buf[:0]
	most := 0 // the longest write of the batch
	for i, m := range batch {
		start := len(buf)
		var err error
		buf, err = ofproto.AppendMarshal(buf, m)
		if err != nil {
			buf = buf[:start]
			// A message the controller built that does not encode is a bug, not the
			// switch's fault: drop it and go on.
			cn.log.Error("cannot encode message", "type", m.Type(), "err", err)
		} else if meter != nil {
			meter.count(Sent, buf[start:])
		}
		if len(buf) >= writeChunk || i == len(batch)-1 {
			most = max(most, len(buf))
			if err := cn.write(buf); err != nil {
				cn.buf = buf[:0]
				return err
			}
			buf = buf[:0]
		}
	}
	if cap(buf) > 4*writeChunk {
		buf = nil // one huge message batch: do not keep its buffer
	}
	cn.buf = shrunk(buf, most, keepBuf)
	return nil
}

// write writes b with the stall deadline. The caller holds wmu.
//
// The deadline is moved only when less than the stall timeout of it is left, and then
// to an eighth beyond it: a write still gets at least StallTimeout (at most 9/8 of it),
// and the socket's deadline timer is not reset on every write of a busy connection.
func (cn *conn) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if now := time.Now(); cn.deadline.Sub(now) < cn.stall {
		cn.deadline = now.Add(cn.stall + cn.stall/8)
		cn.nc.SetWriteDeadline(cn.deadline)
	}
	if _, err := cn.nc.Write(b); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("%w (%v): %w", ErrStalled, cn.stall, err)
		}
		return fmt.Errorf("controller: write: %w", err)
	}
	return nil
}

// writer writes what other goroutines queue (the ticker, Request and Send, Routing on
// another switch's behalf) until the connection closes.
func (c *Controller) writer(cn *conn) {
	for {
		select {
		case <-cn.done:
			return
		case <-cn.wake:
		}
		closing, err := cn.flush(cn.s.meter)
		if err != nil {
			cn.closeNow(err)
			return
		}
		if closing {
			cn.closeNow(nil)
			return
		}
	}
}

// drain is the reader's side of the writing: it writes its connection's queue before
// the reader reads again. When the queue holds SendQueue messages or more, the reader
// waits for the write however long the switch takes (up to StallTimeout): this is the
// backpressure. Below that it writes only when no other goroutine is writing (that one
// writes the rest). While the reader waits it is marked paused, so that the keepalive
// does not count the switch's silence. It returns the error that ends the connection.
func (c *Controller) drain(cn *conn) error {
	if cn.queued() < cn.soft {
		if !cn.wmu.TryLock() {
			cn.signal() // the writer goroutine may have looked at the queue already
			return nil
		}
		cn.wmu.Unlock()
	} else {
		cn.pauses.Add(1)
	}
	cn.paused.Store(true)
	closing, err := cn.flush(cn.s.meter)
	cn.paused.Store(false)
	if err != nil {
		return err
	}
	if closing {
		cn.closeNow(nil)
	}
	return nil
}
