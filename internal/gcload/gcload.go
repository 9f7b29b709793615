// Package gcload keeps Go's garbage collector marking for benchmarks that measure a
// hot path in the state it is in for much of the time in a process holding a million
// flows.
package gcload

import (
	"runtime"
	"sync"
)

// MarkThroughout runs one collection after another until the function it returns
// is called, over the caller's heap and objects more 64-byte objects of its own.
func MarkThroughout(objects int) (stop func()) {
	heap := make([]*[8]uint64, objects)
	for i := range heap {
		heap[i] = new([8]uint64)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				runtime.GC()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		runtime.KeepAlive(heap)
	}
}
