package ofemu

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// TrafficModel gives the traffic an entry carries: bytes per second and the size of
// its packets. A nil model carries none.
type TrafficModel func(dpid uint64, m *ofproto.Match, cookie uint64) (bytesPerSecond float64, packetSize int)

// ConstantTraffic carries bps bits per second in packets of size bytes on every
// entry.
func ConstantTraffic(bps float64, size int) TrafficModel {
	return func(uint64, *ofproto.Match, uint64) (float64, int) { return bps / 8, size }
}

// DefaultMaxReplyLen is the largest OFPT_STATS_REPLY message a switch sends before it
// splits a reply: entries are added while the message stays within 65,535 bytes, as
// Open vSwitch does (1,000 one-action flow entries arrive as 65,484 + 30,540 bytes).
const DefaultMaxReplyLen = 65535

// UnlimitedEntries is the max_entries an unlimited table reports (Open vSwitch's
// default flow limit).
const UnlimitedEntries = 1000000

// entry is one flow table entry.
type entry struct {
	match       ofproto.Match
	cookie      uint64
	priority    uint16
	idle, hard  uint16
	flags       ofproto.FlowModFlags
	actions     []ofproto.Action
	created     time.Time
	outPorts    []ofproto.PortNo
	bytesPerSec float64
	packetSize  int
	reads       uint32 // flow statistics replies that listed the entry
	actLen      uint16 // the actions' encoded length (setActions)
	// actEnc holds the actions encoded when they fit (actInline): a reply copies
	// them from the entry, whose memory it has in the cache already, rather than
	// encoding them from objects of their own (a cache miss or two per entry of a
	// five-million-entry network).
	actEnc    [16]byte
	actInline bool
}

// setActions makes acts the entry's actions.
func (e *entry) setActions(acts []ofproto.Action) {
	e.actions, e.outPorts, e.actLen = acts, outputs(acts), uint16(min(ofproto.ActionsLen(acts), 0xffff))
	e.actInline = false
	if n := int(e.actLen); n <= len(e.actEnc) {
		fs := ofproto.FlowStats{Actions: acts}
		if b, err := fs.AppendBinary(nil); err == nil && len(b) == ofproto.FlowStatsLen+n {
			copy(e.actEnc[:], b[ofproto.FlowStatsLen:])
			e.actInline = true
		}
	}
}

// appendEntry appends fs, an entry's statistics with its actions, as a reply lists
// it: the actions copied from e.actEnc when they are there.
func (e *entry) appendEntry(dst []byte, fs *ofproto.FlowStats) ([]byte, error) {
	if !e.actInline {
		return fs.AppendBinary(dst)
	}
	start := len(dst)
	fs.Actions = nil
	dst, err := fs.AppendBinary(dst)
	if err != nil {
		return dst, err
	}
	dst = append(dst, e.actEnc[:e.actLen]...)
	binary.BigEndian.PutUint16(dst[start:], uint16(ofproto.FlowStatsLen+int(e.actLen)))
	return dst, nil
}

// counts returns the entry's packet and byte counters at now. They follow from the
// traffic model (whole packets at the entry's rate since it was added), computed
// when read, so that a table of a million entries costs nothing between reads.
func (e *entry) counts(now time.Time) (packets, bytes uint64) {
	if e.bytesPerSec <= 0 || e.packetSize <= 0 {
		return 0, 0
	}
	d := now.Sub(e.created).Seconds()
	if d <= 0 {
		return 0, 0
	}
	n := uint64(e.bytesPerSec*d) / uint64(e.packetSize)
	return n, n * uint64(e.packetSize)
}

// lastUsed is when the entry last counted a packet (its creation when none yet).
func (e *entry) lastUsed(now time.Time) time.Time {
	n, _ := e.counts(now)
	if n == 0 {
		return e.created
	}
	return e.created.Add(time.Duration(float64(n*uint64(e.packetSize)) / e.bytesPerSec * float64(time.Second)))
}

// expirable reports whether the entry can ever time out: a hard timeout, or an idle
// timeout longer than the gap between its packets.
func (e *entry) expirable() bool {
	if e.hard > 0 {
		return true
	}
	if e.idle == 0 {
		return false
	}
	return e.bytesPerSec <= 0 || float64(e.packetSize)/e.bytesPerSec >= float64(e.idle)
}

