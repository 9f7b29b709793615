package ofproto

import (
	"bytes"
	"errors"
	"io"
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
		*fr = Framer{r: r, max: fr.max, buf: fr.buf}
		for range msgs {
			_, err := fr.Next()
			require.NoError(t, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per stream of %d messages, want 0", allocs, len(msgs))
	}
}
