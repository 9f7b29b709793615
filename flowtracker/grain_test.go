package flowtracker

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEntryRefused: a refused entry is gone and flagged, the flow keeps its other
// entries (EventChanged names them), and a flow refused everywhere expires.
func TestEntryRefused(t *testing.T) {
	tr := mustNew(t, Config{Shards: 2})
	sub := tr.Subscribe(16)
	h := mustAdd(t, tr, udpKey(1), line3, at(0))
	require.Equal(t, EventArrived, (<-sub.C).Kind)

	st, err := tr.EntryRefused(2, h.Cookie, at(1))
	require.NoError(t, err)
	assert.Equal(t, StateDraining, st)
	ev := <-sub.C
	assert.Equal(t, EventChanged, ev.Kind)
	assert.Equal(t, []uint64{1, 2, 3}, ev.DPIDs)
	assert.Equal(t, []uint64{1, 3}, ev.Installed)

	f, ok := tr.Get(h.ID)
	require.True(t, ok)
	assert.True(t, f.Entries[1].Refused && f.Entries[1].Gone)
	assert.Equal(t, ReasonRefused, f.Entries[1].Reason)
	assert.False(t, f.Entries[0].Refused || f.Entries[2].Refused)
	assert.Equal(t, []uint64{1, 3}, f.Installed())

	// The refused entry left the switch index: s2's flows are not this one.
	assert.Zero(t, tr.OnSwitch(2))
	assert.Equal(t, 1, tr.OnSwitch(1))
	tr.RangeSwitch(2, func(Flow) bool { t.Error("a refused entry is on its switch"); return true })

	// A repeat changes nothing and publishes nothing.
	st, err = tr.EntryRefused(2, h.Cookie, at(1))
	require.NoError(t, err)
	assert.Equal(t, StateDraining, st)
	assert.Empty(t, sub.C)

	_, err = tr.EntryRefused(1, h.Cookie, at(2))
	require.NoError(t, err)
	assert.Equal(t, []uint64{3}, (<-sub.C).Installed)
	st, err = tr.EntryRefused(3, h.Cookie, at(2))
	require.NoError(t, err)
	assert.Equal(t, StateExpired, st)
	ev = <-sub.C
	assert.Equal(t, EventExpired, ev.Kind)
	assert.Empty(t, ev.Installed)
	assert.False(t, ev.HasFinal)

	_, err = tr.EntryRefused(3, h.Cookie, at(3))
	assert.True(t, errors.Is(err, ErrExpired), err)
	_, err = tr.EntryRefused(9, tr.Cookie(h.ID+2), at(3))
	assert.True(t, errors.Is(err, ErrUnknownFlow), err)
	h2 := mustAdd(t, tr, udpKey(2), line3, at(4))
	_, err = tr.EntryRefused(9, h2.Cookie, at(4))
	assert.True(t, errors.Is(err, ErrNotOnPath), err)
	_, err = tr.EntryRefused(1, 0, at(4))
	assert.True(t, errors.Is(err, ErrUnknownCookie), err)
}

// TestEntryRefusedAfterRemoval: an entry that reported its final counters existed;
// a late refusal for it changes nothing.
func TestEntryRefusedAfterRemoval(t *testing.T) {
	tr := mustNew(t, Config{Shards: 1})
	h := mustAdd(t, tr, udpKey(1), line3, at(0))
	_, err := tr.EntryRemoved(2, h.Cookie, Counters{Packets: 3}, ReasonIdleTimeout, at(1))
	require.NoError(t, err)
	_, err = tr.EntryRefused(2, h.Cookie, at(1))
	require.NoError(t, err)
	f, _ := tr.Get(h.ID)
	assert.False(t, f.Entries[1].Refused)
	assert.Equal(t, ReasonIdleTimeout, f.Entries[1].Reason)
}

// TestGrainKeys: a host-pair aggregate and an exact flow with the same key are
// different flows, each found by its own grain.
func TestGrainKeys(t *testing.T) {
	tr := mustNew(t, Config{Shards: 4})
	exact := udpKey(7)
	pair := HostPairKey(exact)
	assert.Zero(t, pair.TPSrc|pair.TPDst)
	assert.Zero(t, pair.NWProto)
	assert.Equal(t, exact.NWSrc, pair.NWSrc)

	// An exact flow whose key happens to equal the pair key (IP protocol 0).
	he := mustAdd(t, tr, pair, line3, at(0))
	hp, created, err := tr.AddGrain(pair, GrainHostPair, line3, at(0))
	require.NoError(t, err)
	require.True(t, created)
	assert.NotEqual(t, he.ID, hp.ID)

	f, ok := tr.ByKeyGrain(pair, GrainHostPair)
	require.True(t, ok)
	assert.Equal(t, hp.ID, f.ID)
	assert.Equal(t, GrainHostPair, f.Grain)
	f, ok = tr.ByKey(pair)
	require.True(t, ok)
	assert.Equal(t, he.ID, f.ID)
	assert.Equal(t, GrainExact, f.Grain)

	again, created, err := tr.AddGrain(pair, GrainHostPair, line3, at(1))
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, hp.ID, again.ID)

	assert.True(t, tr.Remove(hp.ID, at(2)))
	_, ok = tr.ByKeyGrain(pair, GrainHostPair)
	assert.False(t, ok)
	_, ok = tr.ByKey(pair)
	assert.True(t, ok)
	assert.Equal(t, "host-pair", GrainHostPair.String())
	assert.Equal(t, "refused", ReasonRefused.String())
	assert.Equal(t, "changed", EventChanged.String())
}
