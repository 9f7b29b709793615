package ofemu

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// Config describes an emulated network. The zero value is not usable: Controller
// and Switches (or Graph) are required.
type Config struct {
	// Controller is the controller's TCP address (host:port).
	Controller string
	// Switches is the number of switches when Graph is nil (no links between them).
	Switches int
	// Graph, when set, gives one switch per node and a link per edge; LLDP frames cross
	// the links. Node i is the switch with dpid FirstDPID+i.
	Graph *topology.Graph
	// FirstDPID is the dpid of the first switch; default 1.
	FirstDPID uint64
	// HostPorts is the number of host-facing ports (1..HostPorts) of each switch;
	// link ports follow them. Default 1.
	HostPorts int
	// MaxEntries limits each flow table; an addition past it is refused with
	// OFPFMFC_ALL_TABLES_FULL. 0: unlimited.
	MaxEntries int
	// StatsDelay, when set, delays every statistics reply of a switch by what it
	// returns for the switch's dpid.
	StatsDelay func(dpid uint64) time.Duration
	// Traffic drives the entries' counters; nil: none (entries then expire by their
	// idle timeout).
	Traffic TrafficModel
	// Tick is how often counters advance and timeouts are checked; default 100 ms.
	Tick time.Duration
	// MaxReplyLen bounds one OFPT_STATS_REPLY message; default DefaultMaxReplyLen.
	MaxReplyLen int
	// PortSpeed is what every port advertises as its current speed; default 10 Gbit/s.
	PortSpeed ofproto.PortFeatures
	// Listed, when set, is called with the cookie of every entry as a flow statistics
	// reply lists it, from the switches' goroutines at once: it must be quick and safe
	// for concurrent use. A harness counts the flows a round read with it without
	// walking the tables.
	Listed func(cookie uint64)
}

// Validate names every bad field.
func (c Config) Validate() error {
	var errs []error
	if c.Controller == "" {
		errs = append(errs, errors.New("ofemu: Controller is required"))
	}
	if c.Graph == nil && c.Switches <= 0 {
		errs = append(errs, fmt.Errorf("ofemu: Switches %d: need at least one (or a Graph)", c.Switches))
	}
	if c.HostPorts < 0 || c.HostPorts > 0xff00 {
		errs = append(errs, fmt.Errorf("ofemu: HostPorts %d out of range", c.HostPorts))
	}
	if c.MaxEntries < 0 {
		errs = append(errs, fmt.Errorf("ofemu: MaxEntries %d is negative", c.MaxEntries))
	}
	if c.Tick < 0 || c.MaxReplyLen < 0 {
		errs = append(errs, errors.New("ofemu: Tick and MaxReplyLen must not be negative"))
	}
	if c.MaxReplyLen > 0 && c.MaxReplyLen < 12+ofproto.FlowStatsLen+64 {
		errs = append(errs, fmt.Errorf("ofemu: MaxReplyLen %d cannot hold one flow entry", c.MaxReplyLen))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.FirstDPID == 0 {
		c.FirstDPID = 1
	}
	if c.HostPorts == 0 {
		c.HostPorts = 1
	}
	if c.Tick == 0 {
		c.Tick = 100 * time.Millisecond
	}
	if c.MaxReplyLen == 0 {
		c.MaxReplyLen = DefaultMaxReplyLen
	}
	if c.PortSpeed == 0 {
		c.PortSpeed = ofproto.Feature10GBFD | ofproto.FeatureCopper
	}
	return c
}

// Network is a set of emulated switches connected to one controller.
type Network struct {
	cfg      Config
	switches []*Switch
	byDPID   map[uint64]*Switch
	epoch    time.Time // the entries' creation times count from it (entry.created)
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	errMu    sync.Mutex
	err      error

	bytesIn, bytesOut atomic.Uint64 // control channel, as the switches see it
	deletes           atomic.Uint64 // FLOW_MOD deletions received
	lastDelete        atomic.Int64  // unix ns of the last
	announceTo        atomic.Pointer[[2]ofproto.MAC]
	announced         atomic.Uint64 // host announcements delivered to announceTo
	loading           atomic.Pointer[loadRun]
}

// New builds the switches of cfg without connecting them; Start connects them.
func New(cfg Config) (*Network, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	n := &Network{cfg: cfg, byDPID: map[uint64]*Switch{}, epoch: time.Now()}
	count := cfg.Switches
	if cfg.Graph != nil {
		count = cfg.Graph.NumNodes()
	}
	for i := 0; i < count; i++ {
		s := &Switch{DPID: cfg.FirstDPID + uint64(i), net: n, peers: map[ofproto.PortNo]peer{},
			index: map[entryKey]int32{}, counters: map[ofproto.PortNo]*portCounters{}, done: make(chan struct{}),
			wake: make(chan struct{}, 1), bulk: make(chan []byte), stop: make(chan struct{})}
		for p := 1; p <= cfg.HostPorts; p++ {
			s.addPort(ofproto.PortNo(p))
		}
		n.switches = append(n.switches, s)
		n.byDPID[s.DPID] = s
	}
	if g := cfg.Graph; g != nil {
		for _, e := range g.Edges() {
			a, b := n.switches[e[0]], n.switches[e[1]]
			pa, pb := a.addPort(0), b.addPort(0)
			a.peers[pa] = peer{sw: b, port: pb}
			b.peers[pb] = peer{sw: a, port: pa}
		}
	}
	return n, nil
}

// addPort adds port p (0: the next free number) and returns its number.
func (s *Switch) addPort(p ofproto.PortNo) ofproto.PortNo {
	if p == 0 {
		p = ofproto.PortNo(len(s.ports) + 1)
	}
	speed := s.net.cfg.PortSpeed
	s.ports = append(s.ports, ofproto.PhyPort{PortNo: p,
		HWAddr: ofproto.MAC{0x02, byte(s.DPID >> 16), byte(s.DPID >> 8), byte(s.DPID), byte(p >> 8), byte(p)},
		Name:   fmt.Sprintf("e%d-eth%d", s.DPID, p), Curr: speed, Advertised: speed, Supported: speed})
	s.counters[p] = &portCounters{}
	return p
}

// Switches returns the switches, in dpid order.
func (n *Network) Switches() []*Switch { return n.switches }

// Switch returns the switch with the dpid, or nil.
func (n *Network) Switch(dpid uint64) *Switch { return n.byDPID[dpid] }

// Start connects every switch to the controller; they run until ctx ends or Close.
// It returns once every connection is open (or one failed to open).
func (n *Network) Start(ctx context.Context) error {
	ctx, n.cancel = context.WithCancel(ctx)
	opened := make(chan error, len(n.switches))
	for _, s := range n.switches {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			err := s.run(ctx, opened)
			if err != nil && ctx.Err() == nil {
				n.errMu.Lock()
				n.err = errors.Join(n.err, err)
				n.errMu.Unlock()
			}
		}()
	}
	for range n.switches {
		if err := <-opened; err != nil {
			n.Close()
			return err
		}
	}
	return nil
}

// Close disconnects every switch and waits for them; it returns the first error a
// switch's connection ended with while the network was running.
func (n *Network) Close() error {
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	n.errMu.Lock()
	defer n.errMu.Unlock()
	return n.err
}
