package ofproto

// StatsBody is the body of a statistics request or reply. Requests use
// *DescStatsRequest, *FlowStatsRequest, *AggregateStatsRequest,
// *TableStatsRequest, *PortStatsRequest, *QueueStatsRequest and
// *VendorStats; replies use *DescStats, *FlowStatsReply,
// *AggregateStatsReply, *TableStatsReply, *PortStatsReply, *QueueStatsReply
// and *VendorStats.
type StatsBody interface {
	// StatsType is the ofp_stats_types value the body goes with.
	StatsType() StatsType
	// Len is the encoded length of the body.
	Len() int
	// marshalBody writes the body into b (exactly Len() bytes).
	marshalBody(b []byte) error
}

const statsHeaderLen = 12

// StatsRequest is OFPT_STATS_REQUEST.
type StatsRequest struct {
	Xid   uint32
	Flags uint16 // none defined in OpenFlow 1.0
	Body  StatsBody
}

// StatsReply is OFPT_STATS_REPLY. A reply that does not fit in one message is
// split into several with the same xid; all but the last have
// StatsReplyMore in Flags.
type StatsReply struct {
	Xid   uint32
	Flags uint16
	Body  StatsBody
}

// More reports whether more replies follow for this xid (OFPSF_REPLY_MORE).
func (m *StatsReply) More() bool { return m.Flags&StatsReplyMore != 0 }

func bodyLen(b StatsBody) int {
	if b == nil {
		return 0
	}
	return b.Len()
}

func marshalStats(b []byte, t Type, xid uint32, flags uint16, body StatsBody) error {
	if body == nil {
		return encErr(t, ErrBadField, "no body")
	}
	putHeader(b, t, xid)
	be.PutUint16(b[8:], uint16(body.StatsType()))
	be.PutUint16(b[10:], flags)
	return body.marshalBody(b[statsHeaderLen:])
}

// Type implements Message.
func (m *StatsRequest) Type() Type { return TypeStatsRequest }

// XID implements Message.
func (m *StatsRequest) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *StatsRequest) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *StatsRequest) Len() int { return statsHeaderLen + bodyLen(m.Body) }

// MarshalBinary encodes the message.
func (m *StatsRequest) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *StatsRequest) marshalInto(b []byte) error {
	return marshalStats(b, TypeStatsRequest, m.Xid, m.Flags, m.Body)
}

// UnmarshalBinary decodes one whole message.
func (m *StatsRequest) UnmarshalBinary(b []byte) error {
	const t = TypeStatsRequest
	x, err := checkMsg(b, t, statsHeaderLen)
	if err != nil {
		return err
	}
	st := StatsType(be.Uint16(b[8:]))
	body := b[statsHeaderLen:]
	var out StatsBody
	switch st {
	case StatsDesc, StatsTable:
		if len(body) != 0 {
			return errAt(t, statsHeaderLen, ErrBadLength, "%v request body of %d bytes, want 0", st, len(body))
		}
		if st == StatsDesc {
			out = &DescStatsRequest{}
		} else {
			out = &TableStatsRequest{}
		}
	case StatsFlow, StatsAggregate:
		if len(body) != flowStatsRequestLen {
			return errAt(t, statsHeaderLen, ErrBadLength, "%v request body of %d bytes, want 44", st, len(body))
		}
		var r FlowStatsRequest
		r.Match.unmarshal(body[0:40])
		r.TableID = body[40]
		r.OutPort = PortNo(be.Uint16(body[42:]))
		if st == StatsFlow {
			out = &r
		} else {
			a := AggregateStatsRequest(r)
			out = &a
		}
	case StatsPort:
		if len(body) != 8 {
			return errAt(t, statsHeaderLen, ErrBadLength, "%v request body of %d bytes, want 8", st, len(body))
		}
		out = &PortStatsRequest{PortNo: PortNo(be.Uint16(body))}
	case StatsQueue:
		if len(body) != 8 {
			return errAt(t, statsHeaderLen, ErrBadLength, "%v request body of %d bytes, want 8", st, len(body))
		}
		out = &QueueStatsRequest{PortNo: PortNo(be.Uint16(body)), QueueID: be.Uint32(body[4:])}
	case StatsVendor:
		v, err := decodeVendorStats(body, t)
		if err != nil {
			return err
		}
		out = v
	default:
		return errAt(t, 8, ErrBadStatsType, "type %d", uint16(st))
	}
	m.Xid = x
	m.Flags = be.Uint16(b[10:])
	m.Body = out
	return nil
}

