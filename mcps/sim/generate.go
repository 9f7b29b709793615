package sim

import (
	"fmt"
	"math/rand/v2"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/topology"
)

// Generate places k controllers on g, draws flows between random switch pairs on
// shortest paths and names everything (switches by the graph, controllers c1..ck,
// flows f1..fn).
func Generate(g *topology.Graph, dep mcps.Deployment, k, flows int, r *rand.Rand) (*Generated, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: Generate needs a random source", ErrWorkload)
	}
	rt := NewRouter(g)
	ctrls, err := PlaceControllers(g, k)
	if err != nil {
		return nil, err
	}
	net, err := Network(rt, dep, ctrls)
	if err != nil {
		return nil, err
	}
	pairs, err := RandomPairs(rt, flows, r)
	if err != nil {
		return nil, err
	}
	in, err := Instance(net, rt, pairs)
	if err != nil {
		return nil, err
	}
	nm := &Named{Instance: in}
	for i := 0; i < g.NumNodes(); i++ {
		nm.Switches = append(nm.Switches, g.Name(i))
	}
	for i := range ctrls {
		nm.Controllers = append(nm.Controllers, fmt.Sprintf("c%d", i+1))
	}
	nm.Flows = make([]string, flows)
	for i := range nm.Flows {
		nm.Flows[i] = fmt.Sprintf("f%d", i+1)
	}
	return &Generated{Named: nm, Graph: g, Pairs: pairs, Controllers: ctrls}, nil
}
