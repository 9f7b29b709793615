package cluster

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hopsOf(kv ...int) map[uint64]int {
	m := map[uint64]int{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[uint64(kv[i])] = kv[i+1]
	}
	return m
}

func TestAssign(t *testing.T) {
	cases := []struct {
		name  string
		cands []Candidate
		prev  map[uint64]string
		want  map[uint64]string
	}{
		{"none", nil, nil, map[uint64]string{}},
		{"nearest", []Candidate{
			{"a", hopsOf(1, 1, 2, 3, 3, 3)},
			{"b", hopsOf(1, 3, 2, 1, 3, 3)},
			{"c", hopsOf(1, 3, 2, 3, 3, 1)},
		}, nil, map[uint64]string{1: "a", 2: "b", 3: "c"}},
		{"balanced: a is nearest to all four but takes two", []Candidate{
			{"a", hopsOf(1, 1, 2, 1, 3, 1, 4, 1)},
			{"b", hopsOf(1, 2, 2, 2, 3, 3, 4, 2)},
		}, nil, map[uint64]string{1: "a", 2: "a", 3: "b", 4: "b"}},
		{"only connected candidates", []Candidate{
			{"a", hopsOf(1, 1, 2, 1, 3, 1)},
			{"b", hopsOf(3, 5)},
		}, nil, map[uint64]string{1: "a", 2: "a", 3: "b"}},
		{"full candidates still take a switch nobody else reaches", []Candidate{
			{"a", hopsOf(1, 1, 2, 1, 3, 1)},
			{"b", hopsOf(1, 1)},
		}, nil, map[uint64]string{1: "a", 2: "a", 3: "a"}},
		{"ties go to the current master", []Candidate{
			{"a", hopsOf(1, 1, 2, 1)},
			{"b", hopsOf(1, 1, 2, 1)},
		}, map[uint64]string{1: "b", 2: "a"}, map[uint64]string{1: "b", 2: "a"}},
		{"ties without a master go to the smaller id", []Candidate{
			{"b", hopsOf(1, 1, 2, 1)},
			{"a", hopsOf(1, 1, 2, 1)},
		}, nil, map[uint64]string{1: "a", 2: "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Assign(tc.cands, tc.prev))
		})
	}
}

// TestAssignProperties: on random instances every switch someone reaches gets one
// master that reaches it; with everyone connected to everything no master holds more
// than its share; the result does not depend on the order of the candidates; and the
// cost is never above giving every switch to one candidate.
func TestAssignProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		n, s := 1+r.IntN(5), 1+r.IntN(30)
		full := r.IntN(2) == 0
		var cands []Candidate
		for c := range n {
			h := map[uint64]int{}
			for d := range s {
				if full || r.IntN(3) > 0 {
					h[uint64(d+1)] = 1 + r.IntN(6)
				}
			}
			cands = append(cands, Candidate{ID: fmt.Sprintf("i%d", c), Hops: h})
		}
		got := Assign(cands, nil)
		reached := map[uint64]bool{}
		for _, c := range cands {
			for d := range c.Hops {
				reached[d] = true
			}
		}
		require.Len(t, got, len(reached), "case %d", i)
		load := map[string]int{}
		for d, id := range got {
			var c *Candidate
			for k := range cands {
				if cands[k].ID == id {
					c = &cands[k]
				}
			}
			require.NotNil(t, c)
			_, ok := c.Hops[d]
			require.True(t, ok, "case %d: %s masters %d it is not connected to", i, id, d)
			load[id]++
		}
		if full {
			for id, l := range load {
				require.LessOrEqual(t, l, (s+n-1)/n, "case %d: %s", i, id)
			}
		}
		rev := append([]Candidate(nil), cands...)
		for a, b := 0, len(rev)-1; a < b; a, b = a+1, b-1 {
			rev[a], rev[b] = rev[b], rev[a]
		}
		require.Equal(t, got, Assign(rev, nil), "case %d: order matters", i)
		require.Equal(t, got, Assign(cands, got), "case %d: not stable", i)
	}
}

func BenchmarkAssign(b *testing.B) {
	for _, size := range []struct{ inst, sw int }{{3, 11}, {8, 200}, {16, 1000}} {
		b.Run(fmt.Sprintf("instances=%d/switches=%d", size.inst, size.sw), func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, 4))
			var cands []Candidate
			for c := range size.inst {
				h := map[uint64]int{}
				for d := range size.sw {
					h[uint64(d+1)] = 1 + r.IntN(8)
				}
				cands = append(cands, Candidate{ID: fmt.Sprintf("i%d", c), Hops: h})
			}
			b.ReportAllocs()
			for b.Loop() {
				Assign(cands, nil)
			}
		})
	}
}
