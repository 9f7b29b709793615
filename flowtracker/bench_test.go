package flowtracker

import (
	"fmt"
	"runtime"
	"testing"
)

// benchKey returns a distinct key per i (up to 2^32).
func benchKey(i int) Key {
	k := udpKey(0)
	k.NWSrc = [4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
	return k
}

var sizes = []int{1_000, 100_000, 1_000_000}

// BenchmarkAdd measures inserting flows with 3-hop paths into a tracker already holding
// n flows (insert rate), with one subscriber draining nothing (events dropped, counted).
func BenchmarkAdd(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			tr := mustNew(b, Config{})
			for i := 0; i < n; i++ {
				mustAdd(b, tr, benchKey(i), line3, t0)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := tr.Add(benchKey(n+i), line3, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAddExpire measures a full flow life: Add, then FLOW_REMOVED from each of the
// three switches (the last expires it), with n other flows active and one subscriber
// reading every event.
func BenchmarkAddExpire(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			tr := mustNew(b, Config{})
			for i := 0; i < n; i++ {
				mustAdd(b, tr, benchKey(i), line3, t0)
			}
			sub := tr.Subscribe(1024)
			done := make(chan struct{})
			go func() {
				for range sub.C {
				}
				close(done)
			}()
			c := Counters{Packets: 10, Bytes: 1000}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h, _, err := tr.Add(benchKey(n+i), line3, t0)
				if err != nil {
					b.Fatal(err)
				}
				for _, hop := range line3 {
					if _, err := tr.EntryRemoved(hop.DPID, h.Cookie, c, ReasonIdleTimeout, t0); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			sub.Cancel()
			<-done
		})
	}
}

// BenchmarkResolve measures mapping a stats entry back to its flow by cookie.
func BenchmarkResolve(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			tr := mustNew(b, Config{})
			cookies := make([]uint64, n)
			for i := range cookies {
				cookies[i] = mustAdd(b, tr, benchKey(i), line3, t0).Cookie
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok := tr.Resolve(cookies[i%n], Key{}); !ok {
					b.Fatal("not found")
				}
			}
		})
	}
}

// BenchmarkRange measures visiting every flow.
func BenchmarkRange(b *testing.B) {
	for _, n := range sizes[:2] {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			tr := mustNew(b, Config{})
			for i := 0; i < n; i++ {
				mustAdd(b, tr, benchKey(i), line3, t0)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				seen := 0
				tr.Range(func(Flow) bool { seen++; return true })
				if seen != n {
					b.Fatalf("saw %d", seen)
				}
			}
		})
	}
}

// BenchmarkMemory reports the live heap per flow (bytes/flow) of a tracker holding n
// flows with 3-hop paths, measured with runtime.MemStats after a GC.
func BenchmarkMemory(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var perFlow float64
			for i := 0; i < b.N; i++ {
				before := heapInUse()
				tr := mustNew(b, Config{})
				for j := 0; j < n; j++ {
					mustAdd(b, tr, benchKey(j), line3, t0)
				}
				after := heapInUse()
				perFlow = float64(after-before) / float64(n)
				runtime.KeepAlive(tr)
			}
			b.ReportMetric(perFlow, "bytes/flow")
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