type entryKey struct {
	match    [ofproto.MatchLen]byte
	priority uint16
}

func keyOf(m *ofproto.Match, prio uint16) entryKey {
	var k entryKey
	b, _ := m.MarshalBinary()
	copy(k.match[:], b)
	k.priority = prio
	return k
}

// portCounters are one port's statistics.
type portCounters struct {
	rxPackets, txPackets, rxBytes, txBytes uint64
}

// peer is the far end of a link port.
type peer struct {
	sw   *Switch
	port ofproto.PortNo
}

// Switch is one emulated OpenFlow 1.0 switch.
type Switch struct {
	DPID  uint64
	net   *Network
	ports []ofproto.PhyPort
	peers map[ofproto.PortNo]peer

	mu       sync.Mutex
	conn     net.Conn
	wmu      sync.Mutex
	queue    []queued // messages waiting for the writer
	spare    []queued // the writer's last batch, emptied, for the next one
	closed   bool
	wake     chan struct{}
	bulk     chan []byte
	stop     chan struct{}
	entries  map[entryKey]*entry
	counters map[ofproto.PortNo]*portCounters // frames sent out by PACKET_OUT and removed entries' counts
	lookups  uint64                           // packets of removed entries (live ones are added when read)
	matched  uint64
	xid      uint32
	// expiring counts the entries that can time out: the ticker walks the table
	// only when there are some.
	expiring int
	// order is the table in the order statistics replies list it, rebuilt after an
	// entry is added or removed.
	order      []*entry
	orderDirty bool
	sel        []*entry                // selected's result for an exact match, reused
	probed     map[ofproto.PortNo]bool // link ports an LLDP frame arrived on
	priorities map[uint16]int          // entries by priority, to find an exact match without a walk

	// what the switch saw, for tests
	flowMods      atomic.Uint64
	refused       atomic.Uint64
	flowRemoved   atomic.Uint64
	statsRequests atomic.Uint64
	packetOuts    atomic.Uint64
	released      atomic.Uint64
	bufferErrors  atomic.Uint64

	buffers *pktBuffers // nil: the switch buffers nothing (NBuffers 0)
	bench   *benchState // non-nil in cbench mode
	ready   atomic.Bool // the controller has the switch's FEATURES_REPLY
	done    chan struct{}
}

// Stats is what a switch has seen so far.
type Stats struct {
	FlowMods, Refused, FlowRemoved, StatsRequests, PacketOuts uint64
	// BuffersReleased counts buffered packets a FLOW_MOD or PACKET_OUT released;
	// BufferErrors the requests that named a buffer the switch did not hold.
	BuffersReleased, BufferErrors uint64
	Entries                       int
}

// Stats returns the counts of what the switch has seen.
func (s *Switch) Stats() Stats {
	s.mu.Lock()
	n := len(s.entries)
	s.mu.Unlock()
	return Stats{FlowMods: s.flowMods.Load(), Refused: s.refused.Load(), FlowRemoved: s.flowRemoved.Load(),
		StatsRequests: s.statsRequests.Load(), PacketOuts: s.packetOuts.Load(), BuffersReleased: s.released.Load(),
		BufferErrors: s.bufferErrors.Load(), Entries: n}
}

// Entry is a flow table entry as the switch holds it.
type Entry struct {
	Match                  ofproto.Match
	Cookie                 uint64
	Priority               uint16
	IdleTimeout            uint16
	PacketCount, ByteCount uint64
	Actions                []ofproto.Action
}

// Entries returns a copy of the flow table, in no particular order.
func (s *Switch) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entry, 0, len(s.entries))
	now := time.Now()
	for _, e := range s.entries {
		p, b := e.counts(now)
		out = append(out, Entry{Match: e.match, Cookie: e.cookie, Priority: e.priority, IdleTimeout: e.idle,
			PacketCount: p, ByteCount: b, Actions: e.actions})
	}
	return out
}

func (s *Switch) nextXid() uint32 {
	s.xid++
	return s.xid
}

