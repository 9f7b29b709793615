package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cemon-sdn/cemon/mininet/ofemu"
)

func init() {
	register(command{
		name:    "cbench",
		summary: "benchmark a controller's flow set-up with emulated switches (cbench's method)",
		run:     runCbench,
	})
}

func runCbench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("cbench", "cbench [flags]", stderr,
		"Connects emulated OpenFlow 1.0 switches to a controller, sends PACKET_INs for new",
		"hosts and counts the responses (FLOW_MOD adds and non-LLDP PACKET_OUTs) per second.",
		"With -mode poll it starts cemon itself, wires the switches as -topology (cemon discovers",
		"the links by LLDP), has it install -flows flows reactively, and measures its MCPS polling",
		"rounds (time, flows read, control-channel bytes, CPU of cemon and of the emulator, cemon's",
		"resident memory), then a link and a switch going down.",
		"With -start-cemon and -vs-ovs it starts cemon and ovs-testcontroller itself and",
		"measures both side by side in one run, alternating -rounds rounds of each.")
	var pc pollBenchConfig
	var cemonFlags string
	fs.StringVar(&pc.Topology, "topology", "er:1000:0.006", "-mode poll: topology spec (er:N:P, waxman:N:A:B, fattree:K, linear:N, ring:N)")
	fs.Uint64Var(&pc.Seed, "seed", 1, "-mode poll: seed of the topology and the flows")
	fs.IntVar(&pc.Hosts, "hosts", 10, "-mode poll: hosts per switch")
	fs.IntVar(&pc.HostPorts, "host-ports", 4, "-mode poll: host ports per switch")
	fs.IntVar(&pc.Flows, "flows", 1000000, "-mode poll: flows to install")
	fs.DurationVar(&pc.Interval, "interval", time.Second, "-mode poll: cemon's polling interval")
	fs.Float64Var(&pc.Rate, "rate", 1e6, "-mode poll: traffic of every entry, bit/s")
	fs.DurationVar(&pc.LoadTimeout, "load-timeout", 30*time.Minute, "-mode poll: longest time to install the flows")
	fs.BoolVar(&pc.Down, "down", true, "-mode poll: then take a link and a switch down and time the clean-up")
	fs.StringVar(&cemonFlags, "cemon-flags", "", "-mode poll: more flags for the cemon it starts, space-separated")
	fs.StringVar(&pc.CPUProfile, "emulator-cpuprofile", "", "-mode poll: write this process's CPU profile (the emulated switches; the harness's own checks are a few milliseconds a round) over the measured rounds to `file` (pprof)")
	var c ofemu.CbenchConfig
	var mode, ovsPath, cemonProfile, cemonPath, vsCemon string
	var asJSON, startCemon, vsOVS bool
	var rounds int
	var pause time.Duration
	var logDir string
	var fresh bool
	fs.StringVar(&c.Controller, "controller", "127.0.0.1:6653", "controller `address` (host:port)")
	fs.IntVar(&c.Switches, "switches", 16, "emulated switches")
	fs.IntVar(&c.MACs, "macs", 1000, "hosts behind each switch")
	fs.StringVar(&mode, "mode", "latency", "latency (one PACKET_IN outstanding per switch), throughput (as many as the connection takes) or poll (polling at scale)")
	fs.IntVar(&c.Outstanding, "outstanding", 0, "PACKET_INs outstanding per switch in latency mode; default 1")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "time before counting starts")
	fs.DurationVar(&c.Duration, "duration", 5*time.Second, "counted time")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fs.BoolVar(&c.Unbuffered, "unbuffered", false, "send PACKET_INs without a buffer id (the whole frame; a learning switch answers with FLOW_MOD + PACKET_OUT); by default each packet is buffered, as cbench's fakeswitch does")
	learn := fs.Bool("learn", true, "before the warm-up, every host sends one ARP reply so that the controller knows every destination (cbench's --learn-dstmac)")
	fs.BoolVar(&startCemon, "start-cemon", false, "start this cemon (cemon run on a free loopback port, API off, persistence off) and measure it instead of -controller")
	fs.BoolVar(&vsOVS, "vs-ovs", false, "also start ovs-testcontroller on a free loopback port and measure it side by side")
	fs.StringVar(&ovsPath, "ovs-testcontroller", "ovs-testcontroller", "ovs-testcontroller `program` for -vs-ovs")
	fs.StringVar(&cemonPath, "cemon-program", "", "with -start-cemon: the cemon `program` to start (default: this one; another build, to compare)")
	fs.StringVar(&vsCemon, "vs-cemon", "", "also start this other cemon `program` (another build) and measure it side by side")
	fs.StringVar(&cemonProfile, "cemon-cpuprofile", "", "with -start-cemon: write the started cemon's CPU profile to `file` and its lock contention profile to file.mutex (pprof); -vs-cemon's to file.vs and file.vs.mutex")
	fs.IntVar(&rounds, "rounds", 1, "rounds per controller; the controllers alternate and the medians are reported (-mode poll: polling rounds to measure, default 10)")
	fs.StringVar(&logDir, "logs", "", "write the output of the controllers the run starts to `directory`/<name>.log (default: discarded)")
	fs.BoolVar(&fresh, "fresh", false, "restart every controller the run started before each of its rounds (a fresh process: nothing left of the last round)")
	fs.DurationVar(&pause, "pause", 2*time.Second, "wait between rounds, so that a controller has torn the last round's switches down before the same datapath ids connect again")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch mode {
	case "poll":
		pc.Outstanding, pc.Rounds = c.Outstanding, 10
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "rounds" {
				pc.Rounds = rounds
			}
		})
		pc.CemonArgs = strings.Fields(cemonFlags)
		if pc.Hosts < 1 || pc.HostPorts < 1 || pc.Flows < 1 || pc.Rounds < 1 || pc.Interval <= 0 || pc.Rate < 0 {
			fmt.Fprintln(stderr, "cbench: -hosts, -host-ports, -flows, -rounds and -interval must be positive")
			return 2
		}
		return runPollBench(ctx, pc, asJSON, stdout, stderr)
	case "latency":
		if c.Outstanding == 0 {
			c.Outstanding = 1
		}
	case "throughput":
		if c.Outstanding != 0 {
			fmt.Fprintln(stderr, "cbench: -outstanding applies to latency mode only")
			return 2
		}
	default:
		fmt.Fprintf(stderr, "cbench: -mode %q: want latency, throughput or poll\n", mode)
		return 2
	}
	c.NoLearn = !*learn
	if c.Switches <= 0 || c.MACs <= 0 || c.Outstanding < 0 || rounds <= 0 {
		fmt.Fprintln(stderr, "cbench: -switches, -macs, -outstanding and -rounds must be positive")
		return 2
	}
	var targets []*cbenchTarget
	defer func() {
		for _, t := range targets {
			t.stop()
		}
	}()
	if startCemon {
		exe, err := os.Executable()
		if cemonPath != "" {
			exe, err = cemonPath, nil
		}
		if err != nil {
			fmt.Fprintf(stderr, "cbench: %v\n", err)
			return 1
		}
		var env []string
		if cemonProfile != "" {
			env = append(env, "CEMON_CPUPROFILE="+cemonProfile, "CEMON_MUTEXPROFILE="+cemonProfile+".mutex")
		}
		t, err := startTarget(ctx, "cemon", logDir, env, func(addr string) []string {
			return []string{exe, "run", "-of-listen", addr, "-api-listen", "", "-persist=false", "-log-level", "warn"}
		})
		if err != nil {
			fmt.Fprintf(stderr, "cbench: %v\n", err)
			return 1
		}
		targets = append(targets, t)
	} else {
		targets = append(targets, &cbenchTarget{name: "controller", addr: c.Controller})
	}
	if vsCemon != "" {
		var env []string
		if cemonProfile != "" {
			env = append(env, "CEMON_CPUPROFILE="+cemonProfile+".vs", "CEMON_MUTEXPROFILE="+cemonProfile+".vs.mutex")
		}
		t, err := startTarget(ctx, "cemon "+vsCemon, logDir, env, func(addr string) []string {
			return []string{vsCemon, "run", "-of-listen", addr, "-api-listen", "", "-persist=false", "-log-level", "warn"}
		})
		if err != nil {
			fmt.Fprintf(stderr, "cbench: %v\n", err)
			return 1
		}
		targets = append(targets, t)
	}
	if vsOVS {
		t, err := startTarget(ctx, "ovs-testcontroller", logDir, nil, func(addr string) []string {
			host, port, _ := net.SplitHostPort(addr)
			return []string{ovsPath, "ptcp:" + port + ":" + host}
		})
		if err != nil {
			fmt.Fprintf(stderr, "cbench: %v\n", err)
			return 1
		}
		targets = append(targets, t)
	}
	load0 := loadAvg()
	for r := 0; r < rounds; r++ {
		for i, t := range targets {
			if r > 0 || i > 0 {
				select {
				case <-ctx.Done():
					return 1
				case <-time.After(pause):
				}
			}
			if fresh && r > 0 && t.argv != nil {
				t.stop()
				if err := t.start(ctx); err != nil {
					fmt.Fprintf(stderr, "cbench: %v\n", err)
					return 1
				}
			}
			cc := c
			cc.Controller = t.addr
			// Fresh dpids every round: a controller may still be tearing the last
			// round's switches down.
			cc.FirstDPID = 1 + uint64(r*c.Switches)
			// CPU times over the counted window only.
			var cpu0, cpu1 procCPU
			var self0, self1, selfSys0, selfSys1 time.Duration
			var cpuOK0, cpuOK1 bool
			cc.Counting = func(start bool) {
				if start {
					cpu0, cpuOK0 = t.cpu()
					self0, selfSys0 = selfCPU(), selfSysCPU()
					return
				}
				cpu1, cpuOK1 = t.cpu()
				self1, selfSys1 = selfCPU(), selfSysCPU()
			}
			res, err := ofemu.Cbench(ctx, cc)
			if err != nil {
				fmt.Fprintf(stderr, "cbench: %s: %v\n", t.name, err)
				return 1
			}
			round := cbenchRound{Result: res, EmulatorCPU: (self1 - self0).Seconds(), EmulatorSysCPU: (selfSys1 - selfSys0).Seconds()}
			if cpuOK0 && cpuOK1 {
				round.ControllerCPU = (cpu1.user + cpu1.sys - cpu0.user - cpu0.sys).Seconds()
				round.ControllerSysCPU = (cpu1.sys - cpu0.sys).Seconds()
			}
			t.rounds = append(t.rounds, round)
			if !asJSON && (rounds > 1 || len(targets) > 1) {
				fmt.Fprintf(stdout, "round %d %s: %.0f responses/s, %d disconnected%s, %d buffer errors\n", r+1, t.name,
					res.PerSecond, res.Disconnected, round.cpuText(), res.BufferErrors)
			}
		}
	}
	load1 := loadAvg()
	if asJSON {
		out := map[string]any{"mode": mode, "switches": c.Switches, "macs": c.MACs, "rounds": rounds,
			"loadavg_before": load0, "loadavg_after": load1}
		var cs []map[string]any
		for _, t := range targets {
			last := t.rounds[len(t.rounds)-1].Result
			cs = append(cs, map[string]any{"name": t.name, "address": t.addr,
				"responses_per_second":       t.median(func(r cbenchRound) float64 { return r.Result.PerSecond }),
				"cpu_us_per_response":        t.median(cbenchRound.cpuPerResponse),
				"kernel_cpu_us_per_response": t.median(cbenchRound.kernelPerResponse),
				"packet_ins_per_second":      t.median(cbenchRound.packetInRate),
				"answered_per_second":        t.median(cbenchRound.answeredRate), "buffered": !c.Unbuffered,
				"disconnected": t.disconnected(), "per_round": t.rounds,
				// the last round's detail, as a single run reports it
				"responses": last.Responses, "packet_ins": last.PacketIns, "seconds": last.Seconds,
				"per_switch": last.PerSwitch})
		}
		out["controllers"] = cs
		if len(targets) == 1 {
			// The single-controller shape of earlier versions.
			for k, v := range cs[0] {
				out[k] = v
			}
		}
		b, _ := json.Marshal(out)
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	for _, t := range targets {
		last := t.rounds[len(t.rounds)-1].Result
		if len(targets) == 1 && rounds == 1 {
			fmt.Fprintf(stdout, "%s mode, %d switches: %.0f responses/s (%d responses, %d PACKET_INs in %.1f s), %d switches disconnected\n",
				mode, c.Switches, last.PerSecond, last.Responses, last.PacketIns, last.Seconds, last.Disconnected)
			continue
		}
		fmt.Fprintf(stdout, "%s mode, %d switches, %s: median %.0f responses/s (%.0f PACKET_INs/s sent",
			mode, c.Switches, t.name, t.median(func(r cbenchRound) float64 { return r.Result.PerSecond }),
			t.median(cbenchRound.packetInRate))
		if last.AnswerCounted {
			fmt.Fprintf(stdout, ", %.0f answered", t.median(cbenchRound.answeredRate))
		}
		fmt.Fprintf(stdout, ") over %d rounds, %d switches disconnected in all", len(t.rounds), t.disconnected())
		if v := t.median(cbenchRound.cpuPerResponse); v > 0 {
			fmt.Fprintf(stdout, ", %.1f controller CPU-µs per response (%.1f in the kernel)", v, t.median(cbenchRound.kernelPerResponse))
		}
		fmt.Fprintln(stdout)
	}
	a := targets[0].median(func(r cbenchRound) float64 { return r.Result.PerSecond })
	for _, t := range targets[1:] {
		if b := t.median(func(r cbenchRound) float64 { return r.Result.PerSecond }); b > 0 {
			fmt.Fprintf(stdout, "%s / %s: %.2f×\n", targets[0].name, t.name, a/b)
		}
	}
	fmt.Fprintf(stdout, "load average before %s, after %s\n", load0, load1)
	return 0
}

