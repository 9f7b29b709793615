package main

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/controller"
)

// TestPollBenchSmall runs the polling benchmark at a reduced size against cemon in
// this process: 12 emulated switches on an Erdős–Rényi graph discovered by LLDP,
// 3,000 flows installed reactively, MCPS rounds every second in which every flow is
// read, then a link and a switch going down.
func TestPollBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts cemon and 12 emulated switches")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := pollBenchConfig{Topology: "er:12:0.3", Seed: 3, Hosts: 5, HostPorts: 2, Flows: 3000, Rounds: 2,
		Interval: time.Second, Outstanding: 16, Rate: 1e6, LoadTimeout: 2 * time.Minute, Down: true}
	ctl, err := inProcessCemon(ctx, c)
	require.NoError(t, err)
	defer func() {
		ctl.stop()
		done := make(chan error, 1)
		go func() { done <- ctl.wait() }()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(20 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("cemon did not stop:\n%s", buf[:runtime.Stack(buf, true)])
		}
	}()
	var log bytes.Buffer
	res, err := pollBench(ctx, c, ctl, &log)
	require.NoError(t, err, log.String())
	t.Log(log.String())
	require.Equal(t, 12, res.Switches)
	assert.Equal(t, 3000, res.Flows, "every flow installed: %s", log.String())
	require.Len(t, res.Rounds, 2)
	for _, r := range res.Rounds {
		assert.Equal(t, r.FlowsOnSwitch, r.FlowsRead, "the replies listed every flow")
		assert.GreaterOrEqual(t, r.Readings, r.FlowsOnSwitch, "cemon read every flow")
		assert.Positive(t, r.BytesFromSw, "replies crossed the control channel")
		assert.Positive(t, r.CemonRSS)
	}
	assert.True(t, res.AllRead)
	require.Len(t, res.Down, 2)
	assert.True(t, res.Down[0].Answered && res.Down[0].Deletes > 0, "the flows over the link were deleted: %+v", res.Down[0])
	var out bytes.Buffer
	printPollSummary(&out, c, res, false)
	assert.True(t, strings.HasPrefix(out.String(), "summary: 12 switches"), out.String())
}

func TestCbenchPollFlagErrors(t *testing.T) {
	var out, errb bytes.Buffer
	code := runCbench(context.Background(), []string{"-mode", "poll", "-flows", "0"}, &out, &errb)
	assert.Equal(t, 2, code)
	assert.Contains(t, errb.String(), "must be positive")
}

func TestServeProfilesLoopbackOnly(t *testing.T) {
	ctx := context.Background()
	_, err := serveProfiles(ctx, "0.0.0.0:0", slog.New(slog.DiscardHandler))
	require.Error(t, err)
	stop, err := serveProfiles(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	stop()
}

// The collector matches reply entries to flows by the cookie's flow ID when its
// tracker offers IDOf: the controller's view does.
var _ interface{ IDOf(uint64) (uint64, bool) } = controller.TrackerView{}