// send queues messages for the controller; it never blocks, so that the reader
// always keeps reading (a controller that stops reading while its own writes are
// blocked would otherwise deadlock with us). The writer goroutine sends them, ahead
// of any bulk load.
func (s *Switch) send(msgs ...ofproto.Message) error {
	out := make([]queued, 0, len(msgs))
	for _, m := range msgs {
		b, err := ofproto.AppendMarshal(nil, m)
		if err != nil {
			return err
		}
		out = append(out, queued{b: b})
	}
	return s.enqueue(out...)
}

// queued is what the writer sends: messages, and where their buffer goes back to
// once written (nil when it is left to the garbage collector).
type queued struct {
	b      []byte
	pooled *[]byte
}

// replyBufs holds the buffers of flow statistics replies that the writers have
// sent, for the next replies. It holds *[]byte so that Put does not allocate.
var replyBufs sync.Pool

// sendReply queues the messages encoded in *p, a buffer from replyBufs, which the
// writer gives back once it has written them.
func (s *Switch) sendReply(p *[]byte) error {
	return s.enqueue(queued{b: *p, pooled: p})
}

func (s *Switch) enqueue(out ...queued) error {
	s.wmu.Lock()
	if s.closed {
		s.wmu.Unlock()
		return net.ErrClosed
	}
	if s.queue == nil {
		s.queue, s.spare = s.spare, nil
	}
	s.queue = append(s.queue, out...)
	s.wmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// sendBulk hands a batch to the writer and waits until it is taken: the load of a
// benchmark, which TCP may slow down.
func (s *Switch) sendBulk(ctx context.Context, msgs []ofproto.Message) error {
	var b []byte
	for _, m := range msgs {
		var err error
		if b, err = ofproto.AppendMarshal(b, m); err != nil {
			return err
		}
	}
	select {
	case s.bulk <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return net.ErrClosed
	}
}

// writer writes queued messages, then bulk batches, until the connection fails.
func (s *Switch) writer(conn net.Conn) {
	w := bufio.NewWriterSize(conn, 64<<10)
	defer func() {
		s.wmu.Lock()
		s.closed = true
		s.queue = nil
		s.wmu.Unlock()
		conn.Close()
	}()
	for {
		s.wmu.Lock()
		q := s.queue
		s.queue = nil
		s.wmu.Unlock()
		for i, m := range q {
			_, err := w.Write(m.b)
			if m.pooled != nil {
				// Written or copied into w: the buffer is free again.
				*m.pooled = m.b[:0]
				replyBufs.Put(m.pooled)
			}
			q[i] = queued{}
			if err != nil {
				return
			}
		}
		if len(q) > 0 {
			s.wmu.Lock()
			s.spare = q[:0]
			s.wmu.Unlock()
			if w.Flush() != nil {
				return
			}
		}
		select {
		case <-s.wake:
		case b := <-s.bulk:
			if _, err := w.Write(b); err != nil {
				return
			}
			if w.Flush() != nil {
				return
			}
		case <-s.stop:
			return
		}
	}
}

// run connects the switch and serves its connection until ctx ends or the
// connection fails.
func (s *Switch) run(ctx context.Context, opened chan<- error) error {
	defer close(s.done)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.net.cfg.Controller)
	if err != nil {
		err = fmt.Errorf("ofemu: switch %016x: %w", s.DPID, err)
		opened <- err
		return err
	}
	opened <- nil
	conn = countConn{Conn: conn, n: s.net}
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	wdone := make(chan struct{})
	go func() {
		defer close(wdone)
		s.writer(conn)
	}()
	defer func() {
		close(s.stop)
		<-wdone
	}()
	go func() {
		select {
		case <-ctx.Done():
		case <-wdone:
		}
		conn.Close()
	}()
	if err := s.send(&ofproto.Hello{Xid: 1}); err != nil {
		return err
	}
	// The ticker ends with the connection, not only with ctx: done must close as
	// soon as the controller drops the switch (cbench reports disconnects by it).
	tctx, tcancel := context.WithCancel(ctx)
	tickDone := make(chan struct{})
	defer func() { tcancel(); <-tickDone }()
	go func() {
		defer close(tickDone)
		s.ticker(tctx)
	}()
	fr := ofproto.NewFramer(bufio.NewReaderSize(conn, 64<<10), ofproto.MaxMessageLen)
	for {
		b, err := fr.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("ofemu: switch %016x: %w", s.DPID, err)
		}
		m, err := ofproto.Decode(b)
		if err != nil {
			// An unknown message gets OFPBRC_BAD_TYPE, as a switch answers it.
			h, herr := ofproto.ParseHeader(b)
			if herr != nil {
				return herr
			}
			_ = s.send(&ofproto.ErrorMsg{Xid: h.Xid, ErrType: ofproto.ErrTypeBadRequest, Code: ofproto.BadRequestBadType, Data: b[:min(len(b), 64)]})
			continue
		}
		if err := s.handle(ctx, m, time.Now()); err != nil {
			return err
		}
	}
}

