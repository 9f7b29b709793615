package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = mainWithArgs(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSchemeInstanceJSON solves the in-band instance of the example format and
// checks every field of --json.
func TestSchemeInstanceJSON(t *testing.T) {
	inst := writeFile(t, "inst.json", `{"deployment": "in-band",
	  "controllers": [{"id": "c1", "hops": {"s1": 1, "s2": 2, "s3": 3}}],
	  "flows": [{"id": "f1", "path": ["s1", "s2"]}, {"id": "f2", "path": ["s2", "s3"]},
	            {"id": "f3", "path": ["s1", "s2", "s3"]}, {"id": "f4", "path": ["s3"]}]}`)
	code, out, errs := runCmd(t, "scheme", "--instance", inst, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got schemeOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The optimum (by hand over the 8 poll-all sets): poll-all at s3 (3 hops, f2-f4:
	// 3·(200+3·96) = 1464) plus f1 singly at s1 (1 hop, 296). Poll-all at s2 instead
	// would cost 2·488 + f4 at s3 3·296 = 1864; per-flow-min 2072.
	if got.Strategy != "mcps" || got.Deployment != "in-band" || got.CostBytes != 1464+296 {
		t.Fatalf("%+v", got)
	}
	if len(got.PollAll) != 1 || got.PollAll[0] != (pollAllOut{Switch: "s3", Controller: "c1"}) {
		t.Fatalf("poll_all %+v", got.PollAll)
	}
	if len(got.PollSingle) != 1 || got.PollSingle[0] != (pollSingleOut{Flow: "f1", Switch: "s1", Controller: "c1"}) {
		t.Fatalf("poll_single %+v", got.PollSingle)
	}
	for _, b := range []string{"per-flow-random", "per-flow-min", "poll-all"} {
		if got.Baselines[b] <= got.CostBytes {
			t.Errorf("baseline %s = %d, not above %d", b, got.Baselines[b], got.CostBytes)
		}
	}
	if got.LowerBoundBytes > got.CostBytes || got.LowerBoundBytes <= 0 || got.SolveSeconds < 0 {
		t.Errorf("bound %d, seconds %v", got.LowerBoundBytes, got.SolveSeconds)
	}
	// --deployment overrides the file: out-of-band, a poll-all at s2 or s3 (488) and one
	// poll-single (296).
	code, out, _ = runCmd(t, "scheme", "--instance", inst, "--json", "--deployment", "out-of-band", "--strategy", "exact")
	if code != 0 {
		t.Fatal(code)
	}
	got = schemeOutput{}
	json.Unmarshal([]byte(out), &got)
	if got.CostBytes != 488+296 || got.Strategy != "exact" || !got.Optimal {
		t.Fatalf("%+v", got)
	}
}

// TestSchemeTopologyExport generates a workload, exports it, and solves the exported
// file to the same cost.
func TestSchemeTopologyExport(t *testing.T) {
	exp := filepath.Join(t.TempDir(), "exported.json")
	for _, topo := range []string{"er:30:0.1", "waxman:30:0.5:0.3", "../../mcps/sim/testdata/Abilene.gml"} {
		if strings.HasSuffix(topo, ".gml") {
			if _, err := os.Stat(topo); err != nil {
				t.Logf("skipping %s: %v", topo, err)
				continue
			}
		}
		code, out, errs := runCmd(t, "scheme", "--topology", topo, "--flows", "400", "--seed", "3",
			"--deployment", "in-band", "--controllers", "2", "--export-instance", exp, "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", topo, code, errs)
		}
		var a, b schemeOutput
		json.Unmarshal([]byte(out), &a)
		code, out, errs = runCmd(t, "scheme", "--instance", exp, "--json")
		if code != 0 {
			t.Fatalf("%s: re-reading the export: exit %d: %s", topo, code, errs)
		}
		json.Unmarshal([]byte(out), &b)
		if a.Flows != 400 || a.CostBytes != b.CostBytes || a.Deployment != "in-band" || len(a.Controllers) != 2 {
			t.Fatalf("%s: generated %+v, re-read cost %d", topo, a, b.CostBytes)
		}
	}
	code, out, _ := runCmd(t, "scheme", "--topology", "er:20:0.2", "--flows", "100")
	if code != 0 || !strings.Contains(out, "per-flow-random") || !strings.Contains(out, "lower bound") {
		t.Fatalf("text output: %d %s", code, out)
	}
}

func TestSchemeErrors(t *testing.T) {
	bad := writeFile(t, "bad.json", `{"flows": [{"id": "f1", "path": ["s1", "s1"]}]}`)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no input", []string{"scheme"}, 2, "exactly one of"},
		{"both inputs", []string{"scheme", "--instance", bad, "--topology", "er:5:0.5"}, 2, "exactly one of"},
		{"bad strategy", []string{"scheme", "--topology", "er:5:0.5", "--strategy", "best"}, 2, "unknown --strategy"},
		{"bad deployment", []string{"scheme", "--topology", "er:5:0.5", "--deployment", "sideways"}, 2, "deployment"},
		{"bad flag", []string{"scheme", "--frobnicate"}, 2, "frobnicate"},
		{"negative flows", []string{"scheme", "--topology", "er:5:0.5", "--flows", "-3"}, 2, "--flows"},
		{"zero controllers", []string{"scheme", "--topology", "er:5:0.5", "--controllers", "0"}, 2, "--controllers"},
		{"flows with instance", []string{"scheme", "--instance", bad, "--flows", "3"}, 2, "--topology only"},
		{"missing file", []string{"scheme", "--instance", "/nonexistent/x.json"}, 1, "no such file"},
		{"bad instance", []string{"scheme", "--instance", bad}, 1, "appears twice"},
		{"bad spec", []string{"scheme", "--topology", "mesh:5"}, 1, "spec"},
		{"too many controllers", []string{"scheme", "--topology", "linear:3", "--controllers", "4"}, 1, "--controllers 4"},
		{"one switch", []string{"scheme", "--topology", "linear:1"}, 1, "need 2 to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCmd(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.msg) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.msg)
			}
		})
	}
}

// TestSimMCPSTiny runs the simulator at its tiny size into a temporary directory.
func TestSimMCPSTiny(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := runSim(context.Background(), []string{"mcps", "--size", "tiny", "--out", dir}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, f := range []string{"report.md", "cost_flows_er_out-of-band.csv", "cost_flows_er_out-of-band.png", "dapr_summary.csv", "gap_flows.png"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	png, _ := os.ReadFile(filepath.Join(dir, "gap_flows.png"))
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("gap_flows.png is not a PNG")
	}
	if !strings.Contains(out.String(), "mcps / per-flow-random") {
		t.Errorf("stdout %q", out.String())
	}
	for _, args := range [][]string{{}, {"nosuch"}, {"mcps", "--size", "huge"}, {"mcps", "extra"}} {
		if code := runSim(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
