package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cemon-sdn/cemon/mininet/ofemu"
	"github.com/cemon-sdn/cemon/topology"
)

// This file is `cemon cbench -mode poll`: emulated switches wired as a generated
// topology, a reactive load of flows that cemon installs, then polling rounds
// measured from both sides, then a link and a switch going down.

// pollBenchConfig is one run of the polling benchmark.
type pollBenchConfig struct {
	Topology    string        // topology.ParseSpec
	Seed        uint64        // for the topology and the flows
	Hosts       int           // hosts per switch
	HostPorts   int           // host ports per switch
	Flows       int           // flows to install
	Rounds      int           // polling rounds measured
	Interval    time.Duration // cemon's polling interval
	Outstanding int           // PACKET_INs outstanding per switch while loading
	Rate        float64       // traffic of every entry, bit/s
	LoadTimeout time.Duration
	Down        bool     // measure a link and a switch going down
	CemonArgs   []string // more flags for the cemon that is started
	CPUProfile  string   // file for this process's CPU profile over the polling rounds
}

// roundLine is a "polling round" log record of cemon.
type roundLine struct {
	Msg       string  `json:"msg"`
	Strategy  string  `json:"strategy"`
	TookMS    float64 `json:"took_ms"`
	Requests  int     `json:"requests"`
	Skipped   int     `json:"skipped"`
	Failed    int     `json:"failed"`
	Readings  int     `json:"readings"`
	Unmatched int     `json:"unmatched"`
	Flows     int     `json:"flows"`
	SettleMS  float64 `json:"settle_ms"`
	// the settle phase's parts: the round's switch list (the collector's lock
	// included), the snapshots, waiting for the scheme's work, swapping it in
	SwitchesMS  float64 `json:"switches_ms"`
	SnapshotMS  float64 `json:"snapshot_ms"`
	SolveWaitMS float64 `json:"solve_wait_ms"`
	SwapMS      float64 `json:"swap_ms"`
	PlanMS      float64 `json:"plan_ms"`
	SendMS      float64 `json:"send_ms"`
	ApplyMS     float64 `json:"apply_ms"`
	// what cemon's process allocated on the heap, and the garbage collections it
	// completed, since the round before's log
	AllocMB  float64 `json:"alloc_mb"`
	GCCycles uint64  `json:"gc_cycles"`
}

// controllerProc is the cemon under test: its OpenFlow address, its process id
// (for CPU and memory; the harness's own when it runs in the same process), and its
// polling rounds as it logs them.
type controllerProc struct {
	addr    string
	pid     int
	rounds  <-chan roundLine
	wait    func() error
	stop    func()
	ownProc bool // cemon runs inside the harness's process
}

