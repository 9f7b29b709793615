package controller

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cemon-sdn/cemon/ofproto"
)

// entryPools hold the entry arrays of decoded flow statistics replies that their
// consumer gave back (Recycle), by size class (entryClasses): the reader decodes
// later replies into them. A polling round over a million flows decodes a million
// entries or more, and without reuse that memory is most of what the process
// allocates while polling, which sets how often the garbage collector runs over the
// whole heap. The pools together keep at most pooledEntries entries' worth of
// arrays (pooled counts them), a class at most maxPooledArrays arrays: what comes
// back beyond that is left to the garbage collector. They are made when the first
// reply is decoded, not in every process that links the controller in.
var entryPools = sync.OnceValue(func() *[len(entryClasses)]chan []ofproto.FlowStats {
	var p [len(entryClasses)]chan []ofproto.FlowStats
	for k, size := range entryClasses {
		p[k] = make(chan []ofproto.FlowStats, min(maxPooledArrays, max(1, pooledEntries/size)))
	}
	return &p
})

var (
	pooled     atomic.Int64 // the entries' worth of arrays the pools hold
	poolBudget atomic.Int64 // what they may hold when set (tests); else pooledEntries
)

// entryBudget is what the pools may hold, in entries.
func entryBudget() int64 {
	if b := poolBudget.Load(); b > 0 {
		return b
	}
	return pooledEntries
}

// entryClasses are the capacities pooled arrays have, each at most a quarter
// more than the one before: a reply decoded into a class's array wastes at most
// a fifth of it (a reply's entries wait in memory until the collector takes them,
// many at once when it falls behind).
var entryClasses = func() (c [maxEntryClasses]int) {
	size := 1
	for k := range c {
		c[k] = size
		size = max(size+1, (size*5+3)/4)
	}
	return c
}()

const (
	// maxEntryClasses makes the largest class 77,118 entries, far more than one
	// reply message holds.
	maxEntryClasses = 47
	// pooledEntries bounds the pools' arrays together, in entries (136 MB at 136
	// bytes an entry).
	pooledEntries = 1 << 20
	// maxPooledArrays bounds each class's arrays.
	maxPooledArrays = 1 << 14
)

// getEntries returns an empty entry array with room for n entries, a recycled one
// if the pool has one.
func getEntries(n int) []ofproto.FlowStats {
	if n <= 0 {
		return nil
	}
	k, _ := slices.BinarySearch(entryClasses[:], n) // the smallest class holding n
	if k == len(entryClasses) {
		return make([]ofproto.FlowStats, 0, n)
	}
	select {
	case s := <-entryPools()[k]:
		pooled.Add(-int64(cap(s)))
		return s
	default:
		return make([]ofproto.FlowStats, 0, entryClasses[k])
	}
}

// putEntries clears s (the entries' actions are not kept alive) and pools its
// array if its class has room.
func putEntries(s []ofproto.FlowStats) {
	c := cap(s)
	k, exact := slices.BinarySearch(entryClasses[:], c)
	if !exact {
		k-- // the largest class the array can serve
	}
	if k < 0 || k >= len(entryClasses) {
		return
	}
	if pooled.Add(int64(c)) > entryBudget() {
		pooled.Add(-int64(c))
		return
	}
	clear(s)
	select {
	case entryPools()[k] <- s[:0]:
	default:
		pooled.Add(-int64(c))
	}
}

// Recycle gives back the memory of flow statistics replies that Request or
// RequestPipelined returned, for the reader to decode later replies into. The
// caller must keep no reference to msgs, to its messages or to anything reachable
// from them (their entries above all) once it has called Recycle: what it needs
// of a reply it copies out first. Messages of other types are left alone; msgs's
// elements are set to nil.
func (c *Controller) Recycle(msgs []ofproto.Message) {
	for i, m := range msgs {
		if sr, ok := m.(*ofproto.StatsReply); ok {
			if body, ok := sr.Body.(*ofproto.FlowStatsReply); ok {
				putEntries(body.Entries)
				body.Entries = nil
			}
		}
		msgs[i] = nil
	}
}
