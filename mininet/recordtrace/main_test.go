package main

import (
	"compress/gzip"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/afps"
	"github.com/cemon-sdn/cemon/afps/sim"
	"github.com/cemon-sdn/cemon/afps/trace"
)

// TestE2ERecordTrace records a short UDP trace from Mininet (reduced size: 25 s) and
// checks that it holds what crossed s2→s3 (packets to h3 and h4 only, from h1 and h2,
// the long UDP transfers among them) and replays through the simulator.
func TestE2ERecordTrace(t *testing.T) {
	if os.Getenv("CEMON_E2E") != "1" {
		t.Skip("end-to-end test: set CEMON_E2E=1 (make e2e) to run it against Open vSwitch and Mininet")
	}
	for _, c := range []string{"mn", "ovs-vsctl", "iperf3", "dumpcap"} {
		if _, err := exec.LookPath(c); err != nil || os.Geteuid() != 0 {
			t.Skipf("needs root and %s", c)
		}
	}
	bin := os.Getenv("CEMON_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "cemon")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/cemon-sdn/cemon/cmd/cemon").CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "udp.csv.gz")
	require.NoError(t, record(ctx, bin, "udp", 25*time.Second, out, 3))
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr, err := trace.ReadCSV(zr)
	require.NoError(t, err)
	require.Greater(t, len(tr.Packets), 1000)
	h := func(i byte) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, i}) }
	udp := 0
	for _, k := range tr.Keys {
		assert.Contains(t, []netip.Addr{h(3), h(4)}, k.Dst, "only packets that crossed s2→s3: %v", k)
		assert.Contains(t, []netip.Addr{h(1), h(2)}, k.Src, "%v", k)
		if k.Proto == 17 {
			udp++
		}
	}
	assert.Positive(t, udp, "the long UDP transfers")
	assert.Equal(t, int64(0), tr.Packets[0].Time, "times start at 0")
	rep, err := sim.Replay(tr, sim.Config{Task: afps.Task{Kind: afps.LinkUtilization}, NoBatched: true, Algorithms: []afps.Kind{afps.Fixed, afps.SWT}})
	require.NoError(t, err)
	assert.Positive(t, rep.Results[0].Requests)
	assert.Less(t, rep.Results[0].Error, 1.0)
}
