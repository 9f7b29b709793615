package placement

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// MaxMinShare divides capacity among demands by max-min fairness (water
// filling): every demand below the fair share is met in full, and what is left
// is split equally among the rest. The result has one allocation per demand,
// in the same order; their sum is min(capacity, Σ demands). Negative demands
// count as zero.
func MaxMinShare(capacity float64, demands []float64) []float64 {
	alloc := make([]float64, len(demands))
	if len(demands) == 0 {
		return alloc
	}
	order := make([]int, len(demands))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case demands[a] < demands[b]:
			return -1
		case demands[a] > demands[b]:
			return 1
		}
		return a - b
	})
	left := math.Max(capacity, 0)
	for k, i := range order {
		fair := left / float64(len(order)-k)
		d := math.Max(demands[i], 0)
		if d <= fair {
			alloc[i] = d
		} else {
			alloc[i] = fair
		}
		left -= alloc[i]
	}
	return alloc
}

// Score rates a placement on one scale, whichever policy made it.
type Score struct {
	ServersUsed int     `json:"servers_used"`
	PeakCPU     float64 `json:"peak_cpu"`
	PeakRAM     float64 `json:"peak_ram"`
	// PeakNIC is the highest NIC utilization, each NIC's load being the
	// larger of its two directions (offered load: it may exceed 1).
	PeakNIC float64 `json:"peak_nic"`
	// ShortfallBps is the demand NICs cannot carry, summed over NICs and
	// directions.
	ShortfallBps float64 `json:"shortfall_bps"`
	// CrossServerBps is the VM-to-VM traffic between different servers;
	// CrossServerBpsHops weighs each bit by the hops it travels.
	CrossServerBps     float64 `json:"cross_server_bps"`
	CrossServerBpsHops float64 `json:"cross_server_bps_hops"`
	InterferencePairs  int     `json:"interference_pairs"`
}

// ServerLoad is one server's load under a placement.
type ServerLoad struct {
	ID           string   `json:"id"`
	VMs          []string `json:"vms"`
	CPU          float64  `json:"cpu_cores"` // cores in use (Σ vcpus·cpu_util)
	RAMMB        float64  `json:"ram_mb"`
	NICOutBps    float64  `json:"nic_out_bps"` // offered load leaving through the NIC
	NICInBps     float64  `json:"nic_in_bps"`
	CPUUtil      float64  `json:"cpu_util"`
	RAMUtil      float64  `json:"ram_util"`
	NICUtil      float64  `json:"nic_util"` // larger direction over NICBps
	ShortfallBps float64  `json:"shortfall_bps"`
	Pairs        int      `json:"interference_pairs"`
}

// VMShare is one VM's NIC demand and the bandwidth max-min fair sharing of its
// server's NIC predicts it gets. Traffic to VMs of the same server does not
// cross the NIC and is not part of either.
type VMShare struct {
	ID          string   `json:"id"`
	Server      string   `json:"server"`
	Dominant    Resource `json:"-"`
	DemandOut   float64  `json:"demand_out_bps"`
	DemandIn    float64  `json:"demand_in_bps"`
	PredictOut  float64  `json:"predicted_out_bps"`
	PredictIn   float64  `json:"predicted_in_bps"`
	LocalBps    float64  `json:"local_bps"` // traffic with VMs of its own server, both ways
	Interferers []string `json:"interferes_with,omitempty"`
}

// Report is Evaluate's answer: the score, each server's load and each VM's
// share of its NIC.
type Report struct {
	Score   Score        `json:"score"`
	Servers []ServerLoad `json:"servers"`
	VMs     []VMShare    `json:"vms"`
}

// ErrAssignment is wrapped when an assignment leaves a VM out or names a
// server the inventory lacks.
var ErrAssignment = errors.New("placement: bad assignment")

