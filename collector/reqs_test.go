package collector

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/stats"
)

// group puts a round's requests switch by switch, each switch's in the scheduler's
// order and the switches in the order they first appear, reusing its working memory
// from one round to the next.
func TestGroupRequests(t *testing.T) {
	var c Collector
	reqs := []request{{dpid: 3, interval: 1}, {dpid: 1, interval: 2}, {dpid: 3, interval: 3}, {dpid: 2, interval: 4},
		{dpid: 1, interval: 5}, {dpid: 3, interval: 6}}
	for range 2 {
		grouped, dpids, ends := c.group(reqs)
		require.Equal(t, []uint64{3, 1, 2}, dpids)
		require.Equal(t, []int{3, 5, 6}, ends)
		var got []int64
		for _, r := range grouped {
			got = append(got, int64(r.interval))
		}
		require.Equal(t, []int64{1, 3, 6, 2, 5, 4}, got)
	}
	grouped, dpids, ends := c.group([]request{{dpid: 9, source: stats.SourcePollAll}})
	require.Len(t, grouped, 1)
	require.Equal(t, []uint64{9}, dpids)
	require.Equal(t, []int{1}, ends)
	grouped, dpids, ends = c.group(nil)
	require.Empty(t, grouped)
	require.Empty(t, dpids)
	require.Empty(t, ends)
}

// TestRoundPolls: the polls of a round's requests: every switch polled for all its
// flows, and each flow's lowest poll-single hop, none missed by the filter in front
// of them; a round after keeps nothing of the one before.
func TestRoundPolls(t *testing.T) {
	var p roundPolls
	var reqs []request
	for f := uint64(1); f <= 5000; f++ {
		reqs = append(reqs, request{dpid: f % 7, source: stats.SourcePollSingle, flow: f * 3, hop: int32(f % 5)})
		if f%10 == 0 {
			reqs = append(reqs, request{dpid: 9, source: stats.SourcePollSingle, flow: f * 3, hop: 0})
		}
	}
	reqs = append(reqs, request{dpid: 100, source: stats.SourcePollAll}, request{dpid: 101, source: stats.SourcePollAll})
	p.set(reqs)
	for f := uint64(1); f <= 5000; f++ {
		want := int32(f % 5)
		if f%10 == 0 {
			want = 0
		}
		require.Equal(t, want, p.singleAt(f*3), "flow %d", f*3)
	}
	none := 0
	for f := uint64(1); f <= 5000; f++ {
		if p.singleAt(f*3+1) == math.MaxInt32 {
			none++
		}
	}
	require.Equal(t, 5000, none)
	_, ok := p.all.Get(100)
	require.True(t, ok)
	_, ok = p.all.Get(3)
	require.False(t, ok, "a switch of poll-singles only")

	p.set([]request{{dpid: 3, source: stats.SourcePollAll}})
	require.Equal(t, int32(math.MaxInt32), p.singleAt(30))
	_, ok = p.all.Get(100)
	require.False(t, ok)
	require.Equal(t, 1, p.all.Len())
}
