package ofproto

// FlowStatsLen is the size of ofp_flow_stats without actions.
const FlowStatsLen = 88

// FlowStats is ofp_flow_stats, one entry of an OFPST_FLOW reply.
type FlowStats struct {
	TableID      uint8
	Match        Match
	DurationSec  uint32
	DurationNsec uint32
	Priority     uint16
	IdleTimeout  uint16
	HardTimeout  uint16
	Cookie       uint64
	PacketCount  uint64
	ByteCount    uint64
	Actions      []Action

	arena *actionArena // reused by DecodeFromBytes; nil until first needed
}

// Len is the encoded length of the entry.
func (e *FlowStats) Len() int { return FlowStatsLen + ActionsLen(e.Actions) }

// AppendBinary appends the encoding of e (ofp_flow_stats and its actions) to b and
// returns the extended buffer; with b of enough capacity it does not allocate. On
// error b is returned unchanged. It lets a switch write the entries of a reply
// straight into the reply's buffer.
func (e *FlowStats) AppendBinary(b []byte) ([]byte, error) {
	n := e.Len()
	start := len(b)
	b = grow(b, n)
	if err := e.marshalInto(b[start : start+n]); err != nil {
		return b[:start], err
	}
	return b, nil
}

func (e *FlowStats) marshalInto(b []byte) error {
	n := len(b)
	if n > 0xffff {
		return encErr(TypeStatsReply, ErrTooLong, "flow stats entry of %d bytes", n)
	}
	be.PutUint16(b[0:], uint16(n))
	b[2], b[3] = e.TableID, 0
	if err := e.Match.marshalInto(b[4:44]); err != nil {
		return encErr(TypeStatsReply, err, "flow stats match")
	}
	be.PutUint32(b[44:], e.DurationSec)
	be.PutUint32(b[48:], e.DurationNsec)
	be.PutUint16(b[52:], e.Priority)
	be.PutUint16(b[54:], e.IdleTimeout)
	be.PutUint16(b[56:], e.HardTimeout)
	clear(b[58:64])
	be.PutUint64(b[64:], e.Cookie)
	be.PutUint64(b[72:], e.PacketCount)
	be.PutUint64(b[80:], e.ByteCount)
	return putActions(b[88:], e.Actions, TypeStatsReply)
}

// decode reads one entry from b, which holds exactly the entry; base is its
// offset in the message, for errors. With copyOut the actions are fresh
// values; otherwise e's action arena is reused and vendor data aliases b.
func (e *FlowStats) decode(b []byte, base int, copyOut bool) error {
	_ = b[FlowStatsLen-1]
	e.TableID = b[2]
	e.Match.unmarshal(b[4:44])
	e.DurationSec = be.Uint32(b[44:])
	e.DurationNsec = be.Uint32(b[48:])
	e.Priority = be.Uint16(b[52:])
	e.IdleTimeout = be.Uint16(b[54:])
	e.HardTimeout = be.Uint16(b[56:])
	e.Cookie = be.Uint64(b[64:])
	e.PacketCount = be.Uint64(b[72:])
	e.ByteCount = be.Uint64(b[80:])
	if len(b) == FlowStatsLen {
		e.Actions = e.Actions[:0]
		return nil
	}
	var arena *actionArena
	if !copyOut {
		if e.arena == nil {
			e.arena = new(actionArena)
		}
		arena = e.arena
		arena.reset()
	}
	acts, err := decodeActions(e.Actions[:0], b[FlowStatsLen:], base+FlowStatsLen, TypeStatsReply, arena)
	e.Actions = acts
	return err
}

// DecodeFromBytes decodes one flow stats entry (exactly one: its length field
// must equal len(data)) into e. It reuses e's action list and action values,
// so once e has seen entries of similar shape it does not allocate; the
// Actions (and any vendor action's Data) stay valid until the next
// DecodeFromBytes on e, and vendor data aliases data. After an error e's
// fields are undefined.
func (e *FlowStats) DecodeFromBytes(data []byte) error {
	if len(data) < FlowStatsLen {
		return short(TypeStatsReply, 0, FlowStatsLen, len(data))
	}
	if n := int(be.Uint16(data)); n != len(data) {
		return errAt(TypeStatsReply, 0, ErrBadLength, "flow stats length %d, have %d bytes", n, len(data))
	}
	return e.decode(data, 0, false)
}