// watchLog reads cemon's JSON log and passes its polling rounds on.
func watchLog(r io.Reader, out chan<- roundLine) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"polling round"`) {
			continue
		}
		var rl roundLine
		if json.Unmarshal(line, &rl) == nil && rl.Msg == "polling round" {
			select {
			case out <- rl:
			default: // nobody is listening yet: only the latest rounds matter
			}
		}
	}
}

// cemonArgs are the flags the benchmark runs cemon with. LLDP probes go out every 30 s
// rather than every second: with a thousand switches a round of probes is some 10,000
// PACKET_OUTs and 6,000 PACKET_INs, and while flows are being installed on a loaded
// machine a probe's PACKET_IN queues behind the others; one answered more than 3.5
// intervals late drops its link and tears down the flows over it. (A link change no
// longer rebuilds the path graph, but at 1 s probes, niced on a machine at load 6, only
// 18,061 of 100,000 flows stayed installed; see BENCHMARKS.md.) Rounds are logged at
// info level (-log-rounds), so that cemon writes no debug line per flow.
func cemonArgs(c pollBenchConfig) []string {
	return append([]string{"-of-listen", "127.0.0.1:0", "-api-listen", "", "-persist=false", "-packet-in-budget", "0",
		"-lldp-interval", "30s",
		"-log-level", "info", "-log-rounds", "-log-format", "json", "-poll-interval", c.Interval.String(), "-polling", "mcps"}, c.CemonArgs...)
}

// spawnCemon starts this binary's `run` in a child process.
func spawnCemon(ctx context.Context, c pollBenchConfig, stderr io.Writer) (*controllerProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, append([]string{"run"}, cemonArgs(c)...)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	rounds := make(chan roundLine, 4)
	go watchLog(io.TeeReader(errPipe, filterWriter{stderr}), rounds)
	addr, err := listenAddr(out)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return &controllerProc{addr: addr, pid: cmd.Process.Pid, rounds: rounds, wait: cmd.Wait,
		stop: func() { _ = cmd.Process.Signal(os.Interrupt) }}, nil
}

// inProcessCemon runs cemon in this process (for tests): CPU and memory figures are
// then the harness's and cemon's together.
func inProcessCemon(ctx context.Context, c pollBenchConfig) (*controllerProc, error) {
	ctx, cancel := context.WithCancel(ctx)
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		code := runController(ctx, cemonArgs(c), outW, errW)
		outW.Close()
		errW.Close()
		if code != 0 {
			done <- fmt.Errorf("cemon run exited with %d", code)
			return
		}
		done <- nil
	}()
	rounds := make(chan roundLine, 4)
	go watchLog(errR, rounds)
	addr, err := listenAddr(outR)
	if err != nil {
		cancel()
		return nil, err
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	return &controllerProc{addr: addr, pid: os.Getpid(), rounds: rounds, ownProc: true,
		wait: func() error { return <-done }, stop: cancel}, nil
}

// filterWriter passes on cemon's warnings and errors, and its polling scheme
// rebuilds (a rebuild's solve is part of the next round's time).
type filterWriter struct{ w io.Writer }

func (f filterWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"polling scheme rebuilt"`) {
			_, _ = io.WriteString(f.w, "cemon: "+line)
		}
	}
	return len(b), nil
}

// listenAddr reads cemon's "OpenFlow 1.0 on tcp:ADDR" line.
func listenAddr(r io.Reader) (string, error) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if i := strings.Index(line, "OpenFlow 1.0 on "); i >= 0 {
			s := strings.TrimSpace(line[i+len("OpenFlow 1.0 on "):])
			if j := strings.Index(s, ":"); j >= 0 {
				s = s[j+1:]
			}
			return s, nil
		}
		if err != nil {
			return "", fmt.Errorf("cemon did not say where it listens: %w", err)
		}
	}
}

