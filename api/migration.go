package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/cemon-sdn/cemon/migration"
	"github.com/cemon-sdn/cemon/placement"
	"github.com/cemon-sdn/cemon/store"
	"github.com/cemon-sdn/cemon/units"
)

// Live-migration endpoints, mounted with the placement endpoints (they read
// the same inventory):
//
//	/api/v1/migration/predict  POST {"vm": ID, "to": SERVER} (R from the free
//	                           bandwidth between the VM's server and SERVER,
//	                           D refined by its recorded migrations) or
//	                           {"ram": "800MB", "dirty_rate": "40MB/s",
//	                           "rate": "100MB/s"}; optional "profile", "model"
//	/api/v1/migration/plan     POST {"options": {...}, "servers": {ID:
//	                           {nic_threshold, cpu_threshold, load_history}},
//	                           "services": [...]}: hotspots and scheduled moves
//	                           over the stored inventory and measured traffic
//	/api/v1/migration/records  GET every record; POST one measured migration,
//	                           which refines its VM's dirty rate, the fitted
//	                           γ and energy coefficients and the pre-copy
//	                           model's constants (η, κ, T_stop, σ)
//	/api/v1/migration/model    GET what the records taught: γ, energy, the
//	                           pre-copy constants in use
//
// Records are kept in the inventory's bbolt file, bucket migration_records;
// the pre-copy constants fitted to them in bucket migration_model, refitted
// on every POSTed record and used by every later prediction and plan.

// BucketMigrationRecords is the bbolt bucket of migration records.
const BucketMigrationRecords = "migration_records"

// BucketMigrationModel is the bbolt bucket of what is fitted to the records.
const BucketMigrationModel = "migration_model"

// keyCalibration is the fitted pre-copy calibration's key in BucketMigrationModel.
const keyCalibration = "precopy_calibration"

// FittedCalibration is the pre-copy model's constants as fitted to the
// records up to and including sequence number Seq (0: none fitted).
type FittedCalibration struct {
	migration.Calibration
	Seq     uint64 `json:"fitted_to_seq"`
	Records int    `json:"records_used"`
}

// CalibrationKeeper is an optional capability of MigrationRecords: it refits
// the pre-copy constants to every record and keeps them.
type CalibrationKeeper interface {
	// RefitCalibration fits the constants to all records and keeps them; it
	// returns what is kept (unchanged when the records determine nothing).
	RefitCalibration() (FittedCalibration, error)
	// FittedCalibration returns the constants kept (Seq 0: none).
	FittedCalibration() (FittedCalibration, error)
}

// StoredRecord is a migration record with its sequence number.
type StoredRecord struct {
	Seq uint64 `json:"seq"`
	migration.Record
}

// MigrationRecords keeps measured migrations.
type MigrationRecords interface {
	AddRecord(migration.Record) (StoredRecord, error)
	Records() ([]StoredRecord, error)
}

// StoreRecords keeps migration records in a *store.Store.
type StoreRecords struct{ Store *store.Store }

// AddRecord appends r under the next sequence number.
func (s StoreRecords) AddRecord(r migration.Record) (StoredRecord, error) {
	var out StoredRecord
	err := s.Store.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(BucketMigrationRecords))
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		out = StoredRecord{Seq: seq, Record: r}
		return store.PutTx(tx, BucketMigrationRecords, fmt.Sprintf("%016x", seq), out)
	})
	return out, err
}

// Records returns every record, oldest first.
func (s StoreRecords) Records() ([]StoredRecord, error) {
	return store.List[StoredRecord](s.Store, BucketMigrationRecords)
}

