package mininet

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/migration"
	"github.com/cemon-sdn/cemon/mininet/qemu"
	"github.com/cemon-sdn/cemon/qmp"
)

// The live-migration testbed: topology servers,2,1 (servers s2 and s3, each with
// one Mininet host h1, h2 on port 1 and an uplink on port 2 to the core switch
// s1), cemon routing every flow. Each host runs QEMU guests in its network
// namespace, so a migration's TCP stream from h1 to h2 crosses s2, s1 and s3
// as a flow cemon installs and measures. The hosts' interfaces are limited by
// tc (a token bucket on each host's egress), so that the link, not QEMU's
// bandwidth cap alone, bounds the stop-and-copy as well.

// wireHeaderBytes is what each TCP segment of the stream carries besides QEMU's
// bytes, as the switch counts it: Ethernet (14), IPv4 (20) and TCP with the
// timestamp option (32).
const wireHeaderBytes = 14 + 20 + 32

// migPort is the TCP port the destination guest listens on.
const migPort = 4444

type qemuBed struct {
	t        testing.TB
	c        *Cemon
	h        *Harness
	dir      string
	linkMbit float64
	src, dst bedHost
}

type bedHost struct {
	name, ip, netns string
	dpid            string
}

// skipUnlessQEMU skips where the testbed cannot run: no Mininet, or QEMU and
// the guest image not prepared (scripts/qemu.sh).
func skipUnlessQEMU(t testing.TB) {
	t.Helper()
	if why := qemu.Missing(qemu.Prefix()); why != "" {
		t.Skip("QEMU live-migration testbed cannot run: " + why)
	}
}

