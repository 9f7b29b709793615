package controller

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"reflect"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/ofproto"
)

// scribble overwrites b, as the Framer does when it reads the next messages into its
// buffer.
func scribble(b []byte) {
	for i := range b {
		b[i] = 0xee
	}
}

// TestReaderPacketOutOwnsItsFrame: the reader decodes a PACKET_IN without copying its
// frame; the PACKET_OUT the core answers with, which the writer encodes later, must
// carry the frame after the read buffer has been reused.
func TestReaderPacketOutOwnsItsFrame(t *testing.T) {
	n := newFakeNet(t, Config{})
	n.addSwitch(1, 1, 2)
	h1 := n.addHost("h1", 1, PortRef{1, 1})
	h2 := n.addHost("h2", 2, PortRef{1, 2})
	n.connect(1)
	for _, h := range []*fakeHost{h1, h2} {
		n.hostSend(h, arpFrame(layers.ARPRequest, h.mac, h.ip, ofproto.MAC{}, h.ip))
		n.run()
	}
	frame := udpFrame(h1.mac, h2.mac, h1.ip, h2.ip, 1000, 2000, 0, 32)
	raw, err := (&ofproto.PacketIn{Xid: 7, BufferID: ofproto.BufferNone, TotalLen: uint16(len(frame)),
		InPort: 1, Data: frame}).MarshalBinary()
	require.NoError(t, err)

	var d decoder
	m, borrowed, err := d.decode(raw)
	require.NoError(t, err)
	require.True(t, borrowed, "a PACKET_IN is decoded in place")
	require.True(t, overlaps(m.(*ofproto.PacketIn).Data, raw), "the frame points into the read buffer")

	fx := n.c.receive(n.sw[1].s, m, n.now)
	ownOutput(fx, raw)
	scribble(raw)
	outs := 0
	for _, e := range fx.out {
		if po, ok := e.msg.(*ofproto.PacketOut); ok && po.Data != nil {
			outs++
			assert.Equal(t, frame, po.Data, "PACKET_OUT data after the buffer was reused")
		}
	}
	require.Equal(t, 1, outs, "one PACKET_OUT with the frame")
}

// TestHubCopiesBorrowedMessages: subscribers get their own PACKET_IN and FLOW_REMOVED;
// without a subscriber for the kind nothing is copied.
func TestHubCopiesBorrowedMessages(t *testing.T) {
	var h hub
	pi := &ofproto.PacketIn{Xid: 1, Data: []byte{1, 2, 3}}
	fr := &ofproto.FlowRemoved{Xid: 2, Cookie: 9}

	evs := []Event{{Kind: PacketIn, PacketIn: pi}, {Kind: FlowRemoved, FlowRemoved: fr}}
	h.publish(evs)
	assert.Same(t, pi, evs[0].PacketIn, "no subscriber: no copy")

	s := &subscriber{ch: make(chan Event, 4), kinds: 1 << PacketIn}
	h.add(s)
	h.publish(evs)
	assert.Same(t, fr, evs[1].FlowRemoved, "nobody takes FLOW_REMOVED: no copy")
	got := <-s.ch
	require.NotSame(t, pi, got.PacketIn)
	pi.Data[0], pi.Xid = 0xff, 0xff
	assert.Equal(t, &ofproto.PacketIn{Xid: 1, Data: []byte{1, 2, 3}}, got.PacketIn)

	s2 := &subscriber{ch: make(chan Event, 4)} // every kind
	h.add(s2)
	evs = []Event{{Kind: FlowRemoved, FlowRemoved: fr}}
	h.publish(evs)
	got = <-s2.ch
	require.NotSame(t, fr, got.FlowRemoved)
	fr.Cookie = 10
	assert.Equal(t, uint64(9), got.FlowRemoved.Cookie)
}

