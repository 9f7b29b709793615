package ofemu

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// entry is one flow table entry. It holds no pointers, and a switch keeps its
// entries by value in one array (Switch.rows) with a map of their places: a network
// of five million entries is then a thousand arrays and maps the garbage collector
// never scans, instead of five million records, their actions and their output
// ports to mark on every cycle, on the cores the controller under test uses. The
// match is kept encoded (it is the table's key); the actions are kept encoded when
// they fit (one or two outputs, as a reactive controller installs them), otherwise in
// Switch.long.
type entry struct {
	key         entryKey // the encoded match and the priority
	cookie      uint64
	serial      uint64 // names the entry's actions in Switch.long when they do not fit actEnc
	created     int64  // nanoseconds since Network.epoch, on the monotonic clock
	bytesPerSec float64
	packetSize  int32
	reads       uint32 // flow statistics replies that listed the entry
	idle, hard  uint16
	flags       ofproto.FlowModFlags
	actLen      uint16 // the actions' encoded length (setActions)
	// actEnc holds the actions encoded when they fit (actInline): a reply copies
	// them from the entry, whose memory it has in the cache already.
	actEnc    [16]byte
	actInline bool
	nOut      uint8             // output actions: at most len(outs), or manyOutputs
	outs      [2]ofproto.PortNo // their ports, when there are no more than two
}

// manyOutputs is entry.nOut for an entry with more output actions than entry.outs
// holds: its ports are read from its actions.
const manyOutputs = 0xff

type entryKey struct {
	match    [ofproto.MatchLen]byte
	priority uint16
}

func keyOf(m *ofproto.Match, prio uint16) entryKey {
	k := entryKey{priority: prio}
	_, _ = m.AppendBinary(k.match[:0]) // in place: the array has room
	return k
}

// match decodes the entry's match.
func (e *entry) match() ofproto.Match {
	var m ofproto.Match
	_ = m.UnmarshalBinary(e.key.match[:])
	return m
}

// wildcards and inPort read those fields of the encoded match.
func (e *entry) wildcards() ofproto.Wildcards {
	return ofproto.Wildcards(binary.BigEndian.Uint32(e.key.match[0:]))
}

func (e *entry) inPort() ofproto.PortNo {
	return ofproto.PortNo(binary.BigEndian.Uint16(e.key.match[4:]))
}

// setActions makes acts the entry's actions (s.mu held).
func (s *Switch) setActions(e *entry, acts []ofproto.Action) {
	delete(s.long, e.serial)
	e.actLen = uint16(min(ofproto.ActionsLen(acts), 0xffff))
	e.actInline = false
	if int(e.actLen) <= len(e.actEnc) {
		if b, err := ofproto.AppendActions(e.actEnc[:0], acts); err == nil && len(b) == int(e.actLen) {
			e.actInline = true
		}
	}
	if !e.actInline {
		if s.long == nil {
			s.long = map[uint64][]ofproto.Action{}
		}
		s.serials++
		e.serial = s.serials
		s.long[e.serial] = acts
	}
	e.nOut, e.outs = 0, [2]ofproto.PortNo{}
	for _, a := range acts {
		o, ok := a.(*ofproto.OutputAction)
		if !ok {
			continue
		}
		if int(e.nOut) >= len(e.outs) {
			e.nOut = manyOutputs
			break
		}
		e.outs[e.nOut] = o.Port
		e.nOut++
	}
}

// actions returns the entry's actions (s.mu held).
func (s *Switch) actions(e *entry) []ofproto.Action {
	if !e.actInline {
		return s.long[e.serial]
	}
	acts, _ := ofproto.DecodeActions(e.actEnc[:e.actLen])
	return acts
}

// outPorts returns the ports the entry's actions output to (s.mu held; the slice
// may share the entry's memory: it is valid until the table changes).
func (s *Switch) outPorts(e *entry) []ofproto.PortNo {
	if e.nOut != manyOutputs {
		return e.outs[:e.nOut]
	}
	return outputs(s.actions(e))
}

// hasOutput says whether the entry outputs to port (any port for PortNone).
func (s *Switch) hasOutput(e *entry, port ofproto.PortNo) bool {
	return port == ofproto.PortNone || slices.Contains(s.outPorts(e), port)
}

// age is how long the entry has been in the table at now.
func (s *Switch) age(e *entry, now time.Time) time.Duration {
	return now.Sub(s.net.epoch) - time.Duration(e.created)
}

// counts returns the entry's packet and byte counters at now. They follow from the
// traffic model (whole packets at the entry's rate since it was added), computed
// when read, so that a table of a million entries costs nothing between reads.
func (s *Switch) counts(e *entry, now time.Time) (packets, bytes uint64) {
	if e.bytesPerSec <= 0 || e.packetSize <= 0 {
		return 0, 0
	}
	d := s.age(e, now).Seconds()
	if d <= 0 {
		return 0, 0
	}
	n := uint64(e.bytesPerSec*d) / uint64(e.packetSize)
	return n, n * uint64(e.packetSize)
}

