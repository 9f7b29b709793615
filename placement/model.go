package placement

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Resource is a VM's dominant resource, the one it stresses most relative to
// an average server (section 7 of the design's algorithms: co-hosted VMs that
// stress the same resource interfere).
type Resource uint8

// Dominant resources.
const (
	ResourceNone    Resource = iota // light on everything
	ResourceCPU                     // CPU-bound
	ResourceNetwork                 // network-bound
	ResourceDisk                    // disk-bound
)

var resourceNames = [...]string{"none", "cpu", "network", "disk"}

func (r Resource) String() string {
	if int(r) < len(resourceNames) {
		return resourceNames[r]
	}
	return fmt.Sprintf("Resource(%d)", uint8(r))
}

// Dominance thresholds. A VM's share of a resource is its demand over the mean
// server's capacity (cores, NIC in its busier direction) or, for the disk,
// over DiskRefMBs; its dominant resource is the largest share when that share
// is at least DominantMin, else ResourceNone.
const (
	DiskRefMBs  = 200.0
	DominantMin = 0.05
)

type edge struct {
	peer    int
	out, in float64 // v→peer, peer→v in bit/s
}

// problem is an inventory compiled into indexes for the policies.
type problem struct {
	inv                    Inventory
	serverIdx, vmIdx       map[string]int
	capCPU, capRAM, capNIC []float64
	cpu, ram               []float64
	extOut, extIn          []float64
	trafOut, trafIn        []float64 // VM-to-VM traffic each VM sends, receives
	adj                    [][]edge
	hops                   [][]int // server × server; 0 on the diagonal
	kind                   []Resource
	latency                []bool
	cur                    []int // current server, -1 if none
	size                   []float64
	meanCPU, meanNIC       float64
	maxHops                int
}

func compile(inv Inventory) (*problem, error) {
	if err := inv.Validate(); err != nil {
		return nil, err
	}
	nS, nV := len(inv.Servers), len(inv.VMs)
	p := &problem{inv: inv, serverIdx: make(map[string]int, nS), vmIdx: make(map[string]int, nV),
		capCPU: make([]float64, nS), capRAM: make([]float64, nS), capNIC: make([]float64, nS),
		cpu: make([]float64, nV), ram: make([]float64, nV), extOut: make([]float64, nV), extIn: make([]float64, nV),
		trafOut: make([]float64, nV), trafIn: make([]float64, nV), adj: make([][]edge, nV),
		kind: make([]Resource, nV), latency: make([]bool, nV), cur: make([]int, nV), size: make([]float64, nV)}
	var meanRAM float64
	for i, s := range inv.Servers {
		p.serverIdx[s.ID] = i
		p.capCPU[i], p.capRAM[i], p.capNIC[i] = s.CPUCores, s.RAMMB, s.NICBps
		p.meanCPU += s.CPUCores / float64(nS)
		meanRAM += s.RAMMB / float64(nS)
		p.meanNIC += s.NICBps / float64(nS)
	}
	for i, v := range inv.VMs {
		p.vmIdx[v.ID] = i
		p.cpu[i], p.ram[i] = v.CPUDemand(), v.RAMMB
		p.latency[i] = v.LatencySensitive
		p.cur[i] = -1
		if v.Server != "" {
			p.cur[i] = p.serverIdx[v.Server]
		}
	}
	// Merge traffic into one edge per unordered pair, held by both ends.
	type key struct{ a, b int }
	type slots struct{ ia, ib int }
	pair := make(map[key]slots)
	for _, t := range inv.Traffic {
		a, b := p.vmIdx[t.Src], p.vmIdx[t.Dst]
		if t.Bps == 0 {
			continue
		}
		p.trafOut[a] += t.Bps
		p.trafIn[b] += t.Bps
		k := key{min(a, b), max(a, b)}
		sl, ok := pair[k]
		if !ok {
			sl = slots{len(p.adj[k.a]), len(p.adj[k.b])}
			pair[k] = sl
			p.adj[k.a] = append(p.adj[k.a], edge{peer: k.b})
			p.adj[k.b] = append(p.adj[k.b], edge{peer: k.a})
		}
		// a sends to b: out at a's end, in at b's.
		ia, ib := sl.ia, sl.ib
		if a != k.a {
			ia, ib = sl.ib, sl.ia
		}
		p.adj[a][ia].out += t.Bps
		p.adj[b][ib].in += t.Bps
	}
	for _, e := range inv.External {
		i := p.vmIdx[e.VM]
		p.extOut[i] += e.Bps
		if e.InBps != nil {
			p.extIn[i] += *e.InBps
		} else {
			p.extIn[i] += e.Bps
		}
	}
	p.hops = make([][]int, nS)
	for i := range p.hops {
		p.hops[i] = make([]int, nS)
		for j := range p.hops[i] {
			switch {
			case i == j:
			case inv.Servers[i].Rack != "" && inv.Servers[i].Rack == inv.Servers[j].Rack:
				p.hops[i][j] = DefaultHopsSameRack
			default:
				p.hops[i][j] = DefaultHopsOtherRack
			}
		}
	}
	for _, h := range inv.Hops {
		a, b := p.serverIdx[h.A], p.serverIdx[h.B]
		p.hops[a][b], p.hops[b][a] = h.Hops, h.Hops
	}
	for i := range p.hops {
		for _, h := range p.hops[i] {
			p.maxHops = max(p.maxHops, h)
		}
	}
	for i, v := range inv.VMs {
		cpuShare := p.cpu[i] / p.meanCPU
		netShare := math.Max(p.extOut[i]+p.trafOut[i], p.extIn[i]+p.trafIn[i]) / p.meanNIC
		diskShare := v.DiskMBs / DiskRefMBs
		best, share := ResourceNone, DominantMin
		for _, c := range []struct {
			r Resource
			s float64
		}{{ResourceCPU, cpuShare}, {ResourceNetwork, netShare}, {ResourceDisk, diskShare}} {
			if c.s >= share {
				best, share = c.r, c.s
			}
		}
		p.kind[i] = best
		p.size[i] = max(cpuShare, p.ram[i]/meanRAM, netShare)
	}
	return p, nil
}

