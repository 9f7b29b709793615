package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMigrationPredict(t *testing.T) {
	var out, errb bytes.Buffer
	code := mainWithArgs([]string{"migration", "predict", "--ram", "800MB", "--dirty-rate", "40MB/s", "--rate", "100MB/s",
		"--profile", "xen", "--model", "base", "--json"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	var got map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	for _, k := range []string{"rounds", "total_time_s", "downtime_s", "traffic_mb", "energy_j", "converged"} {
		assert.Contains(t, got, k)
	}
	// λ = 0.4, V_thd = 50 pages: n = ⌈log_0.4(0.2048/800)⌉ = 10; V_mig = 800·(1−0.4^11)/0.6.
	assert.Equal(t, 10.0, got["rounds"])
	assert.InDelta(t, 800*(1-math.Pow(0.4, 11))/0.6, got["traffic_mb"], 1e-9)
	assert.Equal(t, true, got["converged"])

	// Bit rates and binary sizes read by the same parser: 1GiB at 800 Mbit/s.
	out.Reset()
	code = mainWithArgs([]string{"migration", "predict", "--ram", "1GiB", "--dirty-rate", "80Mbit/s", "--rate", "800Mbit/s",
		"--profile", "qemu", "--json"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.Equal(t, 100.0, got["rate_mb_s"])
	assert.Equal(t, "qemu", got["profile"])
}

func TestMigrationPredictBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--ram", "0", "--dirty-rate", "1MB/s", "--rate", "1MB/s"}, []string{"--ram"}},
		{[]string{"--ram", "800MB", "--dirty-rate", "40", "--rate", "fast"}, []string{"--dirty-rate", "--rate"}},
		{[]string{"--ram", "800MB", "--dirty-rate", "4MB/s", "--rate", "1MB/s", "--profile", "vmware", "--model", "x"}, []string{"--profile", "--model"}},
		{[]string{"--ram", "800MB", "--dirty-rate", "4MB/s", "--rate", "1MB/s", "--downtime-limit", "1s"}, []string{"--downtime-limit"}},
		{[]string{"--ram", "800MB", "--dirty-rate", "4MB/s", "--rate", "0MB/s"}, []string{"--rate"}},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := mainWithArgs(append([]string{"migration", "predict"}, tt.args...), &out, &errb)
		assert.Equal(t, 2, code, tt.args)
		for _, w := range tt.want {
			assert.True(t, strings.Contains(errb.String(), w), "%v: %q lacks %s", tt.args, errb.String(), w)
		}
	}
}

func TestSimMigration(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := mainWithArgs([]string{"sim", "migration", "--out", dir, "--trials", "5"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	assert.Contains(t, out.String(), "paper 72.9")
	for _, f := range []string{"decision.csv", "report.md", "sensitivity_memory.png", "sensitivity_dirty_rate.csv", "sensitivity_rate.png"} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.Greater(t, st.Size(), int64(50), f)
	}
	code = mainWithArgs([]string{"sim", "migration", "--out", dir, "--trials", "0"}, &out, &errb)
	assert.Equal(t, 2, code)
}

func TestMigrationPlan(t *testing.T) {
	var out, errb bytes.Buffer
	code := mainWithArgs([]string{"migration", "plan", "--inventory", "../../migration/testdata/plan.json", "--json"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	var plan struct {
		Hotspots []struct{ Server, Resource string }
		Moves    []struct {
			VM, From, To string
			RateMBs      float64 `json:"rate_mb_s"`
			FreeMBs      float64 `json:"free_mb_s"`
			Rounds       int
			TotalTimeS   float64 `json:"total_time_s"`
			Cost         float64
		}
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &plan))
	require.Len(t, plan.Hotspots, 1)
	assert.Equal(t, "nic", plan.Hotspots[0].Resource)
	require.NotEmpty(t, plan.Moves)
	assert.Equal(t, "a", plan.Moves[0].From)
	assert.LessOrEqual(t, plan.Moves[0].RateMBs, plan.Moves[0].FreeMBs)

	out.Reset()
	code = mainWithArgs([]string{"migration", "plan", "--inventory", "../../migration/testdata/plan.json", "--detector", "mad", "--policy", "consolidate", "--sla-window", "10m"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	assert.Contains(t, out.String(), "hotspot a nic")

	for _, args := range [][]string{
		{"--inventory", "../../migration/testdata/plan.json", "--detector", "psychic"},
		{"--inventory", "../../migration/testdata/plan.json", "--max-per-link", "0"},
		{},
	} {
		errb.Reset()
		code = mainWithArgs(append([]string{"migration", "plan"}, args...), &out, &errb)
		assert.Equal(t, 2, code, args)
	}
	code = mainWithArgs([]string{"migration", "plan", "--inventory", "/nonexistent.json"}, &out, &errb)
	assert.Equal(t, 1, code)
}
