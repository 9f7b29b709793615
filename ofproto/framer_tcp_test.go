package ofproto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/tcpassembly"
	"github.com/stretchr/testify/require"
)

// The Framer is checked against an independent path to the same messages. gopacket
// has no OpenFlow layer, so the differential runs one level down, where the two
// meet: the OpenFlow stream travels as a capture of TCP segments built by gopacket
// (Ethernet, IPv4, TCP, with fuzz-chosen segment sizes, some segments swapped and
// some sent twice), gopacket decodes the frames again and its TCP reassembler
// (tcpassembly) recovers the stream, handing it over in the pieces it reassembles.
// The Framer reads those pieces as a socket would hand them over; a plain reference
// splitter (refSplit) reads the stream the fuzzer chose. They must agree on every
// message and on the error that ends the stream, at the same offset.

// capture builds the frames that carry stream from a switch to the controller,
// split into segments of the sizes sizes gives (cycled; each 1 to 256 bytes, or
// len(stream)/256 when that is more), with
// a SYN first and a FIN last. Where shuffle has bit i set, segments i and i+1 are
// sent in the other order; where dup has bit i set, segment i is sent twice.
func capture(tb testing.TB, stream, sizes []byte, shuffle, dup uint64) [][]byte {
	tb.Helper()
	const isn = 1000
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
		EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
		SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	frame := func(seq uint32, syn, fin bool, payload []byte) []byte {
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 6653, Seq: seq, SYN: syn, FIN: fin, ACK: !syn, Window: 65535}
		require.NoError(tb, tcp.SetNetworkLayerForChecksum(ip))
		buf := gopacket.NewSerializeBuffer()
		require.NoError(tb, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, tcp, gopacket.Payload(payload)))
		return bytes.Clone(buf.Bytes())
	}
	if len(sizes) == 0 {
		sizes = []byte{255}
	}
	var segs [][]byte
	seq := uint32(isn + 1)
	least := len(stream) / 256 // at most about 256 segments, to keep each run short
	for off, i := 0, 0; off < len(stream); i++ {
		n := min(max(int(sizes[i%len(sizes)])+1, least), len(stream)-off)
		segs = append(segs, frame(seq, false, false, stream[off:off+n]))
		seq += uint32(n)
		off += n
	}
	for i := 0; i+1 < len(segs) && i < 64; i++ {
		if shuffle&(1<<i) != 0 {
			segs[i], segs[i+1] = segs[i+1], segs[i]
			i++ // a segment moves one place at most
		}
	}
	out := [][]byte{frame(isn, true, false, nil)}
	for i, s := range segs {
		out = append(out, s)
		if i < 64 && dup&(1<<i) != 0 {
			out = append(out, s)
		}
	}
	return append(out, frame(seq, false, true, nil))
}

// reassembly collects what tcpassembly hands over, piece by piece.
type reassembly struct {
	pieces [][]byte
	gap    bool
	done   bool
}

func (r *reassembly) New(_, _ gopacket.Flow) tcpassembly.Stream { return r }

func (r *reassembly) Reassembled(rs []tcpassembly.Reassembly) {
	for _, x := range rs {
		if x.Skip != 0 && !x.Start {
			r.gap = true
		}
		if len(x.Bytes) > 0 {
			r.pieces = append(r.pieces, bytes.Clone(x.Bytes))
		}
	}
}

func (r *reassembly) ReassemblyComplete() { r.done = true }

// reassemble decodes the frames with gopacket and returns the TCP payload pieces
// in stream order.
func reassemble(tb testing.TB, frames [][]byte) [][]byte {
	tb.Helper()
	r := &reassembly{}
	asm := tcpassembly.NewAssembler(tcpassembly.NewStreamPool(r))
	t := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for i, f := range frames {
		p := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
		tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		require.True(tb, ok, "frame %d has no TCP layer: %v", i, p.ErrorLayer())
		asm.AssembleWithTimestamp(p.NetworkLayer().NetworkFlow(), tcp, t.Add(time.Duration(i)*time.Millisecond))
	}
	asm.FlushAll()
	require.False(tb, r.gap, "gopacket reassembled the stream with a gap")
	return r.pieces
}

// piecesReader hands out one reassembled piece (or what fits of it) per Read.
type piecesReader struct{ pieces [][]byte }

func (p *piecesReader) Read(b []byte) (int, error) {
	if len(p.pieces) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.pieces[0])
	if p.pieces[0] = p.pieces[0][n:]; len(p.pieces[0]) == 0 {
		p.pieces = p.pieces[1:]
	}
	return n, nil
}

