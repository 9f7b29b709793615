package ofproto

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// encodedMessages encodes every message of the round-trip table.
func encodedMessages(f *testing.F) [][]byte {
	var out [][]byte
	for _, tc := range allMessages() {
		b, err := tc.m.MarshalBinary()
		require.NoError(f, err)
		out = append(out, b)
	}
	return out
}

// seedMessages adds every message of the round-trip table to f.
func seedMessages(f *testing.F) {
	for _, b := range encodedMessages(f) {
		f.Add(b)
	}
}

// allocBound is how many heap bytes decoding a message of n bytes may take:
// a constant plus a small multiple of the input. A decoder that trusted a
// count field would blow through it.
func allocBound(n int) uint64 { return 16<<10 + 64*uint64(n) }

func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// FuzzDecode: Decode never panics, allocates in proportion to the input, and
// what it accepts re-encodes to a message of the same length that decodes to
// the same value.
func FuzzDecode(f *testing.F) {
	seedMessages(f)
	for _, b := range readVectors(f, "testdata/ovs-ofp-print.txt") {
		f.Add(b)
	}
	f.Add([]byte{1, 0, 0, 7, 0, 0, 0, 0})
	f.Add([]byte{1, 17, 0, 12, 0, 0, 0, 0, 0xff, 0xff, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		before := heapAlloc()
		m, err := Decode(b)
		if used := heapAlloc() - before; used > allocBound(len(b)) {
			// The fuzzing worker's own goroutines allocate too; a decoder
			// that over-allocates does so every time, so measure again.
			for i := 0; i < 3 && used > allocBound(len(b)); i++ {
				before = heapAlloc()
				_, _ = Decode(b)
				used = min(used, heapAlloc()-before)
			}
			if used > allocBound(len(b)) {
				t.Fatalf("decoding %d bytes allocated %d bytes", len(b), used)
			}
		}
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			return
		}
		enc, err := m.MarshalBinary()
		require.NoError(t, err, "re-encoding %T", m)
		if len(enc) != len(b) {
			t.Fatalf("re-encoded %T is %d bytes, input %d", m, len(enc), len(b))
		}
		m2, err := Decode(enc)
		require.NoError(t, err, "decoding the re-encoding")
		normalize(m)
		normalize(m2)
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("decode(encode(m)) != m:\n%#v\n%#v", m, m2)
		}
	})
}

// FuzzPacketInDecodeFromBytes: the caller-owned decoder agrees with the
// copying one.
func FuzzPacketInDecodeFromBytes(f *testing.F) {
	f.Add([]byte{1, 10, 0, 18, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 60, 0, 1, 0, 0})
	seedMessages(f)
	var pi PacketIn
	f.Fuzz(func(t *testing.T, b []byte) {
		err := pi.DecodeFromBytes(b)
		var want PacketIn
		werr := want.UnmarshalBinary(b)
		if (err == nil) != (werr == nil) {
			t.Fatalf("DecodeFromBytes err %v, UnmarshalBinary err %v", err, werr)
		}
		if err != nil {
			return
		}
		if len(pi.Data) == 0 {
			pi.Data = nil
		}
		if !reflect.DeepEqual(&pi, &want) {
			t.Fatalf("DecodeFromBytes %#v, UnmarshalBinary %#v", pi, want)
		}
	})
}

// FuzzEchoDecodeFromBytes: the caller-owned ECHO decoders agree with the copying
// ones, and re-encode to the same bytes.
func FuzzEchoDecodeFromBytes(f *testing.F) {
	f.Add([]byte{1, 2, 0, 8, 0, 0, 0, 7})
	f.Add([]byte{1, 3, 0, 11, 0, 0, 0, 7, 'a', 'b', 'c'})
	seedMessages(f)
	var rq EchoRequest
	var rp EchoReply
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range []struct {
			fast, slow interface {
				Message
				UnmarshalBinary([]byte) error
			}
			decode func([]byte) error
		}{{&rq, new(EchoRequest), rq.DecodeFromBytes}, {&rp, new(EchoReply), rp.DecodeFromBytes}} {
			err := c.decode(b)
			werr := c.slow.UnmarshalBinary(b)
			if (err == nil) != (werr == nil) {
				t.Fatalf("%v: DecodeFromBytes err %v, UnmarshalBinary err %v", c.slow.Type(), err, werr)
			}
			if err != nil {
				continue
			}
			if !reflect.DeepEqual(c.fast, c.slow) {
				t.Fatalf("DecodeFromBytes %#v, UnmarshalBinary %#v", c.fast, c.slow)
			}
			enc, err := c.fast.MarshalBinary()
			require.NoError(t, err)
			require.Equal(t, b, enc)
		}
	})
}

// FuzzFlowRemovedDecodeFromBytes: decode, encode, compare bytes outside padding.
func FuzzFlowRemovedDecodeFromBytes(f *testing.F) {
	seedMessages(f)
	var fr FlowRemoved
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := fr.DecodeFromBytes(b); err != nil {
			return
		}
		enc, err := fr.MarshalBinary()
		require.NoError(t, err)
		// Padding (match pad1, pad2; flow_removed pad, pad2) is zeroed.
		want := append([]byte(nil), b...)
		for _, i := range []int{8 + 21, 8 + 26, 8 + 27, 59, 70, 71} {
			want[i] = 0
		}
		if !bytes.Equal(enc, want) {
			t.Fatalf("re-encoded\n% x\nwant\n% x", enc, want)
		}
	})
}

