package stats

import (
	"time"
	"unsafe"
)

// series is a bounded history: the last limit samples, oldest first, from
// which dropBefore removes those older than a time window. Its buffer grows
// with the samples pushed, up to limit, so that a series read only a few
// times (most flows are short) holds only those few. Samples are stored
// compactly (24 bytes: the time in Unix nanoseconds, bytes, rate) and come
// back out as Sample with the time in UTC. Its limit is the store's
// (Config.FlowHistory), given to push: a series is 24 bytes.
type series struct {
	packed[sample]
	head int32 // index of the oldest sample
	n    int32 // samples held
}

// packed is a buffer kept as a pointer and two lengths: with a series' head and n it
// takes 24 bytes, as a slice header alone would (a traffic-matrix cell stays in the
// 80-byte size class).
type packed[T any] struct {
	p  *T // the buffer's first element (get): ln of cp in use
	ln int32
	cp int32
}

// get returns the buffer.
func (c *packed[T]) get() []T {
	if c.cp == 0 {
		return nil
	}
	return unsafe.Slice(c.p, c.cp)[:c.ln]
}

// set makes buf the buffer.
func (c *packed[T]) set(buf []T) {
	c.p, c.ln, c.cp = unsafe.SliceData(buf), int32(len(buf)), int32(cap(buf))
	if c.cp == 0 {
		c.p = nil
	}
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
	buf := r.get()
	switch {
	case limit <= 0:
	case int(r.n) < len(buf): // room left by dropBefore
		buf[(int(r.head)+int(r.n))%len(buf)] = v
		r.n++
	case len(buf) < limit:
		if r.head != 0 {
			buf, r.head = r.compact(), 0
		}
		if len(buf) == cap(buf) {
			// Grow by doubling up to the limit, never past it.
			nb := make([]sample, len(buf), min(max(2*cap(buf), 2), limit))
			copy(nb, buf)
			buf = nb
		}
		buf = append(buf, v)
		r.n++
		r.set(buf)
	default: // full: overwrite the oldest
		buf[r.head] = v
		r.head = int32((int(r.head) + 1) % len(buf))
	}
}

// slot returns the sample push overwrites or writes beside next (nil for an
// empty buffer), for a caller that brings it into the cache ahead of the push.
func (r *series) slot() *sample {
	buf := r.get()
	switch {
	case len(buf) == 0:
		return nil
	case int(r.n) < len(buf):
		return &buf[(int(r.head)+int(r.n))%len(buf)]
	case int(r.n) == cap(buf):
		return &buf[r.head]
	}
	return &buf[len(buf)-1]
}

// compact returns the samples held, oldest first, in a fresh buffer of the same
// capacity.
func (r *series) compact() []sample {
	buf := r.get()
	out := make([]sample, r.n, cap(buf))
	k := copy(out, buf[r.head:min(int(r.head+r.n), len(buf))])
	copy(out[k:], buf[:int(r.n)-k])
	return out
}

// dropBefore removes the samples taken before t.
func (r *series) dropBefore(t time.Time) {
	cut := t.UnixNano()
	buf := r.get()
	for r.n > 0 && buf[r.head].at < cut {
		r.head = int32((int(r.head) + 1) % len(buf))
		r.n--
	}
	if r.n == 0 {
		r.ln, r.head = 0, 0
	}
}

// slice returns a copy of the samples, oldest first.
func (r *series) slice() []Sample {
	buf := r.get()
	out := make([]Sample, r.n)
	for i := range out {
		out[i] = buf[(int(r.head)+i)%len(buf)].Sample()
	}
	return out
}

// last returns the newest sample.
func (r *series) last() (Sample, bool) {
	if r.n == 0 {
		return Sample{}, false
	}
	buf := r.get()
	return buf[(int(r.head)+int(r.n)-1)%len(buf)].Sample(), true
}
