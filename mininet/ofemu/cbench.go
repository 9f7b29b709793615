package ofemu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// CbenchConfig is one cbench-style run.
type CbenchConfig struct {
	Controller string
	// Switches is the number of emulated switches; default 16.
	Switches int
	// MACs is the number of distinct hosts behind each switch; default 1,000.
	MACs int
	// Outstanding is the number of PACKET_INs a switch keeps unanswered: 1 is
	// cbench's latency mode; 0 is throughput mode (the switch writes as fast as the
	// connection takes them).
	Outstanding int
	// Warmup is run before counting starts; default 1 s. Duration is the counted
	// time; default 5 s.
	Warmup, Duration time.Duration
	// HostPorts is the number of host ports per switch, among which the hosts are
	// spread; default 4.
	HostPorts int
	// FirstDPID is the dpid of the first switch; default 1. Successive runs against
	// one controller can use distinct dpids, so that a switch of the last run the
	// controller has not torn down yet is not taken for a duplicate.
	FirstDPID uint64
	// Rate, when positive, paces each switch's PACKET_INs to this many per second
	// (a storm of a given size rather than as fast as the controller takes them);
	// it applies in throughput mode.
	Rate float64
	// NoLearn skips the learning phase. By default every host first sends one ARP
	// reply to host 0 of its switch (host 0 to host 1), before the warm-up, so that
	// the controller knows every destination when the load starts (cbench's
	// --learn-dstmac).
	NoLearn bool
	// Unbuffered sends the PACKET_INs without a buffer id (OFP_NO_BUFFER, the whole
	// frame as data), so that a controller answers each with a FLOW_MOD and a
	// PACKET_OUT. By default a switch buffers each packet, as cbench's fakeswitch
	// does, under an id that cycles through NumBufferIDs: a learning switch answers
	// with one FLOW_MOD naming the buffer.
	Unbuffered bool
	// Counting, when set, is called with true as counting starts and with false as it
	// ends (to read a controller's CPU time over the counted window, say).
	Counting func(start bool)
}

// CbenchResult is what a run measured.
type CbenchResult struct {
	Responses    uint64    // counted responses: FLOW_MOD adds and non-LLDP PACKET_OUTs
	PacketIns    uint64    // PACKET_INs sent while counting
	Seconds      float64   // the counted time
	PerSecond    float64   // Responses / Seconds
	PerSwitch    []float64 // responses per second of each switch
	Disconnected int       // switches whose connection the controller closed during the run
	// Answered counts the PACKET_INs sent while counting that were answered: buffered,
	// those whose buffer a FLOW_MOD or PACKET_OUT released; unbuffered in latency
	// mode, those a response answered (see benchState.response). Unbuffered in
	// throughput mode it is not measured (AnswerCounted false).
	Answered      uint64
	AnswerCounted bool
	// BufferErrors counts the FLOW_MODs and PACKET_OUTs over the whole run that named
	// a buffer the switch no longer held (released already, or its id reused after
	// NumBufferIDs newer PACKET_INs).
	BufferErrors uint64
}

// benchState is a switch's cbench side.
type benchState struct {
	slots     chan struct{} // latency mode: one token per outstanding PACKET_IN
	responses atomic.Uint64
	sent      atomic.Uint64
	macs      int
	ports     int
	rate      float64       // PACKET_INs per second; 0: as fast as taken
	ready     chan struct{} // closed once the switch answered FEATURES_REQUEST
	readyOnce sync.Once
	buffered  bool

	// Latency mode: the tags of the PACKET_INs not answered yet, oldest first. A tag
	// is the buffer id of a buffered PACKET_IN, else its source host.
	mu       sync.Mutex
	pending  []uint32
	answered atomic.Uint64 // PACKET_INs answered (latency mode, or buffers released)
}

