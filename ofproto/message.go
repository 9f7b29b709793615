package ofproto

import (
	"encoding"
	"encoding/binary"
	"strconv"
)

var be = binary.BigEndian

// Header is ofp_header, the first 8 bytes of every message.
type Header struct {
	Version uint8
	Type    Type
	Length  uint16
	Xid     uint32
}

// ParseHeader reads the 8-byte header at the start of b. It checks nothing but
// that 8 bytes are there; see CheckHeader.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, &DecodeError{Type: typeUnknown, Offset: 0, Err: ErrShortMessage,
			Detail: "header needs 8 bytes, have " + strconv.Itoa(len(b))}
	}
	return Header{Version: b[0], Type: Type(b[1]), Length: be.Uint16(b[2:]), Xid: be.Uint32(b[4:])}, nil
}

// CheckHeader rejects a message on its header alone: a version other than
// OpenFlow 1.0, an unknown type, or a length below 8 or above maxLen (0 means
// MaxMessageLen).
func (h Header) CheckHeader(maxLen int) error {
	if maxLen <= 0 || maxLen > MaxMessageLen {
		maxLen = MaxMessageLen
	}
	t := h.Type
	if !t.Valid() {
		t = typeUnknown
	}
	switch {
	case h.Version != Version:
		return errAt(t, 0, ErrBadVersion, "version 0x%02x, want 0x01", h.Version)
	case !h.Type.Valid():
		return errAt(typeUnknown, 1, ErrBadType, "type %d", h.Type)
	case h.Length < HeaderLen:
		return errAt(t, 2, ErrBadLength, "length %d is below 8", h.Length)
	case int(h.Length) > maxLen:
		return errAt(t, 2, ErrTooLong, "length %d is above the limit %d", h.Length, maxLen)
	}
	return nil
}

// Message is one OpenFlow 1.0 message. Every concrete message type in this
// package implements it with a pointer receiver.
type Message interface {
	// Type is the message's ofp_type.
	Type() Type
	// XID is the transaction id from the header.
	XID() uint32
	// SetXID sets the transaction id.
	SetXID(xid uint32)
	// Len is the encoded length in bytes, header included.
	Len() int
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
	// marshalInto writes the message into b, which is exactly Len() bytes.
	marshalInto(b []byte) error
}

// AppendMarshal appends the encoding of m to dst and returns the extended
// buffer; with a dst of enough capacity it does not allocate.
func AppendMarshal(dst []byte, m Message) ([]byte, error) {
	n := m.Len()
	if n > MaxMessageLen {
		return dst, encErr(m.Type(), ErrTooLong, "%d bytes", n)
	}
	start := len(dst)
	dst = grow(dst, n)
	if err := m.marshalInto(dst[start : start+n]); err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// MarshalTo writes the encoding of m to the start of b and returns the number of
// bytes written. b must hold at least m.Len() bytes.
func MarshalTo(b []byte, m Message) (int, error) {
	n := m.Len()
	if n > MaxMessageLen {
		return 0, encErr(m.Type(), ErrTooLong, "%d bytes", n)
	}
	if len(b) < n {
		return 0, encErr(m.Type(), ErrShortMessage, "buffer of %d bytes, need %d", len(b), n)
	}
	return n, m.marshalInto(b[:n])
}

func marshal(m Message) ([]byte, error) {
	return AppendMarshal(nil, m)
}

// grow extends b by n zeroed bytes.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		b = b[:len(b)+n]
		clear(b[len(b)-n:])
		return b
	}
	return append(b, make([]byte, n)...)
}

// putHeader writes the header of a message of type t into b, using len(b) as
// the length.
func putHeader(b []byte, t Type, xid uint32) {
	b[0] = Version
	b[1] = byte(t)
	be.PutUint16(b[2:], uint16(len(b)))
	be.PutUint32(b[4:], xid)
}

// checkMsg validates the header of b for a decoder of type t that needs at
// least minLen bytes, and returns the xid.
func checkMsg(b []byte, t Type, minLen int) (uint32, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return 0, err
	}
	if err := h.CheckHeader(0); err != nil {
		return 0, err
	}
	if h.Type != t {
		return 0, errAt(h.Type, 1, ErrBadType, "decoding %v", t)
	}
	if int(h.Length) != len(b) {
		if int(h.Length) > len(b) {
			return 0, errAt(t, 2, ErrShortMessage, "length field %d, have %d bytes", h.Length, len(b))
		}
		return 0, errAt(t, 2, ErrBadLength, "length field %d, have %d bytes", h.Length, len(b))
	}
	if len(b) < minLen {
		return 0, errAt(t, 2, ErrBadLength, "length %d is below the minimum %d", len(b), minLen)
	}
	return h.Xid, nil
}

// Decode decodes one whole message (b must be exactly the message, as the
// Framer returns it). The result copies what it keeps: b may be reused.
func Decode(b []byte) (Message, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if err := h.CheckHeader(0); err != nil {
		return nil, err
	}
	m := newMessage(h.Type)
	if h.Type == TypeVendor && int(h.Length) == len(b) {
		switch isRole(b) {
		case NXTRoleRequest:
			m = new(RoleRequest)
		case NXTRoleReply:
			m = new(RoleReply)
		}
	}
	if m == nil {
		return nil, errAt(typeUnknown, 1, ErrBadType, "type %d", h.Type)
	}
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return m, nil
}

func newMessage(t Type) Message {
	switch t {
	case TypeHello:
		return new(Hello)
	case TypeError:
		return new(ErrorMsg)
	case TypeEchoRequest:
		return new(EchoRequest)
	case TypeEchoReply:
		return new(EchoReply)
	case TypeVendor:
		return new(Vendor)
	case TypeFeaturesRequest:
		return new(FeaturesRequest)
	case TypeFeaturesReply:
		return new(FeaturesReply)
	case TypeGetConfigRequest:
		return new(GetConfigRequest)
	case TypeGetConfigReply:
		return new(GetConfigReply)
	case TypeSetConfig:
		return new(SetConfig)
	case TypePacketIn:
		return new(PacketIn)
	case TypeFlowRemoved:
		return new(FlowRemoved)
	case TypePortStatus:
		return new(PortStatus)
	case TypePacketOut:
		return new(PacketOut)
	case TypeFlowMod:
		return new(FlowMod)
	case TypePortMod:
		return new(PortMod)
	case TypeStatsRequest:
		return new(StatsRequest)
	case TypeStatsReply:
		return new(StatsReply)
	case TypeBarrierRequest:
		return new(BarrierRequest)
	case TypeBarrierReply:
		return new(BarrierReply)
	case TypeQueueGetConfigRequest:
		return new(QueueGetConfigRequest)
	case TypeQueueGetConfigReply:
		return new(QueueGetConfigReply)
	}
	return nil
}

// cloneBytes copies b; nil and empty stay nil.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
