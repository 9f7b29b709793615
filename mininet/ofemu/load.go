package ofemu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// This file drives a reactive controller to install many flows (hosts announced by
// ARP, then one PACKET_IN per flow at its ingress switch) and observes what it does
// at that size: bytes on the control channel, which flows the statistics replies
// covered in each polling round, and how long it takes to react to a switch or a
// link going away.

// Host is an emulated host: a MAC and an IPv4 address behind a host port of a switch.
type Host struct {
	MAC  ofproto.MAC
	IP   [4]byte
	DPID uint64
	Port ofproto.PortNo
}

// Flow is one UDP flow between two hosts, identified by its ports.
type Flow struct {
	Src, Dst         int // indexes into the host list
	SrcPort, DstPort uint16
}

// Hosts places perSwitch hosts behind every switch, spread over its host ports.
func (n *Network) Hosts(perSwitch int) []Host {
	var out []Host
	for _, s := range n.switches {
		for k := range perSwitch {
			i := len(out) + 1
			out = append(out, Host{MAC: ofproto.MAC{0x02, 0x00, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)},
				IP: [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}, DPID: s.DPID,
				Port: ofproto.PortNo(1 + k%n.cfg.HostPorts)})
		}
	}
	return out
}

// loadState is a switch's side of a flow load: PACKET_INs outstanding, answered by
// the controller's PACKET_OUT at this switch.
type loadState struct {
	slots   chan struct{}
	answers atomic.Uint64
}

// answer frees a slot of the switch that sent the PACKET_IN.
func (l *loadState) answer() {
	l.answers.Add(1)
	select {
	case l.slots <- struct{}{}:
	default:
	}
}

// loadRun is a network's flow load in progress: the switch of each host, by host
// number, and the load state of each switch.
type loadRun struct {
	hostDPID []uint64
	states   map[uint64]*loadState
}

// observePacketOut counts what a PACKET_OUT answers: a host announcement delivered to
// the first host, or a flow's first packet sent on (from whichever switch: a
// controller with no path yet may deliver it straight to its destination), which
// frees a slot of the flow's ingress switch.
func (n *Network) observePacketOut(m *ofproto.PacketOut) {
	d := m.Data
	if len(d) < 14 || d[6] != 0x02 || d[7] != 0x00 {
		return
	}
	switch binary.BigEndian.Uint16(d[12:14]) {
	case 0x0806:
		if to := n.announceTo.Load(); to != nil && (ofproto.MAC(d[0:6]) == to[0] || ofproto.MAC(d[0:6]) == to[1]) {
			n.announced.Add(1)
		}
	case 0x0800:
		lr := n.loading.Load()
		if lr == nil {
			return
		}
		i := int(binary.BigEndian.Uint32(d[8:12])) - 1
		if i < 0 || i >= len(lr.hostDPID) {
			return
		}
		if l := lr.states[lr.hostDPID[i]]; l != nil {
			l.answer()
		}
	}
}

// arpFrame is host h's ARP reply to host to: it tells a controller where h is.
func arpFrame(h, to Host) []byte {
	b := make([]byte, 60)
	copy(b[0:6], to.MAC[:])
	copy(b[6:12], h.MAC[:])
	binary.BigEndian.PutUint16(b[12:], 0x0806)
	p := b[14:]
	binary.BigEndian.PutUint16(p[0:], 1)
	binary.BigEndian.PutUint16(p[2:], 0x0800)
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:], 2) // reply
	copy(p[8:14], h.MAC[:])
	copy(p[14:18], h.IP[:])
	copy(p[18:24], to.MAC[:])
	copy(p[24:28], to.IP[:])
	return b
}

// udpFrame is the first packet of flow f: 64 bytes.
func udpFrame(src, dst Host, f Flow) []byte {
	b := make([]byte, 64)
	copy(b[0:6], dst.MAC[:])
	copy(b[6:12], src.MAC[:])
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], 50)
	copy(ip[12:16], src.IP[:])
	copy(ip[16:20], dst.IP[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := b[34:42]
	binary.BigEndian.PutUint16(udp[0:], f.SrcPort)
	binary.BigEndian.PutUint16(udp[2:], f.DstPort)
	binary.BigEndian.PutUint16(udp[4:], 30)
	return b
}

// packetIn sends frame data as a table miss on port.
func (s *Switch) packetIn(port ofproto.PortNo, data []byte) error {
	return s.send(&ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(data)), InPort: port,
		Reason: ofproto.ReasonNoMatch, Data: data})
}