// interferes reports whether two co-hosted VMs interfere: the same dominant
// resource, or a latency-sensitive VM beside a CPU-bound one.
func (p *problem) interferes(u, v int) bool {
	ku, kv := p.kind[u], p.kind[v]
	return (ku == kv && ku != ResourceNone) ||
		(p.latency[u] && kv == ResourceCPU) || (p.latency[v] && ku == ResourceCPU)
}

// Dominant returns each VM's dominant resource, by VM id, as the policies see
// it (traffic included).
func Dominant(inv Inventory) (map[string]Resource, error) {
	p, err := compile(inv)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Resource, len(inv.VMs))
	for i, v := range inv.VMs {
		out[v.ID] = p.kind[i]
	}
	return out, nil
}

// state is a partial assignment with each server's load, kept up to date as
// VMs are placed and removed. A server's NIC load counts its VMs' external
// traffic and their traffic with VMs placed on other servers. Traffic with a
// VM not yet placed is, by default (reserve), counted as crossing the NIC
// already: placing a VM then only changes its own server's load, so a server
// that fits stays fitting. Without reserve (optimistic) it counts once the
// peer is placed, and placing a VM is checked against every NIC it adds load
// to; this places a VM whose traffic alone exceeds a NIC next to its peers,
// but may paint itself into a corner, so Place tries it only when reserving
// fails.
type state struct {
	p                 *problem
	optimistic        bool
	at                []int
	cpu, ram, out, in []float64
	n                 []int
	kinds             [][4]int
	lat, latCPU       []int
	// scratch, per server: traffic v sends to and receives from the server's
	// VMs, and the totals over every placed peer
	sent, recv       []float64
	touched          []int
	sentAll, recvAll float64
}

func newState(p *problem) *state {
	nS := len(p.capCPU)
	s := &state{p: p, at: make([]int, len(p.cpu)), cpu: make([]float64, nS), ram: make([]float64, nS),
		out: make([]float64, nS), in: make([]float64, nS), n: make([]int, nS), kinds: make([][4]int, nS),
		lat: make([]int, nS), latCPU: make([]int, nS), sent: make([]float64, nS), recv: make([]float64, nS)}
	for i := range s.at {
		s.at[i] = -1
	}
	return s
}

// gather fills sent and recv for v's placed peers, by server.
func (s *state) gather(v int) {
	for _, j := range s.touched {
		s.sent[j], s.recv[j] = 0, 0
	}
	s.touched = s.touched[:0]
	s.sentAll, s.recvAll = 0, 0
	for _, e := range s.p.adj[v] {
		j := s.at[e.peer]
		if j < 0 {
			continue
		}
		if s.sent[j] == 0 && s.recv[j] == 0 {
			s.touched = append(s.touched, j)
		}
		s.sent[j] += e.out
		s.recv[j] += e.in
		s.sentAll += e.out
		s.recvAll += e.in
	}
}

