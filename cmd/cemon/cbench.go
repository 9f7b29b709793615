package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cemon-sdn/cemon/mininet/ofemu"
)

func init() {
	register(command{
		name:    "cbench",
		summary: "benchmark a controller's flow set-up with emulated switches (cbench's method)",
		run:     runCbench,
	})
}

func runCbench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("cbench", "cbench [flags]", stderr,
		"Connects emulated OpenFlow 1.0 switches to a controller, sends PACKET_INs for new",
		"hosts and counts the responses (FLOW_MOD adds and non-LLDP PACKET_OUTs) per second.",
		"With -mode poll it starts cemon itself, wires the switches as -topology (cemon discovers",
		"the links by LLDP), has it install -flows flows reactively, and measures its MCPS polling",
		"rounds (time, flows read, control-channel bytes, CPU of cemon and of the emulator, cemon's",
		"resident memory), then a link and a switch going down.")
	var pc pollBenchConfig
	var cemonFlags string
	fs.StringVar(&pc.Topology, "topology", "er:1000:0.01", "-mode poll: topology spec (er:N:P, waxman:N:A:B, fattree:K, linear:N, ring:N)")
	fs.Uint64Var(&pc.Seed, "seed", 1, "-mode poll: seed of the topology and the flows")
	fs.IntVar(&pc.Hosts, "hosts", 10, "-mode poll: hosts per switch")
	fs.IntVar(&pc.HostPorts, "host-ports", 4, "-mode poll: host ports per switch")
	fs.IntVar(&pc.Flows, "flows", 1000000, "-mode poll: flows to install")
	fs.IntVar(&pc.Rounds, "rounds", 10, "-mode poll: polling rounds to measure")
	fs.DurationVar(&pc.Interval, "interval", time.Second, "-mode poll: cemon's polling interval")
	fs.Float64Var(&pc.Rate, "rate", 1e6, "-mode poll: traffic of every entry, bit/s")
	fs.DurationVar(&pc.LoadTimeout, "load-timeout", 30*time.Minute, "-mode poll: longest time to install the flows")
	fs.BoolVar(&pc.Down, "down", true, "-mode poll: then take a link and a switch down and time the clean-up")
	fs.StringVar(&cemonFlags, "cemon-flags", "", "-mode poll: more flags for the cemon it starts, space-separated")
	var c ofemu.CbenchConfig
	var mode string
	var asJSON bool
	fs.StringVar(&c.Controller, "controller", "127.0.0.1:6653", "controller `address` (host:port)")
	fs.IntVar(&c.Switches, "switches", 16, "emulated switches")
	fs.IntVar(&c.MACs, "macs", 1000, "hosts behind each switch")
	fs.StringVar(&mode, "mode", "latency", "latency (one PACKET_IN outstanding per switch), throughput (as many as the connection takes) or poll (polling at scale)")
	fs.IntVar(&c.Outstanding, "outstanding", 0, "PACKET_INs outstanding per switch in latency mode; default 1")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "time before counting starts")
	fs.DurationVar(&c.Duration, "duration", 5*time.Second, "counted time")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch mode {
	case "poll":
		pc.Outstanding = c.Outstanding
		pc.CemonArgs = strings.Fields(cemonFlags)
		if pc.Hosts < 1 || pc.HostPorts < 1 || pc.Flows < 1 || pc.Rounds < 1 || pc.Interval <= 0 || pc.Rate < 0 {
			fmt.Fprintln(stderr, "cbench: -hosts, -host-ports, -flows, -rounds and -interval must be positive")
			return 2
		}
		return runPollBench(ctx, pc, asJSON, stdout, stderr)
	case "latency":
		if c.Outstanding == 0 {
			c.Outstanding = 1
		}
	case "throughput":
		if c.Outstanding != 0 {
			fmt.Fprintln(stderr, "cbench: -outstanding applies to latency mode only")
			return 2
		}
	default:
		fmt.Fprintf(stderr, "cbench: -mode %q: want latency, throughput or poll\n", mode)
		return 2
	}
	if c.Switches <= 0 || c.MACs <= 0 || c.Outstanding < 0 {
		fmt.Fprintln(stderr, "cbench: -switches, -macs and -outstanding must be positive")
		return 2
	}
	r, err := ofemu.Cbench(ctx, c)
	if err != nil {
		fmt.Fprintf(stderr, "cbench: %v\n", err)
		return 1
	}
	if asJSON {
		out := map[string]any{"mode": mode, "switches": c.Switches, "responses": r.Responses, "packet_ins": r.PacketIns,
			"seconds": r.Seconds, "responses_per_second": r.PerSecond, "per_switch": r.PerSwitch, "disconnected": r.Disconnected}
		b, _ := json.Marshal(out)
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	fmt.Fprintf(stdout, "%s mode, %d switches: %.0f responses/s (%d responses, %d PACKET_INs in %.1f s), %d switches disconnected\n",
		mode, c.Switches, r.PerSecond, r.Responses, r.PacketIns, r.Seconds, r.Disconnected)
	return 0
}
