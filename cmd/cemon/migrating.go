package main

import (
	"github.com/cemon-sdn/cemon/migration"
	"github.com/cemon-sdn/cemon/placement"
	"github.com/cemon-sdn/cemon/stats"
)

// MigrationNetwork gives the migration planner the free bandwidth cemon
// measures on the path between two servers' switches (api.MigrationNetworker).
func (b placementBackend) MigrationNetwork() migration.Network {
	st, ok := b.counter.(*stats.Store)
	if !ok || b.ctl == nil || st.Config().LinkCapacityBps <= 0 {
		return nil
	}
	return migration.StatsNetwork{Reader: st, CapacityBps: st.Config().LinkCapacityBps, Links: b.serverLinks}
}

// serverLinks is the shortest path between the switches two servers attach
// to, as directed links; an empty path when both are on one switch.
func (b placementBackend) serverLinks(from, to placement.Server) ([]stats.Link, bool) {
	dx, err1 := placement.ParseDPID(from.DPID)
	dy, err2 := placement.ParseDPID(to.DPID)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	hops, ok := b.ctl.Network().Path(dx, dy)
	if !ok {
		return nil, false
	}
	path := make([]stats.Hop, len(hops))
	for i, h := range hops {
		path[i] = stats.Hop{DPID: h.DPID, InPort: h.InPort, OutPort: h.OutPort}
	}
	return stats.LinksOf(path), true
}
