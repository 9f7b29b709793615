package collector

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/afps"
)

// TestTaskRounds: a link-utilization task on top of the off strategy polls only the
// flows that cross its link, at its sampler's pace, charged to "tasks"; its value is
// the sum of those flows' rates; the readings reach the Store too; a second task on
// the same flows shares the polls; and stopping the tasks stops their polls.
func TestTaskRounds(t *testing.T) {
	e := newEnv(t, Config{Strategy: StrategyOff})
	e.loadLine(t) // flows 0-2 cross s1..s4 (leaving s2 by port 2), 3-5 cross s2..s3, 6 is on s4
	spec := afps.TaskSpec{Task: afps.Task{Kind: afps.LinkUtilization}, Link: &afps.LinkRef{DPID: 1, Port: 2},
		Sampler: afps.Config{Kind: afps.Fixed, Min: 250 * time.Millisecond, Max: 5 * time.Second, Initial: time.Second}}
	id, err := e.c.AddTask(spec)
	require.NoError(t, err)
	st, _, ok := e.c.Task(id)
	require.True(t, ok)
	require.Equal(t, 3, st.Flows, "the flows leaving s1 by port 2")

	// 1 MB/s on each of the three watched flows, read once a second for 3 s.
	for s := 1; s <= 3; s++ {
		for i := 0; i < 7; i++ {
			e.net.count(e.flows[i].Cookie, 1_000_000, 1000, 1)
		}
		e.now = t0.Add(time.Duration(s) * time.Second)
		res := e.c.TaskRound(context.Background())
		require.Positive(t, res.Requests, "second %d", s)
	}
	for _, r := range e.net.requests() {
		require.Equal(t, uint64(1), r.dpid, "the task polls at the first switch of its flows' paths")
	}
	st, values, ok := e.c.Task(id)
	require.True(t, ok)
	require.NotEmpty(t, values)
	require.InDelta(t, 3e6, st.Value.Sum, 3e6*0.01, "the link carries three flows at 1 MB/s")
	require.Positive(t, st.Requests)
	tasks := e.c.Total(TaskAccount)
	require.Equal(t, uint64(st.Requests), tasks.Requests, "the tasks' polls are charged to %q", TaskAccount)
	require.Zero(t, e.c.Total(StrategyOff.String()).Requests)
	f, ok := e.store.Flow(e.flows[0].ID)
	require.True(t, ok)
	require.Equal(t, uint64(3_000_000), f.Bytes, "the task's readings reach the Store")
	other, ok := e.store.Flow(e.flows[3].ID)
	require.True(t, ok)
	require.Zero(t, other.Readings, "flows the task does not watch are not read")

	// A heavy-hitters task on one host shares the polls of its flows.
	h := netip.MustParseAddr("10.0.0.1")
	id2, err := e.c.AddTask(afps.TaskSpec{Task: afps.Task{Kind: afps.HeavyHitters, K: 2}, Selector: afps.Selector{Hosts: []netip.Addr{h}},
		Sampler: afps.Config{Kind: afps.Fixed, Min: 250 * time.Millisecond, Max: 5 * time.Second, Initial: time.Second}})
	require.NoError(t, err)
	require.Len(t, e.c.Tasks(), 2)
	require.True(t, e.c.RemoveTask(id))
	require.True(t, e.c.RemoveTask(id2))
	require.False(t, e.c.RemoveTask(id2))
	before := len(e.net.requests())
	e.now = t0.Add(10 * time.Second)
	res := e.c.TaskRound(context.Background())
	require.Zero(t, res.Requests)
	require.Equal(t, before, len(e.net.requests()), "no task, no poll")

	// While no task runs the monitor keeps no flows; a new task still finds the
	// active ones, and takes flows that arrive while it runs.
	id3, err := e.c.AddTask(spec)
	require.NoError(t, err)
	st, _, ok = e.c.Task(id3)
	require.True(t, ok)
	require.Equal(t, 3, st.Flows, "the flows leaving s1 by port 2, again")
	e.addFlow(t, 7, 1, 2)
	e.c.Drain()
	st, _, _ = e.c.Task(id3)
	require.Equal(t, 4, st.Flows, "a flow that arrived while the task runs")
}
