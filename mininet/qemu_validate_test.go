package mininet

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/cemon-sdn/cemon/migration"
)

// The migration model's validation (make validate-migration): real QEMU
// migrations on the testbed over memory sizes × dirty rates × link rates,
// each predicted from what is measured before the move (the guest's non-zero
// memory from an idle calibration migration of its size, its dirty rate from
// its own count of pages written, R from cemon's free bandwidth on the path),
// then compared with what QEMU measured; then the same with γ refitted from
// the measured rounds (the refined model, as POST /api/v1/migration/records
// refits it).
//
//	CEMON_VALIDATE_MIGRATION=1   run it (with CEMON_E2E=1)
//	CEMON_VALIDATE_MEM=128,256   guest memory, MiB
//	CEMON_VALIDATE_DIRTY=0,4,40  the guest program's dirty rate, MB/s (what it reaches is measured)
//	CEMON_VALIDATE_LINK=80,160   link rates, Mbit/s
//	CEMON_VALIDATE_REPS=2        repetitions
//	CEMON_VALIDATE_LIMIT=60s     a run is cancelled after min(this, 3 × predicted) and counts as not converging
//	CEMON_VALIDATE_OUT=DIR       where results.jsonl, report.md and the plot go
//	CEMON_VALIDATE_FROM=FILE     only report over an earlier results.jsonl
func TestValidateMigration(t *testing.T) {
	from := os.Getenv("CEMON_VALIDATE_FROM")
	if os.Getenv("CEMON_VALIDATE_MIGRATION") != "1" && from == "" {
		t.Skip("the migration model's validation: set CEMON_VALIDATE_MIGRATION=1 and CEMON_E2E=1 (make validate-migration)")
	}
	out := os.Getenv("CEMON_VALIDATE_OUT")
	if out == "" {
		out = t.TempDir()
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	limit := envDuration(t, "CEMON_VALIDATE_LIMIT", 60*time.Second)
	var runs []migRun
	if from != "" {
		runs = readRuns(t, from)
	} else {
		skipUnlessE2E(t)
		skipUnlessQEMU(t)
		runs = validationRuns(t, out, limit)
	}
	report, err := validationReport(runs, limit, filepath.Join(out, "migration_validation.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "report.md"), []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("report in %s:\n%s", out, report)
}

func validationRuns(t *testing.T, out string, limit time.Duration) []migRun {
	mems := envList(t, "CEMON_VALIDATE_MEM", "128,256")
	dirties := envList(t, "CEMON_VALIDATE_DIRTY", "0,4,40")
	links := envList(t, "CEMON_VALIDATE_LINK", "80,160")
	reps := int(envList(t, "CEMON_VALIDATE_REPS", "2")[0])
	f, err := os.Create(filepath.Join(out, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vmem := map[int]float64{} // non-zero memory by guest size, MB
	var runs []migRun
	for _, link := range links {
		// (No "=" in the name: it becomes part of QEMU's socket paths.)
		t.Run(fmt.Sprintf("link-%gMbit", link), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Minute)
			t.Cleanup(cancel)
			b := startQemuBed(t, ctx, link)
			// Calibration, once per size: an idle guest moves (nearly) exactly its
			// non-zero memory.
			for _, m := range mems {
				if _, ok := vmem[int(m)]; !ok {
					r := b.migrate(ctx, fmt.Sprintf("cal%g", m), int(m), 0, math.Inf(1), 0, limit)
					if r.Status != "completed" {
						t.Fatalf("calibration of %g MiB did not complete: %+v", m, r)
					}
					vmem[int(m)] = r.Record.TrafficMB
					t.Logf("calibration: a %g MiB guest holds %.1f MB of non-zero memory", m, vmem[int(m)])
				}
			}
			for _, m := range mems {
				for _, d := range dirties {
					for rep := 1; rep <= reps; rep++ {
						name := fmt.Sprintf("m%g-d%g-l%g-r%d", m, d, link, rep)
						r := b.migrate(ctx, name, int(m), d, math.Inf(1), vmem[int(m)], limit)
						r.Record.VM = name
						runs = append(runs, r)
						line, _ := json.Marshal(r)
						fmt.Fprintln(f, string(line))
						t.Logf("%s: %s in %.1f s (predicted %.1f s), %.1f MB, downtime %.3f s; D %.2f MB/s, R %.2f MB/s; flow payload %+.3f %%; destination verified %v",
							name, r.Status, r.Record.TotalTimeS, r.PredictedS, r.Record.TrafficMB, r.Record.DowntimeS, r.DirtyMBs, r.RateMBs,
							100*(float64(r.FlowPayload)/(r.Record.TrafficMB*1e6)-1), r.DestVerified)
					}
				}
			}
		})
	}
	return runs
}

func readRuns(t *testing.T, path string) []migRun {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var runs []migRun
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r migRun
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		runs = append(runs, r)
	}
	return runs
}

// predicted is one run's prediction by one model.
type predicted struct {
	res  migration.Result
	conv bool // converges within the run's limit
}

func predictRun(r migRun, g *migration.Gamma, limit time.Duration) (predicted, error) {
	in := migration.Input{MemMB: r.Record.RAMMB, DirtyMBs: r.DirtyMBs, RateMBs: r.RateMBs}
	res, err := migration.Predict(in, migration.Config{Kind: migration.WWS, Profile: migration.QEMU(), Gamma: g})
	if err != nil {
		return predicted{}, err
	}
	return predicted{res: res, conv: res.Converged && res.TotalTimeS <= limit.Seconds()}, nil
}

// relErr is |p − m| / m.
func relErr(p, m float64) float64 { return math.Abs(p-m) / m }

// validationReport is the table and the summary, and the plot at png.
func validationReport(runs []migRun, limit time.Duration, png string) (string, error) {
	var recs []migration.Record
	for _, r := range runs {
		if r.Status == "completed" {
			recs = append(recs, r.Record)
		}
	}
	var b strings.Builder
	refined, nobs, ferr := migration.FitGamma(recs)
	var gRef *migration.Gamma
	if ferr == nil {
		gRef = &refined
		fmt.Fprintf(&b, "Refined γ from %d round observations of the %d completed runs: a %.4f, b %.4f, c %.4f (paper: a %.4f, b %.4f, c %.4f).\n\n",
			nobs, len(recs), refined.A, refined.B, refined.C, migration.PaperGamma.A, migration.PaperGamma.B, migration.PaperGamma.C)
	} else {
		fmt.Fprintf(&b, "No refined γ: %v; the refined model is the base one.\n\n", ferr)
	}
	fmt.Fprintln(&b, "| run | MiB | link Mbit/s | D MB/s (set / measured) | R MB/s | V_mem MB | outcome | predicted (base / refined) | time s pred base / refined / meas | downtime s pred / meas | traffic MB pred base / refined / meas | flow payload vs QEMU | memory verified |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---|")
	type acc struct {
		n, wrongConv, nNon, okNon     int
		t, tr, dt, tmax, trmax, dtmax float64
	}
	var base, ref acc
	var xb, yb, xr, yr []float64
	for _, r := range runs {
		pb, err := predictRun(r, nil, limit)
		if err != nil {
			return "", err
		}
		pr, err := predictRun(r, gRef, limit)
		if err != nil {
			return "", err
		}
		meas := r.Record
		conv := r.Status == "completed"
		word := func(c bool) string {
			if c {
				return "converges"
			}
			return "does not"
		}
		flow := "-"
		if r.FlowBytes > 0 && meas.TrafficMB > 0 {
			flow = fmt.Sprintf("%+.3f %%", 100*(float64(r.FlowPayload)/(meas.TrafficMB*1e6)-1))
		}
		ver := "-"
		if conv {
			ver = strconv.FormatBool(r.DestVerified && !r.DestFailed)
		}
		fmt.Fprintf(&b, "| %s | %d | %g | %g / %.2f | %.2f | %.1f | %s (%d syncs) | %s / %s | %.2f / %.2f / %.2f | %.3f / %.3f | %.1f / %.1f / %.1f | %s | %s |\n",
			meas.VM, r.MemMiB, r.LinkMbit, r.SetDirtyMBs, r.DirtyMBs, r.RateMBs, meas.RAMMB, r.Status, r.DirtySync, word(pb.conv), word(pr.conv),
			pb.res.TotalTimeS, pr.res.TotalTimeS, meas.TotalTimeS, pb.res.DowntimeS, meas.DowntimeS,
			pb.res.TrafficMB, pr.res.TrafficMB, meas.TrafficMB, flow, ver)
		for _, x := range []struct {
			a *acc
			p predicted
		}{{&base, pb}, {&ref, pr}} {
			a := x.a
			if !conv {
				a.nNon++
				if !x.p.conv {
					a.okNon++
				}
				continue
			}
			if !x.p.conv {
				a.wrongConv++
			}
			a.n++
			et, etr, ed := relErr(x.p.res.TotalTimeS, meas.TotalTimeS), relErr(x.p.res.TrafficMB, meas.TrafficMB), relErr(x.p.res.DowntimeS, meas.DowntimeS)
			a.t += et
			a.tr += etr
			a.dt += ed
			a.tmax, a.trmax, a.dtmax = max(a.tmax, et), max(a.trmax, etr), max(a.dtmax, ed)
		}
		if conv {
			xb, yb = append(xb, meas.TotalTimeS), append(yb, pb.res.TotalTimeS)
			xr, yr = append(xr, meas.TotalTimeS), append(yr, pr.res.TotalTimeS)
		}
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| model | converging runs | mean / worst error, total time | mean / worst error, traffic | mean / worst error, downtime | converging runs predicted not to | non-converging runs predicted non-converging |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|")
	for _, x := range []struct {
		name string
		a    acc
	}{{"base (paper γ)", base}, {"refined (fitted γ)", ref}} {
		a := x.a
		n := float64(max(a.n, 1))
		fmt.Fprintf(&b, "| %s | %d | %.1f %% / %.1f %% | %.1f %% / %.1f %% | %.1f %% / %.1f %% | %d | %d of %d |\n", x.name, a.n,
			100*a.t/n, 100*a.tmax, 100*a.tr/n, 100*a.trmax, 100*a.dt/n, 100*a.dtmax, a.wrongConv, a.okNon, a.nNon)
	}
	if png != "" && len(xb) > 0 {
		if err := validationPlot(png, xb, yb, xr, yr); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func validationPlot(path string, xb, yb, xr, yr []float64) error {
	p := plot.New()
	p.Title.Text = "QEMU live migration: predicted vs measured total time"
	p.X.Label.Text = "measured total time (s)"
	p.Y.Label.Text = "predicted total time (s)"
	hi := 0.0
	for _, v := range [][]float64{xb, yb, xr, yr} {
		for _, x := range v {
			hi = max(hi, x)
		}
	}
	hi *= 1.1
	line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: hi, Y: hi}})
	if err != nil {
		return err
	}
	line.Color = color.Gray{Y: 128}
	p.Add(line)
	p.Legend.Add("exact", line)
	for _, s := range []struct {
		name string
		x, y []float64
		c    color.Color
	}{{"base (paper γ)", xb, yb, color.RGBA{R: 200, A: 255}}, {"refined (fitted γ)", xr, yr, color.RGBA{B: 200, A: 255}}} {
		pts := make(plotter.XYs, len(s.x))
		for i := range s.x {
			pts[i] = plotter.XY{X: s.x[i], Y: s.y[i]}
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Color = s.c
		p.Add(sc)
		p.Legend.Add(s.name, sc)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return p.Save(6*vg.Inch, 5*vg.Inch, path)
}

func envList(t *testing.T, name, def string) []float64 {
	s := os.Getenv(name)
	if s == "" {
		s = def
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v < 0 {
			t.Fatalf("%s=%s: want non-negative numbers separated by commas", name, s)
		}
		out = append(out, v)
	}
	return out
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%s: want a positive duration", name, s)
	}
	return d
}
