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

// TestValidationReport: runs whose outcome is exactly the base model's
// prediction give zero error; a run cancelled while the model predicts D ≥ R
// counts as a correctly predicted non-converging case; the plot is written.
func TestValidationReport(t *testing.T) {
	var runs []migRun
	for _, d := range []float64{0.5, 2, 5} {
		in := migration.Input{MemMB: 200, DirtyMBs: d, RateMBs: 19}
		res, err := migration.Predict(in, migration.Config{Kind: migration.WWS, Profile: migration.QEMU()})
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
	assert.Contains(t, rep, "| base (paper γ) | 3 | 0.0 % / 0.0 % | 0.0 % / 0.0 % | 0.0 % / 0.0 % | 0 | 1 of 1 |")
	assert.Equal(t, 3, strings.Count(rep, "| vm |"))
	assert.Equal(t, 1, strings.Count(rep, "| nc |"))
	st, err := os.Stat(png)
	require.NoError(t, err)
	assert.Greater(t, st.Size(), int64(1000))
}
