package afps

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"
)

// TaskKind is the operation a task applies to its flows' latest rates
// (algorithms.md section 5; the paper's Eq. 17 and its variants).
type TaskKind uint8

// The tasks.
const (
	LinkUtilization TaskKind = iota // sum of the rates
	Matrix                          // sum per (source host, destination host)
	HeavyHitters                    // top-k flows and the flows over a threshold
)

var taskNames = [...]string{"link", "matrix", "heavy"}

// String returns link, matrix or heavy.
func (k TaskKind) String() string {
	if int(k) < len(taskNames) {
		return taskNames[k]
	}
	return fmt.Sprintf("TaskKind(%d)", uint8(k))
}

// ParseTaskKind reads link (also link_utilization), matrix or heavy (also
// heavy_hitters).
func ParseTaskKind(s string) (TaskKind, error) {
	switch s {
	case "link", "link_utilization":
		return LinkUtilization, nil
	case "matrix", "traffic_matrix":
		return Matrix, nil
	case "heavy", "heavy_hitters":
		return HeavyHitters, nil
	}
	return 0, fmt.Errorf("%w: unknown task %q (want link, matrix or heavy)", ErrBadTask, s)
}

// HostPair is one cell of a traffic matrix.
type HostPair struct{ Src, Dst netip.Addr }

// String returns "SRC>DST".
func (h HostPair) String() string { return h.Src.String() + ">" + h.Dst.String() }

// FlowRate is one flow's latest rate as a task sees it.
type FlowRate struct {
	ID    uint64
	Hosts HostPair
	Rate  float64 // bytes/s
}

// Task is an operation over a flow set's rates. K and Threshold are for heavy hitters
// (K default 10; Threshold in bytes/s, 0 meaning none).
type Task struct {
	Kind      TaskKind
	K         int
	Threshold float64
}

// DefaultK is the heavy hitters' default k.
const DefaultK = 10

// Value is a task's value at one instant.
type Value struct {
	At     time.Time
	Sum    float64              // link utilization: bytes/s (also filled for the others)
	Matrix map[HostPair]float64 // traffic matrix: bytes/s per host pair with traffic
	Top    []FlowRate           // heavy hitters: the k fastest flows, fastest first
	Over   []FlowRate           // heavy hitters: flows over Threshold, fastest first
}

// Evaluate computes the task's value from the flows' rates (flows with rate 0 count
// for nothing). It does not keep rates.
func (t Task) Evaluate(at time.Time, rates []FlowRate) Value {
	v := Value{At: at}
	for _, r := range rates {
		v.Sum += r.Rate
	}
	switch t.Kind {
	case Matrix:
		v.Matrix = make(map[HostPair]float64)
		for _, r := range rates {
			if r.Rate > 0 {
				v.Matrix[r.Hosts] += r.Rate
			}
		}
	case HeavyHitters:
		k := t.K
		if k <= 0 {
			k = DefaultK
		}
		v.Top = TopK(rates, k)
		if t.Threshold > 0 {
			for _, r := range rates {
				if r.Rate > t.Threshold {
					v.Over = append(v.Over, r)
				}
			}
			sortByRate(v.Over)
		}
	}
	return v
}

func sortByRate(rs []FlowRate) {
	slices.SortFunc(rs, func(a, b FlowRate) int {
		if c := cmp.Compare(b.Rate, a.Rate); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// TopK returns the k flows with the highest positive rates, fastest first (ties by id).
func TopK(rates []FlowRate, k int) []FlowRate {
	var out []FlowRate
	for _, r := range rates {
		if r.Rate > 0 {
			out = append(out, r)
		}
	}
	sortByRate(out)
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// Series keeps a task's most recent values (a ring of at most Cap values).
type Series struct {
	Cap  int
	vals []Value
	next int
	full bool
}

// Add records v, dropping the oldest value when full.
func (s *Series) Add(v Value) {
	c := s.Cap
	if c <= 0 {
		c = 600
	}
	if len(s.vals) < c {
		s.vals = append(s.vals, v)
		return
	}
	s.vals[s.next] = v
	s.next = (s.next + 1) % c
	s.full = true
}

// Values returns the recorded values, oldest first.
func (s *Series) Values() []Value {
	if !s.full {
		return slices.Clone(s.vals)
	}
	return append(slices.Clone(s.vals[s.next:]), s.vals[:s.next]...)
}

// RelError is Eq. 20: the mean of |x_i − x̂_i| / x_i over the instants with x_i > 0,
// and the number of such instants. truth and reported are aligned by index.
func RelError(truth, reported []float64) (float64, int) {
	var sum float64
	n := 0
	for i, x := range truth {
		if !(x > 0) || i >= len(reported) {
			continue
		}
		sum += math.Abs(x-reported[i]) / x
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// F1 is the F1 score of a reported set against the true one (1 when both are empty).
func F1(truth, reported []uint64) float64 {
	if len(truth) == 0 && len(reported) == 0 {
		return 1
	}
	in := make(map[uint64]bool, len(truth))
	for _, id := range truth {
		in[id] = true
	}
	hit := 0
	for _, id := range reported {
		if in[id] {
			hit++
		}
	}
	if hit == 0 {
		return 0
	}
	p := float64(hit) / float64(len(reported))
	r := float64(hit) / float64(len(truth))
	return 2 * p * r / (p + r)
}