// procUsage is a process's CPU time so far and resident memory, from /proc.
func procUsage(pid int) (cpu time.Duration, rssBytes uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 22 {
		return 0, 0, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	rssPages, _ := strconv.ParseUint(f[21], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / hz, rssPages * uint64(os.Getpagesize()), nil
}

// pollRound is one measured polling round.
type pollRound struct {
	TookMS        float64 `json:"took_ms"`
	Requests      int     `json:"requests"`
	Skipped       int     `json:"skipped"`
	Readings      int     `json:"readings"`
	CemonFlows    int     `json:"cemon_flows"`
	FlowsRead     int     `json:"flows_read"` // by the emulator's account: flows with an entry listed in the round's replies
	FlowsOnSwitch int     `json:"flows_on_switches"`
	BytesToSw     uint64  `json:"bytes_to_switches"` // since the previous round ended
	BytesFromSw   uint64  `json:"bytes_from_switches"`
	Seconds       float64 `json:"seconds"`
	CemonCPU      float64 `json:"cemon_cpu_seconds"`
	EmuCPU        float64 `json:"emulator_cpu_seconds"`
	CheckCPU      float64 `json:"harness_check_cpu_seconds"` // the harness's count of flows listed after the round before, in this round's window
	CemonRSS      uint64  `json:"cemon_rss_bytes"`
	CemonAllocMB  float64 `json:"cemon_alloc_mb"` // heap allocated by cemon since the round before's end, by its own count
	CemonGCs      uint64  `json:"cemon_gc_cycles"`
}

type downResult struct {
	What     string  `json:"what"`
	Deletes  uint64  `json:"deletes"`
	LastMS   float64 `json:"last_delete_ms"` // from the event to the last FLOW_MOD deletion the switches received
	Answered bool    `json:"answered"`
}

type pollBenchResult struct {
	Switches      int          `json:"switches"`
	Links         int          `json:"links"`
	Hosts         int          `json:"hosts"`
	Flows         int          `json:"flows"`
	Entries       int          `json:"entries"`
	LoadSeconds   float64      `json:"load_seconds"`
	Rounds        []pollRound  `json:"rounds"`
	Down          []downResult `json:"down,omitempty"`
	CemonRSS      uint64       `json:"cemon_rss_bytes"`
	SameProcess   bool         `json:"same_process"`
	AllRead       bool         `json:"every_flow_read_every_round"`
	AllInInterval bool         `json:"every_round_within_interval"`
}

// roundWait is how long the benchmark waits for cemon's next round line: five
// intervals and 10 s, plus 1 s per 10,000 flows (at a million flows on a loaded
// machine one scheme rebuild alone takes tens of seconds).
func roundWait(c pollBenchConfig) time.Duration {
	return c.Interval*5 + 10*time.Second + time.Duration(c.Flows/10000)*time.Second
}

// pollBench runs the benchmark against ctl.
func pollBench(ctx context.Context, c pollBenchConfig, ctl *controllerProc, log io.Writer) (pollBenchResult, error) {
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x5851f42d4c957f2d))
	g, err := topology.ParseSpec(c.Topology, rng)
	if err != nil {
		return pollBenchResult{}, err
	}
	var listing atomic.Pointer[flowReads] // set once the flows are installed
	n, err := ofemu.New(ofemu.Config{Controller: ctl.addr, Graph: g, HostPorts: c.HostPorts, Tick: time.Second,
		Traffic: ofemu.ConstantTraffic(c.Rate, 1000), Listed: func(ck uint64) {
			if r := listing.Load(); r != nil {
				r.list(ck)
			}
		}})
	if err != nil {
		return pollBenchResult{}, err
	}
	if err := n.Start(ctx); err != nil {
		return pollBenchResult{}, err
	}
	defer n.Close()
	res := pollBenchResult{Switches: g.NumNodes(), Links: len(g.Edges()), SameProcess: ctl.ownProc}
	fmt.Fprintf(log, "%d switches, %d links connected; waiting for link discovery\n", res.Switches, res.Links)
	// Every link port must have carried an LLDP probe each way before paths exist.
	deadline := time.Now().Add(2 * time.Minute)
	for n.LinkPortsProbed() < 2*res.Links {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("links: %d of %d link ports probed; switches without a probe: %v", n.LinkPortsProbed(), 2*res.Links,
				n.Unprobed())
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return res, err
		}
	}
	if err := sleep(ctx, time.Second); err != nil {
		return res, err
	}
	hosts := n.Hosts(c.Hosts)
	res.Hosts = len(hosts)
	if err := n.Announce(ctx, hosts, 0, time.Minute); err != nil {
		return res, err
	}
	flows := make([]ofemu.Flow, c.Flows)
	for i := range flows {
		src, dst := rng.IntN(len(hosts)), rng.IntN(len(hosts))
		for hosts[dst].DPID == hosts[src].DPID && hosts[dst].Port == hosts[src].Port {
			dst = rng.IntN(len(hosts)) // a frame is never sent back out of the port it came in by
		}
		flows[i] = ofemu.Flow{Src: src, Dst: dst, SrcPort: uint16(1024 + i%60000), DstPort: uint16(5000 + i/60000)}
	}
	fmt.Fprintf(log, "%d hosts known; installing %d flows\n", len(hosts), len(flows))
	lr, err := n.Load(ctx, hosts, flows, c.Outstanding, c.LoadTimeout, func(a uint64) {
		fmt.Fprintf(log, "  %d flows answered\n", a)
	})
	res.LoadSeconds = lr.Seconds
	if err != nil {
		return res, err
	}
	cookies := map[uint64]struct{}{}
	n.Cookies(func(_, ck uint64) {
		res.Entries++
		cookies[ck] = struct{}{}
	})
	res.Flows = len(cookies)
	reads := newFlowReads(cookies)
	clear(cookies)
	if reads.hook() {
		listing.Store(reads)
	}
	fmt.Fprintf(log, "%d of %d PACKET_INs answered; %d flows installed in %.1f s (%.0f/s): %d entries; polling\n",
		lr.Answered, lr.Sent, res.Flows, lr.Seconds, float64(res.Flows)/lr.Seconds, res.Entries)
	// Rounds that began while the load was still running do not count.
	for drained := false; !drained; {
		select {
		case <-ctl.rounds:
		default:
			drained = true
		}
	}
	emuCPU, _ := cpuClock()
	cpu0, _, _ := procUsage(ctl.pid)
	e0 := emuCPU()
	t0 := n.Traffic()
	w0 := time.Now()
	reads.check(n.ReadCounts)
	if c.CPUProfile != "" {
		stop, err := startCPUProfile(c.CPUProfile)
		if err != nil {
			return res, err
		}
		defer stop()
	}
	res.AllRead, res.AllInInterval = true, true
	warm := 2                   // the first rounds after the load still take in the last flows
	var lastCheck time.Duration // the harness's check after the round before (its CPU within this round's window)
	for len(res.Rounds) < c.Rounds {
		var rl roundLine
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case rl = <-ctl.rounds:
		case <-time.After(roundWait(c)):
			return res, errors.New("no polling round logged")
		}
		cpu1, rss, _ := procUsage(ctl.pid)
		e1 := emuCPU()
		t1 := n.Traffic()
		w1 := time.Now()
		// Which flows did the round's replies list? The check's CPU is the harness's:
		// it is taken on its own thread and left out of the emulator's figure (the
		// switches go on answering meanwhile, and their CPU counts).
		var onSwitch int
		check := threadCPU(func() { onSwitch = reads.check(n.ReadCounts) })
		r := pollRound{TookMS: rl.TookMS, Requests: rl.Requests, Skipped: rl.Skipped, Readings: rl.Readings,
			CemonFlows: rl.Flows, FlowsRead: onSwitch, FlowsOnSwitch: reads.flows,
			BytesToSw: t1.BytesIn - t0.BytesIn, BytesFromSw: t1.BytesOut - t0.BytesOut, Seconds: w1.Sub(w0).Seconds(),
			CemonCPU: (cpu1 - cpu0).Seconds(), EmuCPU: e1.Sub(e0).Seconds(), CheckCPU: lastCheck.Seconds(), CemonRSS: rss,
			CemonAllocMB: rl.AllocMB, CemonGCs: rl.GCCycles}
		cpu0, e0, t0, w0 = cpu1, e1.Add(check), t1, w1
		lastCheck = check
		fmt.Fprintf(log, "round: %.0f ms (settle %.0f [switches %.0f, snapshots %.0f, solve %.0f, swap %.0f], plan %.0f, send %.0f, apply %.0f), %d requests, %d readings of %d flows (cemon), %d of %d flows listed (switches), "+
			"%.1f MB to / %.1f MB from the switches in %.2f s, CPU cemon %.2f s emulator %.2f s (harness's check %.2f s), cemon RSS %.0f MB, allocated %.0f MB, %d GCs\n",
			r.TookMS, rl.SettleMS, rl.SwitchesMS, rl.SnapshotMS, rl.SolveWaitMS, rl.SwapMS, rl.PlanMS, rl.SendMS, rl.ApplyMS, r.Requests, r.Readings, r.CemonFlows, r.FlowsRead, r.FlowsOnSwitch, float64(r.BytesToSw)/1e6,
			float64(r.BytesFromSw)/1e6, r.Seconds, r.CemonCPU, r.EmuCPU, r.CheckCPU, float64(rss)/(1<<20), r.CemonAllocMB, r.CemonGCs)
		if warm > 0 {
			warm--
			continue
		}
		res.Rounds = append(res.Rounds, r)
		res.CemonRSS = max(res.CemonRSS, rss)
		if r.FlowsRead < r.FlowsOnSwitch || r.Readings < r.FlowsOnSwitch || r.Skipped > 0 {
			res.AllRead = false
		}
		if time.Duration(r.TookMS*float64(time.Millisecond)) > c.Interval {
			res.AllInInterval = false
		}
	}
	if c.Down {
		res.Down = append(res.Down, linkDown(ctx, n, rng, log), switchDown(ctx, n, log))
	}
	return res, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// awaitDeletes waits until the switches have received no FLOW_MOD deletion for a
