package api

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/cemon-sdn/cemon/migration"
	"github.com/cemon-sdn/cemon/placement"
	"github.com/cemon-sdn/cemon/store"
)

type fakeMigrationPlacement struct {
	fakePlacement
	free float64
}

type fixedNet struct{ free float64 }

func (f fixedNet) Path(a, b placement.Server) ([]string, float64, bool) {
	return []string{"0000000000000001:2->0000000000000002:1"}, f.free, true
}

func (f fakeMigrationPlacement) MigrationNetwork() migration.Network { return fixedNet{f.free} }

// migrationHandler: servers a and b (NIC 1 Gbit/s); web1 and web2 on a with
// 450 Mbit/s each of traffic to the outside; the path a-b has 200 Mbit/s free.
func migrationHandler(t *testing.T) http.Handler {
	h, _ := migrationHandlerStore(t)
	return h
}

// migrationHandlerStore is migrationHandler with its store.
func migrationHandlerStore(t *testing.T) (http.Handler, *store.Store) {
	h, st := placementHandler(t)
	_ = h
	for _, id := range []string{"a", "b"} {
		require.NoError(t, st.PutServer(placement.Server{ID: id, DPID: "1", Port: 1, CPUCores: 8, RAMMB: 32000, NICBps: 1e9}))
	}
	require.NoError(t, st.PutVM(placement.VM{ID: "web1", Server: "a", VCPUs: 1, RAMMB: 800, CPUUtil: 0.2, Service: "shop", DirtyRateMBs: 40}))
	require.NoError(t, st.PutVM(placement.VM{ID: "web2", Server: "a", VCPUs: 1, RAMMB: 800, CPUUtil: 0.2, Service: "shop", DirtyRateMBs: 5}))
	return migrationHandlerOver(st), st
}

// migrationHandlerOver is a handler over the inventory and records in st.
func migrationHandlerOver(st *store.Store) http.Handler {
	b := WithPlacement(testBackend(), fakeMigrationPlacement{fakePlacement: fakePlacement{st: st}, free: 2e8})
	return NewHandler(b, nil)
}

func TestMigrationPredictEndpoint(t *testing.T) {
	h := migrationHandler(t)
	code, body := send(t, h, "POST", "/api/v1/migration/predict", `{"ram":"800MB","dirty_rate":"40MB/s","rate":"100MB/s","model":"base"}`)
	require.Equal(t, 200, code, body)
	var ans PredictAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &ans))
	assert.Equal(t, 10, ans.Rounds)
	assert.True(t, ans.Converged)

	// By VM and destination: no measured traffic, so the NICs are idle and the
	// path's 200 Mbit/s = 25 MB/s caps R = min(40 + 12.5, 25).
	code, body = send(t, h, "POST", "/api/v1/migration/predict", `{"vm":"web1","to":"b"}`)
	require.Equal(t, 200, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &ans))
	assert.Equal(t, "a", ans.From)
	assert.InDelta(t, 25, ans.FreeMBs, 1e-9)
	assert.InDelta(t, 25, ans.RateMBs, 1e-9)
	assert.False(t, ans.Converged, "40 MB/s dirty over 25 MB/s")

	for _, tt := range []struct {
		body string
		code int
	}{
		{`{"ram":"800","dirty_rate":"40","rate":"x"}`, 400},
		{`{"ram":"0MB","dirty_rate":"4MB/s","rate":"1MB/s"}`, 400},
		{`{"vm":"web1"}`, 400},
		{`{"vm":"web1","to":"a"}`, 400},
		{`{"vm":"nope","to":"b"}`, 404},
		{`{"vm":"web1","to":"zz"}`, 404},
		{`{"vm":"web1","to":"b","ram":"1MB"}`, 400},
		{`{"vm":"web1","to":"b","profile":"vmware"}`, 400},
		{`{"vm":"web1","to":"b","colour":1}`, 400},
		{`not json`, 400},
	} {
		code, body := send(t, h, "POST", "/api/v1/migration/predict", tt.body)
		assert.Equal(t, tt.code, code, "%s: %s", tt.body, body)
		assert.Contains(t, body, `"error"`)
	}
	code, _ = send(t, h, "GET", "/api/v1/migration/predict", "")
	assert.Equal(t, 405, code)
}

