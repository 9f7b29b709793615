package controller

import (
	"unsafe"

	"github.com/cemon-sdn/cemon/ofproto"
)

// decoder decodes the messages of one connection for its reader with ofproto's
// zero-allocation decoders where the message is hot:
//
//   - PACKET_IN, FLOW_REMOVED, ECHO_REQUEST and ECHO_REPLY decode into values the
//     decoder reuses (DecodeFromBytes). They are borrowed: a PACKET_IN's or an ECHO's
//     Data points into the read buffer, and the values are overwritten by the next
//     message. The core handles them within the call and copies what it keeps; the
//     reader copies any PACKET_OUT or ECHO_REPLY data that still points into the
//     buffer before the writer sees it (ownOutput), and the event hub clones them for
//     subscribers.
//   - An OFPST_FLOW reply is walked with a FlowStatsIter, then copied once into
//     storage sized from what was decoded (one slice for the entries, one for their
//     actions, one for their output actions), because it is handed to the goroutine
//     that made the request and outlives the buffer.
//
// Everything else goes through ofproto.Decode, which copies. A message the fast paths
// refuse is decoded again by ofproto.Decode, so that errors are exactly Decode's.
type decoder struct {
	pi ofproto.PacketIn
	fr ofproto.FlowRemoved
	eq ofproto.EchoRequest
	ep ofproto.EchoReply
	it ofproto.FlowStatsIter
}

// decode decodes b, one whole message from the Framer. borrowed reports that m is
// one of d's reused values (see decoder).
func (d *decoder) decode(b []byte) (m ofproto.Message, borrowed bool, err error) {
	if len(b) >= ofproto.HeaderLen && b[0] == ofproto.Version {
		switch ofproto.Type(b[1]) {
		case ofproto.TypePacketIn:
			if d.pi.DecodeFromBytes(b) == nil {
				return &d.pi, true, nil
			}
		case ofproto.TypeFlowRemoved:
			if d.fr.DecodeFromBytes(b) == nil {
				return &d.fr, true, nil
			}
		case ofproto.TypeEchoRequest:
			if d.eq.DecodeFromBytes(b) == nil {
				return &d.eq, true, nil
			}
		case ofproto.TypeEchoReply:
			if d.ep.DecodeFromBytes(b) == nil {
				return &d.ep, true, nil
			}
		case ofproto.TypeStatsReply:
			if len(b) >= 12 && ofproto.StatsType(uint16(b[8])<<8|uint16(b[9])) == ofproto.StatsFlow {
				if r, ok := d.flowStats(b); ok {
					return r, false, nil
				}
			}
		}
	}
	m, err = ofproto.Decode(b)
	return m, false, err
}

// flowStats decodes an OFPST_FLOW reply into a copy that owns its memory. It
// reports false when the reply does not decode.
func (d *decoder) flowStats(b []byte) (*ofproto.StatsReply, bool) {
	it := &d.it
	// First pass: count what the copy needs. The counts come from decoded entries,
	// never from a field of the message.
	if it.Reset(b) != nil {
		return nil, false
	}
	entries, actions, outputs := 0, 0, 0
	for it.Next() {
		e := it.Entry()
		entries++
		actions += len(e.Actions)
		for _, a := range e.Actions {
			if _, ok := a.(*ofproto.OutputAction); ok {
				outputs++
			}
		}
	}
	if it.Err() != nil {
		return nil, false
	}
	body := &ofproto.FlowStatsReply{}
	body.Entries = getEntries(entries) // a recycled array if one is at hand
	var acts []ofproto.Action
	var outs []ofproto.OutputAction
	if actions > 0 {
		acts = make([]ofproto.Action, 0, actions)
	}
	if outputs > 0 {
		outs = make([]ofproto.OutputAction, 0, outputs)
	}
	it.Reset(b)
	for it.Next() {
		e := it.Entry()
		first := len(acts)
		for _, a := range e.Actions {
			if o, ok := a.(*ofproto.OutputAction); ok {
				outs = append(outs, *o) // within capacity: the pointers below stay put
				acts = append(acts, &outs[len(outs)-1])
				continue
			}
			c, ok := cloneAction(a)
			if !ok {
				return nil, false
			}
			acts = append(acts, c)
		}
		var ea []ofproto.Action
		if len(acts) > first {
			ea = acts[first:len(acts):len(acts)]
		}
		// Field by field, into the array's own element: the iterator's entry carries
		// decoding state of its own that must not be shared with the copy, and a copy
		// of the whole struct (it holds pointers) would go through the collector's
		// bulk write barrier whenever it is marking, which cost 5 % of cemon's CPU
		// while polling a million flows. The array has room: the entries were counted.
		n := len(body.Entries)
		if n == cap(body.Entries) {
			body.Entries = append(body.Entries, ofproto.FlowStats{})
		} else {
			body.Entries = body.Entries[:n+1]
		}
		x := &body.Entries[n]
		x.TableID, x.DurationSec, x.DurationNsec = e.TableID, e.DurationSec, e.DurationNsec
		x.Priority, x.IdleTimeout, x.HardTimeout = e.Priority, e.IdleTimeout, e.HardTimeout
		x.Cookie, x.PacketCount, x.ByteCount = e.Cookie, e.PacketCount, e.ByteCount
		copyMatch(&x.Match, &e.Match)
		x.Actions = ea
	}
	return &ofproto.StatsReply{Xid: it.XID(), Flags: it.Flags(), Body: body}, true
}