// RefitCalibration fits the pre-copy constants to every stored record, from
// the defaults (migration.FitCalibration), and keeps them. Reading the records
// and writing the fit is one transaction, so the constants kept always belong
// to a prefix of the records that grows with each call.
func (s StoreRecords) RefitCalibration() (FittedCalibration, error) {
	var out FittedCalibration
	err := s.Store.Update(func(tx *bolt.Tx) error {
		stored, err := store.ListTx[StoredRecord](tx, BucketMigrationRecords)
		if err != nil {
			return err
		}
		if out, err = getCalibration(tx); err != nil {
			return err
		}
		recs := make([]migration.Record, len(stored))
		var last uint64
		for i, r := range stored {
			recs[i] = r.Record
			last = max(last, r.Seq)
		}
		c, n, err := migration.FitCalibration(recs, migration.DefaultCalibration)
		if errors.Is(err, migration.ErrFit) {
			return nil // nothing to fit yet: keep what is kept
		}
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists([]byte(BucketMigrationModel)); err != nil {
			return err
		}
		out = FittedCalibration{Calibration: c, Seq: last, Records: n}
		return store.PutTx(tx, BucketMigrationModel, keyCalibration, out)
	})
	return out, err
}

// FittedCalibration returns the kept pre-copy constants (Seq 0: none).
func (s StoreRecords) FittedCalibration() (FittedCalibration, error) {
	var out FittedCalibration
	err := s.Store.View(func(tx *bolt.Tx) error {
		var err error
		out, err = getCalibration(tx)
		return err
	})
	return out, err
}

func getCalibration(tx *bolt.Tx) (FittedCalibration, error) {
	if tx.Bucket([]byte(BucketMigrationModel)) == nil {
		return FittedCalibration{}, nil
	}
	c, err := store.GetTx[FittedCalibration](tx, BucketMigrationModel, keyCalibration)
	if errors.Is(err, store.ErrNotFound) {
		return FittedCalibration{}, nil
	}
	if err == nil && c.Seq > 0 && c.StopShare == 0 {
		// Kept by a build whose stop cost went with σ over the last round's
		// dirty pages alone (stop_per_s, no longer read): its T_stop does not
		// fit today's downtime, which counts the whole stop-and-copy. The
		// defaults stand until the next record refits them.
		c.StopS = 0
	}
	return c, err
}

// MigrationNetworker is an optional capability of the placement backend: the
// network between two servers (the links and their free bandwidth, from the
// counters cemon measures). Without it the planner uses the servers' NICs.
type MigrationNetworker interface {
	MigrationNetwork() migration.Network
}

func init() { extensions = append(extensions, mountMigration) }

func mountMigration(r *routes, b Backend) {
	pb, ok := capability[PlacementBackend](b)
	if !ok {
		return
	}
	s := migrationServer{pb: pb}
	if st, ok := pb.Inventory().(*store.Store); ok {
		s.records = StoreRecords{Store: st}
	}
	s.network = findNetwork(b)
	r.handle(http.MethodPost, "/api/v1/migration/predict", Op{Summary: "predict a live migration: of a VM to a server (R from the free bandwidth measured between them) or from explicit inputs",
		Body: predictRequest{}, Response: PredictAnswer{}, Auth: true}, s.predict)
	r.handle(http.MethodPost, "/api/v1/migration/plan", Op{Summary: "hotspots and an SLA-aware migration plan over the stored inventory and the measured traffic",
		Body: planRequest{}, Response: PlanAnswer{}, Auth: true}, s.plan)
	r.get("/api/v1/migration/records", listOp(Op{Summary: "recorded migrations, oldest first", Response: []StoredRecord{}}), s.listRecords)
	r.handle(http.MethodPost, "/api/v1/migration/records", Op{Summary: "record a measured migration: refines its VM's dirty rate, refits the γ and energy coefficients and the pre-copy model's constants, and keeps them",
		Body: migration.Record{}, Response: RecordAnswer{}, Status: http.StatusCreated, Auth: true}, s.addRecord)
	r.get("/api/v1/migration/model", Op{Summary: "what the recorded migrations taught: the γ and energy coefficients and the pre-copy constants in use",
		Response: learned{}}, s.model)
}