func TestMigrationRecordsEndpoint(t *testing.T) {
	h := migrationHandler(t)
	code, body := send(t, h, "GET", "/api/v1/migration/records", "")
	require.Equal(t, 200, code)
	assert.Equal(t, "[]\n", body)

	// Records made by a model with other coefficients: after enough of them the
	// fitted γ and energy are those.
	want := migration.Gamma{A: -0.03, B: -0.0004, C: 0.45}
	wantE := migration.Energy{Alpha: 0.4, Beta: 35}
	rng := rand.New(rand.NewPCG(5, 5))
	var last RecordAnswer
	for i := range 8 {
		in := migration.Input{MemMB: 128 + rng.Float64()*512, RateMBs: 80 + rng.Float64()*120}
		in.DirtyMBs = in.RateMBs * (0.2 + 0.6*rng.Float64())
		res, err := migration.Predict(in, migration.Config{Kind: migration.WWS, Profile: migration.QEMU(), Gamma: &want, Energy: &wantE})
		require.NoError(t, err)
		rec := migration.RecordOf(fmt.Sprintf("web%d", 1+i%2), in, res, true)
		b, _ := json.Marshal(rec)
		code, body := send(t, h, "POST", "/api/v1/migration/records", string(b))
		require.Equal(t, 201, code, body)
		require.NoError(t, json.Unmarshal([]byte(body), &last))
		assert.Equal(t, uint64(i+1), last.Record.Seq)
	}
	assert.True(t, last.Learned.GammaFitted)
	assert.InDelta(t, want.A, last.Learned.Gamma.A, 1e-9)
	assert.InDelta(t, want.C, last.Learned.Gamma.C, 1e-9)
	assert.True(t, last.Learned.EnergyFitted)
	assert.InDelta(t, wantE.Alpha, last.Learned.Energy.Alpha, 1e-9)
	assert.Equal(t, 4, last.Dirty.N)

	code, body = send(t, h, "GET", "/api/v1/migration/records", "")
	require.Equal(t, 200, code)
	var all []StoredRecord
	require.NoError(t, json.Unmarshal([]byte(body), &all))
	assert.Len(t, all, 8)

	for _, bad := range []string{`{}`, `{"vm":"x","profile":"xen","ram_mb":-1,"rate_mb_s":1}`, `{"vm":"x","profile":"xen","ram_mb":1,"rate_mb_s":1,"x":2}`} {
		code, body := send(t, h, "POST", "/api/v1/migration/records", bad)
		assert.Equal(t, 400, code, body)
	}
	code, _ = send(t, h, "DELETE", "/api/v1/migration/records", "")
	assert.Equal(t, 405, code)
}

func TestMigrationPlanEndpoint(t *testing.T) {
	h := migrationHandler(t)
	// No traffic measured: no hotspot unless the thresholds say so.
	code, body := send(t, h, "POST", "/api/v1/migration/plan", `{"options":{}}`)
	require.Equal(t, 200, code, body)
	var ans PlanAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &ans))
	assert.Empty(t, ans.Moves)
	// a's CPU (0.4 of 8 cores = 0.05) above a 0.03 threshold: one VM moves, R within the path's 25 MB/s.
	code, body = send(t, h, "POST", "/api/v1/migration/plan", `{"options":{"policy":"balance"},"servers":{"a":{"cpu_threshold":0.03}}}`)
	require.Equal(t, 200, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &ans))
	require.Len(t, ans.Hotspots, 1)
	require.NotEmpty(t, ans.Moves)
	assert.Equal(t, "web2", ans.Moves[0].VM, "the cheaper VM")
	assert.LessOrEqual(t, ans.Moves[0].RateMBs, 25.0)
	for _, bad := range []string{`{"options":{"detector":"x"}}`, `{"servers":{"zz":{}}}`, `{"options":{"sla_window_s":-5}}`, `[]`} {
		code, body := send(t, h, "POST", "/api/v1/migration/plan", bad)
		assert.Equal(t, 400, code, "%s: %s", bad, body)
	}
}