// Evaluate scores an assignment (VM id → server id, every VM) of inv.
func Evaluate(inv Inventory, assignment map[string]string) (Report, error) {
	p, err := compile(inv)
	if err != nil {
		return Report{}, err
	}
	at := make([]int, len(inv.VMs))
	for i, v := range inv.VMs {
		sid, ok := assignment[v.ID]
		if !ok {
			return Report{}, fmt.Errorf("%w: VM %q is not assigned", ErrAssignment, v.ID)
		}
		j, ok := p.serverIdx[sid]
		if !ok {
			return Report{}, fmt.Errorf("%w: VM %q on unknown server %q", ErrAssignment, v.ID, sid)
		}
		at[i] = j
	}
	if len(assignment) != len(inv.VMs) {
		for id := range assignment {
			if _, ok := p.vmIdx[id]; !ok {
				return Report{}, fmt.Errorf("%w: no VM %q in the inventory", ErrAssignment, id)
			}
		}
	}
	return p.evaluate(at), nil
}

// evaluate scores a complete assignment.
func (p *problem) evaluate(at []int) Report {
	nS, nV := len(p.capCPU), len(p.cpu)
	r := Report{Servers: make([]ServerLoad, nS), VMs: make([]VMShare, nV)}
	for j, s := range p.inv.Servers {
		r.Servers[j].ID = s.ID
		r.Servers[j].VMs = []string{}
	}
	on := make([][]int, nS)
	for v, j := range at {
		on[j] = append(on[j], v)
		sl := &r.Servers[j]
		sl.VMs = append(sl.VMs, p.inv.VMs[v].ID)
		sl.CPU += p.cpu[v]
		sl.RAMMB += p.ram[v]
		sh := &r.VMs[v]
		sh.ID, sh.Server, sh.Dominant = p.inv.VMs[v].ID, p.inv.Servers[j].ID, p.kind[v]
		sh.DemandOut, sh.DemandIn = p.extOut[v], p.extIn[v]
		for _, e := range p.adj[v] {
			if at[e.peer] == j {
				sh.LocalBps += e.out + e.in
				continue
			}
			sh.DemandOut += e.out
			sh.DemandIn += e.in
			if v < e.peer {
				bps := e.out + e.in
				r.Score.CrossServerBps += bps
				r.Score.CrossServerBpsHops += bps * float64(p.hops[j][at[e.peer]])
			}
		}
		sl.NICOutBps += sh.DemandOut
		sl.NICInBps += sh.DemandIn
	}
	outD, inD := make([]float64, 0, 16), make([]float64, 0, 16)
	for j := range r.Servers {
		sl := &r.Servers[j]
		if len(on[j]) == 0 {
			continue
		}
		r.Score.ServersUsed++
		sl.CPUUtil = sl.CPU / p.capCPU[j]
		sl.RAMUtil = sl.RAMMB / p.capRAM[j]
		sl.NICUtil = math.Max(sl.NICOutBps, sl.NICInBps) / p.capNIC[j]
		sl.ShortfallBps = math.Max(sl.NICOutBps-p.capNIC[j], 0) + math.Max(sl.NICInBps-p.capNIC[j], 0)
		r.Score.PeakCPU = math.Max(r.Score.PeakCPU, sl.CPUUtil)
		r.Score.PeakRAM = math.Max(r.Score.PeakRAM, sl.RAMUtil)
		r.Score.PeakNIC = math.Max(r.Score.PeakNIC, sl.NICUtil)
		r.Score.ShortfallBps += sl.ShortfallBps
		outD, inD = outD[:0], inD[:0]
		for _, v := range on[j] {
			outD = append(outD, r.VMs[v].DemandOut)
			inD = append(inD, r.VMs[v].DemandIn)
		}
		ao, ai := MaxMinShare(p.capNIC[j], outD), MaxMinShare(p.capNIC[j], inD)
		for k, v := range on[j] {
			r.VMs[v].PredictOut, r.VMs[v].PredictIn = ao[k], ai[k]
		}
		for a := 0; a < len(on[j]); a++ {
			for b := a + 1; b < len(on[j]); b++ {
				u, w := on[j][a], on[j][b]
				if p.interferes(u, w) {
					sl.Pairs++
					r.VMs[u].Interferers = append(r.VMs[u].Interferers, p.inv.VMs[w].ID)
					r.VMs[w].Interferers = append(r.VMs[w].Interferers, p.inv.VMs[u].ID)
				}
			}
		}
		r.Score.InterferencePairs += sl.Pairs
	}
	return r
}