// Type implements Message.
func (m *StatsReply) Type() Type { return TypeStatsReply }

// XID implements Message.
func (m *StatsReply) XID() uint32 { return m.Xid }

// SetXID implements Message.
func (m *StatsReply) SetXID(x uint32) { m.Xid = x }

// Len implements Message.
func (m *StatsReply) Len() int { return statsHeaderLen + bodyLen(m.Body) }

// MarshalBinary encodes the message.
func (m *StatsReply) MarshalBinary() ([]byte, error) { return marshal(m) }

func (m *StatsReply) marshalInto(b []byte) error {
	return marshalStats(b, TypeStatsReply, m.Xid, m.Flags, m.Body)
}

// UnmarshalBinary decodes one whole message, copying what it keeps. For flow
// statistics without allocation use FlowStatsIter.
func (m *StatsReply) UnmarshalBinary(b []byte) error {
	const t = TypeStatsReply
	x, err := checkMsg(b, t, statsHeaderLen)
	if err != nil {
		return err
	}
	st := StatsType(be.Uint16(b[8:]))
	body := b[statsHeaderLen:]
	var out StatsBody
	switch st {
	case StatsDesc:
		if len(body) != descStatsLen {
			return errAt(t, statsHeaderLen, ErrBadLength, "OFPST_DESC body of %d bytes, want 1056", len(body))
		}
		out = &DescStats{
			MfrDesc:   getString(body[0:256]),
			HWDesc:    getString(body[256:512]),
			SWDesc:    getString(body[512:768]),
			SerialNum: getString(body[768:800]),
			DPDesc:    getString(body[800:1056]),
		}
	case StatsFlow:
		var r FlowStatsReply
		var it FlowStatsIter
		it.msg, it.off, it.copyOut = b, statsHeaderLen, true
		for it.Next() {
			r.Entries = append(r.Entries, it.entry)
			it.entry = FlowStats{}
		}
		if it.err != nil {
			return it.err
		}
		out = &r
	case StatsAggregate:
		if len(body) != aggregateReplyLen {
			return errAt(t, statsHeaderLen, ErrBadLength, "OFPST_AGGREGATE body of %d bytes, want 24", len(body))
		}
		out = &AggregateStatsReply{
			PacketCount: be.Uint64(body[0:]),
			ByteCount:   be.Uint64(body[8:]),
			FlowCount:   be.Uint32(body[16:]),
		}
	case StatsTable:
		if len(body)%tableStatsLen != 0 {
			return errAt(t, statsHeaderLen, ErrBadLength, "OFPST_TABLE body of %d bytes is not a multiple of 64", len(body))
		}
		var r TableStatsReply
		if n := len(body) / tableStatsLen; n > 0 {
			r.Entries = make([]TableStats, 0, n) // exactly sized: one allocation
		}
		for off := 0; off < len(body); off += tableStatsLen {
			e := body[off : off+tableStatsLen]
			r.Entries = append(r.Entries, TableStats{
				TableID:      e[0],
				Name:         getString(e[4:36]),
				Wildcards:    Wildcards(be.Uint32(e[36:])),
				MaxEntries:   be.Uint32(e[40:]),
				ActiveCount:  be.Uint32(e[44:]),
				LookupCount:  be.Uint64(e[48:]),
				MatchedCount: be.Uint64(e[56:]),
			})
		}
		out = &r
	case StatsPort:
		if len(body)%portStatsLen != 0 {
			return errAt(t, statsHeaderLen, ErrBadLength, "OFPST_PORT body of %d bytes is not a multiple of 104", len(body))
		}
		var r PortStatsReply
		if n := len(body) / portStatsLen; n > 0 {
			r.Entries = make([]PortStats, 0, n) // exactly sized: one allocation
		}
		for off := 0; off < len(body); off += portStatsLen {
			var p PortStats
			p.unmarshal(body[off : off+portStatsLen])
			r.Entries = append(r.Entries, p)
		}
		out = &r
	case StatsQueue:
		if len(body)%queueStatsLen != 0 {
			return errAt(t, statsHeaderLen, ErrBadLength, "OFPST_QUEUE body of %d bytes is not a multiple of 32", len(body))
		}
		var r QueueStatsReply
		if n := len(body) / queueStatsLen; n > 0 {
			r.Entries = make([]QueueStats, 0, n) // exactly sized: one allocation
		}
		for off := 0; off < len(body); off += queueStatsLen {
			e := body[off : off+queueStatsLen]
			r.Entries = append(r.Entries, QueueStats{
				PortNo:    PortNo(be.Uint16(e[0:])),
				QueueID:   be.Uint32(e[4:]),
				TxBytes:   be.Uint64(e[8:]),
				TxPackets: be.Uint64(e[16:]),
				TxErrors:  be.Uint64(e[24:]),
			})
		}
		out = &r
	case StatsVendor:
		v, err := decodeVendorStats(body, t)
		if err != nil {
			return err
		}
		out = v
	default:
		return errAt(t, 8, ErrBadStatsType, "type %d", uint16(st))
	}
	m.Xid = x
	m.Flags = be.Uint16(b[10:])
	m.Body = out
	return nil
}