// startQemuBed brings up cemon and the network, with each host's egress
// limited to linkMbit Mbit/s.
func startQemuBed(t *testing.T, ctx context.Context, linkMbit float64) *qemuBed {
	t.Helper()
	c, err := StartCemon(ctx, CemonOptions{
		Bin: cemonBin(t),
		Args: []string{"--idle-timeout", "3s", "--poll-interval", "1s",
			"--link-capacity", fmt.Sprintf("%gMbit/s", linkMbit), "--data-dir", t.TempDir()},
		Stdout: logFile(t, "cemon.stdout"),
		Stderr: logFile(t, "cemon.stderr"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("cemon did not shut down cleanly: %v", err)
		}
	})
	h, err := StartHarness(ctx, HarnessOptions{Topo: "servers,2,1", Controller: c.OFAddr, Stderr: logFile(t, "harness.stderr")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("harness teardown: %v", err)
		}
	})
	if err := h.WaitConnected(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if why := poll(20*time.Second, func() string {
		var ls []api.Link
		if err := c.Get("/api/v1/links", &ls); err != nil {
			return err.Error()
		}
		if len(ls) != len(h.Info.Links) {
			return fmt.Sprintf("%d links discovered, want %d", len(ls), len(h.Info.Links))
		}
		return ""
	}); why != "" {
		t.Fatal(why)
	}
	if _, err := h.PingAll(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	b := &qemuBed{t: t, c: c, h: h, dir: t.TempDir(), linkMbit: linkMbit}
	hosts := map[string]HostInfo{}
	for _, hi := range h.Info.Hosts {
		hosts[hi.Name] = hi
	}
	for _, x := range []struct {
		name string
		to   *bedHost
	}{{"h1", &b.src}, {"h2", &b.dst}} {
		hi, ok := hosts[x.name]
		if !ok {
			t.Fatalf("no host %s in %+v", x.name, h.Info.Hosts)
		}
		// The host's shell is a process in its namespace.
		out, err := h.HostCmd(x.name, "echo $$", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("%s: pid %q: %v", x.name, out, err)
		}
		*x.to = bedHost{name: x.name, ip: hi.IP, netns: fmt.Sprintf("/proc/%d/ns/net", pid), dpid: hi.DPID}
		// Burst of 10 ms at the rate, at least 64 kB; the queue holds 50 ms.
		burst := max(int(linkMbit*1e6/8/100), 64<<10)
		cmd := fmt.Sprintf("tc qdisc replace dev %s-eth0 root tbf rate %gmbit burst %d latency 50ms && echo ok", x.name, linkMbit, burst)
		if out, err := h.HostCmd(x.name, cmd, 10*time.Second); err != nil || !strings.Contains(out, "ok") {
			t.Fatalf("%s: %s: %q %v", x.name, cmd, out, err)
		}
	}
	return b
}

// linkStats returns cemon's directed link loads on the stream's path: from
// h1's server switch up to the core (s2 port 2 -> s1) and down to h2's (s1 -> s3).
func (b *qemuBed) linkStats() (map[string]api.LinkStats, error) {
	var ls []api.LinkStats
	if err := b.c.Get("/api/v1/stats/links", &ls); err != nil {
		return nil, err
	}
	out := map[string]api.LinkStats{}
	for _, l := range ls {
		switch {
		case l.SrcDPID == b.src.dpid:
			out["up"] = l
		case l.DstDPID == b.dst.dpid:
			out["down"] = l
		}
	}
	return out, nil
}

// freeMBs is the free bandwidth cemon measures on the stream's path (the
// link's capacity less the larger of the two links' loads), in MB/s.
func (b *qemuBed) freeMBs() float64 {
	ls, err := b.linkStats()
	if err != nil {
		b.t.Fatal(err)
	}
	load := max(ls["up"].RateBps, ls["down"].RateBps)
	return migration.BpsToMBs(max(b.linkMbit*1e6-load, 0))
}

// migRun is one migration on the testbed.
type migRun struct {
	MemMiB       int     `json:"mem_mib"`
	SetDirtyMBs  float64 `json:"set_dirty_mb_s"`
	LinkMbit     float64 `json:"link_mbit_s"`
	DirtyMBs     float64 `json:"dirty_mb_s"` // measured before the move (the guest's own count)
	FreeMBs      float64 `json:"free_mb_s"`  // cemon's measured free bandwidth before the move
	RateMBs      float64 `json:"rate_mb_s"`  // R given to QEMU and the model
	Status       string  `json:"status"`     // completed, cancelled, failed
	TimeoutS     float64 `json:"timeout_s"`  // when it was to be cancelled
	Record       migration.Record
	DirtySync    int64   `json:"dirty_sync_count"`
	QEMUDirtyMBs float64 `json:"qemu_dirty_mb_s"` // QEMU's last dirty page rate, for comparison
	NormalMB     float64 `json:"normal_mb"`       // non-zero pages sent in the first pass
	FlowBytes    uint64  `json:"flow_bytes"`      // cemon's count for the stream's flow
	FlowPackets  uint64  `json:"flow_packets"`
	FlowPayload  int64   `json:"flow_payload"`  // FlowBytes less the headers of its segments
	LinkIdleBps  float64 `json:"link_idle_bps"` // the uplink's load before the move
	LinkPeakBps  float64 `json:"link_peak_bps"` // and its highest while the move ran
	DestVerified bool    `json:"dest_verified"` // two full passes verified on the destination
	DestFailed   bool    `json:"dest_failed"`   // a verification failed there
	DestLine     string  `json:"dest_line"`
	PredictedS   float64 `json:"predicted_s"` // the timeout's basis (wws model)
	// QEMUDirtyBeforeMBs is QEMU's own measure of the dirty rate before the
	// move (calc-dirty-rate, page sampling; whole MiB/s), 0 if unavailable.
	QEMUDirtyBeforeMBs float64 `json:"qemu_dirty_before_mb_s,omitempty"`
	// DowntimeMB is what QEMU says it sent while the guest was stopped.
	DowntimeMB float64 `json:"downtime_mb,omitempty"`
	// GuestDowntimeS is how long the guest ran nowhere: from the source's
	// STOP event to the destination's RESUME (qmp.Pause), 0 if not seen.
	GuestDowntimeS float64 `json:"guest_downtime_s,omitempty"`
	// Load1 is the machine's one-minute load average when the run started.
	Load1 float64 `json:"load1,omitempty"`
	// Load1End is the one-minute load average when the move ended.
	Load1End float64 `json:"load1_end,omitempty"`
	// Started is when the run started (UTC).
	Started time.Time `json:"started,omitzero"`
	// CPU, in cores: the source QEMU's use over the 4 s before the move (its
	// vCPU running the guest program) and over the move, and the whole
	// machine's busy time over the same two windows (0: not recorded).
	SrcCPUBefore  float64 `json:"src_cpu_before,omitempty"`
	SrcCPUMove    float64 `json:"src_cpu_move,omitempty"`
	HostCPUBefore float64 `json:"host_cpu_before,omitempty"`
	HostCPUMove   float64 `json:"host_cpu_move,omitempty"`
	// Nice is the testbed's niceness at the run's start and AutogroupNice its
	// scheduling autogroup's (what decides its share against other sessions).
	Nice          int `json:"nice"`
	AutogroupNice int `json:"autogroup_nice"`
}

// cpuSample is a process's CPU time and the machine's busy time, in seconds,
// at one instant.
type cpuSample struct {
	at         time.Time
	proc, busy float64
}

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on Linux).
const clockTicks = 100

