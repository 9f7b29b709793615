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

func TestPrintsPlan(t *testing.T) {
	inv := filepath.Join(t.TempDir(), "inv.json")
	require.NoError(t, os.WriteFile(inv, []byte(`{"servers":[{"id":"a","dpid":"1","port":1,"cpu_cores":8,"ram_mb":16000,"nic_bps":1e9}],
		"vms":[{"id":"v","ip":"10.0.0.1","server":"a","vcpus":1,"ram_mb":100,"cpu_util":0.5}]}`), 0o644))
	var out, errb bytes.Buffer
	code := run([]string{"--inventory", inv, "--of-listen", "127.0.0.1:0", "--interval", "50ms", "--plans", "1", "--policy", "balance"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	var plan map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &plan))
	assert.Equal(t, "balance", plan["policy"])
	assert.Equal(t, map[string]any{"v": "a"}, plan["assignment"])

	assert.Equal(t, 2, run([]string{"--of-listen", "127.0.0.1:0"}, &out, &errb))
	assert.Equal(t, 2, run([]string{"--inventory", inv, "--policy", "x"}, &out, &errb))
}
