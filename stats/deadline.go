package stats

// deadline is one entry of the queue of flows by the time their rate goes
// stale.
type deadline struct {
	at int64 // Unix nanoseconds
	fs *flowState
}

// deadlines is a binary min-heap by time. A flow has at most one live entry
// (flowState.queued); entries superseded by an earlier one are skipped when
// they come out.
type deadlines []deadline

func (h *deadlines) push(d deadline) {
	*h = append(*h, d)
	q := *h
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if q[i].at >= q[p].at {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *deadlines) pop() deadline {
	q := *h
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q[n] = deadline{}
	q = q[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && q[l].at < q[m].at {
			m = l
		}
		if r < n && q[r].at < q[m].at {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return top
}
