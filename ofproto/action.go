package ofproto

import (
	"fmt"
	"net/netip"
	"strconv"
)

// ActionType is ofp_action_type.
type ActionType uint16

// Action types.
const (
	ActionOutput     ActionType = 0
	ActionSetVLANVID ActionType = 1
	ActionSetVLANPCP ActionType = 2
	ActionStripVLAN  ActionType = 3
	ActionSetDLSrc   ActionType = 4
	ActionSetDLDst   ActionType = 5
	ActionSetNWSrc   ActionType = 6
	ActionSetNWDst   ActionType = 7
	ActionSetNWTOS   ActionType = 8
	ActionSetTPSrc   ActionType = 9
	ActionSetTPDst   ActionType = 10
	ActionEnqueue    ActionType = 11
	ActionVendor     ActionType = 0xffff
)

var actionTypeNames = [...]string{"OFPAT_OUTPUT", "OFPAT_SET_VLAN_VID", "OFPAT_SET_VLAN_PCP",
	"OFPAT_STRIP_VLAN", "OFPAT_SET_DL_SRC", "OFPAT_SET_DL_DST", "OFPAT_SET_NW_SRC",
	"OFPAT_SET_NW_DST", "OFPAT_SET_NW_TOS", "OFPAT_SET_TP_SRC", "OFPAT_SET_TP_DST",
	"OFPAT_ENQUEUE"}

