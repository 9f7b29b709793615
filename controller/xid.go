package controller

import (
	"errors"
	"fmt"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// Errors of Request and Send.
var (
	// ErrTimeout: the whole reply did not arrive in time.
	ErrTimeout = errors.New("controller: request timed out")
	// ErrNoSwitch: no switch with that datapath id is connected (or its handshake is
	// not finished).
	ErrNoSwitch = errors.New("controller: switch not connected")
	// ErrDisconnected: the switch left while the request was pending.
	ErrDisconnected = errors.New("controller: switch disconnected")
	// ErrQueueFull: the connection's send queue is past its hard limit (8 ×
	// Config.SendQueue, reachable only while the switch reads nothing); the message is
	// dropped and the connection stays.
	ErrQueueFull = errors.New("controller: send queue full")
	// ErrSwitchError: the switch answered with OFPT_ERROR; the error is a *SwitchError.
	ErrSwitchError = errors.New("controller: switch returned an error")
	// ErrClosed: the controller is not serving.
	ErrClosed = errors.New("controller: closed")
	// ErrBadRequest: the message cannot be sent as a request (nil, or a type the
	// controller owns, such as HELLO or ECHO).
	ErrBadRequest = errors.New("controller: bad request")
)

// SwitchError is an OFPT_ERROR a switch sent in answer to a request.
type SwitchError struct {
	DPID uint64
	Msg  *ofproto.ErrorMsg
}

func (e *SwitchError) Error() string {
	return fmt.Sprintf("controller: switch %016x: error %v/%s", e.DPID, e.Msg.ErrType,
		ofproto.ErrorCodeString(e.Msg.ErrType, e.Msg.Code))
}

// Unwrap lets errors.Is match ErrSwitchError.
func (e *SwitchError) Unwrap() error { return ErrSwitchError }

// result is what a pending request ends with.
type result struct {
	msgs []ofproto.Message
	err  error
	tag  int // the pending request's tag (addTo)
}

// pending is one request waiting for its reply.
type pending struct {
	deadline time.Time
	parts    []ofproto.Message
	done     chan<- result // written exactly once, never blocking (see add and addTo)
	tag      int
}

// xidTable matches replies to requests by transaction id and reassembles multipart
// statistics replies. It is not safe for concurrent use; the connection's lock guards
// it. It reads no clock: deadlines and now come from the caller.
type xidTable struct {
	next    uint32
	pending map[uint32]*pending
}

func newXidTable() *xidTable {
	return &xidTable{next: 1, pending: make(map[uint32]*pending)}
}

// allocate returns a transaction id not in use, never 0.
func (t *xidTable) allocate() uint32 {
	for {
		x := t.next
		t.next++
		if x == 0 {
			continue
		}
		if _, busy := t.pending[x]; !busy {
			return x
		}
	}
}

// add registers a request with the given xid and deadline and returns the channel its
// result will arrive on.
func (t *xidTable) add(xid uint32, deadline time.Time) <-chan result {
	ch := make(chan result, 1)
	t.pending[xid] = &pending{deadline: deadline, done: ch}
	return ch
}

// addTo registers a request whose result goes to ch, a channel shared by several
// requests, with tag to tell it apart. ch must have room for the result of every
// request added to it that is neither answered yet nor taken back (take): the table
// writes under the controller's lock and must never block.
func (t *xidTable) addTo(xid uint32, deadline time.Time, ch chan<- result, tag int) {
	t.pending[xid] = &pending{deadline: deadline, done: ch, tag: tag}
}

// take forgets a pending request and reports whether it was still pending; false
// means its result has been written already.
func (t *xidTable) take(xid uint32) bool {
	if _, ok := t.pending[xid]; !ok {
		return false
	}
	delete(t.pending, xid)
	return true
}

// deliver offers a reply. more says that further parts follow (OFPSF_REPLY_MORE). It
// reports whether a request was waiting for that xid; false means a late or
// unsolicited reply, which is dropped.
func (t *xidTable) deliver(xid uint32, m ofproto.Message, more bool, err error) bool {
	p, ok := t.pending[xid]
	if !ok {
		return false
	}
	if err != nil {
		delete(t.pending, xid)
		p.done <- result{err: err, tag: p.tag}
		return true
	}
	p.parts = append(p.parts, m)
	if more {
		return true
	}
	delete(t.pending, xid)
	p.done <- result{msgs: p.parts, tag: p.tag}
	return true
}

// cancel forgets a request whose caller stopped waiting; a later reply counts as late.
func (t *xidTable) cancel(xid uint32) {
	delete(t.pending, xid)
}

// expire fails every request whose deadline is not after now and returns how many.
func (t *xidTable) expire(now time.Time) int {
	n := 0
	for xid, p := range t.pending {
		if !p.deadline.After(now) {
			delete(t.pending, xid)
			p.done <- result{err: ErrTimeout, tag: p.tag}
			n++
		}
	}
	return n
}

// failAll fails every pending request with err.
func (t *xidTable) failAll(err error) {
	for xid, p := range t.pending {
		delete(t.pending, xid)
		p.done <- result{err: err, tag: p.tag}
	}
}

// len is the number of pending requests.
func (t *xidTable) len() int { return len(t.pending) }
