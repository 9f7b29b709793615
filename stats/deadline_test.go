package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/internal/gcload"
)

// The heap gives its entries back in time order whatever mix of pushes,
// pops and top replacements built it.
func TestDeadlinesOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		var h deadlines
		var ref []int64
		for range rng.IntN(300) {
			switch op := rng.IntN(4); {
			case op < 2 || len(h) == 0:
				at := rng.Int64N(1000)
				h.push(deadline{at: at})
				ref = append(ref, at)
			case op == 2:
				slices.Sort(ref)
				if got := h.pop().at; got != ref[0] {
					t.Fatalf("trial %d: pop %d, want %d", trial, got, ref[0])
				}
				ref = ref[1:]
			default:
				slices.Sort(ref)
				if h[0].at != ref[0] {
					t.Fatalf("trial %d: top %d, want %d", trial, h[0].at, ref[0])
				}
				at := ref[0] + rng.Int64N(1000)
				h.replaceTop(deadline{at: at})
				ref[0] = at
			}
		}
		slices.Sort(ref)
		for i, want := range ref {
			if got := h.pop().at; got != want {
				t.Fatalf("trial %d: draining, entry %d is %d, want %d", trial, i, got, want)
			}
		}
		if len(h) != 0 {
			t.Fatalf("trial %d: %d entries left", trial, len(h))
		}
	}
}

// The store's pattern at scale: every flow's deadline falls due and goes
// back in one interval later (its flow was read since it was queued), as a
// replacement of the top (what Store.advance does) and as a pop and a push.
// An op is one flow's turn.
func BenchmarkDeadlineRequeue(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		for _, how := range []string{"replace", "pop-push", "replace,gc"} {
			b.Run(fmt.Sprint("flows=", n, "/", how), func(b *testing.B) {
				// The flows' records, live as in a store: the heap the
				// collector marks.
				fss := make([]*flowState, n)
				for i := range fss {
					fss[i] = &flowState{}
				}
				if how == "replace,gc" {
					defer gcload.MarkThroughout(0)()
				}
				const period = int64(3e9)
				rng := rand.New(rand.NewPCG(3, 4))
				var h deadlines
				for i := range n {
					h.push(benchEntry(fss, i, rng.Int64N(period)))
				}
				b.ResetTimer()
				for b.Loop() {
					if how != "pop-push" {
						top := h[0]
						top.at += period
						h.replaceTop(top)
						continue
					}
					top := h.pop()
					top.at += period
					h.push(top)
				}
				runtime.KeepAlive(fss)
			})
		}
	}
}

// benchEntry is flow i's entry in the queue at time at.
func benchEntry(_ []*flowState, i int, at int64) deadline {
	return deadline{at: at, slot: uint32(i + 1)}
}

// TestStalenessWithSlotReuse drives flows through readings, ends, prunes and new
// flows (which take the slots of pruned ones while the queue still names them) on
// a random clock: after every tick each active flow read at least once is stale
// exactly when its reading's validity has passed, and the aggregates count only
// the rates of flows that are not stale.
func TestStalenessWithSlotReuse(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewPCG(seed, 14))
		s := newStore(t, Config{Interval: time.Second, Retain: time.Nanosecond})
		now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
		active := map[uint64]bool{}
		counter := map[uint64]uint64{}
		next := uint64(1)
		for step := range 3000 {
			now = now.Add(time.Duration(rng.IntN(700)) * time.Millisecond)
			switch k := rng.IntN(10); {
			case k < 3:
				src, dst := HostID{MAC: [6]byte{5: byte(rng.IntN(5))}}, HostID{MAC: [6]byte{4: 1, 5: byte(rng.IntN(5))}}
				err := s.AddFlow(FlowInfo{ID: next, Src: src, Dst: dst, Start: now,
					Path: []Hop{{DPID: 1, InPort: 1, OutPort: 2}}})
				if err != nil {
					t.Fatal(err)
				}
				active[next] = true
				next++
			case k < 7 && len(active) > 0:
				for id := range active {
					counter[id] += uint64(1 + rng.IntN(5000))
					iv := time.Duration(1+rng.IntN(3)) * 500 * time.Millisecond
					if _, err := s.Observe(Reading{Flow: id, DPID: 1, Bytes: counter[id], Packets: counter[id] / 100,
						At: now, Source: SourcePollAll, Interval: iv}); err != nil {
						t.Fatal(err)
					}
					if rng.IntN(3) == 0 {
						break
					}
				}
			case k < 8 && len(active) > 0:
				for id := range active {
					if err := s.End(id, now); err != nil {
						t.Fatal(err)
					}
					delete(active, id)
					break
				}
			case k < 9:
				s.Prune(now)
			default:
				s.Tick(now)
				var sum float64
				for id := range active {
					f, ok := s.Flow(id)
					if !ok {
						t.Fatalf("seed %d step %d: flow %d unknown", seed, step, id)
					}
					if f.Readings == 0 {
						continue
					}
					if want := !now.Before(f.ValidUntil); f.Stale != want {
						t.Fatalf("seed %d step %d: flow %d stale %v at %v, valid until %v", seed, step, id, f.Stale, now, f.ValidUntil)
					}
					sum += f.CurrentBps()
				}
				var cells float64
				for _, c := range s.Matrix() {
					cells += c.RateBps
				}
				if math.Abs(cells-sum) > 1e-6*max(1, sum) {
					t.Fatalf("seed %d step %d: the matrix carries %g, fresh flows %g", seed, step, cells, sum)
				}
			}
		}
		if len(s.slots) > int(next) {
			t.Fatalf("seed %d: %d slots for %d flows", seed, len(s.slots), next)
		}
	}
}
