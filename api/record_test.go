package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeRecords is the cluster's record of flows by instance, read as the cluster
// package reads etcd's: per instance not skipped, at most limit flows above after.
type fakeRecords struct {
	mu    sync.Mutex
	by    map[string][]FlowRecord // by ID within each
	err   error
	calls int
	skips [][]string
}

func (f *fakeRecords) read(_ context.Context, skip []string, after uint64, limit int) ([]FlowRecord, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.skips = append(f.skips, slices.Clone(skip))
	if f.err != nil {
		return nil, false, f.err
	}
	var out []FlowRecord
	more := false
	for inst, rs := range f.by {
		if slices.Contains(skip, inst) {
			continue
		}
		n := 0
		for _, r := range rs {
			if r.Flow.ID <= after {
				continue
			}
			if n == limit {
				more = true
				break
			}
			out = append(out, r)
			n++
		}
	}
	return out, more, nil
}

func recorded(owner string, alive time.Time, ids ...uint64) []FlowRecord {
	var out []FlowRecord
	for _, id := range ids {
		out = append(out, FlowRecord{Owner: owner, Alive: alive, Src: "10.0.0.1", Dst: "10.0.0.2",
			Flow: Flow{ID: id, Cookie: FormatCookie(id), Path: []string{"0000000000000004", "0000000000000005"},
				Entries: []FlowEntry{{DPID: "0000000000000004", InPort: 1, OutPort: 2}, {DPID: "0000000000000005", InPort: 1, OutPort: 2}},
				Start:   t0}})
	}
	return out
}

func liveFlows(ids ...uint64) []Flow {
	var out []Flow
	for _, id := range ids {
		out = append(out, Flow{ID: id, Cookie: FormatCookie(id), Path: []string{"0000000000000001"}, State: StateActive, Start: t0})
	}
	return out
}