func (s *Switch) handle(ctx context.Context, m ofproto.Message, now time.Time) error {
	switch m := m.(type) {
	case *ofproto.Hello:
	case *ofproto.EchoRequest:
		return s.send(&ofproto.EchoReply{Xid: m.Xid, Data: m.Data})
	case *ofproto.EchoReply:
	case *ofproto.FeaturesRequest:
		var nbuf uint32
		if s.buffers != nil {
			nbuf = uint32(len(s.buffers.slots))
		}
		err := s.send(&ofproto.FeaturesReply{Xid: m.Xid, DatapathID: s.DPID, NBuffers: nbuf, NTables: 1,
			Capabilities: ofproto.Capabilities(0x87), Actions: ofproto.ActionBitmap(0xfff), Ports: s.ports})
		s.ready.Store(true)
		if s.bench != nil {
			s.bench.readyOnce.Do(func() { close(s.bench.ready) })
		}
		return err
	case *ofproto.GetConfigRequest:
		return s.send(&ofproto.GetConfigReply{Xid: m.Xid, SwitchConfig: ofproto.SwitchConfig{MissSendLen: 128}})
	case *ofproto.SetConfig:
	case *ofproto.BarrierRequest:
		return s.send(&ofproto.BarrierReply{Xid: m.Xid})
	case *ofproto.FlowMod:
		return s.flowMod(m, now)
	case *ofproto.PacketOut:
		s.packetOuts.Add(1)
		if s.bench != nil {
			s.bench.response(s, m)
		}
		if m.BufferID != ofproto.BufferNone {
			return s.release(m.BufferID, m.Xid, m, m.Actions)
		}
		s.packetOut(m)
		s.net.observePacketOut(m)
	case *ofproto.StatsRequest:
		s.statsRequests.Add(1)
		return s.stats(ctx, m, now)
	case *ofproto.Vendor:
		return s.send(&ofproto.ErrorMsg{Xid: m.Xid, ErrType: ofproto.ErrTypeBadRequest, Code: ofproto.BadRequestBadVendor}) // OFPBRC_BAD_VENDOR
	default:
		// PORT_MOD, QUEUE_GET_CONFIG and the rest are accepted and ignored.
	}
	return nil
}

func outputs(actions []ofproto.Action) []ofproto.PortNo {
	var out []ofproto.PortNo
	for _, a := range actions {
		if o, ok := a.(*ofproto.OutputAction); ok {
			out = append(out, o.Port)
		}
	}
	return out
}

func hasOutput(e *entry, port ofproto.PortNo) bool {
	if port == ofproto.PortNone {
		return true
	}
	for _, p := range e.outPorts {
		if p == port {
			return true
		}
	}
	return false
}