// DescStatsRequest is the (empty) body of an OFPST_DESC request.
type DescStatsRequest struct{}

// TableStatsRequest is the (empty) body of an OFPST_TABLE request.
type TableStatsRequest struct{}

const flowStatsRequestLen = 44

// FlowStatsRequest is ofp_flow_stats_request, the body of an OFPST_FLOW
// request: entries that match Match (non-strictly), in TableID (0xff: all)
// and, unless OutPort is PortNone, that output to OutPort.
type FlowStatsRequest struct {
	Match   Match
	TableID uint8
	OutPort PortNo
}

// AggregateStatsRequest is the body of an OFPST_AGGREGATE request; same
// layout as FlowStatsRequest.
type AggregateStatsRequest FlowStatsRequest

// PortStatsRequest is the body of an OFPST_PORT request (PortNone: all ports).
type PortStatsRequest struct{ PortNo PortNo }

// QueueAll is OFPQ_ALL: every queue of a port.
const QueueAll uint32 = 0xffffffff

// QueueStatsRequest is the body of an OFPST_QUEUE request (PortAll: all
// ports; QueueAll: all queues).
type QueueStatsRequest struct {
	PortNo  PortNo
	QueueID uint32
}

// VendorStats is the body of an OFPST_VENDOR request or reply: a vendor id and
// the vendor's bytes.
type VendorStats struct {
	Vendor uint32
	Data   []byte
}

func decodeVendorStats(body []byte, t Type) (*VendorStats, error) {
	if len(body) < 4 {
		return nil, short(t, statsHeaderLen, 4, len(body))
	}
	return &VendorStats{Vendor: be.Uint32(body), Data: cloneBytes(body[4:])}, nil
}

func (*DescStatsRequest) StatsType() StatsType      { return StatsDesc }
func (*TableStatsRequest) StatsType() StatsType     { return StatsTable }
func (*FlowStatsRequest) StatsType() StatsType      { return StatsFlow }
func (*AggregateStatsRequest) StatsType() StatsType { return StatsAggregate }
func (*PortStatsRequest) StatsType() StatsType      { return StatsPort }
func (*QueueStatsRequest) StatsType() StatsType     { return StatsQueue }
func (*VendorStats) StatsType() StatsType           { return StatsVendor }

