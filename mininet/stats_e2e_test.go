package mininet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/collector"
)

// The statistics end-to-end run: the same iperf3 traffic (TCP and UDP flows between
// random host pairs on Abilene) under each polling strategy in turn, with the
// OpenFlow port captured by tshark. Per strategy it checks:
//
//   - wire cost: the frame bytes of OFPT_STATS_REQUEST/REPLY (flow statistics) in
//     the capture against cemon's own accounting, and mcps below every other polling
//     strategy. cemon models the requests a switch's pipeline takes together as one
//     write (they share frames) and every reply as frames of its own; when the machine
//     is busy the kernel merges back-to-back small replies into one segment (TCP
//     autocorking), which saves a frame header each. So the accounting must be within
//     2 % of the capture with the merged replies' headers counted back in, and within
//     5 % of the raw capture;
//   - per-flow accuracy: each flow's bytes as cemon reports them against its ingress
//     entry in dump-flows, within one poll interval of its traffic (plus the time the
//     dump itself took);
//   - link utilization: cemon's per-link rate (sum of flow rates), averaged over a
//     window, against port-counter deltas (dump-ports) over it, within 5 % on every
//     loaded link;
//   - traffic matrix: per host pair, the bytes cemon counted during the phase (final
//     counters from FLOW_REMOVED included) against the iperf3 senders' totals plus
//     the frame headers of their packets, within 5 %.
//
// The phase under strategy "off" polls nothing: its matrix comes from FLOW_REMOVED
// alone, which is what counts flows that start and end between polls.

// pollingScale is the size of one run.
type pollingScale struct {
	flows     int
	duration  time.Duration // of the traffic in each phase
	bandwidth string        // per flow, iperf3 -b
}

// phaseResult is what one strategy's phase measured.
type phaseResult struct {
	strategy      string
	start, end    time.Time
	acct          api.PollingUsage
	captureFrames int
	captureBytes  int64
	captureMerged int // statistics messages that shared a frame with an earlier one
	mergedReplies int // of which replies
	flowsChecked  int
	flowWorst     float64 // worst |cemon - dump-flows| as a fraction of its tolerance
	linksChecked  int
	linkWorst     float64 // worst relative link error
	pairsChecked  int
	matrixWorst   float64 // worst relative matrix error
	iperfBytes    uint64
	scheme        api.Polling // read late in the phase
	crossWorst    float64     // worst relative error of cemon's port_rate_bps
}

const (
	statsIdle     = 3 * time.Second // cemon's idle timeout in this test
	statsInterval = time.Second     // cemon's poll interval
)

var pollingStrategies = []string{"mcps", "per-flow-random", "per-flow-min", "poll-all", "off"}

// TestE2EPollingStrategies is the reduced run that make e2e does.
func TestE2EPollingStrategies(t *testing.T) {
	skipUnlessE2E(t)
	runPollingComparison(t, pollingScale{flows: 30, duration: 10 * time.Second, bandwidth: "1M"}, "")
}

// TestE2EPollingBenchmark is the full benchmark of BENCHMARKS.md ("statistics
// collection on the wire"): 200 flows, 30 s of steady traffic per strategy. It runs
// only when CEMON_POLLING_BENCH=1; the table goes to the test log and to the file
// named by CEMON_POLLING_BENCH_OUT, if set.
func TestE2EPollingBenchmark(t *testing.T) {
	if os.Getenv("CEMON_POLLING_BENCH") != "1" {
		t.Skip("full polling benchmark: set CEMON_POLLING_BENCH=1 (and CEMON_E2E=1) to run it")
	}
	skipUnlessE2E(t)
	runPollingComparison(t, pollingScale{flows: 200, duration: 30 * time.Second, bandwidth: "250K"}, os.Getenv("CEMON_POLLING_BENCH_OUT"))
}

