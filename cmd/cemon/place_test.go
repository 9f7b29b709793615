package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runPlaceArgs(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := mainWithArgs(append([]string{"place"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPlaceCommandJSON(t *testing.T) {
	for _, pol := range []string{"consolidate", "balance", "traffic-aware", "cpu-best-fit", "cpu-balance"} {
		code, out, errs := runPlaceArgs("--inventory", "testdata/place/small.json", "--policy", pol, "--json")
		require.Equal(t, 0, code, errs)
		var got map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		for _, k := range []string{"policy", "assignment", "servers_used", "peak_cpu", "peak_ram", "peak_nic",
			"shortfall_bps", "cross_server_bps", "interference_pairs", "moves"} {
			assert.Contains(t, got, k, pol)
		}
		assert.Equal(t, pol, got["policy"])
		assert.Len(t, got["assignment"], 4)
	}
	// traffic-aware keeps the shop on one server: only the external traffic
	// leaves it.
	code, out, _ := runPlaceArgs("--inventory", "testdata/place/small.json", "--policy", "traffic-aware", "--json")
	require.Equal(t, 0, code)
	var plan struct {
		Assignment map[string]string `json:"assignment"`
		Cross      float64           `json:"cross_server_bps"`
		Moves      []struct{ VM, From, To string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	assert.Equal(t, plan.Assignment["web1"], plan.Assignment["db"])
	assert.Equal(t, plan.Assignment["web2"], plan.Assignment["db"])
	assert.Zero(t, plan.Cross)
	assert.NotEmpty(t, plan.Moves)
}

func TestPlaceCommandErrors(t *testing.T) {
	dir := t.TempDir()
	small, err := os.ReadFile("testdata/place/small.json")
	require.NoError(t, err)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	// A VM that fits nowhere: exit 1, named.
	big := bytes.Replace(small, []byte(`"id": "batch", "ip": "10.0.0.4", "server": "a", "vcpus": 4`),
		[]byte(`"id": "batch", "ip": "10.0.0.4", "server": "a", "vcpus": 40`), 1)
	code, _, errs := runPlaceArgs("--inventory", write("big.json", string(big)), "--policy", "balance")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, `"batch"`)
	// A malformed file: exit 1, the field named.
	bad := bytes.Replace(small, []byte(`"cpu_util": 0.9`), []byte(`"cpu_util": 9`), 1)
	code, _, errs = runPlaceArgs("--inventory", write("bad.json", string(bad)))
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "vms[3].cpu_util")
	code, _, errs = runPlaceArgs("--inventory", write("trail.json", string(small)+"{}"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "trailing")
	code, _, _ = runPlaceArgs("--inventory", filepath.Join(dir, "missing.json"))
	assert.Equal(t, 1, code)
	code, _, errs = runPlaceArgs("--inventory", "testdata/place/small.json", "--policy", "best")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "--policy")
	code, _, _ = runPlaceArgs()
	assert.Equal(t, 2, code)
	code, _, _ = runPlaceArgs("-h")
	assert.Equal(t, 0, code)
}

func TestPlaceCommandTable(t *testing.T) {
	code, out, errs := runPlaceArgs("--generate", "--policy", "all")
	require.Equal(t, 0, code, errs)
	for _, p := range []string{"consolidate", "balance", "traffic-aware", "cpu-best-fit", "cpu-balance"} {
		assert.Contains(t, out, p)
	}
}
