package ofproto

// Hello is OFPT_HELLO. OpenFlow 1.0 defines no body; any bytes after the
// header are kept in Data (later versions put hello elements there).
type Hello struct {
	Xid  uint32
	Data []byte
}

// EchoRequest is OFPT_ECHO_REQUEST with its arbitrary payload.
type EchoRequest struct {
	Xid  uint32
	Data []byte
}

// EchoReply is OFPT_ECHO_REPLY; it carries the request's payload back.
type EchoReply struct {
	Xid  uint32
	Data []byte
}

// FeaturesRequest is OFPT_FEATURES_REQUEST (header only).
type FeaturesRequest struct{ Xid uint32 }

// GetConfigRequest is OFPT_GET_CONFIG_REQUEST (header only).
type GetConfigRequest struct{ Xid uint32 }

// BarrierRequest is OFPT_BARRIER_REQUEST (header only).
type BarrierRequest struct{ Xid uint32 }

// BarrierReply is OFPT_BARRIER_REPLY (header only).
type BarrierReply struct{ Xid uint32 }

// Type implements Message.
func (m *Hello) Type() Type { return TypeHello }

// XID implements Message.
func (m *Hello) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *Hello) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *Hello) Len() int { return HeaderLen + len(m.Data) }

// MarshalBinary encodes the message.
func (m *Hello) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *Hello) marshalInto(b []byte) error {
	putHeader(b, TypeHello, m.Xid)
	copy(b[HeaderLen:], m.Data)
	return nil
}

// UnmarshalBinary decodes one whole message, copying the payload.
func (m *Hello) UnmarshalBinary(b []byte) error {
	x, err := checkMsg(b, TypeHello, HeaderLen)
	if err != nil {
		return err
	}
	m.Xid, m.Data = x, cloneBytes(b[HeaderLen:])
	return nil
}

// Type implements Message.
func (m *EchoRequest) Type() Type { return TypeEchoRequest }

// XID implements Message.
func (m *EchoRequest) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *EchoRequest) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *EchoRequest) Len() int { return HeaderLen + len(m.Data) }

// MarshalBinary encodes the message.
func (m *EchoRequest) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *EchoRequest) marshalInto(b []byte) error {
	putHeader(b, TypeEchoRequest, m.Xid)
	copy(b[HeaderLen:], m.Data)
	return nil
}

// UnmarshalBinary decodes one whole message, copying the payload.
func (m *EchoRequest) UnmarshalBinary(b []byte) error {
	x, err := checkMsg(b, TypeEchoRequest, HeaderLen)
	if err != nil {
		return err
	}
	m.Xid, m.Data = x, cloneBytes(b[HeaderLen:])
	return nil
}

// DecodeFromBytes decodes one whole message into m without allocating: Data
// aliases b (nil when empty), so b must not change while m is in use.
func (m *EchoRequest) DecodeFromBytes(b []byte) error {
	x, err := checkMsg(b, TypeEchoRequest, HeaderLen)
	if err != nil {
		return err
	}
	m.Xid, m.Data = x, nil
	if len(b) > HeaderLen {
		m.Data = b[HeaderLen:len(b):len(b)]
	}
	return nil
}

// Type implements Message.
func (m *EchoReply) Type() Type { return TypeEchoReply }

// XID implements Message.
func (m *EchoReply) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *EchoReply) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *EchoReply) Len() int { return HeaderLen + len(m.Data) }

// MarshalBinary encodes the message.
func (m *EchoReply) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *EchoReply) marshalInto(b []byte) error {
	putHeader(b, TypeEchoReply, m.Xid)
	copy(b[HeaderLen:], m.Data)
	return nil
}

// UnmarshalBinary decodes one whole message, copying the payload.
func (m *EchoReply) UnmarshalBinary(b []byte) error {
	x, err := checkMsg(b, TypeEchoReply, HeaderLen)
	if err != nil {
		return err
	}
	m.Xid, m.Data = x, cloneBytes(b[HeaderLen:])
	return nil
}

