package main

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// fakeViews is a controller as the REST adapter reads it.
type fakeViews struct {
	switches []controller.SwitchInfo
	links    []topology.Link
	hosts    []topology.Host
	serving  bool
}

func (f *fakeViews) Switches() []controller.SwitchInfo { return f.switches }
func (f *fakeViews) Links() []topology.Link            { return f.links }
func (f *fakeViews) Hosts() []topology.Host            { return f.hosts }
func (f *fakeViews) Serving() bool                     { return f.serving }

// TestBackend: the adapter turns the controller's switches, links, hosts and the
// tracker's flows (active, draining, expired) into the REST types.
func TestBackend(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	v := &fakeViews{
		switches: []controller.SwitchInfo{{DPID: 1, Addr: "10.0.0.9:40000", Since: t0, Ports: []ofproto.PhyPort{
			{PortNo: 1, Name: "s1-eth1", HWAddr: ofproto.MAC{2, 0, 0, 0, 1, 1}},
			{PortNo: 2, Name: "s1-eth2", HWAddr: ofproto.MAC{2, 0, 0, 0, 1, 2}, State: ofproto.PortStateLinkDown},
			{PortNo: 3, Name: "s1-eth3", Config: ofproto.PortConfigDown},
		}}},
		links: []topology.Link{{SrcDPID: 1, SrcPort: 3, DstDPID: 2, DstPort: 2}},
		hosts: []topology.Host{{MAC: [6]byte{0, 0, 0, 0, 0, 1}, IP: netip.MustParseAddr("10.0.0.1"), DPID: 1, Port: 1},
			{MAC: [6]byte{0, 0, 0, 0, 0, 2}, DPID: 2, Port: 1}},
	}
	tr, err := flowtracker.New(flowtracker.Config{})
	require.NoError(t, err)
	b := &ctlBackend{ctl: v, flows: tr}

	sws := b.Switches()
	require.Len(t, sws, 1)
	assert.Equal(t, "0000000000000001", sws[0].DPID)
	assert.Equal(t, "10.0.0.9:40000", sws[0].Address)
	assert.True(t, sws[0].ConnectedSince.Equal(t0))
	assert.Equal(t, []api.Port{
		{PortNo: 1, Name: "s1-eth1", HWAddr: "02:00:00:00:01:01", Up: true},
		{PortNo: 2, Name: "s1-eth2", HWAddr: "02:00:00:00:01:02", Up: false},
		{PortNo: 3, Name: "s1-eth3", HWAddr: "00:00:00:00:00:00", Up: false},
	}, sws[0].Ports)
	assert.Equal(t, []api.Link{{SrcDPID: "0000000000000001", SrcPort: 3, DstDPID: "0000000000000002", DstPort: 2}}, b.Links())
	assert.Equal(t, []api.Host{
		{MAC: "00:00:00:00:00:01", IP: "10.0.0.1", DPID: "0000000000000001", Port: 1},
		{MAC: "00:00:00:00:00:02", DPID: "0000000000000002", Port: 1},
	}, b.Hosts())

	// A UDP flow over three switches: active, then draining (the egress entry goes
	// first), then expired with the ingress entry's final counters.
	k := flowtracker.Key{DLSrc: [6]byte{0, 0, 0, 0, 0, 1}, DLDst: [6]byte{0, 0, 0, 0, 0, 3}, DLVLAN: 0xffff,
		DLType: 0x0800, NWProto: 17, NWSrc: [4]byte{10, 0, 0, 1}, NWDst: [4]byte{10, 0, 0, 3}, TPSrc: 5000, TPDst: 6000}
	path := []flowtracker.Hop{{DPID: 1, InPort: 1, OutPort: 3}, {DPID: 2, InPort: 2, OutPort: 3}, {DPID: 3, InPort: 2, OutPort: 1}}
	h, created, err := tr.Add(k, path, t0)
	require.NoError(t, err)
	require.True(t, created)

	flows := b.Flows()
	require.Len(t, flows, 1)
	f := flows[0]
	assert.Equal(t, h.ID, f.ID)
	assert.Equal(t, api.FormatCookie(h.Cookie), f.Cookie)
	assert.Equal(t, api.StateActive, f.State)
	assert.Nil(t, f.End)
	assert.Nil(t, f.FinalByteCount)
	assert.Equal(t, api.Match{DlSrc: "00:00:00:00:00:01", DlDst: "00:00:00:00:00:03", DlVlan: 0xffff, DlType: 0x0800,
		NwProto: 17, NwSrc: "10.0.0.1", NwDst: "10.0.0.3", TpSrc: 5000, TpDst: 6000}, f.Match)
	assert.Equal(t, []string{"0000000000000001", "0000000000000002", "0000000000000003"}, f.Path)
	assert.Equal(t, api.FlowEntry{DPID: "0000000000000002", InPort: 2, OutPort: 3}, f.Entries[1])

	_, err = tr.EntryRemoved(3, h.Cookie, flowtracker.Counters{Packets: 4, Bytes: 400}, flowtracker.ReasonIdleTimeout, t0.Add(10*time.Second))
	require.NoError(t, err)
	d, ok := b.Flow(h.ID)
	require.True(t, ok)
	assert.Equal(t, api.StateDraining, d.State)
	assert.Nil(t, d.End)
	assert.Nil(t, d.FinalByteCount, "no final counters before the ingress entry goes")
	assert.True(t, d.Entries[2].Removed)
	assert.False(t, d.Entries[0].Removed)

	end := t0.Add(11 * time.Second)
	for _, dpid := range []uint64{2, 1} {
		_, err = tr.EntryRemoved(dpid, h.Cookie, flowtracker.Counters{Packets: 5, Bytes: 500}, flowtracker.ReasonIdleTimeout, end)
		require.NoError(t, err)
	}
	g, ok := b.Flow(h.ID)
	require.True(t, ok)
	assert.Equal(t, api.StateExpired, g.State)
	require.NotNil(t, g.End)
	assert.True(t, g.End.Equal(end))
	require.NotNil(t, g.FinalPacketCount)
	require.NotNil(t, g.FinalByteCount)
	assert.Equal(t, uint64(5), *g.FinalPacketCount)
	assert.Equal(t, uint64(500), *g.FinalByteCount)

	_, ok = b.Flow(12345)
	assert.False(t, ok, "an unknown id was found")
	assert.Error(t, b.Health(), "healthy while not serving")
	v.serving = true
	assert.NoError(t, b.Health())
}

// TestBackendOfController: newBackend reads a real controller, whose health follows
// Serve.
func TestBackendOfController(t *testing.T) {
	ctl := controller.New(controller.Config{}, nil)
	b := newBackend(ctl)
	assert.Empty(t, b.Switches())
	assert.Empty(t, b.Flows())
	assert.Error(t, b.Health())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctl.Serve(ctx, ln) }()
	require.Eventually(t, func() bool { return b.Health() == nil }, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	assert.Error(t, b.Health())
}
