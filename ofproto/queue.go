package ofproto

// QueueGetConfigRequest is OFPT_QUEUE_GET_CONFIG_REQUEST: list a port's queues.
type QueueGetConfigRequest struct {
	Xid  uint32
	Port PortNo
}

// QueueProperty is one ofp_queue_prop_header and its body. For
// OFPQT_MIN_RATE (Property 1) the body is Rate, in tenths of a percent (over
// 1000: disabled); for any other property the body bytes are kept in Data.
type QueueProperty struct {
	Property uint16
	Rate     uint16
	Data     []byte
}

// Queue properties.
const (
	QueuePropNone    uint16 = 0
	QueuePropMinRate uint16 = 1
)

// Len is the encoded length of the property.
func (p *QueueProperty) Len() int {
	if p.Property == QueuePropMinRate {
		return 16
	}
	return 8 + len(p.Data)
}

// PacketQueue is ofp_packet_queue: a queue id and its properties.
type PacketQueue struct {
	QueueID    uint32
	Properties []QueueProperty
}

// Len is the encoded length of the queue description.
func (q *PacketQueue) Len() int {
	n := 8
	for i := range q.Properties {
		n += q.Properties[i].Len()
	}
	return n
}

// QueueGetConfigReply is OFPT_QUEUE_GET_CONFIG_REPLY.
type QueueGetConfigReply struct {
	Xid    uint32
	Port   PortNo
	Queues []PacketQueue
}

// Type implements Message.
func (m *QueueGetConfigRequest) Type() Type { return TypeQueueGetConfigRequest }

// XID implements Message.
func (m *QueueGetConfigRequest) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *QueueGetConfigRequest) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *QueueGetConfigRequest) Len() int { return 12 }

// MarshalBinary encodes the message.
func (m *QueueGetConfigRequest) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *QueueGetConfigRequest) marshalInto(b []byte) error {
	putHeader(b, TypeQueueGetConfigRequest, m.Xid)
	be.PutUint16(b[8:], uint16(m.Port))
	b[10], b[11] = 0, 0
	return nil
}

// UnmarshalBinary decodes one whole message.
func (m *QueueGetConfigRequest) UnmarshalBinary(b []byte) error {
	x, err := fixedLen(b, TypeQueueGetConfigRequest, 12)
	if err != nil {
		return err
	}
	m.Xid = x
	m.Port = PortNo(be.Uint16(b[8:]))
	return nil
}

// Type implements Message.
func (m *QueueGetConfigReply) Type() Type { return TypeQueueGetConfigReply }

// XID implements Message.
func (m *QueueGetConfigReply) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *QueueGetConfigReply) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *QueueGetConfigReply) Len() int {
	n := 16
	for i := range m.Queues {
		n += m.Queues[i].Len()
	}
	return n
}

// MarshalBinary encodes the message.
func (m *QueueGetConfigReply) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *QueueGetConfigReply) marshalInto(b []byte) error {
	const t = TypeQueueGetConfigReply
	putHeader(b, t, m.Xid)
	be.PutUint16(b[8:], uint16(m.Port))
	clear(b[10:16])
	off := 16
	for i := range m.Queues {
		q := &m.Queues[i]
		n := q.Len()
		if n > 0xffff {
			return encErr(t, ErrTooLong, "queue %d is %d bytes", q.QueueID, n)
		}
		be.PutUint32(b[off:], q.QueueID)
		be.PutUint16(b[off+4:], uint16(n))
		b[off+6], b[off+7] = 0, 0
		poff := off + 8
		for j := range q.Properties {
			p := &q.Properties[j]
			pn := p.Len()
			if pn%8 != 0 {
				return encErr(t, ErrBadField, "queue property %d: length %d is not a multiple of 8", p.Property, pn)
			}
			pb := b[poff : poff+pn]
			clear(pb)
			be.PutUint16(pb[0:], p.Property)
			be.PutUint16(pb[2:], uint16(pn))
			if p.Property == QueuePropMinRate {
				be.PutUint16(pb[8:], p.Rate)
			} else {
				copy(pb[8:], p.Data)
			}
			poff += pn
		}
		off += n
	}
	return nil
}

// UnmarshalBinary decodes one whole message, copying what it keeps.
func (m *QueueGetConfigReply) UnmarshalBinary(b []byte) error {
	const t = TypeQueueGetConfigReply
	x, err := checkMsg(b, t, 16)
	if err != nil {
		return err
	}
	var queues []PacketQueue
	for off := 16; off < len(b); {
		if len(b)-off < 8 {
			return short(t, off, 8, len(b)-off)
		}
		n := int(be.Uint16(b[off+4:]))
		if n < 8 || n > len(b)-off {
			return errAt(t, off+4, ErrBadLength, "queue length %d, %d bytes left", n, len(b)-off)
		}
		q := PacketQueue{QueueID: be.Uint32(b[off:])}
		for poff := off + 8; poff < off+n; {
			if off+n-poff < 8 {
				return short(t, poff, 8, off+n-poff)
			}
			p := QueueProperty{Property: be.Uint16(b[poff:])}
			pn := int(be.Uint16(b[poff+2:]))
			if pn < 8 || pn > off+n-poff {
				return errAt(t, poff+2, ErrBadLength, "queue property length %d, %d bytes left", pn, off+n-poff)
			}
			if pn%8 != 0 {
				return errAt(t, poff+2, ErrBadLength, "queue property length %d is not a multiple of 8", pn)
			}
			if p.Property == QueuePropMinRate {
				if pn != 16 {
					return errAt(t, poff+2, ErrBadLength, "OFPQT_MIN_RATE length %d, want 16", pn)
				}
				p.Rate = be.Uint16(b[poff+8:])
			} else {
				p.Data = cloneBytes(b[poff+8 : poff+pn])
			}
			q.Properties = append(q.Properties, p)
			poff += pn
		}
		queues = append(queues, q)
		off += n
	}
	m.Xid = x
	m.Port = PortNo(be.Uint16(b[8:]))
	m.Queues = queues
	return nil
}
