package ofproto

// PacketIn is OFPT_PACKET_IN: a packet the switch sends to the controller.
type PacketIn struct {
	Xid      uint32
	BufferID uint32 // BufferNone when the switch did not buffer the packet
	TotalLen uint16 // full length of the frame
	InPort   PortNo
	Reason   PacketInReason
	Data     []byte // the frame, or its first miss_send_len bytes
}

const packetInMin = 18

// Type implements Message.
func (m *PacketIn) Type() Type { return TypePacketIn }

// XID implements Message.
func (m *PacketIn) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *PacketIn) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *PacketIn) Len() int { return packetInMin + len(m.Data) }

// MarshalBinary encodes the message.
func (m *PacketIn) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *PacketIn) marshalInto(b []byte) error {
	putHeader(b, TypePacketIn, m.Xid)
	be.PutUint32(b[8:], m.BufferID)
	be.PutUint16(b[12:], m.TotalLen)
	be.PutUint16(b[14:], uint16(m.InPort))
	b[16] = byte(m.Reason)
	b[17] = 0
	copy(b[18:], m.Data)
	return nil
}

// UnmarshalBinary decodes one whole message; Data is a copy.
func (m *PacketIn) UnmarshalBinary(b []byte) error {
	if err := m.DecodeFromBytes(b); err != nil {
		return err
	}
	m.Data = cloneBytes(m.Data)
	return nil
}

// DecodeFromBytes decodes one whole message into m without allocating: Data
// aliases data, so data must not change while m is in use. After an error
// m's fields are undefined.
func (m *PacketIn) DecodeFromBytes(data []byte) error {
	x, err := checkMsg(data, TypePacketIn, packetInMin)
	if err != nil {
		return err
	}
	m.Xid = x
	m.BufferID = be.Uint32(data[8:])
	m.TotalLen = be.Uint16(data[12:])
	m.InPort = PortNo(be.Uint16(data[14:]))
	m.Reason = PacketInReason(data[16])
	m.Data = data[18:len(data):len(data)]
	return nil
}

// FlowRemoved is OFPT_FLOW_REMOVED: an entry expired or was deleted, with its
// final counters.
type FlowRemoved struct {
	Xid          uint32
	Match        Match
	Cookie       uint64
	Priority     uint16
	Reason       FlowRemovedReason
	DurationSec  uint32
	DurationNsec uint32
	IdleTimeout  uint16
	PacketCount  uint64
	ByteCount    uint64
}

const flowRemovedLen = 88

// Type implements Message.
func (m *FlowRemoved) Type() Type { return TypeFlowRemoved }

// XID implements Message.
func (m *FlowRemoved) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *FlowRemoved) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *FlowRemoved) Len() int { return flowRemovedLen }

// MarshalBinary encodes the message.
func (m *FlowRemoved) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *FlowRemoved) marshalInto(b []byte) error {
	putHeader(b, TypeFlowRemoved, m.Xid)
	if err := m.Match.marshalInto(b[8:48]); err != nil {
		return encErr(TypeFlowRemoved, err, "match")
	}
	be.PutUint64(b[48:], m.Cookie)
	be.PutUint16(b[56:], m.Priority)
	b[58] = byte(m.Reason)
	b[59] = 0
	be.PutUint32(b[60:], m.DurationSec)
	be.PutUint32(b[64:], m.DurationNsec)
	be.PutUint16(b[68:], m.IdleTimeout)
	b[70], b[71] = 0, 0
	be.PutUint64(b[72:], m.PacketCount)
	be.PutUint64(b[80:], m.ByteCount)
	return nil
}

// UnmarshalBinary decodes one whole message.
func (m *FlowRemoved) UnmarshalBinary(b []byte) error { return m.DecodeFromBytes(b) }

// DecodeFromBytes decodes one whole message into m without allocating (a
// FlowRemoved holds no slices, so nothing aliases data). After an error m's
// fields are undefined.
func (m *FlowRemoved) DecodeFromBytes(data []byte) error {
	x, err := fixedLen(data, TypeFlowRemoved, flowRemovedLen)
	if err != nil {
		return err
	}
	b := data
	m.Xid = x
	m.Match.unmarshal(b[8:48])
	m.Cookie = be.Uint64(b[48:])
	m.Priority = be.Uint16(b[56:])
	m.Reason = FlowRemovedReason(b[58])
	m.DurationSec = be.Uint32(b[60:])
	m.DurationNsec = be.Uint32(b[64:])
	m.IdleTimeout = be.Uint16(b[68:])
	m.PacketCount = be.Uint64(b[72:])
	m.ByteCount = be.Uint64(b[80:])
	return nil
}

