package flowtracker

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdopt(t *testing.T) {
	first := mustNew(t, Config{Shards: 4})
	path := []Hop{{DPID: 1, InPort: 1, OutPort: 2}, {DPID: 2, InPort: 1, OutPort: 3}}
	var issued []Handle
	for i := range 10 {
		issued = append(issued, mustAdd(t, first, udpKey(i), path, at(i)))
	}

	// A new run adopts three of them; their IDs, cookies and start times come back.
	second := mustNew(t, Config{Shards: 4})
	sub := second.Subscribe(16)
	for _, i := range []int{2, 5, 9} {
		h, err := second.Adopt(issued[i].ID, udpKey(i), path, at(i))
		require.NoError(t, err)
		assert.Equal(t, issued[i], h)
		f, ok := second.ByCookie(issued[i].Cookie)
		require.True(t, ok)
		assert.Equal(t, StateActive, f.State)
		assert.Equal(t, at(i), f.Start)
		ev := <-sub.C
		assert.Equal(t, EventArrived, ev.Kind)
		assert.Equal(t, issued[i].ID, ev.ID)
	}
	assert.Equal(t, 3, second.Len())

	// A new flow never gets an adopted ID.
	for i := 10; i < 40; i++ {
		h := mustAdd(t, second, udpKey(i), path, at(i))
		for _, a := range []int{2, 5, 9} {
			assert.NotEqual(t, issued[a].ID, h.ID)
		}
	}

	// Refusals.
	_, err := second.Adopt(issued[2].ID, udpKey(2), path, at(0))
	assert.ErrorIs(t, err, ErrIDTaken)
	_, err = second.Adopt(issued[0].ID+4*1000, udpKey(0), path, at(0))
	assert.NoError(t, err, "an unused ID of the key's shard")
	_, err = second.Adopt(issued[1].ID+1, udpKey(1), path, at(0))
	assert.ErrorIs(t, err, ErrUnknownFlow, "an ID of another shard")
	_, err = second.Adopt(0, udpKey(1), path, at(0))
	assert.ErrorIs(t, err, ErrUnknownFlow)
	_, err = second.Adopt(issued[3].ID, udpKey(3), nil, at(0))
	assert.ErrorIs(t, err, ErrEmptyPath)
	_, err = second.Adopt(issued[3].ID, udpKey(3), []Hop{{DPID: 1}, {DPID: 1}}, at(0))
	assert.ErrorIs(t, err, ErrPathLoop)
	_, err = second.Adopt(issued[11%10].ID, udpKey(11), path, at(0))
	assert.Error(t, err, "key 11 is active already")
}

func TestReserve(t *testing.T) {
	tr := mustNew(t, Config{Shards: 8})
	tr.Reserve(1000)
	path := []Hop{{DPID: 1, InPort: 1, OutPort: 2}}
	for i := range 200 {
		h := mustAdd(t, tr, udpKey(i), path, at(i))
		require.Greater(t, h.ID, uint64(1000))
		require.LessOrEqual(t, h.ID, uint64(1000+8*200))
	}
	tr.Reserve(5) // lower: changes nothing
	h := mustAdd(t, tr, udpKey(500), path, at(0))
	assert.Greater(t, h.ID, uint64(1000))
}

// A flow adopted from another controller's range keeps its ID, and the adopter goes on
// issuing IDs from its own range: none of the other range's, so no collision when the
// other controller comes back.
func TestAdoptForeignKeepsTheRange(t *testing.T) {
	const mine, theirs = uint64(1) << 40, uint64(7) << 40
	other := mustNew(t, Config{Shards: 4})
	other.Reserve(theirs)
	path := []Hop{{DPID: 1, InPort: 1, OutPort: 2}}
	h := mustAdd(t, other, udpKey(0), path, at(0))
	require.Greater(t, h.ID, theirs)

	tr := mustNew(t, Config{Shards: 4})
	tr.Reserve(mine)
	got, err := tr.AdoptForeign(h.ID, udpKey(0), path, at(0))
	require.NoError(t, err)
	assert.Equal(t, h, got)
	for i := 1; i < 50; i++ {
		n := mustAdd(t, tr, udpKey(i), path, at(i))
		require.Greater(t, n.ID, mine)
		require.Less(t, n.ID, theirs, "a new ID stays in the adopter's range")
	}
	_, err = tr.AdoptForeign(h.ID, udpKey(0), path, at(0))
	assert.ErrorIs(t, err, ErrIDTaken)

	// Adopt (a restart's own flows) moves past the ID, as before.
	tr2 := mustNew(t, Config{Shards: 4})
	_, err = tr2.Adopt(h.ID, udpKey(0), path, at(0))
	require.NoError(t, err)
	assert.Greater(t, mustAdd(t, tr2, udpKey(4), path, at(1)).ID, theirs)
}
