package stats

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/internal/gcload"
)

// setupBench registers n flows over 4-hop paths among 64 hosts on 32 switches.
func setupBench(b *testing.B, n int) *Store {
	b.Helper()
	s, err := New(Config{History: 16})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		path := make([]Hop, 4)
		for j := range path {
			path[j] = Hop{DPID: uint64((i + j*7) % 32), InPort: uint16(j), OutPort: uint16(j + 1)}
		}
		if err := s.AddFlow(FlowInfo{ID: uint64(i), Src: benchHost(i % 64), Dst: benchHost((i*13 + 1) % 64), Path: path, Start: t0}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// benchHost is host i of the benchmarks: MAC 00:00:00:00:00:i, IP 10.0.0.i.
func benchHost(i int) HostID {
	return HostID{MAC: [6]byte{5: byte(i)}, IP: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})}
}

// BenchmarkObserve measures one reading's update (flow counters, rate,
// history, and the sums of its 3 links, its matrix cell and its 2 hosts).
func BenchmarkObserve(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint("flows=", n), func(b *testing.B) {
			s := setupBench(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				round := uint64(i/n + 1)
				r := Reading{Flow: uint64(i % n), DPID: uint64(i % 32), Bytes: round * 1000, Packets: round,
					Duration: time.Duration(round) * time.Second, At: t0.Add(time.Duration(round) * time.Second), Source: SourcePollAll}
				if _, err := s.Observe(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLinkLoads measures a full read of the link loads.
func BenchmarkLinkLoads(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint("flows=", n), func(b *testing.B) {
			s := setupBench(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = s.LinkLoads()
			}
		})
	}
}

// BenchmarkFlows measures a full read of every flow's statistics.
func BenchmarkFlows(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprint("flows=", n), func(b *testing.B) {
			s := setupBench(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = s.Flows()
			}
		})
	}
}

// BenchmarkTick measures one clock tick: a history sample for every link,
// matrix cell and host, and the window trim of every flow's history. Each
// tick moves the clock one second, past the staleness limit of the flows
// read at the start, so the first ticks also take their rates out.
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint("flows=", n), func(b *testing.B) {
			s := setupBench(b, n)
			for i := 0; i < n; i++ {
				if _, err := s.Observe(Reading{Flow: uint64(i), DPID: 1, Bytes: 1000, Packets: 1, Duration: time.Second,
					At: t0.Add(time.Second), Source: SourcePollAll}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s.Tick(t0.Add(time.Duration(i+2) * time.Second))
			}
		})
	}
}

// BenchmarkSnapshot measures a consistent read of every figure.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprint("flows=", n), func(b *testing.B) {
			s := setupBench(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = s.Snapshot()
			}
		})
	}
}

// benchAt and benchCount move on across the runs of BenchmarkTotals/incremental.
var (
	benchAt    = time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	benchCount uint64
)

// BenchmarkTotals measures the statistics totals' saving pass over 10,000 flows: a
// whole pass (mark 0) and an incremental one after 100 readings.
func BenchmarkTotals(b *testing.B) {
	s, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	path := []Hop{{DPID: 1, InPort: 1, OutPort: 2}, {DPID: 2, InPort: 1, OutPort: 2}}
	t0 := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for i := range 10000 {
		if err := s.AddFlow(FlowInfo{ID: uint64(i + 1), Src: benchHost(i % 200), Dst: benchHost(i%200 + 1), Path: path, Start: t0}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			s.Totals(0)
		}
	})
	b.Run("incremental", func(b *testing.B) {
		b.ReportAllocs()
		_, mark := s.Totals(0)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			benchAt = benchAt.Add(time.Second)
			at := benchAt
			for j := range 100 {
				benchCount++
				if _, err := s.Observe(Reading{Flow: uint64(j*97%10000 + 1), DPID: 1, Bytes: benchCount * 1000,
					Packets: benchCount, At: at, Source: SourcePollAll}); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			_, mark = s.Totals(mark)
		}
	})
}

