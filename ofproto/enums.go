package ofproto

import (
	"strconv"
	"strings"
)

// Version is the OpenFlow 1.0 protocol version byte.
const Version uint8 = 0x01

// HeaderLen is the size of ofp_header.
const HeaderLen = 8

// MaxMessageLen is the largest message the 16-bit length field allows.
const MaxMessageLen = 65535

// Type is an OpenFlow 1.0 message type (ofp_type).
type Type uint8

// Message types.
const (
	TypeHello                 Type = 0
	TypeError                 Type = 1
	TypeEchoRequest           Type = 2
	TypeEchoReply             Type = 3
	TypeVendor                Type = 4
	TypeFeaturesRequest       Type = 5
	TypeFeaturesReply         Type = 6
	TypeGetConfigRequest      Type = 7
	TypeGetConfigReply        Type = 8
	TypeSetConfig             Type = 9
	TypePacketIn              Type = 10
	TypeFlowRemoved           Type = 11
	TypePortStatus            Type = 12
	TypePacketOut             Type = 13
	TypeFlowMod               Type = 14
	TypePortMod               Type = 15
	TypeStatsRequest          Type = 16
	TypeStatsReply            Type = 17
	TypeBarrierRequest        Type = 18
	TypeBarrierReply          Type = 19
	TypeQueueGetConfigRequest Type = 20
	TypeQueueGetConfigReply   Type = 21
)

var typeNames = [...]string{
	"OFPT_HELLO", "OFPT_ERROR", "OFPT_ECHO_REQUEST", "OFPT_ECHO_REPLY", "OFPT_VENDOR",
	"OFPT_FEATURES_REQUEST", "OFPT_FEATURES_REPLY", "OFPT_GET_CONFIG_REQUEST",
	"OFPT_GET_CONFIG_REPLY", "OFPT_SET_CONFIG", "OFPT_PACKET_IN", "OFPT_FLOW_REMOVED",
	"OFPT_PORT_STATUS", "OFPT_PACKET_OUT", "OFPT_FLOW_MOD", "OFPT_PORT_MOD",
	"OFPT_STATS_REQUEST", "OFPT_STATS_REPLY", "OFPT_BARRIER_REQUEST", "OFPT_BARRIER_REPLY",
	"OFPT_QUEUE_GET_CONFIG_REQUEST", "OFPT_QUEUE_GET_CONFIG_REPLY",
}

// Valid reports whether t is an OpenFlow 1.0 message type.
func (t Type) Valid() bool { return int(t) < len(typeNames) }

func (t Type) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return "OFPT_UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

// PortNo is a switch port number; values from 0xfff8 up are the reserved
// OFPP_* ports.
type PortNo uint16

// Reserved ports.
const (
	PortMax        PortNo = 0xff00
	PortInPort     PortNo = 0xfff8
	PortTable      PortNo = 0xfff9
	PortNormal     PortNo = 0xfffa
	PortFlood      PortNo = 0xfffb
	PortAll        PortNo = 0xfffc
	PortController PortNo = 0xfffd
	PortLocal      PortNo = 0xfffe
	PortNone       PortNo = 0xffff
)

var portNames = map[PortNo]string{
	PortMax: "OFPP_MAX", PortInPort: "OFPP_IN_PORT", PortTable: "OFPP_TABLE",
	PortNormal: "OFPP_NORMAL", PortFlood: "OFPP_FLOOD", PortAll: "OFPP_ALL",
	PortController: "OFPP_CONTROLLER", PortLocal: "OFPP_LOCAL", PortNone: "OFPP_NONE",
}

func (p PortNo) String() string {
	if s, ok := portNames[p]; ok {
		return s
	}
	return strconv.Itoa(int(p))
}

// BufferNone is the buffer_id meaning "no buffered packet".
const BufferNone uint32 = 0xffffffff

// ErrorType is ofp_error_type.
type ErrorType uint16

