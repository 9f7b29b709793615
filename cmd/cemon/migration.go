package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/cemon-sdn/cemon/migration"
	"github.com/cemon-sdn/cemon/placement"
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
	migrationSubs["fit"] = struct {
		summary string
		run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	}{"fit the precopy model's constants (and γ) to recorded migrations", runMigrationFit}
	migrationSubs["plan"] = struct {
		summary string
		run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	}{"find hotspots and plan SLA-aware migrations off them", runMigrationPlan}
}

func migrationUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: cemon migration <predict|plan|run|fit> [flags]")
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
	calibration                                     string
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
		errs = append(errs, fmt.Errorf("--model %q: want base, wws or precopy", f.model))
	}
	cfg.Kind = k
	if f.calibration != "" {
		c, err := readCalibration(f.calibration)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--calibration: %v", err))
		case k != migration.Precopy:
			errs = append(errs, errors.New("--calibration: only the precopy model has a calibration"))
		default:
			cfg.Calibration = &c
		}
	}
	return in, cfg, errors.Join(errs...)
}

func runMigrationPredict(_ context.Context, args []string, stdout, stderr io.Writer) int {
	var f predictFlags
	fs := newFlagSet("migration predict", "migration predict --ram 800MB --dirty-rate 40MB/s --rate 100MB/s [--profile xen|qemu] [--model base|wws|precopy] [--calibration FILE] [--json]", stderr,
		"Predicts a pre-copy live migration (Liu et al.'s model). Sizes take B, kB, MB, GB,",
		"KiB, MiB, GiB; rates the same with /s, or bit/s, kbit/s, Mbit/s, Gbit/s (B bytes, b bits).",
	)
	fs.StringVar(&f.ram, "ram", "", "VM memory `size`, e.g. 800MB or 1GiB")
	fs.StringVar(&f.dirty, "dirty-rate", "", "memory dirty `rate`, e.g. 40MB/s")
	fs.StringVar(&f.rate, "rate", "", "transfer `rate` R itself, e.g. 100MB/s or 1Gbit/s")
	fs.StringVar(&f.profile, "profile", "xen", "hypervisor stop rule: xen or qemu")
	fs.StringVar(&f.model, "model", "wws", "model: base (closed form), wws (writable working set, Algorithm 1) or precopy (QEMU's pre-copy with measured constants)")
	fs.StringVar(&f.calibration, "calibration", "", "precopy: the constants, a JSON `file` as `cemon migration fit` writes it (default: the defaults)")
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

func runMigrationPlan(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("migration plan", "migration plan --inventory FILE [flags] [--json]", stderr,
		"Finds the servers whose NIC or CPU load is above its threshold, chooses the VMs to",
		"move by predicted migration cost and their destinations by a placement policy, and",
		"schedules the migrations (one service's at least an SLA window apart). FILE is the",
		"placement inventory, with optional per-server nic_threshold, cpu_threshold,",
		"load_history ([{t, cpu, nic_bps}]) and nic_load_bps, services ([{name, safe_load,",
		"load: [{t, load}]}]) and options. Flags override the file's options.",
	)
	file := fs.String("inventory", "", "plan `file` (JSON); - reads standard input")
	detector := fs.String("detector", "", "hotspot rule: static, mad or iqr (default the file's, else static)")
	policy := fs.String("policy", "", "destination policy: "+policyNames()+" (default the file's, else balance)")
	window := fs.Duration("sla-window", 0, "least spacing of one service's migrations (default the file's, else 5m)")
	perLink := fs.Int("max-per-link", 0, "most migrations at once over one link (default the file's, else 1)")
	profile := fs.String("profile", "", "stop rule: xen or qemu (default the file's, else xen)")
	model := fs.String("model", "", "model: base or wws (default the file's, else wws)")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 || *file == "" {
		fmt.Fprintln(stderr, "cemon migration plan: give --inventory FILE and no other arguments")
		return 2
	}
	var data []byte
	var err error
	if *file == "-" {
		data, err = io.ReadAll(io.LimitReader(os.Stdin, 64<<20))
	} else {
		data, err = os.ReadFile(*file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "cemon migration plan: --inventory: %v\n", err)
		return 1
	}
	var f migration.PlanFile
	if err := placement.DecodeStrict(data, &f); err != nil {
		fmt.Fprintf(stderr, "cemon migration plan: %s: %v\n", *file, err)
		return 1
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["detector"] {
		f.Options.Detector = *detector
	}
	if set["policy"] {
		f.Options.Policy = *policy
	}
	if set["sla-window"] {
		if *window <= 0 {
			fmt.Fprintf(stderr, "cemon migration plan: --sla-window %v: must be positive\n", *window)
			return 2
		}
		f.Options.SLAWindowS = window.Seconds()
	}
	if set["max-per-link"] {
		if *perLink < 1 {
			fmt.Fprintf(stderr, "cemon migration plan: --max-per-link %d: must be at least 1\n", *perLink)
			return 2
		}
		f.Options.MaxPerLink = *perLink
	}
	if set["profile"] {
		f.Options.Profile = *profile
	}
	if set["model"] {
		f.Options.Model = *model
	}
	in, cfg, err := f.Input()
	if err != nil {
		fmt.Fprintf(stderr, "cemon migration plan: %v\n", err)
		return 2
	}
	plan, err := migration.MakePlan(in, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "cemon migration plan: %v\n", err)
		return 1
	}
	if *asJSON {
		b, _ := json.MarshalIndent(plan, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	if len(plan.Hotspots) == 0 {
		fmt.Fprintln(stdout, "no hotspots: nothing to move")
		return 0
	}
	for _, h := range plan.Hotspots {
		fmt.Fprintf(stdout, "hotspot %s %s: load %.2f > threshold %.2f (%s), relieved %v\n", h.Server, h.Resource, h.Load, h.Threshold, h.Detector, h.Relieved)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VM\tfrom\tto\tstart s\trounds\ttime s\tdowntime s\ttraffic MB\tenergy J\tC(VM)\tR MB/s\tfree MB/s")
	for _, m := range plan.Moves {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%d\t%.2f\t%.3f\t%.0f\t%.0f\t%.3f\t%.1f\t%.1f\n", m.VM, m.From, m.To, m.StartS,
			m.Rounds, m.TotalTimeS, m.DowntimeS, m.TrafficMB, m.EnergyJ, m.Cost, m.RateMBs, m.FreeMBs)
	}
	tw.Flush()
	for _, d := range plan.Deferred {
		fmt.Fprintf(stdout, "deferred %s on %s: %s\n", d.VM, d.From, d.Reason)
	}
	return 0
}

// readCalibration reads a precopy calibration: a JSON object with the fields
// of migration.Calibration, nothing else.
func readCalibration(path string) (migration.Calibration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return migration.Calibration{}, err
	}
	c, err := migration.DecodeCalibration(b)
	if err != nil {
		return migration.Calibration{}, fmt.Errorf("%s: %v", path, err)
	}
	return c, nil
}

// readRecords reads migration records: a JSON array, or one object a line
// (the lines of GET /api/v1/migration/records' items or of a validation run's
// results, whose record is under "Record").
func readRecords(r io.Reader) ([]migration.Record, error) {
	b, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	var raws []json.RawMessage
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &raws); err != nil {
			return nil, fmt.Errorf("records: %v", err)
		}
	} else {
		for _, l := range bytes.Split(b, []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) > 0 {
				raws = append(raws, l)
			}
		}
	}
	var out []migration.Record
	for i, raw := range raws {
		var wrapped struct {
			Record json.RawMessage `json:"Record"`
		}
		if json.Unmarshal(raw, &wrapped) == nil && len(wrapped.Record) > 0 {
			raw = wrapped.Record
		}
		rec, err := migration.DecodeRecord(raw)
		if err != nil {
			return nil, fmt.Errorf("record %d: %v", i+1, err)
		}
		out = append(out, rec)
	}
	if len(out) == 0 {
		return nil, errors.New("no records")
	}
	return out, nil
}

func runMigrationFit(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("migration fit", "migration fit --records FILE", stderr,
		"Fits the precopy model's constants (rate factor η, dirty factor κ, stop-and-copy cost",
		"T_stop and σ) by least squares to recorded QEMU migrations and prints them as JSON, for",
		"`cemon migration predict --model precopy --calibration FILE`. FILE holds migration records",
		"(a JSON array, or one a line); - reads standard input.",
	)
	file := fs.String("records", "", "records `file`")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *file == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "cemon migration fit: --records FILE is required, and nothing else")
		return 2
	}
	var in io.Reader = os.Stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			fmt.Fprintf(stderr, "cemon migration fit: %v\n", err)
			return 2
		}
		defer f.Close()
		in = f
	}
	recs, err := readRecords(in)
	if err != nil {
		fmt.Fprintf(stderr, "cemon migration fit: %v\n", err)
		return 2
	}
	c, n, err := migration.FitCalibration(recs, migration.DefaultCalibration)
	if err != nil {
		fmt.Fprintf(stderr, "cemon migration fit: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "fitted on %d of %d records\n", n, len(recs))
	b, _ := json.Marshal(c)
	fmt.Fprintln(stdout, string(b))
	return 0
}