// tagOf returns the tag of the PACKET_IN a response answers, when it names one: the
// buffer it releases, or else (unbuffered) the source host of the FLOW_MOD's exact
// match or of the PACKET_OUT's frame.
func (b *benchState) tagOf(m ofproto.Message) (uint32, bool) {
	host := func(mac []byte) (uint32, bool) {
		h := uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5])
		return h - 1, h > 0
	}
	switch m := m.(type) {
	case *ofproto.FlowMod:
		if m.BufferID != ofproto.BufferNone {
			return m.BufferID, true
		}
		if !b.buffered && m.Match.Wildcards&ofproto.WildDLSrc == 0 {
			return host(m.Match.DLSrc[:])
		}
	case *ofproto.PacketOut:
		if m.BufferID != ofproto.BufferNone {
			return m.BufferID, true
		}
		if !b.buffered && len(m.Data) >= 12 {
			return host(m.Data[6:12])
		}
	}
	return 0, false
}

// isLLDP reports whether a PACKET_OUT carries an LLDP frame.
func isLLDP(data []byte) bool {
	return len(data) >= 14 && binary.BigEndian.Uint16(data[12:14]) == 0x88cc
}

// response counts m when it is what cbench counts. In latency mode it answers the
// outstanding PACKET_IN it names, or the oldest one when it names none (cbench takes
// any response for the answer to what it sent), and frees that PACKET_IN's slot; a
// response naming a PACKET_IN answered already (a PACKET_OUT after the FLOW_MOD of the
// same packet) answers nothing, so that a switch never has more than Outstanding
// PACKET_INs unanswered.
func (b *benchState) response(_ *Switch, m ofproto.Message) {
	if po, ok := m.(*ofproto.PacketOut); ok && isLLDP(po.Data) {
		return
	}
	b.responses.Add(1)
	if b.slots == nil {
		return
	}
	tag, named := b.tagOf(m)
	b.mu.Lock()
	i := -1
	if named {
		for j, t := range b.pending {
			if t == tag {
				i = j
				break
			}
		}
	} else if len(b.pending) > 0 {
		i = 0
	}
	if i >= 0 {
		b.pending = append(b.pending[:i], b.pending[i+1:]...)
	}
	b.mu.Unlock()
	if i < 0 {
		return
	}
	if !b.buffered {
		b.answered.Add(1)
	}
	select {
	case b.slots <- struct{}{}:
	default:
	}
}

// answeredCount is how many PACKET_INs of the switch were answered so far.
func (s *Switch) answeredCount() uint64 {
	if s.bench.buffered {
		return s.released.Load()
	}
	return s.bench.answered.Load()
}

// sentOne records a PACKET_IN a switch sent in latency mode.
func (b *benchState) sentOne(tag uint32) {
	b.mu.Lock()
	b.pending = append(b.pending, tag)
	b.mu.Unlock()
}