// findNetwork looks for a MigrationNetworker among b, the Backends it wraps
// and the PlacementBackends WithPlacement wrapped in.
func findNetwork(b Backend) migration.Network {
	for b != nil {
		if mn, ok := b.(MigrationNetworker); ok {
			return mn.MigrationNetwork()
		}
		if pw, ok := b.(placementBackend); ok {
			if mn, ok := pw.PlacementBackend.(MigrationNetworker); ok {
				return mn.MigrationNetwork()
			}
		}
		u, ok := b.(Unwrapper)
		if !ok {
			break
		}
		b = u.Unwrap()
	}
	return nil
}

type migrationServer struct {
	pb      PlacementBackend
	records MigrationRecords
	network migration.Network
}

// learned is what the recorded migrations teach: each VM's dirty-rate
// history and the refitted coefficients (the paper's while too few records
// determine them).
type learned struct {
	Dirty        map[string]migration.DirtyHistory `json:"-"`
	Gamma        migration.Gamma                   `json:"gamma"`
	GammaFitted  bool                              `json:"gamma_fitted"`
	GammaObs     int                               `json:"gamma_observations"`
	Energy       migration.Energy                  `json:"energy"`
	EnergyFitted bool                              `json:"energy_fitted"`
	EnergyObs    int                               `json:"energy_records"`
	// Precopy is the pre-copy model's constants in use: the defaults until
	// records have been fitted (Precopy.Seq 0), then the kept fit.
	Precopy FittedCalibration `json:"precopy"`
}

func (s migrationServer) learn() (learned, error) {
	l := learned{Dirty: map[string]migration.DirtyHistory{}, Gamma: migration.PaperGamma, Energy: migration.PaperEnergy,
		Precopy: FittedCalibration{Calibration: migration.DefaultCalibration}}
	if s.records == nil {
		return l, nil
	}
	if ck, ok := s.records.(CalibrationKeeper); ok {
		c, err := ck.FittedCalibration()
		if err != nil {
			return l, err
		}
		if c.Seq > 0 {
			l.Precopy = c
		}
	}
	stored, err := s.records.Records()
	if err != nil {
		return l, err
	}
	recs := make([]migration.Record, len(stored))
	for i, r := range stored {
		recs[i] = r.Record
		d, ok := migration.MeanDirtyRate(r.Rounds)
		if !ok {
			d = r.DirtyMBs
		}
		l.Dirty[r.VM] = l.Dirty[r.VM].Observe(d)
	}
	if g, n, err := migration.FitGamma(recs); err == nil {
		l.Gamma, l.GammaFitted = g, true
		l.GammaObs = n
	} else {
		l.GammaObs = n
	}
	if e, n, err := migration.FitEnergy(recs); err == nil {
		l.Energy, l.EnergyFitted = e, true
		l.EnergyObs = n
	} else {
		l.EnergyObs = n
	}
	return l, nil
}

// measuredPlaced is the stored inventory's placed VMs with the traffic
// measured between them (placement.FromReader).
func (s migrationServer) measuredPlaced() (placement.Inventory, error) {
	inv, err := s.pb.Inventory().Inventory()
	if err != nil {
		return inv, err
	}
	placed := inv
	placed.VMs = nil
	for _, v := range inv.VMs {
		if v.Server != "" {
			placed.VMs = append(placed.VMs, v)
		}
	}
	if r := s.pb.Counters(); r != nil {
		placed = placement.FromReader(r, placed).Inventory
		placed.Hops = inv.Hops
	}
	return placed, nil
}

type predictRequest struct {
	VM        string `json:"vm,omitempty"`
	To        string `json:"to,omitempty"`
	RAM       string `json:"ram,omitempty"`
	DirtyRate string `json:"dirty_rate,omitempty"`
	Rate      string `json:"rate,omitempty"`
	Profile   string `json:"profile,omitempty"`
	Model     string `json:"model,omitempty"`
}

// PredictAnswer is the answer of POST /api/v1/migration/predict.
type PredictAnswer struct {
	migration.Result
	VM       string  `json:"vm,omitempty"`
	From     string  `json:"from,omitempty"`
	To       string  `json:"to,omitempty"`
	DirtyMBs float64 `json:"dirty_rate_mb_s"`
	FreeMBs  float64 `json:"free_mb_s,omitempty"`
}

