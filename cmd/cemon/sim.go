package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/cemon-sdn/cemon/mcps/sim"
)

// simModels are the simulators `cemon sim` runs; each registers itself from init.
var simModels = commandSet{}

func registerSim(name string, m command) {
	if _, dup := simModels[name]; dup {
		panic("cemon: simulator registered twice: " + name)
	}
	simModels[name] = m
}

func init() {
	register(command{
		name:    "sim",
		summary: "run a trace-driven simulator and write CSV, plots and a report",
		run:     runSim,
	})
	registerSim("mcps", command{name: "mcps", summary: "MCPS: cost, controllers, gap to optimal, running time, accuracy, DAPR/ARI", run: runSimMCPS})
}

func simUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: cemon sim <model> [flags]")
	fmt.Fprintln(w, "\nmodels:")
	simModels.list(w)
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return simModels.dispatch(ctx, "cemon sim", "model", simUsage, args, stdout, stderr)
}

func runSimMCPS(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sim mcps", "sim mcps [--out DIR] [--size full|tiny] [--seed N]", stderr,
		"Reproduces the paper's MCPS experiments (figures 2 to 15) as CSV, PNG plots and a",
		"Markdown report. Without --out it writes to a fresh temporary directory and prints its",
		"name; regenerate the committed report with --out docs/mcps.")
	out := fs.String("out", "", "output `directory` for the CSV files, PNG plots and report.md (default: a new directory under the system's temporary directory; docs/mcps holds the committed report)")
	size := fs.String("size", "full", "experiment size: full (the committed report: about a minute of CPU time; three to six minutes of wall-clock time were measured on a loaded, shared two-core machine) or tiny (a few seconds)")
	seed := fs.Uint64("seed", 0, "random seed (0: the size's default)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cemon sim mcps: unexpected arguments: %v\n", fs.Args())
		return 2
	}
	var cfg sim.Config
	clock, clockName := cpuClock()
	switch *size {
	case "full":
		cfg = sim.Full(clock)
	case "tiny":
		cfg = sim.Tiny(clock)
	default:
		fmt.Fprintf(stderr, "cemon sim mcps: --size %q, want full or tiny\n", *size)
		return 2
	}
	cfg.ClockName = clockName
	if *seed != 0 {
		cfg.Seed = *seed
	}
	if *out == "" {
		dir, err := os.MkdirTemp("", "cemon-sim-mcps-")
		if err != nil {
			fmt.Fprintln(stderr, "cemon sim mcps:", err)
			return 1
		}
		*out = dir
	} else if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(stderr, "cemon sim mcps:", err)
		return 1
	}
	start := time.Now()
	res, err := sim.Run(cfg, func(step string) {
		fmt.Fprintf(stderr, "sim mcps: %s (%.0f s)\n", step, time.Since(start).Seconds())
	})
	if err != nil {
		fmt.Fprintln(stderr, "cemon sim mcps:", err)
		return 1
	}
	if err := ctx.Err(); err != nil {
		fmt.Fprintln(stderr, "cemon sim mcps:", err)
		return 1
	}
	if err := writeSimResult(*out, res); err != nil {
		fmt.Fprintln(stderr, "cemon sim mcps:", err)
		return 1
	}
	h := res.Headline
	fmt.Fprintf(stdout, "mcps / per-flow-random = %.3f, mcps / poll-all = %.3f at %d flows; mean gap to optimum %.3f %%\n",
		h.FracRandom, h.FracPollAll, h.Flows, h.MeanGapExact)
	fmt.Fprintf(stdout, "wrote %d tables, plots and report.md to %s\n", len(res.Tables), *out)
	return 0
}