// Error types.
const (
	ErrTypeHelloFailed   ErrorType = 0
	ErrTypeBadRequest    ErrorType = 1
	ErrTypeBadAction     ErrorType = 2
	ErrTypeFlowModFailed ErrorType = 3
	ErrTypePortModFailed ErrorType = 4
	ErrTypeQueueOpFailed ErrorType = 5
)

var errorTypeNames = [...]string{
	"OFPET_HELLO_FAILED", "OFPET_BAD_REQUEST", "OFPET_BAD_ACTION",
	"OFPET_FLOW_MOD_FAILED", "OFPET_PORT_MOD_FAILED", "OFPET_QUEUE_OP_FAILED",
}

func (t ErrorType) String() string {
	if int(t) < len(errorTypeNames) {
		return errorTypeNames[t]
	}
	return "OFPET_UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

var errorCodeNames = [len(errorTypeNames)][]string{
	{"OFPHFC_INCOMPATIBLE", "OFPHFC_EPERM"},
	{"OFPBRC_BAD_VERSION", "OFPBRC_BAD_TYPE", "OFPBRC_BAD_STAT", "OFPBRC_BAD_VENDOR",
		"OFPBRC_BAD_SUBTYPE", "OFPBRC_EPERM", "OFPBRC_BAD_LEN", "OFPBRC_BUFFER_EMPTY",
		"OFPBRC_BUFFER_UNKNOWN"},
	{"OFPBAC_BAD_TYPE", "OFPBAC_BAD_LEN", "OFPBAC_BAD_VENDOR", "OFPBAC_BAD_VENDOR_TYPE",
		"OFPBAC_BAD_OUT_PORT", "OFPBAC_BAD_ARGUMENT", "OFPBAC_EPERM", "OFPBAC_TOO_MANY",
		"OFPBAC_BAD_QUEUE"},
	{"OFPFMFC_ALL_TABLES_FULL", "OFPFMFC_OVERLAP", "OFPFMFC_EPERM",
		"OFPFMFC_BAD_EMERG_TIMEOUT", "OFPFMFC_BAD_COMMAND", "OFPFMFC_UNSUPPORTED"},
	{"OFPPMFC_BAD_PORT", "OFPPMFC_BAD_HW_ADDR"},
	{"OFPQOFC_BAD_PORT", "OFPQOFC_BAD_QUEUE", "OFPQOFC_EPERM"},
}

// Error codes, by type (ofp_hello_failed_code, ofp_bad_request_code, ...).
const (
	HelloIncompatible uint16 = 0
	HelloEPerm        uint16 = 1

	BadRequestBadVersion    uint16 = 0
	BadRequestBadType       uint16 = 1
	BadRequestBadStat       uint16 = 2
	BadRequestBadVendor     uint16 = 3
	BadRequestBadSubtype    uint16 = 4
	BadRequestEPerm         uint16 = 5
	BadRequestBadLen        uint16 = 6
	BadRequestBufferEmpty   uint16 = 7
	BadRequestBufferUnknown uint16 = 8

	BadActionBadType       uint16 = 0
	BadActionBadLen        uint16 = 1
	BadActionBadVendor     uint16 = 2
	BadActionBadVendorType uint16 = 3
	BadActionBadOutPort    uint16 = 4
	BadActionBadArgument   uint16 = 5
	BadActionEPerm         uint16 = 6
	BadActionTooMany       uint16 = 7
	BadActionBadQueue      uint16 = 8

	FlowModAllTablesFull   uint16 = 0
	FlowModOverlap         uint16 = 1
	FlowModEPerm           uint16 = 2
	FlowModBadEmergTimeout uint16 = 3
	FlowModBadCommand      uint16 = 4
	FlowModUnsupported     uint16 = 5

	PortModBadPort   uint16 = 0
	PortModBadHWAddr uint16 = 1

	QueueOpBadPort  uint16 = 0
	QueueOpBadQueue uint16 = 1
	QueueOpEPerm    uint16 = 2
)

// ErrorCodeString names code within error type t (OFPBRC_BAD_TYPE, ...), or
// gives the number when the pair is unknown.
func ErrorCodeString(t ErrorType, code uint16) string {
	if int(t) < len(errorCodeNames) && int(code) < len(errorCodeNames[t]) {
		return errorCodeNames[t][code]
	}
	return strconv.Itoa(int(code))
}

// StatsType is ofp_stats_types.
type StatsType uint16

// Statistics types.
const (
	StatsDesc      StatsType = 0
	StatsFlow      StatsType = 1
	StatsAggregate StatsType = 2
	StatsTable     StatsType = 3
	StatsPort      StatsType = 4
	StatsQueue     StatsType = 5
	StatsVendor    StatsType = 0xffff
)

func (t StatsType) String() string {
	switch t {
	case StatsDesc:
		return "OFPST_DESC"
	case StatsFlow:
		return "OFPST_FLOW"
	case StatsAggregate:
		return "OFPST_AGGREGATE"
	case StatsTable:
		return "OFPST_TABLE"
	case StatsPort:
		return "OFPST_PORT"
	case StatsQueue:
		return "OFPST_QUEUE"
	case StatsVendor:
		return "OFPST_VENDOR"
	}
	return "OFPST_UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

// StatsReplyMore is OFPSF_REPLY_MORE: more replies follow for this xid.
const StatsReplyMore uint16 = 1

// PacketInReason is ofp_packet_in_reason.
type PacketInReason uint8

// Packet-in reasons.
const (
	ReasonNoMatch PacketInReason = 0
	ReasonAction  PacketInReason = 1
)

func (r PacketInReason) String() string {
	switch r {
	case ReasonNoMatch:
		return "OFPR_NO_MATCH"
	case ReasonAction:
		return "OFPR_ACTION"
	}
	return "OFPR_UNKNOWN(" + strconv.Itoa(int(r)) + ")"
}

// FlowRemovedReason is ofp_flow_removed_reason.
type FlowRemovedReason uint8

// Flow-removed reasons.
const (
	RemovedIdleTimeout FlowRemovedReason = 0
	RemovedHardTimeout FlowRemovedReason = 1
	RemovedDelete      FlowRemovedReason = 2
)

func (r FlowRemovedReason) String() string {
	switch r {
	case RemovedIdleTimeout:
		return "OFPRR_IDLE_TIMEOUT"
	case RemovedHardTimeout:
		return "OFPRR_HARD_TIMEOUT"
	case RemovedDelete:
		return "OFPRR_DELETE"
	}
	return "OFPRR_UNKNOWN(" + strconv.Itoa(int(r)) + ")"
}

// PortReason is ofp_port_reason.
type PortReason uint8

// Port-status reasons.
const (
	PortAdded    PortReason = 0
	PortDeleted  PortReason = 1
	PortModified PortReason = 2
)

func (r PortReason) String() string {
	switch r {
	case PortAdded:
		return "OFPPR_ADD"
	case PortDeleted:
		return "OFPPR_DELETE"
	case PortModified:
		return "OFPPR_MODIFY"
	}
	return "OFPPR_UNKNOWN(" + strconv.Itoa(int(r)) + ")"
}

// FlowModCommand is ofp_flow_mod_command.
type FlowModCommand uint16

// Flow-mod commands.
const (
	FlowAdd          FlowModCommand = 0
	FlowModify       FlowModCommand = 1
	FlowModifyStrict FlowModCommand = 2
	FlowDelete       FlowModCommand = 3
	FlowDeleteStrict FlowModCommand = 4
)

func (c FlowModCommand) String() string {
	switch c {
	case FlowAdd:
		return "OFPFC_ADD"
	case FlowModify:
		return "OFPFC_MODIFY"
	case FlowModifyStrict:
		return "OFPFC_MODIFY_STRICT"
	case FlowDelete:
		return "OFPFC_DELETE"
	case FlowDeleteStrict:
		return "OFPFC_DELETE_STRICT"
	}
	return "OFPFC_UNKNOWN(" + strconv.Itoa(int(c)) + ")"
}

// bitNames names the bits of a flags word; unnamed set bits print as hex.
func bitNames(v uint32, names []string) []string {
	var out []string
	for i := 0; i < 32; i++ {
		bit := uint32(1) << i
		if v&bit == 0 {
			continue
		}
		if i < len(names) && names[i] != "" {
			out = append(out, names[i])
		} else {
			out = append(out, "0x"+strconv.FormatUint(uint64(bit), 16))
		}
	}
	return out
}

func joinBits(v uint32, names []string) string {
	if v == 0 {
		return "0"
	}
	return strings.Join(bitNames(v, names), "|")
}

// FlowModFlags is the flags field of ofp_flow_mod (OFPFF_*).
type FlowModFlags uint16

// Flow-mod flags.
const (
	FlagSendFlowRem  FlowModFlags = 1 << 0
	FlagCheckOverlap FlowModFlags = 1 << 1
	FlagEmerg        FlowModFlags = 1 << 2
)

var flowModFlagNames = []string{"OFPFF_SEND_FLOW_REM", "OFPFF_CHECK_OVERLAP", "OFPFF_EMERG"}

// Names lists the set flags by their specification names.
func (f FlowModFlags) Names() []string { return bitNames(uint32(f), flowModFlagNames) }
func (f FlowModFlags) String() string  { return joinBits(uint32(f), flowModFlagNames) }

// Capabilities is ofp_capabilities (OFPC_*), in FEATURES_REPLY.
type Capabilities uint32

// Capability bits.
const (
	CapFlowStats  Capabilities = 1 << 0
	CapTableStats Capabilities = 1 << 1
	CapPortStats  Capabilities = 1 << 2
	CapSTP        Capabilities = 1 << 3
	CapReserved   Capabilities = 1 << 4
	CapIPReasm    Capabilities = 1 << 5
	CapQueueStats Capabilities = 1 << 6
	CapARPMatchIP Capabilities = 1 << 7
)

var capNames = []string{"OFPC_FLOW_STATS", "OFPC_TABLE_STATS", "OFPC_PORT_STATS", "OFPC_STP",
	"OFPC_RESERVED", "OFPC_IP_REASM", "OFPC_QUEUE_STATS", "OFPC_ARP_MATCH_IP"}

// Names lists the set bits by their specification names.
func (c Capabilities) Names() []string { return bitNames(uint32(c), capNames) }
func (c Capabilities) String() string  { return joinBits(uint32(c), capNames) }

// ActionBitmap is the actions field of FEATURES_REPLY: bit n set means
// action type n is supported.
type ActionBitmap uint32

// Names lists the supported actions by their specification names.
func (a ActionBitmap) Names() []string { return bitNames(uint32(a), actionTypeNames[:]) }
func (a ActionBitmap) String() string  { return joinBits(uint32(a), actionTypeNames[:]) }

// PortConfig is ofp_port_config (OFPPC_*).
type PortConfig uint32

// Port configuration bits.
const (
	PortConfigDown       PortConfig = 1 << 0
	PortConfigNoSTP      PortConfig = 1 << 1
	PortConfigNoRecv     PortConfig = 1 << 2
	PortConfigNoRecvSTP  PortConfig = 1 << 3
	PortConfigNoFlood    PortConfig = 1 << 4
	PortConfigNoFwd      PortConfig = 1 << 5
	PortConfigNoPacketIn PortConfig = 1 << 6
)

var portConfigNames = []string{"OFPPC_PORT_DOWN", "OFPPC_NO_STP", "OFPPC_NO_RECV",
	"OFPPC_NO_RECV_STP", "OFPPC_NO_FLOOD", "OFPPC_NO_FWD", "OFPPC_NO_PACKET_IN"}

// Names lists the set bits by their specification names.
func (c PortConfig) Names() []string { return bitNames(uint32(c), portConfigNames) }
func (c PortConfig) String() string  { return joinBits(uint32(c), portConfigNames) }

// PortState is ofp_port_state (OFPPS_*). Bits 8-9 hold the STP state.
type PortState uint32

// Port state values.
const (
	PortStateLinkDown   PortState = 1 << 0
	PortStateSTPListen  PortState = 0 << 8
	PortStateSTPLearn   PortState = 1 << 8
	PortStateSTPForward PortState = 2 << 8
	PortStateSTPBlock   PortState = 3 << 8
	PortStateSTPMask    PortState = 3 << 8
)

// Names lists the state by specification names: OFPPS_LINK_DOWN when set,
// and the STP state (OFPPS_STP_LISTEN when the STP bits are zero), followed by
// any other bits in hex.
func (s PortState) Names() []string {
	var out []string
	if s&PortStateLinkDown != 0 {
		out = append(out, "OFPPS_LINK_DOWN")
	}
	switch s & PortStateSTPMask {
	case PortStateSTPListen:
		out = append(out, "OFPPS_STP_LISTEN")
	case PortStateSTPLearn:
		out = append(out, "OFPPS_STP_LEARN")
	case PortStateSTPForward:
		out = append(out, "OFPPS_STP_FORWARD")
	case PortStateSTPBlock:
		out = append(out, "OFPPS_STP_BLOCK")
	}
	if rest := uint32(s &^ (PortStateLinkDown | PortStateSTPMask)); rest != 0 {
		out = append(out, bitNames(rest, nil)...)
	}
	return out
}

func (s PortState) String() string { return strings.Join(s.Names(), "|") }

// PortFeatures is ofp_port_features (OFPPF_*).
type PortFeatures uint32

// Port feature bits.
const (
	Feature10MBHD    PortFeatures = 1 << 0
	Feature10MBFD    PortFeatures = 1 << 1
	Feature100MBHD   PortFeatures = 1 << 2
	Feature100MBFD   PortFeatures = 1 << 3
	Feature1GBHD     PortFeatures = 1 << 4
	Feature1GBFD     PortFeatures = 1 << 5
	Feature10GBFD    PortFeatures = 1 << 6
	FeatureCopper    PortFeatures = 1 << 7
	FeatureFiber     PortFeatures = 1 << 8
	FeatureAutoneg   PortFeatures = 1 << 9
	FeaturePause     PortFeatures = 1 << 10
	FeaturePauseAsym PortFeatures = 1 << 11
)

var portFeatureNames = []string{"OFPPF_10MB_HD", "OFPPF_10MB_FD", "OFPPF_100MB_HD",
	"OFPPF_100MB_FD", "OFPPF_1GB_HD", "OFPPF_1GB_FD", "OFPPF_10GB_FD", "OFPPF_COPPER",
	"OFPPF_FIBER", "OFPPF_AUTONEG", "OFPPF_PAUSE", "OFPPF_PAUSE_ASYM"}

// Names lists the set bits by their specification names.
func (f PortFeatures) Names() []string { return bitNames(uint32(f), portFeatureNames) }
func (f PortFeatures) String() string  { return joinBits(uint32(f), portFeatureNames) }

// ConfigFlags is ofp_config_flags: the IP fragment handling in SET_CONFIG.
type ConfigFlags uint16

// Fragment handling.
const (
	FragNormal ConfigFlags = 0
	FragDrop   ConfigFlags = 1
	FragReasm  ConfigFlags = 2
	FragMask   ConfigFlags = 3
)

func (f ConfigFlags) String() string {
	s := ""
	switch f & FragMask {
	case FragNormal:
		s = "OFPC_FRAG_NORMAL"
	case FragDrop:
		s = "OFPC_FRAG_DROP"
	case FragReasm:
		s = "OFPC_FRAG_REASM"
	default:
		s = "OFPC_FRAG_MASK"
	}
	if rest := f &^ FragMask; rest != 0 {
		s += "|0x" + strconv.FormatUint(uint64(rest), 16)
	}
	return s
}
