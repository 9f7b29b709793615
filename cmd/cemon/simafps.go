package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cemon-sdn/cemon/afps"
	"github.com/cemon-sdn/cemon/afps/sim"
	"github.com/cemon-sdn/cemon/afps/trace"
)

func init() {
	registerSim("afps", command{name: "afps", summary: "AFPS: per-flow adaptive samplers against fixed 1 s and PayLess on a packet trace", run: runSimAFPS})
}

// afpsJSON is one algorithm of `cemon sim afps --json`.
type afpsJSON struct {
	Algorithm       string  `json:"algorithm"`
	Requests        int64   `json:"requests"`
	Bytes           int64   `json:"bytes"`
	Error           float64 `json:"error"`
	BatchedRequests int64   `json:"batched_requests,omitempty"`
	BatchedBytes    int64   `json:"batched_bytes,omitempty"`
	BatchedError    float64 `json:"batched_error,omitempty"`
	BatchedPollAlls int64   `json:"batched_poll_alls,omitempty"`
}

func runSimAFPS(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sim afps", "sim afps --trace FILE [--task link|matrix|heavy] [--algorithms fixed,pt,ewmat,swt,payless] [--out DIR] [--json]", stderr,
		"Replays a packet trace through the AFPS samplers (fixed 1 s is the reference) and",
		"reports each one's requests, bytes and error (Eq. 20; heavy hitters: 1 − F1).")
	tracePath := fs.String("trace", "", "packet trace: CSV time_ns,flow_id,bytes (.csv or .csv.gz) or pcap/pcapng")
	taskName := fs.String("task", "link", "task: link, matrix or heavy")
	algs := fs.String("algorithms", "fixed,pt,ewmat,swt,payless", "comma-separated samplers")
	k := fs.Int("k", 4, "heavy hitters: top k (the committed traces have four long senders)")
	idle := fs.Duration("idle", trace.DefaultIdle, "a flow ends after this long without a packet")
	minI := fs.Duration("min", afps.DefaultMin, "τ_min")
	maxI := fs.Duration("max", afps.DefaultMax, "τ_max")
	initial := fs.Duration("initial", afps.DefaultInitial, "initial interval (fixed: its interval; PayLess starts at --min)")
	out := fs.String("out", "", "output `directory` for CSV, PNG plots and report.md (none if empty)")
	asJSON := fs.Bool("json", false, "print a JSON array, one object per algorithm, on stdout")
	title := fs.String("title", "", "title of the report (default: the trace's file name)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "cemon sim afps: "+format+"\n", a...)
		return code
	}
	if fs.NArg() > 0 {
		return fail(2, "unexpected arguments: %v", fs.Args())
	}
	if *tracePath == "" {
		return fail(2, "--trace is required")
	}
	tk, err := afps.ParseTaskKind(*taskName)
	if err != nil {
		return fail(2, "%v", err)
	}
	var kinds []afps.Kind
	for _, a := range strings.Split(*algs, ",") {
		kd, err := afps.ParseKind(a)
		if err != nil {
			return fail(2, "--algorithms: %v", err)
		}
		kinds = append(kinds, kd)
	}
	cfg := sim.Config{
		Task:       afps.Task{Kind: tk, K: *k},
		Algorithms: kinds,
		Sampler:    afps.Config{Min: *minI, Max: *maxI, Initial: *initial},
		Idle:       *idle,
	}
	if err := cfg.Validate(); err != nil {
		return fail(2, "%v", err)
	}
	start := time.Now()
	tr, err := readTraceFile(*tracePath)
	if err != nil {
		return fail(1, "%v", err)
	}
	readTime := time.Since(start)
	last := time.Now()
	progress := false
	cfg.Progress = func(done, total int64) {
		if time.Since(last) < 250*time.Millisecond {
			return
		}
		last = time.Now()
		progress = true
		fmt.Fprintf(stderr, "\rsim afps: %3.0f %% of %d packets x %d runs", 100*float64(done)/float64(max(total, 1)), len(tr.Packets), total/int64(max(len(tr.Packets), 1)))
	}
	rep, err := sim.Replay(tr, cfg)
	if progress {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return fail(1, "%v", err)
	}
	if err := ctx.Err(); err != nil {
		return fail(1, "%v", err)
	}
	fmt.Fprintf(stderr, "sim afps: %d packets, %d flows, %.0f s of trace; read in %.2f s, replayed in %.2f s\n",
		rep.Packets, rep.Flows, rep.Duration.Seconds(), readTime.Seconds(), time.Since(start).Seconds()-readTime.Seconds())
	if *out != "" {
		t := *title
		if t == "" {
			t = filepath.Base(*tracePath)
		}
		if err := writeAFPS(*out, t, *tracePath, rep); err != nil {
			return fail(1, "%v", err)
		}
	}
	if *asJSON {
		var arr []afpsJSON
		for _, r := range rep.Results {
			j := afpsJSON{Algorithm: r.Algorithm, Requests: r.Requests, Bytes: r.Bytes, Error: r.Error}
			if r.Batched != nil {
				j.BatchedRequests, j.BatchedBytes, j.BatchedError, j.BatchedPollAlls = r.Batched.Requests, r.Batched.Bytes, r.Batched.Error, r.Batched.PollAlls
			}
			arr = append(arr, j)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(arr); err != nil {
			return fail(1, "%v", err)
		}
		return 0
	}
	fmt.Fprint(stdout, afpsTable(rep))
	return 0
}

