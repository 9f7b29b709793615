package poll

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/stats"
)

func TestPublished(t *testing.T) {
	local, err := NewPlanned(PlannedConfig{Interval: time.Second, Offloaded: true})
	require.NoError(t, err)
	p := NewPublished(local)
	p.SetSwitches(t0, switches(3))
	for id := uint64(1); id <= 3; id++ {
		p.OnArrive(t0, Flow{ID: id, DPIDs: slices.Compact([]uint64{id, 3})})
	}
	require.NoError(t, Settle(p, t0))

	// No assigned scheme: the local one polls.
	due := p.Due(t0, nil)
	assert.Equal(t, local.Due(t0, nil), due)
	_, ok := p.Active()
	assert.False(t, ok)

	// An assigned scheme: its requests, none of the local one's.
	a := &Assigned{Revision: 4, PollAll: []uint64{3}, PollSingle: []Single{{Flow: 9, DPID: 2}}}
	p.SetScheme(t0, a)
	rev, ok := p.Active()
	assert.True(t, ok)
	assert.Equal(t, int64(4), rev)
	assert.Equal(t, []Request{{DPID: 3, Source: stats.SourcePollAll, Interval: time.Second},
		{DPID: 2, Flow: 9, Source: stats.SourcePollSingle, Interval: time.Second}}, p.Due(t0.Add(time.Second), nil))

	// A flow with no reading for Rescue intervals is read singly at its first switch;
	// flows with readings (handed over by another poller, say) are not.
	later := t0.Add(3 * time.Second)
	p.OnReading(later, stats.Reading{Flow: 1}, stats.FlowSample{})
	p.OnReading(later, stats.Reading{Flow: 2}, stats.FlowSample{})
	due = p.Due(later, nil)
	require.Len(t, due, 3)
	assert.Equal(t, Request{DPID: 3, Flow: 3, Source: stats.SourcePollSingle, Interval: time.Second}, due[2])
	assert.Equal(t, 1, p.Rescued())
	// Not one the scheme reads singly already.
	p.SetScheme(later, &Assigned{Revision: 5, PollSingle: []Single{{Flow: 3, DPID: 1}}})
	due = p.Due(later, nil)
	assert.Equal(t, []Request{{DPID: 1, Flow: 3, Source: stats.SourcePollSingle, Interval: time.Second}}, due)
	// An expired flow is never rescued.
	p.OnExpire(later, 1)
	p.SetScheme(later, &Assigned{Revision: 6})
	due = p.Due(later.Add(10*time.Second), nil)
	var flows []uint64
	for _, r := range due {
		flows = append(flows, r.Flow)
	}
	slices.Sort(flows)
	assert.Equal(t, []uint64{2, 3}, flows)

	// The local scheme was kept up to date meanwhile (DAPR), and polls again when
	// the assigned one goes.
	p.SetScheme(later, nil)
	require.NoError(t, Settle(p, later))
	checkDue(t, local, p.Due(later, nil), map[uint64][]uint64{2: {2, 3}, 3: {3}})
	assert.Equal(t, MCPS, p.Strategy())
}