func (s *Switch) flowMod(m *ofproto.FlowMod, now time.Time) error {
	s.flowMods.Add(1)
	if s.bench != nil && m.Command == ofproto.FlowAdd {
		defer s.bench.response(s, m)
	}
	s.mu.Lock()
	var removed []*ofproto.FlowRemoved
	switch m.Command {
	case ofproto.FlowAdd:
		k := keyOf(&m.Match, m.Priority)
		if old, ok := s.entries[k]; ok {
			// Same match and priority: the new entry replaces it, counters reset.
			s.retire(old, now)
			*old = *s.newEntry(m, now)
			s.admit(old)
			break
		}
		if limit := s.net.cfg.MaxEntries; limit > 0 && len(s.entries) >= limit {
			s.mu.Unlock()
			s.refused.Add(1)
			data, _ := m.MarshalBinary()
			return s.send(&ofproto.ErrorMsg{Xid: m.Xid, ErrType: ofproto.ErrTypeFlowModFailed,
				Code: ofproto.FlowModAllTablesFull, Data: data[:min(len(data), 64)]})
		}
		e := s.newEntry(m, now)
		s.entries[k] = e
		s.admit(e)
		s.orderDirty = true
	case ofproto.FlowModify, ofproto.FlowModifyStrict:
		found := false
		for k, e := range s.entries {
			if s.selects(e, k, m, m.Command == ofproto.FlowModifyStrict) {
				e.setActions(m.Actions)
				found = true
			}
		}
		if !found {
			e := s.newEntry(m, now)
			s.entries[keyOf(&m.Match, m.Priority)] = e
			s.admit(e)
			s.orderDirty = true
		}
	case ofproto.FlowDelete, ofproto.FlowDeleteStrict:
		s.net.deletes.Add(1)
		s.net.lastDelete.Store(now.UnixNano())
		for k, e := range s.entries {
			if s.selects(e, k, m, m.Command == ofproto.FlowDeleteStrict) && hasOutput(e, m.OutPort) {
				delete(s.entries, k)
				s.retire(e, now)
				if e.flags&ofproto.FlagSendFlowRem != 0 {
					removed = append(removed, s.removedMsg(e, ofproto.RemovedDelete, now))
				}
			}
		}
	}
	s.mu.Unlock()
	for _, r := range removed {
		s.flowRemoved.Add(1)
		if err := s.send(r); err != nil {
			return err
		}
	}
	if m.BufferID != ofproto.BufferNone && m.Command != ofproto.FlowDelete && m.Command != ofproto.FlowDeleteStrict {
		// The buffered packet goes through the new entry (OpenFlow 1.0: as if sent
		// with a PACKET_OUT after the FLOW_MOD; a delete ignores buffer_id).
		return s.release(m.BufferID, m.Xid, m, m.Actions)
	}
	return nil
}

// admit counts a new entry (s.mu held).
func (s *Switch) admit(e *entry) {
	if e.expirable() {
		s.expiring++
	}
	if s.priorities == nil {
		s.priorities = map[uint16]int{}
	}
	s.priorities[e.priority]++
}

// retire folds the counters of an entry leaving the table into the port and table
// counters (s.mu held).
func (s *Switch) retire(e *entry, now time.Time) {
	if e.expirable() {
		s.expiring--
	}
	if s.priorities[e.priority]--; s.priorities[e.priority] <= 0 {
		delete(s.priorities, e.priority)
	}
	s.orderDirty = true
	n, b := e.counts(now)
	s.lookups += n
	s.matched += n
	s.countPorts(s.counters, e, n, b)
}

// countPorts adds an entry's n packets and b bytes to the port counters of its
// in_port (received) and output ports (sent).
func (s *Switch) countPorts(counters map[ofproto.PortNo]*portCounters, e *entry, n, b uint64) {
	if n == 0 {
		return
	}
	if e.match.Wildcards&ofproto.WildInPort == 0 {
		if c := counters[e.match.InPort]; c != nil {
			c.rxPackets += n
			c.rxBytes += b
		}
	}
	for _, p := range e.outPorts {
		if c := counters[p]; c != nil {
			c.txPackets += n
			c.txBytes += b
		}
	}
}

func (s *Switch) newEntry(m *ofproto.FlowMod, now time.Time) *entry {
	e := &entry{match: m.Match, cookie: m.Cookie, priority: m.Priority, idle: m.IdleTimeout, hard: m.HardTimeout,
		flags: m.Flags, created: now}
	e.setActions(m.Actions)
	if tm := s.net.cfg.Traffic; tm != nil {
		e.bytesPerSec, e.packetSize = tm(s.DPID, &e.match, e.cookie)
		if e.packetSize <= 0 {
			e.packetSize = 1500
		}
	}
	return e
}

