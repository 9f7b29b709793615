package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDispatch covers the subcommand tables cemon and cemon sim share.
func TestDispatch(t *testing.T) {
	var ran []string
	cs := commandSet{
		"alpha": {name: "alpha", summary: "the first", run: func(_ context.Context, args []string, _, _ io.Writer) int {
			ran = append(ran, args...)
			return 7
		}},
		"be": {name: "be", summary: "the second"},
	}
	use := func(w io.Writer) { cs.list(w) }
	tests := []struct {
		name    string
		args    []string
		code    int
		errText string
	}{
		{"runs the command with the rest", []string{"alpha", "x", "y"}, 7, ""},
		{"no command", nil, 2, "  alpha  the first\n  be     the second\n"},
		{"help", []string{"-h"}, 0, "alpha  the first"},
		{"unknown", []string{"gamma"}, 2, "tool: unknown thing \"gamma\"\n  alpha"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ran = nil
			var out, errb bytes.Buffer
			code := cs.dispatch(context.Background(), "tool", "thing", use, tc.args, &out, &errb)
			require.Equal(t, tc.code, code)
			assert.Contains(t, errb.String(), tc.errText)
			if code == 7 {
				assert.Equal(t, []string{"x", "y"}, ran)
			}
		})
	}
}

func TestMainUsageAndFlagSets(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 2, mainWithArgs(nil, &out, &errb))
	for _, c := range []string{"cbench", "ofp-print", "run", "scheme", "sim"} {
		assert.Contains(t, errb.String(), "  "+c+" ")
	}
	for _, args := range [][]string{{"run", "-h"}, {"scheme", "-h"}, {"ofp-print", "-h"}, {"cbench", "-h"}, {"sim", "mcps", "-h"}} {
		errb.Reset()
		require.Equal(t, 0, mainWithArgs(args, &out, &errb), args)
		assert.Contains(t, errb.String(), "usage: cemon "+args[0], args)
		assert.Contains(t, errb.String(), "\nflags:\n", args)
	}
}