// splitResult is how a splitter ends: the messages it framed, then an error
// (io.EOF at a clean end) and, for a bad length field, the stream offset it names.
type splitResult struct {
	msgs   [][]byte
	err    error
	offset int64
}

// refSplit splits stream the obvious way: at each message, 8 header bytes, a length
// field from 8 to max, then that many bytes.
func refSplit(stream []byte, maxLen int) splitResult {
	var r splitResult
	off := 0
	for {
		switch rest := len(stream) - off; {
		case rest == 0:
			r.err = io.EOF
			return r
		case rest < HeaderLen:
			r.err = io.ErrUnexpectedEOF
			return r
		}
		n := int(stream[off+2])<<8 | int(stream[off+3])
		switch {
		case n < HeaderLen:
			r.err, r.offset = ErrBadLength, int64(off+2)
			return r
		case n > maxLen:
			r.err, r.offset = ErrTooLong, int64(off+2)
			return r
		case n > len(stream)-off:
			r.err = io.ErrUnexpectedEOF
			return r
		}
		r.msgs = append(r.msgs, stream[off:off+n])
		off += n
	}
}

// framerSplit runs the Framer over r and records the same.
func framerSplit(t *testing.T, r io.Reader, maxLen, limit int) splitResult {
	var res splitResult
	fr := NewFramer(r, maxLen)
	for range limit + 1 {
		m, err := fr.Next()
		if err != nil {
			res.err = err
			var de *DecodeError
			if errors.As(err, &de) {
				res.err, res.offset = de.Err, de.Offset
			}
			return res
		}
		res.msgs = append(res.msgs, bytes.Clone(m))
	}
	t.Fatalf("more than %d messages from %d bytes", limit, limit*HeaderLen)
	return res
}

// FuzzFramerTCP: the Framer, reading an OpenFlow stream as gopacket reassembles it
// from a capture of TCP segments, frames exactly what the reference splitter does.
func FuzzFramerTCP(f *testing.F) {
	var stream []byte
	for _, b := range encodedMessages(f) {
		stream = append(stream, b...)
	}
	f.Add(stream, []byte{99}, uint64(0), uint64(0), uint16(0))
	f.Add(stream, []byte{0, 7, 200, 31}, uint64(0x5555), uint64(0x0f0), uint16(0))
	f.Add(stream[:100], []byte{3}, uint64(1), uint64(2), uint16(40))                  // ends inside a message
	f.Add([]byte{1, 0, 0, 4, 0, 0, 0, 0}, []byte{2}, uint64(0), uint64(0), uint16(0)) // length below 8
	f.Add(stream, []byte{255}, uint64(0), uint64(0), uint16(200))                     // messages above the limit
	f.Fuzz(func(t *testing.T, stream, sizes []byte, shuffle, dup uint64, maxLen uint16) {
		if len(stream) > 1<<14 {
			return
		}
		limit := int(maxLen)
		if limit == 0 || limit > MaxMessageLen {
			limit = MaxMessageLen
		}
		limit = max(limit, HeaderLen)
		pieces := reassemble(t, capture(t, stream, sizes, shuffle, dup))
		require.Equal(t, stream, bytes.Join(pieces, nil), "gopacket's reassembly differs from the stream sent")

		want := refSplit(stream, limit)
		got := framerSplit(t, &piecesReader{pieces: pieces}, int(maxLen), len(stream)/HeaderLen+1)
		require.Equal(t, len(want.msgs), len(got.msgs), "message count")
		for i := range want.msgs {
			require.True(t, bytes.Equal(want.msgs[i], got.msgs[i]), "message %d differs", i)
		}
		require.ErrorIs(t, got.err, want.err)
		require.Equal(t, want.offset, got.offset, "offset of the error")
	})
}

// BenchmarkFramerTCP times the Framer on the stream a controller's socket hands
// over: reads of one TCP segment's payload at a time (1,448 bytes, the MSS of an
// Ethernet path with TCP timestamps) over the mixed stream of BenchmarkFramer.
func BenchmarkFramerTCP(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20} {
		stream, msgs := mixedStream(b, size)
		b.Run(fmt.Sprintf("stream=%dKiB/mss=1448", size>>10), func(b *testing.B) {
			rd := &chunkReader{}
			sizes := []int{1448}
			fr := NewFramer(rd, 0)
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				*rd = chunkReader{b: stream, sizes: sizes}
				fr.reset(rd)
				n := 0
				for {
					_, err := fr.Next()
					if err == io.EOF {
						break
					}
					require.NoError(b, err)
					n++
				}
				if n != msgs {
					b.Fatalf("framed %d messages, want %d", n, msgs)
				}
			}
			b.ReportMetric(float64(msgs)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