// selects says whether a modify or delete request m applies to entry e: strictly,
// the same match and priority; otherwise every entry m's match covers.
func (s *Switch) selects(e *entry, k entryKey, m *ofproto.FlowMod, strict bool) bool {
	if strict {
		return k == keyOf(&m.Match, m.Priority)
	}
	return covers(&m.Match, &e.match)
}

func (s *Switch) removedMsg(e *entry, reason ofproto.FlowRemovedReason, now time.Time) *ofproto.FlowRemoved {
	d := now.Sub(e.created)
	p, b := e.counts(now)
	return &ofproto.FlowRemoved{Xid: s.nextXid(), Match: e.match, Cookie: e.cookie, Priority: e.priority, Reason: reason,
		DurationSec: uint32(d / time.Second), DurationNsec: uint32(d % time.Second), IdleTimeout: e.idle,
		PacketCount: p, ByteCount: b}
}

// packetOut relays an LLDP frame sent out of a link port to the switch at the other
// end as a PACKET_IN; every frame sent out of a port is counted on it.
func (s *Switch) packetOut(m *ofproto.PacketOut) {
	for _, p := range outputs(m.Actions) {
		ports := []ofproto.PortNo{p}
		if p == ofproto.PortFlood || p == ofproto.PortAll {
			ports = ports[:0]
			for _, pp := range s.ports {
				if pp.PortNo != m.InPort {
					ports = append(ports, pp.PortNo)
				}
			}
		}
		for _, out := range ports {
			s.mu.Lock()
			if c := s.counters[out]; c != nil {
				c.txPackets++
				c.txBytes += uint64(len(m.Data))
			}
			s.mu.Unlock()
			pe, ok := s.peers[out]
			if !ok || len(m.Data) < 14 || binary.BigEndian.Uint16(m.Data[12:14]) != 0x88cc || !pe.sw.ready.Load() {
				// Not LLDP over a link, or the far switch has not finished its handshake
				// (a PACKET_IN before it would be a protocol error).
				continue
			}
			pe.sw.mu.Lock()
			if pe.sw.probed == nil {
				pe.sw.probed = map[ofproto.PortNo]bool{}
			}
			pe.sw.probed[pe.port] = true
			if c := pe.sw.counters[pe.port]; c != nil {
				c.rxPackets++
				c.rxBytes += uint64(len(m.Data))
			}
			pe.sw.mu.Unlock()
			_ = pe.sw.send(&ofproto.PacketIn{BufferID: ofproto.BufferNone, TotalLen: uint16(len(m.Data)),
				InPort: pe.port, Reason: ofproto.ReasonAction, Data: append([]byte(nil), m.Data...)})
		}
	}
}

// ticker advances counters and expires entries every Tick.
func (s *Switch) ticker(ctx context.Context) {
	t := time.NewTicker(s.net.cfg.Tick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.advance(now, now.Sub(last))
			last = now
		}
	}
}

func (s *Switch) advance(now time.Time, _ time.Duration) {
	var removed []*ofproto.FlowRemoved
	s.mu.Lock()
	if s.expiring == 0 {
		s.mu.Unlock()
		return
	}
	for k, e := range s.entries {
		if !e.expirable() {
			continue
		}
		var reason ofproto.FlowRemovedReason
		switch {
		case e.hard > 0 && now.Sub(e.created) >= time.Duration(e.hard)*time.Second:
			reason = ofproto.RemovedHardTimeout
		case e.idle > 0 && now.Sub(e.lastUsed(now)) >= time.Duration(e.idle)*time.Second:
			reason = ofproto.RemovedIdleTimeout
		default:
			continue
		}
		delete(s.entries, k)
		s.retire(e, now)
		if e.flags&ofproto.FlagSendFlowRem != 0 {
			removed = append(removed, s.removedMsg(e, reason, now))
		}
	}
	s.mu.Unlock()
	for _, r := range removed {
		s.flowRemoved.Add(1)
		if s.send(r) != nil {
			return
		}
	}
}

