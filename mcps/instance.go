package mcps

import (
	"errors"
	"fmt"
	"math"
)

// Errors returned by this package. They are wrapped with context; test with errors.Is.
var (
	ErrBadNetwork   = errors.New("mcps: bad network")
	ErrBadPath      = errors.New("mcps: bad flow path")
	ErrUnknownFlow  = errors.New("mcps: unknown flow")
	ErrDuplicate    = errors.New("mcps: duplicate flow")
	ErrBadStrategy  = errors.New("mcps: unknown strategy")
	ErrBadSolution  = errors.New("mcps: invalid solution")
	ErrBadConfig    = errors.New("mcps: bad configuration")
	ErrTooManyFlows = errors.New("mcps: too many flows")
)

// Limits that keep costs well inside int64 and allocations sane.
const (
	MaxSwitches = 1 << 24
	MaxHops     = 1 << 16
)

// Network is what the cost of polling depends on besides the flows: the number of
// switches (indexed 0..Switches-1), the deployment, the controllers' distances and the
// byte model.
type Network struct {
	Switches   int
	Deployment Deployment
	// Hops[k][s] is the number of hops from switch s to controller k along the control
	// routing (1 for a switch attached to the controller). Required in-band, at least one
	// controller; out-of-band it only names the controllers (costs ignore it) and may be
	// empty, meaning one implicit controller.
	Hops [][]int32
	// Cost is the byte model; nil means PaperCost.
	Cost CostModel
}

// Controllers is the number of controllers (at least 1).
func (n Network) Controllers() int {
	if len(n.Hops) == 0 {
		return 1
	}
	return len(n.Hops)
}

