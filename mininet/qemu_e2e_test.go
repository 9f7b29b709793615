package mininet

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/migration"
)

// TestE2EQEMUMigration: two real pre-copy migrations of a 64 MiB QEMU guest
// from Mininet host h1 to h2 across the network cemon controls, the hosts'
// links limited to 160 Mbit/s. The slowly dirtying guest's migration completes;
// its stream is a flow in cemon's statistics whose bytes, less the Ethernet, IP
// and TCP headers of its segments, are QEMU's transferred bytes within 2 %; the
// uplink's load rises while it runs; the destination verifies the guest's
// memory. A guest dirtying memory faster than the 10 MB/s cap never converges
// and is cancelled at its time limit. The pre-copy model predicts both
// outcomes from what was measured before each move.
func TestE2EQEMUMigration(t *testing.T) {
	skipUnlessE2E(t)
	skipUnlessQEMU(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	b := startQemuBed(t, ctx, 160)

	conv := b.migrate(ctx, "conv", 64, 1, 20, 0, 60*time.Second)
	t.Logf("converging: %+v", conv)
	require.Equal(t, "completed", conv.Status)
	assert.True(t, conv.DestVerified, "the destination verified the guest's memory: %q", conv.DestLine)
	assert.False(t, conv.DestFailed, "the destination found memory that does not hold what was written: %q", conv.DestLine)
	qemuBytes := conv.Record.TrafficMB * 1e6
	require.Positive(t, conv.FlowBytes, "the stream's flow in cemon's statistics")
	dev := (float64(conv.FlowPayload) - qemuBytes) / qemuBytes
	t.Logf("stream: cemon counted %d bytes in %d packets, %d less headers; QEMU transferred %.0f: %+.3f %%",
		conv.FlowBytes, conv.FlowPackets, conv.FlowPayload, qemuBytes, 100*dev)
	assert.Less(t, math.Abs(dev), 0.02, "the flow's payload matches QEMU's transferred bytes within 2 %%")
	assert.Greater(t, conv.LinkPeakBps, conv.LinkIdleBps+0.5*conv.RateMBs*8e6,
		"the uplink's load rose by at least half of R while the stream ran")

	// The guest's pause, the source's STOP to the destination's RESUME, is
	// seen, and lasts at least QEMU's downtime (which ends when the source
	// has written its last byte, before the destination has it).
	assert.Positive(t, conv.GuestDowntimeS, "the guest's pause was seen (STOP and RESUME events)")
	assert.GreaterOrEqual(t, conv.GuestDowntimeS, conv.Record.DowntimeS-0.005, "the pause covers QEMU's downtime")

	// The pre-copy model, fed what was measured before the move, predicts
	// that it converges; with the whole RAM as V_mem (no calibration of the
	// non-zero memory here) it bounds the traffic from above.
	pc := predictPrecopy(t, conv)
	assert.True(t, pc.Converged, "the pre-copy model predicts the converging migration converges: %+v", pc)
	assert.LessOrEqual(t, conv.Record.TrafficMB, pc.TrafficMB*1.02, "QEMU sent no more than the model's whole-memory traffic")

	non := b.migrate(ctx, "nonconv", 64, 40, 10, 0, 35*time.Second)
	t.Logf("non-converging: %+v", non)
	require.Greater(t, non.DirtyMBs, non.RateMBs, "the guest dirties memory faster than R (else the case does not test anything)")
	assert.Equal(t, "cancelled", non.Status)
	assert.GreaterOrEqual(t, non.DirtySync, int64(2), "past the first pass, and still not done at the time limit")
	pn := predictPrecopy(t, non)
	assert.False(t, pn.Converged, "the pre-copy model predicts the non-converging migration does not converge: %+v", pn)
}

// predictPrecopy is the pre-copy model's prediction (default constants) for
// what was measured before run's move.
func predictPrecopy(t *testing.T, run migRun) migration.Result {
	t.Helper()
	in := migration.Input{MemMB: run.Record.RAMMB, DirtyMBs: run.DirtyMBs, RateMBs: run.RateMBs}
	r, err := migration.Predict(in, migration.Config{Kind: migration.Precopy, Profile: migration.QEMU()})
	require.NoError(t, err)
	r.Trace = nil
	return r
}