// second (at most 60 s) and reports the deletions since before and when the last came.
func awaitDeletes(ctx context.Context, n *ofemu.Network, before ofemu.Traffic, start time.Time, what string) downResult {
	r := downResult{What: what}
	last := before.Deletes
	quiet := time.Now()
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); {
		if sleep(ctx, 50*time.Millisecond) != nil {
			break
		}
		t := n.Traffic()
		if t.Deletes != last {
			last, quiet = t.Deletes, time.Now()
			continue
		}
		if time.Since(quiet) > time.Second && t.Deletes > before.Deletes {
			r.Deletes, r.LastMS, r.Answered = t.Deletes-before.Deletes, float64(t.LastDelete.Sub(start).Microseconds())/1000, true
			return r
		}
		if time.Since(quiet) > 10*time.Second {
			break
		}
	}
	return r
}

// linkDown takes a random link down (both ports report it) and times the controller's
// clean-up: the FLOW_MOD deletions of the flows over it.
func linkDown(ctx context.Context, n *ofemu.Network, rng *rand.Rand, log io.Writer) downResult {
	sws := n.Switches()
	for range 100 {
		s := sws[rng.IntN(len(sws))]
		for _, p := range s.LinkPorts() {
			peer, pp, _ := s.Peer(p)
			before := n.Traffic()
			start := time.Now()
			if s.PortDown(p) != nil || peer.PortDown(pp) != nil {
				continue
			}
			r := awaitDeletes(ctx, n, before, start, fmt.Sprintf("link %016x:%d-%016x:%d down", s.DPID, p, peer.DPID, pp))
			fmt.Fprintf(log, "%s: %d deletions, the last %.1f ms after the port status\n", r.What, r.Deletes, r.LastMS)
			return r
		}
	}
	return downResult{What: "link down: no link found"}
}

