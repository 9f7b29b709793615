package mininet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/api"
)

// taskPhase is what one sampler measured over the stepped load.
type taskPhase struct {
	sampler  string
	requests int     // flow statistics requests on the wire (tshark)
	mre      float64 // mean relative error of the task's value against the port counters
	points   int
}

// TestE2ELinkTask: a link-utilization task on s1's link to s2 (linear,2), on top of
// the off strategy, while iperf3 steps the load on that link up and down (three UDP
// transfers one after another at 3, 8 and 2 Mbit/s). With the swt sampler the task's
// value tracks the link's port counters within 10 % mean relative error, with fewer
// statistics requests on the wire (tshark) than the same task sampled by fixed 1 s
// polling over the same load.
func TestE2ELinkTask(t *testing.T) {
	skipUnlessE2E(t)
	if m := missingTools("tshark", "ovs-ofctl"); len(m) > 0 {
		t.Skipf("needs %v", m)
	}
	var phases []taskPhase
	for _, sampler := range []string{"swt", "fixed"} {
		phases = append(phases, runLinkTask(t, sampler))
	}
	for _, p := range phases {
		t.Logf("%s: %d statistics requests on the wire, mean relative error %.1f %% over %d one-second points", p.sampler, p.requests, 100*p.mre, p.points)
	}
	require.LessOrEqual(t, phases[0].mre, 0.10, "swt's task value against the port counters")
	require.Less(t, phases[0].requests, phases[1].requests, "swt sends fewer requests than fixed 1 s polling")
}

func runLinkTask(t *testing.T, sampler string) taskPhase {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := StartCemon(ctx, CemonOptions{
		Bin:    cemonBin(t),
		Args:   []string{"--idle-timeout", "2s", "--polling", "off", "--link-capacity", "20Mbit/s"},
		Stdout: logFile(t, sampler+"-cemon.stdout"),
		Stderr: logFile(t, sampler+"-cemon.stderr"),
	})
	require.NoError(t, err)
	defer func() {
		if err := c.Stop(); err != nil {
			t.Errorf("cemon did not shut down cleanly: %v", err)
		}
	}()
	ofPort := c.OFAddr[strings.LastIndexByte(c.OFAddr, ':')+1:]
	capFile := filepath.Join(t.TempDir(), sampler+".pcap")
	stopCapture := startCapture(t, ctx, ofPort, capFile)
	h, err := StartHarness(ctx, HarnessOptions{Topo: "linear,2", Controller: c.OFAddr, Stderr: logFile(t, sampler+"-harness.stderr")})
	require.NoError(t, err)
	defer func() {
		if err := h.Close(); err != nil {
			t.Errorf("harness teardown: %v", err)
		}
	}()
	require.NoError(t, h.WaitConnected(30*time.Second))
	var link api.Link
	require.Empty(t, poll(20*time.Second, func() string {
		var ls []api.Link
		if err := c.Get("/api/v1/links", &ls); err != nil {
			return err.Error()
		}
		for _, l := range ls {
			if l.SrcDPID == "0000000000000001" {
				link = l
				return ""
			}
		}
		return "no link from s1 yet"
	}))
	_, err = h.PingAll(time.Second)
	require.NoError(t, err)
	time.Sleep(3 * time.Second) // the pings' flows expire (idle timeout 2 s)

	body, _ := json.Marshal(api.TaskRequest{Type: "link_utilization", Link: &api.TaskLink{SrcDPID: link.SrcDPID, SrcPort: link.SrcPort},
		Sampler: sampler, MinInterval: "250ms", MaxInterval: "5s"})
	res, err := http.Post("http://"+c.APIAddr+"/api/v1/tasks", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	var task api.Task
	require.NoError(t, json.NewDecoder(res.Body).Decode(&task))
	res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)

	// The load: one UDP transfer after another, stepping up and down; the link's
	// port counters sampled every second meanwhile.
	type sample struct {
		at time.Time
		tx uint64
	}
	var port []sample
	done := make(chan error, 1)
	go func() {
		var err error
		for _, bw := range []string{"3M", "8M", "2M"} {
			if _, e := h.Iperf([]Transfer{{Src: "h1", Dst: "h2", UDP: true, Duration: 6, Bandwidth: bw}}, 30*time.Second); e != nil && err == nil {
				err = e
			}
		}
		done <- err
	}()
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
loop:
	for {
		_, tx := portBytes(t, "s1", link.SrcPort)
		port = append(port, sample{time.Now(), tx})
		select {
		case err := <-done:
			require.NoError(t, err)
			break loop
		case <-tick.C:
		}
		require.Less(t, time.Since(start), 2*time.Minute, "the transfers did not end")
	}
	var full api.Task
	require.NoError(t, c.Get(fmt.Sprintf("/api/v1/tasks/%d", task.ID), &full))
	stopCapture()

	// Compare, over each second with traffic, the port's rate with the mean of the
	// task's values within that second (the value the controller shows then).
	var sum float64
	n := 0
	for i := 1; i < len(port); i++ {
		a, b := port[i-1], port[i]
		truth := float64(b.tx-a.tx) * 8 / b.at.Sub(a.at).Seconds()
		if truth < 500e3 {
			continue // idle between transfers: the relative error means nothing
		}
		var vs []float64
		for _, v := range full.Series {
			if !v.At.Before(a.at) && v.At.Before(b.at) {
				vs = append(vs, v.RateBps)
			}
		}
		if len(vs) == 0 {
			continue
		}
		sort.Float64s(vs)
		mean := 0.0
		for _, v := range vs {
			mean += v
		}
		mean /= float64(len(vs))
		sum += math.Abs(mean-truth) / truth
		n++
	}
	require.Positive(t, n, "seconds with traffic and task values")
	out, err := exec.Command("tshark", "-r", capFile, "-d", "tcp.port=="+ofPort+",openflow",
		"-Y", "openflow_1_0.type == 16", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-e", "openflow_1_0.type").Output()
	require.NoError(t, err)
	requests := 0 // OFPT_STATS_REQUEST messages (a frame may carry several)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		for _, ty := range strings.Split(line, ",") {
			if ty == "16" {
				requests++
			}
		}
	}
	return taskPhase{sampler: sampler, requests: requests, mre: sum / float64(n), points: n}
}
