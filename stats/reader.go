package stats

import (
	"math"
	"time"
)

// Reader is what placement, migration, the REST API and the metrics read.
// *Store implements it; a test may substitute its own. Every method returns
// copies the caller may keep. Every figure is valid at the store's clock
// (Now): the rates of flows whose last reading is older than their
// staleness limit no longer count in links, matrix cells and hosts.
type Reader interface {
	// Now returns the instant the figures are valid at.
	Now() time.Time
	// Snapshot returns flows, links, matrix, hosts and ports of one instant.
	Snapshot() Snapshot
	// Subscribe returns a channel that receives a value when new figures
	// are in (notifications coalesce; the writer never waits) and a function
	// that ends the subscription.
	Subscribe() (<-chan struct{}, func())
	// Flow returns one flow's counters and rate.
	Flow(id uint64) (FlowStats, bool)
	// Flows returns every flow, active and recently expired, by id.
	Flows() []FlowStats
	// FlowRate returns a flow's current rate in bits per second (0 once
	// expired or stale).
	FlowRate(id uint64) (float64, bool)
	// FlowHistory returns a flow's readings, oldest first.
	FlowHistory(id uint64) []Sample
	// LinkLoad returns a directed link's load and capacity.
	LinkLoad(l Link) (LinkLoad, bool)
	// LinkLoads returns every known directed link's load.
	LinkLoads() []LinkLoad
	// LinkHistory returns a link's history, oldest first.
	LinkHistory(l Link) []Sample
	// Matrix returns the host-to-host traffic matrix.
	Matrix() []MatrixEntry
	// MatrixHistory returns one matrix cell's history, oldest first.
	MatrixHistory(p Pair) []Sample
	// HostTraffic returns one host's sent and received traffic.
	HostTraffic(host HostID) (HostTraffic, bool)
	// Hosts returns every host's traffic.
	Hosts() []HostTraffic
	// HostHistory returns a host's sent-traffic history, oldest first.
	HostHistory(host HostID) []Sample
	// PortRate returns one port's rate from port statistics.
	PortRate(k PortKey) (PortRate, bool)
	// PortRates returns every port's rate that is known.
	PortRates() []PortRate
}

var _ Reader = (*Store)(nil)

// FreeBps returns the smallest spare capacity, in bits per second, along a
// path of directed links, given the capacity of each link: what a migration
// planner may use on that path. Unknown links count as idle. It returns
// capacityBps for an empty path and never less than zero.
func FreeBps(r Reader, path []Link, capacityBps float64) float64 {
	free := capacityBps
	for _, l := range path {
		ll, ok := r.LinkLoad(l)
		if !ok {
			continue
		}
		free = min(free, capacityBps-used(ll))
	}
	return max(free, 0)
}

// PathFreeBps is FreeBps with each link's own capacity (LinkLoad.CapacityBps:
// configured, the ports' speed, or the default). Links the reader does not
// know are left out; ok is false when it knows none of the path's links.
func PathFreeBps(r Reader, path []Link) (free float64, ok bool) {
	free = math.Inf(1)
	for _, l := range path {
		ll, known := r.LinkLoad(l)
		if !known {
			continue
		}
		ok = true
		free = min(free, ll.CapacityBps-used(ll))
	}
	if !ok {
		return 0, false
	}
	return max(free, 0), true
}

// used is a link's load: the flows' rate, or the port counters' rate when
// that is higher (traffic the flow entries do not see).
func used(ll LinkLoad) float64 {
	if ll.HasPortRate && ll.PortRateBps > ll.RateBps {
		return ll.PortRateBps
	}
	return ll.RateBps
}