// switchDown disconnects the switch with the most entries and times the clean-up of
// the flows through it.
func switchDown(ctx context.Context, n *ofemu.Network, log io.Writer) downResult {
	var s *ofemu.Switch
	entries := -1
	for _, x := range n.Switches() {
		if k := x.Stats().Entries; k > entries {
			s, entries = x, k
		}
	}
	before := n.Traffic()
	start := time.Now()
	s.Disconnect()
	r := awaitDeletes(ctx, n, before, start, fmt.Sprintf("switch %016x down (%d entries)", s.DPID, entries))
	fmt.Fprintf(log, "%s: %d deletions, the last %.1f ms after the disconnect\n", r.What, r.Deletes, r.LastMS)
	return r
}

// runPollBench is the -mode poll entry of cbench.
func runPollBench(ctx context.Context, c pollBenchConfig, asJSON bool, stdout, stderr io.Writer) int {
	ctl, err := spawnCemon(ctx, c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "cbench: %v\n", err)
		return 1
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctl.stop()
			_ = ctl.wait()
		})
	}
	defer stop()
	res, err := pollBench(ctx, c, ctl, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "cbench: %v\n", err)
		return 1
	}
	printPollSummary(stdout, c, res, asJSON)
	return 0
}

func printPollSummary(w io.Writer, c pollBenchConfig, res pollBenchResult, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(w, string(b))
		return
	}
	var took, cpuC, cpuE, secs float64
	var maxTook float64
	var to, from, gcs uint64
	var alloc float64
	for _, r := range res.Rounds {
		alloc += r.CemonAllocMB
		gcs += r.CemonGCs
		took += r.TookMS
		maxTook = max(maxTook, r.TookMS)
		cpuC += r.CemonCPU
		cpuE += r.EmuCPU
		secs += r.Seconds
		to += r.BytesToSw
		from += r.BytesFromSw
	}
	k := float64(len(res.Rounds))
	fmt.Fprintf(w, "summary: %d switches, %d links, %d hosts, %d flows (%d entries), %s every %v, %d rounds: "+
		"round %.0f ms mean, %.0f ms max; every flow read every round: %v; every round within the interval: %v; "+
		"control channel %.1f MB/s to the switches, %.1f MB/s from them; CPU cemon %.0f %%, emulator %.0f %% (of one core); "+
		"cemon RSS %.0f MB = %.0f B per flow, allocated %.0f MB and %.1f GCs a round\n",
		res.Switches, res.Links, res.Hosts, res.Flows, res.Entries, "mcps", c.Interval, len(res.Rounds),
		took/k, maxTook, res.AllRead, res.AllInInterval, float64(to)/secs/1e6, float64(from)/secs/1e6,
		100*cpuC/secs, 100*cpuE/secs, float64(res.CemonRSS)/(1<<20), float64(res.CemonRSS)/float64(max(res.Flows, 1)),
		alloc/k, float64(gcs)/k)
	for _, d := range res.Down {
		fmt.Fprintf(w, "%s: %d deletions, last %.1f ms after the event\n", d.What, d.Deletes, d.LastMS)
	}
}

