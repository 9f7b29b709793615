// Package idmap is a hash map from uint64 IDs (flow IDs) to values, made for tables
// of a million flows that a polling round looks up in an order of its own, where
// nearly every lookup misses the processor's caches.
//
// A Map keeps its entries by value in one array (open addressing, linear probing, at
// most three quarters full), so that a lookup is one slot most of the time, and the
// slot's place follows from the ID alone: a caller that is about to look up a run of
// IDs can bring their slots in first (Touch), so that the memory waits of the run
// overlap instead of following one another. Go's map follows a group's control word
// to the slot and cannot be told ahead.
//
// Reads (Get, Touch, Len, Slots, All) change nothing and may run side by side, as
// under a readers-writer lock; anything else needs the Map to itself. It is a pure
// data structure: no I/O.
package idmap

import (
	"iter"
	"math/bits"
)

// minSlots is the smallest table made.
const minSlots = 16

// Map maps uint64 keys to values of type V. The zero value is an empty map.
type Map[V any] struct {
	slots []slot[V] // len a power of two, or 0
	shift uint8     // 64 − log2(len(slots))
	n     int       // entries in slots
	zero  V         // the value of key 0, which slots cannot hold (0 marks a free slot)
	has0  bool
}

type slot[V any] struct {
	key uint64 // 0: free
	v   V
}

// Len returns the number of entries.
func (m *Map[V]) Len() int {
	if m.has0 {
		return m.n + 1
	}
	return m.n
}

// place is the slot where a search for key starts: Fibonacci hashing (the key times
// 2⁶⁴/φ, its top bits), which spreads consecutive IDs over the table.
func (m *Map[V]) place(key uint64) uint64 { return (key * 0x9E3779B97F4A7C15) >> m.shift }

// resize moves the entries to a table for need entries at most half full.
func (m *Map[V]) resize(need int) {
	size := max(minSlots, 1<<bits.Len(uint(2*need-1)))
	old := m.slots
	m.slots = make([]slot[V], size)
	m.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	mask := uint64(size - 1)
	for i := range old {
		if s := &old[i]; s.key != 0 {
			j := m.place(s.key)
			for m.slots[j].key != 0 {
				j = (j + 1) & mask
			}
			m.slots[j] = *s
		}
	}
}

// find returns the index of key's slot, or of the free slot that ends its search
// (found false). m.slots must not be empty.
func (m *Map[V]) find(key uint64) (uint64, bool) {
	mask := uint64(len(m.slots) - 1)
	for i := m.place(key); ; i = (i + 1) & mask {
		switch m.slots[i].key {
		case key:
			return i, true
		case 0:
			return i, false
		}
	}
}

// Touch reads the slot where key's search starts, to bring it into the cache ahead
// of a lookup, and returns what it read, for the caller to sum or otherwise keep so
// that the load is made.
func (m *Map[V]) Touch(key uint64) uint64 {
	if len(m.slots) == 0 {
		return 0
	}
	return m.slots[m.place(key)].key
}

// Get returns key's value and whether it has one.
func (m *Map[V]) Get(key uint64) (V, bool) {
	if key == 0 {
		return m.zero, m.has0
	}
	if m.n == 0 {
		var z V
		return z, false
	}
	if i, ok := m.find(key); ok {
		return m.slots[i].v, true
	}
	var z V
	return z, false
}

// Put sets key's value.
func (m *Map[V]) Put(key uint64, v V) {
	if key == 0 {
		m.zero, m.has0 = v, true
		return
	}
	if 4*(m.n+1) > 3*len(m.slots) {
		m.resize(m.n + 1)
	}
	i, ok := m.find(key)
	if !ok {
		m.slots[i].key = key
		m.n++
	}
	m.slots[i].v = v
}

// Delete removes key's entry, if it has one, and returns whether it had.
func (m *Map[V]) Delete(key uint64) bool {
	if key == 0 {
		had := m.has0
		var z V
		m.zero, m.has0 = z, false
		return had
	}
	if m.n == 0 {
		return false
	}
	i, ok := m.find(key)
	if !ok {
		return false
	}
	// Backward shift: the entries after the freed slot whose search would now
	// stop short of them move into it, so that no tombstones are left.
	mask := uint64(len(m.slots) - 1)
	for j := (i + 1) & mask; m.slots[j].key != 0; j = (j + 1) & mask {
		// Entry j may fill hole i if its search starts at or before i (cyclically,
		// i lies between its place and j).
		if (j-m.place(m.slots[j].key))&mask >= (j-i)&mask {
			m.slots[i] = m.slots[j]
			i = j
		}
	}
	m.slots[i] = slot[V]{}
	m.n--
	return true
}

// Clear removes every entry and keeps the memory.
func (m *Map[V]) Clear() {
	if m.n > 0 {
		clear(m.slots)
	}
	var z V
	m.n, m.zero, m.has0 = 0, z, false
}

// Release removes every entry and lets the memory go.
func (m *Map[V]) Release() { *m = Map[V]{} }

// Slots returns the number of slots the table has: its memory is that many keys and
// values.
func (m *Map[V]) Slots() int { return len(m.slots) }

// All yields every entry, in no particular order. The map must not be changed
// while it is walked, except by deleting the entry just yielded.
//
// The walk starts after a free slot, so that no run of occupied slots wraps around
// its start: a deletion's backward shift then moves entries only towards the slot
// just yielded, which the walk looks at again, never into slots it has passed.
func (m *Map[V]) All() iter.Seq2[uint64, V] {
	return func(yield func(uint64, V) bool) {
		if m.has0 && !yield(0, m.zero) {
			return
		}
		if m.n == 0 {
			return
		}
		size := uint64(len(m.slots))
		mask := size - 1
		start := uint64(0)
		for m.slots[start].key != 0 {
			start++ // at most three quarters are taken: a free slot exists
		}
		for k := uint64(1); k < size; k++ {
			i := (start + k) & mask
			key := m.slots[i].key
			if key == 0 {
				continue
			}
			if !yield(key, m.slots[i].v) {
				return
			}
			if m.slots[i].key != key && m.slots[i].key != 0 {
				k-- // the entry was deleted and the next shifted into its slot
			}
		}
	}
}
