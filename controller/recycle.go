package controller

import (
	"math/bits"

	"github.com/cemon-sdn/cemon/ofproto"
)

// entryPools hold the entry arrays of decoded flow statistics replies that their
// consumer gave back (Recycle), by size class: class k holds arrays of 1<<k
// entries or more, below 1<<(k+1). The reader decodes later replies into them: a
// polling round over a million flows decodes a million entries or more, and
// without reuse that memory is most of what the process allocates while polling,
// which sets how often the garbage collector runs over the whole heap. Each class
// keeps at most pooledEntries entries' worth of arrays: what comes back beyond that
// is left to the garbage collector, so that the pools never hold a round's worth of
// replies.
var entryPools = func() (p [maxEntryClass + 1]chan []ofproto.FlowStats) {
	for k := range p {
		p[k] = make(chan []ofproto.FlowStats, max(1, pooledEntries>>k))
	}
	return p
}()

const (
	// maxEntryClass is the largest class pooled (65,536 entries, far more than one
	// reply message holds).
	maxEntryClass = 16
	// pooledEntries bounds each class's arrays, in entries (about 4 MB at 136
	// bytes an entry).
	pooledEntries = 1 << 15
)

// getEntries returns an empty entry array with room for n entries, a recycled one
// if the pool has one.
func getEntries(n int) []ofproto.FlowStats {
	if n <= 0 {
		return nil
	}
	k := bits.Len(uint(n - 1)) // the smallest class whose arrays all hold n
	if k > maxEntryClass {
		return make([]ofproto.FlowStats, 0, n)
	}
	select {
	case s := <-entryPools[k]:
		return s
	default:
		return make([]ofproto.FlowStats, 0, 1<<k)
	}
}

// putEntries clears s (the entries' actions are not kept alive) and pools its
// array if its class has room.
func putEntries(s []ofproto.FlowStats) {
	c := cap(s)
	if c == 0 {
		return
	}
	k := bits.Len(uint(c)) - 1 // the largest class s's array can serve
	if k > maxEntryClass {
		return
	}
	clear(s)
	select {
	case entryPools[k] <- s[:0]:
	default:
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
