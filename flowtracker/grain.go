package flowtracker

import (
	"fmt"
	"time"
)

// Grain says how finely a flow's forwarding entries match its packets.
type Grain uint8

// Grains.
const (
	// GrainExact: every entry matches the flow's whole key (with its switch's in_port);
	// the flow is measured on its own. The default.
	GrainExact Grain = iota
	// GrainHostPair: every entry matches the key's Ethernet and IPv4 addresses, VLAN
	// and EtherType, with the IP protocol, ToS and transport ports wildcarded (zero in
	// the key). Such a flow is an aggregate: it carries, and is measured for, every
	// packet between the two hosts that no exact entry takes. A controller installs it
	// where a switch's table has no room for one entry per flow.
	GrainHostPair
)

func (g Grain) String() string {
	switch g {
	case GrainExact:
		return "exact"
	case GrainHostPair:
		return "host-pair"
	}
	return fmt.Sprintf("grain(%d)", uint8(g))
}

// HostPairKey returns the key of the host-pair aggregate that k's packets fall in: k
// with NWProto, NWTos, TPSrc and TPDst zeroed.
func HostPairKey(k Key) Key {
	k.NWProto, k.NWTos, k.TPSrc, k.TPDst = 0, 0, 0, 0
	return k
}

// ByKeyGrain returns the active (or draining) flow of grain g with key k.
func (t *Tracker) ByKeyGrain(k Key, g Grain) (Flow, bool) {
	h := k.Hash()
	s := &t.shards[h%uint64(len(t.shards))]
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.findKeyGrain(h, k, g)
	if r == nil {
		return Flow{}, false
	}
	var f Flow
	fill(&f, r, t.Cookie(r.id))
	return f, true
}

// EntryRefused records that switch dpid refused the FLOW_MOD that was to install the
// entry with the given cookie (OFPET_FLOW_MOD_FAILED: a full table, say): the entry
// never existed, so it is gone (ReasonRefused) with no counters, and flagged Refused.
// A flow left with no entry expires (EventExpired); one that keeps entries elsewhere
// publishes EventChanged, whose Installed names the switches that hold them. It
// returns the flow's state afterwards; a second report for the same entry changes
// nothing. Errors as for EntryRemoved.
func (t *Tracker) EntryRefused(dpid, cookie uint64, now time.Time) (State, error) {
	s, r, st, err := t.lockLive(cookie)
	if err != nil {
		return st, err
	}
	defer s.mu.Unlock()
	for i := range r.entries() {
		e := &r.entries()[i]
		if e.dpid != dpid {
			continue
		}
		if e.refused || (e.gone && e.hasCounters) {
			return r.state, nil // reported already, or it existed after all
		}
		wasGone := e.gone
		if !wasGone {
			s.unindex(r, i)
		}
		e.gone, e.refused, e.reason, e.hasCounters = true, true, ReasonRefused, false
		if !wasGone {
			t.entryGone(s, r, now)
		}
		if r.state != StateExpired {
			t.publish(EventChanged, r, now)
		}
		return r.state, nil
	}
	return r.state, fmt.Errorf("%w: dpid %#x, flow %d", ErrNotOnPath, dpid, r.id)
}

// Installed returns the switches whose entry of f was not refused, ingress first, in
// a fresh slice.
func (f *Flow) Installed() []uint64 {
	out := make([]uint64, 0, len(f.Entries))
	for i := range f.Entries {
		if !f.Entries[i].Refused {
			out = append(out, f.Entries[i].DPID)
		}
	}
	return out
}
