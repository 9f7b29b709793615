package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/mcps/sim"
	"github.com/cemon-sdn/cemon/topology"
)

func init() {
	register(command{
		name:    "scheme",
		summary: "compute a polling scheme (MCPS) for an instance or a generated workload",
		run:     runScheme,
	})
}

type schemeFlags struct {
	instance, topology, export string
	flows                      int
	seed                       uint64
	strategy, deployment       string
	controllers                int
	nodeLimit                  int64
	json                       bool
	set                        map[string]bool
}

func parseSchemeFlags(args []string, stderr io.Writer) (schemeFlags, error) {
	var f schemeFlags
	fs := newFlagSet("scheme", "scheme (--instance FILE | --topology FILE.gml|er:N:P|waxman:N:A:B|fattree:K|linear:N) [flags]", stderr,
		"Computes the polling scheme that collects every flow's counters at the lowest",
		"control-channel cost, with a proven lower bound and the baselines' costs.")
	fs.StringVar(&f.instance, "instance", "", "instance `file` (JSON: deployment, controllers with hops, flows with paths)")
	fs.StringVar(&f.topology, "topology", "", "topology: a Topology Zoo `GML file` or a generator spec (er:N:P, waxman:N:A:B, fattree:K, linear:N)")
	fs.IntVar(&f.flows, "flows", 1000, "flows to generate on --topology (one host per switch, uniform random pairs, shortest paths)")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed for generated graphs, flows and per-flow-random")
	fs.StringVar(&f.export, "export-instance", "", "write the generated instance to this `file` (JSON)")
	fs.StringVar(&f.strategy, "strategy", mcps.StrategyMCPS, "strategy: "+strings.Join(mcps.Strategies(), ", "))
	fs.StringVar(&f.deployment, "deployment", "out-of-band", "out-of-band or in-band (overrides the instance file's)")
	fs.IntVar(&f.controllers, "controllers", 1, "controllers to place at the switches that minimise total hops (--topology only)")
	fs.Int64Var(&f.nodeLimit, "node-limit", 0, "exact: branch-and-bound node budget (0: default 200000)")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	switch {
	case fs.NArg() > 0:
		return f, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case (f.instance == "") == (f.topology == ""):
		return f, errors.New("give exactly one of --instance and --topology")
	case !mcps.ValidStrategy(f.strategy):
		return f, fmt.Errorf("unknown --strategy %q (want one of %s)", f.strategy, strings.Join(mcps.Strategies(), ", "))
	case f.instance != "" && (f.set["flows"] || f.set["controllers"] || f.set["export-instance"]):
		return f, errors.New("--flows, --controllers and --export-instance apply to --topology only")
	case f.flows < 0 || f.flows > 50_000_000:
		return f, fmt.Errorf("--flows %d out of range [0, 50000000]", f.flows)
	case f.controllers < 1:
		return f, fmt.Errorf("--controllers %d, want >= 1", f.controllers)
	case f.nodeLimit < 0:
		return f, fmt.Errorf("--node-limit %d, want >= 0", f.nodeLimit)
	}
	if _, err := mcps.ParseDeployment(f.deployment); err != nil {
		return f, fmt.Errorf("--deployment: %v", err)
	}
	return f, nil
}

// schemeOutput is what --json prints.
type schemeOutput struct {
	Strategy        string           `json:"strategy"`
	Deployment      string           `json:"deployment"`
	CostModel       string           `json:"cost_model"`
	Switches        int              `json:"switches"`
	Flows           int              `json:"flows"`
	Controllers     []string         `json:"controllers"`
	CostBytes       int64            `json:"cost_bytes"`
	LowerBoundBytes int64            `json:"lower_bound_bytes"`
	Gap             float64          `json:"gap"`
	Optimal         bool             `json:"optimal"`
	PollAll         []pollAllOut     `json:"poll_all"`
	PollSingle      []pollSingleOut  `json:"poll_single"`
	Baselines       map[string]int64 `json:"baselines"`
	SolveSeconds    float64          `json:"solve_seconds"`
	Nodes           int64            `json:"nodes,omitempty"`
}

type pollAllOut struct {
	Switch     string `json:"switch"`
	Controller string `json:"controller"`
}

type pollSingleOut struct {
	Flow       string `json:"flow"`
	Switch     string `json:"switch"`
	Controller string `json:"controller"`
}

