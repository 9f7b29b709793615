package controller

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// SwitchUp: a switch finished its handshake. Event.Features is its FEATURES_REPLY.
	SwitchUp EventKind = iota + 1
	// SwitchDown: a switch's connection ended; all its state is gone. Event.Err says why.
	SwitchDown
	// PacketIn: a PACKET_IN arrived (after the controller handled it). Event.PacketIn.
	PacketIn
	// FlowRemoved: a FLOW_REMOVED arrived (after the tracker saw it). Event.FlowRemoved.
	FlowRemoved
	// PortStatus: a PORT_STATUS arrived (after the topology saw it). Event.PortStatus.
	PortStatus
	// LinkUp: Discovery found a link (one direction). Event.Links holds it; DPID is the
	// switch that received the probe.
	LinkUp
	// LinkDown: links went away while their switches stayed (a port went down, probes
	// stopped). Event.Links holds them; DPID is the switch whose port changed, 0 when
	// the links expired. The links of a switch that leaves go with its SwitchDown.
	LinkDown
)

var eventNames = [...]string{"", "switch-up", "switch-down", "packet-in", "flow-removed", "port-status",
	"link-up", "link-down"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && k > 0 {
		return eventNames[k]
	}
	return "unknown"
}

// Event is one thing that happened on a switch connection, or that an application
// reports (LinkUp, LinkDown). Exactly the field that matches Kind is set. The messages
// of the events subscribers receive are copies made for them, shared by every
// subscriber; the links are the controller's own: read them, do not modify them.
type Event struct {
	Kind        EventKind
	DPID        uint64
	Time        time.Time
	Features    *ofproto.FeaturesReply
	PacketIn    *ofproto.PacketIn
	FlowRemoved *ofproto.FlowRemoved
	PortStatus  *ofproto.PortStatus
	Links       []topology.Link // LinkUp, LinkDown
	Err         error           // SwitchDown: why the connection ended (nil for a clean close)
}

// subscriber is one Subscribe channel.
type subscriber struct {
	ch      chan Event
	kinds   uint32 // bit k set: wants EventKind k; 0 means all
	dropped atomic.Uint64
}

// hub fans events out to subscribers without ever blocking the controller: an event
// for a subscriber whose channel is full is dropped and counted.
type hub struct {
	mu   sync.RWMutex
	subs map[*subscriber]struct{}
}

func (h *hub) add(s *subscriber) {
	h.mu.Lock()
	if h.subs == nil {
		h.subs = make(map[*subscriber]struct{})
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) remove(s *subscriber) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; !ok {
		return false
	}
	delete(h.subs, s)
	close(s.ch)
	return true
}

func (h *hub) publish(evs []Event) {
	if len(evs) == 0 {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.subs) == 0 {
		return
	}
	for i := range evs {
		// The reader lends the core its PACKET_IN and FLOW_REMOVED (they point into
		// its buffer); subscribers read theirs later, so they get a copy, made only
		// when some subscriber wants the event.
		e := &evs[i]
		if (e.PacketIn == nil && e.FlowRemoved == nil) || !h.wanted(e.Kind) {
			continue
		}
		if e.PacketIn != nil {
			pi := *e.PacketIn
			pi.Data = append([]byte(nil), pi.Data...)
			e.PacketIn = &pi
		}
		if e.FlowRemoved != nil {
			fr := *e.FlowRemoved
			e.FlowRemoved = &fr
		}
	}
	for s := range h.subs {
		for _, e := range evs {
			if s.kinds != 0 && s.kinds&(1<<e.Kind) == 0 {
				continue
			}
			select {
			case s.ch <- e:
			default:
				s.dropped.Add(1)
			}
		}
	}
}

// wanted reports whether a subscriber takes events of kind k; the caller holds h.mu.
func (h *hub) wanted(k EventKind) bool {
	for s := range h.subs {
		if s.kinds == 0 || s.kinds&(1<<k) != 0 {
			return true
		}
	}
	return false
}

func (h *hub) dropped() uint64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var n uint64
	for s := range h.subs {
		n += s.dropped.Load()
	}
	return n
}

// Subscription is a live Subscribe registration.
type Subscription struct {
	// C delivers the events. It is closed by Close.
	C   <-chan Event
	s   *subscriber
	hub *hub
}

// Dropped returns how many events this subscription lost because C was full.
func (s *Subscription) Dropped() uint64 { return s.s.dropped.Load() }

// Close stops delivery and closes C. It is safe to call more than once.
func (s *Subscription) Close() { s.hub.remove(s.s) }
