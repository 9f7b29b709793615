package placement

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Policy names a placement policy.
type Policy string

// Policies. The first three see the network; the last two are the CPU-only
// baselines they are measured against.
const (
	// Consolidate uses the fewest servers: multi-dimensional best-fit
	// decreasing over CPU, RAM and the NIC (each direction its own capacity).
	Consolidate Policy = "consolidate"
	// Balance keeps the peak utilization over every dimension lowest.
	Balance Policy = "balance"
	// TrafficAware puts heavily communicating VMs on one server or few hops
	// apart, within every capacity.
	TrafficAware Policy = "traffic-aware"
	// CPUBestFit is CloudSim's power-aware best fit decreasing: VMs by CPU
	// demand, each where it adds least power under a linear power model
	// (idle at 70 % of peak, an empty server off); CPU and RAM only.
	CPUBestFit Policy = "cpu-best-fit"
	// CPUBalance is OpenStack Watcher's workload balancing: each VM on the
	// server with the lowest CPU utilization; CPU and RAM only.
	CPUBalance Policy = "cpu-balance"
)

// Policies lists every policy, the network-aware ones first.
func Policies() []Policy {
	return []Policy{Consolidate, Balance, TrafficAware, CPUBestFit, CPUBalance}
}

// ParsePolicy checks a policy name.
func ParsePolicy(s string) (Policy, error) {
	for _, p := range Policies() {
		if string(p) == s {
			return p, nil
		}
	}
	names := make([]string, 0, 5)
	for _, p := range Policies() {
		names = append(names, string(p))
	}
	return "", fmt.Errorf("%w: %q (want %s)", ErrPolicy, s, strings.Join(names, ", "))
}

// NetworkAware reports whether the policy treats the NIC as a capacity.
func (p Policy) NetworkAware() bool {
	return p == Consolidate || p == Balance || p == TrafficAware
}

// Interference penalties, in the units of each policy's own score: a pair
// weighs as much as this much residual capacity (consolidate, out of up to
// 3), peak utilization (balance) or normalized traffic cost (traffic-aware).
const (
	PenaltyConsolidate  = 0.25
	PenaltyBalance      = 0.05
	PenaltyTrafficAware = 0.05
)

// Errors of Place.
var (
	ErrPolicy = errors.New("placement: unknown policy")
	ErrNoFit  = errors.New("placement: VM fits on no server")
)

// NoFitError names the VM that fits nowhere.
type NoFitError struct {
	VM     string
	Policy Policy
	Need   string
}

func (e *NoFitError) Error() string {
	return fmt.Sprintf("placement: %s: VM %q fits on no server (it needs %s)", e.Policy, e.VM, e.Need)
}

// Unwrap makes errors.Is(err, ErrNoFit) hold.
func (e *NoFitError) Unwrap() error { return ErrNoFit }

