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
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cemon-sdn/cemon/migration"
)

// The migration model's validation (make validate-migration): real QEMU
// migrations on the testbed over memory sizes × dirty rates × link rates,
// each predicted from what is measured before the move (the guest's non-zero
// memory from an idle calibration migration of its size, its dirty rate from
// its own count of pages written, R from cemon's free bandwidth on the path),
// then compared with what QEMU measured; then the same with the pre-copy
// constants refitted to the records (the refined model, as POST
// /api/v1/migration/records refits them), each run predicted by constants not
// fitted on it (leave-one-out, and fitted on the other repetitions only).
//
//	CEMON_VALIDATE_MIGRATION=1   run it (with CEMON_E2E=1)
//	CEMON_VALIDATE_MEM=128,256   guest memory, MiB
//	CEMON_VALIDATE_DIRTY=0,4,40  the guest program's dirty rate, MB/s (what it reaches is measured)
//	CEMON_VALIDATE_LINK=80,160   link rates, Mbit/s
//	CEMON_VALIDATE_REPS=2        repetitions
//	CEMON_VALIDATE_LIMIT=60s     a run is cancelled after min(this, 3 × predicted) and counts as not converging
//	CEMON_VALIDATE_OUT=DIR       where results.jsonl, report.md and the plot go
//	CEMON_VALIDATE_FROM=FILE,... only report over earlier results.jsonl files
//	CEMON_VALIDATE_FIRST_REP=1   number of the first repetition (to run the matrix in chunks)
//	CEMON_VALIDATE_VMEM=128:202.3,256:337.5  non-zero memory by guest size, MB, from an
//	                             earlier calibration (skips the calibration migrations)
//	CEMON_VALIDATE_NICE=-10      run the testbed (cemon, Mininet, QEMU) at this niceness,
//	                             and its scheduling autogroup too where the kernel has them
//
// results.jsonl is appended to, so that chunks of the matrix run one after the
// other (each under the machine-wide lock) add up to one set of results.
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
		for _, f := range strings.Split(from, ",") {
			runs = append(runs, readRuns(t, f)...)
		}
	} else {
		skipUnlessE2E(t)
		skipUnlessQEMU(t)
		if s := os.Getenv("CEMON_VALIDATE_NICE"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("CEMON_VALIDATE_NICE=%s: want an integer", s)
			}
			if err := reniceSelf(n); err != nil {
				t.Fatalf("CEMON_VALIDATE_NICE=%s: %v", s, err)
			}
			restore, err := reniceAutogroup(n)
			if err != nil {
				t.Fatalf("CEMON_VALIDATE_NICE=%s: %v", s, err)
			}
			t.Cleanup(restore)
		}
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
	first := int(envList(t, "CEMON_VALIDATE_FIRST_REP", "1")[0])
	f, err := os.OpenFile(filepath.Join(out, "results.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vmem := map[int]float64{} // non-zero memory by guest size, MB
	if s := os.Getenv("CEMON_VALIDATE_VMEM"); s != "" {
		for _, kv := range strings.Split(s, ",") {
			k, v, ok := strings.Cut(kv, ":")
			mib, err1 := strconv.Atoi(k)
			mb, err2 := strconv.ParseFloat(v, 64)
			if !ok || err1 != nil || err2 != nil || mib <= 0 || !(mb > 0) {
				t.Fatalf("CEMON_VALIDATE_VMEM=%s: want MiB:MB pairs separated by commas", s)
			}
			vmem[mib] = mb
		}
	}
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
					for rep := first; rep < first+reps; rep++ {
						name := fmt.Sprintf("m%g-d%g-l%g-r%d", m, d, link, rep)
						r := b.migrate(ctx, name, int(m), d, math.Inf(1), vmem[int(m)], limit)
						r.Record.VM = name
						runs = append(runs, r)
						line, _ := json.Marshal(r)
						fmt.Fprintln(f, string(line))
						t.Logf("%s: %s in %.1f s (predicted %.1f s), %.1f MB, downtime %.3f s (guest %.3f s, %.2f MB while stopped); D %.2f MB/s, R %.2f MB/s; flow payload %+.3f %%; destination verified %v; load %.1f/%.1f; CPU cores QEMU %.2f/%.2f, machine %.2f/%.2f (before/during)",
							name, r.Status, r.Record.TotalTimeS, r.PredictedS, r.Record.TrafficMB, r.Record.DowntimeS, r.GuestDowntimeS, r.DowntimeMB, r.DirtyMBs, r.RateMBs,
							100*(float64(r.FlowPayload)/(r.Record.TrafficMB*1e6)-1), r.DestVerified, r.Load1, r.Load1End,
							r.SrcCPUBefore, r.SrcCPUMove, r.HostCPUBefore, r.HostCPUMove)
					}
				}
			}
		})
	}
	return runs
}

