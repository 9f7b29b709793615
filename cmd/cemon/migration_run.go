package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cemon-sdn/cemon/migration"
	"github.com/cemon-sdn/cemon/placement"
	"github.com/cemon-sdn/cemon/qmp"
)

func init() {
	migrationSubs["run"] = struct {
		summary string
		run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	}{"carry out a plan's moves over QMP and report each outcome beside its prediction", runMigrationRun}
}

// incomingFlag is --incoming VM=SOCKET,URI, repeatable: the destination guest
// waiting for VM (started with -incoming defer) and where it is to listen.
type incomingFlag map[string]incoming

type incoming struct{ socket, uri string }

func (f incomingFlag) String() string { return fmt.Sprint(map[string]incoming(f)) }

func (f incomingFlag) Set(s string) error {
	vm, rest, ok := strings.Cut(s, "=")
	sock, uri, ok2 := strings.Cut(rest, ",")
	if !ok || !ok2 || vm == "" || sock == "" || !strings.HasPrefix(uri, "tcp:") {
		return fmt.Errorf("%q: want VM=SOCKET,tcp:IP:PORT", s)
	}
	if _, dup := f[vm]; dup {
		return fmt.Errorf("%q: VM %s given twice", s, vm)
	}
	f[vm] = incoming{sock, uri}
	return nil
}

// RunOutcome is one carried-out move beside its prediction (`cemon migration
// run --json` prints one per line).
type RunOutcome struct {
	Move      migration.PlannedMove `json:"move"`
	Status    string                `json:"status"` // completed, cancelled, failed
	Record    migration.Record      `json:"record"`
	DirtySync int64                 `json:"dirty_sync_count"`
	// PauseS is how long the guest ran nowhere: from its stop at the source
	// to its resume at the destination (QEMU's STOP and RESUME events). It
	// is longer than the record's downtime, which QEMU ends once its last
	// byte is in the socket, by what the network still held then.
	PauseS float64 `json:"pause_s,omitempty"`
	Error  string  `json:"error,omitempty"`
}

// runTimeout is how long a move may run before it is cancelled (and counts as
// not converging): three times its predicted time, at least 10 s, at most limit.
func runTimeout(predictedS float64, limit time.Duration) time.Duration {
	t := time.Duration(3 * predictedS * float64(time.Second))
	return min(max(t, 10*time.Second), limit)
}

func runMigrationRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("migration run", "migration run --plan PLAN --inventory FILE --incoming VM=SOCKET,tcp:IP:PORT ... [flags]", stderr,
		"Carries out the moves of PLAN (`cemon migration plan --json`), in the order of their",
		"start times, one at a time, for VMs whose inventory entry names their QMP socket",
		"(\"qmp\"): it makes the destination guest given by --incoming listen, caps the",
		"source's bandwidth at the move's R, migrates, and reports the outcome beside the",
		"prediction. A move that runs past three times its predicted time (at most",
		"--timeout) is cancelled and counts as not converging. With --api the measured",
		"records are posted to cemon (POST /api/v1/migration/records).",
	)
	planFile := fs.String("plan", "", "plan `file` (JSON, as `cemon migration plan --json` prints it)")
	invFile := fs.String("inventory", "", "plan or inventory `file` naming each VM's QMP socket")
	inc := incomingFlag{}
	fs.Var(inc, "incoming", "`VM=SOCKET,tcp:IP:PORT`: VM's destination guest and where it listens (repeat per VM)")
	downtime := fs.Duration("downtime-limit", 300*time.Millisecond, "QEMU's downtime limit")
	timeout := fs.Duration("timeout", 60*time.Second, "longest a move may run")
	apiURL := fs.String("api", "", "cemon's REST API `URL` (http://HOST:PORT) to post the records to")
	tokenFile := fs.String("api-token-file", "", "`file` holding the API's bearer token")
	asJSON := fs.Bool("json", false, "print one JSON outcome per line")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 || *planFile == "" || *invFile == "" {
		fmt.Fprintln(stderr, "cemon migration run: give --plan and --inventory, and no other arguments")
		return 2
	}
	if *downtime <= 0 || *timeout <= 0 {
		fmt.Fprintln(stderr, "cemon migration run: --downtime-limit and --timeout must be positive")
		return 2
	}
	var plan migration.Plan
	var inv migration.PlanFile
	for _, f := range []struct {
		name string
		v    any
	}{{*planFile, &plan}, {*invFile, &inv}} {
		b, err := os.ReadFile(f.name)
		if err == nil {
			err = placement.DecodeStrict(b, f.v)
		}
		if err != nil {
			fmt.Fprintf(stderr, "cemon migration run: %s: %v\n", f.name, err)
			return 1
		}
	}
	token := ""
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "cemon migration run: %v\n", err)
			return 1
		}
		token = strings.TrimSpace(string(b))
	}
	vms := map[string]placement.VM{}
	for _, v := range inv.VMs {
		vms[v.ID] = v
	}
	moves := slices.Clone(plan.Moves)
	slices.SortStableFunc(moves, func(a, b migration.PlannedMove) int {
		switch {
		case a.StartS < b.StartS:
			return -1
		case a.StartS > b.StartS:
			return 1
		}
		return 0
	})
	// Check every move before carrying out any.
	var errs []error
	for _, m := range moves {
		v, ok := vms[m.VM]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("move of %s: VM not in %s", m.VM, *invFile))
		case v.QMP == "":
			errs = append(errs, fmt.Errorf("move of %s: its inventory entry names no QMP socket (\"qmp\")", m.VM))
		case inc[m.VM] == incoming{}:
			errs = append(errs, fmt.Errorf("move of %s: no --incoming %s=SOCKET,tcp:IP:PORT", m.VM, m.VM))
		case !(m.RateMBs > 0):
			errs = append(errs, fmt.Errorf("move of %s: the plan gives no transfer rate", m.VM))
		}
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "cemon migration run: %v\n", err)
		return 2
	}
	if len(moves) == 0 {
		fmt.Fprintln(stdout, "the plan has no moves")
		return 0
	}
	var outs []RunOutcome
	code := 0
	for _, m := range moves {
		v := vms[m.VM]
		o := RunOutcome{Move: m}
		mv := qmp.Move{Source: v.QMP, Dest: inc[m.VM].socket, URI: inc[m.VM].uri,
			Params:  qmp.Parameters{MaxBandwidth: int64(m.RateMBs * 1e6), DowntimeLimit: *downtime},
			Timeout: runTimeout(m.TotalTimeS, *timeout)}
		final, rounds, err := mv.Run(ctx)
		o.Status = final.Status
		if final.RAM != nil {
			o.DirtySync = final.RAM.DirtySyncCount
		}
		in := migration.Input{MemMB: v.RAMMB, DirtyMBs: m.DirtyMBs, RateMBs: m.RateMBs}
		var trace []migration.Round
		if rounds != nil {
			trace = rounds.Trace(final, m.DirtyMBs)
			o.PauseS = rounds.Pause().Duration().Seconds()
		}
		o.Record = qmp.Record(m.VM, final, trace, in)
		if err != nil {
			o.Error = err.Error()
			code = 1
		} else if *apiURL != "" {
			if err := postRecord(ctx, *apiURL, token, o.Record); err != nil {
				o.Error = err.Error()
				code = 1
			}
		}
		outs = append(outs, o)
		if *asJSON {
			b, _ := json.Marshal(o)
			fmt.Fprintln(stdout, string(b))
		}
	}
	if !*asJSON {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VM\tfrom\tto\tR MB/s\tstatus\ttime s pred/meas\tdowntime s pred/meas\tguest paused s\ttraffic MB pred/meas\tsyncs\terror")
		for _, o := range outs {
			m, r := o.Move, o.Record
			pc := "converges"
			if !m.Converged {
				pc = "does not converge"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%s (predicted: %s)\t%.2f / %.2f\t%.3f / %.3f\t%.3f\t%.1f / %.1f\t%d\t%s\n", m.VM, m.From, m.To,
				m.RateMBs, o.Status, pc, m.TotalTimeS, r.TotalTimeS, m.DowntimeS, r.DowntimeS, o.PauseS, m.TrafficMB, r.TrafficMB, o.DirtySync, o.Error)
		}
		tw.Flush()
	}
	return code
}

// postRecord posts a measured record to cemon's API.
func postRecord(ctx context.Context, base, token string, rec migration.Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/api/v1/migration/records", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("posting the record: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("posting the record: %s: %s", res.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