// nicDelta is how v joining server j (after gather(v)) changes j's NIC load:
// its external traffic and its traffic with peers placed on other servers
// cross it.
func (s *state) nicDelta(v, j int) (dOut, dIn float64) {
	p := s.p
	if s.optimistic {
		return p.extOut[v] + s.sentAll - s.sent[j], p.extIn[v] + s.recvAll - s.recv[j]
	}
	return p.extOut[v] + p.trafOut[v] - s.sent[j] - s.recv[j], p.extIn[v] + p.trafIn[v] - s.recv[j] - s.sent[j]
}

// others applies v's load on the servers of its placed peers, other than j,
// in optimistic mode: sign +1 when v is placed, -1 when removed.
func (s *state) others(j int, sign float64) {
	if !s.optimistic {
		return
	}
	for _, k := range s.touched {
		if k != j {
			s.out[k] += sign * s.recv[k]
			s.in[k] += sign * s.sent[k]
		}
	}
}

const eps = 1e-9

// fits reports whether v fits on j (after gather(v)); nic says whether the NIC
// counts as a capacity, on j and on every server whose VMs talk with v.
func (s *state) fits(v, j int, nic bool) bool {
	p := s.p
	if s.cpu[j]+p.cpu[v] > p.capCPU[j]*(1+eps) || s.ram[j]+p.ram[v] > p.capRAM[j]*(1+eps) {
		return false
	}
	if !nic {
		return true
	}
	dOut, dIn := s.nicDelta(v, j)
	if s.out[j]+dOut > p.capNIC[j]*(1+eps) || s.in[j]+dIn > p.capNIC[j]*(1+eps) {
		return false
	}
	for _, k := range s.touched {
		if s.optimistic && k != j && (s.out[k]+s.recv[k] > p.capNIC[k]*(1+eps) || s.in[k]+s.sent[k] > p.capNIC[k]*(1+eps)) {
			return false
		}
	}
	return true
}

// peakAfter is j's highest utilization over CPU, RAM and both NIC directions
// once v joins it (after gather(v)).
func (s *state) peakAfter(v, j int) float64 {
	p := s.p
	dOut, dIn := s.nicDelta(v, j)
	return max((s.cpu[j]+p.cpu[v])/p.capCPU[j], (s.ram[j]+p.ram[v])/p.capRAM[j],
		(s.out[j]+dOut)/p.capNIC[j], (s.in[j]+dIn)/p.capNIC[j])
}

// pairsWith counts the interference pairs v would form on j.
func (s *state) pairsWith(v, j int) int {
	p := s.p
	c := &s.kinds[j]
	kv := p.kind[v]
	switch {
	case kv == ResourceCPU:
		return c[ResourceCPU] + s.lat[j] - s.latCPU[j]
	case kv != ResourceNone:
		n := c[kv]
		if p.latency[v] {
			n += c[ResourceCPU]
		}
		return n
	case p.latency[v]:
		return c[ResourceCPU]
	}
	return 0
}

// place puts v on j (after gather(v)).
func (s *state) place(v, j int) {
	p := s.p
	dOut, dIn := s.nicDelta(v, j)
	s.out[j] += dOut
	s.in[j] += dIn
	s.others(j, 1)
	s.cpu[j] += p.cpu[v]
	s.ram[j] += p.ram[v]
	s.n[j]++
	s.kinds[j][p.kind[v]]++
	if p.latency[v] {
		s.lat[j]++
		if p.kind[v] == ResourceCPU {
			s.latCPU[j]++
		}
	}
	s.at[v] = j
}

// remove takes v off its server (leaving v's peers gathered by server).
func (s *state) remove(v int) {
	p := s.p
	j := s.at[v]
	s.at[v] = -1
	s.gather(v)
	dOut, dIn := s.nicDelta(v, j)
	s.out[j] -= dOut
	s.in[j] -= dIn
	s.others(j, -1)
	s.cpu[j] -= p.cpu[v]
	s.ram[j] -= p.ram[v]
	s.n[j]--
	s.kinds[j][p.kind[v]]--
	if p.latency[v] {
		s.lat[j]--
		if p.kind[v] == ResourceCPU {
			s.latCPU[j]--
		}
	}
}

// trafficCost is v's traffic with its placed peers weighted by hops, were it
// on j (after gather(v)).
func (s *state) trafficCost(j int) float64 {
	var c float64
	h := s.p.hops[j]
	for _, k := range s.touched {
		c += (s.sent[k] + s.recv[k]) * float64(h[k])
	}
	return c
}

// bySizeDesc orders VM indexes by size, largest first, ties by id.
func (p *problem) bySizeDesc(size []float64) []int {
	order := make([]int, len(size))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(size[b], size[a]), cmp.Compare(p.inv.VMs[a].ID, p.inv.VMs[b].ID))
	})
	return order
}