func TestMigrationWritesNeedToken(t *testing.T) {
	h := requireToken("s3cret", migrationHandler(t))
	rec := `{"vm":"web1","profile":"xen","ram_mb":800,"rate_mb_s":100}`
	code, _ := send(t, h, "POST", "/api/v1/migration/records", rec)
	assert.Equal(t, 401, code)
	code, _ = send(t, h, "GET", "/api/v1/migration/records", "")
	assert.Equal(t, 200, code)
	req, _ := http.NewRequest("POST", "/api/v1/migration/records", strings.NewReader(rec))
	req.Header.Set("Authorization", "Bearer s3cret")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	assert.Equal(t, 201, w.Code, w.Body.String())
}

// A QEMU migration's record may carry hundreds of rounds.
func TestMigrationRecordWithManyRounds(t *testing.T) {
	h := migrationHandler(t)
	res, err := migration.Predict(migration.Input{MemMB: 4000, DirtyMBs: 99, RateMBs: 100}, migration.Config{Kind: migration.WWS, Profile: migration.QEMU()})
	require.NoError(t, err)
	require.Greater(t, len(res.Trace), 100)
	b, _ := json.Marshal(migration.RecordOf("web1", migration.Input{MemMB: 4000, DirtyMBs: 99, RateMBs: 100}, res, true))
	require.Greater(t, len(b), 8<<10)
	code, body := send(t, h, "POST", "/api/v1/migration/records", string(b))
	assert.Equal(t, 201, code, body)
}

// Constants kept by an earlier build (σ over the last round's dirty pages,
// stop_per_s) keep their rate and dirty factors; their stop cost, which
// meant something else, gives way to the default.
func TestMigrationModelFromEarlierBuild(t *testing.T) {
	h, st := migrationHandlerStore(t)
	old := map[string]any{"rate_factor": 0.95, "dirty_factor": 1.06, "stop_s": 0.15, "stop_per_s": 1.8,
		"leftover": migration.DefaultLeftover, "fitted_to_seq": 7, "records_used": 7}
	require.NoError(t, st.Update(func(tx *bolt.Tx) error {
		return store.PutTx(tx, BucketMigrationModel, keyCalibration, old)
	}))
	got, err := StoreRecords{Store: st}.FittedCalibration()
	require.NoError(t, err)
	assert.Equal(t, uint64(7), got.Seq)
	assert.Equal(t, 0.95, got.RateFactor)
	assert.Equal(t, 1.06, got.DirtyFactor)
	assert.Zero(t, got.StopS, "the old stop cost is not used")
	code, body := send(t, h, "GET", "/api/v1/migration/model", "")
	require.Equal(t, 200, code, body)
}

