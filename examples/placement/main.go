// Command placement embeds cemon as a library: it runs the OpenFlow
// controller and the statistics collector in process, and every interval
// reads the live counters through stats.Reader and prints the placement plan
// a policy makes for the servers and VMs of an inventory file.
//
//	go run ./examples/placement --inventory inv.json --of-listen 127.0.0.1:6633 --policy traffic-aware
//
// The inventory is the JSON of `cemon place` (servers and vms; its traffic
// and external lists, if any, are replaced by what the network measures).
// Point switches at --of-listen; the plan follows their traffic.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cemon-sdn/cemon/collector"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/placement"
	"github.com/cemon-sdn/cemon/stats"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("placement", flag.ContinueOnError)
	fs.SetOutput(stderr)
	invPath := fs.String("inventory", "", "inventory `file` (JSON: servers and vms)")
	ofListen := fs.String("of-listen", "127.0.0.1:6633", "OpenFlow listen `address`")
	policy := fs.String("policy", string(placement.TrafficAware), "placement policy")
	every := fs.Duration("interval", 10*time.Second, "spacing of the plans")
	rounds := fs.Int("plans", 0, "stop after this many plans (0: until interrupted)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *invPath == "" || *every <= 0 {
		fmt.Fprintln(stderr, "placement: --inventory is required and --interval must be positive")
		return 2
	}
	pol, err := placement.ParsePolicy(*policy)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	data, err := os.ReadFile(*invPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	inv, err := placement.ParseInventory(data)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctl := controller.New(controller.Config{}, logger)
	st, err := stats.New(stats.Config{LinkCapacityBps: 1e9})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	col, err := collector.New(collector.Config{}, collector.Deps{
		Requester: ctl,
		Tracker:   ctl.Tracker(),
		Store:     st,
		Switches: func() []uint64 {
			var out []uint64
			for _, s := range ctl.Switches() {
				out = append(out, s.DPID)
			}
			return out
		},
		IsTimeout: func(err error) bool { return errors.Is(err, controller.ErrTimeout) },
		Unsent: func(err error) bool {
			return errors.Is(err, controller.ErrNoSwitch) || errors.Is(err, controller.ErrClosed) ||
				errors.Is(err, controller.ErrBadRequest) || errors.Is(err, controller.ErrQueueFull)
		},
		Logger: logger,
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	go func() { _ = col.Run(ctx) }()
	ln, err := net.Listen("tcp", *ofListen)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	go func() { _ = ctl.Serve(ctx, ln) }()
	fmt.Fprintf(stderr, "placement: OpenFlow on %s; a %s plan every %v\n", ln.Addr(), pol, *every)

	// What placement holds: a stats.Reader, nothing of the collector.
	var counters stats.Reader = st
	tick := time.NewTicker(*every)
	defer tick.Stop()
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	for n := 0; *rounds == 0 || n < *rounds; n++ {
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
		}
		m := placement.FromReader(counters, inv)
		plan, err := placement.Place(m.Inventory, pol)
		if err != nil {
			fmt.Fprintln(stderr, err)
			continue
		}
		if err := enc.Encode(plan); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	return 0
}
