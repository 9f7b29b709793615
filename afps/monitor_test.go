package afps

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/mcps"
)

func key(src, dst string, sp, dp uint16) FlowKey {
	return FlowKey{Proto: 6, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SPort: sp, DPort: dp}
}

func TestSelector(t *testing.T) {
	k := key("10.0.0.1", "10.0.0.2", 4000, 5201)
	assert.True(t, Selector{}.Selects(k))
	assert.True(t, Selector{Hosts: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}.Selects(k))
	assert.False(t, Selector{Hosts: []netip.Addr{netip.MustParseAddr("10.0.0.3")}}.Selects(k))
	dst := netip.MustParseAddr("10.0.0.2")
	port := uint16(5201)
	other := uint16(80)
	proto := uint8(17)
	assert.True(t, Selector{Match: &Match{NwDst: &dst, TpDst: &port}}.Selects(k))
	assert.False(t, Selector{Match: &Match{TpDst: &other}}.Selects(k))
	assert.False(t, Selector{Match: &Match{NwProto: &proto}}.Selects(k))
}

func TestMonitorLinkTask(t *testing.T) {
	m, err := NewMonitor(mcps.Network{Switches: 2}, false, 10)
	require.NoError(t, err)
	link := LinkRef{DPID: 1, Port: 2}
	_, err = m.AddTask(TaskSpec{Task: Task{Kind: LinkUtilization}}, t0)
	assert.ErrorIs(t, err, ErrBadTask, "a link task needs a link")
	a, err := m.AddTask(TaskSpec{Task: Task{Kind: LinkUtilization}, Link: &link, Sampler: Config{Kind: Fixed}}, t0)
	require.NoError(t, err)
	b, err := m.AddTask(TaskSpec{Task: Task{Kind: HeavyHitters, K: 1}, Sampler: Config{Kind: Fixed}}, t0)
	require.NoError(t, err)
	require.NoError(t, m.OnArrive(t0, FlowInfo{ID: 1, Key: key("10.0.0.1", "10.0.0.2", 1, 2), Switches: []int32{0, 1}, Links: []LinkRef{link, {2, 1}}}))
	require.NoError(t, m.OnArrive(t0, FlowInfo{ID: 2, Key: key("10.0.0.3", "10.0.0.2", 1, 2), Switches: []int32{1}, Links: []LinkRef{{2, 1}}}))
	assert.ErrorIs(t, m.OnArrive(t0, FlowInfo{ID: 2, Switches: []int32{1}}), ErrDuplicate)
	now := t0.Add(time.Second)
	polls := m.Due(now, nil)
	// flow 1 is due for both tasks but polled once; flow 2 only for task b
	require.Len(t, polls, 2)
	for _, q := range polls {
		m.OnReading(now, q.Flow, map[uint64]uint64{1: 1000, 2: 3000}[q.Flow])
	}
	m.Evaluate(now)
	st, vals, ok := m.Task(a)
	require.True(t, ok)
	assert.Equal(t, 1, st.Flows)
	assert.Equal(t, int64(1), st.Requests)
	assert.Equal(t, 1000.0, st.Value.Sum)
	require.Len(t, vals, 1)
	sb, _, _ := m.Task(b)
	assert.Equal(t, int64(1), sb.Requests, "flow 1 was charged to task a")
	require.Len(t, sb.Value.Top, 1)
	assert.Equal(t, uint64(2), sb.Value.Top[0].ID)
	// FLOW_REMOVED: no poll, the flow leaves both tasks.
	m.OnExpire(now.Add(time.Second), 1, 2000)
	assert.Empty(t, m.Due(now.Add(2*time.Second), nil)[0:0])
	st, _, _ = m.Task(a)
	assert.Equal(t, 0, st.Flows)
	assert.Len(t, m.Tasks(), 2)
	assert.True(t, m.RemoveTask(a))
	assert.False(t, m.RemoveTask(a))
	_, _, ok = m.Task(a)
	assert.False(t, ok)
	// A task added later picks up the active flows.
	c, err := m.AddTask(TaskSpec{Task: Task{Kind: Matrix}, Selector: Selector{Hosts: []netip.Addr{netip.MustParseAddr("10.0.0.3")}}}, now)
	require.NoError(t, err)
	sc, _, _ := m.Task(c)
	assert.Equal(t, 1, sc.Flows)
}

// TestMonitorAddSwitch: switches added after the monitor and its tasks were made
// number on from the network's, for the tasks that exist and those made later.
func TestMonitorAddSwitch(t *testing.T) {
	m, err := NewMonitor(mcps.Network{Switches: 1}, false, 0)
	require.NoError(t, err)
	now := time.Unix(100, 0)
	s1, err := m.AddSwitch(1)
	require.NoError(t, err)
	require.Equal(t, int32(1), s1)
	id, err := m.AddTask(TaskSpec{Task: Task{Kind: LinkUtilization}, Link: &LinkRef{DPID: 7, Port: 2},
		Sampler: Config{Kind: Fixed}}, now)
	require.NoError(t, err)
	s2, err := m.AddSwitch(1)
	require.NoError(t, err)
	require.Equal(t, int32(2), s2)
	k := FlowKey{Proto: 17, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SPort: 1, DPort: 2}
	require.NoError(t, m.OnArrive(now, FlowInfo{ID: 1, Key: k, Switches: []int32{s1, s2}, Links: []LinkRef{{DPID: 7, Port: 2}}}))
	st, _, ok := m.Task(id)
	require.True(t, ok)
	require.Equal(t, 1, st.Flows)
	polls := m.Due(now.Add(2*time.Second), func(int32) int { return 1 })
	require.Len(t, polls, 1)
	require.Contains(t, []int32{s1, s2}, polls[0].Switch)
	// A task made after both switches sees a flow over the second one.
	id2, err := m.AddTask(TaskSpec{Task: Task{Kind: LinkUtilization}, Link: &LinkRef{DPID: 7, Port: 2},
		Sampler: Config{Kind: Fixed}}, now)
	require.NoError(t, err)
	st2, _, _ := m.Task(id2)
	require.Equal(t, 1, st2.Flows)
}
