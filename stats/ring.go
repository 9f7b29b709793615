package stats

// ring is a bounded history: it keeps the last limit samples in order. Its
// buffer grows with the samples pushed, up to limit, so that a series read
// only a few times (most flows are short) holds only those few.
type ring[T any] struct {
	buf   []T
	limit int
	next  int // index the next push writes when full
}

func newRing[T any](n int) ring[T] {
	return ring[T]{limit: n}
}

func (r *ring[T]) full() bool { return len(r.buf) >= r.limit }

func (r *ring[T]) push(v T) {
	if r.limit <= 0 {
		return
	}
	if !r.full() {
		r.buf = append(r.buf, v)
		return
	}
	r.buf[r.next] = v
	r.next++
	if r.next == len(r.buf) {
		r.next = 0
	}
}

// slice returns a copy of the samples, oldest first.
func (r *ring[T]) slice() []T {
	out := make([]T, 0, len(r.buf))
	if !r.full() {
		return append(out, r.buf...)
	}
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// last returns the newest sample.
func (r *ring[T]) last() (T, bool) {
	var zero T
	if len(r.buf) == 0 {
		return zero, false
	}
	if !r.full() || r.next == 0 {
		return r.buf[len(r.buf)-1], true
	}
	return r.buf[r.next-1], true
}
