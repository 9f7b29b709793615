package flowtracker

import (
	"fmt"
	"time"
)

// Hop is one switch of a flow's path: the entry there matches InPort and outputs to
// OutPort.
type Hop struct {
	DPID    uint64
	InPort  uint16
	OutPort uint16
}

// Counters are a forwarding entry's final counters, as FLOW_REMOVED reports them.
type Counters struct {
	Packets      uint64
	Bytes        uint64
	DurationSec  uint32
	DurationNsec uint32
}

// Duration returns the entry's lifetime the counters cover.
func (c Counters) Duration() time.Duration {
	return time.Duration(c.DurationSec)*time.Second + time.Duration(c.DurationNsec)
}

// Reason says why a switch's entry went away. The first three are the OpenFlow 1.0
// ofp_flow_removed_reason values, so the controller can convert directly.
type Reason uint8

// Reasons an entry is gone.
const (
	ReasonIdleTimeout Reason = 0    // OFPRR_IDLE_TIMEOUT
	ReasonHardTimeout Reason = 1    // OFPRR_HARD_TIMEOUT
	ReasonDelete      Reason = 2    // OFPRR_DELETE
	ReasonSwitchLeft  Reason = 0x80 // the switch disconnected (RemoveSwitch)
	ReasonRemoved     Reason = 0x81 // the caller removed the flow (Remove)
	ReasonSuperseded  Reason = 0x82 // a new flow with the same key replaced a draining one
	ReasonRefused     Reason = 0x83 // the switch refused the entry's FLOW_MOD (EntryRefused)
)

func (r Reason) String() string {
	switch r {
	case ReasonIdleTimeout:
		return "idle-timeout"
	case ReasonHardTimeout:
		return "hard-timeout"
	case ReasonDelete:
		return "delete"
	case ReasonSwitchLeft:
		return "switch-left"
	case ReasonRemoved:
		return "removed"
	case ReasonSuperseded:
		return "superseded"
	case ReasonRefused:
		return "refused"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// State is a flow's life-cycle stage.
type State uint8

// Flow states.
const (
	// StateActive: every switch on the path holds the flow's entry.
	StateActive State = iota + 1
	// StateDraining: some entries are gone, others remain.
	StateDraining
	// StateExpired: every entry is gone; the flow is kept only in the recent ring.
	StateExpired
)

func (s State) String() string {
	switch s {
	case StateActive:
		return "active"
	case StateDraining:
		return "draining"
	case StateExpired:
		return "expired"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Entry is one switch's forwarding entry of a flow.
type Entry struct {
	Hop
	Gone        bool     // the entry is no longer in the switch
	HasCounters bool     // Final holds the counters FLOW_REMOVED reported
	Reason      Reason   // why it went (valid when Gone)
	Final       Counters // final counters (valid when HasCounters)
	// Refused: the switch refused the entry's FLOW_MOD (a full table, say), so the
	// entry never existed there; Gone is set too, with ReasonRefused.
	Refused bool
}

// Flow is a copy of what the tracker knows about one flow.
type Flow struct {
	ID      uint64
	Cookie  uint64 // carried by every entry of the flow
	Key     Key
	Entries []Entry // one per hop, ingress first
	Start   time.Time
	End     time.Time // when the last entry went; zero unless expired
	State   State
	// Grain says how finely the flow's entries match: GrainExact (the flow is measured
	// on its own) or GrainHostPair (an aggregate: every packet of the host pair that
	// no exact entry takes).
	Grain Grain
}

// Path returns the flow's hops, ingress first, in a fresh slice.
func (f *Flow) Path() []Hop {
	out := make([]Hop, len(f.Entries))
	for i := range f.Entries {
		out[i] = f.Entries[i].Hop
	}
	return out
}

// DPIDs returns the switches of the path, ingress first, in a fresh slice.
func (f *Flow) DPIDs() []uint64 {
	out := make([]uint64, len(f.Entries))
	for i := range f.Entries {
		out[i] = f.Entries[i].DPID
	}
	return out
}

// Final returns the flow's final counters, those of its ingress (first-hop) entry, and
// whether the ingress switch has reported them.
func (f *Flow) Final() (Counters, bool) {
	if len(f.Entries) == 0 || !f.Entries[0].HasCounters {
		return Counters{}, false
	}
	return f.Entries[0].Final, true
}

// Clone returns a copy of f that shares no memory with it.
func (f Flow) Clone() Flow {
	f.Entries = append([]Entry(nil), f.Entries...)
	return f
}

// Handle names a flow to the controller: its ID and the cookie to put on its entries.
type Handle struct {
	ID     uint64
	Cookie uint64
}