// cloneAction returns a copy of a that shares no memory with it; false for an action
// type it does not know (the reader then falls back to ofproto.Decode).
func cloneAction(a ofproto.Action) (ofproto.Action, bool) {
	var c ofproto.Action
	switch a := a.(type) {
	case *ofproto.OutputAction:
		c = clonePtr(a)
	case *ofproto.SetVLANVIDAction:
		c = clonePtr(a)
	case *ofproto.SetVLANPCPAction:
		c = clonePtr(a)
	case *ofproto.StripVLANAction:
		c = clonePtr(a)
	case *ofproto.SetDLSrcAction:
		c = clonePtr(a)
	case *ofproto.SetDLDstAction:
		c = clonePtr(a)
	case *ofproto.SetNWSrcAction:
		c = clonePtr(a)
	case *ofproto.SetNWDstAction:
		c = clonePtr(a)
	case *ofproto.SetNWTOSAction:
		c = clonePtr(a)
	case *ofproto.SetTPSrcAction:
		c = clonePtr(a)
	case *ofproto.SetTPDstAction:
		c = clonePtr(a)
	case *ofproto.EnqueueAction:
		c = clonePtr(a)
	case *ofproto.VendorAction:
		c = &ofproto.VendorAction{Vendor: a.Vendor, Data: append([]byte(nil), a.Data...)}
	default:
		return nil, false
	}
	return c, true
}

func clonePtr[T any](p *T) *T {
	c := *p
	return &c
}

// ownOutput makes the messages a borrowed message produced independent of the read
// buffer b before they reach the writer: a PACKET_OUT whose Data points into b (the
// frame of the PACKET_IN it answers) gets a copy, one copy shared by all of them, and
// so does an ECHO_REPLY's payload.
func ownOutput(fx *effects, b []byte) {
	var frame, copied []byte
	own := func(data *[]byte) {
		if len(*data) == 0 || !overlaps(*data, b) {
			return
		}
		if copied == nil || !sameSlice(*data, frame) {
			frame, copied = *data, append([]byte(nil), *data...)
		}
		*data = copied
	}
	for _, e := range fx.out {
		switch m := e.msg.(type) {
		case *ofproto.PacketOut:
			own(&m.Data)
		case *ofproto.EchoReply:
			own(&m.Data)
		}
	}
}

// overlaps reports whether x and y share memory.
func overlaps(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 {
		return false
	}
	xs, ys := uintptr(unsafe.Pointer(unsafe.SliceData(x))), uintptr(unsafe.Pointer(unsafe.SliceData(y)))
	return xs < ys+uintptr(len(y)) && ys < xs+uintptr(len(x))
}

func sameSlice(x, y []byte) bool {
	return len(x) == len(y) && (len(x) == 0 || unsafe.SliceData(x) == unsafe.SliceData(y))
}

// copyMatch copies *src to *dst field by field: each of the two addresses is one
// pointer write, where a copy of the whole struct is a bulk barrier while the
// collector marks.
func copyMatch(dst, src *ofproto.Match) {
	dst.Wildcards, dst.InPort, dst.DLSrc, dst.DLDst = src.Wildcards, src.InPort, src.DLSrc, src.DLDst
	dst.DLVLAN, dst.DLVLANPCP, dst.DLType, dst.NWTOS, dst.NWProto = src.DLVLAN, src.DLVLANPCP, src.DLType, src.NWTOS, src.NWProto
	dst.NWSrc, dst.NWDst = src.NWSrc, src.NWDst
	dst.TPSrc, dst.TPDst = src.TPSrc, src.TPDst
}
