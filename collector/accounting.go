package collector

import (
	"cmp"
	"slices"
	"sync"
)

// Usage is what polling cost, for one strategy and switch or summed.
type Usage struct {
	Requests          uint64 // requests sent (those that never left are only counted in Errors)
	Replies           uint64 // reply messages received (each part of a multipart reply)
	Entries           uint64 // flow (or port) entries received
	Timeouts          uint64 // requests whose reply did not arrive in time
	Errors            uint64 // requests that failed otherwise
	OpenFlowBytesSent uint64 // OpenFlow bytes of the requests
	OpenFlowBytesRecv uint64 // OpenFlow bytes of the replies
	WireBytesSent     uint64 // modelled frame bytes of the requests
	WireBytesRecv     uint64 // modelled frame bytes of the replies
}

// Add returns u plus o.
func (u Usage) Add(o Usage) Usage {
	return Usage{
		Requests: u.Requests + o.Requests, Replies: u.Replies + o.Replies, Entries: u.Entries + o.Entries,
		Timeouts: u.Timeouts + o.Timeouts, Errors: u.Errors + o.Errors,
		OpenFlowBytesSent: u.OpenFlowBytesSent + o.OpenFlowBytesSent, OpenFlowBytesRecv: u.OpenFlowBytesRecv + o.OpenFlowBytesRecv,
		WireBytesSent: u.WireBytesSent + o.WireBytesSent, WireBytesRecv: u.WireBytesRecv + o.WireBytesRecv,
	}
}

// UsageKey names one accounting cell.
type UsageKey struct {
	Strategy string
	DPID     uint64
}

// UsageRow is one accounting cell.
type UsageRow struct {
	UsageKey
	Usage
}

// accounting keeps Usage per strategy and switch; safe for concurrent use.
type accounting struct {
	mu    sync.Mutex
	cells map[UsageKey]*Usage
}

func (a *accounting) add(k UsageKey, u Usage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cells == nil {
		a.cells = make(map[UsageKey]*Usage)
	}
	c, ok := a.cells[k]
	if !ok {
		c = new(Usage)
		a.cells[k] = c
	}
	*c = c.Add(u)
}

func (a *accounting) rows() []UsageRow {
	a.mu.Lock()
	out := make([]UsageRow, 0, len(a.cells))
	for k, u := range a.cells {
		out = append(out, UsageRow{k, *u})
	}
	a.mu.Unlock()
	slices.SortFunc(out, func(x, y UsageRow) int {
		return cmp.Or(cmp.Compare(x.Strategy, y.Strategy), cmp.Compare(x.DPID, y.DPID))
	})
	return out
}

// total sums the cells whose strategy is s, or every cell when s is "".
func (a *accounting) total(s string) Usage {
	a.mu.Lock()
	defer a.mu.Unlock()
	var t Usage
	for k, u := range a.cells {
		if s == "" || k.Strategy == s {
			t = t.Add(*u)
		}
	}
	return t
}
