package main

import (
	"errors"
	"net/netip"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// controllerViews is what the REST adapter reads of a controller; *controller.Controller
// has it.
type controllerViews interface {
	Switches() []controller.SwitchInfo
	Links() []topology.Link
	Hosts() []topology.Host
	Serving() bool
}

// tableViews is what the REST adapter reads of the switches' flow tables, when the
// controller views have it (*controller.Controller does).
type tableViews interface {
	Tables() []controller.TableInfo
}

// flowViews is what the REST adapter reads of the flow tracker; controller.TrackerView
// and *flowtracker.Tracker have it.
type flowViews interface {
	Snapshot() []flowtracker.Flow
	Get(id uint64) (flowtracker.Flow, bool)
}

// ctlBackend serves a controller's views to the REST API: it implements api.Backend
// and api.HealthChecker. Every call takes a fresh snapshot.
type ctlBackend struct {
	ctl   controllerViews
	flows flowViews
}

var (
	_ api.Backend       = (*ctlBackend)(nil)
	_ api.HealthChecker = (*ctlBackend)(nil)
)

// newBackend returns the API view of c.
func newBackend(c *controller.Controller) *ctlBackend {
	return &ctlBackend{ctl: c, flows: c.Tracker()}
}

// Switches implements api.Backend.
func (b *ctlBackend) Switches() []api.Switch {
	sws := b.ctl.Switches()
	tables := map[uint64]controller.TableInfo{}
	if tv, ok := b.ctl.(tableViews); ok {
		for _, t := range tv.Tables() {
			tables[t.DPID] = t
		}
	}
	out := make([]api.Switch, 0, len(sws))
	for _, s := range sws {
		as := api.Switch{DPID: api.FormatDPID(s.DPID), Address: s.Addr, ConnectedSince: s.Since,
			Ports: make([]api.Port, 0, len(s.Ports))}
		if t, ok := tables[s.DPID]; ok {
			as.Table = apiTable(t)
		}
		for _, p := range s.Ports {
			up := p.Config&ofproto.PortConfigDown == 0 && p.State&ofproto.PortStateLinkDown == 0
			as.Ports = append(as.Ports, api.Port{PortNo: uint16(p.PortNo), Name: p.Name,
				HWAddr: p.HWAddr.String(), Up: up})
		}
		out = append(out, as)
	}
	return out
}

// Links implements api.Backend.
func (b *ctlBackend) Links() []api.Link {
	ls := b.ctl.Links()
	out := make([]api.Link, len(ls))
	for i, l := range ls {
		out[i] = api.Link{SrcDPID: api.FormatDPID(l.SrcDPID), SrcPort: l.SrcPort,
			DstDPID: api.FormatDPID(l.DstDPID), DstPort: l.DstPort}
	}
	return out
}

// Hosts implements api.Backend.
func (b *ctlBackend) Hosts() []api.Host {
	hs := b.ctl.Hosts()
	out := make([]api.Host, len(hs))
	for i, h := range hs {
		out[i] = api.Host{MAC: ofproto.MAC(h.MAC).String(), DPID: api.FormatDPID(h.DPID), Port: h.Port}
		if h.IP.IsValid() {
			out[i].IP = h.IP.String()
		}
	}
	return out
}

// Flows implements api.Backend: the active and draining flows and the recently
// expired ones the tracker retains, by ID.
func (b *ctlBackend) Flows() []api.Flow {
	fs := b.flows.Snapshot()
	out := make([]api.Flow, len(fs))
	for i := range fs {
		out[i] = apiFlow(&fs[i])
	}
	return out
}

// Flow implements api.Backend.
func (b *ctlBackend) Flow(id uint64) (api.Flow, bool) {
	f, ok := b.flows.Get(id)
	if !ok {
		return api.Flow{}, false
	}
	return apiFlow(&f), true
}

// Health implements api.HealthChecker: healthy while the controller serves.
func (b *ctlBackend) Health() error {
	if !b.ctl.Serving() {
		return errors.New("controller: not serving")
	}
	return nil
}

// apiTable is the API view of a switch's table; nil while nothing was installed there.
func apiTable(t controller.TableInfo) *api.SwitchTable {
	if !t.Read && t.Estimate == 0 && t.Refused == 0 {
		return nil
	}
	at := &api.SwitchTable{Entries: t.Estimate, Limit: t.Limit, LimitLearned: t.Learned, ActiveCount: t.Active,
		MaxEntries: t.MaxEntries, Refused: t.Refused, Fallback: t.Fallback, StatsUnsupported: t.Unsupported}
	if t.Read {
		r := t.ReadAt
		at.ReadAt = &r
	}
	if t.Fallback {
		f := t.FallbackSince
		at.FallbackSince = &f
	}
	return at
}

// apiMatch is the API view of a flow's key.
func apiMatch(k flowtracker.Key) api.Match {
	return api.Match{DlSrc: ofproto.MAC(k.DLSrc).String(), DlDst: ofproto.MAC(k.DLDst).String(),
		DlVlan: k.DLVLAN, DlVlanPcp: k.DLVLANPCP, DlType: k.DLType, NwTos: k.NWTos, NwProto: k.NWProto,
		NwSrc: netip.AddrFrom4(k.NWSrc).String(), NwDst: netip.AddrFrom4(k.NWDst).String(),
		TpSrc: k.TPSrc, TpDst: k.TPDst}
}

func apiFlow(f *flowtracker.Flow) api.Flow {
	k := f.Key
	af := api.Flow{
		ID:          f.ID,
		Cookie:      api.FormatCookie(f.Cookie),
		Match:       apiMatch(k),
		Path:        make([]string, len(f.Entries)),
		Entries:     make([]api.FlowEntry, len(f.Entries)),
		State:       api.StateActive,
		Start:       f.Start,
		Granularity: api.GranularityExact,
		Measured:    api.MeasuredIndividually,
	}
	if f.Grain == flowtracker.GrainHostPair {
		af.Granularity, af.Measured = api.GranularityHostPair, api.MeasuredInAggregate
	}
	for i, e := range f.Entries {
		af.Path[i] = api.FormatDPID(e.DPID)
		af.Entries[i] = api.FlowEntry{DPID: af.Path[i], InPort: e.InPort, OutPort: e.OutPort, Removed: e.Gone, Refused: e.Refused}
	}
	switch f.State {
	case flowtracker.StateDraining:
		af.State = api.StateDraining
	case flowtracker.StateExpired:
		af.State = api.StateExpired
		end := f.End
		af.End = &end
	}
	if c, ok := f.Final(); ok {
		bytes, pkts := c.Bytes, c.Packets
		af.FinalByteCount, af.FinalPacketCount = &bytes, &pkts
	}
	return af
}
