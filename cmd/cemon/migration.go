package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/cemon-sdn/cemon/migration"
	"github.com/cemon-sdn/cemon/units"
)

// migrationSubs are the subcommands of `cemon migration`.
var migrationSubs = map[string]struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}{}

func init() {
	register(command{
		name:    "migration",
		summary: "predict a VM live migration's cost, or plan migrations off hotspots",
		run:     runMigration,
	})
	migrationSubs["predict"] = struct {
		summary string
		run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	}{"predict one migration's rounds, time, downtime, traffic and energy", runMigrationPredict}
}

func migrationUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: cemon migration <predict|plan> [flags]")
	names := make([]string, 0, len(migrationSubs))
	for n := range migrationSubs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, migrationSubs[n].summary)
	}
}

func runMigration(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		migrationUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	s, ok := migrationSubs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "cemon migration: unknown subcommand %q\n", args[0])
		migrationUsage(stderr)
		return 2
	}
	return s.run(ctx, args[1:], stdout, stderr)
}

// predictFlags are `cemon migration predict`'s inputs as given.
type predictFlags struct {
	ram, dirty, rate, profile, model, downtimeLimit string
	json                                            bool
}

// predictInput reads the flags into the model's input and configuration,
// naming every bad flag.
func (f predictFlags) read() (migration.Input, migration.Config, error) {
	var errs []error
	var in migration.Input
	var cfg migration.Config
	if v, err := units.ParseSize(f.ram); err != nil {
		errs = append(errs, fmt.Errorf("--ram: %w", err))
	} else if v <= 0 {
		errs = append(errs, fmt.Errorf("--ram %q: must be positive", f.ram))
	} else {
		in.MemMB = v / 1e6
	}
	if v, err := units.ParseRate(f.dirty); err != nil {
		errs = append(errs, fmt.Errorf("--dirty-rate: %w", err))
	} else {
		in.DirtyMBs = v / 1e6
	}
	if v, err := units.ParseRate(f.rate); err != nil {
		errs = append(errs, fmt.Errorf("--rate: %w", err))
	} else if v <= 0 {
		errs = append(errs, fmt.Errorf("--rate %q: must be positive", f.rate))
	} else {
		in.RateMBs = v / 1e6
	}
	p, err := migration.ProfileByName(f.profile)
	if err != nil || f.profile == "" {
		errs = append(errs, fmt.Errorf("--profile %q: want xen or qemu", f.profile))
	}
	if f.downtimeLimit != "" {
		d, err := parseSeconds(f.downtimeLimit)
		switch {
		case err != nil || d <= 0:
			errs = append(errs, fmt.Errorf("--downtime-limit %q: want a positive duration such as 300ms", f.downtimeLimit))
		case p.DowntimeLimit == 0:
			errs = append(errs, fmt.Errorf("--downtime-limit: only the qemu profile stops by a downtime limit"))
		default:
			p.DowntimeLimit = d
		}
	}
	cfg.Profile = p
	k, err := migration.ParseKind(f.model)
	if err != nil || f.model == "" {
		errs = append(errs, fmt.Errorf("--model %q: want base or wws", f.model))
	}
	cfg.Kind = k
	return in, cfg, errors.Join(errs...)
}

func runMigrationPredict(_ context.Context, args []string, stdout, stderr io.Writer) int {
	var f predictFlags
	fs := flag.NewFlagSet("migration predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cemon migration predict --ram 800MB --dirty-rate 40MB/s --rate 100MB/s [--profile xen|qemu] [--model base|wws] [--json]")
		fmt.Fprintln(stderr, "\nPredicts a pre-copy live migration (Liu et al.'s model). Sizes take B, kB, MB, GB,")
		fmt.Fprintln(stderr, "KiB, MiB, GiB; rates the same with /s, or bit/s, kbit/s, Mbit/s, Gbit/s (B bytes, b bits).")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	fs.StringVar(&f.ram, "ram", "", "VM memory `size`, e.g. 800MB or 1GiB")
	fs.StringVar(&f.dirty, "dirty-rate", "", "memory dirty `rate`, e.g. 40MB/s")
	fs.StringVar(&f.rate, "rate", "", "transfer `rate` R itself, e.g. 100MB/s or 1Gbit/s")
	fs.StringVar(&f.profile, "profile", "xen", "hypervisor stop rule: xen or qemu")
	fs.StringVar(&f.model, "model", "wws", "model: base (closed form) or wws (writable working set, Algorithm 1)")
	fs.StringVar(&f.downtimeLimit, "downtime-limit", "", "qemu: downtime `limit` (default 300ms)")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cemon migration predict: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	in, cfg, err := f.read()
	if err != nil {
		fmt.Fprintf(stderr, "cemon migration predict: %v\n", err)
		return 2
	}
	res, err := migration.Predict(in, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "cemon migration predict: %v\n", err)
		return 1
	}
	res.Trace = nil
	if f.json {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	fmt.Fprintf(stdout, "model %s, profile %s: %.0f MB, D %.3g MB/s, R %.3g MB/s\n", res.Model, res.Profile, in.MemMB, in.DirtyMBs, in.RateMBs)
	fmt.Fprintf(stdout, "rounds %d (stop: %s), converged %v\n", res.Rounds, res.Stop, res.Converged)
	fmt.Fprintf(stdout, "total time %.3f s, downtime %.3f s, traffic %.1f MB, energy %.1f J\n", res.TotalTimeS, res.DowntimeS, res.TrafficMB, res.EnergyJ)
	return 0
}

// parseSeconds reads a Go duration (300ms, 1.5s) as seconds.
func parseSeconds(s string) (float64, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return d.Seconds(), nil
}
