package qmp_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/migration"
	"github.com/cemon-sdn/cemon/qmp"
	"github.com/cemon-sdn/cemon/qmp/qmptest"
)

func TestMoveRunCompletes(t *testing.T) {
	src := qmptest.New(t, "src",
		qmptest.Active(1e6, 1), qmptest.Active(50e6, 1), qmptest.Active(100e6, 2), qmptest.Active(110e6, 3),
		qmptest.Completed(4000, 120, 112e6, 4))
	dst := qmptest.New(t, "dst")
	stop := time.Date(2026, 12, 4, 12, 0, 0, 123456000, time.UTC)
	src.StopAt(stop)
	dst.ResumeAt(stop.Add(187654 * time.Microsecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mv := qmp.Move{Source: src.Path, Dest: dst.Path, URI: "tcp:10.0.0.2:4444", Period: time.Millisecond,
		Params: qmp.Parameters{MaxBandwidth: 25e6, DowntimeLimit: 300 * time.Millisecond}}
	final, rounds, err := mv.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, "completed", final.Status)

	var names []string
	for _, c := range src.Commands() {
		names = append(names, c.Execute)
		if c.Execute == "migrate-set-parameters" {
			var p map[string]int64
			require.NoError(t, json.Unmarshal(c.Arguments, &p))
			assert.Equal(t, map[string]int64{"max-bandwidth": 25e6, "downtime-limit": 300}, p)
		}
	}
	assert.Equal(t, []string{"qmp_capabilities", "migrate-set-parameters", "migrate", "query-migrate"}, names[:4])
	assert.Equal(t, "migrate-incoming", dst.Commands()[1].Execute)
	// The guest's pause: from the source's STOP to the destination's RESUME,
	// by QEMU's timestamps (microseconds).
	p := rounds.Pause()
	assert.True(t, p.Stopped.Equal(stop), "stopped %v", p.Stopped)
	assert.Equal(t, 187654*time.Microsecond, p.Duration())

	trace := rounds.Trace(final, 10)
	// Rounds end at the samples where the dirty-sync count grew: 100 MB, 10 MB,
	// then the stop-and-copy's 2 MB over the 120 ms downtime.
	require.Len(t, trace, 3)
	assert.InDelta(t, 100, trace[0].SentMB, 1e-9) // counted from the start
	assert.InDelta(t, 10, trace[1].SentMB, 1e-9)
	assert.InDelta(t, 2, trace[2].SentMB, 1e-9)
	assert.InDelta(t, 0.12, trace[2].DurationS, 1e-9)
	assert.Zero(t, trace[2].DirtyMB)
	assert.InDelta(t, max(trace[0].DirtyMB-10, 0), trace[1].SkippedMB, 1e-9)

	rec := qmp.Record("vm1", final, trace, migration.Input{MemMB: 134, DirtyMBs: 10, RateMBs: 25})
	require.NoError(t, rec.Validate())
	assert.Equal(t, 4.0, rec.TotalTimeS)
	assert.Equal(t, 0.12, rec.DowntimeS)
	assert.Equal(t, 112.0, rec.TrafficMB)
	assert.Equal(t, "qemu", rec.Profile)
	b, _ := json.Marshal(rec)
	_, err = migration.DecodeRecord(b)
	require.NoError(t, err, "the API's decoder accepts the record")
}

// A destination that stays paused after the move (QEMU's -S) never resumes:
// the move ends at once with the stop known and no pause.
func TestMoveRunDestinationStaysPaused(t *testing.T) {
	src := qmptest.New(t, "src", qmptest.Active(1e6, 1), qmptest.Completed(1000, 90, 2e6, 2))
	dst := qmptest.New(t, "dst")
	src.StopAt(time.Now())
	dst.StayPaused()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	final, rounds, err := qmp.Move{Source: src.Path, Dest: dst.Path, URI: "tcp:10.0.0.2:4444", Period: time.Millisecond}.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, "completed", final.Status)
	assert.Less(t, time.Since(start), 5*time.Second, "no wait for a resume that does not come")
	assert.False(t, rounds.Pause().Stopped.IsZero())
	assert.Zero(t, rounds.Pause().Duration())
}