// flowReads counts, from one check to the next, the flows that flow statistics
// replies listed: those with an entry listed again since. cemon numbers its flows from
// 1 in the low bits of their cookies, so the counts are kept in a slice indexed from
// the lowest cookie when the cookies are that dense, and counted as the emulated
// switches list the entries (hook, list); otherwise the check walks the switches'
// tables and sums each flow's counts in a map. At a million flows on five million
// entries, a map of sums took about 0.6 s of the harness's CPU a round and the walk
// about 0.8 s, beside cemon on the same cores.
type flowReads struct {
	flows  int
	base   uint64
	dense  bool
	hooked bool             // the counts come from list (dense only)
	slot   map[uint64]int32 // cookie to index when not dense
	known  []bool           // the cookies present at the start (dense)
	listed []uint32         // hooked: entries of the flow listed so far, added atomically by list
	// last and now: listings of the flow's entries at the last check and at this one
	// (summed over its entries when walked)
	last, now []uint32
}

func newFlowReads(cookies map[uint64]struct{}) *flowReads {
	r := &flowReads{flows: len(cookies)}
	if len(cookies) == 0 {
		return r
	}
	lo, hi := uint64(math.MaxUint64), uint64(0)
	for ck := range cookies {
		lo, hi = min(lo, ck), max(hi, ck)
	}
	size := len(cookies)
	if span := hi - lo + 1; span <= uint64(4*len(cookies)+1024) {
		r.dense, r.base, size = true, lo, int(span)
		r.known = make([]bool, size)
		for ck := range cookies {
			r.known[ck-lo] = true
		}
	} else {
		r.slot = make(map[uint64]int32, len(cookies))
		for ck := range cookies {
			r.slot[ck] = int32(len(r.slot))
		}
	}
	r.last, r.now = make([]uint32, size), make([]uint32, size)
	return r
}

// hook makes the counts come from list, if the cookies are dense; it says whether
// they do. Call it before list is first called.
func (r *flowReads) hook() bool {
	if r.dense {
		r.hooked = true
		r.listed = make([]uint32, len(r.known))
	}
	return r.hooked
}

// list counts one listing of an entry with cookie ck (ofemu.Config.Listed), from any
// goroutine.
func (r *flowReads) list(ck uint64) {
	if i, ok := r.index(ck); ok {
		atomic.AddUint32(&r.listed[i], 1)
	}
}

// index returns the slot of cookie ck, false if it was not present at the start.
func (r *flowReads) index(ck uint64) (int, bool) {
	if r.dense {
		i := ck - r.base
		if i >= uint64(len(r.known)) || !r.known[i] {
			return 0, false
		}
		return int(i), true
	}
	i, ok := r.slot[ck]
	return int(i), ok
}

// check returns how many flows were listed since the last check, from the counts
// list added or, not hooked, from the switches' counts (ofemu.Network.ReadCounts).
func (r *flowReads) check(counts func(fn func(cookie uint64, reads uint32))) int {
	if r.hooked {
		for i := range r.now {
			r.now[i] = atomic.LoadUint32(&r.listed[i])
		}
	} else {
		clear(r.now)
		counts(func(ck uint64, k uint32) {
			if i, ok := r.index(ck); ok {
				r.now[i] += k
			}
		})
	}
	read := 0
	for i, k := range r.now {
		if k > r.last[i] {
			read++
		}
	}
	r.last, r.now = r.now, r.last
	return read
}

// startCPUProfile starts this process's CPU profile into file; stop ends it.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("emulator CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("emulator CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