func runPollingComparison(t *testing.T, sc pollingScale, out string) {
	if m := missingTools("tshark", "ovs-ofctl"); len(m) > 0 {
		t.Skipf("needs %v", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	t.Cleanup(cancel)
	c, err := StartCemon(ctx, CemonOptions{
		Bin: cemonBin(t),
		Args: []string{"--idle-timeout", statsIdle.String(), "--poll-interval", statsInterval.String(),
			"--polling", "off", "--port-stats-interval", statsInterval.String()},
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
	ofPort := c.OFAddr[strings.LastIndexByte(c.OFAddr, ':')+1:]
	capFile := filepath.Join(t.TempDir(), "openflow.pcap")
	stopCapture := startCapture(t, ctx, ofPort, capFile)

	h, err := StartHarness(ctx, HarnessOptions{Topo: "abilene", Controller: c.OFAddr, Stderr: logFile(t, "harness.stderr")})
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
	// Hosts make themselves known; their flows expire before the first phase.
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
	waitNoActiveFlows(t, c, 3*statsIdle)

	transfers := randomTransfers(h.Info, sc)
	var results []*phaseResult
	for i, s := range pollingStrategies {
		r := runPhase(t, c, h, s, transfers, sc)
		if i > 0 {
			results[i-1].end = r.start
		}
		results = append(results, r)
	}
	results[len(results)-1].end = time.Now()
	stopCapture()

	var poll api.Polling
	if err := c.Get("/api/v1/polling", &poll); err != nil {
		t.Fatal(err)
	}
	checkMetrics(t, c)
	for _, r := range results {
		for _, u := range poll.ByStrategy {
			if u.Strategy == r.strategy {
				r.acct = u
			}
		}
	}
	frames := readCapture(t, capFile, ofPort)
	for _, f := range frames {
		for _, r := range results {
			if !f.at.Before(r.start) && f.at.Before(r.end) {
				r.captureFrames++
				r.captureBytes += f.bytes
				r.captureMerged += f.merged
				if !f.request {
					r.mergedReplies += f.merged
				}
			}
		}
	}

	table := pollingTable(results, sc)
	t.Logf("\n%s", table)
	if out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Error(err)
		}
	}
	var mcpsBytes int64
	for _, r := range results {
		if r.strategy == "mcps" {
			mcpsBytes = r.captureBytes
		}
	}
	for _, r := range results {
		acct := int64(r.acct.WireBytesSent + r.acct.WireBytesReceived)
		if r.strategy == "off" {
			if r.captureBytes != 0 || acct != 0 {
				t.Errorf("off: %d bytes captured, %d accounted; want none", r.captureBytes, acct)
			}
		} else {
			if r.captureBytes == 0 {
				t.Errorf("%s: no statistics traffic captured", r.strategy)
				continue
			}
			unmerged := r.captureBytes + int64(r.mergedReplies)*collector.DefaultFrameOverhead
			if d := math.Abs(float64(acct-unmerged)) / float64(unmerged); d > 0.02 {
				t.Errorf("%s: cemon accounted %d wire bytes, the capture has %d with the %d merged replies' frame headers counted back in (%.2f%% apart, want within 2%%)",
					r.strategy, acct, unmerged, r.mergedReplies, 100*d)
			}
			if d := math.Abs(float64(acct-r.captureBytes)) / float64(r.captureBytes); d > 0.05 {
				t.Errorf("%s: cemon accounted %d wire bytes, the capture has %d (%.2f%% apart, want within 5%%)",
					r.strategy, acct, r.captureBytes, 100*d)
			}
			if r.strategy != "mcps" && r.captureBytes <= mcpsBytes {
				t.Errorf("%s put %d statistics bytes on the wire, mcps %d: mcps must be lowest", r.strategy, r.captureBytes, mcpsBytes)
			}
			if r.flowsChecked < sc.flows/2 {
				t.Errorf("%s: only %d flows could be checked against dump-flows", r.strategy, r.flowsChecked)
			}
			if r.linksChecked == 0 {
				t.Errorf("%s: no loaded link to check", r.strategy)
			}
		}
		if r.pairsChecked == 0 {
			t.Errorf("%s: no host pair to check the matrix on", r.strategy)
		}
	}
}

// randomTransfers draws the flows: random host pairs, each unordered pair always in
// the same direction (so that the reverse cell of the matrix carries only ACKs),
// alternately TCP and UDP.
func randomTransfers(info Info, sc pollingScale) []Transfer {
	rng := rand.New(rand.NewPCG(2026, 11))
	hosts := make([]string, len(info.Hosts))
	for i, h := range info.Hosts {
		hosts[i] = h.Name
	}
	slices.Sort(hosts)
	orient := map[[2]string]bool{}
	var ts []Transfer
	for i := 0; i < sc.flows; i++ {
		a, b := hosts[rng.IntN(len(hosts))], hosts[rng.IntN(len(hosts))]
		for a == b {
			b = hosts[rng.IntN(len(hosts))]
		}
		k := [2]string{min(a, b), max(a, b)}
		fwd, ok := orient[k]
		if !ok {
			fwd = rng.IntN(2) == 0
			orient[k] = fwd
		}
		src, dst := k[0], k[1]
		if !fwd {
			src, dst = dst, src
		}
		// A 50 ms pacing timer: iperf3's 1 ms default costs each sender about 2 % of
		// a core, more than hundreds of senders can have here.
		tr := Transfer{Src: src, Dst: dst, UDP: i%2 == 1, Duration: sc.duration.Seconds(),
			Bandwidth: sc.bandwidth, Port: 20000 + i, PacingTimer: 50000}
		if !tr.UDP {
			tr.Length = "8K" // paced in small writes, not 128 KB bursts
		}
		ts = append(ts, tr)
	}
	return ts
}

// runPhase switches cemon to strategy s, runs the traffic and checks accuracy.
func runPhase(t *testing.T, c *Cemon, h *Harness, s string, ts []Transfer, sc pollingScale) *phaseResult {
	t.Helper()
	t0 := time.Now()
	midInterval(t, c)
	r := &phaseResult{strategy: s, start: time.Now()}
	defer func() { t.Logf("%s: phase took %.1fs", s, time.Since(t0).Seconds()) }()
	if err := putStrategy(c, s); err != nil {
		t.Fatal(err)
	}
	before := matrixBytes(t, c)
	// Start the transfers in batches of at most 50 so that their connection
	// set-ups (packet-ins) do not all arrive in the same instant.
	var ids []int
	for i := 0; i < len(ts); i += 50 {
		id, err := h.IperfStart(ts[i:min(i+50, len(ts))])
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if i+50 < len(ts) {
			time.Sleep(500 * time.Millisecond)
		}
	}
	started := time.Now()
	t.Logf("%s: %d transfers started in %.1fs", s, len(ts), started.Sub(r.start).Seconds())
	// Let every flow get installed and read at least twice.
	time.Sleep(min(sc.duration/4, 6*time.Second))
	if s != "off" {
		checkFlowsAgainstDump(t, c, h, r)
		checkLinksAgainstPorts(t, c, h, r, min(sc.duration/2, 15*time.Second))
	}
	if err := c.Get("/api/v1/polling", &r.scheme); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: checks done %.1fs after the traffic started", s, time.Since(started).Seconds())
	var results []TransferResult
	waitUntil := started.Add(sc.duration + 60*time.Second)
	for _, id := range ids {
		rs, err := h.IperfWait(id, max(time.Until(waitUntil), time.Second))
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, rs...)
	}
	t.Logf("%s: traffic ended %.1fs after it started", s, time.Since(started).Seconds())
	// Every flow expires and reports its final counters.
	waitNoActiveFlows(t, c, statsIdle+10*time.Second)
	t.Logf("%s: every flow expired %.1fs after the traffic started", s, time.Since(started).Seconds())
	time.Sleep(statsInterval)
	after := matrixBytes(t, c)
	checkMatrix(t, s, results, before, after, r)
	r.end = time.Now() // provisional: the next phase's start ends it
	return r
}

// midInterval waits until a polling round has just run, then half an interval, so
// that a strategy switch falls between two rounds.
func midInterval(t *testing.T, c *Cemon) {
	t.Helper()
	var p api.Polling
	if err := c.Get("/api/v1/polling", &p); err != nil {
		t.Fatal(err)
	}
	first := p.Rounds
	deadline := time.Now().Add(5 * statsInterval)
	for p.Rounds == first && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if err := c.Get("/api/v1/polling", &p); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(statsInterval / 2)
}

func putStrategy(c *Cemon, s string) error {
	body, _ := json.Marshal(map[string]string{"strategy": s})
	req, err := http.NewRequest(http.MethodPut, "http://"+c.APIAddr+"/api/v1/polling", bytes.NewReader(body))
	if err != nil {
		return err
	}
	res, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT /api/v1/polling %s: %d %s", s, res.StatusCode, b)
	}
	return nil
}

