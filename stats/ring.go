package stats

import "time"

// series is a bounded history: the last limit samples, oldest first, from
// which dropBefore removes those older than a time window. Its buffer grows
// with the samples pushed, up to limit, so that a series read only a few
// times (most flows are short) holds only those few. Samples are stored
// compactly (24 bytes: the time in Unix nanoseconds, bytes, rate) and come
// back out as Sample with the time in UTC. Its limit is the store's
// (Config.FlowHistory), given to push: a series is 32 bytes.
type series struct {
	buf  []sample
	head int32 // index of the oldest sample
	n    int32 // samples held
}

// sample is a Sample as a series keeps it.
type sample struct {
	at    int64 // Unix nanoseconds
	bytes uint64
	rate  float64
}

func (v sample) Sample() Sample {
	return Sample{At: time.Unix(0, v.at).UTC(), Bytes: v.bytes, RateBps: v.rate}
}

// push appends a sample, keeping at most limit samples.
func (r *series) push(s Sample, limit int) {
	v := sample{at: s.At.UnixNano(), bytes: s.Bytes, rate: s.RateBps}
	switch {
	case limit <= 0:
	case int(r.n) < len(r.buf): // room left by dropBefore
		r.buf[(int(r.head)+int(r.n))%len(r.buf)] = v
		r.n++
	case len(r.buf) < limit:
		if r.head != 0 {
			r.buf, r.head = r.compact(), 0
		}
		if len(r.buf) == cap(r.buf) {
			// Grow by doubling up to the limit, never past it.
			nb := make([]sample, len(r.buf), min(max(2*cap(r.buf), 2), limit))
			copy(nb, r.buf)
			r.buf = nb
		}
		r.buf = append(r.buf, v)
		r.n++
	default: // full: overwrite the oldest
		r.buf[r.head] = v
		r.head = int32((int(r.head) + 1) % len(r.buf))
	}
}

// compact returns the samples held, oldest first, in a fresh buffer of the same
// capacity.
func (r *series) compact() []sample {
	out := make([]sample, r.n, cap(r.buf))
	k := copy(out, r.buf[r.head:min(int(r.head+r.n), len(r.buf))])
	copy(out[k:], r.buf[:int(r.n)-k])
	return out
}

// dropBefore removes the samples taken before t.
func (r *series) dropBefore(t time.Time) {
	cut := t.UnixNano()
	for r.n > 0 && r.buf[r.head].at < cut {
		r.head = int32((int(r.head) + 1) % len(r.buf))
		r.n--
	}
	if r.n == 0 {
		r.buf, r.head = r.buf[:0], 0
	}
}

// slice returns a copy of the samples, oldest first.
func (r *series) slice() []Sample {
	out := make([]Sample, r.n)
	for i := range out {
		out[i] = r.buf[(int(r.head)+i)%len(r.buf)].Sample()
	}
	return out
}

// last returns the newest sample.
func (r *series) last() (Sample, bool) {
	if r.n == 0 {
		return Sample{}, false
	}
	return r.buf[(int(r.head)+int(r.n)-1)%len(r.buf)].Sample(), true
}