func (t ActionType) String() string {
	if int(t) < len(actionTypeNames) {
		return actionTypeNames[t]
	}
	if t == ActionVendor {
		return "OFPAT_VENDOR"
	}
	return "OFPAT_UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

// Action is one OpenFlow 1.0 action. The concrete types are the pointer
// types *OutputAction, *SetVLANVIDAction, ..., *VendorAction; decoders always
// produce pointers.
type Action interface {
	// Type is the action's ofp_action_type.
	Type() ActionType
	// Len is the encoded length: 8 or 16, or 8 + len(Data) for a vendor
	// action.
	Len() int
	// String formats the action as ovs-ofctl does (output:1, mod_dl_src:...).
	String() string
	// marshalAction writes the action into b (exactly Len() bytes); the
	// type and length fields are already written.
	marshalAction(b []byte) error
	// unmarshalAction reads the body; the caller checked type and length.
	unmarshalAction(b []byte, copyData bool)
	// isNil reports a nil pointer.
	isNil() bool
}

// OutputAction is OFPAT_OUTPUT. MaxLen is how many bytes to send when Port is
// PortController.
type OutputAction struct {
	Port   PortNo
	MaxLen uint16
}

// SetVLANVIDAction is OFPAT_SET_VLAN_VID.
type SetVLANVIDAction struct{ VID uint16 }

// SetVLANPCPAction is OFPAT_SET_VLAN_PCP.
type SetVLANPCPAction struct{ PCP uint8 }

// StripVLANAction is OFPAT_STRIP_VLAN.
type StripVLANAction struct{}

// SetDLSrcAction is OFPAT_SET_DL_SRC.
type SetDLSrcAction struct{ Addr MAC }

// SetDLDstAction is OFPAT_SET_DL_DST.
type SetDLDstAction struct{ Addr MAC }

// SetNWSrcAction is OFPAT_SET_NW_SRC (IPv4).
type SetNWSrcAction struct{ Addr netip.Addr }

// SetNWDstAction is OFPAT_SET_NW_DST (IPv4).
type SetNWDstAction struct{ Addr netip.Addr }

// SetNWTOSAction is OFPAT_SET_NW_TOS (the DSCP bits of the ToS byte).
type SetNWTOSAction struct{ TOS uint8 }

// SetTPSrcAction is OFPAT_SET_TP_SRC.
type SetTPSrcAction struct{ Port uint16 }

// SetTPDstAction is OFPAT_SET_TP_DST.
type SetTPDstAction struct{ Port uint16 }

// EnqueueAction is OFPAT_ENQUEUE: output to a queue of a port.
type EnqueueAction struct {
	Port    PortNo
	QueueID uint32
}

// VendorAction is OFPAT_VENDOR: a vendor id and the vendor's bytes. The
// encoded length, 8 + len(Data), must be a multiple of 8.
type VendorAction struct {
	Vendor uint32
	Data   []byte
}

func (*OutputAction) Type() ActionType     { return ActionOutput }
func (*SetVLANVIDAction) Type() ActionType { return ActionSetVLANVID }
func (*SetVLANPCPAction) Type() ActionType { return ActionSetVLANPCP }
func (*StripVLANAction) Type() ActionType  { return ActionStripVLAN }
func (*SetDLSrcAction) Type() ActionType   { return ActionSetDLSrc }
func (*SetDLDstAction) Type() ActionType   { return ActionSetDLDst }
func (*SetNWSrcAction) Type() ActionType   { return ActionSetNWSrc }
func (*SetNWDstAction) Type() ActionType   { return ActionSetNWDst }
func (*SetNWTOSAction) Type() ActionType   { return ActionSetNWTOS }
func (*SetTPSrcAction) Type() ActionType   { return ActionSetTPSrc }
func (*SetTPDstAction) Type() ActionType   { return ActionSetTPDst }
func (*EnqueueAction) Type() ActionType    { return ActionEnqueue }
func (*VendorAction) Type() ActionType     { return ActionVendor }

func (*OutputAction) Len() int     { return 8 }
func (*SetVLANVIDAction) Len() int { return 8 }
func (*SetVLANPCPAction) Len() int { return 8 }
func (*StripVLANAction) Len() int  { return 8 }
func (*SetDLSrcAction) Len() int   { return 16 }
func (*SetDLDstAction) Len() int   { return 16 }
func (*SetNWSrcAction) Len() int   { return 8 }
func (*SetNWDstAction) Len() int   { return 8 }
func (*SetNWTOSAction) Len() int   { return 8 }
func (*SetTPSrcAction) Len() int   { return 8 }
func (*SetTPDstAction) Len() int   { return 8 }
func (*EnqueueAction) Len() int    { return 16 }
func (a *VendorAction) Len() int   { return 8 + len(a.Data) }
func (a *OutputAction) String() string {
	switch a.Port {
	case PortController:
		return "CONTROLLER:" + strconv.Itoa(int(a.MaxLen))
	case PortInPort, PortTable, PortNormal, PortFlood, PortAll, PortLocal:
		return a.Port.String()[len("OFPP_"):]
	}
	return "output:" + a.Port.String()
}
func (a *SetVLANVIDAction) String() string { return "mod_vlan_vid:" + strconv.Itoa(int(a.VID)) }
func (a *SetVLANPCPAction) String() string { return "mod_vlan_pcp:" + strconv.Itoa(int(a.PCP)) }
func (a *StripVLANAction) String() string  { return "strip_vlan" }
func (a *SetDLSrcAction) String() string   { return "mod_dl_src:" + a.Addr.String() }
func (a *SetDLDstAction) String() string   { return "mod_dl_dst:" + a.Addr.String() }
func (a *SetNWSrcAction) String() string   { return "mod_nw_src:" + a.Addr.String() }
func (a *SetNWDstAction) String() string   { return "mod_nw_dst:" + a.Addr.String() }
func (a *SetNWTOSAction) String() string   { return "mod_nw_tos:" + strconv.Itoa(int(a.TOS)) }
func (a *SetTPSrcAction) String() string   { return "mod_tp_src:" + strconv.Itoa(int(a.Port)) }
func (a *SetTPDstAction) String() string   { return "mod_tp_dst:" + strconv.Itoa(int(a.Port)) }
func (a *EnqueueAction) String() string {
	return "enqueue:" + a.Port.String() + ":" + strconv.FormatUint(uint64(a.QueueID), 10)
}
func (a *VendorAction) String() string {
	return fmt.Sprintf("vendor(0x%08x,%x)", a.Vendor, a.Data)
}

func (a *OutputAction) marshalAction(b []byte) error {
	be.PutUint16(b[4:], uint16(a.Port))
	be.PutUint16(b[6:], a.MaxLen)
	return nil
}
func (a *SetVLANVIDAction) marshalAction(b []byte) error { be.PutUint16(b[4:], a.VID); return nil }
func (a *SetVLANPCPAction) marshalAction(b []byte) error { b[4] = a.PCP; return nil }
func (a *StripVLANAction) marshalAction(b []byte) error  { return nil }
func (a *SetDLSrcAction) marshalAction(b []byte) error   { copy(b[4:10], a.Addr[:]); return nil }
func (a *SetDLDstAction) marshalAction(b []byte) error   { copy(b[4:10], a.Addr[:]); return nil }
func (a *SetNWSrcAction) marshalAction(b []byte) error {
	if !putAddr4(b[4:8], a.Addr) {
		return fmt.Errorf("%w: OFPAT_SET_NW_SRC address %v is not IPv4", ErrBadField, a.Addr)
	}
	return nil
}
func (a *SetNWDstAction) marshalAction(b []byte) error {
	if !putAddr4(b[4:8], a.Addr) {
		return fmt.Errorf("%w: OFPAT_SET_NW_DST address %v is not IPv4", ErrBadField, a.Addr)
	}
	return nil
}
func (a *SetNWTOSAction) marshalAction(b []byte) error { b[4] = a.TOS; return nil }
func (a *SetTPSrcAction) marshalAction(b []byte) error { be.PutUint16(b[4:], a.Port); return nil }
func (a *SetTPDstAction) marshalAction(b []byte) error { be.PutUint16(b[4:], a.Port); return nil }
func (a *EnqueueAction) marshalAction(b []byte) error {
	be.PutUint16(b[4:], uint16(a.Port))
	be.PutUint32(b[12:], a.QueueID)
	return nil
}
func (a *VendorAction) marshalAction(b []byte) error {
	if len(b)%8 != 0 {
		return fmt.Errorf("%w: OFPAT_VENDOR length %d is not a multiple of 8", ErrBadAction, len(b))
	}
	be.PutUint32(b[4:], a.Vendor)
	copy(b[8:], a.Data)
	return nil
}

func (a *OutputAction) unmarshalAction(b []byte, _ bool) {
	a.Port = PortNo(be.Uint16(b[4:]))
	a.MaxLen = be.Uint16(b[6:])
}
func (a *SetVLANVIDAction) unmarshalAction(b []byte, _ bool) { a.VID = be.Uint16(b[4:]) }
func (a *SetVLANPCPAction) unmarshalAction(b []byte, _ bool) { a.PCP = b[4] }
func (a *StripVLANAction) unmarshalAction(b []byte, _ bool)  {}
func (a *SetDLSrcAction) unmarshalAction(b []byte, _ bool)   { copy(a.Addr[:], b[4:10]) }
func (a *SetDLDstAction) unmarshalAction(b []byte, _ bool)   { copy(a.Addr[:], b[4:10]) }
func (a *SetNWSrcAction) unmarshalAction(b []byte, _ bool)   { a.Addr = getAddr4(b[4:8]) }
func (a *SetNWDstAction) unmarshalAction(b []byte, _ bool)   { a.Addr = getAddr4(b[4:8]) }
func (a *SetNWTOSAction) unmarshalAction(b []byte, _ bool)   { a.TOS = b[4] }
func (a *SetTPSrcAction) unmarshalAction(b []byte, _ bool)   { a.Port = be.Uint16(b[4:]) }
func (a *SetTPDstAction) unmarshalAction(b []byte, _ bool)   { a.Port = be.Uint16(b[4:]) }
func (a *EnqueueAction) unmarshalAction(b []byte, _ bool) {
	a.Port = PortNo(be.Uint16(b[4:]))
	a.QueueID = be.Uint32(b[12:])
}
func (a *VendorAction) unmarshalAction(b []byte, copyData bool) {
	a.Vendor = be.Uint32(b[4:])
	if copyData {
		a.Data = cloneBytes(b[8:])
	} else {
		a.Data = b[8:len(b):len(b)]
	}
}

// actionFixedLen is the required length per type; 0 for vendor (>= 8).
func actionFixedLen(t ActionType) (int, bool) {
	switch t {
	case ActionSetDLSrc, ActionSetDLDst, ActionEnqueue:
		return 16, true
	case ActionVendor:
		return 0, true
	}
	if int(t) < len(actionTypeNames) {
		return 8, true
	}
	return 0, false
}

// ActionsLen is the encoded length of an action list (nil actions, which
// do not encode, count as 0).
func ActionsLen(acts []Action) int {
	n := 0
	for _, a := range acts {
		if !isNilAction(a) {
			n += a.Len()
		}
	}
	return n
}

// isNilAction reports a nil interface or a nil pointer inside one.
func isNilAction(a Action) bool { return a == nil || a.isNil() }

func (a *OutputAction) isNil() bool     { return a == nil }
func (a *SetVLANVIDAction) isNil() bool { return a == nil }
func (a *SetVLANPCPAction) isNil() bool { return a == nil }
func (a *StripVLANAction) isNil() bool  { return a == nil }
func (a *SetDLSrcAction) isNil() bool   { return a == nil }
func (a *SetDLDstAction) isNil() bool   { return a == nil }
func (a *SetNWSrcAction) isNil() bool   { return a == nil }
func (a *SetNWDstAction) isNil() bool   { return a == nil }
func (a *SetNWTOSAction) isNil() bool   { return a == nil }
func (a *SetTPSrcAction) isNil() bool   { return a == nil }
func (a *SetTPDstAction) isNil() bool   { return a == nil }
func (a *EnqueueAction) isNil() bool    { return a == nil }
func (a *VendorAction) isNil() bool     { return a == nil }

// putActions writes acts into b, which is exactly ActionsLen(acts) long.
func putActions(b []byte, acts []Action, t Type) error {
	off := 0
	for i, a := range acts {
		if isNilAction(a) {
			return encErr(t, ErrBadAction, "action %d is nil", i)
		}
		n := a.Len()
		if n%8 != 0 || n > 0xffff {
			return encErr(t, ErrBadAction, "%v length %d is not a multiple of 8", a.Type(), n)
		}
		ab := b[off : off+n]
		clear(ab)
		be.PutUint16(ab[0:], uint16(a.Type()))
		be.PutUint16(ab[2:], uint16(n))
		if err := a.marshalAction(ab); err != nil {
			return encErr(t, err, "action %d", i)
		}
		off += n
	}
	return nil
}

// actionArena hands out reusable action values so a caller-owned decode can
// fill an action list without allocating once warm. Pointers handed out stay
// valid until the arena is reset.
type actionArena struct {
	output  []OutputAction
	vid     []SetVLANVIDAction
	pcp     []SetVLANPCPAction
	strip   []StripVLANAction
	dlSrc   []SetDLSrcAction
	dlDst   []SetDLDstAction
	nwSrc   []SetNWSrcAction
	nwDst   []SetNWDstAction
	nwTOS   []SetNWTOSAction
	tpSrc   []SetTPSrcAction
	tpDst   []SetTPDstAction
	enqueue []EnqueueAction
	vendor  []VendorAction
	mixed   bool // a slice other than output is in use
}

func (a *actionArena) reset() {
	a.output = a.output[:0]
	if !a.mixed {
		return
	}
	a.mixed = false
	a.vid = a.vid[:0]
	a.pcp = a.pcp[:0]
	a.strip = a.strip[:0]
	a.dlSrc = a.dlSrc[:0]
	a.dlDst = a.dlDst[:0]
	a.nwSrc = a.nwSrc[:0]
	a.nwDst = a.nwDst[:0]
	a.nwTOS = a.nwTOS[:0]
	a.tpSrc = a.tpSrc[:0]
	a.tpDst = a.tpDst[:0]
	a.enqueue = a.enqueue[:0]
	a.vendor = a.vendor[:0]
}

func take[T any](s *[]T) *T {
	var zero T
	if len(*s) < cap(*s) {
		*s = (*s)[:len(*s)+1]
		(*s)[len(*s)-1] = zero
	} else {
		*s = append(*s, zero)
	}
	return &(*s)[len(*s)-1]
}

func newAction(t ActionType, arena *actionArena) Action {
	if arena != nil && t != ActionOutput {
		arena.mixed = true
	}
	if arena == nil {
		switch t {
		case ActionOutput:
			return new(OutputAction)
		case ActionSetVLANVID:
			return new(SetVLANVIDAction)
		case ActionSetVLANPCP:
			return new(SetVLANPCPAction)
		case ActionStripVLAN:
			return new(StripVLANAction)
		case ActionSetDLSrc:
			return new(SetDLSrcAction)
		case ActionSetDLDst:
			return new(SetDLDstAction)
		case ActionSetNWSrc:
			return new(SetNWSrcAction)
		case ActionSetNWDst:
			return new(SetNWDstAction)
		case ActionSetNWTOS:
			return new(SetNWTOSAction)
		case ActionSetTPSrc:
			return new(SetTPSrcAction)
		case ActionSetTPDst:
			return new(SetTPDstAction)
		case ActionEnqueue:
			return new(EnqueueAction)
		case ActionVendor:
			return new(VendorAction)
		}
		return nil
	}
	switch t {
	case ActionOutput:
		return take(&arena.output)
	case ActionSetVLANVID:
		return take(&arena.vid)
	case ActionSetVLANPCP:
		return take(&arena.pcp)
	case ActionStripVLAN:
		return take(&arena.strip)
	case ActionSetDLSrc:
		return take(&arena.dlSrc)
	case ActionSetDLDst:
		return take(&arena.dlDst)
	case ActionSetNWSrc:
		return take(&arena.nwSrc)
	case ActionSetNWDst:
		return take(&arena.nwDst)
	case ActionSetNWTOS:
		return take(&arena.nwTOS)
	case ActionSetTPSrc:
		return take(&arena.tpSrc)
	case ActionSetTPDst:
		return take(&arena.tpDst)
	case ActionEnqueue:
		return take(&arena.enqueue)
	case ActionVendor:
		return take(&arena.vendor)
	}
	return nil
}

// decodeActions appends the actions in b to dst. base is b's offset in the
// message and t the message type, for errors. With a nil arena every action
// is a fresh allocation and vendor data is copied; with an arena the values
// are reused and vendor data aliases b.
func decodeActions(dst []Action, b []byte, base int, t Type, arena *actionArena) ([]Action, error) {
	if len(b)%8 != 0 {
		return dst, errAt(t, base, ErrBadLength, "action list of %d bytes is not a multiple of 8", len(b))
	}
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			return dst, short(t, base+off, 8, len(b)-off)
		}
		at := ActionType(be.Uint16(b[off:]))
		n := int(be.Uint16(b[off+2:]))
		if at == ActionOutput && n == 8 && arena != nil {
			// The common case on the hot path, without the generic
			// dispatch below.
			o := take(&arena.output)
			o.Port = PortNo(be.Uint16(b[off+4:]))
			o.MaxLen = be.Uint16(b[off+6:])
			dst = append(dst, o)
			off += 8
			continue
		}
		want, ok := actionFixedLen(at)
		if !ok {
			return dst, errAt(t, base+off, ErrBadAction, "unknown action type %d", uint16(at))
		}
		switch {
		case n < 8 || n%8 != 0:
			return dst, errAt(t, base+off+2, ErrBadAction, "%v length %d", at, n)
		case want != 0 && n != want:
			return dst, errAt(t, base+off+2, ErrBadAction, "%v length %d, want %d", at, n, want)
		case n > len(b)-off:
			return dst, errAt(t, base+off+2, ErrShortMessage, "%v length %d, have %d", at, n, len(b)-off)
		}
		a := newAction(at, arena)
		a.unmarshalAction(b[off:off+n], arena == nil)
		dst = append(dst, a)
		off += n
	}
	return dst, nil
}

// DecodeActions decodes an action list (as found after a FLOW_MOD or a flow
// stats entry). The result does not alias b.
func DecodeActions(b []byte) ([]Action, error) {
	return decodeActions(nil, b, 0, typeUnknown, nil)
}

// AppendActions appends the encoding of acts to dst.
func AppendActions(dst []byte, acts []Action) ([]byte, error) {
	start := len(dst)
	dst = grow(dst, ActionsLen(acts))
	if err := putActions(dst[start:], acts, typeUnknown); err != nil {
		return dst[:start], err
	}
	return dst, nil
}
