package mcps

import (
	"fmt"
	"strings"
)

// CostModel gives the bytes one statistics exchange puts on the control channel for one
// hop. In-band deployments multiply it by the hops between the polled switch and the
// controller (algorithms.md section 2).
//
// The solvers rely on two properties every model must have: PollAll is non-decreasing in
// the number of entries, and the cost of an exchange over h hops is h times its one-hop
// cost. The second makes the choice of controller for a switch independent of what is
// polled there: it is always a controller with the fewest hops.
type CostModel interface {
	// Name says which model produced a cost; reports carry it.
	Name() string
	// PollAll is the request plus the reply carrying entries flow-stats entries.
	PollAll(entries int) int64
	// PollSingle is the request plus the reply carrying one entry.
	PollSingle() int64
}

// LinearCost is the paper's model: a request of Request bytes and a reply of
// ReplyHeader + Entry·n bytes, each counted on the wire.
type LinearCost struct {
	Request     int64
	ReplyHeader int64
	Entry       int64
}

// PaperCost is the linear model with the paper's OpenFlow 1.0 frame sizes: a 122-byte
// flow stats request, a 78-byte reply header and 96 bytes per entry.
var PaperCost = LinearCost{Request: 122, ReplyHeader: 78, Entry: 96}

// Name implements CostModel.
func (c LinearCost) Name() string {
	return fmt.Sprintf("linear(%d,%d,%d)", c.Request, c.ReplyHeader, c.Entry)
}

// PollAll implements CostModel.
func (c LinearCost) PollAll(entries int) int64 {
	return c.Request + c.ReplyHeader + c.Entry*int64(entries)
}

// PollSingle implements CostModel.
func (c LinearCost) PollSingle() int64 { return c.Request + c.ReplyHeader + c.Entry }

// validateCost checks the properties the solvers need on a few points.
func validateCost(c CostModel) error {
	if c.PollSingle() <= 0 {
		return fmt.Errorf("%w: %s: poll-single cost %d must be positive", ErrBadNetwork, c.Name(), c.PollSingle())
	}
	prev := c.PollAll(0)
	if prev < 0 {
		return fmt.Errorf("%w: %s: poll-all cost of 0 entries is negative", ErrBadNetwork, c.Name())
	}
	for _, n := range []int{1, 2, 10, 1000, 100000} {
		v := c.PollAll(n)
		if v < prev {
			return fmt.Errorf("%w: %s: poll-all cost falls from %d to %d at %d entries", ErrBadNetwork, c.Name(), prev, v, n)
		}
		prev = v
	}
	return nil
}

// Deployment says where the control channel runs.
type Deployment uint8

const (
	// OutOfBand is a dedicated control network: every exchange costs its one-hop bytes.
	OutOfBand Deployment = iota
	// InBand carries control traffic over the data network: costs scale with hops.
	InBand
)

// String returns "out-of-band" or "in-band".
func (d Deployment) String() string {
	switch d {
	case OutOfBand:
		return "out-of-band"
	case InBand:
		return "in-band"
	}
	return fmt.Sprintf("Deployment(%d)", uint8(d))
}

// ParseDeployment reads "out-of-band" or "in-band" (also "outofband", "inband").
func ParseDeployment(s string) (Deployment, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "-", "")) {
	case "outofband", "oob", "":
		return OutOfBand, nil
	case "inband":
		return InBand, nil
	}
	return 0, fmt.Errorf("%w: unknown deployment %q (want out-of-band or in-band)", ErrBadNetwork, s)
}
