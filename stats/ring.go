package stats

import "time"

// series is a bounded history: the last limit samples, oldest first, from
// which dropBefore removes those older than a time window. Its buffer grows
// with the samples pushed, up to limit, so that a series read only a few
// times (most flows are short) holds only those few.
type series struct {
	buf   []Sample
	head  int // index of the oldest sample
	n     int // samples held
	limit int
}

func newSeries(limit int) series { return series{limit: limit} }

func (r *series) push(v Sample) {
	switch {
	case r.limit <= 0:
	case r.n < len(r.buf): // room left by dropBefore
		r.buf[(r.head+r.n)%len(r.buf)] = v
		r.n++
	case len(r.buf) < r.limit:
		if r.head != 0 {
			r.buf, r.head = r.slice(), 0
		}
		r.buf = append(r.buf, v)
		r.n++
	default: // full: overwrite the oldest
		r.buf[r.head] = v
		r.head = (r.head + 1) % len(r.buf)
	}
}

// dropBefore removes the samples taken before t.
func (r *series) dropBefore(t time.Time) {
	for r.n > 0 && r.buf[r.head].At.Before(t) {
		r.head = (r.head + 1) % len(r.buf)
		r.n--
	}
	if r.n == 0 {
		r.buf, r.head = r.buf[:0], 0
	}
}

// slice returns a copy of the samples, oldest first.
func (r *series) slice() []Sample {
	out := make([]Sample, r.n)
	if r.n == 0 {
		return out
	}
	k := copy(out, r.buf[r.head:min(r.head+r.n, len(r.buf))])
	copy(out[k:], r.buf[:r.n-k])
	return out
}

// last returns the newest sample.
func (r *series) last() (Sample, bool) {
	if r.n == 0 {
		return Sample{}, false
	}
	return r.buf[(r.head+r.n-1)%len(r.buf)], true
}
