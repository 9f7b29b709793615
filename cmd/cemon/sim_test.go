package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimMCPSDefaultOut: without --out the simulator writes to a fresh directory under the
// temporary directory, never to the committed docs/mcps, and says where.
func TestSimMCPSDefaultOut(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var out, errb bytes.Buffer
	if code := runSim(context.Background(), []string{"mcps", "--size", "tiny"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	dirs, err := filepath.Glob(filepath.Join(tmp, "cemon-sim-mcps-*"))
	if err != nil || len(dirs) != 1 {
		t.Fatalf("fresh directories %v, %v", dirs, err)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "report.md")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), dirs[0]) {
		t.Errorf("stdout does not name %s: %q", dirs[0], out.String())
	}
	if _, err := os.Stat(filepath.Join("docs", "mcps")); err == nil {
		t.Errorf("docs/mcps created in the command's directory")
	}
}

func TestNiceTicks(t *testing.T) {
	ticks := niceTicks(0, 1.4e8)
	top := ticks[len(ticks)-1]
	if top.Value < 1.4e8 || top.Label != "140M" && top.Label != "150M" && top.Label != "160M" {
		t.Errorf("top tick %+v", top)
	}
	for _, c := range []struct {
		v    float64
		want string
	}{{0.25, "0.25"}, {950, "950"}, {12000, "12k"}, {1.5e6, "1.5M"}, {2e9, "2G"}} {
		if got := compactNumber(c.v); got != c.want {
			t.Errorf("compactNumber(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
