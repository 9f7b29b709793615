package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/flowtracker"
)

// tableFakeViews is a controller that also shows its switches' tables.
type tableFakeViews struct {
	fakeViews
	tables []controller.TableInfo
}

func (f *tableFakeViews) Tables() []controller.TableInfo { return f.tables }

// TestBackendTables: a switch's table occupancy and fallback reach the switch list;
// a flow's refused entries and its granularity reach the flow list.
func TestBackendTables(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	v := &tableFakeViews{fakeViews: fakeViews{switches: []controller.SwitchInfo{{DPID: 1, Since: t0}, {DPID: 2, Since: t0}}},
		tables: []controller.TableInfo{{DPID: 1, Read: true, Active: 58, MaxEntries: 1000000, ReadAt: t0, Estimate: 60,
			Limit: 60, Learned: true, Refused: 3, Fallback: true, FallbackSince: t0}}}
	tr, err := flowtracker.New(flowtracker.Config{})
	require.NoError(t, err)
	b := &ctlBackend{ctl: v, flows: tr}
	sws := b.Switches()
	require.Len(t, sws, 2)
	require.NotNil(t, sws[0].Table)
	assert.Equal(t, api.SwitchTable{Entries: 60, Limit: 60, LimitLearned: true, ActiveCount: 58, MaxEntries: 1000000,
		ReadAt: &t0, Refused: 3, Fallback: true, FallbackSince: &t0}, *sws[0].Table)
	assert.Nil(t, sws[1].Table, "nothing installed on s2: no table figures")

	k := flowtracker.Key{DLType: 0x0800, NWSrc: [4]byte{10, 0, 0, 1}, NWDst: [4]byte{10, 0, 0, 2}, NWProto: 17, TPSrc: 1, TPDst: 2}
	path := []flowtracker.Hop{{DPID: 1, InPort: 1, OutPort: 2}, {DPID: 2, InPort: 1, OutPort: 2}}
	h, _, err := tr.Add(k, path, t0)
	require.NoError(t, err)
	_, err = tr.EntryRefused(2, h.Cookie, t0)
	require.NoError(t, err)
	hp, _, err := tr.AddGrain(flowtracker.HostPairKey(k), flowtracker.GrainHostPair, path, t0)
	require.NoError(t, err)

	f, ok := b.Flow(h.ID)
	require.True(t, ok)
	assert.Equal(t, api.GranularityExact, f.Granularity)
	assert.Equal(t, api.MeasuredIndividually, f.Measured)
	assert.Equal(t, []api.FlowEntry{{DPID: "0000000000000001", InPort: 1, OutPort: 2},
		{DPID: "0000000000000002", InPort: 1, OutPort: 2, Removed: true, Refused: true}}, f.Entries)
	assert.Equal(t, api.StateDraining, f.State)

	f, ok = b.Flow(hp.ID)
	require.True(t, ok)
	assert.Equal(t, api.GranularityHostPair, f.Granularity)
	assert.Equal(t, api.MeasuredInAggregate, f.Measured)
	assert.Zero(t, f.Match.TpSrc)
	assert.Zero(t, f.Match.NwProto)
}