func waitNoActiveFlows(t *testing.T, c *Cemon, timeout time.Duration) {
	t.Helper()
	if why := poll(timeout, func() string {
		var fs []api.FlowStats
		if err := c.Get("/api/v1/stats/flows?state=active", &fs); err != nil {
			return err.Error()
		}
		if len(fs) > 0 {
			return fmt.Sprintf("%d flows still active", len(fs))
		}
		return ""
	}); why != "" {
		t.Fatal(why)
	}
}

func matrixBytes(t *testing.T, c *Cemon) map[[2]string]uint64 {
	t.Helper()
	var m []api.MatrixEntry
	if err := c.Get("/api/v1/stats/matrix", &m); err != nil {
		t.Fatal(err)
	}
	out := map[[2]string]uint64{}
	for _, e := range m {
		out[[2]string{e.Src, e.Dst}] = e.Bytes
	}
	return out
}

// checkFlowsAgainstDump compares each active flow's bytes in cemon with its ingress
// entry's counter in dump-flows.
func checkFlowsAgainstDump(t *testing.T, c *Cemon, h *Harness, r *phaseResult) {
	t.Helper()
	t0 := time.Now()
	dumps, err := h.DumpFlows()
	if err != nil {
		t.Fatal(err)
	}
	var fs []api.FlowStats
	if err := c.Get("/api/v1/stats/flows?state=active", &fs); err != nil {
		t.Fatal(err)
	}
	var flows []api.Flow
	if err := c.Get("/api/v1/flows?state=active", &flows); err != nil {
		t.Fatal(err)
	}
	lag := time.Since(t0)
	t.Logf("%s: dump-flows and cemon's flows read in %.1fs", r.strategy, lag.Seconds())
	byID := map[uint64]api.Flow{}
	for _, f := range flows {
		byID[f.ID] = f
	}
	names := map[string]string{}
	for _, s := range h.Info.Switches {
		names[s.DPID] = s.Name
	}
	for _, st := range fs {
		f, ok := byID[st.ID]
		if !ok || st.Readings < 2 || len(f.Path) == 0 {
			continue
		}
		cookie, err := parseCookie(f.Cookie)
		if err != nil {
			t.Fatal(err)
		}
		var dump *FlowDump
		for i, e := range dumps[names[f.Path[0]]] {
			if e.Cookie == cookie {
				dump = &dumps[names[f.Path[0]]][i]
			}
		}
		if dump == nil {
			continue
		}
		// One interval of the flow's traffic (at the larger of cemon's rate and the
		// entry's mean rate), plus what it sent while we were reading, plus two
		// frames for the packet the controller forwarded.
		rate := st.RateBps / 8
		if dump.Duration > 0 {
			rate = max(rate, float64(dump.NBytes)/dump.Duration)
		}
		tol := rate*(statsInterval+lag).Seconds() + 2*1514
		diff := math.Abs(float64(st.Bytes) - float64(dump.NBytes))
		r.flowsChecked++
		r.flowWorst = max(r.flowWorst, diff/tol)
		if diff > tol {
			t.Errorf("%s: flow %d (%s -> %s): cemon %d bytes, ingress entry %d (tolerance %.0f)",
				r.strategy, st.ID, st.Src, st.Dst, st.Bytes, dump.NBytes, tol)
		}
	}
}

