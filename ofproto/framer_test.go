package ofproto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunkReader returns the stream in reads of the given sizes (cycling).
type chunkReader struct {
	b     []byte
	sizes []int
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := min(r.sizes[r.i%len(r.sizes)], len(p), len(r.b))
	r.i++
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

func testStream(t *testing.T) ([]byte, [][]byte) {
	t.Helper()
	var stream []byte
	var msgs [][]byte
	for _, tc := range allMessages() {
		b, err := tc.m.MarshalBinary()
		require.NoError(t, err)
		msgs = append(msgs, b)
		stream = append(stream, b...)
	}
	return stream, msgs
}

func TestFramerSplitsStreams(t *testing.T) {
	stream, msgs := testStream(t)
	readers := []struct {
		name string
		r    func() io.Reader
	}{
		{"all at once", func() io.Reader { return bytes.NewReader(stream) }},
		{"one byte per read", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) }},
		{"half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
		{"odd chunks", func() io.Reader { return &chunkReader{b: stream, sizes: []int{3, 7, 100, 1, 4096}} }},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) }},
	}
	for _, rd := range readers {
		for _, maxLen := range []int{0, 2000, MaxMessageLen} {
			fr := NewFramer(rd.r(), maxLen)
			for i, want := range msgs {
				got, err := fr.Next()
				require.NoError(t, err, "%s, max %d: message %d", rd.name, maxLen, i)
				require.Equal(t, want, got, "%s: message %d", rd.name, i)
			}
			_, err := fr.Next()
			require.Equal(t, io.EOF, err, "%s: after the last message", rd.name)
			require.Equal(t, int64(len(stream)), fr.Offset(), "%s: offset", rd.name)
		}
	}
}

