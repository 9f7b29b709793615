package poll

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cemon-sdn/cemon/mcps"
)

// Strategy is a way of polling the flow statistics. Its zero value is MCPS, the
// default.
type Strategy uint8

// The strategies. Their names (String, ParseStrategy) are what the command line and
// the REST API take.
const (
	MCPS          Strategy = iota // mcps: greedy scheme plus clean-up, patched by DAPR, rebuilt by ARI
	PerFlowRandom                 // per-flow-random: each flow polled singly at a random switch of its path
	PerFlowMin                    // per-flow-min: each flow polled singly at its cheapest switch
	PollAll                       // poll-all: every switch asked for all its entries
	Off                           // off: nothing polled; flows are counted from FLOW_REMOVED only
	AFPS                          // afps: every flow polled at its own pace by an adaptive sampler (package afps)
	numStrategies
)

var strategyNames = [numStrategies]string{"mcps", "per-flow-random", "per-flow-min", "poll-all", "off", "afps"}

// ErrBadStrategy is returned for a name that is no strategy.
var ErrBadStrategy = errors.New("poll: unknown strategy")

// String is the strategy's name.
func (s Strategy) String() string {
	if s < numStrategies {
		return strategyNames[s]
	}
	return fmt.Sprintf("Strategy(%d)", uint8(s))
}

// Valid reports whether s is one of the strategies.
func (s Strategy) Valid() bool { return s < numStrategies }

// Strategies lists the strategies, default first.
func Strategies() []Strategy { return []Strategy{MCPS, PerFlowRandom, PerFlowMin, PollAll, Off, AFPS} }

// StrategyNames lists the strategies' names, default first.
func StrategyNames() []string { return strategyNames[:] }

// ParseStrategy reads a strategy's name.
func ParseStrategy(name string) (Strategy, error) {
	for i, n := range strategyNames {
		if n == name {
			return Strategy(i), nil
		}
	}
	return 0, fmt.Errorf("%w: %q (want one of %s)", ErrBadStrategy, name, strings.Join(strategyNames[:], ", "))
}

// MarshalText writes the strategy's name.
func (s Strategy) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrBadStrategy, uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a strategy's name.
func (s *Strategy) UnmarshalText(b []byte) error {
	v, err := ParseStrategy(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// solver is the mcps solver a strategy rebuilds its scheme with.
func (s Strategy) solver() string {
	switch s {
	case PerFlowRandom:
		return mcps.StrategyPerFlowRandom
	case PerFlowMin:
		return mcps.StrategyPerFlowMin
	case PollAll:
		return mcps.StrategyPollAll
	}
	return mcps.StrategyMCPS
}