// DecodeFromBytes decodes one whole message into m without allocating: Data
// aliases b (nil when empty), so b must not change while m is in use.
func (m *EchoReply) DecodeFromBytes(b []byte) error {
	x, err := checkMsg(b, TypeEchoReply, HeaderLen)
	if err != nil {
		return err
	}
	m.Xid, m.Data = x, nil
	if len(b) > HeaderLen {
		m.Data = b[HeaderLen:len(b):len(b)]
	}
	return nil
}

// headerOnly decodes a message that must be exactly its header.
func headerOnly(b []byte, t Type) (uint32, error) {
	x, err := checkMsg(b, t, HeaderLen)
	if err != nil {
		return 0, err
	}
	if len(b) != HeaderLen {
		return 0, errAt(t, 2, ErrBadLength, "length %d, want 8", len(b))
	}
	return x, nil
}

// Type implements Message.
func (m *FeaturesRequest) Type() Type { return TypeFeaturesRequest }

// XID implements Message.
func (m *FeaturesRequest) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *FeaturesRequest) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *FeaturesRequest) Len() int { return HeaderLen }

// MarshalBinary encodes the message.
func (m *FeaturesRequest) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *FeaturesRequest) marshalInto(b []byte) error {
	putHeader(b, TypeFeaturesRequest, m.Xid)
	return nil
}

// UnmarshalBinary decodes one whole message.
func (m *FeaturesRequest) UnmarshalBinary(b []byte) (err error) {
	m.Xid, err = headerOnly(b, TypeFeaturesRequest)
	return err
}

// Type implements Message.
func (m *GetConfigRequest) Type() Type { return TypeGetConfigRequest }

// XID implements Message.
func (m *GetConfigRequest) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *GetConfigRequest) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *GetConfigRequest) Len() int { return HeaderLen }

// MarshalBinary encodes the message.
func (m *GetConfigRequest) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *GetConfigRequest) marshalInto(b []byte) error {
	putHeader(b, TypeGetConfigRequest, m.Xid)
	return nil
}

// UnmarshalBinary decodes one whole message.
func (m *GetConfigRequest) UnmarshalBinary(b []byte) (err error) {
	m.Xid, err = headerOnly(b, TypeGetConfigRequest)
	return err
}

// Type implements Message.
func (m *BarrierRequest) Type() Type { return TypeBarrierRequest }

// XID implements Message.
func (m *BarrierRequest) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *BarrierRequest) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *BarrierRequest) Len() int { return HeaderLen }

// MarshalBinary encodes the message.
func (m *BarrierRequest) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *BarrierRequest) marshalInto(b []byte) error {
	putHeader(b, TypeBarrierRequest, m.Xid)
	return nil
}

// UnmarshalBinary decodes one whole message.
func (m *BarrierRequest) UnmarshalBinary(b []byte) (err error) {
	m.Xid, err = headerOnly(b, TypeBarrierRequest)
	return err
}

// Type implements Message.
func (m *BarrierReply) Type() Type { return TypeBarrierReply }

// XID implements Message.
func (m *BarrierReply) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *BarrierReply) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *BarrierReply) Len() int { return HeaderLen }

// MarshalBinary encodes the message.
func (m *BarrierReply) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *BarrierReply) marshalInto(b []byte) error {
	putHeader(b, TypeBarrierReply, m.Xid)
	return nil
}

// UnmarshalBinary decodes one whole message.
func (m *BarrierReply) UnmarshalBinary(b []byte) (err error) {
	m.Xid, err = headerOnly(b, TypeBarrierReply)
	return err
}

// ErrorMsg is OFPT_ERROR. Data holds at least the first 64 bytes of the
// offending request (for OFPET_HELLO_FAILED, an ASCII explanation).
type ErrorMsg struct {
	Xid     uint32
	ErrType ErrorType
	Code    uint16
	Data    []byte
}

// CodeString names the code within its type (OFPBRC_BAD_TYPE, ...).
func (m *ErrorMsg) CodeString() string { return ErrorCodeString(m.ErrType, m.Code) }

