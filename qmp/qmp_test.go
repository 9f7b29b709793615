package qmp_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/mininet/qemu"
	"github.com/cemon-sdn/cemon/qmp"
)

// migrate boots a source guest and a destination, migrates over loopback at the
// given bandwidth cap and returns the final state and the destination's status.
func migrate(t *testing.T, memMiB int, dirty float64, bw int64, timeout time.Duration) (qmp.Info, qemu.Status) {
	t.Helper()
	if os.Getenv("CEMON_E2E") != "1" {
		t.Skip("end-to-end test: set CEMON_E2E=1 (make e2e) to run real QEMU migrations")
	}
	if why := qemu.Missing(qemu.Prefix()); why != "" {
		t.Skip("QEMU testbed not prepared: " + why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	src, err := qemu.Start(ctx, qemu.Config{Dir: dir, Name: "src", MemMiB: memMiB, DirtyMBs: dirty})
	require.NoError(t, err)
	defer src.Stop()
	dst, err := qemu.Start(ctx, qemu.Config{Dir: dir, Name: "dst", MemMiB: memMiB, DirtyMBs: dirty, Incoming: true})
	require.NoError(t, err)
	defer dst.Stop()
	_, err = src.WaitReady(ctx, 90*time.Second)
	require.NoError(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	uri := fmt.Sprintf("tcp:127.0.0.1:%d", port)
	dc, err := qmp.Dial(ctx, dst.QMP)
	require.NoError(t, err)
	defer dc.Close()
	require.NoError(t, dc.MigrateIncoming(ctx, uri))
	sc, err := qmp.Dial(ctx, src.QMP)
	require.NoError(t, err)
	defer sc.Close()
	require.NoError(t, sc.SetParameters(ctx, qmp.Parameters{MaxBandwidth: bw, DowntimeLimit: 300 * time.Millisecond}))
	require.NoError(t, sc.Migrate(ctx, uri))
	info, err := sc.Follow(ctx, 200*time.Millisecond, timeout, nil)
	require.NoError(t, err)
	var st qemu.Status
	if info.Status == "completed" {
		// The destination runs on and verifies its memory: two more full passes.
		before, _ := qemu.ReadStatus(dst.Console)
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			st, _ = qemu.ReadStatus(dst.Console)
			if st.Passes >= before.Passes+2 || st.Failed {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	return info, st
}

// TestE2EMigrationConverges: a slowly dirtying guest migrates within its time limit,
// QEMU moves at least its non-zero memory, and the destination's memory verifies.
func TestE2EMigrationConverges(t *testing.T) {
	info, st := migrate(t, 64, 2, 40e6, 60*time.Second)
	require.Equal(t, "completed", info.Status, "%+v", info)
	o := qmp.OutcomeOf(info)
	t.Logf("completed: total %v, downtime %v, %d bytes in %d rounds; destination: %s", o.TotalTime, o.Downtime, o.TransferredByte, o.Rounds, st.Line)
	require.GreaterOrEqual(t, o.TransferredByte, int64(64<<20), "the guest's non-zero memory crossed")
	require.Positive(t, o.Downtime)
	require.False(t, st.Failed, "the destination found memory that does not hold what was written: %s", st.Line)
	require.GreaterOrEqual(t, st.Passes, 2, "the destination verified its memory")
}

// TestE2EMigrationDoesNotConverge: a guest dirtying memory faster than the bandwidth cap
// never gets under the downtime limit; Follow cancels it at the time limit and the
// source keeps running.
func TestE2EMigrationDoesNotConverge(t *testing.T) {
	info, _ := migrate(t, 64, 40, 8e6, 30*time.Second)
	require.Equal(t, "cancelled", info.Status, "%+v", info)
	require.NotNil(t, info.RAM)
	require.Greater(t, info.RAM.DirtySyncCount, int64(1), "several pre-copy rounds before the limit")
}