var portLine = regexp.MustCompile(`port\s+"?(\w+)"?:\s+rx pkts=\d+, bytes=(\d+)[^\n]*\n\s+tx pkts=\d+, bytes=(\d+)`)

// dumpPorts reads every switch's port counters (ovs-ofctl dump-ports), in parallel.
func dumpPorts(t *testing.T, info Info) (map[string]uint64, time.Time) {
	t.Helper()
	out := map[string]uint64{} // "dpid:port" -> tx bytes
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	start := time.Now()
	for _, s := range info.Switches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := exec.Command("ovs-ofctl", "-O", "OpenFlow10", "dump-ports", s.Name).Output()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = fmt.Errorf("dump-ports %s: %v", s.Name, err)
				return
			}
			for _, m := range portLine.FindAllStringSubmatch(string(b), -1) {
				if m[1] == "LOCAL" {
					continue
				}
				tx, _ := strconv.ParseUint(m[3], 10, 64)
				out[s.DPID+":"+m[1]] = tx
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	end := time.Now()
	return out, start.Add(end.Sub(start) / 2)
}

// checkLinksAgainstPorts takes cemon's link rates, read after each polling round, over
// a window of rounds and compares their median with the transmit counters of the
// links' source ports read right after the window's first and last rounds.
func checkLinksAgainstPorts(t *testing.T, c *Cemon, h *Harness, r *phaseResult, window time.Duration) {
	t.Helper()
	var p api.Polling
	if err := c.Get("/api/v1/polling", &p); err != nil {
		t.Fatal(err)
	}
	nextRound := func(after uint64) uint64 {
		deadline := time.Now().Add(5 * statsInterval)
		for time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			if err := c.Get("/api/v1/polling", &p); err != nil {
				t.Fatal(err)
			}
			if p.Rounds != after {
				time.Sleep(30 * time.Millisecond) // the round's readings land
				return p.Rounds
			}
		}
		t.Fatalf("%s: no polling round within %v", r.strategy, 5*statsInterval)
		return 0
	}
	last := nextRound(p.Rounds)
	p1, t1 := dumpPorts(t, h.Info)
	sum := map[string]float64{}
	portSum := map[string]float64{} // cemon's own cross-check from port statistics
	portN := map[string]int{}
	samples := map[string][]float64{}
	n := 0
	for {
		last = nextRound(last)
		var ls []api.LinkStats
		if err := c.Get("/api/v1/stats/links", &ls); err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			k := fmt.Sprintf("%s:%d", l.SrcDPID, l.SrcPort)
			sum[k] += l.RateBps
			samples[k] = append(samples[k], math.Round(l.RateBps/1e3))
			if l.PortRateBps != nil {
				portSum[k] += *l.PortRateBps
				portN[k]++
			}
		}
		n++
		if time.Since(t1) >= window {
			break
		}
	}
	p2, t2 := dumpPorts(t, h.Info)
	var max float64
	rates := map[string]float64{}
	for _, l := range h.Info.Links {
		k := fmt.Sprintf("%s:%d", l.SrcDPID, l.SrcPort)
		rates[k] = float64(p2[k]-p1[k]) * 8 / t2.Sub(t1).Seconds()
		max = math.Max(max, rates[k])
	}
	for k, portRate := range rates {
		if portRate < 0.2*max || portRate < 500e3 {
			continue // not loaded
		}
		// The median of the rounds: under per-flow-random a single round now and then
		// reads every link at about half its rate (flows read at another switch of
		// their path than the round before), which the mean of six would carry.
		cemon := median(samples[k]) * 1e3
		d := math.Abs(cemon-portRate) / portRate
		r.linksChecked++
		r.linkWorst = math.Max(r.linkWorst, d)
		if d > 0.05 {
			t.Errorf("%s: link from %s: cemon %.0f bit/s from flow rates (median of %d rounds: %v kbit/s), port counters %.0f bit/s (%.1f%% apart)",
				r.strategy, k, cemon, n, samples[k], portRate, 100*d)
		}
		if portN[k] == 0 {
			t.Errorf("%s: link from %s: cemon reports no port_rate_bps", r.strategy, k)
			continue
		}
		cross := portSum[k] / float64(portN[k])
		dc := math.Abs(cross-portRate) / portRate
		r.crossWorst = math.Max(r.crossWorst, dc)
		if dc > 0.05 {
			t.Errorf("%s: link from %s: cemon's port_rate_bps %.0f bit/s, port counters %.0f bit/s (%.1f%% apart)",
				r.strategy, k, cross, portRate, 100*dc)
		}
	}
}