// BenchmarkObserveScattered is BenchmarkObserve with the readings of a round in
// the order a round's replies bring them (switch by switch, so in no order of the
// flows' own), among 10,000 hosts on 1,000 switches: every reading then finds
// its flow, history, cell and hosts out of the processor's caches, as it does
// in a real round.
func BenchmarkObserveScattered(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint("flows=", n), func(b *testing.B) {
			s, order := setupScattered(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Observe(scatteredReading(order, i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// scatteredReading is reading i of the scattered benchmarks: round i/n+1's
// reading of flow order[i%n], each round's counters 1,000 bytes on.
func scatteredReading(order []int, i int) Reading {
	n := len(order)
	round := uint64(i/n + 1)
	return Reading{Flow: uint64(order[i%n]), DPID: 1, Bytes: round * 1000, Packets: round,
		Duration: time.Duration(round) * time.Second, At: t0.Add(time.Duration(round) * time.Second), Source: SourcePollSingle}
}

// setupScattered registers n flows over paths of 1 to 5 hops among 10,000
// hosts on 1,000 switches, each at random, and returns them in a random order
// of reading.
func setupScattered(b *testing.B, n int) (*Store, []int) {
	return setupPaths(b, n, func(rng *rand.Rand) []Hop {
		path := make([]Hop, 1+rng.IntN(5))
		for j := range path {
			path[j] = Hop{DPID: uint64(rng.IntN(1000)), InPort: uint16(j), OutPort: uint16(j + 1)}
		}
		return path
	})
}

// setupPaths registers n flows, each over a path newPath draws and between two of
// 10,000 hosts at random, and returns them in a random order of reading.
func setupPaths(b *testing.B, n int, newPath func(rng *rand.Rand) []Hop) (*Store, []int) {
	b.Helper()
	s, err := New(Config{History: 8})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		path := newPath(rng)
		if err := s.AddFlow(FlowInfo{ID: uint64(i), Src: benchHost16(rng.IntN(10_000)), Dst: benchHost16(rng.IntN(10_000)), Path: path, Start: t0}); err != nil {
			b.Fatal(err)
		}
	}
	return s, rand.New(rand.NewPCG(3, 4)).Perm(n)
}

// benchHost16 is host i of the larger benchmarks: IP 10.0.i/256.i%256.
func benchHost16(i int) HostID {
	return HostID{MAC: [6]byte{4: byte(i >> 8), 5: byte(i)}, IP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})}
}

// BenchmarkObserveBatch is BenchmarkObserveScattered through ObserveBatch, a
// round's readings 1,024 at a time as the collector hands them on.
func BenchmarkObserveBatch(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint("flows=", n), func(b *testing.B) {
			s, order := setupScattered(b, n)
			rs := make([]Reading, 0, observeBatchBench)
			var out []FlowSample
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rs = append(rs, scatteredReading(order, i))
				if len(rs) == observeBatchBench || i == b.N-1 || (i+1)%n == 0 {
					var taken []Reading
					taken, out = s.ObserveBatch(rs, out[:0])
					if len(taken) != len(rs) {
						b.Fatalf("took %d of %d", len(taken), len(rs))
					}
					rs = rs[:0]
				}
			}
		})
	}
}

const observeBatchBench = 1024

// BenchmarkRoundTick is BenchmarkObserveBatch with the store's clock ticking once
// a round, as cemon's does once a second: an op is one reading and its share of
// the round's Tick. The 10,000 hosts make nearly every flow a matrix cell of its
// own, as at data-centre scale; the paths run along a ring of 1,000 switches, so
// that the links are a few thousand, as in a real network.
func BenchmarkRoundTick(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint("flows=", n), func(b *testing.B) { benchRoundTick(b, n, false) })
		// With the garbage collector marking throughout, as it does in a process
		// holding a million flows: what the store's pointer writes cost then.
		b.Run(fmt.Sprint("flows=", n, ",gc"), func(b *testing.B) { benchRoundTick(b, n, true) })
	}
}

func benchRoundTick(b *testing.B, n int, gc bool) {
	s, order := setupPaths(b, n, func(rng *rand.Rand) []Hop {
		path := make([]Hop, 1+rng.IntN(5))
		first := rng.IntN(1000)
		for j := range path {
			path[j] = Hop{DPID: uint64((first + j) % 1000), InPort: 1, OutPort: 2}
		}
		return path
	})
	rs := make([]Reading, 0, observeBatchBench)
	var out []FlowSample
	var tick time.Duration
	if gc {
		defer gcload.MarkThroughout(0)()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rs = append(rs, scatteredReading(order, i))
		if len(rs) == observeBatchBench || i == b.N-1 || (i+1)%n == 0 {
			_, out = s.ObserveBatch(rs, out[:0])
			rs = rs[:0]
		}
		if (i+1)%n == 0 {
			t := time.Now()
			s.Tick(t0.Add(time.Duration(i/n+1)*time.Second + time.Second/2))
			tick += time.Since(t)
		}
	}
	b.ReportMetric(float64(tick.Nanoseconds())/float64(b.N), "tick-ns/op")
}

// BenchmarkObserveBatchRefused feeds batches of readings older than the flows'
// last (a late batch after the round read the same flows elsewhere), all of which
// the store refuses: an op is one reading.
func BenchmarkObserveBatchRefused(b *testing.B) {
	const n = 100_000
	s, order := setupScattered(b, n)
	rs := make([]Reading, 0, n)
	for i := range n {
		rs = append(rs, scatteredReading(order, n+i)) // round 2
	}
	s.ObserveBatch(rs, nil)
	old := make([]Reading, 0, observeBatchBench)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		old = append(old, scatteredReading(order, i%n)) // round 1
		if len(old) == observeBatchBench || i == b.N-1 {
			if taken, _ := s.ObserveBatch(old, nil); len(taken) != 0 {
				b.Fatalf("%d old readings taken", len(taken))
			}
			old = old[:0]
		}
	}
}
