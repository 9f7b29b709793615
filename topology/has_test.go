package topology

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHasSwitchNumHosts(t *testing.T) {
	n := NewNetwork()
	require.False(t, n.HasSwitch(1))
	require.Zero(t, n.NumHosts())
	n.AddSwitch(1, []uint16{1, 2})
	n.AddSwitch(2, []uint16{1})
	require.True(t, n.HasSwitch(1))
	require.False(t, n.HasSwitch(3))
	_, ok := n.Path(1, 1)
	require.Equal(t, n.HasSwitch(1), ok, "Path from a switch to itself succeeds exactly when HasSwitch")
	now := time.Unix(0, 0)
	n.LearnHost([6]byte{0, 0, 0, 0, 0, 1}, netip.MustParseAddr("10.0.0.1"), 1, 1, now)
	n.LearnHost([6]byte{0, 0, 0, 0, 0, 2}, netip.MustParseAddr("10.0.0.2"), 1, 2, now)
	n.LearnHost([6]byte{0, 0, 0, 0, 0, 3}, netip.MustParseAddr("10.0.0.3"), 2, 1, now)
	require.Equal(t, len(n.Hosts()), n.NumHosts())
	require.Equal(t, 3, n.NumHosts())
	n.RemoveSwitch(1)
	require.False(t, n.HasSwitch(1))
	_, ok = n.Path(1, 1)
	require.False(t, ok)
	require.Equal(t, len(n.Hosts()), n.NumHosts(), "the hosts behind a removed switch go with it")
}