func TestFramerErrors(t *testing.T) {
	hello := []byte{1, 0, 0, 8, 0, 0, 0, 1}
	big := []byte{1, 17, 0x10, 0x00, 0, 0, 0, 2} // length 4096
	tests := []struct {
		name   string
		stream []byte
		maxLen int
		good   int // messages before the error
		err    error
		offset int64 // of the length field, for length errors
	}{
		{"empty stream", nil, 0, 0, io.EOF, 0},
		{"clean end", hello, 0, 1, io.EOF, 0},
		{"ends in header", append(append([]byte{}, hello...), 1, 0, 0), 0, 1, io.ErrUnexpectedEOF, 0},
		{"ends in body", append(append([]byte{}, hello...), 1, 2, 0, 12, 0, 0, 0, 3, 'a'), 0, 1, io.ErrUnexpectedEOF, 0},
		{"length zero", append(append([]byte{}, hello...), 1, 0, 0, 0, 0, 0, 0, 0), 0, 1, ErrBadLength, 10},
		{"length seven", []byte{1, 0, 0, 7, 0, 0, 0, 0}, 0, 0, ErrBadLength, 2},
		{"length above the limit", append(append([]byte{}, hello...), big...), 1024, 1, ErrTooLong, 10},
		{"length lies past the end", big, 0, 0, io.ErrUnexpectedEOF, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := NewFramer(iotest.HalfReader(bytes.NewReader(tc.stream)), tc.maxLen)
			for i := 0; i < tc.good; i++ {
				_, err := fr.Next()
				require.NoError(t, err, "message %d", i)
			}
			_, err := fr.Next()
			require.ErrorIs(t, err, tc.err)
			var de *DecodeError
			if errors.As(err, &de) {
				assert.Equal(t, tc.offset, de.Offset, "offset the error names")
			}
			_, again := fr.Next()
			assert.ErrorIs(t, again, tc.err, "second Next")
		})
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestFramerReaderErrors(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := NewFramer(errReader{boom}, 0).Next()
	assert.ErrorIs(t, err, boom)
	_, err = NewFramer(zeroReader{}, 0).Next()
	assert.ErrorIs(t, err, io.ErrNoProgress, "a reader that never progresses")
}

func TestFramerDoesNotAllocatePerMessage(t *testing.T) {
	stream, msgs := testStream(t)
	r := bytes.NewReader(stream)
	fr := NewFramer(r, 0)
	_, _ = fr.Next() // allocates the buffer once
	allocs := testing.AllocsPerRun(20, func() {
		r.Reset(stream)
		fr.reset(r)
		for range msgs {
			_, err := fr.Next()
			require.NoError(t, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per stream of %d messages, want 0", allocs, len(msgs))
	}
}

// reset makes f read a new stream, keeping its small buffer.
func (f *Framer) reset(r io.Reader) {
	f.release()
	*f = Framer{r: r, max: f.max, buf: f.small, small: f.small}
}

// sized is a VENDOR message of n bytes whose body is a pattern of seed.
func sized(n int, seed byte) []byte {
	b := make([]byte, n)
	b[0], b[1], b[2], b[3] = Version, byte(TypeVendor), byte(n>>8), byte(n)
	for i := HeaderLen; i < n; i++ {
		b[i] = seed + byte(i)
	}
	return b
}

func TestFramerLargeAfterSmall(t *testing.T) {
	small, large, largest := sized(100, 1), sized(20000, 2), sized(MaxMessageLen, 3)
	tests := []struct {
		name string
		msgs [][]byte
	}{
		{"small only", [][]byte{small, small, small}},
		{"a large message after small ones", [][]byte{small, small, large, small, small}},
		{"large ones in a row", [][]byte{small, large, largest, large, small}},
		{"the largest message first", [][]byte{largest, small}},
		{"the limit of the small buffer", [][]byte{sized(smallFramerBuf, 4), sized(smallFramerBuf+1, 5), sized(smallFramerBuf, 6)}},
	}
	readers := []struct {
		name string
		r    func([]byte) io.Reader
	}{
		{"all at once", func(s []byte) io.Reader { return bytes.NewReader(s) }},
		{"one byte per read", func(s []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(s)) }},
		{"odd chunks", func(s []byte) io.Reader { return &chunkReader{b: s, sizes: []int{3, 7, 100, 1, 4096, 1448, 9000}} }},
	}
	for _, tc := range tests {
		var stream []byte
		for _, m := range tc.msgs {
			stream = append(stream, m...)
		}
		for _, rd := range readers {
			for _, maxLen := range []int{0, 30000} {
				t.Run(fmt.Sprintf("%s/%s/max=%d", tc.name, rd.name, maxLen), func(t *testing.T) {
					fr := NewFramer(rd.r(stream), maxLen)
					for i, want := range tc.msgs {
						got, err := fr.Next()
						if len(want) > fr.max {
							var de *DecodeError
							require.ErrorAs(t, err, &de, "message %d", i)
							require.ErrorIs(t, err, ErrTooLong)
							require.True(t, fr.large == nil, "a failed Framer gives its pooled buffer back")
							return
						}
						require.NoError(t, err, "message %d", i)
						require.True(t, bytes.Equal(want, got), "message %d", i)
						if len(want) > smallFramerBuf {
							require.True(t, fr.large != nil, "message %d is read into a pooled buffer", i)
						}
						require.LessOrEqual(t, len(fr.buf), max(2*fr.max, smallFramerBuf), "the buffer is capped")
					}
					_, err := fr.Next()
					require.Equal(t, io.EOF, err)
					require.True(t, fr.large == nil, "the pooled buffer is given back at the end of the stream")
					require.Len(t, fr.buf, smallFramerBuf)
					require.Equal(t, int64(len(stream)), fr.Offset())
				})
			}
		}
	}
}

// TestFramerGivesBackLargeBuffer reads each message in a read of its own, so that the
// buffer is empty between messages.
func TestFramerGivesBackLargeBuffer(t *testing.T) {
	require.GreaterOrEqual(t, largestFramerBuf, 2*MaxMessageLen, "the largest pooled buffer")
	msgs := [][]byte{sized(64, 1), sized(30000, 2), sized(64, 3), sized(9000, 4), sized(9000, 5), sized(64, 6)}
	var pieces [][]byte
	for _, m := range msgs {
		pieces = append(pieces, bytes.Clone(m))
	}
	fr := NewFramer(&piecesReader{pieces: pieces}, 0)
	for i, want := range msgs {
		got, err := fr.Next()
		require.NoError(t, err, "message %d", i)
		require.True(t, bytes.Equal(want, got), "message %d", i)
		if len(want) > smallFramerBuf {
			require.True(t, fr.large != nil, "message %d is read into a pooled buffer", i)
			require.GreaterOrEqual(t, len(fr.buf), len(want)+smallFramerBuf, "room to read on after message %d", i)
		} else {
			require.True(t, fr.large == nil, "the pooled buffer is back before message %d is read", i)
			require.Len(t, fr.buf, smallFramerBuf)
		}
	}
	_, err := fr.Next()
	require.Equal(t, io.EOF, err)

	// A large message whose read brings part of the next, small, message: the rest
	// moves to the small buffer and the pooled one goes back.
	first, second := sized(20000, 7), sized(100, 8)
	stream := append(bytes.Clone(first), second...)
	fr = NewFramer(&piecesReader{pieces: [][]byte{stream[:4000], stream[4000:20050], stream[20050:]}}, 0)
	got, err := fr.Next()
	require.NoError(t, err)
	require.True(t, bytes.Equal(first, got))
	require.True(t, fr.large != nil)
	got, err = fr.Next()
	require.NoError(t, err)
	require.True(t, bytes.Equal(second, got))
	require.True(t, fr.large == nil)

	// The header of a large message in the buffer keeps the pooled buffer.
	second = sized(20000, 9)
	stream = append(bytes.Clone(first), second...)
	fr = NewFramer(&piecesReader{pieces: [][]byte{stream[:20010], stream[20010:]}}, 0)
	_, err = fr.Next()
	require.NoError(t, err)
	p := fr.large
	require.True(t, p != nil)
	got, err = fr.Next()
	require.NoError(t, err)
	require.True(t, bytes.Equal(second, got))
	require.True(t, p == fr.large, "the same pooled buffer")
}

// TestFramerManyConnections reads many streams at once, interleaved on one goroutine
// and then each on its own, all sharing the pool: every message arrives intact, and
// at the end no Framer holds a pooled buffer.
func TestFramerManyConnections(t *testing.T) {
	const conns = 64
	rng := rand.New(rand.NewPCG(1, 2))
	streams := make([][][]byte, conns)
	for i := range streams {
		for j := range 40 {
			n := HeaderLen + rng.IntN(200)
			if rng.IntN(5) == 0 {
				n = HeaderLen + rng.IntN(MaxMessageLen-HeaderLen+1)
			}
			streams[i] = append(streams[i], sized(n, byte(i*41+j)))
		}
	}
	newFramers := func() []*Framer {
		frs := make([]*Framer, conns)
		for i, msgs := range streams {
			var s []byte
			for _, m := range msgs {
				s = append(s, m...)
			}
			frs[i] = NewFramer(&chunkReader{b: s, sizes: []int{1 + rng.IntN(3000), 1448, 1 + rng.IntN(70000)}}, 0)
		}
		return frs
	}

	t.Run("interleaved", func(t *testing.T) {
		frs := newFramers()
		for j := range 40 {
			for i, fr := range frs {
				got, err := fr.Next()
				require.NoError(t, err, "connection %d, message %d", i, j)
				require.True(t, bytes.Equal(streams[i][j], got), "connection %d, message %d", i, j)
			}
		}
		for i, fr := range frs {
			_, err := fr.Next()
			require.Equal(t, io.EOF, err, "connection %d", i)
			require.True(t, fr.large == nil, "connection %d", i)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		frs := newFramers()
		errs := make(chan error, conns)
		for i, fr := range frs {
			go func() {
				for j, want := range streams[i] {
					got, err := fr.Next()
					if err != nil {
						errs <- fmt.Errorf("connection %d, message %d: %w", i, j, err)
						return
					}
					if !bytes.Equal(got, want) {
						errs <- fmt.Errorf("connection %d, message %d differs", i, j)
						return
					}
					runtime.Gosched()
				}
				if _, err := fr.Next(); err != io.EOF {
					errs <- fmt.Errorf("connection %d: %v at the end, want io.EOF", i, err)
					return
				}
				if fr.large != nil {
					errs <- fmt.Errorf("connection %d holds a pooled buffer at the end", i)
					return
				}
				errs <- nil
			}()
		}
		for range frs {
			require.NoError(t, <-errs)
		}
	})
}

// TestFramerLargeMessagesDoNotAllocate: in steady state the pooled buffers are
// reused, so large messages cost no allocation either.
func TestFramerLargeMessagesDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops buffers at random")
	}
	var stream []byte
	for i := range 20 {
		stream = append(stream, sized(100, byte(i))...)
		stream = append(stream, sized(5000+3000*i, byte(i))...)
	}
	rd := &chunkReader{}
	fr := NewFramer(rd, 0)
	sizes := []int{1448, 5000, 65536}
	run := func() {
		*rd = chunkReader{b: stream, sizes: sizes}
		fr.reset(rd)
		for {
			if _, err := fr.Next(); err == io.EOF {
				return
			} else if err != nil {
				t.Fatal(err)
			}
		}
	}
	run() // fills the pool
	if allocs := testing.AllocsPerRun(20, run); allocs > 0.5 {
		t.Errorf("%.1f allocations per stream of 40 messages, want 0", allocs)
	}
}
