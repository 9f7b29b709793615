package ofproto

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkFramerConns frames one polling round on each of many connections, as a
// controller's readers do: every switch sends a flow stats reply of 100 entries
// (about 10 KiB), an echo request and a PACKET_IN, in 1,448-byte reads. One op is a
// round over all connections. heap-B/conn is the live heap per connection after the
// rounds (a forced GC), which is what the Framers keep between rounds.
func BenchmarkFramerConns(b *testing.B) {
	var round []byte
	msgs := 0
	for _, p := range flowStatsReplyParts(b, 100) {
		round = append(round, p...)
		msgs++
	}
	for _, m := range []Message{
		&EchoRequest{Data: []byte("keepalive")},
		&PacketIn{BufferID: BufferNone, TotalLen: 98, InPort: 1, Data: make([]byte, 98)},
	} {
		p, err := m.MarshalBinary()
		require.NoError(b, err)
		round = append(round, p...)
		msgs++
	}
	for _, conns := range []int{100, 1000} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			heap0 := ms.HeapAlloc
			rds := make([]*chunkReader, conns)
			frs := make([]*Framer, conns)
			sizes := []int{1448}
			for i := range frs {
				rds[i] = &chunkReader{sizes: sizes}
				frs[i] = NewFramer(rds[i], 0)
			}
			b.SetBytes(int64(len(round) * conns))
			b.ReportAllocs()
			for b.Loop() {
				for i, fr := range frs {
					rds[i].b = round
					for range msgs {
						if _, err := fr.Next(); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(int64(ms.HeapAlloc)-int64(heap0))/float64(conns), "heap-B/conn")
			runtime.KeepAlive(frs)
		})
	}
}
