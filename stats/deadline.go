package stats

// deadline is one entry of the queue of flows by the time their rate goes
// stale.
type deadline struct {
	at   int64  // Unix nanoseconds
	slot uint32 // the flow's slot in the store (Store.slots)
}

// deadlines is a 4-ary min-heap by time. A flow has at most one live entry
// (slotState.queued); entries superseded by an earlier one are skipped when
// they come out. Entries hold no pointer, so the garbage collector never
// scans the heap nor follows its moves. Four children a node: half the levels
// of a binary heap, and a node's children side by side in memory (64 bytes),
// so that with a million flows a pop waits on about half as many cache misses.
type deadlines []deadline

// arity is the heap's number of children a node.
const arity = 4

func (h *deadlines) push(d deadline) {
	*h = append(*h, d)
	q := *h
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / arity
		if d.at >= q[p].at {
			break
		}
		q[i] = q[p]
		i = p
	}
	q[i] = d
}

// pop takes out the earliest entry.
func (h *deadlines) pop() deadline {
	q := *h
	top := q[0]
	n := len(q) - 1
	last := q[n]
	q[n] = deadline{}
	q = q[:n]
	*h = q
	if n > 0 {
		q.replaceTop(last)
	}
	return top
}

// replaceTop puts d in the earliest entry's place and sifts it down: a pop
// and a push in one pass down the heap (a flow whose deadline moved on goes
// back in; pop puts the last entry there).
func (q deadlines) replaceTop(d deadline) {
	n := len(q)
	i := 0
	for {
		c := arity*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < min(c+arity, n); k++ {
			if q[k].at < q[m].at {
				m = k
			}
		}
		if d.at <= q[m].at {
			break
		}
		q[i] = q[m]
		i = m
	}
	q[i] = d
}
