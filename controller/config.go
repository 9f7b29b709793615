package controller

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
)

// Config holds the controller's settings. The zero value is usable: every zero field
// takes the default named in its comment. Validate reports every bad field at once.
type Config struct {
	// IdleTimeout is the idle timeout of every forwarding entry the controller installs,
	// a whole number of seconds from 1 s to 65535 s. Default 10 s.
	IdleTimeout time.Duration
	// HardTimeout is the hard timeout of installed entries, whole seconds up to 65535 s;
	// zero means none.
	HardTimeout time.Duration
	// FlowPriority is the priority of installed entries; must be above zero so that the
	// entries never tie with a table-miss entry. Default 100.
	FlowPriority uint16
	// MissSendLen is the miss_send_len sent in SET_CONFIG. Default 0xffff (whole frames).
	MissSendLen uint16

	// HandshakeTimeout bounds HELLO to FEATURES_REPLY. Default 5 s.
	HandshakeTimeout time.Duration
	// EchoInterval is how long a connection may stay silent before the controller sends
	// an ECHO_REQUEST, and the spacing of further ones. Default 5 s.
	EchoInterval time.Duration
	// EchoMissed is how many ECHO_REQUESTs may go unanswered before the connection is
	// closed. Default 3.
	EchoMissed int
	// RequestTimeout is the default time Request waits for a whole reply when its context
	// has no earlier deadline. Default 5 s.
	RequestTimeout time.Duration

	// LLDPInterval is the spacing of link-discovery probes on every port. Default 1 s.
	LLDPInterval time.Duration
	// LinkTimeout removes a link whose LLDP has not been seen for this long. Default
	// 3.5 × LLDPInterval.
	LinkTimeout time.Duration
	// FloodGuard is how long a flooded frame is remembered: the same frame coming back
	// within it (through a switch-to-switch port not discovered yet) is dropped instead
	// of flooded again. Default 200 ms.
	FloodGuard time.Duration

	// TickInterval is the spacing of the timer that drives keepalives, request timeouts
	// and discovery. Default 100 ms.
	TickInterval time.Duration
	// SendQueue is the number of messages that may wait for one connection's writer
	// before the controller stops reading from that switch until they are written
	// (backpressure: TCP then slows the switch down). Messages queued for it from
	// elsewhere (Request, Send, the timers, paths through it) are refused with
	// ErrQueueFull above 8 × SendQueue; the connection stays. Default 4096.
	SendQueue int
	// StallTimeout disconnects a switch that reads nothing the controller sends for
	// this long (ErrStalled); while the controller waits for such a switch to read,
	// ECHO keepalives are not counted against it. Default 15 s (EchoMissed ×
	// EchoInterval by default).
	StallTimeout time.Duration
	// MaxMessageLen is the largest OpenFlow message accepted. Default 65535.
	MaxMessageLen int
	// SubscriberBuffer is the default channel capacity of Subscribe. Default 1024.
	SubscriberBuffer int

	// DuplicateProbe is how long a live connection has to answer the ECHO_REQUEST sent
	// when a second connection announces its datapath id: if it answers, the second
	// connection is refused (ErrDuplicateDPID); if not, it is replaced. Default 1 s.
	DuplicateProbe time.Duration
	// SwitchAllowed, when set, admits only the datapath ids it returns true for;
	// others are refused after FEATURES_REPLY (ErrNotAllowed). Nil admits every switch.
	SwitchAllowed func(dpid uint64) bool
	// SwitchConnect are switches listening for controllers (OpenFlow's passive mode;
	// Open vSwitch's ptcp:PORT target), as "tcp:HOST:PORT": Serve dials each at start
	// and whenever its connection is gone (DialBackoffMin doubling to DialBackoffMax),
	// but not while its switch is connected through its own connection. The switch's
	// own connection, from the dialed IP, takes over from a dialed one without the
	// switch going down (handover; see dial.go).
	SwitchConnect []string
	// BindCertDPID refuses a TLS switch whose certificate does not name its datapath
	// id (ErrCertificate; see CertNamesDPID for the rule).
	BindCertDPID bool
	// MoveProbe is how long a host claimed at a new place has to answer at its old
	// place (an ARP probe is sent there) before it is moved. Default 300 ms.
	MoveProbe time.Duration
	// LinkPortMemory is how long a port that was one end of a switch-to-switch link
	// is still refused as a host location after the link went (a switch flap, say):
	// frames a disconnected switch still forwards arrive there. Default 10 s.
	LinkPortMemory time.Duration

	// Roles shares the switches with other controllers (a cluster): every switch starts
	// as this controller's slave (Nicira role request) and keeps its flow table;
	// SetRole makes this controller the master of some. A slave's PACKET_INs and
	// FLOW_REMOVEDs are ignored and nothing that writes is sent to it.
	Roles bool
	// Forward, with Roles, is handed every write (FLOW_MOD, PACKET_OUT, PORT_MOD) for a
	// switch where this controller is a slave, for the switch's master to send
	// (Controller.SendMaster there). It is called with the controller's lock held and
	// must not block; m is not used by the controller afterwards. Nil drops them.
	Forward func(dpid uint64, m ofproto.Message)

	// TableInterval is the spacing of the table statistics requests (OFPST_TABLE) that
	// keep each switch's table occupancy; a refused FLOW_MOD asks at once. Default 10 s.
	TableInterval time.Duration
	// TableHigh is the fill, as a fraction of a table's limit, at or above which new
	// flows through the switch are forwarded by host-pair entries instead of one exact
	// entry each (the fallback; a refused FLOW_MOD starts it too). Default 0.8.
	TableHigh float64
	// TableLow is the fill below which the fallback ends. Default 0.6; below TableHigh.
	TableLow float64
	// FallbackHold is the hard timeout of host-pair entries, a whole number of seconds:
	// when it passes, the host pair's next packet is routed afresh, by exact entries if
	// the tables have room again. Default 60 s.
	FallbackHold time.Duration

	// Tracker sizes the flow tracker (zero value: its defaults).
	Tracker flowtracker.Config

	// Apps are the applications every switch event is handed to, in this order
	// (see App). Discovery and Routing stand for the built-in applications; empty
	// means DefaultApps (Discovery, then Routing). To add an application, list the
	// built-ins too, where it belongs: a filter of PACKET_INs before Routing, an
	// observer after it. An application value holds its own state: give each
	// controller its own.
	Apps []App
}