// Error makes an ErrorMsg usable as a Go error.
func (m *ErrorMsg) Error() string {
	return "ofproto: switch error " + m.ErrType.String() + " " + m.CodeString()
}

// Type implements Message.
func (m *ErrorMsg) Type() Type { return TypeError }

// XID implements Message.
func (m *ErrorMsg) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *ErrorMsg) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *ErrorMsg) Len() int { return HeaderLen + 4 + len(m.Data) }

// MarshalBinary encodes the message.
func (m *ErrorMsg) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *ErrorMsg) marshalInto(b []byte) error {
	putHeader(b, TypeError, m.Xid)
	be.PutUint16(b[8:], uint16(m.ErrType))
	be.PutUint16(b[10:], m.Code)
	copy(b[12:], m.Data)
	return nil
}

// UnmarshalBinary decodes one whole message, copying the data.
func (m *ErrorMsg) UnmarshalBinary(b []byte) error {
	x, err := checkMsg(b, TypeError, 12)
	if err != nil {
		return err
	}
	m.Xid = x
	m.ErrType = ErrorType(be.Uint16(b[8:]))
	m.Code = be.Uint16(b[10:])
	m.Data = cloneBytes(b[12:])
	return nil
}

// SwitchConfig is ofp_switch_config's body: fragment handling and how many
// bytes of a packet a table miss sends to the controller.
type SwitchConfig struct {
	Flags       ConfigFlags
	MissSendLen uint16
}

// GetConfigReply is OFPT_GET_CONFIG_REPLY.
type GetConfigReply struct {
	Xid uint32
	SwitchConfig
}

// SetConfig is OFPT_SET_CONFIG.
type SetConfig struct {
	Xid uint32
	SwitchConfig
}

func (c SwitchConfig) put(b []byte) {
	be.PutUint16(b[8:], uint16(c.Flags))
	be.PutUint16(b[10:], c.MissSendLen)
}

func (c *SwitchConfig) get(b []byte) {
	c.Flags = ConfigFlags(be.Uint16(b[8:]))
	c.MissSendLen = be.Uint16(b[10:])
}

// Type implements Message.
func (m *GetConfigReply) Type() Type { return TypeGetConfigReply }

// XID implements Message.
func (m *GetConfigReply) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *GetConfigReply) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *GetConfigReply) Len() int { return 12 }

// MarshalBinary encodes the message.
func (m *GetConfigReply) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *GetConfigReply) marshalInto(b []byte) error {
	putHeader(b, TypeGetConfigReply, m.Xid)
	m.put(b)
	return nil
}

// UnmarshalBinary decodes one whole message.
func (m *GetConfigReply) UnmarshalBinary(b []byte) error {
	x, err := fixedLen(b, TypeGetConfigReply, 12)
	if err != nil {
		return err
	}
	m.Xid = x
	m.get(b)
	return nil
}

// Type implements Message.
func (m *SetConfig) Type() Type { return TypeSetConfig }

// XID implements Message.
func (m *SetConfig) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *SetConfig) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *SetConfig) Len() int { return 12 }

// MarshalBinary encodes the message.
func (m *SetConfig) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *SetConfig) marshalInto(b []byte) error {
	putHeader(b, TypeSetConfig, m.Xid)
	m.put(b)
	return nil
}

// UnmarshalBinary decodes one whole message.
func (m *SetConfig) UnmarshalBinary(b []byte) error {
	x, err := fixedLen(b, TypeSetConfig, 12)
	if err != nil {
		return err
	}
	m.Xid = x
	m.get(b)
	return nil
}

// fixedLen decodes the header of a message whose length is fixed at n.
func fixedLen(b []byte, t Type, n int) (uint32, error) {
	x, err := checkMsg(b, t, n)
	if err != nil {
		return 0, err
	}
	if len(b) != n {
		return 0, errAt(t, 2, ErrBadLength, "length %d, want %d", len(b), n)
	}
	return x, nil
}
