package controller

import "time"

// tearingDown reports whether the teardown of a switch that went down is still under
// way (Routing deletes the flows through it a batch at a time).
func (c *core) tearingDown() bool {
	for _, a := range c.apps {
		if r, ok := a.(*routing); ok && len(r.downs) > 0 {
			return true
		}
	}
	return false
}

// teardownStep runs one batch of the pending switch teardowns and reports whether
// more are left.
func (c *core) teardownStep(now time.Time) (*effects, bool) {
	c.fx.reset()
	more := false
	for i, a := range c.apps {
		if r, ok := a.(*routing); ok && len(r.downs) > 0 {
			more = r.drainDowns(&c.ctxs[i], now, teardownBatch) || more
		}
	}
	return &c.fx, more
}

// finishTeardowns runs the pending switch teardowns to the end, one batch per hold of
// the lock, so that PACKET_INs and ticks are handled between batches. The goroutine of
// the connection that ended runs it.
func (c *Controller) finishTeardowns() {
	for {
		c.mu.Lock()
		if !c.core.tearingDown() {
			c.mu.Unlock()
			return
		}
		fx, more := c.core.teardownStep(c.now())
		c.apply(fx)
		c.mu.Unlock()
		if !more {
			return
		}
	}
}
