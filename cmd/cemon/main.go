// Command cemon is an OpenFlow 1.0 controller for cost-effective flow monitoring.
//
// Usage:
//
//	cemon <command> [flags]
//
// Each command lives in its own file and registers itself in init.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sort"
	"syscall"
)

// command is one cemon subcommand. run returns the process exit status.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = commandSet{}

// register adds a subcommand; each command file calls it from init.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("cemon: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// commandSet is a table of subcommands: cemon's commands, or cemon sim's models.
type commandSet map[string]command

// list prints the table, one command per line, sorted by name.
func (cs commandSet) list(w io.Writer) {
	names := make([]string, 0, len(cs))
	width := 0
	for n := range cs {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s %s\n", width+1, n, cs[n].summary)
	}
}

// dispatch runs the command args[0] names with the rest of args. With no command,
// or -h, it prints usage to stderr and returns 2 (no command) or 0 (-h); an unknown
// command is reported as what (a "command", a "model") and returns 2.
func (cs commandSet) dispatch(ctx context.Context, prefix, what string, usage func(io.Writer), args []string,
	stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown %s %q\n", prefix, what, args[0])
		usage(stderr)
		return 2
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cemon <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	commands.list(w)
	fmt.Fprintln(w, "\nRun 'cemon <command> -h' for a command's flags.")
}

func main() {
	os.Exit(mainWithArgs(os.Args[1:], os.Stdout, os.Stderr))
}

func mainWithArgs(args []string, stdout, stderr io.Writer) int {
	if path := os.Getenv("CEMON_CPUPROFILE"); path != "" {
		// A CPU profile of the whole command, for measuring (cemon cbench -start-cemon
		// passes the environment on to the cemon it starts).
		if f, err := os.Create(path); err != nil {
			fmt.Fprintf(stderr, "cemon: CEMON_CPUPROFILE: %v\n", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "cemon: CEMON_CPUPROFILE: %v\n", err)
			f.Close()
		} else {
			defer func() {
				pprof.StopCPUProfile()
				f.Close()
			}()
		}
	}
	if path := os.Getenv("CEMON_MUTEXPROFILE"); path != "" {
		// Where goroutines waited for locks (one event in 5 sampled).
		runtime.SetMutexProfileFraction(5)
		defer func() {
			if f, err := os.Create(path); err == nil {
				pprof.Lookup("mutex").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return commands.dispatch(ctx, "cemon", "command", usage, args, stdout, stderr)
}

// newFlagSet returns the flag set of a command: errors and -h go to stderr, and its
// usage prints "usage: cemon " and synopsis, the about lines, then the flags.
func newFlagSet(name, synopsis string, stderr io.Writer, about ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cemon "+synopsis)
		if len(about) > 0 {
			fmt.Fprintln(stderr)
			for _, l := range about {
				fmt.Fprintln(stderr, l)
			}
		}
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs. When ok is false the command returns code at
// once: 0 after -h (fs printed its usage), 2 on a bad flag (fs reported it).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}
