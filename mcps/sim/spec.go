package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/topology"
)

// Spec is the instance file `cemon scheme --instance` reads and `--export-instance`
// writes:
//
//	{"deployment": "in-band",
//	 "controllers": [{"id": "c1", "hops": {"s1": 1, "s2": 2}}],
//	 "flows": [{"id": "f1", "path": ["s1", "s3"]}]}
//
// Hops are ignored out-of-band; with no controllers there is one implicit controller
// (out-of-band only: in-band costs need hops).
type Spec struct {
	Deployment  string           `json:"deployment,omitempty"`
	Controllers []SpecController `json:"controllers,omitempty"`
	Flows       []SpecFlow       `json:"flows"`
}

// SpecController is one controller and its hops to each switch.
type SpecController struct {
	ID   string           `json:"id"`
	Hops map[string]int32 `json:"hops,omitempty"`
}

// SpecFlow is one flow and its path of switch names.
type SpecFlow struct {
	ID   string   `json:"id"`
	Path []string `json:"path"`
}

// Named is an instance with the names of its switches, controllers and flows.
type Named struct {
	Instance    *mcps.Instance
	Switches    []string // by index
	Controllers []string
	Flows       []string
}

// ParseSpec decodes an instance file strictly (unknown fields are errors).
func ParseSpec(data []byte) (*Spec, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: instance: %v", ErrWorkload, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: instance: trailing data after the JSON object", ErrWorkload)
	}
	return &s, nil
}

// Build checks the spec and builds the instance. Switches are numbered in order of
// first appearance (controllers' hops in sorted name order first, then flow paths).
func (s *Spec) Build() (*Named, error) {
	dep, err := mcps.ParseDeployment(s.Deployment)
	if err != nil {
		return nil, err
	}
	nm := &Named{}
	index := map[string]int32{}
	add := func(name string) int32 {
		if i, ok := index[name]; ok {
			return i
		}
		i := int32(len(nm.Switches))
		index[name] = i
		nm.Switches = append(nm.Switches, name)
		return i
	}
	seenC := map[string]bool{}
	for k, c := range s.Controllers {
		if c.ID == "" {
			return nil, fmt.Errorf("%w: controller %d has no id", ErrWorkload, k)
		}
		if seenC[c.ID] {
			return nil, fmt.Errorf("%w: controller %q appears twice", ErrWorkload, c.ID)
		}
		seenC[c.ID] = true
		nm.Controllers = append(nm.Controllers, c.ID)
		names := make([]string, 0, len(c.Hops))
		for sw := range c.Hops {
			names = append(names, sw)
		}
		slices.Sort(names)
		for _, sw := range names {
			if sw == "" {
				return nil, fmt.Errorf("%w: controller %q: empty switch name", ErrWorkload, c.ID)
			}
			add(sw)
		}
	}
	seenF := map[string]bool{}
	paths := make([][]int32, len(s.Flows))
	for i, f := range s.Flows {
		if f.ID == "" {
			return nil, fmt.Errorf("%w: flow %d has no id", ErrWorkload, i)
		}
		if seenF[f.ID] {
			return nil, fmt.Errorf("%w: flow %q appears twice", ErrWorkload, f.ID)
		}
		seenF[f.ID] = true
		if len(f.Path) == 0 {
			return nil, fmt.Errorf("%w: flow %q has an empty path", ErrWorkload, f.ID)
		}
		for _, sw := range f.Path {
			if sw == "" {
				return nil, fmt.Errorf("%w: flow %q: empty switch name", ErrWorkload, f.ID)
			}
			paths[i] = append(paths[i], add(sw))
		}
		nm.Flows = append(nm.Flows, f.ID)
	}
	if len(nm.Switches) == 0 {
		return nil, fmt.Errorf("%w: instance has no switches", ErrWorkload)
	}
	net := mcps.Network{Switches: len(nm.Switches), Deployment: dep}
	if dep == mcps.InBand && len(s.Controllers) == 0 {
		return nil, fmt.Errorf("%w: in-band needs controllers with hops to every switch", ErrWorkload)
	}
	if len(s.Controllers) > 0 {
		for _, c := range s.Controllers {
			row := make([]int32, len(nm.Switches))
			for i, sw := range nm.Switches {
				h, ok := c.Hops[sw]
				switch {
				case !ok && dep == mcps.InBand:
					return nil, fmt.Errorf("%w: controller %q has no hops for switch %q", ErrWorkload, c.ID, sw)
				case !ok:
					h = 1
				case h < 1:
					return nil, fmt.Errorf("%w: controller %q: hops to %q is %d, want >= 1", ErrWorkload, c.ID, sw, h)
				}
				row[i] = h
			}
			net.Hops = append(net.Hops, row)
		}
	} else {
		nm.Controllers = []string{"c1"}
	}
	in, err := mcps.NewInstance(net)
	if err != nil {
		return nil, err
	}
	for i, p := range paths {
		if _, err := in.AddFlow(p); err != nil {
			return nil, fmt.Errorf("flow %q: %w", s.Flows[i].ID, err)
		}
	}
	nm.Instance = in
	return nm, nil
}

// Generated is a workload drawn on a graph: the named instance, the pairs and the
// controllers' switches.
type Generated struct {
	*Named
	Graph       *topology.Graph
	Pairs       []Pair
	Controllers []int
}

// Spec returns the instance file for a generated workload, hops included for every
// controller and switch so the file can be re-read with either deployment.
func (g *Generated) Spec() *Spec {
	in := g.Instance
	s := &Spec{Deployment: in.Network().Deployment.String()}
	hops := in.Network().Hops
	for k, id := range g.Named.Controllers {
		c := SpecController{ID: id, Hops: map[string]int32{}}
		for sw, name := range g.Switches {
			c.Hops[name] = hops[k][sw]
		}
		s.Controllers = append(s.Controllers, c)
	}
	s.Flows = make([]SpecFlow, in.NumFlows())
	for f := range s.Flows {
		p := in.Path(f)
		names := make([]string, len(p))
		for i, sw := range p {
			names[i] = g.Switches[sw]
		}
		s.Flows[f] = SpecFlow{ID: g.Flows[f], Path: names}
	}
	return s
}
