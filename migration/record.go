package migration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Record is the measured outcome of one migration.
type Record struct {
	VM         string   `json:"vm"`
	Profile    string   `json:"profile"`
	RAMMB      float64  `json:"ram_mb"`
	DirtyMBs   float64  `json:"dirty_rate_mb_s"`
	RateMBs    float64  `json:"rate_mb_s"`
	TotalTimeS float64  `json:"total_time_s"`
	DowntimeS  float64  `json:"downtime_s"`
	TrafficMB  float64  `json:"traffic_mb"`
	EnergyJ    *float64 `json:"energy_j,omitempty"`
	Rounds     []Round  `json:"rounds,omitempty"`
}

// maxRecordRounds bounds the rounds a record may carry.
const maxRecordRounds = 100000

// Validate names every bad field.
func (r Record) Validate() error {
	var errs []error
	if r.VM == "" {
		errs = append(errs, fmt.Errorf("%w: record has no vm", ErrInput))
	}
	if _, err := ProfileByName(r.Profile); err != nil || r.Profile == "" {
		errs = append(errs, fmt.Errorf("%w: record profile %q (want xen or qemu)", ErrInput, r.Profile))
	}
	nonneg := func(name string, v float64, positive bool) {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || (positive && v == 0) {
			errs = append(errs, fmt.Errorf("%w: record %s %v", ErrInput, name, v))
		}
	}
	nonneg("ram_mb", r.RAMMB, true)
	nonneg("dirty_rate_mb_s", r.DirtyMBs, false)
	nonneg("rate_mb_s", r.RateMBs, true)
	nonneg("total_time_s", r.TotalTimeS, false)
	nonneg("downtime_s", r.DowntimeS, false)
	nonneg("traffic_mb", r.TrafficMB, false)
	if r.EnergyJ != nil {
		nonneg("energy_j", *r.EnergyJ, false)
	}
	if len(r.Rounds) > maxRecordRounds {
		errs = append(errs, fmt.Errorf("%w: record has %d rounds (at most %d)", ErrInput, len(r.Rounds), maxRecordRounds))
	} else {
		for i, rd := range r.Rounds {
			for _, f := range []struct {
				name string
				v    float64
			}{{"duration_s", rd.DurationS}, {"dirty_mb", rd.DirtyMB}, {"sent_mb", rd.SentMB}, {"skipped_mb", rd.SkippedMB}} {
				if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
					errs = append(errs, fmt.Errorf("%w: record round %d %s %v", ErrInput, i, f.name, f.v))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// DecodeRecord reads one record from JSON, refusing unknown fields and
// trailing data, and validates it.
func DecodeRecord(b []byte) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return Record{}, fmt.Errorf("%w: record: %v", ErrInput, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Record{}, fmt.Errorf("%w: record: data after the object", ErrInput)
	}
	if err := r.Validate(); err != nil {
		return Record{}, err
	}
	return r, nil
}

// RecordOf turns a prediction into a record (what a simulated migration
// would report), for tests and the simulator.
func RecordOf(vm string, in Input, r Result, withEnergy bool) Record {
	rec := Record{VM: vm, Profile: r.Profile, RAMMB: in.MemMB, DirtyMBs: in.DirtyMBs, RateMBs: in.RateMBs,
		TotalTimeS: r.TotalTimeS, DowntimeS: r.DowntimeS, TrafficMB: r.TrafficMB, Rounds: r.Trace}
	if withEnergy {
		e := r.EnergyJ
		rec.EnergyJ = &e
	}
	return rec
}