// FuzzFlowStatsIter: the iterator and the copying decoder see the same
// entries, and the iterator never panics.
func FuzzFlowStatsIter(f *testing.F) {
	seedMessages(f)
	var it FlowStatsIter
	f.Fuzz(func(t *testing.T, b []byte) {
		var want StatsReply
		werr := want.UnmarshalBinary(b)
		var got []FlowStats
		if err := it.Reset(b); err == nil {
			for it.Next() {
				e := *it.Entry()
				e.arena = nil
				e.Actions = cloneActions(e.Actions)
				got = append(got, e)
			}
		}
		ierr := it.Err()
		fr, isFlow := want.Body.(*FlowStatsReply)
		if werr == nil && isFlow {
			if ierr != nil {
				t.Fatalf("iterator failed (%v) where UnmarshalBinary succeeded", ierr)
			}
			if len(got) != len(fr.Entries) {
				t.Fatalf("iterator saw %d entries, UnmarshalBinary %d", len(got), len(fr.Entries))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], fr.Entries[i]) {
					t.Fatalf("entry %d: iterator %#v, UnmarshalBinary %#v", i, got[i], fr.Entries[i])
				}
			}
		} else if werr != nil && ierr == nil && len(b) >= HeaderLen && Type(b[1]) == TypeStatsReply {
			if StatsType(be.Uint16(b[8:])) == StatsFlow {
				t.Fatalf("iterator accepted what UnmarshalBinary rejected: %v", werr)
			}
		}
	})
}

// cloneActions deep-copies an action list out of an arena.
func cloneActions(acts []Action) []Action {
	if len(acts) == 0 {
		return nil
	}
	b, err := AppendActions(nil, acts)
	if err != nil {
		panic(err)
	}
	out, err := DecodeActions(b)
	if err != nil {
		panic(err)
	}
	return out
}

// FuzzDecodeActions: decode, encode, decode again gives the same actions.
func FuzzDecodeActions(f *testing.F) {
	b, err := AppendActions(nil, allActions())
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte{0, 0, 0, 8, 0, 1, 0, 0})
	f.Add([]byte{0xff, 0xff, 0, 16, 0, 0, 0x23, 0x20, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		acts, err := DecodeActions(b)
		if err != nil {
			return
		}
		enc, err := AppendActions(nil, acts)
		require.NoError(t, err)
		if len(enc) != len(b) {
			t.Fatalf("re-encoded %d bytes from %d", len(enc), len(b))
		}
		acts2, err := DecodeActions(enc)
		require.NoError(t, err)
		if !reflect.DeepEqual(acts, acts2) {
			t.Fatalf("%v != %v", acts, acts2)
		}
		for _, a := range acts {
			_ = a.String()
		}
	})
}

// FuzzMatch: any 40 bytes decode; encode restores them except padding.
func FuzzMatch(f *testing.F) {
	m := testMatch()
	b, _ := m.MarshalBinary()
	f.Add(b)
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Match
		if err := m.UnmarshalBinary(b); err != nil {
			if len(b) == MatchLen {
				t.Fatal(err)
			}
			return
		}
		_ = m.String()
		_ = m.Wildcards.String()
		enc, err := m.MarshalBinary()
		require.NoError(t, err)
		want := append([]byte(nil), b...)
		want[21], want[26], want[27] = 0, 0, 0
		if !bytes.Equal(enc, want) {
			t.Fatalf("% x != % x", enc, want)
		}
	})
}

// FuzzFramer: the fuzzer picks a stream and a read size; the framer returns
// consecutive messages that tile a prefix of the stream, each with a valid
// length, and ends with io.EOF only on a boundary.
func FuzzFramer(f *testing.F) {
	var stream []byte
	for _, b := range encodedMessages(f) {
		stream = append(stream, b...)
	}
	f.Add(stream, uint8(1))
	f.Add(stream, uint8(7))
	f.Add([]byte{1, 0, 0, 4, 0, 0, 0, 0}, uint8(3))
	f.Add([]byte{1, 0, 0, 16, 0, 0, 0, 0, 1}, uint8(3))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		var r io.Reader = bytes.NewReader(stream)
		switch {
		case chunk == 0:
			r = iotest.OneByteReader(r)
		case chunk%2 == 1:
			r = iotest.HalfReader(r)
		}
		fr := NewFramer(r, int(chunk)*300)
		off := 0
		for i := 0; ; i++ {
			if i > len(stream) {
				t.Fatal("more messages than bytes")
			}
			msg, err := fr.Next()
			if err != nil {
				switch {
				case errors.Is(err, io.EOF):
					if off != len(stream) {
						t.Fatalf("io.EOF at offset %d of %d", off, len(stream))
					}
				case errors.Is(err, io.ErrUnexpectedEOF):
					if off == len(stream) {
						t.Fatal("io.ErrUnexpectedEOF at the end of the stream")
					}
				case errors.Is(err, ErrBadLength), errors.Is(err, ErrTooLong):
					var de *DecodeError
					if !errors.As(err, &de) || de.Offset != int64(off)+2 {
						t.Fatalf("error %v should name offset %d", err, off+2)
					}
				default:
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(msg) < HeaderLen || int(msg[2])<<8|int(msg[3]) != len(msg) {
				t.Fatalf("message of %d bytes with length field % x", len(msg), msg[2:4])
			}
			if !bytes.Equal(msg, stream[off:off+len(msg)]) {
				t.Fatalf("message at %d does not match the stream", off)
			}
			off += len(msg)
		}
	})
}