// sampleCPU reads pid's CPU time (utime + stime of all its threads) and the
// machine's non-idle time from /proc.
func sampleCPU(pid int) cpuSample {
	s := cpuSample{at: time.Now()}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the command name in parentheses; utime and stime are
		// the 14th and 15th of the line.
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
			f := strings.Fields(string(b)[i+1:])
			if len(f) > 13 {
				u, _ := strconv.ParseFloat(f[11], 64)
				k, _ := strconv.ParseFloat(f[12], 64)
				s.proc = (u + k) / clockTicks
			}
		}
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
		for i, v := range f[1:] {
			x, _ := strconv.ParseFloat(v, 64)
			if i != 3 && i != 4 && i < 8 { // not idle, iowait, guest
				s.busy += x / clockTicks
			}
		}
	}
	return s
}

// cores is the process's and the machine's CPU use between a and b, in cores.
func (a cpuSample) cores(b cpuSample) (proc, busy float64) {
	d := b.at.Sub(a.at).Seconds()
	if d <= 0 {
		return 0, 0
	}
	return (b.proc - a.proc) / d, (b.busy - a.busy) / d
}

// loadAvg1 reads the one-minute load average.
func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// migrate boots a guest on h1 and a destination on h2, measures the guest's
// dirty rate and cemon's free bandwidth, migrates with R = min(capMBs, free)
// and a timeout of min(maxTimeout, 3 × predicted for memMB), and checks the
// stream in cemon's statistics and the memory at the destination.
func (b *qemuBed) migrate(ctx context.Context, name string, memMiB int, dirty, capMBs, memMB float64, maxTimeout time.Duration) migRun {
	t := b.t
	t.Helper()
	run := migRun{MemMiB: memMiB, SetDirtyMBs: dirty, LinkMbit: b.linkMbit, Load1: loadAvg1(), Started: time.Now().UTC(),
		AutogroupNice: autogroupNice()}
	run.Nice, _ = syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	run.Nice = 20 - run.Nice // the system call answers 20 − niceness
	src, err := qemu.Start(ctx, qemu.Config{Dir: b.dir, Name: name + "-src", MemMiB: memMiB, DirtyMBs: dirty, Netns: b.src.netns})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Stop()
	dst, err := qemu.Start(ctx, qemu.Config{Dir: b.dir, Name: name + "-dst", MemMiB: memMiB, DirtyMBs: dirty, Netns: b.dst.netns, Incoming: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Stop()
	st0, err := src.WaitReady(ctx, 150*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The dirty rate, measured before the move: pages the guest wrote over 4 s,
	// and QEMU's sampled measure over 3 s of the same window.
	t0 := time.Now()
	c0 := sampleCPU(src.Pid())
	if qc, err := qmp.Dial(ctx, src.QMP); err == nil {
		if d, err := qc.MeasureDirtyRate(ctx, 3*time.Second, 4096); err == nil {
			run.QEMUDirtyBeforeMBs = d
		} else {
			t.Logf("%s: QEMU's dirty rate: %v", name, err)
		}
		qc.Close()
	}
	select {
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	case <-time.After(time.Until(t0.Add(4 * time.Second))):
	}
	st1, _ := qemu.ReadStatus(src.Console)
	c1 := sampleCPU(src.Pid())
	run.SrcCPUBefore, run.HostCPUBefore = c0.cores(c1)
	run.DirtyMBs = float64(st1.Written-st0.Written) * migration.PageBytes / 1e6 / time.Since(t0).Seconds()
	run.FreeMBs = b.freeMBs()
	// R is what the free bandwidth carries of QEMU's bytes: a full segment of
	// 1448 bytes takes 1514 on the link.
	run.RateMBs = min(capMBs, run.FreeMBs*1448/1514)
	if memMB <= 0 {
		// Unknown: the guest's whole RAM (the program's memory and the kernel's).
		memMB = float64(memMiB+96) * (1 << 20) / 1e6
	}
	in := migration.Input{MemMB: memMB, DirtyMBs: run.DirtyMBs, RateMBs: run.RateMBs}
	pred, err := migration.Predict(in, migration.Config{Kind: migration.WWS, Profile: migration.QEMU()})
	if err != nil {
		t.Fatal(err)
	}
	run.PredictedS = pred.TotalTimeS
	timeout := min(max(time.Duration(3*pred.TotalTimeS*float64(time.Second)), 10*time.Second), maxTimeout)
	run.TimeoutS = timeout.Seconds()
	if ls, err := b.linkStats(); err == nil {
		run.LinkIdleBps = ls["up"].RateBps
	}

	// Follow the uplink's load while the move runs.
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			if ls, err := b.linkStats(); err == nil {
				mu.Lock()
				run.LinkPeakBps = max(run.LinkPeakBps, ls["up"].RateBps)
				mu.Unlock()
			}
		}
	}()
	var normal int64
	mv := qmp.Move{Source: src.QMP, Dest: dst.QMP, URI: fmt.Sprintf("tcp:%s:%d", b.dst.ip, migPort),
		Params:  qmp.Parameters{MaxBandwidth: int64(run.RateMBs * 1e6), DowntimeLimit: 300 * time.Millisecond},
		Timeout: timeout, Period: 50 * time.Millisecond,
		Samples: func(_ time.Time, i qmp.Info) {
			if i.RAM != nil && i.RAM.DirtySyncCount <= 1 {
				normal = i.RAM.NormalBytes
			}
		}}
	moveStart := time.Now()
	c2 := sampleCPU(src.Pid())
	final, rounds, err := mv.Run(ctx)
	run.SrcCPUMove, run.HostCPUMove = c2.cores(sampleCPU(src.Pid()))
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	run.Status = final.Status
	run.Load1End = loadAvg1()
	run.Record = qmp.Record(name, final, rounds.Trace(final, run.DirtyMBs), in)
	if final.RAM != nil {
		run.DirtySync = final.RAM.DirtySyncCount
		run.DowntimeMB = float64(final.RAM.DowntimeBytes) / 1e6
		run.QEMUDirtyMBs = float64(final.RAM.DirtyPagesRate*max(final.RAM.PageSize, migration.PageBytes)) / 1e6
	}
	run.NormalMB = float64(normal) / 1e6
	run.GuestDowntimeS = rounds.Pause().Duration().Seconds()
	if run.Status == "completed" {
		// The destination runs on and verifies its memory: two more full passes.
		before, _ := qemu.ReadStatus(dst.Console)
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			st, _ := qemu.ReadStatus(dst.Console)
			run.DestFailed, run.DestLine = st.Failed, st.Line
			if st.Passes >= before.Passes+2 || st.Failed {
				run.DestVerified = !st.Failed
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	// The stream's flows: h1 to h2's port, begun since the move started (earlier
	// moves on the testbed used the same addresses and port); their final counts
	// once they have expired (3 s idle) and cemon has read the switches'
	// flow-removed messages.
	src.Stop()
	dst.Stop()
	why := poll(30*time.Second, func() string {
		var flows []api.Flow
		if err := b.c.Get("/api/v1/flows", &flows); err != nil {
			return err.Error()
		}
		var bytes, packets uint64
		n := 0
		for _, f := range flows {
			if f.Match.NwSrc != b.src.ip || f.Match.NwDst != b.dst.ip || f.Match.TpDst != migPort || f.Start.Before(moveStart.Add(-2*time.Second)) {
				continue
			}
			var fs api.FlowStats
			if err := b.c.Get(fmt.Sprintf("/api/v1/stats/flows/%d", f.ID), &fs); err != nil {
				return err.Error()
			}
			if fs.Active {
				return "the stream's flow is still active"
			}
			bytes, packets, n = bytes+fs.Bytes, packets+fs.Packets, n+1
		}
		if n == 0 {
			return fmt.Sprintf("no flow %s -> %s:%d", b.src.ip, b.dst.ip, migPort)
		}
		run.FlowBytes, run.FlowPackets = bytes, packets
		run.FlowPayload = int64(bytes) - int64(packets)*wireHeaderBytes
		return ""
	})
	if why != "" {
		t.Errorf("%s: %s", name, why)
	}
	return run
}
