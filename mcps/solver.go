package mcps

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Strategy names accepted by NewSolver and Solve.
const (
	StrategyGreedy        = "greedy"
	StrategyMCPS          = "mcps"
	StrategyExact         = "exact"
	StrategyPerFlowRandom = "per-flow-random"
	StrategyPerFlowMin    = "per-flow-min"
	StrategyPollAll       = "poll-all"
)

// Strategies lists every strategy: the solvers first, then the baselines.
func Strategies() []string {
	return []string{StrategyMCPS, StrategyGreedy, StrategyExact, StrategyPerFlowRandom, StrategyPerFlowMin, StrategyPollAll}
}

// Baselines lists the strategies that stand for what other controllers do.
func Baselines() []string {
	return []string{StrategyPerFlowRandom, StrategyPerFlowMin, StrategyPollAll}
}

// Options tune the solvers. The zero value is ready to use.
type Options struct {
	// Rand drives per-flow-random; nil means a source seeded with 1, so results repeat.
	Rand *rand.Rand
	// NodeLimit is the exact solver's proof budget in branch-and-bound nodes; past it the
	// solver returns its best scheme and a proven lower bound. 0 means 200,000 nodes or
	// 300 million path entries of bounding work, whichever comes first (a few seconds on
	// one core).
	NodeLimit int64
	// BoundRounds is the number of subgradient rounds spent on the Lagrangian lower bound
	// on top of the dual-ascent bound. 0 picks a number that keeps the bound below the
	// solve time (fewer rounds for larger instances); negative means none, and also skips
	// the branch-and-bound certificate mcps computes on networks of up to 40 switches.
	BoundRounds int
}

func (o Options) nodeLimit() int64 {
	if o.NodeLimit <= 0 {
		return 200_000
	}
	return o.NodeLimit
}

// workLimit caps the exact solver's bounding work when no node limit is given.
func (o Options) workLimit() int64 {
	if o.NodeLimit <= 0 {
		return 300_000_000
	}
	return 1 << 62
}

func (o Options) boundRounds(entries int) int {
	if o.BoundRounds < 0 {
		return 0
	}
	if o.BoundRounds > 0 {
		return o.BoundRounds
	}
	// About 4 million path entries' worth of work, at most 50 rounds.
	r := 4_000_000 / max(entries, 1)
	return min(r, 50)
}

// certifySwitches is the largest network on which mcps spends a small branch-and-bound
// budget on its certificate.
const certifySwitches = 40

// Solver computes a polling scheme for an instance.
type Solver interface {
	Name() string
	Solve(in *Instance) (*Solution, error)
}

type solverFunc struct {
	name string
	opt  Options
	fn   func(p *prepared, opt Options) *Solution
}

func (s solverFunc) Name() string { return s.name }

func (s solverFunc) Solve(in *Instance) (*Solution, error) {
	if in == nil {
		return nil, fmt.Errorf("%w: nil instance", ErrBadNetwork)
	}
	p := prepare(in)
	sol := s.fn(p, s.opt)
	sol.Strategy = s.name
	sol.Model = in.cost.Name()
	if sol.LowerBound > sol.Cost {
		// Cannot happen with a valid bound; keep the invariant visible rather than lie.
		return nil, fmt.Errorf("mcps: internal error: %s bound %d above cost %d", s.name, sol.LowerBound, sol.Cost)
	}
	if sol.LowerBound == sol.Cost {
		sol.Optimal = true
	}
	return sol, nil
}

// NewSolver returns the solver for a strategy name (see Strategies).
func NewSolver(strategy string, opt Options) (Solver, error) {
	var fn func(*prepared, Options) *Solution
	switch strategy {
	case StrategyGreedy:
		fn = func(p *prepared, opt Options) *Solution {
			sol := p.greedy()
			sol.LowerBound = p.lowerBound(opt, sol.Cost)
			return sol
		}
	case StrategyMCPS:
		fn = func(p *prepared, opt Options) *Solution {
			sol := p.mcps()
			sol.LowerBound = p.lowerBound(opt, sol.Cost)
			if p.ns <= certifySwitches && sol.LowerBound < sol.Cost && opt.BoundRounds >= 0 {
				sol.LowerBound = max(sol.LowerBound, p.certify(sol))
			}
			return sol
		}
	case StrategyExact:
		fn = func(p *prepared, opt Options) *Solution { return p.exact(opt) }
	case StrategyPerFlowRandom:
		fn = func(p *prepared, opt Options) *Solution {
			sol := p.perFlowRandom(opt.Rand)
			sol.LowerBound = p.lowerBound(opt, sol.Cost)
			return sol
		}
	case StrategyPerFlowMin:
		fn = func(p *prepared, opt Options) *Solution {
			sol := p.perFlowMin()
			sol.LowerBound = p.lowerBound(opt, sol.Cost)
			return sol
		}
	case StrategyPollAll:
		fn = func(p *prepared, opt Options) *Solution {
			sol := p.pollEverySwitch()
			sol.LowerBound = p.lowerBound(opt, sol.Cost)
			return sol
		}
	default:
		return nil, fmt.Errorf("%w: %q (want one of %v)", ErrBadStrategy, strategy, Strategies())
	}
	return solverFunc{name: strategy, opt: opt, fn: fn}, nil
}

// Solve runs one strategy on an instance.
func Solve(in *Instance, strategy string, opt Options) (*Solution, error) {
	s, err := NewSolver(strategy, opt)
	if err != nil {
		return nil, err
	}
	return s.Solve(in)
}

// ValidStrategy reports whether name is a known strategy.
func ValidStrategy(name string) bool { return slices.Contains(Strategies(), name) }