func writeSimResult(dir string, res *sim.Result) error {
	for _, t := range res.Tables {
		if err := os.WriteFile(filepath.Join(dir, t.Name+".csv"), t.CSV(), 0o644); err != nil {
			return err
		}
		if !t.Plotted() {
			continue
		}
		png, err := renderPlot(t, false)
		if err != nil {
			return fmt.Errorf("plot %s: %w", t.Name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, t.Name+".png"), png, 0o644); err != nil {
			return err
		}
		if t.TimeLabel == "" {
			continue
		}
		if png, err = renderPlot(t, true); err != nil {
			return fmt.Errorf("plot %s: %w", t.Name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, t.Name+"_time.png"), png, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(res.Markdown()), 0o644)
}

// renderPlot draws one line per column against the first column, keeping to the
// columns of one unit; times selects the " ms" columns of a table's time plot.
func renderPlot(t sim.Table, times bool) ([]byte, error) {
	p := plot.New()
	p.Title.Text = t.Title
	p.X.Label.Text = t.XLabel
	p.Y.Label.Text = t.YLabel
	if times {
		p.Title.Text = t.TimeTitle
		p.Y.Label.Text = t.TimeLabel
	}
	if t.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	var lines []any
	for j := 1; j < len(t.Columns); j++ {
		name := t.Columns[j]
		keep := plotColumn(t, name)
		if times {
			keep = strings.HasSuffix(name, " ms")
		}
		if !keep {
			continue
		}
		pts := make(plotter.XYs, 0, len(t.Rows))
		for _, row := range t.Rows {
			if t.LogX && row[0] <= 0 {
				continue
			}
			pts = append(pts, plotter.XY{X: row[0], Y: row[j]})
		}
		lines = append(lines, name, pts)
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, err
	}
	{
		if p.Y.Min > 0 && p.Y.Min < 0.5*p.Y.Max { // costs and times: start at zero
			p.Y.Min = 0
		}
		ticks := niceTicks(p.Y.Min, p.Y.Max)
		p.Y.Min, p.Y.Max = ticks[0].Value, ticks[len(ticks)-1].Value
		p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	}
	// Costs and times grow to the right and accuracies sit near 1: keep the legend off
	// the data.
	p.Legend.Top = !strings.HasPrefix(t.Name, "accuracy_")
	p.Legend.Left = true
	if strings.HasPrefix(t.Name, "fig3_") { // a U-shaped curve: the legend goes bottom right
		p.Legend.Top, p.Legend.Left = false, false
	}
	if !t.LogX && len(t.Rows) > 1 {
		ticks := niceTicks(p.X.Min, p.X.Max)
		p.X.Min, p.X.Max = ticks[0].Value, ticks[len(ticks)-1].Value
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	}
	wt, err := p.WriterTo(7*vg.Inch, 4.5*vg.Inch, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// plotColumn keeps a plot to one unit: gap tables plot the gaps, time tables the times,
// cost tables every cost, the DAPR trace its costs.
func plotColumn(t sim.Table, name string) bool {
	switch {
	case strings.HasPrefix(t.Name, "gap_"):
		return strings.HasSuffix(name, "gap %")
	case strings.HasPrefix(t.Name, "time_"):
		return strings.HasSuffix(name, " ms")
	case t.Name == "dapr_cost":
		return name != "active flows"
	}
	return true
}

// niceTicks returns five to ten evenly spaced major ticks at round values covering
// [lo, hi], the last one at or above hi, labelled compactly (1.5M rather than 1e+06),
// so the top of the axis is always labelled with a value at least the data's maximum.
func niceTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		hi = lo + 1
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	first := math.Floor(lo/step) * step
	var ticks []plot.Tick
	for v := first; v < hi+step*0.999; v += step {
		v = math.Round(v/step) * step
		ticks = append(ticks, plot.Tick{Value: v, Label: compactNumber(v)})
		if len(ticks) > 12 {
			break
		}
	}
	return ticks
}

// compactNumber prints 0.25, 950, 12k, 1.5M, 140M.
func compactNumber(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(v/1e9, 'g', 4, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 4, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'g', 4, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