func TestMoveRunCancelledAtTimeout(t *testing.T) {
	src := qmptest.New(t, "src", qmptest.Active(1e6, 1), qmptest.Active(40e6, 2), qmptest.Active(80e6, 5))
	dst := qmptest.New(t, "dst")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mv := qmp.Move{Source: src.Path, Dest: dst.Path, URI: "tcp:10.0.0.2:4444", Period: 5 * time.Millisecond, Timeout: 50 * time.Millisecond}
	final, rounds, err := mv.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, "cancelled", final.Status)
	require.NotNil(t, final.RAM, "the figures of the last state before the cancel")
	assert.Zero(t, rounds.Pause().Duration(), "no pause: the guest never stopped")
	rec := qmp.Record("vm1", final, rounds.Trace(final, 0), migration.Input{MemMB: 134, RateMBs: 8})
	require.NoError(t, rec.Validate())
	assert.Zero(t, rec.DowntimeS, "no downtime: the guest never stopped")
	assert.Equal(t, 80.0, rec.TrafficMB)
	assert.InDelta(t, 1000*4096/1e6, rec.DirtyMBs, 1e-9, "QEMU's dirty page rate when none was measured")
}

func TestMoveRunBadInput(t *testing.T) {
	_, _, err := qmp.Move{Source: "x"}.Run(context.Background())
	require.Error(t, err)
	_, _, err = qmp.Move{Source: "/nonexistent/src.qmp", Dest: "/nonexistent/dst.qmp", URI: "tcp:1.2.3.4:1"}.Run(context.Background())
	require.ErrorContains(t, err, "destination")
}

// BenchmarkRounds: following one 40-round migration sampled 20 times a round,
// then its trace and record.
func BenchmarkRounds(b *testing.B) {
	t0 := time.Unix(0, 0)
	b.ReportAllocs()
	for b.Loop() {
		var r qmp.Rounds
		for k := int64(0); k < 800; k++ {
			r.Observe(t0.Add(time.Duration(k)*50*time.Millisecond), qmp.Info{Status: "active",
				RAM: &qmp.RAM{Transferred: k * 1e6, DirtySyncCount: 1 + k/20}})
		}
		final := qmp.Info{Status: "completed", DowntimeMs: 100, TotalTimeMs: 40000, RAM: &qmp.RAM{Transferred: 801e6, DirtySyncCount: 41}}
		_ = qmp.Record("vm", final, r.Trace(final, 5), migration.Input{MemMB: 200, DirtyMBs: 5, RateMBs: 20})
	}
}

// With QEMU's downtime bytes, the stop-and-copy is those, and the pre-copy the
// samples missed (an idle guest's passes end between two samples) is a round
// of its own over the time left.
func TestTraceDowntimeBytes(t *testing.T) {
	t0 := time.Unix(0, 0)
	var r qmp.Rounds
	r.Observe(t0, qmp.Info{Status: "active", RAM: &qmp.RAM{Transferred: 1e6, DirtySyncCount: 1}})
	r.Observe(t0.Add(20*time.Second), qmp.Info{Status: "active", RAM: &qmp.RAM{Transferred: 190e6, DirtySyncCount: 1}})
	final := qmp.Info{Status: "completed", DowntimeMs: 180, TotalTimeMs: 21300,
		RAM: &qmp.RAM{Transferred: 202e6, DowntimeBytes: 2e6, DirtySyncCount: 3}}
	tr := r.Trace(final, 0)
	require.Len(t, tr, 2)
	assert.InDelta(t, 200, tr[0].SentMB, 1e-9)
	assert.InDelta(t, 21.12, tr[0].DurationS, 1e-9)
	assert.InDelta(t, 2, tr[1].SentMB, 1e-9)
	assert.InDelta(t, 0.18, tr[1].DurationS, 1e-9)
	// Downtime bytes larger than what is left (a QEMU that counts otherwise):
	// ignored.
	final.RAM.DowntimeBytes = 500e6
	tr = r.Trace(final, 0)
	require.Len(t, tr, 1)
	assert.InDelta(t, 202, tr[0].SentMB, 1e-9)
}

// MeasureDirtyRate starts QEMU's page-sampling measurement, waits for it and
// converts MiB/s to MB/s.
func TestMeasureDirtyRate(t *testing.T) {
	f := qmptest.New(t, "vm")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := qmp.Dial(ctx, f.Path)
	require.NoError(t, err)
	defer c.Close()
	d, err := c.MeasureDirtyRate(ctx, 1500*time.Millisecond, 4096)
	require.NoError(t, err)
	assert.InDelta(t, 3*1.048576, d, 1e-9)
	var args map[string]int
	for _, cmd := range f.Commands() {
		if cmd.Execute == "calc-dirty-rate" {
			require.NoError(t, json.Unmarshal(cmd.Arguments, &args))
		}
	}
	assert.Equal(t, map[string]int{"calc-time": 1, "sample-pages": 4096}, args)
}