// cbenchTarget is one controller a cbench run measures, started by the run or not.
type cbenchTarget struct {
	name, addr string
	cmd        *exec.Cmd // nil when not started here
	rounds     []cbenchRound

	// how to start it (nil argv: not started here)
	logDir string
	env    []string
	argv   func(addr string) []string
}

// cbenchRound is one round against one controller.
type cbenchRound struct {
	Result           ofemu.CbenchResult
	ControllerCPU    float64 // seconds of CPU the controller process used (0: unknown)
	ControllerSysCPU float64 // the part of ControllerCPU spent in the kernel (system time)
	EmulatorCPU      float64 // seconds of CPU this process (the emulator) used
	EmulatorSysCPU   float64 // the part of EmulatorCPU spent in the kernel (0: unknown)
}

func (r cbenchRound) packetInRate() float64 {
	if r.Result.Seconds <= 0 {
		return 0
	}
	return float64(r.Result.PacketIns) / r.Result.Seconds
}

// answeredRate is the PACKET_INs answered per second (0 where not measured).
func (r cbenchRound) answeredRate() float64 {
	if r.Result.Seconds <= 0 || !r.Result.AnswerCounted {
		return 0
	}
	return float64(r.Result.Answered) / r.Result.Seconds
}

func (r cbenchRound) cpuPerResponse() float64 { return r.perResponse(r.ControllerCPU) }