// stats answers a statistics request, after the configured delay.
func (s *Switch) stats(ctx context.Context, m *ofproto.StatsRequest, now time.Time) error {
	var bodies []ofproto.StatsBody
	s.mu.Lock()
	switch b := m.Body.(type) {
	case *ofproto.DescStatsRequest:
		bodies = []ofproto.StatsBody{&ofproto.DescStats{MfrDesc: "cemon", HWDesc: "ofemu", SWDesc: "ofemu",
			SerialNum: "None", DPDesc: fmt.Sprintf("emulated switch %016x", s.DPID)}}
	case *ofproto.FlowStatsRequest:
		p, _ := replyBufs.Get().(*[]byte)
		if p == nil {
			p = new([]byte)
		}
		r, err := s.appendFlowStats((*p)[:0], m.Xid, b, now)
		s.mu.Unlock()
		*p = r
		if err != nil {
			replyBufs.Put(p)
			return err
		}
		delay := s.statsDelay()
		if delay <= 0 {
			return s.sendReply(p)
		}
		go func() {
			select {
			case <-ctx.Done():
				replyBufs.Put(p)
			case <-time.After(delay):
				_ = s.sendReply(p)
			}
		}()
		return nil
	case *ofproto.AggregateStatsRequest:
		var r ofproto.AggregateStatsReply
		for _, e := range s.sorted() {
			if covers(&b.Match, &e.match) && hasOutput(e, b.OutPort) {
				p, n := e.counts(now)
				r.PacketCount += p
				r.ByteCount += n
				r.FlowCount++
			}
		}
		bodies = []ofproto.StatsBody{&r}
	case *ofproto.TableStatsRequest:
		max := uint32(UnlimitedEntries)
		if s.net.cfg.MaxEntries > 0 {
			max = uint32(s.net.cfg.MaxEntries)
		}
		lookups, matched := s.lookups, s.matched
		for _, e := range s.entries {
			n, _ := e.counts(now)
			lookups += n
			matched += n
		}
		bodies = []ofproto.StatsBody{&ofproto.TableStatsReply{Entries: []ofproto.TableStats{{TableID: 0, Name: "classifier",
			Wildcards: ofproto.WildAll, MaxEntries: max, ActiveCount: uint32(len(s.entries)),
			LookupCount: lookups, MatchedCount: matched}}}}
	case *ofproto.PortStatsRequest:
		var r ofproto.PortStatsReply
		counters := make(map[ofproto.PortNo]*portCounters, len(s.counters))
		for p, c := range s.counters {
			cc := *c
			counters[p] = &cc
		}
		for _, e := range s.entries {
			n, by := e.counts(now)
			s.countPorts(counters, e, n, by)
		}
		for _, p := range s.ports {
			if b.PortNo != ofproto.PortNone && b.PortNo != p.PortNo {
				continue
			}
			c := counters[p.PortNo]
			r.Entries = append(r.Entries, ofproto.PortStats{PortNo: p.PortNo, RxPackets: c.rxPackets, TxPackets: c.txPackets,
				RxBytes: c.rxBytes, TxBytes: c.txBytes})
		}
		bodies = []ofproto.StatsBody{&r}
	default:
		s.mu.Unlock()
		return s.send(&ofproto.ErrorMsg{Xid: m.Xid, ErrType: ofproto.ErrTypeBadRequest, Code: ofproto.BadRequestBadStat}) // OFPBRC_BAD_STAT
	}
	s.mu.Unlock()
	msgs := make([]ofproto.Message, len(bodies))
	for i, b := range bodies {
		r := &ofproto.StatsReply{Xid: m.Xid, Body: b}
		if i+1 < len(bodies) {
			r.Flags = ofproto.StatsReplyMore
		}
		msgs[i] = r
	}
	delay := s.statsDelay()
	if delay <= 0 {
		return s.send(msgs...)
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-time.After(delay):
			_ = s.send(msgs...)
		}
	}()
	return nil
}

// statsDelay is how long the switch waits before it answers a statistics request.
func (s *Switch) statsDelay() time.Duration {
	if f := s.net.cfg.StatsDelay; f != nil {
		return f(s.DPID)
	}
	return 0
}