// frame builds host k's UDP packet to host k+1 behind switch dpid: 64 bytes. id is
// the IPv4 identification, which a host changes from packet to packet: successive
// packets of a flow are not byte for byte the same (a controller may take a frame it
// sees twice within a moment for its own flood coming back).
func frame(buf []byte, dpid uint64, k, macs int, id uint16) []byte {
	buf = buf[:64]
	clear(buf)
	dst := (k + 1) % macs
	// Locally administered unicast MACs 02:dd:dd:hh:hh:hh (dpid, host); IPv4
	// 10+dpid/256 . dpid%256 . host: distinct for every dpid below 62,000.
	mac := func(b []byte, h int) {
		m, _ := hostAddr(dpid, h)
		copy(b, m[:])
	}
	mac(buf[0:6], dst)
	mac(buf[6:12], k)
	binary.BigEndian.PutUint16(buf[12:], 0x0800)
	ip := buf[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 17
	binary.BigEndian.PutUint16(ip[2:], 50)
	binary.BigEndian.PutUint16(ip[4:], id)
	ip[12], ip[13], ip[14], ip[15] = 10+byte(dpid>>8), byte(dpid), byte((k+1)>>8), byte(k+1)
	ip[16], ip[17], ip[18], ip[19] = 10+byte(dpid>>8), byte(dpid), byte((dst+1)>>8), byte(dst+1)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := buf[34:42]
	binary.BigEndian.PutUint16(udp[0:], 4000)
	binary.BigEndian.PutUint16(udp[2:], 5001)
	binary.BigEndian.PutUint16(udp[4:], 30)
	return buf
}

// Cbench runs the benchmark: it connects the switches, lets the controller see them
// for the warm-up, then counts responses for the duration.
func Cbench(ctx context.Context, c CbenchConfig) (CbenchResult, error) {
	if c.Switches <= 0 {
		c.Switches = 16
	}
	if c.MACs <= 0 {
		c.MACs = 1000
	}
	if c.HostPorts <= 0 {
		c.HostPorts = 4
	}
	if c.Warmup <= 0 {
		c.Warmup = time.Second
	}
	if c.Duration <= 0 {
		c.Duration = 5 * time.Second
	}
	if c.Outstanding < 0 {
		return CbenchResult{}, fmt.Errorf("ofemu: Outstanding %d is negative", c.Outstanding)
	}
	if c.Rate < 0 || (c.Rate > 0 && c.Outstanding > 0) {
		return CbenchResult{}, fmt.Errorf("ofemu: Rate %g: want a positive rate, in throughput mode only", c.Rate)
	}
	n, err := New(Config{Controller: c.Controller, Switches: c.Switches, HostPorts: c.HostPorts, Tick: time.Second,
		FirstDPID: c.FirstDPID})
	if err != nil {
		return CbenchResult{}, err
	}
	for _, s := range n.switches {
		s.bench = &benchState{macs: c.MACs, ports: c.HostPorts, rate: c.Rate, ready: make(chan struct{}),
			buffered: !c.Unbuffered}
		if !c.Unbuffered {
			s.buffers = newPktBuffers(NumBufferIDs)
		}
		if c.Outstanding > 0 {
			s.bench.slots = make(chan struct{}, c.Outstanding)
			for range c.Outstanding {
				s.bench.slots <- struct{}{}
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := n.Start(ctx); err != nil {
		return CbenchResult{}, err
	}
	defer n.Close()
	// Let every handshake finish before the load starts (a PACKET_IN before it is a
	// protocol error), then give the controller a moment for its set-up messages.
	handshake := time.After(30 * time.Second)
	for _, s := range n.switches {
		select {
		case <-ctx.Done():
			return CbenchResult{}, ctx.Err()
		case <-s.done:
		case <-s.bench.ready:
		case <-handshake:
			return CbenchResult{}, fmt.Errorf("ofemu: switch %016x: no FEATURES_REQUEST within 30 s", s.DPID)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if !c.NoLearn {
		for _, s := range n.switches {
			if err := s.learn(ctx); err != nil && s.isUp() {
				return CbenchResult{}, err
			}
		}
		// Let the controller take them in before the load starts.
		time.Sleep(500 * time.Millisecond)
	}
	for _, s := range n.switches {
		go s.pump(ctx)
	}
	select {
	case <-ctx.Done():
		return CbenchResult{}, ctx.Err()
	case <-time.After(c.Warmup):
	}
	if c.Counting != nil {
		c.Counting(true)
	}
	start := time.Now()
	r0 := make([]uint64, len(n.switches))
	var sent0, answered0 uint64
	for i, s := range n.switches {
		r0[i] = s.bench.responses.Load()
		sent0 += s.bench.sent.Load()
		answered0 += s.answeredCount()
	}
	// A run cancelled while counting reports what it counted so far.
	select {
	case <-ctx.Done():
	case <-time.After(c.Duration):
	}
	secs := time.Since(start).Seconds()
	if c.Counting != nil {
		c.Counting(false)
	}
	res := CbenchResult{Seconds: secs}
	var sent, answered uint64
	for i, s := range n.switches {
		d := s.bench.responses.Load() - r0[i]
		res.Responses += d
		res.PerSwitch = append(res.PerSwitch, float64(d)/secs)
		sent += s.bench.sent.Load()
		answered += s.answeredCount()
		res.BufferErrors += s.bufferErrors.Load()
		select {
		case <-s.done:
			res.Disconnected++
		default:
		}
	}
	res.PacketIns = sent - sent0
	res.Answered, res.AnswerCounted = answered-answered0, !c.Unbuffered || c.Outstanding > 0
	res.PerSecond = float64(res.Responses) / secs
	cancel()
	if err := n.Close(); err != nil && !errors.Is(err, context.Canceled) && res.Disconnected == 0 {
		return res, err
	}
	// A connection the controller closed ends with its error (a reset, say): that is
	// what Disconnected counts, not a failure of the run.
	return res, nil
}

// isUp reports whether the switch's connection is still open.
func (s *Switch) isUp() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// hostAddr returns host h's MAC and IPv4 address behind switch dpid, as frame uses
// them.
func hostAddr(dpid uint64, h int) (mac [6]byte, ip [4]byte) {
	mac = [6]byte{0x02, byte(dpid >> 8), byte(dpid), byte((h + 1) >> 16), byte((h + 1) >> 8), byte(h + 1)}
	ip = [4]byte{10 + byte(dpid>>8), byte(dpid), byte((h + 1) >> 8), byte(h + 1)}
	return mac, ip
}

// arpReply builds host h's ARP reply to host to behind switch dpid: 60 bytes.
func arpReply(dpid uint64, h, to int) []byte {
	b := make([]byte, 60)
	smac, sip := hostAddr(dpid, h)
	dmac, dip := hostAddr(dpid, to)
	copy(b[0:6], dmac[:])
	copy(b[6:12], smac[:])
	binary.BigEndian.PutUint16(b[12:], 0x0806)
	a := b[14:]
	binary.BigEndian.PutUint16(a[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(a[2:], 0x0800) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:], 2) // reply
	copy(a[8:14], smac[:])
	copy(a[14:18], sip[:])
	copy(a[18:24], dmac[:])
	copy(a[24:28], dip[:])
	return b
}

// learn sends one ARP reply from every host (host 0 to host 1, the others to host 0),
// each from the port its traffic comes in on, so that the controller learns them all.
func (s *Switch) learn(ctx context.Context) error {
	b := s.bench
	batch := make([]ofproto.Message, 0, b.macs)
	for h := range b.macs {
		to := 0
		if h == 0 {
			to = 1 % b.macs
		}
		data := arpReply(s.DPID, h, to)
		batch = append(batch, &ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(data)),
			InPort: ofproto.PortNo(1 + h%b.ports), Reason: ofproto.ReasonNoMatch, Data: data})
	}
	return s.sendBulk(ctx, batch)
}

// pump sends PACKET_INs: in latency mode one per free slot, in throughput mode as
// fast as the connection takes them (in batches, as cbench fills its buffer).
func (s *Switch) pump(ctx context.Context) {
	b := s.bench
	buf := make([]byte, 64)
	batch := make([]ofproto.Message, 0, 64)
	k := 0
	paceStart, paceSent := time.Now(), b.sent.Load()
	// next returns the next PACKET_IN and its tag (see benchState.pending).
	next := func() (ofproto.Message, uint32) {
		port := ofproto.PortNo(1 + k%b.ports)
		host := k % b.macs
		data := append([]byte(nil), frame(buf, s.DPID, host, b.macs, uint16(k/b.macs))...)
		k++
		pi := &ofproto.PacketIn{Xid: 0, BufferID: ofproto.BufferNone, TotalLen: uint16(len(data)), InPort: port,
			Reason: ofproto.ReasonNoMatch, Data: data}
		if s.buffers == nil {
			return pi, uint32(host)
		}
		// cbench's fakeswitch sends the whole 64-byte frame with its buffer id (its
		// miss_send_len is not applied either).
		pi.BufferID = s.buffers.put(data, port)
		return pi, pi.BufferID
	}
	for ctx.Err() == nil {
		select {
		case <-s.done:
			return
		default:
		}
		if b.slots != nil {
			select {
			case <-ctx.Done():
				return
			case <-s.done:
				return
			case <-b.slots:
			case <-time.After(time.Second):
				// A lost response must not stall the switch for good.
			}
			pi, tag := next()
			b.sentOne(tag)
			if err := s.send(pi); err != nil {
				return
			}
			b.sent.Add(1)
			continue
		}
		n := cap(batch)
		if b.rate > 0 {
			// Paced: every 10 ms, what the rate allows since the last batch.
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			due := b.rate * time.Since(paceStart).Seconds()
			n = min(int(due)-int(b.sent.Load()-paceSent), 4096)
			if n <= 0 {
				continue
			}
		}
		batch = batch[:0]
		for range n {
			pi, _ := next()
			batch = append(batch, pi)
		}
		if err := s.sendBulk(ctx, batch); err != nil {
			return
		}
		b.sent.Add(uint64(len(batch)))
	}
}