// PacketOut is OFPT_PACKET_OUT: send a packet (buffered in the switch, or in
// Data when BufferID is BufferNone) through Actions.
type PacketOut struct {
	Xid      uint32
	BufferID uint32
	InPort   PortNo // PortNone if the packet did not come in on a port
	Actions  []Action
	Data     []byte
}

const packetOutMin = 16

// Type implements Message.
func (m *PacketOut) Type() Type { return TypePacketOut }

// XID implements Message.
func (m *PacketOut) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *PacketOut) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *PacketOut) Len() int { return packetOutMin + ActionsLen(m.Actions) + len(m.Data) }

// MarshalBinary encodes the message.
func (m *PacketOut) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *PacketOut) marshalInto(b []byte) error {
	putHeader(b, TypePacketOut, m.Xid)
	al := ActionsLen(m.Actions)
	if al > 0xffff {
		return encErr(TypePacketOut, ErrTooLong, "actions of %d bytes", al)
	}
	be.PutUint32(b[8:], m.BufferID)
	be.PutUint16(b[12:], uint16(m.InPort))
	be.PutUint16(b[14:], uint16(al))
	if err := putActions(b[16:16+al], m.Actions, TypePacketOut); err != nil {
		return err
	}
	copy(b[16+al:], m.Data)
	return nil
}

// UnmarshalBinary decodes one whole message, copying actions and data.
func (m *PacketOut) UnmarshalBinary(b []byte) error {
	x, err := checkMsg(b, TypePacketOut, packetOutMin)
	if err != nil {
		return err
	}
	al := int(be.Uint16(b[14:]))
	if al > len(b)-packetOutMin {
		return errAt(TypePacketOut, 14, ErrBadLength, "actions_len %d, only %d bytes follow", al, len(b)-packetOutMin)
	}
	acts, err := decodeActions(nil, b[16:16+al], 16, TypePacketOut, nil)
	if err != nil {
		return err
	}
	m.Xid = x
	m.BufferID = be.Uint32(b[8:])
	m.InPort = PortNo(be.Uint16(b[12:]))
	m.Actions = acts
	m.Data = cloneBytes(b[16+al:])
	return nil
}

// FlowMod is OFPT_FLOW_MOD: add, change or delete flow entries.
type FlowMod struct {
	Xid         uint32
	Match       Match
	Cookie      uint64
	Command     FlowModCommand
	IdleTimeout uint16
	HardTimeout uint16
	Priority    uint16
	BufferID    uint32 // BufferNone when no buffered packet applies
	OutPort     PortNo // for deletes: only entries that output here; PortNone: any
	Flags       FlowModFlags
	Actions     []Action
}

const flowModMin = 72

// Type implements Message.
func (m *FlowMod) Type() Type { return TypeFlowMod }

// XID implements Message.
func (m *FlowMod) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *FlowMod) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *FlowMod) Len() int { return flowModMin + ActionsLen(m.Actions) }

// MarshalBinary encodes the message.
func (m *FlowMod) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *FlowMod) marshalInto(b []byte) error {
	putHeader(b, TypeFlowMod, m.Xid)
	if err := m.Match.marshalInto(b[8:48]); err != nil {
		return encErr(TypeFlowMod, err, "match")
	}
	be.PutUint64(b[48:], m.Cookie)
	be.PutUint16(b[56:], uint16(m.Command))
	be.PutUint16(b[58:], m.IdleTimeout)
	be.PutUint16(b[60:], m.HardTimeout)
	be.PutUint16(b[62:], m.Priority)
	be.PutUint32(b[64:], m.BufferID)
	be.PutUint16(b[68:], uint16(m.OutPort))
	be.PutUint16(b[70:], uint16(m.Flags))
	return putActions(b[72:], m.Actions, TypeFlowMod)
}

// UnmarshalBinary decodes one whole message, copying the actions.
func (m *FlowMod) UnmarshalBinary(b []byte) error {
	x, err := checkMsg(b, TypeFlowMod, flowModMin)
	if err != nil {
		return err
	}
	acts, err := decodeActions(nil, b[72:], 72, TypeFlowMod, nil)
	if err != nil {
		return err
	}
	m.Xid = x
	m.Match.unmarshal(b[8:48])
	m.Cookie = be.Uint64(b[48:])
	m.Command = FlowModCommand(be.Uint16(b[56:]))
	m.IdleTimeout = be.Uint16(b[58:])
	m.HardTimeout = be.Uint16(b[60:])
	m.Priority = be.Uint16(b[62:])
	m.BufferID = be.Uint32(b[64:])
	m.OutPort = PortNo(be.Uint16(b[68:]))
	m.Flags = FlowModFlags(be.Uint16(b[70:]))
	m.Actions = acts
	return nil
}
