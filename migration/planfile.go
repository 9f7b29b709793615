package migration

import (
	"fmt"

	"github.com/cemon-sdn/cemon/placement"
)

// PlanServer is one server of a plan file: the inventory's server with the
// planner's per-server fields beside it.
type PlanServer struct {
	placement.Server
	ServerInput
}

// PlanOptions are the planner's settings a plan file or request may carry.
type PlanOptions struct {
	Detector     string   `json:"detector,omitempty"`
	Policy       string   `json:"policy,omitempty"`
	NICThreshold float64  `json:"nic_threshold,omitempty"`
	CPUThreshold float64  `json:"cpu_threshold,omitempty"`
	SLAWindowS   float64  `json:"sla_window_s,omitempty"`
	MaxPerLink   int      `json:"max_per_link,omitempty"`
	Profile      string   `json:"profile,omitempty"`
	Model        string   `json:"model,omitempty"`
	MaxRateMBs   float64  `json:"max_rate_mb_s,omitempty"`
	Weights      *Weights `json:"weights,omitempty"`
}

// PlanFile is what `cemon migration plan --inventory` and the REST plan
// request read: the placement inventory, with optional per-server
// nic_threshold, cpu_threshold, load_history and nic_load_bps (the NIC load
// measured now), optional services
// with their safe load, and optional planner options.
type PlanFile struct {
	Servers  []PlanServer         `json:"servers"`
	VMs      []placement.VM       `json:"vms"`
	Traffic  []placement.Traffic  `json:"traffic,omitempty"`
	External []placement.External `json:"external,omitempty"`
	Hops     []placement.Hops     `json:"hops,omitempty"`
	Services []Service            `json:"services,omitempty"`
	Options  PlanOptions          `json:"options,omitempty"`
}

// ParsePlanFile decodes a plan file strictly (unknown fields and trailing
// data are errors naming the field) and returns the planner's input and
// configuration.
func ParsePlanFile(data []byte) (PlanInput, PlanConfig, error) {
	var f PlanFile
	if err := placement.DecodeStrict(data, &f); err != nil {
		return PlanInput{}, PlanConfig{}, err
	}
	return f.Input()
}

// Input splits the file into the inventory, the per-server inputs and the
// configuration, and validates them.
func (f PlanFile) Input() (PlanInput, PlanConfig, error) {
	in := PlanInput{Servers: map[string]ServerInput{}, Services: f.Services}
	in.Inventory = placement.Inventory{VMs: f.VMs, Traffic: f.Traffic, External: f.External, Hops: f.Hops}
	for _, s := range f.Servers {
		in.Inventory.Servers = append(in.Inventory.Servers, s.Server)
		if _, dup := in.Servers[s.ID]; dup {
			continue // Validate reports the duplicate id
		}
		in.Servers[s.ID] = s.ServerInput
	}
	if err := in.Inventory.Validate(); err != nil {
		return PlanInput{}, PlanConfig{}, err
	}
	cfg, err := f.Options.Config()
	if err != nil {
		return PlanInput{}, PlanConfig{}, err
	}
	return in, cfg, nil
}

// Config turns the options into a validated PlanConfig.
func (o PlanOptions) Config() (PlanConfig, error) {
	var cfg PlanConfig
	d, err := ParseDetector(o.Detector)
	if err != nil {
		return cfg, fmt.Errorf("options.detector: %w", err)
	}
	cfg.Detector = d
	if o.Policy != "" {
		p, err := placement.ParsePolicy(o.Policy)
		if err != nil {
			return cfg, fmt.Errorf("options.policy: %w", err)
		}
		cfg.Policy = p
	}
	prof, err := ProfileByName(o.Profile)
	if err != nil {
		return cfg, fmt.Errorf("options.profile: %w", err)
	}
	k, err := ParseKind(o.Model)
	if err != nil {
		return cfg, fmt.Errorf("options.model: %w", err)
	}
	cfg.Model = Config{Kind: k, Profile: prof}
	cfg.NICThreshold, cfg.CPUThreshold = o.NICThreshold, o.CPUThreshold
	cfg.SLAWindowS, cfg.MaxPerLink, cfg.MaxRateMBs = o.SLAWindowS, o.MaxPerLink, o.MaxRateMBs
	if o.Weights != nil {
		cfg.Weights = *o.Weights
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("options: %w", err)
	}
	return cfg, nil
}
