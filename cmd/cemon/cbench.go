package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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
		"hosts and counts the responses (FLOW_MOD adds and non-LLDP PACKET_OUTs) per second.")
	var c ofemu.CbenchConfig
	var mode string
	var asJSON bool
	fs.StringVar(&c.Controller, "controller", "127.0.0.1:6653", "controller `address` (host:port)")
	fs.IntVar(&c.Switches, "switches", 16, "emulated switches")
	fs.IntVar(&c.MACs, "macs", 1000, "hosts behind each switch")
	fs.StringVar(&mode, "mode", "latency", "latency (one PACKET_IN outstanding per switch) or throughput (as many as the connection takes)")
	fs.IntVar(&c.Outstanding, "outstanding", 0, "PACKET_INs outstanding per switch in latency mode; default 1")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "time before counting starts")
	fs.DurationVar(&c.Duration, "duration", 5*time.Second, "counted time")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch mode {
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
		fmt.Fprintf(stderr, "cbench: -mode %q: want latency or throughput\n", mode)
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
