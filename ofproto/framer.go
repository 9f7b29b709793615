package ofproto

import (
	"errors"
	"io"
	"strconv"
)

// Framer reads whole OpenFlow messages from a byte stream. It handles short
// reads and several messages per read, and rejects a length field below 8 or
// above its maximum. It checks nothing else in the header (so a controller can
// answer a HELLO of another version); Decode does.
//
// The Framer does no I/O of its own beyond calling Read: the connection that
// owns the reader owns its deadlines.
type Framer struct {
	r      io.Reader
	max    int
	buf    []byte
	start  int   // first unconsumed byte in buf
	end    int   // end of valid data in buf
	offset int64 // stream offset of buf[start]
	err    error // sticky
}

const minFramerBuf = 4096

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
	if f.buf == nil {
		f.buf = make([]byte, max(2*f.max, minFramerBuf))
	}
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

func (f *Framer) fail(err error) error {
	f.err = err
	return err
}

// fill makes sure at least n bytes are buffered from f.start.
func (f *Framer) fill(n int) error {
	if f.end-f.start >= n {
		return nil
	}
	if len(f.buf)-f.start < n {
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
