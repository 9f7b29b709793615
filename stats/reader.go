package stats

// Reader is what placement, migration, the REST API and the metrics read.
// *Store implements it; a test may substitute its own. Every method returns
// copies the caller may keep.
type Reader interface {
	// Flow returns one flow's counters and rate.
	Flow(id uint64) (FlowStats, bool)
	// Flows returns every flow, active and recently expired, by id.
	Flows() []FlowStats
	// FlowRate returns a flow's current rate in bits per second.
	FlowRate(id uint64) (float64, bool)
	// FlowHistory returns a flow's readings, oldest first.
	FlowHistory(id uint64) []Sample
	// LinkLoad returns a directed link's load.
	LinkLoad(l Link) (LinkLoad, bool)
	// LinkLoads returns every known directed link's load.
	LinkLoads() []LinkLoad
	// LinkHistory returns a link's history, oldest first.
	LinkHistory(l Link) []Sample
	// Matrix returns the host-to-host traffic matrix.
	Matrix() []MatrixEntry
	// HostTraffic returns one host's sent and received traffic.
	HostTraffic(host string) (HostTraffic, bool)
	// Hosts returns every host's traffic.
	Hosts() []HostTraffic
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
		used := ll.RateBps
		if ll.HasPortRate && ll.PortRateBps > used {
			used = ll.PortRateBps
		}
		free = min(free, capacityBps-used)
	}
	return max(free, 0)
}