func (*DescStatsRequest) Len() int      { return 0 }
func (*TableStatsRequest) Len() int     { return 0 }
func (*FlowStatsRequest) Len() int      { return flowStatsRequestLen }
func (*AggregateStatsRequest) Len() int { return flowStatsRequestLen }
func (*PortStatsRequest) Len() int      { return 8 }
func (*QueueStatsRequest) Len() int     { return 8 }
func (v *VendorStats) Len() int         { return 4 + len(v.Data) }

func (*DescStatsRequest) marshalBody([]byte) error  { return nil }
func (*TableStatsRequest) marshalBody([]byte) error { return nil }
func (r *FlowStatsRequest) marshalBody(b []byte) error {
	if err := r.Match.marshalInto(b[0:40]); err != nil {
		return encErr(TypeStatsRequest, err, "match")
	}
	b[40], b[41] = r.TableID, 0
	be.PutUint16(b[42:], uint16(r.OutPort))
	return nil
}
func (r *AggregateStatsRequest) marshalBody(b []byte) error {
	return (*FlowStatsRequest)(r).marshalBody(b)
}
func (r *PortStatsRequest) marshalBody(b []byte) error {
	be.PutUint16(b, uint16(r.PortNo))
	clear(b[2:8])
	return nil
}
func (r *QueueStatsRequest) marshalBody(b []byte) error {
	be.PutUint16(b, uint16(r.PortNo))
	b[2], b[3] = 0, 0
	be.PutUint32(b[4:], r.QueueID)
	return nil
}
func (v *VendorStats) marshalBody(b []byte) error {
	be.PutUint32(b, v.Vendor)
	copy(b[4:], v.Data)
	return nil
}

const descStatsLen = 1056

// DescStats is ofp_desc_stats, the OFPST_DESC reply body.
type DescStats struct {
	MfrDesc   string // manufacturer, up to 255 bytes
	HWDesc    string // hardware, up to 255 bytes
	SWDesc    string // software, up to 255 bytes
	SerialNum string // up to 31 bytes
	DPDesc    string // datapath description, up to 255 bytes
}

// StatsType implements StatsBody.
func (*DescStats) StatsType() StatsType { return StatsDesc }

// Len implements StatsBody.
func (*DescStats) Len() int { return descStatsLen }

func (d *DescStats) marshalBody(b []byte) error {
	ok := putString(b[0:256], d.MfrDesc) && putString(b[256:512], d.HWDesc) &&
		putString(b[512:768], d.SWDesc) && putString(b[768:800], d.SerialNum) &&
		putString(b[800:1056], d.DPDesc)
	if !ok {
		return encErr(TypeStatsReply, ErrBadField, "OFPST_DESC string too long")
	}
	return nil
}

const aggregateReplyLen = 24

// AggregateStatsReply is ofp_aggregate_stats_reply.
type AggregateStatsReply struct {
	PacketCount uint64
	ByteCount   uint64
	FlowCount   uint32
}

// StatsType implements StatsBody.
func (*AggregateStatsReply) StatsType() StatsType { return StatsAggregate }

// Len implements StatsBody.
func (*AggregateStatsReply) Len() int { return aggregateReplyLen }

func (a *AggregateStatsReply) marshalBody(b []byte) error {
	be.PutUint64(b[0:], a.PacketCount)
	be.PutUint64(b[8:], a.ByteCount)
	be.PutUint32(b[16:], a.FlowCount)
	clear(b[20:24])
	return nil
}

const tableStatsLen = 64

// MaxTableNameLen is OFP_MAX_TABLE_NAME_LEN.
const MaxTableNameLen = 32

// TableStats is ofp_table_stats.
type TableStats struct {
	TableID      uint8
	Name         string
	Wildcards    Wildcards // wildcards the table supports
	MaxEntries   uint32
	ActiveCount  uint32
	LookupCount  uint64
	MatchedCount uint64
}

// TableStatsReply is the OFPST_TABLE reply body.
type TableStatsReply struct{ Entries []TableStats }

// StatsType implements StatsBody.
func (*TableStatsReply) StatsType() StatsType { return StatsTable }