func (s migrationServer) predict(w http.ResponseWriter, req *http.Request) {
	var body predictRequest
	if !decodeBody(w, req, &body) {
		return
	}
	prof, err := migration.ProfileByName(body.Profile)
	if err != nil {
		writeError(w, http.StatusBadRequest, "profile: "+err.Error())
		return
	}
	kind, err := migration.ParseKind(body.Model)
	if err != nil {
		writeError(w, http.StatusBadRequest, "model: "+err.Error())
		return
	}
	l, err := s.learn()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	cfg := migration.Config{Kind: kind, Profile: prof, Gamma: &l.Gamma, Energy: &l.Energy, Calibration: &l.Precopy.Calibration}
	var ans PredictAnswer
	var in migration.Input
	switch {
	case body.VM != "" && (body.RAM != "" || body.DirtyRate != "" || body.Rate != ""):
		writeError(w, http.StatusBadRequest, "give either vm and to, or ram, dirty_rate and rate")
		return
	case body.VM != "":
		if body.To == "" {
			writeError(w, http.StatusBadRequest, "to: required with vm")
			return
		}
		var status int
		if in, ans, status, err = s.vmInput(body.VM, body.To, l); err != nil {
			writeError(w, status, err.Error())
			return
		}
	default:
		var errs []string
		if v, err := units.ParseSize(body.RAM); err != nil || v <= 0 {
			errs = append(errs, fmt.Sprintf("ram: want a positive size such as 800MB, got %q", body.RAM))
		} else {
			in.MemMB = v / 1e6
		}
		if v, err := units.ParseRate(body.DirtyRate); err != nil {
			errs = append(errs, fmt.Sprintf("dirty_rate: want a rate such as 40MB/s, got %q", body.DirtyRate))
		} else {
			in.DirtyMBs = v / 1e6
		}
		if v, err := units.ParseRate(body.Rate); err != nil || v <= 0 {
			errs = append(errs, fmt.Sprintf("rate: want a positive rate such as 100MB/s, got %q", body.Rate))
		} else {
			in.RateMBs = v / 1e6
		}
		if len(errs) > 0 {
			writeError(w, http.StatusBadRequest, strings.Join(errs, "; "))
			return
		}
	}
	res, err := migration.Predict(in, cfg)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res.Trace = nil
	ans.Result, ans.DirtyMBs = res, in.DirtyMBs
	writeJSON(w, http.StatusOK, ans)
}

// vmInput is the model's input for moving vm to server to: its memory, its
// refined dirty rate, and R = min(D + δ, free) over the two NICs and the path.
func (s migrationServer) vmInput(vmID, to string, l learned) (migration.Input, PredictAnswer, int, error) {
	inv, err := s.measuredPlaced()
	if err != nil {
		return migration.Input{}, PredictAnswer{}, http.StatusInternalServerError, err
	}
	var vm *placement.VM
	for i := range inv.VMs {
		if inv.VMs[i].ID == vmID {
			vm = &inv.VMs[i]
		}
	}
	if vm == nil {
		return migration.Input{}, PredictAnswer{}, http.StatusNotFound, fmt.Errorf("no placed VM %q", vmID)
	}
	if vm.Server == to {
		return migration.Input{}, PredictAnswer{}, http.StatusBadRequest, fmt.Errorf("to: VM %q already runs on %q", vmID, to)
	}
	assign := map[string]string{}
	for _, v := range inv.VMs {
		assign[v.ID] = v.Server
	}
	rep, err := placement.Evaluate(inv, assign)
	if err != nil {
		return migration.Input{}, PredictAnswer{}, http.StatusInternalServerError, err
	}
	var src, dst *placement.Server
	free := math.Inf(1)
	for j, sv := range inv.Servers {
		sl := rep.Servers[j]
		left := sv.NICBps - math.Max(sl.NICOutBps, sl.NICInBps)
		switch sv.ID {
		case vm.Server:
			src = &inv.Servers[j]
			free = math.Min(free, left)
		case to:
			dst = &inv.Servers[j]
			free = math.Min(free, left)
		}
	}
	if dst == nil {
		return migration.Input{}, PredictAnswer{}, http.StatusNotFound, fmt.Errorf("to: no server %q", to)
	}
	if s.network != nil && src != nil {
		if _, f, ok := s.network.Path(*src, *dst); ok {
			free = math.Min(free, f)
		}
	}
	freeMBs := migration.BpsToMBs(max(free, 0))
	d := l.Dirty[vm.ID].Estimate(vm.DirtyRateMBs)
	rate := migration.TransferRate(d, 0, 0, freeMBs)
	if rate <= 0 {
		return migration.Input{}, PredictAnswer{}, http.StatusUnprocessableEntity,
			fmt.Errorf("no free bandwidth between %q and %q", vm.Server, to)
	}
	in := migration.Input{MemMB: vm.RAMMB, DirtyMBs: d, RateMBs: rate}
	return in, PredictAnswer{VM: vm.ID, From: vm.Server, To: to, FreeMBs: freeMBs}, 0, nil
}

