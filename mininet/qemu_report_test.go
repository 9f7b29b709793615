package mininet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/migration"
)

// TestValidationReport: runs whose outcome is exactly the pre-copy model's
// prediction give zero error, with its default constants and refined (the
// fit finds the same constants); a run cancelled while the model predicts
// D ≥ R counts as a correctly predicted non-converging case; the plots are
// written.
func TestValidationReport(t *testing.T) {
	var runs []migRun
	for _, d := range []float64{0.5, 2, 5} {
		in := migration.Input{MemMB: 200, DirtyMBs: d, RateMBs: 19}
		res, err := migration.Predict(in, migration.Config{Kind: migration.Precopy, Profile: migration.QEMU()})
		require.NoError(t, err)
		rec := migration.RecordOf("vm", in, res, false)
		runs = append(runs, migRun{MemMiB: 128, LinkMbit: 160, DirtyMBs: d, RateMBs: 19, Status: "completed", Record: rec,
			FlowBytes: 1, DestVerified: true})
	}
	runs = append(runs, migRun{MemMiB: 128, LinkMbit: 80, DirtyMBs: 12, RateMBs: 9.5, Status: "cancelled",
		Record: migration.Record{VM: "nc", Profile: "qemu", RAMMB: 200, DirtyMBs: 12, RateMBs: 9.5, TotalTimeS: 60, TrafficMB: 570}})
	png := filepath.Join(t.TempDir(), "v.png")
	rep, err := validationReport(runs, time.Minute, png)
	require.NoError(t, err)
	for _, m := range []string{"pre-copy, default constants", "pre-copy refined, in sample", "pre-copy refined, leave-one-out"} {
		assert.Contains(t, rep, "| "+m+" | 3 | 0.0 % / 0.0 % | 0.0 % / 0.0 % | 3 of 3 | 0 % / 0 % | 3 of 3 | 0 ms | 0 | 1 of 1 |")
	}
	assert.Contains(t, rep, "| paper (WWS, paper γ) | 3 |")
	assert.Equal(t, 3, strings.Count(rep, "| vm |"))
	assert.Equal(t, 1, strings.Count(rep, "| nc |"))
	for _, p := range []string{png, strings.TrimSuffix(png, ".png") + "-downtime.png"} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Greater(t, st.Size(), int64(1000))
	}
}
