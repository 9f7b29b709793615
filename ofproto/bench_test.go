package ofproto

import (
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// reportCPU adds cpu-ns/op: CPU time per operation, which other jobs on a
// shared machine do not inflate the way they inflate wall-clock ns/op.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if cpu := cpuTime() - cpu0; cpu > 0 && b.N > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFlowStatsIter decodes an OFPST_FLOW reply of n entries (split
// into 64 KiB messages as Open vSwitch sends it) with the zero-allocation
// iterator; entries/s is the figure BENCHMARKS.md quotes.
func BenchmarkFlowStatsIter(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		parts := flowStatsReplyParts(b, n)
		size := 0
		for _, p := range parts {
			size += len(p)
		}
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			var it FlowStatsIter
			var sum uint64
			b.SetBytes(int64(size))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				for _, p := range parts {
					require.NoError(b, it.Reset(p))
					for it.Next() {
						sum += it.Entry().PacketCount
					}
					if it.Err() != nil {
						b.Fatal(it.Err())
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			if cpu := cpuTime() - cpu0; cpu > 0 {
				// Per second of CPU the process used: what one core
				// does, even when other work shares the machine.
				b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "entries/cpu-s")
			}
			_ = sum
		})
	}
}

// BenchmarkDecodeFlowStatsReply is the copying decoder on the same input,
// for comparison.
func BenchmarkDecodeFlowStatsReply(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		parts := flowStatsReplyParts(b, n)
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, p := range parts {
					if _, err := Decode(p); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

func BenchmarkPacketInDecodeFromBytes(b *testing.B) {
	for _, size := range []int{64, 1500, 9000} {
		msg, err := (&PacketIn{BufferID: BufferNone, TotalLen: uint16(size), InPort: 1, Data: make([]byte, size)}).MarshalBinary()
		require.NoError(b, err)
		b.Run(fmt.Sprintf("data=%d", size), func(b *testing.B) {
			var pi PacketIn
			b.ReportAllocs()
			for b.Loop() {
				require.NoError(b, pi.DecodeFromBytes(msg))
			}
		})
	}
}

func BenchmarkFlowRemovedDecodeFromBytes(b *testing.B) {
	msg, err := (&FlowRemoved{Match: testMatch(), Cookie: 1, PacketCount: 2, ByteCount: 3}).MarshalBinary()
	require.NoError(b, err)
	var fr FlowRemoved
	b.ReportAllocs()
	for b.Loop() {
		require.NoError(b, fr.DecodeFromBytes(msg))
	}
}

// BenchmarkEncodeFlowMod encodes a FLOW_MOD with n actions into a reused
// buffer.
func BenchmarkEncodeFlowMod(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		acts := make([]Action, 0, n)
		for i := 0; i < n; i++ {
			acts = append(acts, allActions()[i%13])
		}
		fm := &FlowMod{Match: testMatch(), Cookie: 42, Command: FlowAdd, IdleTimeout: 10, Priority: 100,
			BufferID: BufferNone, OutPort: PortNone, Flags: FlagSendFlowRem, Actions: acts}
		b.Run(fmt.Sprintf("actions=%d", n), func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.SetBytes(int64(fm.Len()))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				var err error
				if buf, err = AppendMarshal(buf[:0], fm); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu0)
		})
	}
}

// BenchmarkEncodePacketOut encodes a PACKET_OUT carrying size bytes of frame.
func BenchmarkEncodePacketOut(b *testing.B) {
	for _, size := range []int{64, 1500, 9000} {
		po := &PacketOut{BufferID: BufferNone, InPort: PortController,
			Actions: []Action{&OutputAction{Port: 3}}, Data: make([]byte, size)}
		b.Run(fmt.Sprintf("data=%d", size), func(b *testing.B) {
			buf := make([]byte, 0, 16<<10)
			b.SetBytes(int64(po.Len()))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				var err error
				if buf, err = AppendMarshal(buf[:0], po); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu0)
		})
	}
}

// mixedStream is about size bytes of the messages a controller receives:
// packet-ins, flow-removeds, echo requests and multi-part flow stats replies.
func mixedStream(b *testing.B, size int) ([]byte, int) {
	var parts [][]byte
	for _, m := range []Message{
		&PacketIn{BufferID: BufferNone, TotalLen: 98, InPort: 1, Data: make([]byte, 98)},
		&FlowRemoved{Match: testMatch()},
		&EchoRequest{Data: []byte("keepalive")},
	} {
		p, err := m.MarshalBinary()
		require.NoError(b, err)
		parts = append(parts, p)
	}
	parts = append(parts, flowStatsReplyParts(b, 700)...)
	var s []byte
	n := 0
	for len(s) < size {
		for _, p := range parts {
			s = append(s, p...)
			n++
		}
	}
	return s, n
}

// BenchmarkFramer frames a stream of mixed messages read in 4 KiB reads.
func BenchmarkFramer(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20, 8 << 20} {
		stream, msgs := mixedStream(b, size)
		b.Run(fmt.Sprintf("stream=%dKiB", size>>10), func(b *testing.B) {
			rd := &chunkReader{}
			sizes := []int{4096}
			fr := NewFramer(rd, 0)
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			cpu0 := cpuTime()
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
			reportCPU(b, cpu0)
		})
	}
}