type planRequest struct {
	Options  migration.PlanOptions            `json:"options"`
	Servers  map[string]migration.ServerInput `json:"servers,omitempty"`
	Services []migration.Service              `json:"services,omitempty"`
}

// PlanAnswer is the answer of POST /api/v1/migration/plan.
type PlanAnswer struct {
	migration.Plan
	Learned learned `json:"model"`
}

func (s migrationServer) plan(w http.ResponseWriter, req *http.Request) {
	var body planRequest
	if !decodeBody(w, req, &body) {
		return
	}
	cfg, err := body.Options.Config()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	l, err := s.learn()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	cfg.Model.Gamma, cfg.Model.Energy, cfg.Model.Calibration = &l.Gamma, &l.Energy, &l.Precopy.Calibration
	inv, err := s.measuredPlaced()
	if err != nil {
		storeError(w, "VM", err)
		return
	}
	plan, err := migration.MakePlan(migration.PlanInput{Inventory: inv, Servers: body.Servers, Services: body.Services,
		Dirty: l.Dirty, Network: s.network}, cfg)
	if err != nil {
		if errors.Is(err, migration.ErrInput) || errors.Is(err, placement.ErrInvalid) {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, PlanAnswer{Plan: plan, Learned: l})
}

func (s migrationServer) listRecords(w http.ResponseWriter, req *http.Request) {
	if s.records == nil {
		writeError(w, http.StatusServiceUnavailable, "migration records need the bbolt store")
		return
	}
	recs, err := s.records.Records()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeList(w, req, recs, func(x *StoredRecord) string { return idKey(x.Seq) })
}

// RecordAnswer is the answer of POST /api/v1/migration/records: the stored
// record, its VM's refined dirty rate and the coefficients now in use.
type RecordAnswer struct {
	Record  StoredRecord           `json:"record"`
	Dirty   migration.DirtyHistory `json:"dirty_rate"`
	Learned learned                `json:"model"`
}

func (s migrationServer) addRecord(w http.ResponseWriter, req *http.Request) {
	if s.records == nil {
		writeError(w, http.StatusServiceUnavailable, "migration records need the bbolt store")
		return
	}
	var rec migration.Record
	if !decodeBody(w, req, &rec) {
		return
	}
	if err := rec.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	stored, err := s.records.AddRecord(rec)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if ck, ok := s.records.(CalibrationKeeper); ok {
		if _, err := ck.RefitCalibration(); err != nil {
			writeError(w, http.StatusInternalServerError, "refitting the pre-copy constants: "+err.Error())
			return
		}
	}
	l, err := s.learn()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Location", "/api/v1/migration/records#"+strconv.FormatUint(stored.Seq, 10))
	writeJSON(w, http.StatusCreated, RecordAnswer{Record: stored, Dirty: l.Dirty[rec.VM], Learned: l})
}

func (s migrationServer) model(w http.ResponseWriter, _ *http.Request) {
	l, err := s.learn()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, l)
}
