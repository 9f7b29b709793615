// Package ofproto is cemon's OpenFlow 1.0 wire codec: every message a controller
// sends or receives, encoded and decoded, and nothing else. It does no I/O and
// reads no clock.
//
// Messages are Go values that implement [Message]. Encode one with
// MarshalBinary, or into a reused buffer with [AppendMarshal] or [MarshalTo];
// decode one whole message with [Decode], which copies what it keeps, so the
// input buffer may be reused afterwards.
//
// The messages a controller receives at high rates (PACKET_IN, FLOW_REMOVED and
// the entries of a flow statistics reply) can also be decoded without
// allocation into values the caller owns: [PacketIn.DecodeFromBytes],
// [FlowRemoved.DecodeFromBytes] and [FlowStatsIter]. Those values reuse their
// slices between calls and may point into the decoded buffer; the doc comment of
// each says what aliases what.
//
// A [Framer] splits a byte stream (a TCP connection, a capture, a file) into
// whole messages. It checks the length field only, so that a controller can
// still answer a HELLO of another version; [Decode] rejects a message on its
// header alone (version, type, length) before it looks at the body.
//
// Errors are the package's sentinels ([ErrShortMessage], [ErrBadLength], ...)
// wrapped in a [*DecodeError] that names the message type and the byte offset.
//
// Example:
//
//	fr := ofproto.NewFramer(conn, ofproto.MaxMessageLen)
//	var out []byte // reused for every reply
//	for {
//		b, err := fr.Next()
//		if err != nil {
//			return err
//		}
//		m, err := ofproto.Decode(b)
//		if err != nil {
//			return err
//		}
//		switch m := m.(type) {
//		case *ofproto.EchoRequest:
//			out, err = ofproto.AppendMarshal(out[:0], &ofproto.EchoReply{Xid: m.Xid, Data: m.Data})
//			if err != nil {
//				return err
//			}
//			if _, err := conn.Write(out); err != nil {
//				return err
//			}
//		}
//	}
//
// Structure and constant names follow the OpenFlow Switch Specification 1.0.0;
// String methods return the specification's names (OFPT_PACKET_IN,
// OFPAT_OUTPUT, OFPRR_IDLE_TIMEOUT, ...).
package ofproto