// POST /api/v1/migration/records refits the pre-copy model's constants to the
// records, keeps them in the store, and later predictions and plans use them.
func TestMigrationRecordsRefitPrecopy(t *testing.T) {
	h, st := migrationHandlerStore(t)
	getModel := func(h http.Handler) learned {
		t.Helper()
		code, body := send(t, h, "GET", "/api/v1/migration/model", "")
		require.Equal(t, 200, code, body)
		var l learned
		require.NoError(t, json.Unmarshal([]byte(body), &l))
		return l
	}
	l := getModel(h)
	assert.Equal(t, uint64(0), l.Precopy.Seq)
	assert.Equal(t, migration.DefaultCalibration, l.Precopy.Calibration)

	// A record of another profile determines no pre-copy constant.
	code, body := send(t, h, "POST", "/api/v1/migration/records", `{"vm":"web1","profile":"xen","ram_mb":800,"rate_mb_s":100,"total_time_s":9,"traffic_mb":900}`)
	require.Equal(t, 201, code, body)
	var ans RecordAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &ans))
	assert.Equal(t, uint64(0), ans.Learned.Precopy.Seq)
	assert.Equal(t, migration.DefaultCalibration, ans.Learned.Precopy.Calibration)

	// QEMU migrations that behaved as the pre-copy model with other constants
	// predicts: the refit finds those constants.
	// (σ at its default: with QEMU's default θ every stop-and-copy is close
	// to the threshold, too alike for a slope, and T_stop is fitted alone.)
	want := migration.Calibration{RateFactor: 0.85, DirtyFactor: 1.3, StopS: 0.32, StopShare: migration.DefaultStopShare, Leftover: migration.DefaultLeftover}
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 10 {
		in := migration.Input{MemMB: 150 + 200*rng.Float64(), RateMBs: 8 + 12*rng.Float64()}
		if i%3 != 0 {
			in.DirtyMBs = 0.4 * rng.Float64() * in.RateMBs
		}
		res, err := migration.Predict(in, migration.Config{Kind: migration.Precopy, Profile: migration.QEMU(), Calibration: &want})
		require.NoError(t, err)
		b, _ := json.Marshal(migration.RecordOf("web2", in, res, false))
		code, body := send(t, h, "POST", "/api/v1/migration/records", string(b))
		require.Equal(t, 201, code, body)
		require.NoError(t, json.Unmarshal([]byte(body), &ans))
	}
	got := ans.Learned.Precopy
	assert.Equal(t, uint64(11), got.Seq)
	assert.Equal(t, 10, got.Records)
	assert.InDelta(t, want.RateFactor, got.RateFactor, 1e-6)
	assert.InDelta(t, want.DirtyFactor, got.DirtyFactor, 1e-6)
	assert.InDelta(t, want.StopS, got.StopS, 1e-6)
	assert.InDelta(t, want.StopShare, got.StopShare, 1e-6)

	// Kept: in the store, and so for a handler started afresh over it.
	kept, err := StoreRecords{Store: st}.FittedCalibration()
	require.NoError(t, err)
	assert.Equal(t, got, kept)
	assert.Equal(t, got, getModel(migrationHandlerOver(st)).Precopy)

	// Used: a pre-copy prediction from explicit inputs is the model's with the
	// fitted constants, not with the defaults.
	in := migration.Input{MemMB: 800, DirtyMBs: 5, RateMBs: 25}
	code, body = send(t, h, "POST", "/api/v1/migration/predict", `{"ram":"800MB","dirty_rate":"5MB/s","rate":"25MB/s","model":"precopy","profile":"qemu"}`)
	require.Equal(t, 200, code, body)
	var pa PredictAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &pa))
	fitted, err := migration.Predict(in, migration.Config{Kind: migration.Precopy, Profile: migration.QEMU(), Calibration: &kept.Calibration})
	require.NoError(t, err)
	def, err := migration.Predict(in, migration.Config{Kind: migration.Precopy, Profile: migration.QEMU()})
	require.NoError(t, err)
	assert.InDelta(t, fitted.TotalTimeS, pa.TotalTimeS, 1e-9)
	assert.InDelta(t, fitted.DowntimeS, pa.DowntimeS, 1e-9)
	assert.Greater(t, math.Abs(def.TotalTimeS-pa.TotalTimeS), 1.0, "the defaults would predict another time")

	// And a plan's moves.
	code, body = send(t, h, "POST", "/api/v1/migration/plan", `{"options":{"policy":"balance","model":"precopy","profile":"qemu"},"servers":{"a":{"cpu_threshold":0.03}}}`)
	require.Equal(t, 200, code, body)
	var plan PlanAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &plan))
	require.NotEmpty(t, plan.Moves)
	assert.Equal(t, got, plan.Learned.Precopy)
	mv := plan.Moves[0]
	res, err := migration.Predict(migration.Input{MemMB: 800, DirtyMBs: mv.DirtyMBs, RateMBs: mv.RateMBs},
		migration.Config{Kind: migration.Precopy, Profile: migration.QEMU(), Calibration: &kept.Calibration})
	require.NoError(t, err)
	assert.InDelta(t, res.TotalTimeS, mv.TotalTimeS, 1e-9)
	assert.InDelta(t, res.DowntimeS, mv.DowntimeS, 1e-9)
}