// A peer that does not answer (d: its process is gone) and an instance gone from the
// cluster (e) are served from the cluster's record, marked; a flow e recorded that b
// adopted is listed once, b's live entry; pages of every size walk the mix.
func TestFederatedFlowsFromRecord(t *testing.T) {
	old, oldRec := PeerTimeout, RecordTimeout
	PeerTimeout, RecordTimeout = time.Second, time.Second
	t.Cleanup(func() { PeerTimeout, RecordTimeout = old, oldRec })

	var members []ClusterMember
	var mu sync.Mutex
	list := func() []ClusterMember { mu.Lock(); defer mu.Unlock(); return members }
	// b: live, owns 2 5 8 and 10 (adopted from e, same id).
	bb := &fakeBackend{flows: liveFlows(2, 5, 8, 10)}
	bb.flows[3].Path = []string{"0000000000000004", "0000000000000005"} // adopted: e's path
	bh := NewHandler(WithStats(WithCluster(bb, func() ClusterStatus { return ClusterStatus{ID: "b", Members: list()} }),
		&pagedStats{flows: flowsWith(2, 8, 10), ports: []PortStats{{At: t0}}}), nil)
	b := httptest.NewServer(bh)
	t.Cleanup(b.Close)
	dead := closedAddr(t)
	mu.Lock()
	members = []ClusterMember{{ID: "a"}, {ID: "b", API: strings.TrimPrefix(b.URL, "http://")}, {ID: "d", API: dead}}
	mu.Unlock()
	now := time.Now()
	dAlive, eAlive := now.Add(-2*time.Second), now.Add(-9*time.Second)
	recs := &fakeRecords{by: map[string][]FlowRecord{
		"b": recorded("b", now, 2, 5, 8), // b's own record: b answers, never read
		"d": recorded("d", dAlive, 4, 9, 12),
		"e": recorded("e", eAlive, 6, 10),
	}}
	aBackend := &fakeBackend{flows: liveFlows(1, 3)}
	a := NewHandler(WithStats(WithClusterRecords(aBackend, func() ClusterStatus { return ClusterStatus{ID: "a", Members: list()} }, recs.read),
		&pagedStats{flows: flowsWith(1, 3), ports: []PortStats{{At: t0}}}), nil)

	want := []uint64{1, 2, 3, 4, 5, 6, 8, 9, 10, 12}
	fromRecord := map[uint64]string{4: "d", 6: "e", 9: "d", 12: "d"}
	for limit := 1; limit <= 11; limit++ {
		var got []uint64
		target := "/api/v1/flows?limit=" + itoa(limit)
		for pages := 0; target != "" && pages < 20; pages++ {
			code, hdr, body := do(t, a, "GET", target)
			require.Equal(t, 200, code, body)
			var page []Flow
			require.NoError(t, json.Unmarshal([]byte(body), &page))
			assert.LessOrEqual(t, len(page), limit)
			for _, f := range page {
				got = append(got, f.ID)
				if owner, ok := fromRecord[f.ID]; ok {
					require.NotNil(t, f.Record, "flow %d", f.ID)
					assert.Equal(t, RecordSource, f.Record.Source)
					assert.Equal(t, owner, f.Record.Owner)
					require.NotNil(t, f.Record.AgeSeconds)
					if owner == "d" {
						assert.InDelta(t, 2, *f.Record.AgeSeconds, 1)
					} else {
						assert.InDelta(t, 9, *f.Record.AgeSeconds, 1)
					}
					assert.Equal(t, StateActive, f.State)
					assert.Equal(t, []string{"0000000000000004", "0000000000000005"}, f.Path)
					assert.Contains(t, hdr.Get("X-Cemon-Recorded"), owner)
				} else {
					assert.Nil(t, f.Record, "flow %d is its owner's live entry", f.ID)
				}
			}
			assert.Equal(t, "a,b", hdr.Get("X-Cemon-Instances"))
			assert.Empty(t, hdr.Get("X-Cemon-Partial"), "d's flows are in the answer, from the record")
			assert.Contains(t, hdr.Get("X-Cemon-Recorded"), "d")
			target = nextLink(hdr.Get("Link"))
		}
		assert.Equal(t, want, got, "pages of %d", limit)
	}
	// The record is read for every instance but those that answered.
	recs.mu.Lock()
	assert.Equal(t, []string{"a", "b"}, recs.skips[0])
	recs.mu.Unlock()

	// Statistics: no counters from the record, stale, marked.
	code, hdr, body := do(t, a, "GET", "/api/v1/stats/flows?state=active")
	require.Equal(t, 200, code, body)
	var fs []FlowStats
	require.NoError(t, json.Unmarshal([]byte(body), &fs))
	ids := make([]uint64, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
		if _, ok := fromRecord[f.ID]; ok {
			require.NotNil(t, f.Record)
			assert.True(t, f.Stale)
			assert.True(t, f.Active)
			assert.Zero(t, f.Bytes)
			assert.Nil(t, f.LastPolled)
			assert.Equal(t, "10.0.0.1", f.Src)
		} else {
			assert.Nil(t, f.Record)
		}
	}
	assert.Equal(t, []uint64{1, 2, 3, 4, 6, 8, 9, 10, 12}, ids) // b's stats hold no 5
	assert.Equal(t, "d,e", hdr.Get("X-Cemon-Recorded"))
	// Filters apply to the record's flows too.
	code, _, body = do(t, a, "GET", "/api/v1/stats/flows?state=expired")
	require.Equal(t, 200, code, body)
	assert.NotContains(t, body, RecordSource)
	code, _, body = do(t, a, "GET", "/api/v1/flows?dpid=0000000000000005")
	require.Equal(t, 200, code, body)
	var onS5 []Flow
	require.NoError(t, json.Unmarshal([]byte(body), &onS5))
	ids = nil
	for _, f := range onS5 {
		ids = append(ids, f.ID)
		assert.Equal(t, f.ID != 10, f.Record != nil, "flow %d", f.ID)
	}
	assert.Equal(t, []uint64{4, 6, 9, 10, 12}, ids) // 10: b's live entry
	code, _, body = do(t, a, "GET", "/api/v1/flows?state=expired")
	require.Equal(t, 200, code, body)
	assert.Equal(t, "[]\n", body)

	// The record cannot be read: d is partial again, e's flows are missing.
	recs.mu.Lock()
	recs.err = errors.New("etcd unreachable")
	recs.mu.Unlock()
	code, hdr, body = do(t, a, "GET", "/api/v1/flows")
	require.Equal(t, 200, code, body)
	assert.Equal(t, "d", hdr.Get("X-Cemon-Partial"))
	assert.Empty(t, hdr.Get("X-Cemon-Recorded"))
	assert.NotContains(t, body, RecordSource)

	// scope=local never reads the record.
	recs.mu.Lock()
	recs.err, recs.calls = nil, 0
	recs.mu.Unlock()
	code, _, body = do(t, a, "GET", "/api/v1/flows?scope=local")
	require.Equal(t, 200, code, body)
	recs.mu.Lock()
	assert.Zero(t, recs.calls)
	recs.mu.Unlock()
}

// A peer that hangs costs at most PeerTimeout, and a record that hangs at most
// RecordTimeout: the list is answered within their sum.
func TestFederatedFlowsBoundedInTime(t *testing.T) {
	old, oldRec := PeerTimeout, RecordTimeout
	PeerTimeout, RecordTimeout = 300*time.Millisecond, 200*time.Millisecond
	t.Cleanup(func() { PeerTimeout, RecordTimeout = old, oldRec })
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	members := []ClusterMember{{ID: "a"}, {ID: "h", API: strings.TrimPrefix(hang.URL, "http://")}}
	slow := func(ctx context.Context, _ []string, _ uint64, _ int) ([]FlowRecord, bool, error) {
		<-ctx.Done()
		return nil, false, ctx.Err()
	}
	a := NewHandler(WithClusterRecords(&fakeBackend{flows: liveFlows(1)}, func() ClusterStatus {
		return ClusterStatus{ID: "a", Members: members}
	}, slow), nil)
	start := time.Now()
	code, hdr, body := do(t, a, "GET", "/api/v1/flows")
	took := time.Since(start)
	require.Equal(t, 200, code, body)
	assert.Equal(t, "h", hdr.Get("X-Cemon-Partial"))
	assert.Less(t, took, 2*time.Second)
	assert.GreaterOrEqual(t, took, 500*time.Millisecond)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
