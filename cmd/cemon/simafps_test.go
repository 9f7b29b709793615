package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeSmallTrace writes a CSV trace: two UDP flows, one steady and one that stops.
func writeSmallTrace(t *testing.T) string {
	var b strings.Builder
	b.WriteString("time_ns,flow_id,bytes\n")
	for ms := 0; ms < 8000; ms += 2 {
		fmt.Fprintf(&b, "%d,udp:10.0.0.1:4000>10.0.0.3:5201,1000\n", ms*1_000_000)
		if ms < 4000 {
			fmt.Fprintf(&b, "%d,udp:10.0.0.2:4001>10.0.0.4:5202,500\n", ms*1_000_000+1)
		}
	}
	p := filepath.Join(t.TempDir(), "t.csv")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

func TestSimAFPSJSON(t *testing.T) {
	p := writeSmallTrace(t)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := mainWithArgs([]string{"sim", "afps", "--trace", p, "--task", "link", "--json", "--out", out}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	var got []afpsJSON
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &got))
	require.Len(t, got, 5)
	names := []string{}
	for _, r := range got {
		names = append(names, r.Algorithm)
		assert.Positive(t, r.Requests)
		assert.Equal(t, r.Requests*296, r.Bytes, "every request a poll-single under the paper's model")
		assert.GreaterOrEqual(t, r.Error, 0.0)
	}
	assert.Equal(t, []string{"fixed", "pt", "ewmat", "swt", "payless"}, names)
	for _, f := range []string{"summary.csv", "series.csv", "requests.csv", "value.png", "requests.png", "cost_error.png", "report.md"} {
		st, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err, f)
		assert.Positive(t, st.Size(), f)
	}
	// matrix and heavy, a subset of algorithms, Markdown on stdout
	for _, task := range []string{"matrix", "heavy"} {
		stdout.Reset()
		code = mainWithArgs([]string{"sim", "afps", "--trace", p, "--task", task, "--algorithms", "fixed,swt"}, &stdout, &stderr)
		require.Equal(t, 0, code, stderr.String())
		assert.Contains(t, stdout.String(), "| swt |")
		assert.NotContains(t, stdout.String(), "| pt |")
	}
}

func TestSimAFPSBadFlags(t *testing.T) {
	p := writeSmallTrace(t)
	for _, args := range [][]string{
		{"sim", "afps"},
		{"sim", "afps", "--trace", p, "--task", "nope"},
		{"sim", "afps", "--trace", p, "--algorithms", "fixed,nope"},
		{"sim", "afps", "--trace", p, "--min", "10s", "--max", "1s"},
		{"sim", "afps", "--trace", p, "extra"},
	} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 2, mainWithArgs(args, &stdout, &stderr), "%v", args)
		assert.Contains(t, stderr.String(), "cemon sim afps")
	}
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 1, mainWithArgs([]string{"sim", "afps", "--trace", filepath.Join(t.TempDir(), "missing.csv")}, &stdout, &stderr))
	bad := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("time_ns,flow_id,bytes\n1,nope,3\n"), 0o644))
	stderr.Reset()
	assert.Equal(t, 1, mainWithArgs([]string{"sim", "afps", "--trace", bad}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "line 2")
}
