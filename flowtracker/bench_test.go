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

// BenchmarkRemoveSwitch measures a switch leaving (RemoveSwitch) with n flows tracked,
// 3-hop paths spread over 1,000 switches (each switch on about 3n/1,000 paths), and
// RangeSwitch over the same switch (what Routing walks to delete the flows' other
// entries). The flows are put back between iterations, untimed.
func BenchmarkRemoveSwitch(b *testing.B) {
	const switches = 1000
	for _, n := range sizes {
		tr := mustNew(b, Config{})
		paths := make([][]Hop, n)
		for i := range n {
			a := uint64(i % switches)
			paths[i] = []Hop{{DPID: 1 + a, InPort: 1, OutPort: 2}, {DPID: 1 + (a+1)%switches, InPort: 1, OutPort: 2},
				{DPID: 1 + (a+2)%switches, InPort: 1, OutPort: 3}}
			mustAdd(b, tr, benchKey(i), paths[i], t0)
		}
		const dpid = 500
		var through []int
		for i := range n {
			for _, h := range paths[i] {
				if h.DPID == dpid {
					through = append(through, i)
				}
			}
		}
		b.Run(fmt.Sprintf("flows=%d/RemoveSwitch", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				tr.RemoveSwitch(dpid, t0)
				b.StopTimer()
				for _, j := range through {
					mustAdd(b, tr, benchKey(j), paths[j], t0) // supersedes the draining flow
				}
				if tr.OnSwitch(dpid) != len(through) {
					b.Fatalf("%d flows on the switch, want %d", tr.OnSwitch(dpid), len(through))
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(len(through)), "flows-through")
		})
		b.Run(fmt.Sprintf("flows=%d/RangeSwitch", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				seen := 0
				tr.RangeSwitch(dpid, func(Flow) bool { seen++; return true })
				if seen != len(through) {
					b.Fatalf("saw %d, want %d", seen, len(through))
				}
			}
		})
	}
}
