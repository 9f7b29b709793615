package ofproto

import (
	"errors"
	"io"
	"math/bits"
	"strconv"
	"sync"
)

// Framer reads whole OpenFlow messages from a byte stream. It handles short
// reads and several messages per read, and rejects a length field below 8 or
// above its maximum. It checks nothing else in the header (so a controller can
// answer a HELLO of another version); Decode does.
//
// The Framer does no I/O of its own beyond calling Read: the connection that
// owns the reader owns its deadlines.
//
// Its buffer follows what is being read, not the maximum: a Framer reads into a
// small buffer of its own (smallFramerBuf bytes) and takes a larger one from a
// pool shared by all Framers only when a message does not fit, sized to that
// message plus room to read on (at most 2 × its maximum). It gives the large
// buffer back as soon as what is left in it fits the small one again, so that
// only the connections in the middle of a large message hold a large buffer.
type Framer struct {
	r      io.Reader
	max    int
	buf    []byte  // f.small[:] or (*f.large)[:n]
	small  []byte  // the Framer's own buffer, allocated on the first Next
	large  *[]byte // the pooled buffer buf is a prefix of, nil when buf is small
	start  int     // first unconsumed byte in buf
	end    int     // end of valid data in buf
	offset int64   // stream offset of buf[start]
	err    error   // sticky
}

// smallFramerBuf is the size of a Framer's own buffer: room for the messages a
// switch sends most (PACKET_IN, FLOW_REMOVED, ECHO, small stats replies) and for
// several of them per read.
const smallFramerBuf = 4096

// Pooled buffers come in powers of two from 2*smallFramerBuf (8 KiB) up to the
// first power of two that holds 2*MaxMessageLen (128 KiB).
const (
	firstLargeShift  = 13
	lastLargeShift   = 17
	largestFramerBuf = 1 << lastLargeShift
	largeClasses     = lastLargeShift - firstLargeShift + 1
)

// largeBufs holds the large buffers no Framer is using, one pool per size. The
// pools hold *[]byte so that Put does not allocate.
var largeBufs [largeClasses]sync.Pool

// largeClass is the index in largeBufs of the smallest pooled size that holds n
// bytes (smallFramerBuf < n <= largestFramerBuf).
func largeClass(n int) int {
	return max(bits.Len(uint(n-1))-firstLargeShift, 0)
}

// NewFramer returns a Framer that reads from r and accepts messages of up to
// maxLen bytes (maxLen <= 0 or above 65535 means MaxMessageLen; below 8 means 8).
func NewFramer(r io.Reader, maxLen int) *Framer {
	if maxLen <= 0 || maxLen > MaxMessageLen {
		maxLen = MaxMessageLen
	}
	maxLen = max(maxLen, HeaderLen)
	return &Framer{r: r, max: maxLen}
}

// Offset is the stream offset of the next message.
func (f *Framer) Offset() int64 { return f.offset }

// Ready reports whether the next message is already buffered whole, so that Next
// returns it without reading (a reader can write what it owes before it blocks).
func (f *Framer) Ready() bool {
	if f.err != nil || f.end-f.start < HeaderLen {
		return f.err != nil
	}
	n := int(be.Uint16(f.buf[f.start+2:]))
	return n < HeaderLen || n > f.max || f.end-f.start >= n
}

// Next returns the next whole message. The slice is valid until the next call
// to Next. At the end of the stream it returns io.EOF if the stream ended on a
// message boundary and io.ErrUnexpectedEOF if it ended inside a message. A bad
// length field is a *DecodeError (ErrBadLength or ErrTooLong) naming the
// stream offset of the message; after any error Next keeps returning it.
func (f *Framer) Next() ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	// The message Next returned last is no longer the caller's: the buffer may
	// shrink or go back to the pool.
	f.settle()
	if err := f.fill(HeaderLen); err != nil {
		return nil, f.fail(err)
	}
	b := f.buf[f.start:f.end]
	n := int(be.Uint16(b[2:]))
	t := Type(b[1])
	if !t.Valid() {
		t = typeUnknown
	}
	if n < HeaderLen {
		return nil, f.fail(&DecodeError{Type: t, Offset: f.offset + 2, Err: ErrBadLength,
			Detail: "length " + strconv.Itoa(n) + " is below 8"})
	}
	if n > f.max {
		return nil, f.fail(&DecodeError{Type: t, Offset: f.offset + 2, Err: ErrTooLong,
			Detail: "length " + strconv.Itoa(n) + " is above the limit " + strconv.Itoa(f.max)})
	}
	if err := f.fill(n); err != nil {
		return nil, f.fail(err)
	}
	msg := f.buf[f.start : f.start+n : f.start+n]
	f.start += n
	f.offset += int64(n)
	return msg, nil
}

// fail makes err sticky and gives back a large buffer: no further message will
// be read into it.
func (f *Framer) fail(err error) error {
	f.err = err
	f.release()
	f.start, f.end = 0, 0
	return err
}

// settle runs between messages. An empty buffer starts over at its front. A large
// buffer whose unread bytes fit the small one (and, when their header is there,
// whose next message does too) goes back to the pool, the bytes moved over.
func (f *Framer) settle() {
	if f.start == f.end {
		f.start, f.end = 0, 0
	}
	if f.small == nil {
		f.small = make([]byte, smallFramerBuf)
		f.buf = f.small
		return
	}
	if f.large == nil {
		return
	}
	left := f.end - f.start
	if left > len(f.small) {
		return
	}
	if left >= HeaderLen && int(be.Uint16(f.buf[f.start+2:])) > len(f.small) {
		return // the next message is large too
	}
	copy(f.small, f.buf[f.start:f.end])
	f.start, f.end = 0, left
	f.release()
}

// release gives back the large buffer, if any, and reads into the small one again;
// the caller sets start and end.
func (f *Framer) release() {
	if f.large == nil {
		return
	}
	largeBufs[largeClass(cap(*f.large))].Put(f.large)
	f.large = nil
	f.buf = f.small
}

// grow makes the buffer hold at least n bytes (n > len(f.buf)), moving the
// unread bytes to the front of a pooled buffer of the size for n plus room to
// read on, at most 2*f.max.
func (f *Framer) grow(n int) {
	size := min(n+smallFramerBuf, largestFramerBuf)
	c := largeClass(size)
	p, _ := largeBufs[c].Get().(*[]byte)
	if p == nil {
		b := make([]byte, 1<<(c+firstLargeShift))
		p = &b
	}
	nb := (*p)[:min(len(*p), 2*f.max)] // n <= f.max
	f.end = copy(nb, f.buf[f.start:f.end])
	f.start = 0
	if f.large != nil {
		largeBufs[largeClass(cap(*f.large))].Put(f.large)
	}
	f.large, f.buf = p, nb
}

// fill makes sure at least n bytes are buffered from f.start.
func (f *Framer) fill(n int) error {
	if f.end-f.start >= n {
		return nil
	}
	if n > len(f.buf) {
		f.grow(n)
	} else if len(f.buf)-f.start < n {
		// Not enough room after start: move the partial message to the front.
		f.end = copy(f.buf, f.buf[f.start:f.end])
		f.start = 0
	}
	empty := 0
	for f.end-f.start < n {
		m, err := f.r.Read(f.buf[f.end:])
		if m < 0 || m > len(f.buf)-f.end {
			return errors.New("ofproto: reader returned an invalid count")
		}
		f.end += m
		if f.end-f.start >= n {
			return nil
		}
		if err != nil {
			if err == io.EOF {
				if f.end == f.start {
					return io.EOF
				}
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if m == 0 {
			if empty++; empty >= 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}