func runScheme(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseSchemeFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "cemon scheme:", err)
		return 2
	}
	nm, err := loadSchemeInstance(f)
	if err != nil {
		fmt.Fprintln(stderr, "cemon scheme:", err)
		return 1
	}
	in := nm.Instance
	opt := mcps.Options{Rand: rand.New(rand.NewPCG(f.seed, 2)), NodeLimit: f.nodeLimit}
	start := time.Now()
	sol, err := mcps.Solve(in, f.strategy, opt)
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintln(stderr, "cemon scheme:", err)
		return 1
	}
	out := schemeOutput{
		Strategy: sol.Strategy, Deployment: in.Network().Deployment.String(), CostModel: sol.Model,
		Switches: in.NumSwitches(), Flows: in.NumFlows(), Controllers: nm.Controllers,
		CostBytes: sol.Cost, LowerBoundBytes: sol.LowerBound, Gap: sol.Gap(), Optimal: sol.Optimal,
		PollAll: []pollAllOut{}, PollSingle: []pollSingleOut{}, Baselines: map[string]int64{},
		SolveSeconds: elapsed.Seconds(), Nodes: sol.Nodes,
	}
	for _, r := range sol.PollAll {
		out.PollAll = append(out.PollAll, pollAllOut{Switch: nm.Switches[r.Switch], Controller: nm.Controllers[r.Controller]})
	}
	for _, r := range sol.PollSingle {
		out.PollSingle = append(out.PollSingle, pollSingleOut{Flow: nm.Flows[r.Flow], Switch: nm.Switches[r.Switch], Controller: nm.Controllers[r.Controller]})
	}
	for _, b := range mcps.Baselines() {
		if err := ctx.Err(); err != nil {
			fmt.Fprintln(stderr, "cemon scheme:", err)
			return 1
		}
		bs, err := mcps.Solve(in, b, mcps.Options{Rand: rand.New(rand.NewPCG(f.seed, 2)), BoundRounds: -1})
		if err != nil {
			fmt.Fprintln(stderr, "cemon scheme:", err)
			return 1
		}
		out.Baselines[b] = bs.Cost
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(stderr, "cemon scheme:", err)
			return 1
		}
		return 0
	}
	printScheme(stdout, out)
	return 0
}

func printScheme(w io.Writer, o schemeOutput) {
	fmt.Fprintf(w, "%s scheme, %s, %d switches, %d flows, %d controller(s), %s\n",
		o.Strategy, o.Deployment, o.Switches, o.Flows, len(o.Controllers), o.CostModel)
	fmt.Fprintf(w, "cost %d bytes per round, lower bound %d", o.CostBytes, o.LowerBoundBytes)
	if o.Optimal {
		fmt.Fprintf(w, " (proven optimal)\n")
	} else {
		fmt.Fprintf(w, " (at most %.2f%% above optimal)\n", 100*o.Gap)
	}
	fmt.Fprintf(w, "%d poll-all, %d poll-single requests; solved in %.3f s\n", len(o.PollAll), len(o.PollSingle), o.SolveSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nbaseline\tcost bytes\t"+o.Strategy+" as fraction")
	for _, b := range mcps.Baselines() {
		c := o.Baselines[b]
		frac := 0.0
		if c > 0 {
			frac = float64(o.CostBytes) / float64(c)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3f\n", b, c, frac)
	}
	tw.Flush()
	if len(o.PollAll) > 0 {
		names := make([]string, 0, len(o.PollAll))
		for _, r := range o.PollAll {
			names = append(names, r.Switch+"@"+r.Controller)
		}
		fmt.Fprintf(w, "\npoll-all: %s\n", strings.Join(names, " "))
	}
}

func loadSchemeInstance(f schemeFlags) (*sim.Named, error) {
	dep, _ := mcps.ParseDeployment(f.deployment)
	if f.instance != "" {
		data, err := os.ReadFile(f.instance)
		if err != nil {
			return nil, err
		}
		spec, err := sim.ParseSpec(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.instance, err)
		}
		if f.set["deployment"] {
			spec.Deployment = dep.String()
		}
		nm, err := spec.Build()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.instance, err)
		}
		return nm, nil
	}
	rng := rand.New(rand.NewPCG(f.seed, 1))
	var g *topology.Graph
	if strings.HasSuffix(strings.ToLower(f.topology), ".gml") {
		data, err := os.ReadFile(f.topology)
		if err != nil {
			return nil, err
		}
		if g, err = topology.ParseGML(data); err != nil {
			return nil, fmt.Errorf("%s: %w", f.topology, err)
		}
	} else {
		var err error
		if g, err = topology.ParseSpec(f.topology, rng); err != nil {
			return nil, err
		}
	}
	if f.controllers > g.NumNodes() {
		return nil, fmt.Errorf("--controllers %d but the topology has %d switches", f.controllers, g.NumNodes())
	}
	gen, err := sim.Generate(g, dep, f.controllers, f.flows, rng)
	if err != nil {
		return nil, err
	}
	if f.export != "" {
		data, err := json.MarshalIndent(gen.Spec(), "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(f.export, append(data, '\n'), 0o644); err != nil {
			return nil, err
		}
	}
	return gen.Named, nil
}
