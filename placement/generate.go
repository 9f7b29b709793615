package placement

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// GenConfig describes a generated data centre. Zero fields take the defaults
// in their comments.
type GenConfig struct {
	Servers  int     // default 40
	Racks    int     // default 4
	VMs      int     // default 400; a multiple of Servers is best
	CPUCores float64 // per server, default 48
	RAMMB    float64 // per server, default 192000
	NICBps   float64 // per server, default 10 Gbit/s
	// Headroom is the utilization, in every dimension, that the hidden
	// placement the instance is built around does not exceed. Default 0.7.
	Headroom float64
}

func (c GenConfig) withDefaults() GenConfig {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.Servers <= 0 {
		c.Servers = 40
	}
	if c.Racks <= 0 {
		c.Racks = 4
	}
	if c.VMs <= 0 {
		c.VMs = 400
	}
	def(&c.CPUCores, 48)
	def(&c.RAMMB, 192000)
	def(&c.NICBps, 10e9)
	def(&c.Headroom, 0.7)
	return c
}

// Generate builds a data centre of cfg's size from rng: servers spread evenly
// over racks; VMs of four kinds (CPU-bound, network-bound, disk-bound,
// latency-sensitive) grouped in services of 4 to 10 VMs; a skewed traffic
// matrix (service weights from a Pareto law, most traffic inside a service,
// some between services and with the outside). It is built around a hidden
// placement, returned as the second value, under which no server exceeds
// cfg.Headroom of its CPU, RAM or NIC in either direction, and no VM's traffic
// exceeds half a NIC in either direction; each VM's current
// server is another VM's hidden one, so the inventory starts as a shuffle.
func Generate(rng *rand.Rand, cfg GenConfig) (Inventory, map[string]string) {
	cfg = cfg.withDefaults()
	var inv Inventory
	for i := range cfg.Servers {
		inv.Servers = append(inv.Servers, Server{ID: fmt.Sprintf("s%02d", i), DPID: fmt.Sprintf("%x", 0x100+i), Port: 1,
			CPUCores: cfg.CPUCores, RAMMB: cfg.RAMMB, NICBps: cfg.NICBps, Rack: fmt.Sprintf("r%d", i*cfg.Racks/cfg.Servers)})
	}
	hidden := make([]int, cfg.VMs)
	per := (cfg.VMs + cfg.Servers - 1) / cfg.Servers
	for i := range hidden {
		hidden[i] = min(i/per, cfg.Servers-1)
	}
	// Services: consecutive runs of VMs, so each lies on one or two servers of
	// the hidden placement.
	var services [][]int
	for i := 0; i < cfg.VMs; {
		n := min(4+rng.IntN(7), cfg.VMs-i)
		svc := make([]int, n)
		for k := range svc {
			svc[k] = i + k
		}
		services = append(services, svc)
		i += n
	}
	inv.VMs = make([]VM, cfg.VMs)
	for si, svc := range services {
		for _, i := range svc {
			v := VM{ID: fmt.Sprintf("vm%03d", i), MAC: fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&0xff),
				IP: fmt.Sprintf("10.0.%d.%d", i>>8, i&0xff), Service: fmt.Sprintf("svc%02d", si)}
			switch r := rng.Float64(); {
			case r < 0.3: // CPU-bound
				v.VCPUs, v.CPUUtil, v.RAMMB = 4, 0.75+0.2*rng.Float64(), 4000+4000*rng.Float64()
			case r < 0.55: // network-bound
				v.VCPUs, v.CPUUtil, v.RAMMB = 2, 0.2+0.2*rng.Float64(), 2000+2000*rng.Float64()
			case r < 0.75: // disk-bound
				v.VCPUs, v.CPUUtil, v.RAMMB, v.DiskMBs = 2, 0.3, 4000+4000*rng.Float64(), 80+100*rng.Float64()
			default: // latency-sensitive
				v.VCPUs, v.CPUUtil, v.RAMMB, v.LatencySensitive = 2, 0.2+0.2*rng.Float64(), 2000+2000*rng.Float64(), true
			}
			v.DirtyRateMBs = 5 + 50*rng.Float64()
			inv.VMs[i] = v
		}
	}
	netHeavy := func(i int) float64 {
		if inv.VMs[i].CPUUtil <= 0.4 && inv.VMs[i].DiskMBs == 0 && !inv.VMs[i].LatencySensitive {
			return 4
		}
		return 1
	}
	// Traffic, in relative units first.
	for _, svc := range services {
		w := math.Pow(1-rng.Float64(), -1/1.5) // Pareto, α = 1.5: a few services carry most
		for a := range svc {
			for b := range svc {
				if a == b || rng.Float64() > 0.6 {
					continue
				}
				x, y := svc[a], svc[b]
				rate := w * netHeavy(x) * netHeavy(y) * (0.2 + rng.Float64())
				inv.Traffic = append(inv.Traffic, Traffic{Src: inv.VMs[x].ID, Dst: inv.VMs[y].ID, Bps: rate})
			}
		}
	}
	for range cfg.VMs / 4 { // light traffic between services
		x, y := rng.IntN(cfg.VMs), rng.IntN(cfg.VMs)
		if x != y {
			inv.Traffic = append(inv.Traffic, Traffic{Src: inv.VMs[x].ID, Dst: inv.VMs[y].ID, Bps: 0.05 * rng.Float64()})
		}
	}
	for _, svc := range services { // the first VM of each service talks to the outside
		inv.External = append(inv.External, External{VM: inv.VMs[svc[0]].ID, Bps: 0.5 * rng.Float64()})
	}
	// Scale traffic so that the busiest NIC of the hidden placement sits at
	// the headroom, and CPU and RAM so that none exceeds it.
	assign := make(map[string]string, cfg.VMs)
	for i, j := range hidden {
		assign[inv.VMs[i].ID] = inv.Servers[j].ID
	}
	rep, err := Evaluate(inv, assign)
	if err != nil {
		panic("placement: Generate built an invalid inventory: " + err.Error())
	}
	var peakNIC float64
	for _, s := range rep.Servers {
		peakNIC = max(peakNIC, math.Max(s.NICOutBps, s.NICInBps))
	}
	f := cfg.Headroom * cfg.NICBps / peakNIC
	for i := range inv.Traffic {
		inv.Traffic[i].Bps = math.Round(inv.Traffic[i].Bps * f)
	}
	for i := range inv.External {
		inv.External[i].Bps = math.Round(inv.External[i].Bps * f)
	}
	// No VM's traffic alone may exceed half a NIC in either direction (a
	// vNIC's share): a VM's rows shrink until it holds.
	vmOut := make(map[string]float64, cfg.VMs)
	vmIn := make(map[string]float64, cfg.VMs)
	for _, t := range inv.Traffic {
		vmOut[t.Src] += t.Bps
		vmIn[t.Dst] += t.Bps
	}
	for _, e := range inv.External {
		vmOut[e.VM] += e.Bps
		vmIn[e.VM] += e.Bps
	}
	shrink := func(id string) float64 {
		return math.Min(1, 0.5*cfg.NICBps/math.Max(math.Max(vmOut[id], vmIn[id]), 1))
	}
	for i, t := range inv.Traffic {
		inv.Traffic[i].Bps = math.Floor(t.Bps * math.Min(shrink(t.Src), shrink(t.Dst)))
	}
	for i, e := range inv.External {
		inv.External[i].Bps = math.Floor(e.Bps * shrink(e.VM))
	}
	for j, s := range rep.Servers {
		if c := s.CPU / cfg.CPUCores; c > cfg.Headroom {
			for i, h := range hidden {
				if h == j {
					inv.VMs[i].CPUUtil *= cfg.Headroom / c
				}
			}
		}
		if r := s.RAMMB / cfg.RAMMB; r > cfg.Headroom {
			for i, h := range hidden {
				if h == j {
					inv.VMs[i].RAMMB *= cfg.Headroom / r
				}
			}
		}
	}
	perm := rng.Perm(cfg.VMs)
	for i := range inv.VMs {
		inv.VMs[i].Server = inv.Servers[hidden[perm[i]]].ID
	}
	return inv, assign
}
