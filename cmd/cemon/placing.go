package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/placement"
	"github.com/cemon-sdn/cemon/stats"
	"github.com/cemon-sdn/cemon/store"
)

// placingFlags are cemon run's inventory and API-security flags.
type placingFlags struct {
	dataDir   string
	tokenFile string
}

func addPlacingFlags(fs *flag.FlagSet) *placingFlags {
	p := &placingFlags{}
	fs.StringVar(&p.dataDir, "data-dir", store.DefaultDir, "`directory` of the bbolt file that keeps servers and VMs")
	fs.StringVar(&p.tokenFile, "api-token-file", "", "`file` holding the bearer token REST writes need; required to listen beyond loopback")
	return p
}

// token reads the bearer token, "" when no file is given.
func (p *placingFlags) token() (string, error) {
	if p.tokenFile == "" {
		return "", nil
	}
	data, err := os.ReadFile(p.tokenFile)
	if err != nil {
		return "", fmt.Errorf("-api-token-file: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", errors.New("-api-token-file: want one token (no white space) in the file")
	}
	return tok, nil
}

// placementBackend serves the inventory and placement endpoints from the store,
// the collector's statistics and the controller's topology.
type placementBackend struct {
	st      *store.Store
	counter stats.Reader
	ctl     *controller.Controller
}

func (b placementBackend) Inventory() api.InventoryStore { return b.st }
func (b placementBackend) Counters() stats.Reader {
	if b.counter == nil {
		return nil
	}
	return b.counter
}

// Hops counts the links from one server to another through the discovered
// topology: one from each server to the switch it attaches to, plus the
// shortest path between the two switches.
func (b placementBackend) Hops(x, y placement.Server) (int, bool) {
	if b.ctl == nil {
		return 0, false
	}
	dx, err1 := placement.ParseDPID(x.DPID)
	dy, err2 := placement.ParseDPID(y.DPID)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	if dx == dy {
		return 2, true
	}
	g, dpids := b.ctl.Graph()
	src, dst := -1, -1
	for i, d := range dpids {
		if d == dx {
			src = i
		}
		if d == dy {
			dst = i
		}
	}
	if src < 0 || dst < 0 {
		return 0, false
	}
	dist, _ := g.BFS(src)
	if dist[dst] < 0 {
		return 0, false
	}
	return dist[dst] + 2, true
}
