package migration

import (
	"github.com/cemon-sdn/cemon/placement"
	"github.com/cemon-sdn/cemon/stats"
)

// StatsNetwork is a Network over the loads cemon measures: the free
// bandwidth on the path between two servers is stats.FreeBps over the
// directed links Links gives (from the topology), each of CapacityBps.
type StatsNetwork struct {
	Reader      stats.Reader
	CapacityBps float64
	// Links returns the directed links from one server's switch port to the
	// other's, and false when no path is known.
	Links func(from, to placement.Server) ([]stats.Link, bool)
}

// Path implements Network.
func (n StatsNetwork) Path(from, to placement.Server) ([]string, float64, bool) {
	if n.Reader == nil || n.Links == nil || !(n.CapacityBps > 0) {
		return nil, 0, false
	}
	links, ok := n.Links(from, to)
	if !ok {
		return nil, 0, false
	}
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = l.String()
	}
	return names, stats.FreeBps(n.Reader, links, n.CapacityBps), true
}
