package ofemu

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
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
	index    map[entryKey]int32 // the entries' places in rows
	rows     []entry
	long     map[uint64][]ofproto.Action // actions that do not fit an entry, by entry.serial
	serials  uint64
	counters map[ofproto.PortNo]*portCounters // frames sent out by PACKET_OUT and removed entries' counts
	lookups  uint64                           // packets of removed entries (live ones are added when read)
	matched  uint64
	xid      uint32
	// expiring counts the entries that can time out: the ticker walks the table
	// only when there are some.
	expiring int
	// order is the table in the order statistics replies list it, rebuilt after an
	// entry is added or removed.
	order      []int32
	orderDirty bool
	sel        []int32                 // selected's result for an exact match, reused
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
	n := len(s.rows)
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
	out := make([]Entry, 0, len(s.rows))
	now := time.Now()
	for i := range s.rows {
		e := &s.rows[i]
		p, b := s.counts(e, now)
		out = append(out, Entry{Match: e.match(), Cookie: e.cookie, Priority: e.key.priority, IdleTimeout: e.idle,
			PacketCount: p, ByteCount: b, Actions: s.actions(e)})
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
// sent, for the next replies, in two sizes: a poll-all of a switch's table takes
// hundreds of kilobytes and a single flow's reply a hundred bytes, and a switch
// answering a poll-all with a small buffer from a common pool has to make and clear
// a large one, which a round of mostly single-flow requests makes the usual case.
// They hold *[]byte so that Put does not allocate.
var replyBufs [2]sync.Pool

// largeReply is the capacity from which a reply buffer goes back to the pool of
// large ones.
const largeReply = 16 << 10

// getReplyBuf returns a reply buffer from the pool of large ones when the reply is
// expected to list a whole table (every field wildcarded), else from the small ones.
func getReplyBuf(req *ofproto.FlowStatsRequest) *[]byte {
	class := 0
	if req.Match.Wildcards&ofproto.WildAll == ofproto.WildAll {
		class = 1
	}
	if p, _ := replyBufs[class].Get().(*[]byte); p != nil {
		return p
	}
	return new([]byte)
}

// putReplyBuf gives a reply buffer back to the pool of its size.
func putReplyBuf(p *[]byte) {
	*p = (*p)[:0]
	if cap(*p) >= largeReply {
		replyBufs[1].Put(p)
	} else {
		replyBufs[0].Put(p)
	}
}

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
				*m.pooled = m.b
				putReplyBuf(m.pooled)
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
		if i, ok := s.index[k]; ok {
			// Same match and priority: the new entry replaces it, counters reset.
			old := &s.rows[i]
			s.retire(old, now)
			delete(s.long, old.serial)
			*old = s.newEntry(m, now)
			s.admit(old)
			break
		}
		if limit := s.net.cfg.MaxEntries; limit > 0 && len(s.rows) >= limit {
			s.mu.Unlock()
			s.refused.Add(1)
			data, _ := m.MarshalBinary()
			return s.send(&ofproto.ErrorMsg{Xid: m.Xid, ErrType: ofproto.ErrTypeFlowModFailed,
				Code: ofproto.FlowModAllTablesFull, Data: data[:min(len(data), 64)]})
		}
		s.insert(s.newEntry(m, now))
	case ofproto.FlowModify, ofproto.FlowModifyStrict:
		found := false
		mk := keyOf(&m.Match, m.Priority)
		for i := range s.rows {
			if e := &s.rows[i]; s.selects(e, &mk, m, m.Command == ofproto.FlowModifyStrict) {
				s.setActions(e, m.Actions)
				found = true
			}
		}
		if !found {
			s.insert(s.newEntry(m, now))
		}
	case ofproto.FlowDelete, ofproto.FlowDeleteStrict:
		s.net.deletes.Add(1)
		s.net.lastDelete.Store(now.UnixNano())
		mk := keyOf(&m.Match, m.Priority)
		// From the end: a removed entry's place takes the last one, already seen.
		for i := len(s.rows) - 1; i >= 0; i-- {
			e := &s.rows[i]
			if s.selects(e, &mk, m, m.Command == ofproto.FlowDeleteStrict) && s.hasOutput(e, m.OutPort) {
				s.retire(e, now)
				if e.flags&ofproto.FlagSendFlowRem != 0 {
					removed = append(removed, s.removedMsg(e, ofproto.RemovedDelete, now))
				}
				s.remove(i)
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
	s.priorities[e.key.priority]++
}

// retire folds the counters of an entry leaving the table into the port and table
// counters (s.mu held).
func (s *Switch) retire(e *entry, now time.Time) {
	if e.expirable() {
		s.expiring--
	}
	if s.priorities[e.key.priority]--; s.priorities[e.key.priority] <= 0 {
		delete(s.priorities, e.key.priority)
	}
	s.orderDirty = true
	n, b := s.counts(e, now)
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
	if e.wildcards()&ofproto.WildInPort == 0 {
		if c := counters[e.inPort()]; c != nil {
			c.rxPackets += n
			c.rxBytes += b
		}
	}
	for _, p := range s.outPorts(e) {
		if c := counters[p]; c != nil {
			c.txPackets += n
			c.txBytes += b
		}
	}
}

// selects says whether a modify or delete request m (whose key is mk) applies to
// entry e: strictly, the same match and priority; otherwise every entry m's match
// covers.
func (s *Switch) selects(e *entry, mk *entryKey, m *ofproto.FlowMod, strict bool) bool {
	if strict {
		return e.key == *mk
	}
	return s.covers(&m.Match, mk, e)
}

func (s *Switch) removedMsg(e *entry, reason ofproto.FlowRemovedReason, now time.Time) *ofproto.FlowRemoved {
	d := s.age(e, now)
	p, b := s.counts(e, now)
	return &ofproto.FlowRemoved{Xid: s.nextXid(), Match: e.match(), Cookie: e.cookie, Priority: e.key.priority, Reason: reason,
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
	// From the end: a removed entry's place takes the last one, already seen.
	for i := len(s.rows) - 1; i >= 0; i-- {
		e := &s.rows[i]
		if !e.expirable() {
			continue
		}
		var reason ofproto.FlowRemovedReason
		switch {
		case e.hard > 0 && s.age(e, now) >= time.Duration(e.hard)*time.Second:
			reason = ofproto.RemovedHardTimeout
		case e.idle > 0 && s.idleFor(e, now) >= time.Duration(e.idle)*time.Second:
			reason = ofproto.RemovedIdleTimeout
		default:
			continue
		}
		s.retire(e, now)
		if e.flags&ofproto.FlagSendFlowRem != 0 {
			removed = append(removed, s.removedMsg(e, reason, now))
		}
		s.remove(i)
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
		p := getReplyBuf(b)
		r, err := s.appendFlowStats((*p)[:0], m.Xid, b, now)
		s.mu.Unlock()
		*p = r
		if err != nil {
			putReplyBuf(p)
			return err
		}
		delay := s.statsDelay()
		if delay <= 0 {
			return s.sendReply(p)
		}
		go func() {
			select {
			case <-ctx.Done():
				putReplyBuf(p)
			case <-time.After(delay):
				_ = s.sendReply(p)
			}
		}()
		return nil
	case *ofproto.AggregateStatsRequest:
		var r ofproto.AggregateStatsReply
		mk := keyOf(&b.Match, 0)
		for _, i := range s.sorted() {
			if e := &s.rows[i]; s.covers(&b.Match, &mk, e) && s.hasOutput(e, b.OutPort) {
				p, n := s.counts(e, now)
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
		for i := range s.rows {
			n, _ := s.counts(&s.rows[i], now)
			lookups += n
			matched += n
		}
		bodies = []ofproto.StatsBody{&ofproto.TableStatsReply{Entries: []ofproto.TableStats{{TableID: 0, Name: "classifier",
			Wildcards: ofproto.WildAll, MaxEntries: max, ActiveCount: uint32(len(s.rows)),
			LookupCount: lookups, MatchedCount: matched}}}}
	case *ofproto.PortStatsRequest:
		var r ofproto.PortStatsReply
		counters := make(map[ofproto.PortNo]*portCounters, len(s.counters))
		for p, c := range s.counters {
			cc := *c
			counters[p] = &cc
		}
		for i := range s.rows {
			e := &s.rows[i]
			n, by := s.counts(e, now)
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
	mk := keyOf(&req.Match, 0)
	for _, i := range sel {
		e := &s.rows[i]
		if !s.covers(&req.Match, &mk, e) || !s.hasOutput(e, req.OutPort) {
			continue
		}
		e.reads++
		if listed != nil {
			listed(e.cookie)
		}
		if len(dst)-start+ofproto.FlowStatsLen+int(e.actLen) > limit && entries > 0 {
			if err := finishStatsReply(dst[start:], ofproto.StatsReplyMore); err != nil {
				return dst, err
			}
			start = len(dst)
			dst = appendStatsReplyHeader(dst, xid)
			entries = 0
		}
		var err error
		if dst, err = s.appendEntry(dst, e, now); err != nil {
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