// reniceSelf sets the niceness of every thread of this process; the
// processes it starts afterwards (cemon, Mininet, QEMU) inherit it.
func reniceSelf(n int) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, e := range tasks {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, n); err != nil {
			return fmt.Errorf("setpriority %d: %w", tid, err)
		}
	}
	return nil
}

// reniceAutogroup sets the niceness of this process's scheduling autogroup
// (Linux with kernel.sched_autogroup_enabled), and returns what restores it.
// With autogroups the kernel first shares the CPU between the groups (each
// session is one) by their own niceness, and a process's niceness only
// weighs within its group: without this, a testbed at niceness −10 gets no
// more of the CPU than any other session's group, however nice that
// session's processes are. Without autogroups it does nothing.
func reniceAutogroup(n int) (func(), error) {
	const path = "/proc/self/autogroup"
	b, err := os.ReadFile(path)
	if err != nil || !autogroupsOn() {
		return func() {}, nil
	}
	// "/autogroup-123 nice 0"
	f := strings.Fields(string(b))
	if len(f) != 3 || f[1] != "nice" {
		return nil, fmt.Errorf("%s: unexpected %q", path, b)
	}
	old, err := strconv.Atoi(f[2])
	if err != nil {
		return nil, fmt.Errorf("%s: unexpected %q", path, b)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(n)), 0); err != nil {
		return nil, fmt.Errorf("setting the autogroup's niceness: %w", err)
	}
	return func() { _ = os.WriteFile(path, []byte(strconv.Itoa(old)), 0) }, nil
}

