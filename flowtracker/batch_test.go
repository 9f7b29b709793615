package flowtracker

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRemoveSwitchBatch: removing a switch in batches leaves the tracker as one
// RemoveSwitch does, hands each flow to fn once with its entry on the switch live, and
// reports the flows left.
func TestRemoveSwitchBatch(t *testing.T) {
	whole, batched := mustNew(t, Config{}), mustNew(t, Config{})
	other := []Hop{{DPID: 4, InPort: 1, OutPort: 2}, {DPID: 3, InPort: 3, OutPort: 2}}
	short := []Hop{{DPID: 2, InPort: 1, OutPort: 2}}
	const n = 500
	for i := range n {
		p := line3
		switch i % 5 {
		case 3:
			p = other
		case 4:
			p = short // expires when s2 goes
		}
		mustAdd(t, whole, udpKey(i), p, at(0))
		mustAdd(t, batched, udpKey(i), p, at(0))
	}
	on := batched.OnSwitch(2)
	require.Equal(t, n-n/5, on)

	expired := whole.RemoveSwitch(2, at(1))
	seen := map[uint64]int{}
	handled, steps := 0, 0
	for more := true; more; steps++ {
		k, m := batched.RemoveSwitchBatch(2, 37, at(1), func(f Flow) {
			seen[f.ID]++
			live := false
			for _, e := range f.Entries {
				live = live || (e.DPID == 2 && !e.Gone)
			}
			assert.True(t, live, "flow %d handed without its live entry on s2", f.ID)
		})
		assert.LessOrEqual(t, k, 37)
		handled += k
		more = m
		if more {
			assert.Equal(t, on-handled, batched.OnSwitch(2))
		}
	}
	assert.Equal(t, on, handled)
	assert.Len(t, seen, on)
	assert.Equal(t, (on+36)/37, steps)
	assert.Zero(t, batched.OnSwitch(2))
	assert.Equal(t, n/5, expired)

	want := map[uint64]Flow{}
	whole.Range(func(f Flow) bool {
		f.Entries = append([]Entry(nil), f.Entries...)
		want[f.ID] = f
		return true
	})
	n2 := 0
	batched.Range(func(f Flow) bool {
		n2++
		w, ok := want[f.ID]
		if assert.True(t, ok, "flow %d", f.ID) {
			assert.Equal(t, w.State, f.State, "flow %d", f.ID)
			assert.Equal(t, w.Entries, f.Entries, "flow %d", f.ID)
		}
		return true
	})
	assert.Equal(t, len(want), n2)
	compareIndex(t, batched, scanModel(batched))
}

// TestRemoveSwitchFlow: one flow's entry on a switch goes as RemoveSwitch would take it.
func TestRemoveSwitchFlow(t *testing.T) {
	tr := mustNew(t, Config{})
	h := mustAdd(t, tr, udpKey(1), line3, at(0))
	mustAdd(t, tr, udpKey(2), line3, at(0))
	require.True(t, tr.RemoveSwitchFlow(2, h.ID, at(1)))
	assert.False(t, tr.RemoveSwitchFlow(2, h.ID, at(1)), "gone already")
	assert.False(t, tr.RemoveSwitchFlow(9, h.ID, at(1)), "not on its path")
	f, ok := tr.Get(h.ID)
	require.True(t, ok)
	assert.Equal(t, StateDraining, f.State)
	assert.True(t, f.Entries[1].Gone)
	assert.Equal(t, ReasonSwitchLeft, f.Entries[1].Reason)
	assert.Equal(t, 1, tr.OnSwitch(2))
	compareIndex(t, tr, scanModel(tr))
}

// scanModel is a model holding what a scan of tr (Range) finds, to check the index
// against.
func scanModel(tr *Tracker) *model {
	m := &model{flows: map[uint64]*Flow{}, active: map[Key]uint64{}}
	tr.Range(func(f Flow) bool {
		f.Entries = append([]Entry(nil), f.Entries...)
		m.flows[f.ID] = &f
		return true
	})
	return m
}