// checkMatrix compares the bytes cemon counted per host pair during the phase with
// the iperf3 senders' totals plus their packets' frame headers (UDP: 42 bytes a
// datagram; TCP: 66 bytes a segment of at most 1448 bytes).
func checkMatrix(t *testing.T, s string, results []TransferResult, before, after map[[2]string]uint64, r *phaseResult) {
	t.Helper()
	want := map[[2]string]float64{}
	for _, tr := range results {
		if tr.Error != "" {
			t.Errorf("%s: iperf3 %s -> %s: %s", s, tr.Src, tr.Dst, tr.Error)
			continue
		}
		k := [2]string{tr.SrcIP, tr.DstIP}
		r.iperfBytes += tr.BytesSent
		if tr.Protocol == "udp" {
			want[k] += float64(tr.BytesSent + 42*tr.PacketsSent)
		} else {
			want[k] += float64(tr.BytesSent) + 66*math.Ceil(float64(tr.BytesSent)/1448)
		}
	}
	for k, w := range want {
		got := float64(after[k] - before[k])
		d := math.Abs(got-w) / w
		r.pairsChecked++
		r.matrixWorst = math.Max(r.matrixWorst, d)
		if d > 0.05 {
			t.Errorf("%s: matrix %s -> %s: cemon %.0f bytes, iperf3 senders %.0f with headers (%.1f%% apart)",
				s, k[0], k[1], got, w, 100*d)
		}
	}
}