// Validate names every problem with the network.
func (n Network) Validate() error {
	var errs []error
	if n.Switches <= 0 || n.Switches > MaxSwitches {
		errs = append(errs, fmt.Errorf("%w: Switches = %d, want 1..%d", ErrBadNetwork, n.Switches, MaxSwitches))
	}
	if n.Deployment != OutOfBand && n.Deployment != InBand {
		errs = append(errs, fmt.Errorf("%w: unknown deployment %d", ErrBadNetwork, n.Deployment))
	}
	if n.Deployment == InBand && len(n.Hops) == 0 {
		errs = append(errs, fmt.Errorf("%w: in-band needs Hops for at least one controller", ErrBadNetwork))
	}
	for k, row := range n.Hops {
		if len(row) != n.Switches {
			errs = append(errs, fmt.Errorf("%w: Hops[%d] has %d entries, want %d", ErrBadNetwork, k, len(row), n.Switches))
			continue
		}
		for s, h := range row {
			if h < 1 || h > MaxHops {
				errs = append(errs, fmt.Errorf("%w: Hops[%d][%d] = %d, want 1..%d", ErrBadNetwork, k, s, h, MaxHops))
				break
			}
		}
	}
	if n.Cost != nil {
		if err := validateCost(n.Cost); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Instance is one polling problem: a network and its active flows, each a path of
// distinct switches. Paths are stored flat (compressed sparse rows of int32), so a
// million flows cost a few slices, not a million.
//
// An Instance is not safe for concurrent mutation; solving only reads it, so several
// solvers may run on one Instance at once.
type Instance struct {
	net   Network
	cost  CostModel
	start []int32 // flow f's path is nodes[start[f]:start[f+1]]
	nodes []int32
	mult  []int64 // per switch: hops to its best controller (1 out-of-band)
	ctrl  []int32 // per switch: its best controller
	seen  []uint32
	epoch uint32
}

// NewInstance returns an empty instance on net.
func NewInstance(net Network) (*Instance, error) {
	if err := net.Validate(); err != nil {
		return nil, err
	}
	in := &Instance{net: net, cost: net.Cost, start: []int32{0}}
	if in.cost == nil {
		in.cost = PaperCost
	}
	in.mult = make([]int64, net.Switches)
	in.ctrl = make([]int32, net.Switches)
	for s := range in.mult {
		in.mult[s] = 1
		best := int32(math.MaxInt32)
		for k, row := range net.Hops {
			if row[s] < best {
				best, in.ctrl[s] = row[s], int32(k)
			}
		}
		if net.Deployment == InBand {
			in.mult[s] = int64(best)
		}
	}
	in.seen = make([]uint32, net.Switches)
	return in, nil
}

// Network returns the network the instance was made with.
func (in *Instance) Network() Network { return in.net }

// CostModel returns the byte model in use.
func (in *Instance) CostModel() CostModel { return in.cost }

// NumSwitches is the number of switches.
func (in *Instance) NumSwitches() int { return in.net.Switches }

// NumFlows is the number of flows added.
func (in *Instance) NumFlows() int { return len(in.start) - 1 }

// Path returns flow f's switches; the caller must not modify it.
func (in *Instance) Path(f int) []int32 { return in.nodes[in.start[f]:in.start[f+1]] }

// Controller returns the controller that polls switch s (fewest hops, lowest index).
func (in *Instance) Controller(s int) int { return int(in.ctrl[s]) }

// Hops returns the cost multiplier of switch s: hops to its controller in-band, 1
// out-of-band.
func (in *Instance) Hops(s int) int64 { return in.mult[s] }

// Grow reserves room for flows more flows with about hops switches each.
func (in *Instance) Grow(flows, hops int) {
	if flows > 0 {
		in.start = append(make([]int32, 0, len(in.start)+flows), in.start...)
	}
	if flows > 0 && hops > 0 {
		in.nodes = append(make([]int32, 0, len(in.nodes)+flows*hops), in.nodes...)
	}
}

// AddFlow appends a flow with the given path and returns its index. The path must be
// non-empty, name existing switches and visit each at most once.
func (in *Instance) AddFlow(path []int32) (int, error) {
	if err := in.checkPath(path); err != nil {
		return 0, fmt.Errorf("flow %d: %w", in.NumFlows(), err)
	}
	if int64(len(in.nodes))+int64(len(path)) > math.MaxInt32 {
		return 0, fmt.Errorf("%w: more than %d path entries", ErrTooManyFlows, math.MaxInt32)
	}
	in.nodes = append(in.nodes, path...)
	in.start = append(in.start, int32(len(in.nodes)))
	return in.NumFlows() - 1, nil
}

func (in *Instance) checkPath(path []int32) error {
	if len(path) == 0 {
		return fmt.Errorf("%w: empty path", ErrBadPath)
	}
	in.epoch++
	if in.epoch == 0 {
		clear(in.seen)
		in.epoch = 1
	}
	for _, s := range path {
		if s < 0 || int(s) >= in.net.Switches {
			return fmt.Errorf("%w: switch %d out of range [0,%d)", ErrBadPath, s, in.net.Switches)
		}
		if in.seen[s] == in.epoch {
			return fmt.Errorf("%w: switch %d appears twice", ErrBadPath, s)
		}
		in.seen[s] = in.epoch
	}
	return nil
}

// allCost is the cost of a poll-all on switch s when it carries
// entries flows.
func (in *Instance) allCost(s int, entries int) int64 {
	return in.mult[s] * in.cost.PollAll(entries)
}

// prepared holds what every solver derives from an instance: the flows of each switch
// (F_s, built by counting) and the costs.
type prepared struct {
	in      *Instance
	nf, ns  int
	fsStart []int32 // F_s = fsFlows[fsStart[s]:fsStart[s+1]], flows in index order
	fsFlows []int32
	cAll    []int64 // per switch
	cOne    []int64 // per flow: cheapest poll-single
	oneSw   []int32 // per flow: the switch that gives cOne (first on the path)
	elems   *elements
}

func prepare(in *Instance) *prepared {
	nf, ns := in.NumFlows(), in.NumSwitches()
	p := &prepared{in: in, nf: nf, ns: ns}
	p.fsStart = make([]int32, ns+1)
	for _, s := range in.nodes {
		p.fsStart[s+1]++
	}
	for s := 0; s < ns; s++ {
		p.fsStart[s+1] += p.fsStart[s]
	}
	p.fsFlows = make([]int32, len(in.nodes))
	fill := make([]int32, ns)
	copy(fill, p.fsStart[:ns])
	p.cOne = make([]int64, nf)
	p.oneSw = make([]int32, nf)
	one := in.cost.PollSingle()
	for f := 0; f < nf; f++ {
		path := in.nodes[in.start[f]:in.start[f+1]]
		best := path[0]
		for _, s := range path {
			p.fsFlows[fill[s]] = int32(f)
			fill[s]++
			if in.mult[s] < in.mult[best] {
				best = s
			}
		}
		p.oneSw[f] = best
		p.cOne[f] = in.mult[best] * one
	}
	p.cAll = make([]int64, ns)
	for s := 0; s < ns; s++ {
		p.cAll[s] = in.allCost(s, int(p.fsStart[s+1]-p.fsStart[s]))
	}
	return p
}

func (p *prepared) flowsOf(s int) []int32 { return p.fsFlows[p.fsStart[s]:p.fsStart[s+1]] }

func (p *prepared) path(f int32) []int32 {
	return p.in.nodes[p.in.start[f]:p.in.start[f+1]]
}
