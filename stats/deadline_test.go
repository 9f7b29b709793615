package stats

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
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
		for _, how := range []string{"replace", "pop-push"} {
			b.Run(fmt.Sprint("flows=", n, "/", how), func(b *testing.B) {
				const period = int64(3e9)
				rng := rand.New(rand.NewPCG(3, 4))
				var h deadlines
				for range n {
					h.push(deadline{at: rng.Int64N(period)})
				}
				b.ResetTimer()
				for b.Loop() {
					if how == "replace" {
						top := h[0]
						h.replaceTop(deadline{at: top.at + period, fs: top.fs})
						continue
					}
					top := h.pop()
					h.push(deadline{at: top.at + period, fs: top.fs})
				}
			})
		}
	}
}