// checkMetrics runs promtool check metrics on cemon's /metrics, which by now carries
// every polling, link, host and matrix series.
func checkMetrics(t *testing.T, c *Cemon) {
	t.Helper()
	if m := missingTools("promtool"); len(m) > 0 {
		t.Log("promtool not installed: /metrics not checked")
		return
	}
	res, err := c.client.Get("http://" + c.APIAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", res.StatusCode, err)
	}
	for _, name := range []string{"cemon_polling_wire_bytes_total", "cemon_stats_link_utilization_ratio", "cemon_stats_matrix_bytes_total"} {
		if !bytes.Contains(body, []byte(name)) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// startCapture runs tshark on lo for the OpenFlow port until the returned function
// is called.
func startCapture(t *testing.T, ctx context.Context, port, file string) func() {
	t.Helper()
	cmd := exec.CommandContext(ctx, "tshark", "-i", "lo", "-f", "tcp port "+port, "-w", file, "-q")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 10 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	var tail bytes.Buffer
	var tailMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			tailMu.Lock()
			tail.WriteString(sc.Text() + "\n")
			tailMu.Unlock()
			if strings.Contains(sc.Text(), "Capturing on") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		tailMu.Lock()
		defer tailMu.Unlock()
		t.Fatalf("tshark did not start capturing: %s", tail.String())
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			time.Sleep(200 * time.Millisecond) // the last frames reach the file
			_ = cmd.Process.Signal(syscall.SIGINT)
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	return stop
}

type capFrame struct {
	at      time.Time
	bytes   int64
	merged  int  // flow statistics messages in the frame beyond the first
	request bool // the frame carries requests (a frame goes one way)
}

// readCapture returns the frames carrying flow statistics requests and replies, each
// with the bytes attributed to statistics: the whole frame when it carries only
// statistics messages, else those messages plus the frame's 66 bytes of headers; and
// how many of its statistics messages shared it with an earlier one.
func readCapture(t *testing.T, file, port string) []capFrame {
	t.Helper()
	out, err := exec.Command("tshark", "-r", file, "-d", "tcp.port=="+port+",openflow",
		"-Y", "openflow_1_0.type == 16 || openflow_1_0.type == 17",
		"-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,",
		"-e", "frame.time_epoch", "-e", "frame.len", "-e", "openflow_1_0.type", "-e", "openflow.length",
		"-e", "openflow.stats.type").Output()
	if err != nil {
		t.Fatalf("tshark -r: %v", err)
	}
	var frames []capFrame
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 5 {
			continue
		}
		sec, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("capture line %q: %v", line, err)
		}
		flen, _ := strconv.ParseInt(f[1], 10, 64)
		types, lens, stypes := strings.Split(f[2], ","), strings.Split(f[3], ","), strings.Split(f[4], ",")
		var statsBytes int64
		only, flowStats, merged, request := true, false, 0, false
		si := 0
		for i, ty := range types {
			if ty != "16" && ty != "17" {
				only = false
				continue
			}
			st := ""
			if si < len(stypes) {
				st = stypes[si]
			}
			si++
			if st != "1" { // not flow statistics (port statistics, say)
				only = false
				continue
			}
			if flowStats {
				merged++
			}
			flowStats, request = true, ty == "16"
			if i < len(lens) {
				n, _ := strconv.ParseInt(lens[i], 10, 64)
				statsBytes += n
			}
		}
		if !flowStats {
			continue
		}
		b := flen
		if !only {
			b = statsBytes + 66
		}
		frames = append(frames, capFrame{at: time.Unix(0, int64(sec*1e9)), bytes: b, merged: merged, request: request})
	}
	return frames
}

