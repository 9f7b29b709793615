package main

import (
	"context"
	"encoding/json"

	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/cemon-sdn/cemon/placement"
)

func init() {
	register(command{
		name:    "place",
		summary: "place VMs on servers by a network- and interference-aware policy",
		run:     runPlace,
	})
}

type placeFlags struct {
	inventory string
	policy    string
	json      bool
	generate  bool
	seed      uint64
	export    string
}

func policyNames() string {
	var names []string
	for _, p := range placement.Policies() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

func parsePlaceFlags(args []string, stderr io.Writer) (placeFlags, int, bool) {
	var f placeFlags
	fs := newFlagSet("place", "place (--inventory FILE | --generate) [--policy NAME|all] [--json]", stderr,
		"Places every VM of the inventory from scratch and scores the result: servers used,",
		"peak CPU, RAM and NIC utilization, NIC shortfall, cross-server traffic, interference",
		"pairs, and the VMs that move. FILE is JSON with servers, vms, traffic, external, hops.",
	)
	fs.StringVar(&f.inventory, "inventory", "", "inventory `file` (JSON); - reads standard input")
	fs.StringVar(&f.policy, "policy", string(placement.TrafficAware), "policy: "+policyNames()+", or all (a comparison table)")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	fs.BoolVar(&f.generate, "generate", false, "use a generated data centre (40 servers in 4 racks, 400 VMs) instead of --inventory")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed for --generate")
	fs.StringVar(&f.export, "export-inventory", "", "with --generate: also write the inventory to this `file`")
	if code, ok := parseFlags(fs, args); !ok {
		return f, code, false
	}
	fail := func(format string, a ...any) (placeFlags, int, bool) {
		fmt.Fprintf(stderr, "place: "+format+"\n", a...)
		return f, 2, false
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected arguments: %v", fs.Args())
	case (f.inventory == "") == !f.generate:
		return fail("give exactly one of --inventory and --generate")
	case f.export != "" && !f.generate:
		return fail("--export-inventory needs --generate")
	case f.policy != "all":
		if _, err := placement.ParsePolicy(f.policy); err != nil {
			return fail("--policy: %v", err)
		}
	}
	return f, 0, true
}

func runPlace(_ context.Context, args []string, stdout, stderr io.Writer) int {
	f, code, ok := parsePlaceFlags(args, stderr)
	if !ok {
		return code
	}
	var inv placement.Inventory
	if f.generate {
		inv, _ = placement.Generate(rand.New(rand.NewPCG(f.seed, 7)), placement.GenConfig{})
		if f.export != "" {
			data, _ := json.MarshalIndent(inv, "", "  ")
			if err := os.WriteFile(f.export, append(data, '\n'), 0o644); err != nil {
				fmt.Fprintf(stderr, "place: %v\n", err)
				return 1
			}
		}
	} else {
		var data []byte
		var err error
		if f.inventory == "-" {
			data, err = io.ReadAll(io.LimitReader(os.Stdin, 256<<20))
		} else {
			data, err = os.ReadFile(f.inventory)
		}
		if err != nil {
			fmt.Fprintf(stderr, "place: %v\n", err)
			return 1
		}
		inv, err = placement.ParseInventory(data)
		if err != nil {
			fmt.Fprintf(stderr, "place: %s: %v\n", f.inventory, err)
			return 1
		}
	}
	policies := placement.Policies()
	if f.policy != "all" {
		policies = []placement.Policy{placement.Policy(f.policy)}
	}
	var plans []placement.Plan
	for _, pol := range policies {
		plan, err := placement.Place(inv, pol)
		if err != nil {
			fmt.Fprintf(stderr, "place: %v\n", err)
			return 1
		}
		plans = append(plans, plan)
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		var err error
		if len(plans) == 1 {
			err = enc.Encode(plans[0])
		} else {
			err = enc.Encode(plans)
		}
		if err != nil {
			fmt.Fprintf(stderr, "place: %v\n", err)
			return 1
		}
		return 0
	}
	writePlanTable(stdout, plans)
	return 0
}

func writePlanTable(w io.Writer, plans []placement.Plan) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tservers\tpeak CPU\tpeak RAM\tpeak NIC\tshortfall Gbit/s\tcross-server Gbit/s\tcross Gbit/s x hops\tinterference pairs\tmoves\t")
	for _, p := range plans {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t\n", p.Policy, p.ServersUsed, p.PeakCPU, p.PeakRAM,
			p.PeakNIC, p.ShortfallBps/1e9, p.CrossServerBps/1e9, p.CrossServerBpsHops/1e9, p.InterferencePairs, len(p.Moves))
	}
	_ = tw.Flush()
}