// readTraceFile reads a CSV (optionally gzip-compressed) or pcap/pcapng trace.
func readTraceFile(path string) (*trace.Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var r io.Reader = br
	if m, _ := br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = bufio.NewReaderSize(zr, 1<<16)
	}
	rr := r.(*bufio.Reader)
	m, _ := rr.Peek(4)
	pcap := len(m) == 4 && (bytes.Equal(m, []byte{0xd4, 0xc3, 0xb2, 0xa1}) || bytes.Equal(m, []byte{0xa1, 0xb2, 0xc3, 0xd4}) ||
		bytes.Equal(m, []byte{0x4d, 0x3c, 0xb2, 0xa1}) || bytes.Equal(m, []byte{0xa1, 0xb2, 0x3c, 0x4d}) || bytes.Equal(m, []byte{0x0a, 0x0d, 0x0d, 0x0a}))
	var t *trace.Trace
	if pcap {
		t, _, err = trace.ReadPcap(rr)
	} else {
		t, err = trace.ReadCSV(rr)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func afpsRef(rep *sim.Report) *sim.Result {
	for i := range rep.Results {
		if rep.Results[i].Algorithm == "fixed" {
			return &rep.Results[i]
		}
	}
	return nil
}

// afpsTable is the Markdown table of a report.
func afpsTable(rep *sim.Report) string {
	var b strings.Builder
	ref := afpsRef(rep)
	errName := "error (Eq. 20) %"
	if rep.Task == afps.HeavyHitters {
		errName = "1 − F1 %"
	}
	fmt.Fprintf(&b, "| algorithm | requests | vs fixed | bytes | %s | batched requests | batched bytes | batched %s |\n", errName, strings.TrimSuffix(errName, " %"))
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Results {
		rel := "–"
		if ref != nil && ref.Requests > 0 {
			rel = fmt.Sprintf("%.2f", float64(r.Requests)/float64(ref.Requests))
		}
		br, bb, be := "–", "–", "–"
		if r.Batched != nil {
			br = fmt.Sprintf("%d (%d poll-all)", r.Batched.Requests, r.Batched.PollAlls)
			bb = fmt.Sprint(r.Batched.Bytes)
			be = fmt.Sprintf("%.2f %%", 100*r.Batched.Error)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %d | %.2f | %s | %s | %s |\n", r.Algorithm, r.Requests, rel, r.Bytes, 100*r.Error, br, bb, be)
	}
	return b.String()
}

func writeAFPS(dir, title, tracePath string, rep *sim.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var s strings.Builder
	s.WriteString("algorithm,requests,bytes,error,batched_requests,batched_bytes,batched_error,batched_poll_alls\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&s, "%s,%d,%d,%.6f", r.Algorithm, r.Requests, r.Bytes, r.Error)
		if r.Batched != nil {
			fmt.Fprintf(&s, ",%d,%d,%.6f,%d\n", r.Batched.Requests, r.Batched.Bytes, r.Batched.Error, r.Batched.PollAlls)
		} else {
			s.WriteString(",,,,\n")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.csv"), []byte(s.String()), 0o644); err != nil {
		return err
	}
	s.Reset()
	s.WriteString("time_s,truth_Bps")
	for _, r := range rep.Results {
		s.WriteString("," + r.Algorithm + "_Bps")
	}
	s.WriteString("\n")
	for i, t := range rep.Times {
		fmt.Fprintf(&s, "%.1f,%.0f", t, rep.Truth[i])
		for _, r := range rep.Results {
			fmt.Fprintf(&s, ",%.0f", r.Reported[i])
		}
		s.WriteString("\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "series.csv"), []byte(s.String()), 0o644); err != nil {
		return err
	}
	s.Reset()
	s.WriteString("second")
	for _, r := range rep.Results {
		s.WriteString("," + r.Algorithm)
	}
	s.WriteString("\n")
	if len(rep.Results) > 0 {
		for i := range rep.Results[0].PerSecond {
			fmt.Fprintf(&s, "%d", i)
			for _, r := range rep.Results {
				fmt.Fprintf(&s, ",%d", r.PerSecond[i])
			}
			s.WriteString("\n")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "requests.csv"), []byte(s.String()), 0o644); err != nil {
		return err
	}
	plots := []struct {
		name string
		draw func(*sim.Report) (*plot.Plot, error)
	}{{"value", plotValue}, {"requests", plotRequests}, {"cost_error", plotCostError}}
	for _, pl := range plots {
		p, err := pl.draw(rep)
		if err != nil {
			return fmt.Errorf("plot %s: %w", pl.name, err)
		}
		p.Title.Text += " (" + title + ")"
		wt, err := p.WriterTo(8*vg.Inch, 4.5*vg.Inch, "png")
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if _, err := wt.WriteTo(&b); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, pl.name+".png"), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# AFPS on %s: %s task\n\n", title, rep.Task)
	fmt.Fprintf(&md, "Trace `%s`: %d packets, %d flows (2 s idle timeout), %.0f s. Cost model %s; "+
		"truth every 100 ms over the previous second.\n\n", filepath.Base(tracePath), rep.Packets, rep.Flows, rep.Duration.Seconds(), rep.CostModel)
	md.WriteString(afpsTable(rep))
	md.WriteString("\n![value over time](value.png)\n\n![requests per second](requests.png)\n\n![cost against error](cost_error.png)\n")
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(md.String()), 0o644)
}

func plotValue(rep *sim.Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "task value over time"
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "Mbit/s"
	if rep.Task != afps.LinkUtilization {
		p.Y.Label.Text = "Mbit/s (sum over the flows)"
	}
	mk := func(v []float64) plotter.XYs {
		pts := make(plotter.XYs, len(v))
		for i := range v {
			pts[i] = plotter.XY{X: rep.Times[i], Y: v[i] * 8 / 1e6}
		}
		return pts
	}
	truth, err := plotter.NewLine(mk(rep.Truth))
	if err != nil {
		return nil, err
	}
	truth.Width = vg.Points(2.5)
	truth.Color = color.Gray{Y: 120}
	p.Add(truth)
	p.Legend.Add("actual", truth)
	for i, r := range rep.Results {
		l, err := plotter.NewLine(mk(r.Reported))
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1)
		p.Add(l)
		p.Legend.Add(r.Algorithm, l)
	}
	p.Legend.Top = true
	return p, nil
}

func plotRequests(rep *sim.Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "statistics requests per second"
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "requests"
	var lines []any
	for _, r := range rep.Results {
		pts := make(plotter.XYs, len(r.PerSecond))
		for i, n := range r.PerSecond {
			pts[i] = plotter.XY{X: float64(i), Y: float64(n)}
		}
		lines = append(lines, r.Algorithm, pts)
	}
	if err := plotutil.AddLines(p, lines...); err != nil {
		return nil, err
	}
	p.Legend.Top = true
	return p, nil
}

func plotCostError(rep *sim.Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "error against cost"
	p.X.Label.Text = "requests"
	p.Y.Label.Text = "error (Eq. 20) %"
	if rep.Task == afps.HeavyHitters {
		p.Y.Label.Text = "1 − F1 %"
	}
	for i, r := range rep.Results {
		sc, err := plotter.NewScatter(plotter.XYs{{X: float64(r.Requests), Y: 100 * r.Error}})
		if err != nil {
			return nil, err
		}
		sc.Color = plotutil.Color(i)
		sc.Shape = draw.CircleGlyph{}
		sc.Radius = vg.Points(5)
		p.Add(sc)
		p.Legend.Add(r.Algorithm, sc)
		if r.Batched != nil {
			bs, err := plotter.NewScatter(plotter.XYs{{X: float64(r.Batched.Requests), Y: 100 * r.Batched.Error}})
			if err != nil {
				return nil, err
			}
			bs.Color = plotutil.Color(i)
			bs.Shape = draw.BoxGlyph{}
			bs.Radius = vg.Points(4)
			p.Add(bs)
		}
	}
	p.Legend.Top = true
	p.Legend.Left = false
	return p, nil
}
