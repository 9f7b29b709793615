package stats

// ring is a bounded history: it keeps the last cap samples in order.
type ring[T any] struct {
	buf  []T
	next int // index the next push writes when full
	full bool
}

func newRing[T any](n int) ring[T] {
	return ring[T]{buf: make([]T, 0, n)}
}

func (r *ring[T]) push(v T) {
	if cap(r.buf) == 0 {
		return
	}
	if !r.full {
		r.buf = append(r.buf, v)
		if len(r.buf) == cap(r.buf) {
			r.full = true
		}
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
	if !r.full {
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
	if !r.full || r.next == 0 {
		return r.buf[len(r.buf)-1], true
	}
	return r.buf[r.next-1], true
}
