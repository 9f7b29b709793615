package ofproto

import "bytes"

// PhyPortLen is the size of ofp_phy_port.
const PhyPortLen = 48

// MaxPortNameLen is OFP_MAX_PORT_NAME_LEN: names are NUL-terminated in 16 bytes.
const MaxPortNameLen = 16

// PhyPort is ofp_phy_port, a port's description.
type PhyPort struct {
	PortNo     PortNo
	HWAddr     MAC
	Name       string
	Config     PortConfig
	State      PortState
	Curr       PortFeatures
	Advertised PortFeatures
	Supported  PortFeatures
	Peer       PortFeatures
}

// putString writes s NUL-padded into b; it must leave room for the NUL.
func putString(b []byte, s string) bool {
	if len(s) >= len(b) {
		return false
	}
	n := copy(b, s)
	clear(b[n:])
	return true
}

// getString reads a NUL-terminated string from a fixed-size field. Like Open
// vSwitch it keeps at most len(b)-1 bytes when the terminator is missing.
func getString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	} else if len(b) > 0 {
		b = b[:len(b)-1]
	}
	return string(b)
}

func (p *PhyPort) marshalInto(b []byte, t Type) error {
	be.PutUint16(b[0:], uint16(p.PortNo))
	copy(b[2:8], p.HWAddr[:])
	if !putString(b[8:24], p.Name) {
		return encErr(t, ErrBadField, "port name %q is longer than 15 bytes", p.Name)
	}
	be.PutUint32(b[24:], uint32(p.Config))
	be.PutUint32(b[28:], uint32(p.State))
	be.PutUint32(b[32:], uint32(p.Curr))
	be.PutUint32(b[36:], uint32(p.Advertised))
	be.PutUint32(b[40:], uint32(p.Supported))
	be.PutUint32(b[44:], uint32(p.Peer))
	return nil
}

func (p *PhyPort) unmarshal(b []byte) {
	_ = b[PhyPortLen-1]
	p.PortNo = PortNo(be.Uint16(b[0:]))
	copy(p.HWAddr[:], b[2:8])
	p.Name = getString(b[8:24])
	p.Config = PortConfig(be.Uint32(b[24:]))
	p.State = PortState(be.Uint32(b[28:]))
	p.Curr = PortFeatures(be.Uint32(b[32:]))
	p.Advertised = PortFeatures(be.Uint32(b[36:]))
	p.Supported = PortFeatures(be.Uint32(b[40:]))
	p.Peer = PortFeatures(be.Uint32(b[44:]))
}

// FeaturesReply is OFPT_FEATURES_REPLY: the switch's datapath id, buffers,
// tables, capabilities, supported actions and ports.
type FeaturesReply struct {
	Xid          uint32
	DatapathID   uint64
	NBuffers     uint32
	NTables      uint8
	Capabilities Capabilities
	Actions      ActionBitmap
	Ports        []PhyPort
}

const featuresReplyMin = 32

// Type implements Message.
func (m *FeaturesReply) Type() Type { return TypeFeaturesReply }

// XID implements Message.
func (m *FeaturesReply) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *FeaturesReply) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *FeaturesReply) Len() int { return featuresReplyMin + PhyPortLen*len(m.Ports) }

// MarshalBinary encodes the message.
func (m *FeaturesReply) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *FeaturesReply) marshalInto(b []byte) error {
	putHeader(b, TypeFeaturesReply, m.Xid)
	be.PutUint64(b[8:], m.DatapathID)
	be.PutUint32(b[16:], m.NBuffers)
	b[20] = m.NTables
	b[21], b[22], b[23] = 0, 0, 0
	be.PutUint32(b[24:], uint32(m.Capabilities))
	be.PutUint32(b[28:], uint32(m.Actions))
	for i := range m.Ports {
		off := featuresReplyMin + i*PhyPortLen
		if err := m.Ports[i].marshalInto(b[off:off+PhyPortLen], TypeFeaturesReply); err != nil {
			return err
		}
	}
	return nil
}