// pollingTable formats the results as the BENCHMARKS.md table.
func pollingTable(rs []*phaseResult, sc pollingScale) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Abilene (11 switches), %d iperf3 flows (half TCP, half UDP, %s each) for %v per strategy; poll interval %v, idle timeout %v.\n\n",
		sc.flows, sc.bandwidth, sc.duration, statsInterval, statsIdle)
	fmt.Fprintf(&b, "| strategy | stats requests | request+reply bytes on the wire (tshark) | messages sharing a frame (replies) | bytes cemon accounted | accounted vs wire (with the merged replies' headers counted back in) | scheme late in the phase: flows, poll-all + poll-single, bytes/round (lower bound, for N flows) | flows checked, worst error / tolerance | loaded links, worst error of flow rates (of cemon's port-stats rates) | host pairs, worst matrix error |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		acct := int64(r.acct.WireBytesSent + r.acct.WireBytesReceived)
		diff := "-"
		if r.captureBytes > 0 {
			unmerged := r.captureBytes + int64(r.mergedReplies)*collector.DefaultFrameOverhead
			diff = fmt.Sprintf("%+.2f%% (%+.2f%%)", 100*float64(acct-r.captureBytes)/float64(r.captureBytes),
				100*float64(acct-unmerged)/float64(unmerged))
		}
		flows, links := "-", "-"
		if r.strategy != "off" {
			flows = fmt.Sprintf("%d, %.2f", r.flowsChecked, r.flowWorst)
			links = fmt.Sprintf("%d, %.2f%% (port stats %.2f%%)", r.linksChecked, 100*r.linkWorst, 100*r.crossWorst)
		}
		scheme := "-"
		if r.strategy != "off" {
			scheme = fmt.Sprintf("%d, %d + %d, %d (%d, %d)", r.scheme.Flows, len(r.scheme.PollAll), len(r.scheme.PollSingle),
				r.scheme.CostBytes, r.scheme.LowerBoundBytes, r.scheme.LowerBoundFlows)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d (%d) | %d | %s | %s | %s | %s | %d, %.2f%% |\n", r.strategy, r.acct.Requests,
			r.captureBytes, r.captureMerged, r.mergedReplies, acct, diff, scheme, flows, links, r.pairsChecked, 100*r.matrixWorst)
	}
	return b.String()
}

// median returns the middle value of xs (the mean of the two middle ones for an even
// count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
