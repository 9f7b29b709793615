package migration

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/cemon-sdn/cemon/placement"
)

// LoadSample is one point of a server's load history.
type LoadSample struct {
	T      float64 `json:"t"`       // seconds (any origin; only the order matters)
	CPU    float64 `json:"cpu"`     // utilization, fraction of the server's cores
	NICBps float64 `json:"nic_bps"` // NIC load, larger direction, bit/s
}

// ServerInput is what the planner knows about a server beyond the inventory.
type ServerInput struct {
	// NICThreshold and CPUThreshold are static thresholds (fractions); 0 means
	// the plan's.
	NICThreshold float64 `json:"nic_threshold,omitempty"`
	CPUThreshold float64 `json:"cpu_threshold,omitempty"`
	// History is the load history, oldest first; its last sample's NIC load is
	// the server's current NIC load unless NICBps is set.
	History []LoadSample `json:"load_history,omitempty"`
	// NICBps, when set, is the NIC load measured now (bit/s).
	NICBps *float64 `json:"nic_load_bps,omitempty"`
}

// ServiceSample is a service's load at an offset from the plan's start.
type ServiceSample struct {
	T    float64 `json:"t"`
	Load float64 `json:"load"`
}

// Service is a service's safe load and its expected load over the plan's
// horizon: the load at offset t is that of the last sample at or before t
// (the first sample's before it). A migration of one of its VMs starts only
// at an offset where the load is at most SafeLoad.
type Service struct {
	Name     string          `json:"name"`
	SafeLoad float64         `json:"safe_load"`
	Load     []ServiceSample `json:"load"`
}

func (s Service) at(t float64) float64 {
	if len(s.Load) == 0 {
		return 0
	}
	l := s.Load[0].Load
	for _, x := range s.Load {
		if x.T <= t {
			l = x.Load
		}
	}
	return l
}

// Network tells the planner what lies between two servers: the links a
// migration crosses (names used to count concurrent migrations per link) and
// the bandwidth free on them, bit/s. ok false means unknown (the planner then
// uses the servers' NICs alone).
type Network interface {
	Path(from, to placement.Server) (links []string, freeBps float64, ok bool)
}

// PlanConfig sets the planner's rules. The zero value is usable: static
// thresholds of 0.8, the balance policy, the WWS model under Xen, equal
// weights, a 5-minute SLA window, one migration at a time per link.
type PlanConfig struct {
	Detector     Detector
	NICThreshold float64 // default static threshold for the NIC (0: 0.8)
	CPUThreshold float64 // and for the CPU (0: 0.8)
	MADSafety    float64 // 0: 2.5
	IQRSafety    float64 // 0: 1.5
	Policy       placement.Policy
	Model        Config
	Weights      Weights
	SLAWindowS   float64 // 0: 300
	MaxPerLink   int     // 0: 1
	DeltaMBs     float64 // δ (0: 100 Mbit/s)
	MaxRateMBs   float64 // R_max (0: none)
	// MaxMovesPerHotspot bounds the VMs moved off one server (0: 4).
	MaxMovesPerHotspot int
}

// Validate names every bad field.
func (c PlanConfig) Validate() error {
	var errs []error
	if _, err := ParseDetector(string(c.Detector)); err != nil {
		errs = append(errs, fmt.Errorf("detector: %w", err))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"NICThreshold", c.NICThreshold}, {"CPUThreshold", c.CPUThreshold}} {
		if !(f.v >= 0 && f.v <= 1) {
			errs = append(errs, fmt.Errorf("%w: %s %v (a fraction)", ErrInput, f.name, f.v))
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"MADSafety", c.MADSafety}, {"IQRSafety", c.IQRSafety}, {"SLAWindowS", c.SLAWindowS}, {"DeltaMBs", c.DeltaMBs}, {"MaxRateMBs", c.MaxRateMBs}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			errs = append(errs, fmt.Errorf("%w: %s %v", ErrInput, f.name, f.v))
		}
	}
	if c.MaxPerLink < 0 || c.MaxMovesPerHotspot < 0 {
		errs = append(errs, fmt.Errorf("%w: MaxPerLink %d, MaxMovesPerHotspot %d", ErrInput, c.MaxPerLink, c.MaxMovesPerHotspot))
	}
	if c.Policy != "" {
		if _, err := placement.ParsePolicy(string(c.Policy)); err != nil {
			errs = append(errs, fmt.Errorf("policy: %w", err))
		}
	}
	if err := c.Weights.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// PlanInput is what a plan is made from.