// UnmarshalBinary decodes one whole message.
func (m *FeaturesReply) UnmarshalBinary(b []byte) error {
	x, err := checkMsg(b, TypeFeaturesReply, featuresReplyMin)
	if err != nil {
		return err
	}
	if (len(b)-featuresReplyMin)%PhyPortLen != 0 {
		return errAt(TypeFeaturesReply, 2, ErrBadLength, "%d bytes of ports is not a multiple of 48", len(b)-featuresReplyMin)
	}
	m.Xid = x
	m.DatapathID = be.Uint64(b[8:])
	m.NBuffers = be.Uint32(b[16:])
	m.NTables = b[20]
	m.Capabilities = Capabilities(be.Uint32(b[24:]))
	m.Actions = ActionBitmap(be.Uint32(b[28:]))
	m.Ports = nil
	for off := featuresReplyMin; off < len(b); off += PhyPortLen {
		var p PhyPort
		p.unmarshal(b[off : off+PhyPortLen])
		m.Ports = append(m.Ports, p)
	}
	return nil
}

// PortStatus is OFPT_PORT_STATUS: a port was added, removed or changed.
type PortStatus struct {
	Xid    uint32
	Reason PortReason
	Desc   PhyPort
}

const portStatusLen = 64

// Type implements Message.
func (m *PortStatus) Type() Type { return TypePortStatus }

// XID implements Message.
func (m *PortStatus) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *PortStatus) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *PortStatus) Len() int { return portStatusLen }

// MarshalBinary encodes the message.
func (m *PortStatus) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *PortStatus) marshalInto(b []byte) error {
	putHeader(b, TypePortStatus, m.Xid)
	b[8] = byte(m.Reason)
	clear(b[9:16])
	return m.Desc.marshalInto(b[16:64], TypePortStatus)
}

// UnmarshalBinary decodes one whole message.
func (m *PortStatus) UnmarshalBinary(b []byte) error {
	x, err := fixedLen(b, TypePortStatus, portStatusLen)
	if err != nil {
		return err
	}
	m.Xid = x
	m.Reason = PortReason(b[8])
	m.Desc.unmarshal(b[16:64])
	return nil
}

// PortMod is OFPT_PORT_MOD: change the bits of Config selected by Mask.
type PortMod struct {
	Xid       uint32
	PortNo    PortNo
	HWAddr    MAC // must match the port's address
	Config    PortConfig
	Mask      PortConfig
	Advertise PortFeatures // zero: leave advertised features unchanged
}

const portModLen = 32

// Type implements Message.
func (m *PortMod) Type() Type { return TypePortMod }

// XID implements Message.
func (m *PortMod) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *PortMod) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *PortMod) Len() int { return portModLen }

// MarshalBinary encodes the message.
func (m *PortMod) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *PortMod) marshalInto(b []byte) error {
	putHeader(b, TypePortMod, m.Xid)
	be.PutUint16(b[8:], uint16(m.PortNo))
	copy(b[10:16], m.HWAddr[:])
	be.PutUint32(b[16:], uint32(m.Config))
	be.PutUint32(b[20:], uint32(m.Mask))
	be.PutUint32(b[24:], uint32(m.Advertise))
	clear(b[28:32])
	return nil
}

// UnmarshalBinary decodes one whole message.
func (m *PortMod) UnmarshalBinary(b []byte) error {
	x, err := fixedLen(b, TypePortMod, portModLen)
	if err != nil {
		return err
	}
	m.Xid = x
	m.PortNo = PortNo(be.Uint16(b[8:]))
	copy(m.HWAddr[:], b[10:16])
	m.Config = PortConfig(be.Uint32(b[16:]))
	m.Mask = PortConfig(be.Uint32(b[20:]))
	m.Advertise = PortFeatures(be.Uint32(b[24:]))
	return nil
}