// sorted returns the entries in a stable order (priority, then match bytes), as a
// switch walks its classifier; the order is kept until an entry comes or goes.
func (s *Switch) sorted() []*entry {
	if !s.orderDirty && len(s.order) == len(s.entries) {
		return s.order
	}
	keys := make([]entryKey, 0, len(s.entries))
	for k := range s.entries {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].priority != keys[j].priority {
			return keys[i].priority > keys[j].priority
		}
		return string(keys[i].match[:]) < string(keys[j].match[:])
	})
	out := s.order[:0]
	if cap(out) < len(keys) || cap(out) > 2*len(keys)+64 {
		out = make([]*entry, 0, len(keys))
	}
	for _, k := range keys {
		out = append(out, s.entries[k])
	}
	s.order, s.orderDirty = out, false
	return out
}

// selected returns the entries a statistics request for match m may list, in reply
// order: for an exact match (one flow's entry, as a controller reads a single flow)
// the entries with that match at each priority in use, found without a walk. The
// result is the switch's own and valid until the next call (under s.mu).
func (s *Switch) selected(m *ofproto.Match) []*entry {
	if m.Wildcards&ofproto.WildAll != 0 || len(s.priorities) > 8 {
		return s.sorted()
	}
	out := s.sel[:0]
	for p := range s.priorities {
		if e, ok := s.entries[keyOf(m, p)]; ok {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *entry) int { return cmp.Compare(b.priority, a.priority) })
	s.sel = out
	return out
}

// appendFlowStats appends the reply to a flow statistics request to dst: one or
// more OFPT_STATS_REPLY messages, each within MaxReplyLen, the entries encoded
// straight into them.
func (s *Switch) appendFlowStats(dst []byte, xid uint32, req *ofproto.FlowStatsRequest, now time.Time) ([]byte, error) {
	limit, listed := s.net.cfg.MaxReplyLen, s.net.cfg.Listed
	start := len(dst) // of the message being written
	sel := s.selected(&req.Match)
	// Room for the whole reply at once (entries with one output action; a message
	// header every 680 of them), rather than growing it entry by entry: a poll-all
	// of a few thousand entries went through a dozen copies of what it had so far.
	dst = slices.Grow(dst, len(sel)*(ofproto.FlowStatsLen+8)+(len(sel)/680+1)*12)
	dst = appendStatsReplyHeader(dst, xid)
	entries := 0
	for _, e := range sel {
		if !covers(&req.Match, &e.match) || !hasOutput(e, req.OutPort) {
			continue
		}
		d := now.Sub(e.created)
		e.reads++
		if listed != nil {
			listed(e.cookie)
		}
		p, b := e.counts(now)
		fs := ofproto.FlowStats{TableID: 0, Match: e.match, DurationSec: uint32(d / time.Second), DurationNsec: uint32(d % time.Second),
			Priority: e.priority, IdleTimeout: e.idle, HardTimeout: e.hard, Cookie: e.cookie,
			PacketCount: p, ByteCount: b, Actions: e.actions}
		if len(dst)-start+ofproto.FlowStatsLen+int(e.actLen) > limit && entries > 0 {
			if err := finishStatsReply(dst[start:], ofproto.StatsReplyMore); err != nil {
				return dst, err
			}
			start = len(dst)
			dst = appendStatsReplyHeader(dst, xid)
			entries = 0
		}
		var err error
		if dst, err = e.appendEntry(dst, &fs); err != nil {
			return dst, err
		}
		entries++
	}
	return dst, finishStatsReply(dst[start:], 0)
}

// appendStatsReplyHeader appends the header of an OFPST_FLOW reply, its length
// left for finishStatsReply.
func appendStatsReplyHeader(b []byte, xid uint32) []byte {
	return append(b, ofproto.Version, byte(ofproto.TypeStatsReply), 0, 0,
		byte(xid>>24), byte(xid>>16), byte(xid>>8), byte(xid),
		byte(ofproto.StatsFlow>>8), byte(ofproto.StatsFlow), 0, 0)
}

// finishStatsReply writes the length and flags of msg, one whole OFPST_FLOW reply.
func finishStatsReply(msg []byte, flags uint16) error {
	if len(msg) > ofproto.MaxMessageLen {
		return fmt.Errorf("ofemu: flow statistics reply of %d bytes: %w", len(msg), ofproto.ErrTooLong)
	}
	binary.BigEndian.PutUint16(msg[2:], uint16(len(msg)))
	binary.BigEndian.PutUint16(msg[10:], flags)
	return nil
}
