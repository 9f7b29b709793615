package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/migration"
	"github.com/cemon-sdn/cemon/qmp/qmptest"
)

func writeJSONFile(t *testing.T, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func TestMigrationRun(t *testing.T) {
	src := qmptest.New(t, "src", qmptest.Active(1e6, 1), qmptest.Active(134e6, 2), qmptest.Completed(6000, 150, 140e6, 3))
	dst := qmptest.New(t, "dst")
	stopped := time.Now()
	src.StopAt(stopped)
	dst.ResumeAt(stopped.Add(310 * time.Millisecond))
	inv := map[string]any{
		"servers": []map[string]any{
			{"id": "srv1", "dpid": "2", "port": 2, "cpu_cores": 8, "ram_mb": 16000, "nic_bps": 1e9},
			{"id": "srv2", "dpid": "3", "port": 2, "cpu_cores": 8, "ram_mb": 16000, "nic_bps": 1e9}},
		"vms": []map[string]any{{"id": "vm1", "server": "srv1", "vcpus": 1, "ram_mb": 134, "cpu_util": 0.5, "qmp": src.Path}},
	}
	plan := migration.Plan{Moves: []migration.PlannedMove{{VM: "vm1", From: "srv1", To: "srv2", TotalTimeS: 5.5, DowntimeS: 0.2,
		TrafficMB: 138, Converged: true, DirtyMBs: 2, RateMBs: 25, Rounds: 2}}}
	var posted []migration.Record
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/api/v1/migration/records", r.URL.Path)
		assert.Equal(t, "Bearer s3cret", r.Header.Get("Authorization"))
		var rec migration.Record
		require.NoError(t, json.NewDecoder(r.Body).Decode(&rec))
		posted = append(posted, rec)
		w.WriteHeader(http.StatusCreated)
	}))
	defer api.Close()
	tok := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tok, []byte("s3cret\n"), 0o600))

	args := []string{"migration", "run", "--plan", writeJSONFile(t, "plan.json", plan), "--inventory", writeJSONFile(t, "inv.json", inv),
		"--incoming", "vm1=" + dst.Path + ",tcp:10.0.0.3:4444", "--api", api.URL, "--api-token-file", tok, "--json"}
	var out, errb bytes.Buffer
	require.Equal(t, 0, mainWithArgs(args, &out, &errb), errb.String())
	var o RunOutcome
	require.NoError(t, json.Unmarshal(out.Bytes(), &o))
	assert.Equal(t, "completed", o.Status)
	assert.Equal(t, 6.0, o.Record.TotalTimeS)
	assert.Equal(t, 0.15, o.Record.DowntimeS)
	assert.InDelta(t, 0.31, o.PauseS, 2e-6, "the guest's pause, STOP to RESUME")
	assert.Equal(t, 140.0, o.Record.TrafficMB)
	assert.Equal(t, int64(3), o.DirtySync)
	require.Len(t, posted, 1)
	assert.Equal(t, o.Record.TrafficMB, posted[0].TrafficMB)
	assert.Equal(t, "migrate-incoming", dst.Commands()[1].Execute)

	// The table: prediction beside outcome.
	src2 := qmptest.New(t, "src2", qmptest.Completed(2000, 100, 10e6, 2))
	dst2 := qmptest.New(t, "dst2")
	inv["vms"] = []map[string]any{{"id": "vm1", "server": "srv1", "vcpus": 1, "ram_mb": 134, "cpu_util": 0.5, "qmp": src2.Path}}
	args = []string{"migration", "run", "--plan", writeJSONFile(t, "plan.json", plan), "--inventory", writeJSONFile(t, "inv.json", inv),
		"--incoming", "vm1=" + dst2.Path + ",tcp:10.0.0.3:4444"}
	out.Reset()
	require.Equal(t, 0, mainWithArgs(args, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "completed (predicted: converges)")
	assert.Contains(t, out.String(), "5.50 / 2.00")
}

func TestMigrationRunBadInput(t *testing.T) {
	inv := map[string]any{
		"servers": []map[string]any{{"id": "srv1", "dpid": "2", "port": 2, "cpu_cores": 8, "ram_mb": 16000, "nic_bps": 1e9}},
		"vms":     []map[string]any{{"id": "vm1", "server": "srv1", "vcpus": 1, "ram_mb": 134, "cpu_util": 0.5}},
	}
	plan := migration.Plan{Moves: []migration.PlannedMove{{VM: "vm1", From: "srv1", To: "srv2", RateMBs: 25},
		{VM: "vm9", From: "srv1", To: "srv2", RateMBs: 25}}}
	pf, inf := writeJSONFile(t, "plan.json", plan), writeJSONFile(t, "inv.json", inv)
	for _, tt := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"--plan", pf}, 2, []string{"--inventory"}},
		{[]string{"--plan", pf, "--inventory", inf}, 2, []string{"vm1: its inventory entry names no QMP socket", "vm9: VM not in"}},
		{[]string{"--plan", pf, "--inventory", inf, "--incoming", "vm1=/x"}, 2, []string{"want VM=SOCKET,tcp:IP:PORT"}},
		{[]string{"--plan", pf, "--inventory", inf, "--timeout", "0s"}, 2, []string{"must be positive"}},
		{[]string{"--plan", inf, "--inventory", inf}, 1, []string{"unknown field"}},
	} {
		var out, errb bytes.Buffer
		code := mainWithArgs(append([]string{"migration", "run"}, tt.args...), &out, &errb)
		assert.Equal(t, tt.code, code, "%v: %s", tt.args, errb.String())
		for _, w := range tt.want {
			assert.True(t, strings.Contains(errb.String(), w), "%v: %q lacks %q", tt.args, errb.String(), w)
		}
	}
	assert.Equal(t, 10*time.Second, runTimeout(1, time.Minute))
	assert.Equal(t, 30*time.Second, runTimeout(10, time.Minute))
	assert.Equal(t, time.Minute, runTimeout(100, time.Minute))
}
