package stats

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTotalsRestore saves a store's totals, restores them into a new store (a
// restart) and checks that hosts, cells, links and flows continue from them: an
// adopted flow's next reading adds only what its entry counted beyond the saved
// mark, and a flow that ended while nobody watched keeps its last counters.
func TestTotalsRestore(t *testing.T) {
	a := newStore(t, Config{})
	h1, h2, h3 := benchHost(1), benchHost(2), benchHost(3)
	require.NoError(t, a.AddFlow(FlowInfo{ID: 1, Src: h1, Dst: h2, Path: line3, Start: at(0)}))
	require.NoError(t, a.AddFlow(FlowInfo{ID: 2, Src: h3, Dst: h2, Path: line3[1:], Start: at(0)}))
	_, err := a.Observe(Reading{Flow: 1, DPID: 1, Bytes: 1000, Packets: 10, Duration: dur(1), At: at(1), Source: SourcePollAll})
	require.NoError(t, err)
	_, err = a.Observe(Reading{Flow: 2, DPID: 2, Bytes: 500, Packets: 5, Duration: dur(1), At: at(1), Source: SourcePollAll})
	require.NoError(t, err)
	tot, _ := a.Totals(0)
	require.Len(t, tot.Flows, 2)
	require.Len(t, tot.Hosts, 3)
	require.Len(t, tot.Pairs, 2)
	require.Len(t, tot.Links, 2)

	b := newStore(t, Config{})
	require.NoError(t, b.RestoreTotals(tot, at(5)))
	hs, ok := b.HostTraffic(h2)
	require.True(t, ok)
	assert.EqualValues(t, 1500, hs.ReceivedBytes)
	f2, ok := b.Flow(2)
	require.True(t, ok)
	assert.False(t, f2.Active, "a flow not adopted is held as ended")
	assert.EqualValues(t, 500, f2.Bytes)
	assert.Equal(t, at(1), f2.End, "ended at the totals' time")

	// Flow 1 is adopted: same id, same endpoints. Its entry now counts 1,800.
	require.NoError(t, b.AddFlow(FlowInfo{ID: 1, Src: h1, Dst: h2, Path: line3, Start: at(0)}))
	_, err = b.Observe(Reading{Flow: 1, DPID: 1, Bytes: 1800, Packets: 18, Duration: dur(6), At: at(6), Source: SourcePollAll})
	require.NoError(t, err)
	f1, _ := b.Flow(1)
	assert.True(t, f1.Active)
	assert.EqualValues(t, 1800, f1.Bytes)
	assert.EqualValues(t, 18, f1.Packets)
	h1t, _ := b.HostTraffic(h1)
	assert.EqualValues(t, 1800, h1t.SentBytes)
	h2t, _ := b.HostTraffic(h2)
	assert.EqualValues(t, 2300, h2t.ReceivedBytes)
	var cell uint64
	for _, m := range b.Matrix() {
		if m.Src == h1 && m.Dst == h2 {
			cell = m.Bytes
		}
	}
	assert.EqualValues(t, 1800, cell)
	ll, ok := b.LinkLoad(LinksOf(line3)[1])
	require.True(t, ok)
	assert.EqualValues(t, 2300, ll.Bytes, "the second link carries both flows")

	// A new flow under an id with other endpoints starts afresh.
	require.NoError(t, b.AddFlow(FlowInfo{ID: 2, Src: h1, Dst: h3, Path: line3, Start: at(6)}))
	f2, _ = b.Flow(2)
	assert.Zero(t, f2.Bytes)
}

// TestTotalsIncremental checks that a mark gives only what changed since.
func TestTotalsIncremental(t *testing.T) {
	s := newStore(t, Config{})
	h1, h2, h3 := benchHost(1), benchHost(2), benchHost(3)
	require.NoError(t, s.AddFlow(FlowInfo{ID: 1, Src: h1, Dst: h2, Path: line3, Start: at(0)}))
	require.NoError(t, s.AddFlow(FlowInfo{ID: 2, Src: h3, Dst: h2, Path: line3, Start: at(0)}))
	all, _ := s.Totals(0)
	assert.Empty(t, all.Flows, "flows that counted nothing are left out")
	_, err := s.Observe(Reading{Flow: 1, DPID: 1, Bytes: 10, Packets: 1, At: at(0.5), Source: SourcePollAll})
	require.NoError(t, err)
	all, mark := s.Totals(0)
	assert.Len(t, all.Flows, 1)
	none, mark2 := s.Totals(mark)
	assert.Empty(t, none.Flows)
	assert.Empty(t, none.Hosts)
	assert.Greater(t, mark2, mark)
	_, err = s.Observe(Reading{Flow: 2, DPID: 1, Bytes: 100, Packets: 1, At: at(1), Source: SourcePollAll})
	require.NoError(t, err)
	ch, _ := s.Totals(mark2)
	require.Len(t, ch.Flows, 1)
	assert.EqualValues(t, 2, ch.Flows[0].ID)
	assert.EqualValues(t, 100, ch.Flows[0].MarkBytes)
	assert.ElementsMatch(t, []HostID{h3, h2}, []HostID{ch.Hosts[0].Host, ch.Hosts[1].Host})
	assert.Len(t, ch.Pairs, 1)
	assert.Len(t, ch.Links, 2)
	require.NoError(t, s.End(1, at(2)))
	ch, _ = s.Totals(mark2 + 1)
	require.Len(t, ch.Flows, 1)
	assert.Equal(t, at(2), ch.Flows[0].End)
}

func TestRestoreTotalsRules(t *testing.T) {
	s := newStore(t, Config{Retain: time.Minute})
	h1, h2 := benchHost(1), benchHost(2)
	require.NoError(t, s.AddFlow(FlowInfo{ID: 1, Src: h1, Dst: h2, Path: line3, Start: at(0)}))
	assert.Error(t, s.RestoreTotals(Totals{}, at(1)), "not over active flows")

	old := Totals{At: at(0),
		Flows: []FlowTotal{{ID: 7, Src: h1, Dst: h2, Path: line3, Start: at(0), End: at(1), Bytes: 9}},
		Hosts: []HostTotal{{Host: h1, SentBytes: 9, Touched: at(1)}}}
	r := newStore(t, Config{Retain: time.Minute})
	require.NoError(t, r.RestoreTotals(old, at(120)))
	_, ok := r.Flow(7)
	assert.False(t, ok, "ended longer than Retain ago: pruned")
	_, ok = r.HostTraffic(h1)
	assert.False(t, ok)
}