// autogroupsOn tells whether the scheduler groups processes by session.
func autogroupsOn() bool {
	b, err := os.ReadFile("/proc/sys/kernel/sched_autogroup_enabled")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

// autogroupNice is this process's autogroup niceness (0 without autogroups).
func autogroupNice() int {
	if !autogroupsOn() {
		return 0
	}
	b, err := os.ReadFile("/proc/self/autogroup")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return 0
	}
	n, _ := strconv.Atoi(f[2])
	return n
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

// vmodel is one way of predicting the runs.
type vmodel struct {
	name string
	// predict predicts run i of runs.
	predict func(runs []migRun, i int) (predicted, error)
}

func predictWith(r migRun, cfg migration.Config, limit time.Duration) (predicted, error) {
	in := migration.Input{MemMB: r.Record.RAMMB, DirtyMBs: r.DirtyMBs, RateMBs: r.RateMBs}
	res, err := migration.Predict(in, cfg)
	if err != nil {
		return predicted{}, err
	}
	return predicted{res: res, conv: res.Converged && res.TotalTimeS <= limit.Seconds()}, nil
}

// repOf is the repetition a run's name ends in (-rN), 0 if none.
func repOf(r migRun) int {
	i := strings.LastIndex(r.Record.VM, "-r")
	if i < 0 {
		return 0
	}
	n, _ := strconv.Atoi(r.Record.VM[i+2:])
	return n
}

// fitExcept fits the pre-copy calibration to the records of the runs for
// which keep is true.
func fitExcept(runs []migRun, keep func(j int) bool) migration.Calibration {
	var recs []migration.Record
	for j, r := range runs {
		if keep(j) {
			recs = append(recs, r.Record)
		}
	}
	c, _, err := migration.FitCalibration(recs, migration.DefaultCalibration)
	if err != nil {
		return migration.DefaultCalibration
	}
	return c
}

// validationModels are the models the report compares: the paper's (WWS,
// paper γ, QEMU's stop rule), the pre-copy model with its default constants,
// and the pre-copy model refined from records: fitted on all runs (in
// sample), on all runs but the one predicted (leave-one-out), and on the
// other repetitions only (held out by repetition).
func validationModels(runs []migRun, limit time.Duration) []vmodel {
	q := migration.QEMU()
	all := fitExcept(runs, func(int) bool { return true })
	loo := make([]migration.Calibration, len(runs))
	rep := make([]migration.Calibration, len(runs))
	reps := map[int]bool{}
	for i := range runs {
		loo[i] = fitExcept(runs, func(j int) bool { return j != i })
		rep[i] = fitExcept(runs, func(j int) bool { return repOf(runs[j]) != repOf(runs[i]) })
		reps[repOf(runs[i])] = true
	}
	cal := func(c migration.Calibration) migration.Config {
		return migration.Config{Kind: migration.Precopy, Profile: q, Calibration: &c}
	}
	ms := []vmodel{
		{"paper (WWS, paper γ)", func(rs []migRun, i int) (predicted, error) {
			return predictWith(rs[i], migration.Config{Kind: migration.WWS, Profile: q}, limit)
		}},
		{"pre-copy, default constants", func(rs []migRun, i int) (predicted, error) {
			return predictWith(rs[i], cal(migration.DefaultCalibration), limit)
		}},
		{"pre-copy refined, in sample", func(rs []migRun, i int) (predicted, error) {
			return predictWith(rs[i], cal(all), limit)
		}},
		{"pre-copy refined, leave-one-out", func(rs []migRun, i int) (predicted, error) {
			return predictWith(rs[i], cal(loo[i]), limit)
		}},
	}
	if len(reps) > 1 {
		ms = append(ms, vmodel{"pre-copy refined, other repetition", func(rs []migRun, i int) (predicted, error) {
			return predictWith(rs[i], cal(rep[i]), limit)
		}})
	}
	return ms
}

// relErr is |p − m| / m.
func relErr(p, m float64) float64 { return math.Abs(p-m) / m }

// vsummary is one model's errors over the runs.
type vsummary struct {
	n, wrongConv, nNon, okNon     int
	t, tr, dt, tmax, trmax, dtmax float64
	within10, within30            int       // converging runs within 10 % on time and traffic; downtime within 30 %
	downAbs                       []float64 // |predicted − measured| downtime, s
}

// medianAbsDown is the median absolute downtime error, in ms.
func (a vsummary) medianAbsDown() float64 {
	if len(a.downAbs) == 0 {
		return 0
	}
	v := append([]float64(nil), a.downAbs...)
	sort.Float64s(v)
	return 1000 * v[len(v)/2]
}

// quietLoad is the one-minute load average up to which a run counts as taken
// on a quiet machine (2 cores: a TCG guest, QEMU's migration thread and Open
// vSwitch's forwarding need both).
const quietLoad = 4.0

// add counts one run's prediction p against what was measured.
func (a *vsummary) add(p predicted, meas migration.Record, conv bool) {
	if !conv {
		a.nNon++
		if !p.conv {
			a.okNon++
		}
		return
	}
	if !p.conv {
		a.wrongConv++
	}
	a.n++
	et, etr, ed := relErr(p.res.TotalTimeS, meas.TotalTimeS), relErr(p.res.TrafficMB, meas.TrafficMB), relErr(p.res.DowntimeS, meas.DowntimeS)
	a.t += et
	a.tr += etr
	a.dt += ed
	a.tmax, a.trmax, a.dtmax = max(a.tmax, et), max(a.trmax, etr), max(a.dtmax, ed)
	if et <= 0.10 && etr <= 0.10 {
		a.within10++
	}
	if ed <= 0.30 {
		a.within30++
	}
	a.downAbs = append(a.downAbs, math.Abs(p.res.DowntimeS-meas.DowntimeS))
}

// validationReport is the table and the summary, and the plots at png
// (total time) and beside it (-downtime.png).
func validationReport(runs []migRun, limit time.Duration, png string) (string, error) {
	var b strings.Builder
	models := validationModels(runs, limit)
	all := fitExcept(runs, func(int) bool { return true })
	fmt.Fprintf(&b, "Pre-copy constants fitted on all %d runs: η %.3f, κ %.3f, T_stop %.3f s, σ %.3f (defaults: η 1, κ 1, T_stop %.2f s, σ %g; θ %.2f is not fitted).\n\n",
		len(runs), all.RateFactor, all.DirtyFactor, all.StopS, all.StopShare, migration.DefaultStopS, float64(migration.DefaultStopShare), migration.DefaultLeftover)
	fmt.Fprintln(&b, "Columns: D is the guest's dirty rate as set / as the guest counted it before the move (the model's input) / as QEMU sampled it before the move; load is the one-minute load average at the run's start and its end (0: not recorded); QEMU cores is the CPU the source QEMU used over the 4 s before the move and over the move (- : not recorded); a prediction of a run predicted not to converge (within the time limit) is shown as -; R reached is the rate QEMU's pre-copy actually reached over R, (traffic − stop-and-copy) / (R × pre-copy time), after the fact (- where the rounds missed the stop-and-copy); predictions are paper / pre-copy default / pre-copy refined leave-one-out.")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| run | MiB | link Mbit/s | D MB/s set / guest / QEMU | R MB/s | R reached | V_mem MB | load start / end | QEMU cores before / during | outcome | converges? paper / default / refined | time s paper / default / refined / measured | downtime s default / refined / measured (QEMU) / guest's pause | MB sent stopped | traffic MB paper / default / refined / measured | flow payload vs QEMU | memory verified |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---|")
	sums := make([]vsummary, len(models))
	sumsQ := make([]vsummary, len(models))
	type series struct{ x, y, xd, yd []float64 }
	pts := make([]series, len(models))
	var gaps []pauseGap
	for i, r := range runs {
		ps := make([]predicted, len(models))
		for k, m := range models {
			p, err := m.predict(runs, i)
			if err != nil {
				return "", fmt.Errorf("%s: %s: %w", r.Record.VM, m.name, err)
			}
			ps[k] = p
		}
		meas := r.Record
		conv := r.Status == "completed"
		word := func(c bool) string {
			if c {
				return "yes"
			}
			return "no"
		}
		flow := "-"
		if r.FlowBytes > 0 && meas.TrafficMB > 0 {
			flow = fmt.Sprintf("%+.3f %%", 100*(float64(r.FlowPayload)/(meas.TrafficMB*1e6)-1))
		}
		ver := "-"
		if conv {
			ver = strconv.FormatBool(r.DestVerified && !r.DestFailed)
		}
		pp, pd, pr := ps[0], ps[1], ps[3]
		// A figure predicted for a migration predicted not to converge is
		// shown as "-" (QEMU would go on until cancelled).
		f := func(p predicted, v float64, prec int) string {
			if !p.conv {
				return "-"
			}
			return strconv.FormatFloat(v, 'f', prec, 64)
		}
		mf := func(v float64, prec int) string {
			if !conv {
				return "-"
			}
			return strconv.FormatFloat(v, 'f', prec, 64)
		}
		reached := "-"
		if pre := meas.TotalTimeS - meas.DowntimeS; pre > 0 && len(meas.Rounds) > 0 {
			last := 0.0
			if conv {
				last = meas.Rounds[len(meas.Rounds)-1].SentMB
			}
			if last <= meas.TrafficMB/2 {
				reached = fmt.Sprintf("%.2f", (meas.TrafficMB-last)/(pre*r.RateMBs))
			}
		}
		pause, stopped := "-", "-"
		if conv && r.GuestDowntimeS > 0 {
			pause = fmt.Sprintf("%.3f", r.GuestDowntimeS)
			gaps = append(gaps, pauseGap{link: r.LinkMbit, gap: r.GuestDowntimeS - meas.DowntimeS, rate: r.RateMBs})
		}
		if conv && r.DowntimeMB > 0 {
			stopped = fmt.Sprintf("%.2f", r.DowntimeMB)
		}
		cores := "-"
		if r.SrcCPUMove > 0 {
			cores = fmt.Sprintf("%.2f / %.2f", r.SrcCPUBefore, r.SrcCPUMove)
		}
		fmt.Fprintf(&b, "| %s | %d | %g | %g / %.2f / %.1f | %.2f | %s | %.1f | %.1f / %.1f | %s | %s (%d syncs) | %s / %s / %s | %s / %s / %s / %.1f | %s / %s / %s / %s | %s | %s / %s / %s / %.1f | %s | %s |\n",
			meas.VM, r.MemMiB, r.LinkMbit, r.SetDirtyMBs, r.DirtyMBs, r.QEMUDirtyBeforeMBs, r.RateMBs, reached, meas.RAMMB, r.Load1, r.Load1End, cores, r.Status, r.DirtySync,
			word(pp.conv), word(pd.conv), word(pr.conv),
			f(pp, pp.res.TotalTimeS, 1), f(pd, pd.res.TotalTimeS, 1), f(pr, pr.res.TotalTimeS, 1), meas.TotalTimeS,
			f(pd, pd.res.DowntimeS, 3), f(pr, pr.res.DowntimeS, 3), mf(meas.DowntimeS, 3), pause, stopped,
			f(pp, pp.res.TrafficMB, 1), f(pd, pd.res.TrafficMB, 1), f(pr, pr.res.TrafficMB, 1), meas.TrafficMB, flow, ver)
		quiet := r.Load1 > 0 && max(r.Load1, r.Load1End) <= quietLoad // 0: not recorded
		for k, p := range ps {
			sums[k].add(p, meas, conv)
			if quiet {
				sumsQ[k].add(p, meas, conv)
			}
			if conv {
				s := &pts[k]
				s.x, s.y = append(s.x, meas.TotalTimeS), append(s.y, p.res.TotalTimeS)
				s.xd, s.yd = append(s.xd, meas.DowntimeS), append(s.yd, p.res.DowntimeS)
			}
		}
	}
	for _, x := range []struct {
		title string
		sums  []vsummary
	}{{"All runs:", sums}, {fmt.Sprintf("Runs on a quiet machine (one-minute load average at most %g at the run's start and end):", quietLoad), sumsQ}} {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, x.title)
		fmt.Fprintln(&b)
		if x.sums[0].n+x.sums[0].nNon == 0 {
			fmt.Fprintln(&b, "None.")
			continue
		}
		fmt.Fprintln(&b, "| model | converging runs | mean / worst error, total time | mean / worst error, traffic | runs within 10 % on both | mean / worst error, downtime | runs within 30 % on downtime | median downtime error | converging runs predicted not to | non-converging runs predicted non-converging |")
		fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for k, m := range models {
			a := x.sums[k]
			n := float64(max(a.n, 1))
			fmt.Fprintf(&b, "| %s | %d | %.1f %% / %.1f %% | %.1f %% / %.1f %% | %d of %d | %.0f %% / %.0f %% | %d of %d | %.0f ms | %d | %d of %d |\n", m.name, a.n,
				100*a.t/n, 100*a.tmax, 100*a.tr/n, 100*a.trmax, a.within10, a.n, 100*a.dt/n, 100*a.dtmax, a.within30, a.n, a.medianAbsDown(), a.wrongConv, a.okNon, a.nNon)
		}
	}
	writePauseGaps(&b, gaps)
	if png != "" {
		var ss []plotSeries
		var sd []plotSeries
		for _, k := range []int{0, 1, 3} {
			ss = append(ss, plotSeries{models[k].name, pts[k].x, pts[k].y})
			if k > 0 {
				sd = append(sd, plotSeries{models[k].name, pts[k].xd, pts[k].yd})
			}
		}
		if err := validationPlot(png, "QEMU live migration: total time", "s", ss); err != nil {
			return "", err
		}
		if err := validationPlot(strings.TrimSuffix(png, ".png")+"-downtime.png", "QEMU live migration: downtime", "s", sd); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// pauseGap is how much longer the guest's pause (the source's STOP to the
// destination's RESUME) was than QEMU's downtime, in one run.
type pauseGap struct{ link, gap, rate float64 }

// writePauseGaps summarises the gaps by link rate: what the network still
// held when QEMU's downtime ended, and the destination's load and resume.
func writePauseGaps(b *strings.Builder, gaps []pauseGap) {
	if len(gaps) == 0 {
		return
	}
	by := map[float64][]pauseGap{}
	var links []float64
	for _, g := range gaps {
		if _, ok := by[g.link]; !ok {
			links = append(links, g.link)
		}
		by[g.link] = append(by[g.link], g)
	}
	sort.Float64s(links)
	fmt.Fprintln(b)
	fmt.Fprintln(b, "The guest's pause (the source's STOP event to the destination's RESUME, by QEMU's timestamps) against QEMU's downtime, converging runs:")
	fmt.Fprintln(b)
	fmt.Fprintln(b, "| link Mbit/s | runs | pause − downtime, s: min / median / max | the same at R, MB: median |")
	fmt.Fprintln(b, "|---:|---:|---:|---:|")
	for _, l := range links {
		g := by[l]
		v := make([]float64, len(g))
		mb := make([]float64, len(g))
		for i, x := range g {
			v[i], mb[i] = x.gap, x.gap*x.rate
		}
		sort.Float64s(v)
		sort.Float64s(mb)
		fmt.Fprintf(b, "| %g | %d | %.3f / %.3f / %.3f | %.2f |\n", l, len(g), v[0], v[len(v)/2], v[len(v)-1], mb[len(mb)/2])
	}
}

var plotShapes = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}, draw.SquareGlyph{}}