// Len implements StatsBody.
func (r *TableStatsReply) Len() int { return tableStatsLen * len(r.Entries) }

func (r *TableStatsReply) marshalBody(b []byte) error {
	for i := range r.Entries {
		e, t := b[i*tableStatsLen:(i+1)*tableStatsLen], &r.Entries[i]
		e[0] = t.TableID
		e[1], e[2], e[3] = 0, 0, 0
		if !putString(e[4:36], t.Name) {
			return encErr(TypeStatsReply, ErrBadField, "table name %q longer than 31 bytes", t.Name)
		}
		be.PutUint32(e[36:], uint32(t.Wildcards))
		be.PutUint32(e[40:], t.MaxEntries)
		be.PutUint32(e[44:], t.ActiveCount)
		be.PutUint64(e[48:], t.LookupCount)
		be.PutUint64(e[56:], t.MatchedCount)
	}
	return nil
}

const portStatsLen = 104

// PortStats is ofp_port_stats; counters a switch does not support are all ones.
type PortStats struct {
	PortNo     PortNo
	RxPackets  uint64
	TxPackets  uint64
	RxBytes    uint64
	TxBytes    uint64
	RxDropped  uint64
	TxDropped  uint64
	RxErrors   uint64
	TxErrors   uint64
	RxFrameErr uint64
	RxOverErr  uint64
	RxCRCErr   uint64
	Collisions uint64
}

func (p *PortStats) counters() [12]*uint64 {
	return [12]*uint64{&p.RxPackets, &p.TxPackets, &p.RxBytes, &p.TxBytes, &p.RxDropped,
		&p.TxDropped, &p.RxErrors, &p.TxErrors, &p.RxFrameErr, &p.RxOverErr, &p.RxCRCErr,
		&p.Collisions}
}

func (p *PortStats) unmarshal(b []byte) {
	_ = b[portStatsLen-1]
	p.PortNo = PortNo(be.Uint16(b))
	for i, c := range p.counters() {
		*c = be.Uint64(b[8+8*i:])
	}
}

func (p *PortStats) marshal(b []byte) {
	be.PutUint16(b, uint16(p.PortNo))
	clear(b[2:8])
	for i, c := range p.counters() {
		be.PutUint64(b[8+8*i:], *c)
	}
}

// PortStatsReply is the OFPST_PORT reply body.
type PortStatsReply struct{ Entries []PortStats }

// StatsType implements StatsBody.
func (*PortStatsReply) StatsType() StatsType { return StatsPort }

// Len implements StatsBody.
func (r *PortStatsReply) Len() int { return portStatsLen * len(r.Entries) }

func (r *PortStatsReply) marshalBody(b []byte) error {
	for i := range r.Entries {
		r.Entries[i].marshal(b[i*portStatsLen : (i+1)*portStatsLen])
	}
	return nil
}

const queueStatsLen = 32

// QueueStats is ofp_queue_stats.
type QueueStats struct {
	PortNo    PortNo
	QueueID   uint32
	TxBytes   uint64
	TxPackets uint64
	TxErrors  uint64
}

// QueueStatsReply is the OFPST_QUEUE reply body.
type QueueStatsReply struct{ Entries []QueueStats }

// StatsType implements StatsBody.
func (*QueueStatsReply) StatsType() StatsType { return StatsQueue }

// Len implements StatsBody.
func (r *QueueStatsReply) Len() int { return queueStatsLen * len(r.Entries) }

func (r *QueueStatsReply) marshalBody(b []byte) error {
	for i := range r.Entries {
		e, q := b[i*queueStatsLen:(i+1)*queueStatsLen], &r.Entries[i]
		be.PutUint16(e, uint16(q.PortNo))
		e[2], e[3] = 0, 0
		be.PutUint32(e[4:], q.QueueID)
		be.PutUint64(e[8:], q.TxBytes)
		be.PutUint64(e[16:], q.TxPackets)
		be.PutUint64(e[24:], q.TxErrors)
	}
	return nil
}
