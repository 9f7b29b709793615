package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cemon-sdn/cemon/ofproto/ofptext"
)

func init() {
	register(command{
		name:    "ofp-print",
		summary: "decode OpenFlow 1.0 messages from hex and print them (text or JSON)",
		run:     runOfpPrint,
	})
}

// ofpPrintStdin is where "cemon ofp-print -" reads; tests replace it.
var ofpPrintStdin io.Reader = os.Stdin

// maxOfpPrintInput bounds what ofp-print reads from stdin (hex characters).
const maxOfpPrintInput = 64 << 20

func runOfpPrint(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ofp-print", "ofp-print [--json] HEX... | -", stderr,
		"Decodes OpenFlow 1.0 messages given in hex: one message per line, or a",
		"continuous stream of several; whitespace and 0x prefixes are ignored, as",
		"are lines starting with '#'. '-' reads the hex from standard input.")
	asJSON := fs.Bool("json", false, "print one JSON object per message (OpenFlow 1.0 field names)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	var text string
	if fs.NArg() == 1 && fs.Arg(0) == "-" {
		b, err := io.ReadAll(io.LimitReader(ofpPrintStdin, maxOfpPrintInput+1))
		if err != nil {
			fmt.Fprintf(stderr, "cemon ofp-print: reading standard input: %v\n", err)
			return 1
		}
		if len(b) > maxOfpPrintInput {
			fmt.Fprintf(stderr, "cemon ofp-print: standard input is larger than %d bytes\n", maxOfpPrintInput)
			return 1
		}
		text = string(b)
	} else {
		text = strings.Join(fs.Args(), "\n")
	}
	if err := ofptext.PrintHex(stdout, text, *asJSON); err != nil {
		fmt.Fprintf(stderr, "cemon ofp-print: %v\n", err)
		return 1
	}
	return 0
}
