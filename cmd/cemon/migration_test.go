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

// migration fit reads records (here the lines of a validation run, whose record
// is under "Record"), prints the constants, and predict uses them.
func TestMigrationFitAndPredictPrecopy(t *testing.T) {
	dir := t.TempDir()
	recs := filepath.Join(dir, "runs.jsonl")
	lines := []string{
		`{"mem_mib":128,"Record":{"vm":"a","profile":"qemu","ram_mb":200,"dirty_rate_mb_s":0,"rate_mb_s":10,"total_time_s":22.4,"downtime_s":0.15,"traffic_mb":200,"rounds":[{"duration_s":22.25,"dirty_mb":0,"sent_mb":198,"skipped_mb":0},{"duration_s":0.15,"dirty_mb":0,"sent_mb":2,"skipped_mb":0}]}}`,
		`{"vm":"b","profile":"qemu","ram_mb":200,"dirty_rate_mb_s":2,"rate_mb_s":10,"total_time_s":28.25,"downtime_s":0.25,"traffic_mb":260,"rounds":[{"duration_s":28,"dirty_mb":56,"sent_mb":257,"skipped_mb":0},{"duration_s":0.25,"dirty_mb":0,"sent_mb":3,"skipped_mb":0}]}`,
	}
	require.NoError(t, os.WriteFile(recs, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	var out, errb bytes.Buffer
	require.Equal(t, 0, mainWithArgs([]string{"migration", "fit", "--records", recs}, &out, &errb), errb.String())
	var c map[string]float64
	require.NoError(t, json.Unmarshal(out.Bytes(), &c))
	// η: the median of 198 MB over 10 MB/s × 22.25 s and 257 MB over 10 MB/s × 28 s.
	assert.InDelta(t, (198/222.5+257/280.0)/2, c["rate_factor"], 1e-9)
	// κ: 60 MB beyond the memory over 2 MB/s × 28 s.
	assert.InDelta(t, 60.0/56, c["dirty_factor"], 1e-9)
	cal := filepath.Join(dir, "cal.json")
	require.NoError(t, os.WriteFile(cal, out.Bytes(), 0o644))

	out.Reset()
	code := mainWithArgs([]string{"migration", "predict", "--ram", "200MB", "--dirty-rate", "0MB/s", "--rate", "10MB/s",
		"--profile", "qemu", "--model", "precopy", "--calibration", cal, "--json"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	var got map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.InDelta(t, 200, got["traffic_mb"], 1e-9)
	assert.Equal(t, "precopy", got["model"])

	// Bad input: no records, a bad record, a calibration for another model.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"migration", "fit"}, "--records"},
		{[]string{"migration", "fit", "--records", filepath.Join(dir, "none")}, "no such file"},
		{[]string{"migration", "predict", "--ram", "1MB", "--dirty-rate", "0MB/s", "--rate", "1MB/s", "--model", "wws", "--calibration", cal}, "only the precopy model"},
	} {
		errb.Reset()
		assert.Equal(t, 2, mainWithArgs(tt.args, &out, &errb), tt.args)
		assert.Contains(t, errb.String(), tt.want)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(`{"vm":"x","profile":"qemu","ram_mb":-1}`+"\n"), 0o644))
	errb.Reset()
	assert.Equal(t, 2, mainWithArgs([]string{"migration", "fit", "--records", bad}, &out, &errb))
	assert.Contains(t, errb.String(), "record 1")
}

func FuzzReadRecords(f *testing.F) {
	f.Add([]byte(`[{"vm":"a","profile":"qemu","ram_mb":1,"rate_mb_s":1}]`))
	f.Add([]byte(`{"Record":{"vm":"a","profile":"qemu","ram_mb":1,"rate_mb_s":1}}` + "\n" + `{"vm":"b","profile":"xen","ram_mb":2,"rate_mb_s":1}`))
	f.Add([]byte(`[{"Record":null}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := readRecords(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, r := range recs {
			if err := r.Validate(); err != nil {
				t.Fatalf("%s: accepted an invalid record: %v", b, err)
			}
		}
	})
}