// flowStatsSample is an OFPST_FLOW reply with every kind of action the codec knows.
func flowStatsSample(xid uint32, base uint64) *ofproto.StatsReply {
	acts := []ofproto.Action{
		&ofproto.SetVLANVIDAction{VID: 10}, &ofproto.SetVLANPCPAction{PCP: 3}, &ofproto.StripVLANAction{},
		&ofproto.SetDLSrcAction{Addr: ofproto.MAC{1, 2, 3, 4, 5, 6}}, &ofproto.SetDLDstAction{Addr: ofproto.MAC{6, 5, 4, 3, 2, 1}},
		&ofproto.SetNWSrcAction{Addr: netip.MustParseAddr("10.0.0.1")}, &ofproto.SetNWDstAction{Addr: netip.MustParseAddr("10.0.0.2")},
		&ofproto.SetNWTOSAction{TOS: 8}, &ofproto.SetTPSrcAction{Port: 80}, &ofproto.SetTPDstAction{Port: 8080},
		&ofproto.EnqueueAction{Port: 2, QueueID: 1}, &ofproto.VendorAction{Vendor: 0x2320, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		&ofproto.OutputAction{Port: 3, MaxLen: 0xffff},
	}
	r := &ofproto.FlowStatsReply{}
	for i := range 4 {
		e := ofproto.FlowStats{Match: flowkey.ToMatch(benchKey(i), 1), DurationSec: uint32(i), Cookie: base + uint64(i),
			PacketCount: base * 10, ByteCount: base * 1000}
		switch i {
		case 1:
			e.Actions = []ofproto.Action{&ofproto.OutputAction{Port: 2}}
		case 2:
			e.Actions = acts
		}
		r.Entries = append(r.Entries, e)
	}
	return &ofproto.StatsReply{Xid: xid, Flags: ofproto.StatsReplyMore, Body: r}
}

// TestReaderFlowStatsOwned: an OFPST_FLOW reply read through the iterator is the
// reply ofproto.Decode gives, and stays so after the buffer and the decoder are used
// for the next reply.
func TestReaderFlowStatsOwned(t *testing.T) {
	raw, err := flowStatsSample(5, 100).MarshalBinary()
	require.NoError(t, err)
	want, err := ofproto.Decode(raw)
	require.NoError(t, err)

	var d decoder
	m, borrowed, err := d.decode(raw)
	require.NoError(t, err)
	require.False(t, borrowed, "a flow statistics reply is handed on, so it is a copy")
	require.Equal(t, want, m)

	next, err := flowStatsSample(6, 200).MarshalBinary()
	require.NoError(t, err)
	_, _, err = d.decode(next)
	require.NoError(t, err)
	scribble(raw)
	assert.Equal(t, want, m, "after the next reply and the buffer's reuse")
}

// TestReaderDecodeErrorsAreDecodes: what the fast paths refuse fails with
// ofproto.Decode's own error, so the reader answers bad messages as before.
func TestReaderDecodeErrorsAreDecodes(t *testing.T) {
	good, err := flowStatsSample(5, 100).MarshalBinary()
	require.NoError(t, err)
	lying := bytes.Clone(good)
	binary.BigEndian.PutUint16(lying[12:], 0x100) // first entry's length
	short := []byte{1, byte(ofproto.TypePacketIn), 0, 12, 0, 0, 0, 1, 0, 0, 0, 0}
	badVersion := bytes.Clone(good)
	badVersion[0] = 4
	for name, b := range map[string][]byte{"entry length": lying, "short PACKET_IN": short, "version": badVersion} {
		t.Run(name, func(t *testing.T) {
			var d decoder
			_, _, err := d.decode(b)
			_, want := ofproto.Decode(b)
			require.Error(t, want)
			assert.Equal(t, want, err)
		})
	}
}

// FuzzReaderDecode checks the reader's decoder against ofproto.Decode on any
// message: the same error, or the same message.
func FuzzReaderDecode(f *testing.F) {
	for _, m := range []ofproto.Message{flowStatsSample(1, 1), benchFlowStatsReply(3),
		&ofproto.PacketIn{Xid: 1, BufferID: 7, TotalLen: 3, InPort: 2, Data: []byte{1, 2, 3}},
		&ofproto.FlowRemoved{Xid: 3, Cookie: 4, PacketCount: 5}, &ofproto.EchoRequest{Xid: 9, Data: []byte("x")}} {
		b, err := m.MarshalBinary()
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.Clone(b)
		if len(b) >= 4 {
			// Mostly keep the length field honest, as the Framer does.
			binary.BigEndian.PutUint16(b[2:], uint16(min(len(b), 0xffff)))
		}
		// Plain comparisons: a diff of two decoded messages is slow to format.
		var d decoder
		got, borrowed, err := d.decode(b)
		want, werr := ofproto.Decode(b)
		if werr != nil || err != nil {
			if !reflect.DeepEqual(werr, err) {
				t.Fatalf("decode error %v, ofproto.Decode error %v", err, werr)
			}
			return
		}
		if pi, ok := got.(*ofproto.PacketIn); ok {
			wpi := want.(*ofproto.PacketIn)
			a, w := *pi, *wpi
			a.Data, w.Data = nil, nil
			if !borrowed || !bytes.Equal(wpi.Data, pi.Data) || !reflect.DeepEqual(a, w) {
				t.Fatalf("PACKET_IN %+v (borrowed %v), ofproto.Decode %+v", pi, borrowed, wpi)
			}
			return
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("decoded %v\nofproto.Decode %v", got, want)
		}
	})
}
