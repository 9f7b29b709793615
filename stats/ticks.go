package stats

// The histories of links, matrix cells and hosts take one sample at every Tick of
// the store, all at the same times: so their samples hold only bytes and rate (16
// bytes, not 24) and the times are kept once, in the store's tick ring. A matrix
// cell is one per active flow when hosts talk in many pairs, so this is 64 bytes
// per flow at the default FlowHistory. A cell's samples of the ticks since it last
// changed are its present figures, so a cell writes them in when it changes next or
// is read (Store.syncCell, tickSeries.sliceLagging) and no Tick walks the cells.

// tickRing holds the times of the store's last ticks, in Unix nanoseconds.
type tickRing struct {
	at []int64 // ring of the last len(at) tick times
	n  uint64  // ticks taken since New
}

func newTickRing(size int) tickRing { return tickRing{at: make([]int64, max(size, 1))} }

func (t *tickRing) push(at int64) {
	t.at[t.n%uint64(len(t.at))] = at
	t.n++
}

// time returns the time of the k-th tick since New (k < n, and one of the last
// len(at)).
func (t *tickRing) time(k uint64) int64 { return t.at[k%uint64(len(t.at))] }

// since returns how many of the newest ticks are at or after cut (at most the ring's
// size).
func (t *tickRing) since(cut int64) int {
	k := 0
	for k < len(t.at) && uint64(k) < t.n && t.time(t.n-1-uint64(k)) >= cut {
		k++
	}
	return k
}

// tickSeries is a bounded history taken at the store's ticks: its n samples are
// those of the n latest ticks, oldest first (every series of the store takes a
// sample at every tick from its creation on). Its buffer grows with the samples, up
// to the series' limit, as series' does.
type tickSeries struct {
	packed[tickSample]
	head int32 // index of the oldest sample
	n    int32 // samples held
}

// tickSample is a Sample of a tickSeries, its time in the store's tick ring.
type tickSample struct {
	bytes uint64
	rate  float64
}

// push appends the sample of the latest tick, keeping at most limit samples.
func (r *tickSeries) push(v tickSample, limit int) {
	buf := r.get()
	switch {
	case limit <= 0:
	case int(r.n) < len(buf): // room left by keep
		buf[(int(r.head)+int(r.n))%len(buf)] = v
		r.n++
	case len(buf) < limit:
		if r.head != 0 {
			out := make([]tickSample, r.n, cap(buf))
			k := copy(out, buf[r.head:min(int(r.head+r.n), len(buf))])
			copy(out[k:], buf[:int(r.n)-k])
			buf, r.head = out, 0
		}
		if len(buf) == cap(buf) {
			nb := make([]tickSample, len(buf), min(max(2*cap(buf), 2), limit))
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

// keep drops the oldest samples beyond the newest k.
func (r *tickSeries) keep(k int) {
	for int(r.n) > k {
		r.head = int32((int(r.head) + 1) % int(r.ln))
		r.n--
	}
	if r.n == 0 {
		r.ln, r.head = 0, 0
	}
}

// sliceLagging is slice for a series whose last pending ticks are not written in yet:
// each of them is v. The samples are those a series kept in step would hold: at most
// limit, and only the newest keep.
func (r *tickSeries) sliceLagging(t *tickRing, pending int, v tickSample, limit, keep int) []Sample {
	if pending == 0 {
		return r.slice(t)
	}
	have := int(r.n)
	total := min(have+pending, limit, keep)
	if total <= 0 {
		return []Sample{}
	}
	out := make([]Sample, total)
	buf := r.get()
	first := t.n - uint64(total)   // the tick of out[0]
	skip := have + pending - total // the oldest, dropped
	for i := range out {
		j := skip + i
		w := v
		if j < have {
			w = buf[(int(r.head)+j)%len(buf)]
		}
		out[i] = Sample{At: timeOf(t.time(first + uint64(i))), Bytes: w.bytes, RateBps: w.rate}
	}
	return out
}

// slice returns a copy of the samples, oldest first, stamped with their ticks' times.
func (r *tickSeries) slice(t *tickRing) []Sample {
	buf := r.get()
	out := make([]Sample, r.n)
	first := t.n - uint64(r.n)
	for i := range out {
		v := buf[(int(r.head)+i)%len(buf)]
		out[i] = Sample{At: timeOf(t.time(first + uint64(i))), Bytes: v.bytes, RateBps: v.rate}
	}
	return out
}
