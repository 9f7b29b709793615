package api

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Flows served from the cluster's record. Each instance records the flows it owns in
// the cluster's shared store (etcd): one record per flow, its identity and path,
// written when the flow starts and deleted when it ends or another instance adopts
// it. When an instance does not answer a federated flow list (it was killed, its
// lease expired, or it is unreachable), the lists GET /api/v1/flows and
// /api/v1/stats/flows serve its flows from that record until their new owners adopt
// them, so that the list stays whole:
//
//   - every such item carries "record": {"source": "cluster-record", "owner",
//     "owner_alive", "age_seconds"}; an item without "record" is its owner's live
//     answer;
//   - the record holds no counters: a flow's statistics from the record read zero
//     bytes, packets and rates, with last_polled null, readings 0 and stale true;
//   - a flow listed live by an instance (its new owner, after adoption: same id and
//     cookie) is never listed from the record too: the live entry wins;
//   - the header X-Cemon-Recorded names the instances whose flows the answer serves
//     from the record; X-Cemon-Partial then names only the peers whose flows are
//     missing (neither their answer nor their record could be read).

// RecordSource is RecordMark.Source.
const RecordSource = "cluster-record"

// RecordMark marks an item of a federated flow list served from the cluster's record.
type RecordMark struct {
	Source string `json:"source" doc:"cluster-record: the item comes from the cluster's shared record in etcd, not from its owner's answer"`
	Owner  string `json:"owner" doc:"the instance that recorded the flow (it did not answer)"`
	// OwnerAlive is the latest time this instance knows the owner was alive (its
	// lease last seen live, less the lease's TTL); AgeSeconds is the time since
	// then, an upper bound on how old the record is. Both null when unknown.
	OwnerAlive *time.Time `json:"owner_alive" doc:"the latest time the owner is known to have been alive; null if unknown"`
	AgeSeconds *float64   `json:"age_seconds" doc:"seconds since owner_alive: an upper bound on the record's age; null if unknown"`
}

// FlowRecord is one flow as the cluster's record holds it.
type FlowRecord struct {
	Owner string    // the instance that recorded it
	Alive time.Time // the latest time Owner is known alive; zero if unknown
	// Flow is its identity (ID, Cookie, Match, Path, Entries' ports, Start); State
	// is StateActive (a record lives while its flow does).
	Flow     Flow
	Src, Dst string // its hosts, as FlowStats names them
}

// ClusterRecords is an optional capability of a cluster Backend: the flows the
// cluster's record holds for instances other than the ones named in skip, per
// instance at most limit flows with IDs above after, by ID; more says some instance
// has more.
type ClusterRecords interface {
	FlowRecords(ctx context.Context, skip []string, after uint64, limit int) (recs []FlowRecord, more bool, err error)
}

// RecordTimeout bounds the read of the cluster's record by one federated list, after
// the peers' answers (bounded by PeerTimeout).
var RecordTimeout = 500 * time.Millisecond

// WithClusterRecords is WithCluster whose Backend also serves the cluster's flow
// records (ClusterRecords) through rec.
func WithClusterRecords(b Backend, c func() ClusterStatus,
	rec func(ctx context.Context, skip []string, after uint64, limit int) ([]FlowRecord, bool, error)) Backend {
	if b == nil {
		b = noBackend{}
	}
	return clusterRecordBackend{clusterBackend: clusterBackend{Backend: b, status: c}, rec: rec}
}

type clusterRecordBackend struct {
	clusterBackend
	rec func(ctx context.Context, skip []string, after uint64, limit int) ([]FlowRecord, bool, error)
}

func (c clusterRecordBackend) FlowRecords(ctx context.Context, skip []string, after uint64, limit int) ([]FlowRecord, bool, error) {
	return c.rec(ctx, skip, after, limit)
}

// mark is the RecordMark of r as of now.
func (r *FlowRecord) mark(now time.Time) *RecordMark {
	m := &RecordMark{Source: RecordSource, Owner: r.Owner}
	if !r.Alive.IsZero() {
		alive := r.Alive.UTC()
		age := max(0, now.Sub(r.Alive).Seconds())
		m.OwnerAlive, m.AgeSeconds = &alive, &age
	}
	return m
}

// recordFlow is r as an item of GET /api/v1/flows, if the query's filters (state,
// dpid; validated by flowList) keep it.
func recordFlow(q url.Values, r *FlowRecord, now time.Time) (Flow, bool) {
	var states []string
	if v := q.Get("state"); v != "" {
		states = strings.Split(v, ",")
	}
	dpid := ""
	if v := q.Get("dpid"); v != "" {
		d, err := ParseDPID(v)
		if err != nil {
			return Flow{}, false
		}
		dpid = d
	}
	f := normalizeFlow(r.Flow)
	f.State = StateActive
	if states != nil && !slices.Contains(states, f.State) {
		return Flow{}, false
	}
	if dpid != "" && !slices.Contains(f.Path, dpid) {
		return Flow{}, false
	}
	f.Record = r.mark(now)
	return f, true
}

// recordFlowStats is r as an item of GET /api/v1/stats/flows, if ?state keeps it:
// no counters (the record holds none), stale.
func recordFlowStats(q url.Values, r *FlowRecord, now time.Time) (FlowStats, bool) {
	if q.Get("state") == "expired" {
		return FlowStats{}, false
	}
	return FlowStats{ID: r.Flow.ID, Src: r.Src, Dst: r.Dst, Active: true, Start: r.Flow.Start, Stale: true,
		Record: r.mark(now)}, true
}
