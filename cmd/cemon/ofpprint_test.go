package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The printers are tested in ofproto/ofptext; these tests cover the command: its
// arguments, standard input and exit statuses.

func runOfp(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	if stdin != "" {
		old := ofpPrintStdin
		ofpPrintStdin = strings.NewReader(stdin)
		defer func() { ofpPrintStdin = old }()
	}
	var out, errb bytes.Buffer
	code := runOfpPrint(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

const hello = "0100000800000001" // OFPT_HELLO, xid 1

func TestOfpPrintCommand(t *testing.T) {
	tests := []struct {
		name    string
		stdin   string
		args    []string
		code    int
		out     string
		errText string
	}{
		{"arguments, one message each", "", []string{hello, "0100000800000002"}, 0, "OFPT_HELLO (xid=0x2)", ""},
		{"standard input", "# a capture\n" + hello + "\n", []string{"-"}, 0, "OFPT_HELLO (xid=0x1)", ""},
		{"json", "", []string{"--json", hello}, 0, `{"type":"OFPT_HELLO"`, ""},
		{"help", "", []string{"-h"}, 0, "", "usage: cemon ofp-print"},
		{"no arguments", "", nil, 2, "", "usage: cemon ofp-print"},
		{"bad flag", "", []string{"--yaml", hello}, 2, "", "yaml"},
		{"bad hex", "", []string{"0100000z"}, 1, "", "cemon ofp-print: input line 1, column 8"},
		{"good messages before a bad one", "", []string{hello + "\n0100000400000002"}, 1, "OFPT_HELLO (xid=0x1)", "message 2"},
		{"empty standard input", "\n", []string{"-"}, 1, "", "no input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runOfp(t, tc.stdin, tc.args...)
			require.Equal(t, tc.code, code, "exit status; stderr %s", errs)
			assert.Contains(t, out, tc.out)
			assert.Contains(t, errs, tc.errText)
		})
	}
}

func TestOfpPrintCommandJSONLines(t *testing.T) {
	code, out, errs := runOfp(t, "", "--json", hello+hello)
	require.Equal(t, 0, code, errs)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	for _, l := range lines {
		assert.True(t, json.Valid([]byte(l)), "invalid JSON %q", l)
	}
}
