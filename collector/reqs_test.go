package collector

import (
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