// Defaults of Config.
const (
	DefaultIdleTimeout      = 10 * time.Second
	DefaultFlowPriority     = 100
	DefaultMissSendLen      = 0xffff
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultEchoInterval     = 5 * time.Second
	DefaultEchoMissed       = 3
	DefaultRequestTimeout   = 5 * time.Second
	DefaultLLDPInterval     = time.Second
	DefaultFloodGuard       = 200 * time.Millisecond
	DefaultTickInterval     = 100 * time.Millisecond
	DefaultSendQueue        = 4096
	DefaultStallTimeout     = 15 * time.Second
	DefaultMaxMessageLen    = 65535
	DefaultSubscriberBuffer = 1024
	DefaultDuplicateProbe   = time.Second
	DefaultMoveProbe        = 300 * time.Millisecond
	DefaultLinkPortMemory   = 10 * time.Second
	DefaultTableInterval    = 10 * time.Second
	DefaultTableHigh        = 0.8
	DefaultTableLow         = 0.6
	DefaultFallbackHold     = 60 * time.Second
)

// ErrConfig is wrapped by every error Validate returns.
var ErrConfig = errors.New("controller: bad config")

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.FlowPriority == 0 {
		c.FlowPriority = DefaultFlowPriority
	}
	if c.MissSendLen == 0 {
		c.MissSendLen = DefaultMissSendLen
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.EchoInterval == 0 {
		c.EchoInterval = DefaultEchoInterval
	}
	if c.EchoMissed == 0 {
		c.EchoMissed = DefaultEchoMissed
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.LLDPInterval == 0 {
		c.LLDPInterval = DefaultLLDPInterval
	}
	if c.LinkTimeout == 0 {
		c.LinkTimeout = c.LLDPInterval * 7 / 2
	}
	if c.FloodGuard == 0 {
		c.FloodGuard = DefaultFloodGuard
	}
	if c.TickInterval == 0 {
		c.TickInterval = DefaultTickInterval
	}
	if c.SendQueue == 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.MaxMessageLen == 0 {
		c.MaxMessageLen = DefaultMaxMessageLen
	}
	if c.SubscriberBuffer == 0 {
		c.SubscriberBuffer = DefaultSubscriberBuffer
	}
	if c.DuplicateProbe == 0 {
		c.DuplicateProbe = DefaultDuplicateProbe
	}
	if c.MoveProbe == 0 {
		c.MoveProbe = DefaultMoveProbe
	}
	if c.LinkPortMemory == 0 {
		c.LinkPortMemory = DefaultLinkPortMemory
	}
	if c.TableInterval == 0 {
		c.TableInterval = DefaultTableInterval
	}
	if c.TableHigh == 0 {
		c.TableHigh = DefaultTableHigh
	}
	if c.TableLow == 0 {
		c.TableLow = DefaultTableLow
	}
	if c.FallbackHold == 0 {
		c.FallbackHold = DefaultFallbackHold
	}
	return c
}

// Validate reports every field of c (after defaults) that is out of range, joined into
// one error that wraps ErrConfig.
func (c Config) Validate() error {
	d := c.withDefaults()
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...)))
	}
	wholeSeconds := func(field string, v time.Duration, zeroOK bool) {
		switch {
		case v < 0:
			bad(field, "negative (%v)", v)
		case v == 0 && !zeroOK:
			bad(field, "must be at least 1s")
		case v%time.Second != 0:
			bad(field, "%v is not a whole number of seconds", v)
		case v/time.Second > math.MaxUint16:
			bad(field, "%v is above 65535s", v)
		}
	}
	positive := func(field string, v time.Duration) {
		if v < 0 {
			bad(field, "negative (%v)", v)
		}
	}
	wholeSeconds("IdleTimeout", d.IdleTimeout, false)
	wholeSeconds("HardTimeout", d.HardTimeout, true)
	positive("HandshakeTimeout", d.HandshakeTimeout)
	positive("EchoInterval", d.EchoInterval)
	positive("RequestTimeout", d.RequestTimeout)
	positive("LLDPInterval", d.LLDPInterval)
	positive("LinkTimeout", d.LinkTimeout)
	positive("FloodGuard", d.FloodGuard)
	positive("TickInterval", d.TickInterval)
	positive("StallTimeout", d.StallTimeout)
	positive("DuplicateProbe", d.DuplicateProbe)
	positive("MoveProbe", d.MoveProbe)
	positive("LinkPortMemory", d.LinkPortMemory)
	if d.LinkTimeout > 0 && d.LLDPInterval > 0 && d.LinkTimeout <= d.LLDPInterval {
		bad("LinkTimeout", "%v must exceed LLDPInterval %v", d.LinkTimeout, d.LLDPInterval)
	}
	positive("TableInterval", d.TableInterval)
	wholeSeconds("FallbackHold", d.FallbackHold, false)
	if !(d.TableHigh > 0 && d.TableHigh <= 1) {
		bad("TableHigh", "%v outside (0, 1]", d.TableHigh)
	}
	if !(d.TableLow > 0 && d.TableLow < d.TableHigh) {
		bad("TableLow", "%v outside (0, TableHigh %v)", d.TableLow, d.TableHigh)
	}
	if d.EchoMissed < 0 {
		bad("EchoMissed", "negative (%d)", d.EchoMissed)
	}
	if d.SendQueue < 0 {
		bad("SendQueue", "negative (%d)", d.SendQueue)
	}
	if d.SubscriberBuffer < 0 {
		bad("SubscriberBuffer", "negative (%d)", d.SubscriberBuffer)
	}
	if d.MaxMessageLen < 8 || d.MaxMessageLen > 65535 {
		bad("MaxMessageLen", "%d outside 8..65535", d.MaxMessageLen)
	}
	targets := map[string]bool{}
	for _, t := range d.SwitchConnect {
		if _, err := ParseSwitchTarget(t); err != nil {
			bad("SwitchConnect", "%v", err)
		} else if targets[t] {
			bad("SwitchConnect", "%q listed twice", t)
		}
		targets[t] = true
	}
	seen := map[App]bool{}
	for i, a := range d.Apps {
		switch {
		case a == nil:
			bad("Apps", "application %d is nil", i)
		case a == Discovery || a == Routing:
			if seen[a] {
				bad("Apps", "%s listed twice", a.Name())
			}
			if a == Routing && !seen[Discovery] {
				bad("Apps", "routing needs discovery before it")
			}
			seen[a] = true
		}
	}
	if err := d.Tracker.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: Tracker: %w", ErrConfig, err))
	}
	return errors.Join(errs...)
}
