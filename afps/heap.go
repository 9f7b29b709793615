package afps

import "time"

// DueQueue is a due-time queue over dense slot numbers 0..n−1 (the caller assigns them,
// reusing freed ones): a 4-ary min-heap on due times with a slice from slot to heap
// position, so that adding, rescheduling and removing are O(log n) with no hashing and
// popping the k slots due is O(k log n). It holds no goroutine or timer: the caller
// asks what is due at a time it passes in. The zero value is empty and ready.
//
// Memory: a 12-byte heap element and a 4-byte position per slot.
type DueQueue struct {
	heap []dueItem
	pos  []int32 // heap index + 1 of each slot; 0: not queued
}

type dueItem struct {
	due int64 // unix nanoseconds
	id  int32
}

// Len is the number of flows scheduled.
func (q *DueQueue) Len() int { return len(q.heap) }

func (q *DueQueue) index(id int32) (int32, bool) {
	if id < 0 || int(id) >= len(q.pos) || q.pos[id] == 0 {
		return 0, false
	}
	return q.pos[id] - 1, true
}

// Has reports whether slot id is scheduled.
func (q *DueQueue) Has(id int32) bool {
	_, ok := q.index(id)
	return ok
}

// Due returns when slot id is due (false if it is not scheduled).
func (q *DueQueue) Due(id int32) (time.Time, bool) {
	i, ok := q.index(id)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, q.heap[i].due), true
}

// Set schedules slot id (≥ 0) at due, adding it or moving it.
func (q *DueQueue) Set(id int32, due time.Time) {
	if id < 0 {
		return
	}
	for int(id) >= len(q.pos) {
		q.pos = append(q.pos, 0)
	}
	d := due.UnixNano()
	if i, ok := q.index(id); ok {
		old := q.heap[i].due
		q.heap[i].due = d
		if d < old {
			q.up(int(i))
		} else {
			q.down(int(i))
		}
		return
	}
	q.heap = append(q.heap, dueItem{due: d, id: id})
	q.pos[id] = int32(len(q.heap))
	q.up(len(q.heap) - 1)
}

// Remove unschedules slot id; it reports whether it was scheduled.
func (q *DueQueue) Remove(id int32) bool {
	i, ok := q.index(id)
	if !ok {
		return false
	}
	q.removeAt(int(i))
	return true
}

// Next returns the earliest due time (false when empty).
func (q *DueQueue) Next() (time.Time, bool) {
	if len(q.heap) == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, q.heap[0].due), true
}

// PopDue removes every flow due at or before now and appends their ids to dst in due
// order (ties by id order of insertion into the heap, not specified).
func (q *DueQueue) PopDue(now time.Time, dst []int32) []int32 {
	n := now.UnixNano()
	for len(q.heap) > 0 && q.heap[0].due <= n {
		dst = append(dst, q.heap[0].id)
		q.removeAt(0)
	}
	return dst
}

func (q *DueQueue) removeAt(i int) {
	last := len(q.heap) - 1
	q.pos[q.heap[i].id] = 0
	if i != last {
		q.heap[i] = q.heap[last]
		q.pos[q.heap[i].id] = int32(i + 1)
	}
	q.heap = q.heap[:last]
	if i < last {
		if !q.up(i) {
			q.down(i)
		}
	}
}

func (q *DueQueue) up(i int) bool {
	moved := false
	it := q.heap[i]
	for i > 0 {
		p := (i - 1) / 4
		if q.heap[p].due <= it.due {
			break
		}
		q.heap[i] = q.heap[p]
		q.pos[q.heap[i].id] = int32(i + 1)
		i = p
		moved = true
	}
	q.heap[i] = it
	q.pos[it.id] = int32(i + 1)
	return moved
}

func (q *DueQueue) down(i int) {
	n := len(q.heap)
	it := q.heap[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		best := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if q.heap[k].due < q.heap[best].due {
				best = k
			}
		}
		if q.heap[best].due >= it.due {
			break
		}
		q.heap[i] = q.heap[best]
		q.pos[q.heap[i].id] = int32(i + 1)
		i = best
	}
	q.heap[i] = it
	q.pos[it.id] = int32(i + 1)
}
