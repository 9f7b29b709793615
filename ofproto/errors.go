package ofproto

import (
	"errors"
	"fmt"
)

// Sentinel errors. Decoders wrap them in a *DecodeError; test with errors.Is.
var (
	// ErrShortMessage: the buffer ends before a structure the message needs.
	ErrShortMessage = errors.New("ofproto: short message")
	// ErrBadVersion: the header's version is not OpenFlow 1.0 (0x01).
	ErrBadVersion = errors.New("ofproto: bad version")
	// ErrBadType: the header's type is not an OpenFlow 1.0 message type, or
	// is not the type the decoder expected.
	ErrBadType = errors.New("ofproto: bad message type")
	// ErrBadLength: a length field is below its minimum, is not a multiple it
	// must be, or disagrees with the bytes present.
	ErrBadLength = errors.New("ofproto: bad length")
	// ErrTooLong: a message is longer than the limit (65535 on the wire, or
	// the framer's maximum).
	ErrTooLong = errors.New("ofproto: message too long")
	// ErrBadStatsType: a statistics request or reply names an unknown type.
	ErrBadStatsType = errors.New("ofproto: bad stats type")
	// ErrBadAction: an action's type is unknown or its length is wrong for
	// its type.
	ErrBadAction = errors.New("ofproto: bad action")
	// ErrBadField: a value cannot be encoded (an IPv6 address in a match, a
	// missing body, a port name longer than 15 bytes, ...).
	ErrBadField = errors.New("ofproto: bad field")
)

// DecodeError says where decoding failed: the message type (when the header
// was readable), the byte offset from the start of the message (or of the
// stream, for the Framer), and what went wrong. Err is one of the sentinels.
type DecodeError struct {
	Type   Type   // message type; 0xff when unknown
	Offset int64  // byte offset of the offending field
	Err    error  // sentinel
	Detail string // human detail, may be empty
}

func (e *DecodeError) Error() string {
	s := fmt.Sprintf("%v at offset %d", e.Err, e.Offset)
	if e.Type != typeUnknown {
		s += " in " + e.Type.String()
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel.
func (e *DecodeError) Unwrap() error { return e.Err }

const typeUnknown Type = 0xff

func errAt(t Type, off int, err error, format string, args ...any) error {
	d := ""
	if format != "" {
		d = fmt.Sprintf(format, args...)
	}
	return &DecodeError{Type: t, Offset: int64(off), Err: err, Detail: d}
}

// short reports that need bytes were wanted at off but only have remain.
func short(t Type, off, need, have int) error {
	return errAt(t, off, ErrShortMessage, "need %d bytes, have %d", need, have)
}

func encErr(t Type, err error, format string, args ...any) error {
	return fmt.Errorf("%w: encoding %v: %s", err, t, fmt.Sprintf(format, args...))
}