type PlanInput struct {
	Inventory placement.Inventory
	// Servers holds per-server thresholds and load history, by server id.
	Servers  map[string]ServerInput
	Services []Service
	// Dirty holds each VM's refined dirty-rate history, by VM id; the
	// inventory's dirty_rate_mb_s is the current sample.
	Dirty   map[string]DirtyHistory
	Network Network // nil: the servers' NICs alone
}

// Hotspot is a server whose load is above its threshold.
type Hotspot struct {
	Server    string   `json:"server"`
	Resource  string   `json:"resource"` // cpu or nic
	Load      float64  `json:"load"`     // utilization
	Threshold float64  `json:"threshold"`
	Detector  Detector `json:"detector"`
	Relieved  bool     `json:"relieved"`
}

// PlannedMove is one migration of the plan.
type PlannedMove struct {
	VM         string   `json:"vm"`
	Service    string   `json:"service,omitempty"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	Reason     string   `json:"reason"` // the hot resource: cpu or nic
	StartS     float64  `json:"start_s"`
	EndS       float64  `json:"end_s"`
	Rounds     int      `json:"rounds"`
	TotalTimeS float64  `json:"total_time_s"`
	DowntimeS  float64  `json:"downtime_s"`
	TrafficMB  float64  `json:"traffic_mb"`
	EnergyJ    float64  `json:"energy_j"`
	Converged  bool     `json:"converged"`
	Cost       float64  `json:"cost"` // C(VM) among the hotspot's candidates
	DirtyMBs   float64  `json:"dirty_rate_mb_s"`
	RateMBs    float64  `json:"rate_mb_s"` // R used
	FreeMBs    float64  `json:"free_mb_s"` // the path's free bandwidth, the cap on R
	Links      []string `json:"links"`
}

// Deferred is a VM the plan would move but cannot schedule.
type Deferred struct {
	VM     string `json:"vm"`
	From   string `json:"from"`
	Reason string `json:"reason"`
}

// Plan is the planner's answer.
type Plan struct {
	Hotspots   []Hotspot     `json:"hotspots"`
	Moves      []PlannedMove `json:"moves"`
	Deferred   []Deferred    `json:"deferred"`
	SLAWindowS float64       `json:"sla_window_s"`
}

func (c PlanConfig) withDefaults() PlanConfig {
	if c.Detector == "" {
		c.Detector = Static
	}
	if c.NICThreshold == 0 {
		c.NICThreshold = DefaultThreshold
	}
	if c.CPUThreshold == 0 {
		c.CPUThreshold = DefaultThreshold
	}
	if c.Policy == "" {
		c.Policy = placement.Balance
	}
	if c.SLAWindowS == 0 {
		c.SLAWindowS = 300
	}
	if c.MaxPerLink == 0 {
		c.MaxPerLink = 1
	}
	if c.MaxMovesPerHotspot == 0 {
		c.MaxMovesPerHotspot = 4
	}
	c.Weights = c.Weights.orDefault()
	return c
}

// planner is the working state of one plan.
type planner struct {
	cfg      PlanConfig
	in       PlanInput
	inv      placement.Inventory
	assign   map[string]string
	srvIdx   map[string]int
	vmIdx    map[string]int
	nicBps   []float64 // current NIC load per server
	cpuThr   []float64
	nicThr   []float64
	rep      placement.Report
	services map[string]Service
}

// MakePlan finds the hotspots of in, chooses for each the VMs to move by
// lowest C(VM) among those whose move relieves it and a destination by the
// placement policy, and schedules the moves: migrations of one service at
// least an SLA window apart, each starting only while its service's load is
// at most the safe level, at most MaxPerLink at once over any link, each
// with R = min(D + δ, R_max, free) where free is what the path has left.
func MakePlan(in PlanInput, cfg PlanConfig) (Plan, error) {
	if err := cfg.Validate(); err != nil {
		return Plan{}, err
	}
	cfg = cfg.withDefaults()
	if err := in.Inventory.Validate(); err != nil {
		return Plan{}, err
	}
	p := &planner{cfg: cfg, in: in, inv: in.Inventory, assign: map[string]string{}, srvIdx: map[string]int{},
		vmIdx: map[string]int{}, services: map[string]Service{}}
	for i, v := range p.inv.VMs {
		if v.Server == "" {
			return Plan{}, fmt.Errorf("%w: vms[%d].server: the planner needs every VM's current server", ErrInput, i)
		}
		p.assign[v.ID] = v.Server
		p.vmIdx[v.ID] = i
	}
	for id := range in.Servers {
		found := false
		for _, s := range p.inv.Servers {
			found = found || s.ID == id
		}
		if !found {
			return Plan{}, fmt.Errorf("%w: load data for unknown server %q", ErrInput, id)
		}
	}
	for i, s := range in.Services {
		if s.Name == "" || !(s.SafeLoad >= 0) || math.IsInf(s.SafeLoad, 0) {
			return Plan{}, fmt.Errorf("%w: services[%d]: needs a name and a safe_load", ErrInput, i)
		}
		for k, x := range s.Load {
			if math.IsNaN(x.T) || math.IsInf(x.T, 0) || math.IsNaN(x.Load) || math.IsInf(x.Load, 0) || x.Load < 0 {
				return Plan{}, fmt.Errorf("%w: services[%d].load[%d]: bad sample", ErrInput, i, k)
			}
			if k > 0 && x.T < s.Load[k-1].T {
				return Plan{}, fmt.Errorf("%w: services[%d].load: samples out of order", ErrInput, i)
			}
		}
		p.services[s.Name] = s
	}
	rep, err := placement.Evaluate(p.inv, p.assign)
	if err != nil {
		return Plan{}, err
	}
	p.rep = rep
	n := len(p.inv.Servers)
	p.nicBps, p.cpuThr, p.nicThr = make([]float64, n), make([]float64, n), make([]float64, n)
	var plan Plan
	plan.SLAWindowS = cfg.SLAWindowS
	type hot struct {
		j        int
		severity float64
	}
	var hots []hot
	for j, s := range p.inv.Servers {
		p.srvIdx[s.ID] = j
		si := in.Servers[s.ID]
		if err := checkServerInput(s.ID, si); err != nil {
			return Plan{}, err
		}
		sl := rep.Servers[j]
		p.nicBps[j] = math.Max(sl.NICOutBps, sl.NICInBps)
		if len(si.History) > 0 {
			p.nicBps[j] = si.History[len(si.History)-1].NICBps
		}
		if si.NICBps != nil {
			p.nicBps[j] = *si.NICBps
		}
		cpuHist, nicHist := make([]float64, len(si.History)), make([]float64, len(si.History))
		for k, h := range si.History {
			cpuHist[k], nicHist[k] = h.CPU, h.NICBps/s.NICBps
		}
		static := func(own, def float64) float64 {
			if own > 0 {
				return own
			}
			return def
		}
		safety := cfg.MADSafety
		if cfg.Detector == IQR {
			safety = cfg.IQRSafety
		}
		p.cpuThr[j] = Threshold(cfg.Detector, static(si.CPUThreshold, cfg.CPUThreshold), safety, cpuHist)
		p.nicThr[j] = Threshold(cfg.Detector, static(si.NICThreshold, cfg.NICThreshold), safety, nicHist)
		cpu, nic := sl.CPUUtil, p.nicBps[j]/s.NICBps
		sev := 0.0
		if cpu > p.cpuThr[j] {
			plan.Hotspots = append(plan.Hotspots, Hotspot{Server: s.ID, Resource: "cpu", Load: cpu, Threshold: p.cpuThr[j], Detector: cfg.Detector})
			sev = max(sev, cpu/max(p.cpuThr[j], 1e-9))
		}
		if nic > p.nicThr[j] {
			plan.Hotspots = append(plan.Hotspots, Hotspot{Server: s.ID, Resource: "nic", Load: nic, Threshold: p.nicThr[j], Detector: cfg.Detector})
			sev = max(sev, nic/max(p.nicThr[j], 1e-9))
		}
		if sev > 0 {
			hots = append(hots, hot{j, sev})
		}
	}
	slices.SortStableFunc(hots, func(a, b hot) int { return cmp.Compare(b.severity, a.severity) })
	var chosen []PlannedMove
	moved := map[string]bool{}
	for _, h := range hots {
		ms, defs, err := p.relieve(h.j, moved)
		if err != nil {
			return Plan{}, err
		}
		chosen = append(chosen, ms...)
		plan.Deferred = append(plan.Deferred, defs...)
	}
	for i := range plan.Hotspots {
		j := p.srvIdx[plan.Hotspots[i].Server]
		plan.Hotspots[i].Relieved = !p.hot(j)
	}
	plan.Moves, plan.Deferred = p.schedule(chosen, plan.Deferred)
	if plan.Moves == nil {
		plan.Moves = []PlannedMove{}
	}
	if plan.Deferred == nil {
		plan.Deferred = []Deferred{}
	}
	if plan.Hotspots == nil {
		plan.Hotspots = []Hotspot{}
	}
	return plan, nil
}

func checkServerInput(id string, si ServerInput) error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"nic_threshold", si.NICThreshold}, {"cpu_threshold", si.CPUThreshold}} {
		if !(f.v >= 0 && f.v <= 1) {
			return fmt.Errorf("%w: server %q %s %v (a fraction)", ErrInput, id, f.name, f.v)
		}
	}
	for k, h := range si.History {
		for _, v := range []float64{h.T, h.CPU, h.NICBps} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: server %q load_history[%d]: not a number", ErrInput, id, k)
			}
		}
		if h.CPU < 0 || h.NICBps < 0 {
			return fmt.Errorf("%w: server %q load_history[%d]: negative load", ErrInput, id, k)
		}
	}
	if si.NICBps != nil && (!(*si.NICBps >= 0) || math.IsInf(*si.NICBps, 0)) {
		return fmt.Errorf("%w: server %q nic_bps %v", ErrInput, id, *si.NICBps)
	}
	return nil
}

func (p *planner) cpuUtil(j int) float64 { return p.rep.Servers[j].CPUUtil }
func (p *planner) nicUtil(j int) float64 { return p.nicBps[j] / p.inv.Servers[j].NICBps }

func (p *planner) hot(j int) bool {
	return p.cpuUtil(j) > p.cpuThr[j]+1e-12 || p.nicUtil(j) > p.nicThr[j]+1e-12
}

// vmNIC is a VM's NIC demand under the current assignment, larger direction.
func (p *planner) vmNIC(id string) float64 {
	// Evaluate reports the VMs in the inventory's order.
	if i, ok := p.vmIdx[id]; ok && i < len(p.rep.VMs) && p.rep.VMs[i].ID == id {
		return math.Max(p.rep.VMs[i].DemandOut, p.rep.VMs[i].DemandIn)
	}
	return 0
}

// candidate is one VM that could leave a hotspot, with its destination.
type candidate struct {
	vm       placement.VM
	to       int
	relieves bool
	nic      float64
	res      Result
	dirty    float64
	free     float64
	links    []string
}

// relieve moves VMs off hotspot j until it is no longer hot or nothing can
// leave: each time the cheapest by C(VM) among those that relieve it alone,
// or the cheapest of all when none does.
func (p *planner) relieve(j int, moved map[string]bool) ([]PlannedMove, []Deferred, error) {
	var out []PlannedMove
	var defs []Deferred
	from := p.inv.Servers[j]
	reason := "cpu"
	if p.nicUtil(j) > p.nicThr[j] {
		reason = "nic"
	}
	for range p.cfg.MaxMovesPerHotspot {
		if !p.hot(j) {
			break
		}
		var cands []candidate
		for _, v := range p.inv.VMs {
			if p.assign[v.ID] != from.ID || moved[v.ID] {
				continue
			}
			c, why, err := p.candidate(v, j)
			if err != nil {
				return nil, nil, err
			}
			if why != "" {
				if !slices.ContainsFunc(defs, func(d Deferred) bool { return d.VM == v.ID }) {
					defs = append(defs, Deferred{VM: v.ID, From: from.ID, Reason: why})
				}
				continue
			}
			cands = append(cands, c)
		}
		if len(cands) == 0 {
			break
		}
		results := make([]Result, len(cands))
		for i, c := range cands {
			results[i] = c.res
		}
		costs, err := DecisionCosts(results, p.cfg.Weights)
		if err != nil {
			return nil, nil, err
		}
		best := -1
		for pass := 0; pass < 2 && best < 0; pass++ {
			for i, c := range cands {
				if (pass == 0 && !c.relieves) || (best >= 0 && costs[i] >= costs[best]) {
					continue
				}
				best = i
			}
		}
		c := cands[best]
		// Candidates deferred earlier in this loop but now moved are not deferred.
		defs = slices.DeleteFunc(defs, func(d Deferred) bool { return d.VM == c.vm.ID })
		to := p.inv.Servers[c.to]
		out = append(out, PlannedMove{VM: c.vm.ID, Service: c.vm.Service, From: from.ID, To: to.ID, Reason: reason,
			Rounds: c.res.Rounds, TotalTimeS: c.res.TotalTimeS, DowntimeS: c.res.DowntimeS, TrafficMB: c.res.TrafficMB,
			EnergyJ: c.res.EnergyJ, Converged: c.res.Converged, Cost: costs[best], DirtyMBs: c.dirty,
			RateMBs: c.res.RateMBs, FreeMBs: c.free, Links: c.links})
		moved[c.vm.ID] = true
		p.assign[c.vm.ID] = to.ID
		p.nicBps[j] = max(p.nicBps[j]-c.nic, 0)
		p.nicBps[c.to] += c.nic
		rep, err := placement.Evaluate(p.inv, p.assign)
		if err != nil {
			return nil, nil, err
		}
		p.rep = rep
	}
	return out, defs, nil
}

// candidate checks where v could go from j and what moving it costs; why is
// non-empty when it cannot move.
func (p *planner) candidate(v placement.VM, j int) (candidate, string, error) {
	nic := p.vmNIC(v.ID)
	src := p.inv.Servers[j]
	relieves := (p.rep.Servers[j].CPU-v.CPUDemand())/src.CPUCores <= p.cpuThr[j]+1e-12 &&
		(p.nicBps[j]-nic)/src.NICBps <= p.nicThr[j]+1e-12
	bestTo, bestScore := -1, math.Inf(1)
	for k, dst := range p.inv.Servers {
		if k == j || p.hot(k) {
			continue
		}
		sl := p.rep.Servers[k]
		if (sl.CPU+v.CPUDemand())/dst.CPUCores > p.cpuThr[k]+1e-12 || sl.RAMMB+v.RAMMB > dst.RAMMB ||
			(p.nicBps[k]+nic)/dst.NICBps > p.nicThr[k]+1e-12 {
			continue
		}
		score, err := p.score(v, k, nic)
		if err != nil {
			return candidate{}, "", err
		}
		if score < bestScore {
			bestTo, bestScore = k, score
		}
	}
	if bestTo < 0 {
		return candidate{}, "no server can take it within its thresholds", nil
	}
	dst := p.inv.Servers[bestTo]
	// Free bandwidth: what the two NICs have left, and the path's when the
	// network knows it.
	freeBps := math.Min(src.NICBps-p.nicBps[j], dst.NICBps-p.nicBps[bestTo])
	links := []string{"nic:" + src.ID, "nic:" + dst.ID}
	if p.in.Network != nil {
		if l, f, ok := p.in.Network.Path(src, dst); ok {
			freeBps = math.Min(freeBps, f)
			links = append(links, l...)
		}
	}
	freeBps = max(freeBps, 0)
	free := BpsToMBs(freeBps)
	if free <= 0 {
		return candidate{}, "no free bandwidth between " + src.ID + " and " + dst.ID, nil
	}
	dirty := v.DirtyRateMBs
	if h, ok := p.in.Dirty[v.ID]; ok {
		dirty = h.Estimate(dirty)
	}
	rate := TransferRate(dirty, p.cfg.DeltaMBs, p.cfg.MaxRateMBs, free)
	res, err := Predict(Input{MemMB: v.RAMMB, DirtyMBs: dirty, RateMBs: rate}, p.cfg.Model)
	if err != nil {
		return candidate{}, "", fmt.Errorf("VM %q: %w", v.ID, err)
	}
	res.Trace = nil
	return candidate{vm: v, to: bestTo, relieves: relieves, nic: nic, res: res, dirty: dirty, free: free, links: links}, "", nil
}

// score rates moving v to server k under the placement policy; lower is
// better.
func (p *planner) score(v placement.VM, k int, nic float64) (float64, error) {
	dst := p.inv.Servers[k]
	sl := p.rep.Servers[k]
	cpu := (sl.CPU + v.CPUDemand()) / dst.CPUCores
	ram := (sl.RAMMB + v.RAMMB) / dst.RAMMB
	nicU := (p.nicBps[k] + nic) / dst.NICBps
	switch p.cfg.Policy {
	case placement.Consolidate:
		// Best fit: the server left with the least room, preferring one in use.
		used := 0.0
		if len(sl.VMs) == 0 {
			used = 3
		}
		return used + (1 - cpu) + (1 - ram) + (1 - nicU), nil
	case placement.TrafficAware:
		trial := maps(p.assign)
		trial[v.ID] = dst.ID
		rep, err := placement.Evaluate(p.inv, trial)
		if err != nil {
			return 0, err
		}
		return rep.Score.CrossServerBpsHops + max(cpu, ram, nicU)*1e-3, nil
	case placement.CPUBestFit:
		return 1 - cpu, nil
	case placement.CPUBalance:
		return cpu, nil
	}
	return max(cpu, ram, nicU), nil // balance
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// schedule gives each move a start offset: the earliest at which no link of
// its path carries MaxPerLink migrations already, R stays positive after the
// bandwidth the overlapping migrations take, the migration is at least the
// SLA window away from every other of its service, and its service's load
// is at most the safe level.
func (p *planner) schedule(moves []PlannedMove, defs []Deferred) ([]PlannedMove, []Deferred) {
	var out []PlannedMove
	w := p.cfg.SLAWindowS
	for _, m := range moves {
		times := []float64{0}
		for _, o := range out {
			times = append(times, o.EndS, o.EndS+w)
		}
		svc, hasSvc := p.services[m.Service]
		if hasSvc {
			for _, x := range svc.Load {
				if x.T > 0 {
					times = append(times, x.T)
				}
			}
		}
		slices.Sort(times)
		times = slices.Compact(times)
		placed := false
		for _, t := range times {
			if hasSvc && svc.at(t) > svc.SafeLoad {
				continue
			}
			// Migrations overlapping [t, t+dur) on a shared link: recompute R
			// with the bandwidth they take, then check every rule for that dur.
			mm, ok := p.fit(m, t, out)
			if !ok {
				continue
			}
			out = append(out, mm)
			placed = true
			break
		}
		if !placed {
			why := "no start within the plan: its service's load stays above the safe level"
			if !hasSvc || svc.at(math.Inf(1)) <= svc.SafeLoad {
				why = "no free bandwidth left on its path at any start"
			}
			defs = append(defs, Deferred{VM: m.VM, From: m.From, Reason: why})
			// It does not move: its server keeps it (the plan's loads are
			// advisory beyond this point).
		}
	}
	return out, defs
}

// fit tries move m at start t against the scheduled moves; it returns the
// move with its rate and times when every rule holds. The rate depends on
// which moves overlap, and which overlap depends on the duration: iterate
// until the set is stable (it only grows, so this ends).
func (p *planner) fit(m PlannedMove, t float64, out []PlannedMove) (PlannedMove, bool) {
	mm := m
	dur := m.TotalTimeS
	w := p.cfg.SLAWindowS
	for range len(out) + 2 {
		taken, count := 0.0, map[string]int{}
		for _, o := range out {
			if o.StartS < t+dur && t < o.EndS && sharesLink(o.Links, m.Links) {
				taken += o.RateMBs
				for _, l := range o.Links {
					count[l]++
				}
			}
		}
		for _, l := range m.Links {
			if count[l] >= p.cfg.MaxPerLink {
				return PlannedMove{}, false
			}
		}
		free := m.FreeMBs - taken
		if free <= 0 {
			return PlannedMove{}, false
		}
		rate := TransferRate(m.DirtyMBs, p.cfg.DeltaMBs, p.cfg.MaxRateMBs, free)
		v := p.inv.VMs[p.vmIdx[m.VM]]
		res, err := Predict(Input{MemMB: v.RAMMB, DirtyMBs: m.DirtyMBs, RateMBs: rate}, p.cfg.Model)
		if err != nil {
			return PlannedMove{}, false
		}
		mm.Rounds, mm.TotalTimeS, mm.DowntimeS, mm.TrafficMB, mm.EnergyJ, mm.Converged, mm.RateMBs =
			res.Rounds, res.TotalTimeS, res.DowntimeS, res.TrafficMB, res.EnergyJ, res.Converged, rate
		mm.FreeMBs = free
		if res.TotalTimeS <= dur {
			break
		}
		dur = res.TotalTimeS
	}
	mm.StartS, mm.EndS = t, t+mm.TotalTimeS
	if m.Service != "" {
		for _, o := range out {
			if o.Service == m.Service && !(mm.StartS >= o.EndS+w || mm.EndS+w <= o.StartS) {
				return PlannedMove{}, false
			}
		}
	}
	return mm, true
}

func sharesLink(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
