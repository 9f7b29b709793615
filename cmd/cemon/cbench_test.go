package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/mininet/ofemu"
)

// serveController runs an in-process controller on a loopback port until the test ends.
func serveController(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		controller.New(controller.Config{}, nil).Serve(ctx, ln)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// Two controllers side by side (the same one twice, as -controller and through the
// report's shape), rounds alternating, medians and ratio reported.
func TestCbenchRounds(t *testing.T) {
	addr := serveController(t)
	var out, errb bytes.Buffer
	code := runCbench(context.Background(), []string{"-controller", addr, "-switches", "2", "-macs", "8",
		"-mode", "throughput", "-warmup", "100ms", "-duration", "300ms", "-rounds", "2", "-pause", "300ms", "-json"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	var r struct {
		Rounds      int `json:"rounds"`
		Controllers []struct {
			Name         string            `json:"name"`
			PerSecond    float64           `json:"responses_per_second"`
			Disconnected int               `json:"disconnected"`
			PerRound     []json.RawMessage `json:"per_round"`
		} `json:"controllers"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &r), out.String())
	require.Len(t, r.Controllers, 1)
	assert.Equal(t, 2, r.Rounds)
	assert.Len(t, r.Controllers[0].PerRound, 2)
	assert.Positive(t, r.Controllers[0].PerSecond)
	assert.Zero(t, r.Controllers[0].Disconnected)

	out.Reset()
	code = runCbench(context.Background(), []string{"-controller", addr, "-switches", "2", "-macs", "8",
		"-mode", "latency", "-warmup", "100ms", "-duration", "300ms", "-rounds", "2", "-pause", "300ms"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	assert.Contains(t, out.String(), "round 2 controller:")
	assert.Contains(t, out.String(), "latency mode, 2 switches, controller: median")
	assert.Contains(t, out.String(), "load average before")
}

func TestCbenchFlags(t *testing.T) {
	for _, args := range [][]string{{"-rounds", "0"}, {"-mode", "x"}, {"-mode", "throughput", "-outstanding", "2"}} {
		var out, errb bytes.Buffer
		assert.Equal(t, 2, runCbench(context.Background(), args, &out, &errb), args)
	}
	var out, errb bytes.Buffer
	require.Equal(t, 1, runCbench(context.Background(), []string{"-vs-ovs", "-ovs-testcontroller", "/nonexistent/ovs",
		"-controller", "127.0.0.1:1"}, &out, &errb))
	assert.Contains(t, errb.String(), "starting ovs-testcontroller")
}

func TestCbenchMedian(t *testing.T) {
	tg := &cbenchTarget{}
	assert.Zero(t, tg.median(func(r cbenchRound) float64 { return r.Result.PerSecond }))
	for _, v := range []float64{5, 1, 3, 100} {
		tg.rounds = append(tg.rounds, cbenchRound{ControllerCPU: v})
	}
	assert.Equal(t, 4.0, tg.median(func(r cbenchRound) float64 { return r.ControllerCPU }))
	tg.rounds = tg.rounds[:3]
	assert.Equal(t, 3.0, tg.median(func(r cbenchRound) float64 { return r.ControllerCPU }))
}

// The controller's CPU time is split into user space and kernel as /proc counts them:
// a process that only copies through the kernel (dd from /dev/zero to /dev/null, a
// megabyte a read, which the kernel clears) has most of its time in the kernel, one
// that only spins in the shell most in user space.
func TestCbenchControllerCPUSplit(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	for _, c := range []struct {
		name   string
		argv   []string
		kernel bool
	}{
		{"copy", []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=1M"}, true},
		{"spin", []string{"sh", "-c", "while :; do :; done"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			require.NoError(t, cmd.Start())
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			tg := &cbenchTarget{cmd: cmd}
			var got procCPU
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				var ok bool
				got, ok = tg.cpu()
				require.True(t, ok)
				if got.user+got.sys >= 300*time.Millisecond {
					break
				}
			}
			require.GreaterOrEqual(t, got.user+got.sys, 300*time.Millisecond, "the process did not run")
			if c.kernel {
				assert.Greater(t, got.sys, got.user, "%+v", got)
			} else {
				assert.Greater(t, got.user, got.sys, "%+v", got)
			}
		})
	}
	r := cbenchRound{Result: ofemu.CbenchResult{Responses: 1000}, ControllerCPU: 0.02, ControllerSysCPU: 0.015, EmulatorCPU: 0.03, EmulatorSysCPU: 0.01}
	assert.InDelta(t, 20.0, r.cpuPerResponse(), 1e-9)
	assert.InDelta(t, 15.0, r.kernelPerResponse(), 1e-9)
	assert.Equal(t, ", controller 0.02 CPU-s (20.0 µs per response, 15.0 of them in the kernel), emulator 0.03 CPU-s (0.01 in the kernel)", r.cpuText())
}