// FlowStatsReply is the OFPST_FLOW reply body.
type FlowStatsReply struct{ Entries []FlowStats }

// StatsType implements StatsBody.
func (*FlowStatsReply) StatsType() StatsType { return StatsFlow }

// Len implements StatsBody.
func (r *FlowStatsReply) Len() int {
	n := 0
	for i := range r.Entries {
		n += r.Entries[i].Len()
	}
	return n
}

func (r *FlowStatsReply) marshalBody(b []byte) error {
	off := 0
	for i := range r.Entries {
		n := r.Entries[i].Len()
		if err := r.Entries[i].marshalInto(b[off : off+n]); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// FlowStatsIter walks the entries of an OFPST_FLOW reply without allocating:
// it decodes each entry into one FlowStats value that it reuses. Typical use:
//
//	var it ofproto.FlowStatsIter // keep it, Reset it per message
//	if err := it.Reset(msg); err != nil { ... }
//	for it.Next() {
//		e := it.Entry() // valid until the next call to Next or Reset
//	}
//	if err := it.Err(); err != nil { ... }
//
// Entry's Actions and vendor action data alias msg or the iterator's own
// storage; copy what must outlive the next Next.
type FlowStatsIter struct {
	msg     []byte
	off     int
	xid     uint32
	flags   uint16
	entry   FlowStats
	err     error
	copyOut bool
}

// Reset starts iterating over msg, one whole OFPT_STATS_REPLY message of type
// OFPST_FLOW.
func (it *FlowStatsIter) Reset(msg []byte) error {
	it.msg, it.off, it.err, it.copyOut = nil, 0, nil, false
	x, err := checkMsg(msg, TypeStatsReply, statsHeaderLen)
	if err != nil {
		it.err = err
		return err
	}
	if st := StatsType(be.Uint16(msg[8:])); st != StatsFlow {
		it.err = errAt(TypeStatsReply, 8, ErrBadStatsType, "%v, want OFPST_FLOW", st)
		return it.err
	}
	it.msg, it.off, it.xid, it.flags = msg, statsHeaderLen, x, be.Uint16(msg[10:])
	return nil
}

// XID is the reply's transaction id.
func (it *FlowStatsIter) XID() uint32 { return it.xid }

// Flags is the reply's flags field.
func (it *FlowStatsIter) Flags() uint16 { return it.flags }

// More reports whether more replies follow (OFPSF_REPLY_MORE).
func (it *FlowStatsIter) More() bool { return it.flags&StatsReplyMore != 0 }

// Next decodes the next entry; it returns false at the end or on an error
// (see Err).
func (it *FlowStatsIter) Next() bool {
	if it.err != nil || it.off >= len(it.msg) {
		return false
	}
	rest := len(it.msg) - it.off
	if rest < FlowStatsLen {
		it.err = short(TypeStatsReply, it.off, FlowStatsLen, rest)
		return false
	}
	n := int(be.Uint16(it.msg[it.off:]))
	if n < FlowStatsLen || n > rest {
		it.err = errAt(TypeStatsReply, it.off, ErrBadLength, "flow stats length %d, %d bytes left", n, rest)
		return false
	}
	if err := it.entry.decode(it.msg[it.off:it.off+n], it.off, it.copyOut); err != nil {
		it.err = err
		return false
	}
	it.off += n
	return true
}

// Entry is the entry the last Next decoded.
func (it *FlowStatsIter) Entry() *FlowStats { return &it.entry }

// Err is the error that stopped the iteration, if any.
func (it *FlowStatsIter) Err() error { return it.err }

// ForEachFlowStats calls fn for each entry of the OFPST_FLOW reply msg,
// reusing one FlowStats value (valid only during the call), and stops at the
// first error fn returns.
func ForEachFlowStats(msg []byte, fn func(*FlowStats) error) error {
	var it FlowStatsIter
	if err := it.Reset(msg); err != nil {
		return err
	}
	for it.Next() {
		if err := fn(&it.entry); err != nil {
			return err
		}
	}
	return it.err
}