// perResponse is sec seconds of the controller's CPU per response, in µs (0 where the
// controller's CPU is unknown).
func (r cbenchRound) perResponse(sec float64) float64 {
	if r.ControllerCPU <= 0 || r.Result.Responses == 0 {
		return 0
	}
	return sec * 1e6 / float64(r.Result.Responses)
}

// kernelPerResponse is the controller's system time per response in µs: the part of
// cpuPerResponse spent in the kernel (the socket reads and writes, the loopback's
// delivery to the other side, the waits and wake-ups).
func (r cbenchRound) kernelPerResponse() float64 { return r.perResponse(r.ControllerSysCPU) }

func (r cbenchRound) cpuText() string {
	emu := fmt.Sprintf("emulator %.2f CPU-s", r.EmulatorCPU)
	if r.EmulatorSysCPU > 0 {
		emu += fmt.Sprintf(" (%.2f in the kernel)", r.EmulatorSysCPU)
	}
	if r.ControllerCPU <= 0 {
		return ", " + emu
	}
	return fmt.Sprintf(", controller %.2f CPU-s (%.1f µs per response, %.1f of them in the kernel), %s", r.ControllerCPU,
		r.cpuPerResponse(), r.kernelPerResponse(), emu)
}

func (t *cbenchTarget) median(f func(cbenchRound) float64) float64 {
	v := make([]float64, 0, len(t.rounds))
	for _, r := range t.rounds {
		v = append(v, f(r))
	}
	sort.Float64s(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (t *cbenchTarget) disconnected() int {
	n := 0
	for _, r := range t.rounds {
		n += r.Result.Disconnected
	}
	return n
}

// startTarget starts a controller on a free loopback port (argv builds its command
// line from the address; env is added to the environment; its output goes to
// logDir/<name>.log when logDir is set) and waits until it accepts connections.
func startTarget(ctx context.Context, name, logDir string, env []string, argv func(addr string) []string) (*cbenchTarget, error) {
	t := &cbenchTarget{name: name, logDir: logDir, env: env, argv: argv}
	if err := t.start(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// start starts the target's controller on a fresh port.
func (t *cbenchTarget) start(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := t.argv(addr)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), t.env...)
	// Their logs would drown the report (ovs-testcontroller logs every dropped
	// connection): discarded, or kept in logDir.
	if t.logDir != "" {
		f, err := os.OpenFile(filepath.Join(t.logDir, strings.NewReplacer("/", "_", " ", "_").Replace(t.name)+".log"),
			os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close() // the child has its own descriptor
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", t.name, err)
	}
	t.addr, t.cmd = addr, cmd
	for deadline := time.Now().Add(10 * time.Second); ; {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			// A bare connection that closes without a word is refused as peer_closed
			// before any handshake; both controllers shrug it off.
			nc.Close()
			return nil
		}
		if time.Now().After(deadline) {
			t.stop()
			return fmt.Errorf("%s does not accept connections on %s: %w", t.name, addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (t *cbenchTarget) stop() {
	if t.cmd == nil || t.cmd.Process == nil {
		return
	}
	t.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() {
		t.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.cmd.Process.Kill()
		<-done
	}
	t.cmd = nil
}

// procCPU is a process's CPU time so far, in user space and in the kernel.
type procCPU struct{ user, sys time.Duration }

// cpu returns the CPU time the started controller used so far, from /proc (Linux);
// false when unknown.
func (t *cbenchTarget) cpu() (procCPU, bool) {
	if t.cmd == nil || t.cmd.Process == nil {
		return procCPU{}, false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", t.cmd.Process.Pid))
	if err != nil {
		return procCPU{}, false
	}
	// Fields after the command name (which may hold spaces) start after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return procCPU{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return procCPU{}, false
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return procCPU{}, false
	}
	const userHZ = 100 // clock ticks per second of /proc/<pid>/stat on Linux
	return procCPU{user: time.Duration(ut) * time.Second / userHZ, sys: time.Duration(st) * time.Second / userHZ}, true
}

// selfCPU is this process's CPU time, or 0 when unknown.
func selfCPU() time.Duration {
	clock, name := cpuClock()
	if name == "" {
		return 0
	}
	return time.Duration(clock().UnixNano())
}

// loadAvg is the first three fields of /proc/loadavg, or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