// Announce makes every host known to the controller: each sends an ARP reply to the
// first host (the first one's, and those of hosts behind the same port, go to the
// first host behind another port), at most rate a second in total (0: 20,000). It
// returns when the controller has delivered every announcement but the first (which
// it floods), or after timeout with an error.
func (n *Network) Announce(ctx context.Context, hosts []Host, rate float64, timeout time.Duration) error {
	if len(hosts) < 2 {
		return errors.New("ofemu: Announce needs at least two hosts")
	}
	if rate <= 0 {
		rate = 20000
	}
	first := hosts[0]
	other := -1
	for i, h := range hosts {
		if h.DPID != first.DPID || h.Port != first.Port {
			other = i
			break
		}
	}
	if other < 0 {
		return errors.New("ofemu: Announce needs hosts behind at least two ports")
	}
	second := hosts[other]
	order := append([]int{0, other}, make([]int, 0, len(hosts)-2)...)
	for i := range hosts {
		if i != 0 && i != other {
			order = append(order, i)
		}
	}
	n.announceTo.Store(&[2]ofproto.MAC{first.MAC, second.MAC})
	defer n.announceTo.Store(nil)
	outs0 := n.announced.Load()
	start := time.Now()
	for k, i := range order {
		h := hosts[i]
		to := first
		if i == 0 || (h.DPID == first.DPID && h.Port == first.Port) {
			to = second
		}
		s := n.byDPID[h.DPID]
		if s == nil {
			return fmt.Errorf("ofemu: host %d on unknown switch %016x", i, h.DPID)
		}
		if err := s.packetIn(h.Port, arpFrame(h, to)); err != nil {
			return err
		}
		if k < 2 {
			// The first announcement is flooded, the second delivered: let each land
			// before the others refer to them.
			if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
				return err
			}
			start = time.Now()
			continue
		}
		if ahead := time.Duration(float64(k)/rate*float64(time.Second)) - time.Since(start); ahead > 5*time.Millisecond {
			if err := sleepCtx(ctx, ahead); err != nil {
				return err
			}
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		outs := n.announced.Load()
		// Each announcement but the first is delivered to its host: one PACKET_OUT.
		if outs-outs0 >= uint64(len(hosts)-1) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ofemu: %d of %d host announcements answered within %v", outs-outs0, len(hosts)-1, timeout)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// LoadResult is what a flow load did.
type LoadResult struct {
	Sent, Answered uint64
	Seconds        float64
}

// Load sends the first packet of every flow as a PACKET_IN at its source host's
// switch, with at most outstanding unanswered per switch (an answer is a PACKET_OUT
// at that switch), and returns when every one was answered, or after timeout with
// an error (PACKET_INs left unanswered 5 s after the last are not an error:
// LoadResult says how many were answered). progress, when set, is called about every second with the count answered.
func (n *Network) Load(ctx context.Context, hosts []Host, flows []Flow, outstanding int, timeout time.Duration,
	progress func(answered uint64)) (LoadResult, error) {
	if outstanding <= 0 {
		outstanding = 32
	}
	per := map[uint64][]Flow{}
	for _, f := range flows {
		if f.Src < 0 || f.Src >= len(hosts) || f.Dst < 0 || f.Dst >= len(hosts) {
			return LoadResult{}, fmt.Errorf("ofemu: flow %+v: host out of range", f)
		}
		per[hosts[f.Src].DPID] = append(per[hosts[f.Src].DPID], f)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		wg   sync.WaitGroup
		sent atomic.Uint64
		errs = make(chan error, len(per))
	)
	states := make([]*loadState, 0, len(per))
	lr := &loadRun{hostDPID: make([]uint64, len(hosts)), states: map[uint64]*loadState{}}
	for i, h := range hosts {
		if int(binary.BigEndian.Uint32(h.MAC[2:6])) != i+1 {
			return LoadResult{}, errors.New("ofemu: Load takes the hosts of Network.Hosts")
		}
		lr.hostDPID[i] = h.DPID
	}
	for dpid := range per {
		s := n.byDPID[dpid]
		if s == nil {
			return LoadResult{}, fmt.Errorf("ofemu: unknown switch %016x", dpid)
		}
		l := &loadState{slots: make(chan struct{}, outstanding)}
		for range outstanding {
			l.slots <- struct{}{}
		}
		lr.states[dpid] = l
		states = append(states, l)
	}
	n.loading.Store(lr)
	start := time.Now()
	for dpid, fs := range per {
		s, l := n.byDPID[dpid], lr.states[dpid]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, f := range fs {
				select {
				case <-ctx.Done():
					errs <- ctx.Err()
					return
				case <-s.done:
					errs <- fmt.Errorf("ofemu: switch %016x disconnected during the load", s.DPID)
					return
				case <-l.slots:
				case <-time.After(2 * time.Second): // a lost answer must not stall the switch
				}
				if err := s.packetIn(hosts[f.Src].Port, udpFrame(hosts[f.Src], hosts[f.Dst], f)); err != nil {
					errs <- err
					return
				}
				sent.Add(1)
			}
		}()
	}
	answered := func() uint64 {
		var a uint64
		for _, l := range states {
			a += l.answers.Load()
		}
		return a
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var err error
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			if progress != nil {
				progress(answered())
			}
		}
	}
	select {
	case err = <-errs:
	default:
	}
	// The last answers are in flight; a PACKET_IN the controller chose not to answer
	// (it dropped the packet) ends the wait once nothing more comes for 5 s.
	last, still := answered(), time.Now()
	for err == nil && last < uint64(len(flows)) && time.Since(still) < 5*time.Second {
		select {
		case <-ctx.Done():
			err = fmt.Errorf("ofemu: %d of %d flows answered: %w", answered(), len(flows), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if a := answered(); a != last {
			last, still = a, time.Now()
		}
	}
	n.loading.Store(nil)
	return LoadResult{Sent: sent.Load(), Answered: answered(), Seconds: time.Since(start).Seconds()}, err
}

// Traffic is the bytes the switches received from the controller and sent to it, and
// the FLOW_MOD deletions they received (count, and when the last arrived).
type Traffic struct {
	BytesIn, BytesOut uint64
	Deletes           uint64
	LastDelete        time.Time
}

// Traffic returns the control-channel totals so far.
func (n *Network) Traffic() Traffic {
	t := Traffic{BytesIn: n.bytesIn.Load(), BytesOut: n.bytesOut.Load(), Deletes: n.deletes.Load()}
	if ns := n.lastDelete.Load(); ns != 0 {
		t.LastDelete = time.Unix(0, ns)
	}
	return t
}

// countConn counts a switch connection's bytes into its network's totals.
type countConn struct {
	net.Conn
	n *Network
}

func (c countConn) Read(b []byte) (int, error) {
	k, err := c.Conn.Read(b)
	c.n.bytesIn.Add(uint64(k))
	return k, err
}

func (c countConn) Write(b []byte) (int, error) {
	k, err := c.Conn.Write(b)
	c.n.bytesOut.Add(uint64(k))
	return k, err
}

// Disconnect closes the switch's connection, as a switch that fails does; it does
// not come back.
func (s *Switch) Disconnect() {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		c.Close()
	}
	<-s.done
}

// PortDown reports port p of the switch down (OFPPR_MODIFY with OFPPS_LINK_DOWN), as
// a switch does when the cable goes; frames no longer cross it.
func (s *Switch) PortDown(p ofproto.PortNo) error {
	for i := range s.ports {
		if s.ports[i].PortNo != p {
			continue
		}
		s.mu.Lock()
		s.ports[i].State |= ofproto.PortStateLinkDown
		desc := s.ports[i]
		s.mu.Unlock()
		return s.send(&ofproto.PortStatus{Reason: ofproto.PortModified, Desc: desc})
	}
	return fmt.Errorf("ofemu: switch %016x has no port %d", s.DPID, p)
}

// Peer returns the switch and port at the other end of link port p, if any.
func (s *Switch) Peer(p ofproto.PortNo) (*Switch, ofproto.PortNo, bool) {
	pe, ok := s.peers[p]
	return pe.sw, pe.port, ok
}

// ReadCounts calls fn, for every entry on every switch, with its cookie and the
// number of flow statistics replies that have listed it so far: between two calls,
// the entries whose count grew were read (by a polling round, or the part of two that
// fell between the calls).
func (n *Network) ReadCounts(fn func(cookie uint64, reads uint32)) {
	for _, s := range n.switches {
		s.mu.Lock()
		for i := range s.rows {
			fn(s.rows[i].cookie, s.rows[i].reads)
		}
		s.mu.Unlock()
	}
}

// Cookies calls fn with the cookie of every entry on every switch.
func (n *Network) Cookies(fn func(dpid, cookie uint64)) {
	for _, s := range n.switches {
		s.mu.Lock()
		for i := range s.rows {
			fn(s.DPID, s.rows[i].cookie)
		}
		s.mu.Unlock()
	}
}

// LinkPorts returns the switch's ports that lead to another emulated switch, in order.
func (s *Switch) LinkPorts() []ofproto.PortNo {
	out := make([]ofproto.PortNo, 0, len(s.peers))
	for p := range s.peers {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// LinkPortsProbed counts the link ports, over all switches, that an LLDP frame has
// arrived on: once it is twice the number of links, a controller has seen every
// link both ways.
func (n *Network) LinkPortsProbed() int {
	k := 0
	for _, s := range n.switches {
		s.mu.Lock()
		k += len(s.probed)
		s.mu.Unlock()
	}
	return k
}

// Unprobed lists the switches with a link port no LLDP frame has arrived on, and
// whether their connection is still open.
func (n *Network) Unprobed() []string {
	var out []string
	for _, s := range n.switches {
		s.mu.Lock()
		k := len(s.probed)
		s.mu.Unlock()
		if k < len(s.peers) {
			state := "connected"
			select {
			case <-s.done:
				state = "disconnected"
			default:
			}
			out = append(out, fmt.Sprintf("%016x (%d of %d ports, %s, %d stats requests)", s.DPID, k, len(s.peers), state,
				s.statsRequests.Load()))
		}
	}
	return out
}