// Move is a VM whose server changes.
type Move struct {
	VM   string `json:"vm"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Plan is a policy's placement, scored by Evaluate.
type Plan struct {
	Policy     Policy            `json:"policy"`
	Assignment map[string]string `json:"assignment"`
	Score
	Moves  []Move `json:"moves"`
	Report Report `json:"-"`
}

// Place places every VM of inv from scratch by policy and scores the result.
// Moves lists the VMs that have a current server other than their new one.
// A VM that fits nowhere is a *NoFitError naming it.
func Place(inv Inventory, policy Policy) (Plan, error) {
	if _, err := ParsePolicy(string(policy)); err != nil {
		return Plan{}, err
	}
	p, err := compile(inv)
	if err != nil {
		return Plan{}, err
	}
	run := func(s *state) error {
		switch policy {
		case Consolidate:
			return s.consolidate()
		case Balance:
			return s.balance()
		case TrafficAware:
			return s.trafficAware()
		case CPUBestFit:
			return s.cpuBestFit()
		}
		return s.cpuBalance()
	}
	s := newState(p)
	err = run(s)
	if errors.Is(err, ErrNoFit) && policy.NetworkAware() {
		// Reserving NIC capacity for traffic with VMs not yet placed
		// can refuse a VM that fits beside its peers: try without.
		o := newState(p)
		o.optimistic = true
		if run(o) == nil {
			s, err = o, nil
		}
	}
	if err != nil {
		var nf *NoFitError
		if errors.As(err, &nf) {
			nf.Policy = policy
		}
		return Plan{}, err
	}
	rep := p.evaluate(s.at)
	plan := Plan{Policy: policy, Assignment: make(map[string]string, len(s.at)), Score: rep.Score, Moves: []Move{}, Report: rep}
	for v, j := range s.at {
		vm := inv.VMs[v]
		to := inv.Servers[j].ID
		plan.Assignment[vm.ID] = to
		if vm.Server != "" && vm.Server != to {
			plan.Moves = append(plan.Moves, Move{VM: vm.ID, From: vm.Server, To: to})
		}
	}
	slices.SortFunc(plan.Moves, func(a, b Move) int { return cmp.Compare(a.VM, b.VM) })
	return plan, nil
}

func (s *state) noFit(v int, nic bool) error {
	p := s.p
	need := fmt.Sprintf("%.3g cores, %.6g MB RAM", p.cpu[v], p.ram[v])
	if nic {
		need += fmt.Sprintf(", %.4g bit/s out and %.4g bit/s in through the NIC",
			p.extOut[v]+p.trafOut[v], p.extIn[v]+p.trafIn[v])
	}
	return &NoFitError{VM: p.inv.VMs[v].ID, Need: need}
}

// consolidate is best-fit decreasing over CPU, RAM and NIC: each VM, largest
// first, goes to the used server it leaves with the least residual capacity
// (plus the interference penalty); a new server is opened only when no used
// one fits, the one closest in hops to the VM's placed peers.
func (s *state) consolidate() error {
	p := s.p
	for _, v := range p.bySizeDesc(p.size) {
		s.gather(v)
		best, bestScore := -1, math.Inf(1)
		for j := range p.capCPU {
			if s.n[j] == 0 || !s.fits(v, j, true) {
				continue
			}
			dOut, dIn := s.nicDelta(v, j)
			resid := (1 - (s.cpu[j]+p.cpu[v])/p.capCPU[j]) + (1 - (s.ram[j]+p.ram[v])/p.capRAM[j]) +
				(1 - math.Max(s.out[j]+dOut, s.in[j]+dIn)/p.capNIC[j])
			score := resid + PenaltyConsolidate*float64(s.pairsWith(v, j))
			if score < bestScore {
				best, bestScore = j, score
			}
		}
		if best < 0 {
			for j := range p.capCPU {
				if s.n[j] != 0 || !s.fits(v, j, true) {
					continue
				}
				if score := s.trafficCost(j); score < bestScore {
					best, bestScore = j, score
				}
			}
		}
		if best < 0 {
			return s.noFit(v, true)
		}
		s.place(v, best)
	}
	return nil
}

// balance puts each VM, largest first, where the server's peak utilization
// over CPU, RAM and both NIC directions ends lowest (plus the interference
// penalty).
func (s *state) balance() error {
	p := s.p
	for _, v := range p.bySizeDesc(p.size) {
		s.gather(v)
		best, bestScore := -1, math.Inf(1)
		for j := range p.capCPU {
			if !s.fits(v, j, true) {
				continue
			}
			score := s.peakAfter(v, j) + PenaltyBalance*float64(s.pairsWith(v, j))
			if score < bestScore {
				best, bestScore = j, score
			}
		}
		if best < 0 {
			return s.noFit(v, true)
		}
		s.place(v, best)
	}
	return nil
}

// trafficAware grows communicating groups: the next VM is the unplaced one
// with the most traffic to VMs already placed (the heaviest talker when none
// has any), placed where its traffic to placed peers, weighted by hops, is
// least (normalized by its total traffic and the longest distance), with peak
// utilization and the interference penalty as tie-breakers. A local search
// then moves single VMs while that cuts hop-weighted traffic without adding
// interference pairs, within every capacity.
func (s *state) trafficAware() error {
	p := s.p
	nV := len(p.cpu)
	total := make([]float64, nV)
	for v := range total {
		total[v] = p.trafOut[v] + p.trafIn[v]
	}
	// attach[v]: v's traffic with placed VMs.
	attach := make([]float64, nV)
	placed := make([]bool, nV)
	order := p.bySizeDesc(total)
	for range nV {
		v := -1
		for _, u := range order {
			if placed[u] {
				continue
			}
			if v < 0 || attach[u] > attach[v] {
				v = u
			}
		}
		s.gather(v)
		norm := (total[v] + p.extOut[v] + p.extIn[v]) * float64(max(p.maxHops, 1))
		best, bestScore := -1, math.Inf(1)
		for j := range p.capCPU {
			if !s.fits(v, j, true) {
				continue
			}
			score := 0.1*s.peakAfter(v, j) + PenaltyTrafficAware*float64(s.pairsWith(v, j))
			if norm > 0 {
				score += s.trafficCost(j) / norm
			}
			if score < bestScore {
				best, bestScore = j, score
			}
		}
		if best < 0 {
			return s.noFit(v, true)
		}
		s.place(v, best)
		placed[v] = true
		for _, e := range p.adj[v] {
			attach[e.peer] += e.out + e.in
		}
	}
	s.improve()
	return nil
}

// improve moves single VMs to the server that most cuts their hop-weighted
// traffic, never adding interference pairs nor exceeding a capacity, until no
// move helps or 20 sweeps have run.
func (s *state) improve() {
	p := s.p
	for range 20 {
		moved := false
		for v := range p.cpu {
			if len(p.adj[v]) == 0 {
				continue
			}
			from := s.at[v]
			s.remove(v) // leaves v's peers gathered by server
			stay := s.trafficCost(from)
			pairsFrom := s.pairsWith(v, from)
			best, bestCost := from, stay
			for j := range p.capCPU {
				if j == from || !s.fits(v, j, true) || s.pairsWith(v, j) > pairsFrom {
					continue
				}
				if c := s.trafficCost(j); c < bestCost-1e-6*stay-eps {
					best, bestCost = j, c
				}
			}
			s.place(v, best)
			if best != from {
				moved = true
			}
		}
		if !moved {
			return
		}
	}
}

// cpuBestFit is CloudSim's power-aware best fit decreasing (CPU only).
func (s *state) cpuBestFit() error {
	p := s.p
	const idle = 0.7 // linear power model: idle draws 70 % of peak
	for _, v := range p.bySizeDesc(p.cpu) {
		best, bestScore := -1, math.Inf(1)
		for j := range p.capCPU {
			if !s.fits(v, j, false) {
				continue
			}
			// Power added, in units of the server's peak power.
			dp := (1 - idle) * p.cpu[v] / p.capCPU[j]
			if s.n[j] == 0 {
				dp += idle
			}
			// Ties (equal power) go to the fullest server: best fit.
			score := dp + 1e-6*(1-(s.cpu[j]+p.cpu[v])/p.capCPU[j])
			if score < bestScore {
				best, bestScore = j, score
			}
		}
		if best < 0 {
			return s.noFit(v, false)
		}
		s.gather(v)
		s.place(v, best)
	}
	return nil
}

// cpuBalance is Watcher's workload balancing (CPU only): each VM, largest CPU
// demand first, on the server with the lowest CPU utilization.
func (s *state) cpuBalance() error {
	p := s.p
	for _, v := range p.bySizeDesc(p.cpu) {
		best, bestScore := -1, math.Inf(1)
		for j := range p.capCPU {
			if !s.fits(v, j, false) {
				continue
			}
			if u := s.cpu[j] / p.capCPU[j]; u < bestScore {
				best, bestScore = j, u
			}
		}
		if best < 0 {
			return s.noFit(v, false)
		}
		s.gather(v)
		s.place(v, best)
	}
	return nil
}