// idleFor is how long the entry has counted no packet at now (since its creation
// when it has counted none yet).
func (s *Switch) idleFor(e *entry, now time.Time) time.Duration {
	age := s.age(e, now)
	n, _ := s.counts(e, now)
	if n == 0 {
		return age
	}
	return age - time.Duration(float64(n*uint64(e.packetSize))/e.bytesPerSec*float64(time.Second))
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

// newEntry makes the entry m adds at now (s.mu held; the caller places it).
func (s *Switch) newEntry(m *ofproto.FlowMod, now time.Time) entry {
	e := entry{key: keyOf(&m.Match, m.Priority), cookie: m.Cookie, idle: m.IdleTimeout, hard: m.HardTimeout,
		flags: m.Flags, created: int64(now.Sub(s.net.epoch))}
	s.setActions(&e, m.Actions)
	if tm := s.net.cfg.Traffic; tm != nil {
		bps, size := tm(s.DPID, &m.Match, e.cookie)
		if size <= 0 {
			size = 1500
		}
		e.bytesPerSec, e.packetSize = bps, int32(min(size, 1<<30))
	}
	return e
}

// insert adds e to the table (s.mu held); its key is not there.
func (s *Switch) insert(e entry) {
	s.index[e.key] = int32(len(s.rows))
	s.rows = append(s.rows, e)
	s.admit(&s.rows[len(s.rows)-1])
	s.orderDirty = true
}

// remove takes the entry at place i out of the table (s.mu held; the caller has
// retired it): the last entry takes its place, so a walk of the table that removes
// as it goes runs from the end.
func (s *Switch) remove(i int) {
	e := &s.rows[i]
	delete(s.index, e.key)
	delete(s.long, e.serial)
	last := len(s.rows) - 1
	if i != last {
		s.rows[i] = s.rows[last]
		s.index[s.rows[i].key] = int32(i)
	}
	s.rows[last] = entry{}
	s.rows = s.rows[:last]
	if c := cap(s.rows); c > 1024 && c > 4*len(s.rows) {
		s.rows = slices.Clip(slices.Clone(s.rows))
	}
	s.orderDirty = true
}

// appendEntry appends the entry's ofp_flow_stats at now to dst, its match and actions
// copied from their encoding.
func (s *Switch) appendEntry(dst []byte, e *entry, now time.Time) ([]byte, error) {
	var acts []ofproto.Action
	n := ofproto.FlowStatsLen + int(e.actLen)
	if !e.actInline {
		acts = s.long[e.serial]
		n = ofproto.FlowStatsLen + ofproto.ActionsLen(acts)
	}
	if n > 0xffff {
		return dst, ofproto.ErrTooLong
	}
	d := s.age(e, now)
	p, b := s.counts(e, now)
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+ofproto.FlowStatsLen]
	h := dst[start:]
	binary.BigEndian.PutUint16(h[0:], uint16(n))
	h[2], h[3] = 0, 0 // table 0, pad
	copy(h[4:44], e.key.match[:])
	binary.BigEndian.PutUint32(h[44:], uint32(d/time.Second))
	binary.BigEndian.PutUint32(h[48:], uint32(d%time.Second))
	binary.BigEndian.PutUint16(h[52:], e.key.priority)
	binary.BigEndian.PutUint16(h[54:], e.idle)
	binary.BigEndian.PutUint16(h[56:], e.hard)
	clear(h[58:64])
	binary.BigEndian.PutUint64(h[64:], e.cookie)
	binary.BigEndian.PutUint64(h[72:], p)
	binary.BigEndian.PutUint64(h[80:], b)
	if e.actInline {
		return append(dst, e.actEnc[:e.actLen]...), nil
	}
	out, err := ofproto.AppendActions(dst, acts)
	if err != nil {
		return dst[:start], err
	}
	return out, nil
}

// sorted returns the places of the entries in a stable order (priority, then match
// bytes), as a switch walks its classifier; the order is kept until an entry comes
// or goes.
func (s *Switch) sorted() []int32 {
	if !s.orderDirty && len(s.order) == len(s.rows) {
		return s.order
	}
	out := s.order[:0]
	if cap(out) < len(s.rows) || cap(out) > 2*len(s.rows)+64 {
		out = make([]int32, 0, len(s.rows))
	}
	for i := range s.rows {
		out = append(out, int32(i))
	}
	rows := s.rows
	slices.SortFunc(out, func(a, b int32) int {
		ka, kb := &rows[a].key, &rows[b].key
		if c := cmp.Compare(kb.priority, ka.priority); c != 0 {
			return c
		}
		return bytes.Compare(ka.match[:], kb.match[:])
	})
	s.order, s.orderDirty = out, false
	return out
}

// selected returns the places of the entries a statistics request for match m may
// list, in reply order: for an exact match (one flow's entry, as a controller reads
// a single flow) the entries with that match at each priority in use, found without
// a walk. The result is the switch's own and valid until the next call (under s.mu).
func (s *Switch) selected(m *ofproto.Match) []int32 {
	if m.Wildcards&ofproto.WildAll != 0 || len(s.priorities) > 8 {
		return s.sorted()
	}
	out := s.sel[:0]
	k := keyOf(m, 0)
	for p := range s.priorities {
		k.priority = p
		if i, ok := s.index[k]; ok {
			out = append(out, i)
		}
	}
	slices.SortFunc(out, func(a, b int32) int { return cmp.Compare(s.rows[b].key.priority, s.rows[a].key.priority) })
	s.sel = out
	return out
}

// covers says whether request match m (whose key is mk) selects the entry
// (non-strict): at once when m is the entry's own match, otherwise field by field.
func (s *Switch) covers(m *ofproto.Match, mk *entryKey, e *entry) bool {
	if mk.match == e.key.match {
		return true
	}
	if m.Wildcards&ofproto.WildAll == ofproto.WildAll {
		return true
	}
	em := e.match()
	return covers(m, &em)
}