type plotSeries struct {
	name string
	x, y []float64
}

var plotColors = []color.Color{color.RGBA{R: 200, A: 255}, color.RGBA{G: 140, A: 255}, color.RGBA{B: 200, A: 255}, color.RGBA{R: 160, B: 160, A: 255}}

func validationPlot(path, title, unit string, ss []plotSeries) error {
	p := plot.New()
	p.Title.Text = title + ", predicted against measured (converging runs)"
	p.X.Label.Text = "measured (" + unit + ")"
	p.Y.Label.Text = "predicted (" + unit + ")"
	hi := 0.0
	for _, s := range ss {
		for i := range s.x {
			hi = max(hi, s.x[i], s.y[i])
		}
	}
	if hi == 0 {
		hi = 1
	}
	hi *= 1.1
	line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: hi, Y: hi}})
	if err != nil {
		return err
	}
	line.Color = color.Gray{Y: 128}
	p.Add(line)
	p.Legend.Add("exact", line)
	for i, s := range ss {
		pts := make(plotter.XYs, len(s.x))
		for j := range s.x {
			pts[j] = plotter.XY{X: s.x[j], Y: s.y[j]}
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Color = plotColors[i%len(plotColors)]
		sc.Shape = plotShapes[i%len(plotShapes)]
		p.Add(sc)
		p.Legend.Add(s.name, sc)
	}
	p.X.Min, p.Y.Min, p.X.Max, p.Y.Max = 0, 0, hi, hi
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
