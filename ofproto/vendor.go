package ofproto

import "strconv"

// NiciraVendor is the Nicira vendor id (NX_VENDOR_ID) used by Open vSwitch
// extensions.
const NiciraVendor uint32 = 0x00002320

// Nicira extension subtypes this package decodes.
const (
	NXTRoleRequest uint32 = 10
	NXTRoleReply   uint32 = 11
)

// Vendor is OFPT_VENDOR: a vendor id and the vendor's bytes, kept raw.
// Decode turns the Nicira role request and reply into *RoleRequest and
// *RoleReply; every other vendor message stays a *Vendor.
type Vendor struct {
	Xid    uint32
	Vendor uint32
	Data   []byte
}

const vendorMin = 12

// Type implements Message.
func (m *Vendor) Type() Type { return TypeVendor }

// XID implements Message.
func (m *Vendor) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *Vendor) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *Vendor) Len() int { return vendorMin + len(m.Data) }

// MarshalBinary encodes the message.
func (m *Vendor) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *Vendor) marshalInto(b []byte) error {
	putHeader(b, TypeVendor, m.Xid)
	be.PutUint32(b[8:], m.Vendor)
	copy(b[12:], m.Data)
	return nil
}

// UnmarshalBinary decodes one whole message, copying the data.
func (m *Vendor) UnmarshalBinary(b []byte) error {
	x, err := checkMsg(b, TypeVendor, vendorMin)
	if err != nil {
		return err
	}
	m.Xid = x
	m.Vendor = be.Uint32(b[8:])
	m.Data = cloneBytes(b[12:])
	return nil
}

// Role is a controller role in the Nicira role extension (nx_role).
type Role uint32

// Roles. OpenFlow 1.2 and Open vSwitch call them equal, master and slave;
// Open vSwitch's current header names primary and secondary.
const (
	RoleOther     Role = 0
	RolePrimary   Role = 1
	RoleSecondary Role = 2
)

func (r Role) String() string {
	switch r {
	case RoleOther:
		return "NX_ROLE_OTHER"
	case RolePrimary:
		return "NX_ROLE_PRIMARY"
	case RoleSecondary:
		return "NX_ROLE_SECONDARY"
	}
	return "NX_ROLE_UNKNOWN(" + strconv.Itoa(int(r)) + ")"
}

// RoleRequest is the Nicira NXT_ROLE_REQUEST vendor message: a controller asks
// for a role when several controllers share a switch.
type RoleRequest struct {
	Xid  uint32
	Role Role
}

// RoleReply is NXT_ROLE_REPLY: the role the switch granted.
type RoleReply struct {
	Xid  uint32
	Role Role
}

const roleLen = 20

func marshalRole(b []byte, xid, subtype uint32, r Role) {
	putHeader(b, TypeVendor, xid)
	be.PutUint32(b[8:], NiciraVendor)
	be.PutUint32(b[12:], subtype)
	be.PutUint32(b[16:], uint32(r))
}

func unmarshalRole(b []byte, subtype uint32) (uint32, Role, error) {
	x, err := fixedLen(b, TypeVendor, roleLen)
	if err != nil {
		return 0, 0, err
	}
	if v := be.Uint32(b[8:]); v != NiciraVendor {
		return 0, 0, errAt(TypeVendor, 8, ErrBadType, "vendor 0x%08x is not Nicira", v)
	}
	if s := be.Uint32(b[12:]); s != subtype {
		return 0, 0, errAt(TypeVendor, 12, ErrBadType, "Nicira subtype %d, want %d", s, subtype)
	}
	return x, Role(be.Uint32(b[16:])), nil
}

// isRole reports which role message b is (0 if neither).
func isRole(b []byte) uint32 {
	if len(b) != roleLen || be.Uint32(b[8:]) != NiciraVendor {
		return 0
	}
	switch s := be.Uint32(b[12:]); s {
	case NXTRoleRequest, NXTRoleReply:
		return s
	}
	return 0
}

// Type implements Message.
func (m *RoleRequest) Type() Type { return TypeVendor }

// XID implements Message.
func (m *RoleRequest) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *RoleRequest) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *RoleRequest) Len() int { return roleLen }

// MarshalBinary encodes the message.
func (m *RoleRequest) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *RoleRequest) marshalInto(b []byte) error {
	marshalRole(b, m.Xid, NXTRoleRequest, m.Role)
	return nil
}

// UnmarshalBinary decodes one whole message.
func (m *RoleRequest) UnmarshalBinary(b []byte) (err error) {
	m.Xid, m.Role, err = unmarshalRole(b, NXTRoleRequest)
	return err
}

// Type implements Message.
func (m *RoleReply) Type() Type { return TypeVendor }

// XID implements Message.
func (m *RoleReply) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *RoleReply) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *RoleReply) Len() int { return roleLen }

// MarshalBinary encodes the message.
func (m *RoleReply) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *RoleReply) marshalInto(b []byte) error {
	marshalRole(b, m.Xid, NXTRoleReply, m.Role)
	return nil
}

// UnmarshalBinary decodes one whole message.
func (m *RoleReply) UnmarshalBinary(b []byte) (err error) {
	m.Xid, m.Role, err = unmarshalRole(b, NXTRoleReply)
	return err
}
