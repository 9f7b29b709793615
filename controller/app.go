package controller

import (
	"log/slog"
	"sort"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// App is a controller application. The core hands every switch event to every
// application, in the order of Config.Apps, together with the current time; an
// application answers by putting effects on the Context it is given (messages to send
// with Context.Send, events with Context.Emit), never by doing I/O itself. Like the
// core, an application reads no clock, starts no goroutine and touches no socket; the
// core calls it under the controller's lock, one event at a time, so it needs no lock
// of its own for state only the core calls into.
//
// The messages handed to an application are the controller's: read them during the
// call, do not modify them, and copy what is kept beyond it. Embed BaseApp to implement
// only the events an application cares about.
type App interface {
	// Name names the application in logs and errors.
	Name() string
	// SwitchUp: a switch finished its handshake; sw.Ports are its ports.
	SwitchUp(x *Context, sw Switch, now time.Time)
	// SwitchDown: a switch's connection ended. sw can no longer be sent to.
	SwitchDown(x *Context, sw Switch, now time.Time)
	// PacketIn: a PACKET_IN arrived. Stop keeps it from the applications after this
	// one; Continue passes it on.
	PacketIn(x *Context, sw Switch, m *ofproto.PacketIn, now time.Time) Verdict
	// FlowRemoved: a FLOW_REMOVED arrived.
	FlowRemoved(x *Context, sw Switch, m *ofproto.FlowRemoved, now time.Time)
	// PortStatus: a PORT_STATUS arrived; sw.Ports already shows the change.
	PortStatus(x *Context, sw Switch, m *ofproto.PortStatus, now time.Time)
	// Tick: the timer ticked (every Config.TickInterval).
	Tick(x *Context, now time.Time)
}

// EventHandler is implemented by applications that react to the events other
// applications emit (LinkUp and LinkDown from Discovery, say). HandleEvent runs at
// once, inside the emitting application's handler, so its effects come in order.
type EventHandler interface {
	HandleEvent(x *Context, ev Event)
}

// Verdict is an application's answer to a PACKET_IN.
type Verdict uint8

const (
	// Continue hands the PACKET_IN to the next application.
	Continue Verdict = iota
	// Stop ends the PACKET_IN's handling: later applications do not see it.
	Stop
)

// BaseApp implements every App method but Name as doing nothing; embed it.
type BaseApp struct{}

// SwitchUp does nothing.
func (BaseApp) SwitchUp(*Context, Switch, time.Time) {}

// SwitchDown does nothing.
func (BaseApp) SwitchDown(*Context, Switch, time.Time) {}

// PacketIn passes the packet on.
func (BaseApp) PacketIn(*Context, Switch, *ofproto.PacketIn, time.Time) Verdict { return Continue }

// FlowRemoved does nothing.
func (BaseApp) FlowRemoved(*Context, Switch, *ofproto.FlowRemoved, time.Time) {}

// PortStatus does nothing.
func (BaseApp) PortStatus(*Context, Switch, *ofproto.PortStatus, time.Time) {}

// Tick does nothing.
func (BaseApp) Tick(*Context, time.Time) {}

// builtin marks the place of a built-in application in Config.Apps; the core puts the
// application itself there.
type builtin struct {
	BaseApp
	name string
}

func (b *builtin) Name() string { return b.name }

// The built-in applications, for Config.Apps. They hold no state themselves: every
// controller makes its own instances.
var (
	// Discovery feeds the live topology (Controller.Network): it sends LLDP probes,
	// turns the probes it receives into links (events LinkUp and LinkDown), expires
	// links whose probes stop, and learns where hosts are from ARP and IPv4. It also
	// drops, and stops, the frames no application should see: LLDP once read, IPv6,
	// link-local multicast, other EtherTypes, and frames the controller itself
	// delivered or flooded that came back within Config.FloodGuard.
	Discovery App = &builtin{name: "discovery"}
	// Routing forwards: it installs a shortest path for every new IPv4 flow towards
	// a known host and records it in the flow tracker (Controller.Tracker), floods
	// what has no known destination out of every edge port, records FLOW_REMOVEDs,
	// and deletes the flows a lost switch, port or link (LinkDown) broke. It needs
	// Discovery before it.
	Routing App = &builtin{name: "routing"}
)

// DefaultApps is the application list of a zero Config.Apps: Discovery, then Routing.
func DefaultApps() []App { return []App{Discovery, Routing} }

// Switch is a connected switch as applications see it: a handle to read its
// description and to address messages to (Context.Send). It stays valid after the
// switch leaves; messages to a switch that left are dropped.
type Switch struct{ s *session }

// DPID returns the switch's datapath id.
func (w Switch) DPID() uint64 { return w.s.dpid }

// Addr returns the remote address of the switch's connection.
func (w Switch) Addr() string { return w.s.addr }

// Up reports whether the switch is connected (handshake done, connection open).
func (w Switch) Up() bool { return w.s.state == stateUp }

// Features returns the switch's FEATURES_REPLY, as received: do not modify it.
func (w Switch) Features() *ofproto.FeaturesReply { return w.s.features }

// Port returns port no of the switch as last described (FEATURES_REPLY, then
// PORT_STATUS).
func (w Switch) Port(no ofproto.PortNo) (ofproto.PhyPort, bool) {
	p, ok := w.s.ports[no]
	return p, ok
}

// Ports returns the switch's ports by number.
func (w Switch) Ports() []ofproto.PhyPort { return sortedPorts(w.s.ports) }

// Context is what an application's handlers work through: where they put their
// effects, and what they may read of the controller. It is valid only during the
// call it is passed to.
type Context struct {
	c    *core
	self int // the application's index in core.apps
}

// Send queues m for switch sw, to go out once the handler returns; an xid of 0 is
// replaced by a fresh one. It reports false, and drops m, when sw is not connected
// (it left, or sw is the zero Switch).
// m is encoded later: do not modify it after the call.
func (x *Context) Send(sw Switch, m ofproto.Message) bool {
	if sw.s == nil || sw.s.state != stateUp {
		return false
	}
	x.c.fx.send(sw.s, m)
	return true
}

// Emit publishes ev to Subscribe's subscribers with the input's other events, and
// hands it at once to every other application that implements EventHandler, in
// order. Set ev.Time to the handler's now.
func (x *Context) Emit(ev Event) {
	c := x.c
	c.fx.events = append(c.fx.events, ev)
	for i, a := range c.apps {
		if i == x.self {
			continue
		}
		if h, ok := a.(EventHandler); ok {
			h.HandleEvent(&c.ctxs[i], ev)
		}
	}
}

// Switch returns the connected switch dpid; when there is none, ok is false and the
// zero Switch (which only Send accepts, and drops) is returned.
func (x *Context) Switch(dpid uint64) (sw Switch, ok bool) {
	s, ok := x.c.switches[dpid]
	return Switch{s}, ok
}

// Switches returns the connected switches by datapath id.
func (x *Context) Switches() []Switch {
	out := make([]Switch, 0, len(x.c.switches))
	for _, s := range x.c.switches {
		out = append(out, Switch{s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].s.dpid < out[j].s.dpid })
	return out
}

// Network returns the live topology view.
func (x *Context) Network() NetworkView { return NetworkView{x.c.topo} }

// Tracker returns the flow tracker's view.
func (x *Context) Tracker() TrackerView { return TrackerView{x.c.tracker} }

// Config returns the controller's configuration, defaults filled in.
func (x *Context) Config() Config { return x.c.cfg }

// Logger returns the controller's logger, with the application's name.
func (x *Context) Logger() *slog.Logger { return x.c.appLogs[x.self] }
