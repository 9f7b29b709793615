package api

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// One view from any instance. In a cluster (the Backend implements
// [ClusterProvider]) GET /api/v1/stats/links, /api/v1/stats/matrix,
// /api/v1/stats/hosts, /api/v1/stats/ports and /api/v1/stats/snapshot answer for the
// whole network: the instance fetches every peer's own figures (the same path with
// ?scope=local, so that peers do not fan out in turn) from the API address the peer
// publishes in its membership record, concurrently and within PeerTimeout, and
// merges them with its own. Each flow is owned by one instance, so a link's load, a
// matrix cell and a host's totals are the sums of the instances' figures; a port's
// rates measure the port itself and are the latest reading any instance has.
// ?scope=local answers with this instance's figures only.
//
// The flow lists GET /api/v1/flows and /api/v1/stats/flows are merged page by page
// (federatedPage): each peer is asked for the same page (the client's ?limit, ?after
// and filters, with scope=local), and the answer is the first ?limit items, by id,
// of this instance's and the peers' pages. Every instance orders its flows by the
// same key and the cursor is that key, so the next page (Link rel="next", sent when
// items are left here or on a peer that sent a next link of its own) starts right
// after the last item sent, wherever the items of that page live.
//
// Headers of a cluster answer:
//
//	X-Cemon-Scope      cluster or local
//	X-Cemon-Instances  the instances whose figures the answer holds, this one first
//	X-Cemon-Partial    the peers that did not answer in time or answered badly (absent
//	                   when every peer answered); the answer holds the others' figures
//	X-Cemon-Recorded   (flow lists) the instances whose flows are served from the
//	                   cluster's record because they did not answer: the list is whole,
//	                   those items stale and marked (record.go); such peers are not
//	                   named in X-Cemon-Partial
//
// A peer that does not answer never fails the request. A flow list waits at most
// PeerTimeout for the peers, then at most RecordTimeout for the record.

// PeerTimeout bounds the wait for the peers' figures.
var PeerTimeout = time.Second

// peerPageLimit is the page size asked of peers, and maxPeerPages bounds the pages
// fetched from one peer.
var peerPageLimit = MaxPageLimit

const maxPeerPages = 100

// peerClient fetches peers' figures; the request's context bounds each fetch.
var peerClient = &http.Client{}

// scopeParam is the query parameter of the federated statistics lists.
var scopeParam = Param{Name: "scope", Description: "cluster (default): the whole network, merged from every instance's own figures; " +
	"local: this instance's flows only (what peers fetch from each other). Unreachable peers are named in the X-Cemon-Partial header"}

// flowListHeaders are the headers of a cluster's federated flow lists.
var flowListHeaders = []Param{
	{Name: "X-Cemon-Scope", Description: "cluster (the whole network) or local (this instance's own flows)"},
	{Name: "X-Cemon-Instances", Description: "the instances that answered for their own flows, this one first"},
	{Name: "X-Cemon-Recorded", Description: "the instances whose flows are served from the cluster's record in etcd because they did not " +
		"answer (killed, lease expired, unreachable) and their flows are not adopted yet: those items carry \"record\" " +
		"(source cluster-record, owner, owner_alive, age_seconds) and no fresh counters; the list is whole but those items are stale"},
	{Name: "X-Cemon-Partial", Description: "the peers whose flows are missing from the answer: they did not answer in time and their " +
		"record could not be read either"},
}

// peer is another instance of the cluster and its REST API address (host:port).
type peer struct{ id, api string }

// clusterPeers returns st's members other than st.ID that publish an API address,
// by ID.
func clusterPeers(st ClusterStatus) []peer {
	var out []peer
	for _, m := range st.Members {
		if m.ID != st.ID && m.API != "" {
			out = append(out, peer{id: m.ID, api: m.API})
		}
	}
	slices.SortFunc(out, func(a, b peer) int { return cmp.Compare(a.id, b.id) })
	return out
}

// peerResult is one peer's list, or why there is none.
type peerResult[T any] struct {
	id    string
	items []T
	err   error
}

// fetchPeers fetches path?scope=local (every page) from each peer concurrently,
// each within ctx. Results are in peers' order.
func fetchPeers[T any](ctx context.Context, peers []peer, path string) []peerResult[T] {
	out := make([]peerResult[T], len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items, err := fetchList[T](ctx, p.api, path)
			out[i] = peerResult[T]{id: p.id, items: items, err: err}
		}()
	}
	wg.Wait()
	return out
}

// fetchList fetches every page of the list at http://addr/path?scope=local.
func fetchList[T any](ctx context.Context, addr, path string) ([]T, error) {
	q := url.Values{"scope": {"local"}, "limit": {fmt.Sprint(peerPageLimit)}}
	target := "http://" + addr + path + "?" + q.Encode()
	var all []T
	for range maxPeerPages {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		res, err := peerClient.Do(req)
		if err != nil {
			return nil, err
		}
		var page []T
		if res.StatusCode != http.StatusOK {
			res.Body.Close()
			return nil, fmt.Errorf("%s: %s", target, res.Status)
		}
		err = json.NewDecoder(io.LimitReader(res.Body, 256<<20)).Decode(&page)
		res.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", target, err)
		}
		all = append(all, page...)
		next := nextLink(res.Header.Get("Link"))
		if next == "" {
			return all, nil
		}
		target = "http://" + addr + next
	}
	return nil, fmt.Errorf("%s: more than %d pages", path, maxPeerPages)
}

// nextLink returns the URI of a Link header's rel="next" entry, as writeList
// writes it, or "".
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if !strings.HasSuffix(part, `rel="next"`) || !strings.HasPrefix(part, "<") {
			continue
		}
		if end := strings.Index(part, ">"); end > 0 {
			return part[1:end]
		}
	}
	return ""
}

// federated serves a statistics list: this instance's own items, merged with the
// peers' when the request's scope is the cluster.
func federated[T any](cp ClusterProvider, path string, own func() []T, merge func(...[]T) []T, key func(*T) string) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		scope, ok := scopeOf(w, q)
		if !ok {
			return
		}
		if _, err := parsePage(q); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		st := cp.ClusterStatus()
		h := w.Header()
		if scope == "local" {
			setLocalScope(h, st.ID)
			writeList(w, req, own(), key)
			return
		}
		mine := own()
		peers := clusterPeers(st)
		ctx, cancel := context.WithTimeout(req.Context(), PeerTimeout)
		results := fetchPeers[T](ctx, peers, path)
		cancel()
		lists := [][]T{mine}
		instances, partial := []string{st.ID}, []string(nil)
		for _, r := range results {
			if r.err != nil {
				partial = append(partial, r.id)
				continue
			}
			lists = append(lists, r.items)
			instances = append(instances, r.id)
		}
		h.Set("X-Cemon-Scope", "cluster")
		h.Set("X-Cemon-Instances", strings.Join(instances, ","))
		if len(partial) > 0 {
			h.Set("X-Cemon-Partial", strings.Join(partial, ","))
		}
		writeList(w, req, merge(lists...), key)
	}
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// MergeLinkStats merges several instances' link loads into one list: per directed
// link the rates, bytes and flows sum (each flow counts at its one owner), the
// utilization is the summed rate over the capacity, and the capacity and the
// port-counter rate (a measure of the whole link, not of one instance's flows) are
// the first list's that has them. At is the latest. The result is in key order.
func MergeLinkStats(lists ...[]LinkStats) []LinkStats {
	type key struct {
		src, dst string
		sp, dp   uint16
	}
	out := mergeBy(lists, func(x *LinkStats) key { return key{x.SrcDPID, x.DstDPID, x.SrcPort, x.DstPort} },
		func(m, x *LinkStats) {
			m.RateBps += x.RateBps
			m.Bytes += x.Bytes
			m.Flows += x.Flows
			m.At = laterOf(m.At, x.At)
			if m.CapacityBps == 0 && x.CapacityBps > 0 {
				m.CapacityBps, m.CapacitySource = x.CapacityBps, x.CapacitySource
			}
			if m.PortRateBps == nil && x.PortRateBps != nil {
				m.PortRateBps, m.PortUtilization = x.PortRateBps, x.PortUtilization
			}
		})
	for i := range out {
		if out[i].CapacityBps > 0 {
			out[i].Utilization = out[i].RateBps / out[i].CapacityBps
		}
	}
	return sortLinks(out)
}

// MergeMatrix merges several instances' traffic matrices: per (src, dst) cell the
// rates, bytes and flows sum; At is the latest. The result is in key order.
func MergeMatrix(lists ...[]MatrixEntry) []MatrixEntry {
	return sortMatrix(mergeBy(lists, func(x *MatrixEntry) [2]string { return [2]string{x.Src, x.Dst} },
		func(m, x *MatrixEntry) {
			m.RateBps += x.RateBps
			m.Bytes += x.Bytes
			m.Flows += x.Flows
			m.At = laterOf(m.At, x.At)
		}))
}

// MergeHostStats merges several instances' host totals: per host the rates, bytes
// and flow counts each way sum, MAC and IP are the first known; At is the latest.
// The result is in key order.
func MergeHostStats(lists ...[]HostStats) []HostStats {
	return sortHosts(mergeBy(lists, func(x *HostStats) string { return x.Host },
		func(m, x *HostStats) {
			m.SentBps += x.SentBps
			m.ReceivedBps += x.ReceivedBps
			m.SentBytes += x.SentBytes
			m.ReceivedBytes += x.ReceivedBytes
			m.FlowsOut += x.FlowsOut
			m.FlowsIn += x.FlowsIn
			m.At = laterOf(m.At, x.At)
			if m.MAC == "" {
				m.MAC = x.MAC
			}
			if m.IP == "" {
				m.IP = x.IP
			}
		}))
}

// mergeBy merges lists item by item: the first item of each key is kept, in the
// order first seen, and add folds every later item of that key into it.
func mergeBy[T any, K comparable](lists [][]T, key func(*T) K, add func(m, x *T)) []T {
	idx := map[K]int{}
	var out []T
	for _, l := range lists {
		for j := range l {
			x := &l[j]
			k := key(x)
			if i, ok := idx[k]; ok {
				add(&out[i], x)
				continue
			}
			idx[k] = len(out)
			out = append(out, *x)
		}
	}
	return out
}

// setLocalScope marks an answer with this instance's figures only (?scope=local).
func setLocalScope(h http.Header, id string) {
	h.Set("X-Cemon-Scope", "local")
	h.Set("X-Cemon-Instances", id)
}

// scopeOf reads ?scope (cluster by default); on a bad value it answers 400 and
// returns false.
func scopeOf(w http.ResponseWriter, q url.Values) (string, bool) {
	scope := q.Get("scope")
	if len(q["scope"]) > 1 || (scope != "" && scope != "cluster" && scope != "local") {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("scope %q: want cluster or local", scope))
		return "", false
	}
	if scope == "" {
		scope = "cluster"
	}
	return scope, true
}

// flowScopeParam is the query parameter of a flow's detail in a cluster.
var flowScopeParam = Param{Name: "scope", Description: "cluster (default): a flow this instance does not own is fetched from " +
	"the instance that owns it (named in the X-Cemon-Owner header); local: this instance's flows only"}

// fromOwner serves one flow's detail in a cluster: this instance's when it has the
// flow (or the scope is local), else the answer of the peer that has it, asked
// concurrently within PeerTimeout (each flow has one owner). Peers that did not
// answer are named in X-Cemon-Partial; when none has it the answer is local's 404.
func fromOwner(cp ClusterProvider, has func(id uint64) bool, local http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		scope, ok := scopeOf(w, req.URL.Query())
		if !ok {
			return
		}
		id, ok := flowIDParam(w, req)
		if !ok {
			return
		}
		st := cp.ClusterStatus()
		if scope == "local" || has(id) {
			w.Header().Set("X-Cemon-Owner", st.ID)
			local(w, req)
			return
		}
		peers := clusterPeers(st)
		ctx, cancel := context.WithTimeout(req.Context(), PeerTimeout)
		defer cancel()
		type answer struct {
			id   string
			body []byte
			err  error // nil with a nil body: the peer does not have the flow
		}
		answers := make(chan answer, len(peers))
		for _, p := range peers {
			go func() {
				body, err := fetchOne(ctx, "http://"+p.api+req.URL.Path+"?scope=local")
				answers <- answer{id: p.id, body: body, err: err}
			}()
		}
		var partial []string
		for range peers {
			a := <-answers
			switch {
			case a.err != nil:
				partial = append(partial, a.id)
			case a.body != nil:
				h := w.Header()
				h.Set("X-Cemon-Owner", a.id)
				h.Set("Content-Type", "application/json")
				h.Set("X-Content-Type-Options", "nosniff")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(a.body)
				return
			}
		}
		if len(partial) > 0 {
			slices.Sort(partial)
			w.Header().Set("X-Cemon-Partial", strings.Join(partial, ","))
		}
		local(w, req)
	}
}

// fetchOne GETs target: its body on 200, nil on 404, an error otherwise.
func fetchOne(ctx context.Context, target string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	res, err := peerClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
		body, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
		if err != nil {
			return nil, err
		}
		if !json.Valid(body) {
			return nil, fmt.Errorf("%s: not JSON", target)
		}
		return body, nil
	case http.StatusNotFound:
		return nil, nil
	}
	return nil, fmt.Errorf("%s: %s", target, res.Status)
}

// fetchPage fetches one page of the list at http://addr/path with the query q: its
// items, and whether the peer names a next page.
func fetchPage[T any](ctx context.Context, addr, path string, q url.Values) ([]T, bool, error) {
	target := "http://" + addr + path + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, false, err
	}
	res, err := peerClient.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("%s: %s", target, res.Status)
	}
	var page []T
	if err := json.NewDecoder(io.LimitReader(res.Body, 256<<20)).Decode(&page); err != nil {
		return nil, false, fmt.Errorf("%s: %w", target, err)
	}
	return page, nextLink(res.Header.Get("Link")) != "", nil
}

// setClusterHeaders names the instances whose figures an answer holds and the peers
// that did not answer.
func setClusterHeaders(h http.Header, instances, partial []string) {
	h.Set("X-Cemon-Scope", "cluster")
	h.Set("X-Cemon-Instances", strings.Join(instances, ","))
	if len(partial) > 0 {
		slices.Sort(partial)
		h.Set("X-Cemon-Partial", strings.Join(partial, ","))
	}
}

// federatedPage serves a list of flows (one owner each) for the whole network, page
// by page: own gives this instance's items that the query's filters keep (answering
// 400 itself on bad input); the page is merged with each peer's same page, and, when
// the Backend serves the cluster's record (ClusterRecords), with the same page of the
// recorded flows of every instance that did not answer (fromRecord turns a record
// into an item, if the query's filters keep it; see record.go).
func federatedPage[T any](cp ClusterProvider, path string, own func(http.ResponseWriter, *http.Request) ([]T, bool), key func(*T) string,
	fromRecord func(url.Values, *FlowRecord, time.Time) (T, bool)) http.HandlerFunc {
	rc, _ := cp.(ClusterRecords)
	return func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		scope, ok := scopeOf(w, q)
		if !ok {
			return
		}
		p, err := parsePage(q)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		mine, ok := own(w, req)
		if !ok {
			return
		}
		st := cp.ClusterStatus()
		if scope == "local" {
			setLocalScope(w.Header(), st.ID)
			writeList(w, req, mine, key)
			return
		}
		pq := url.Values{}
		for k, v := range q {
			pq[k] = slices.Clone(v)
		}
		pq.Set("scope", "local")
		pq.Set("limit", fmt.Sprint(p.limit))
		peers := clusterPeers(st)
		type result struct {
			items []T
			more  bool
			err   error
		}
		results := make([]result, len(peers))
		ctx, cancel := context.WithTimeout(req.Context(), PeerTimeout)
		var wg sync.WaitGroup
		for i, pr := range peers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				items, more, err := fetchPage[T](ctx, pr.api, path, pq)
				results[i] = result{items, more, err}
			}()
		}
		wg.Wait()
		cancel()
		lists := [][]T{mine}
		instances, partial := []string{st.ID}, []string(nil)
		more := false
		for i, r := range results {
			if r.err != nil {
				partial = append(partial, peers[i].id)
				continue
			}
			lists = append(lists, r.items)
			instances = append(instances, peers[i].id)
			more = more || r.more
		}
		var recorded []string
		if rc != nil && fromRecord != nil {
			// The flows of every instance that did not answer (peers that failed,
			// instances gone whose flows are not adopted yet), from the record.
			items, owners, rmore, err := recordPage(req.Context(), rc, instances, p, q, fromRecord)
			if err == nil {
				lists = append(lists, items)
				more = more || rmore
				recorded = append(partial, owners...)
				partial = nil
			}
		}
		setClusterHeaders(w.Header(), instances, partial)
		if len(recorded) > 0 {
			slices.Sort(recorded)
			w.Header().Set("X-Cemon-Recorded", strings.Join(slices.Compact(recorded), ","))
		}
		// One owner per flow; a flow handed over between two readings may be listed
		// twice: the first (this instance's, then the peers' in order, then the
		// record's) is kept, so a live entry wins over the record's.
		writeListMore(w, req, mergeBy(lists, key, func(_, _ *T) {}), key, more)
	}
}

// federatedSnapshot serves the statistics snapshot of the whole network: this
// instance's merged with every peer's ?scope=local snapshot (MergeSnapshots).
func federatedSnapshot(cp ClusterProvider, own func() StatsSnapshot) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		scope, ok := scopeOf(w, req.URL.Query())
		if !ok {
			return
		}
		st := cp.ClusterStatus()
		if scope == "local" {
			setLocalScope(w.Header(), st.ID)
			writeJSON(w, http.StatusOK, own())
			return
		}
		peers := clusterPeers(st)
		snaps := make([]StatsSnapshot, len(peers))
		errs := make([]error, len(peers))
		ctx, cancel := context.WithTimeout(req.Context(), PeerTimeout)
		var wg sync.WaitGroup
		for i, p := range peers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body, err := fetchOne(ctx, "http://"+p.api+req.URL.Path+"?scope=local")
				if err == nil && body == nil {
					err = fmt.Errorf("%s: no snapshot", p.id)
				}
				if err == nil {
					err = json.Unmarshal(body, &snaps[i])
				}
				errs[i] = err
			}()
		}
		mine := own()
		wg.Wait()
		cancel()
		all := []StatsSnapshot{mine}
		instances, partial := []string{st.ID}, []string(nil)
		for i, err := range errs {
			if err != nil {
				partial = append(partial, peers[i].id)
				continue
			}
			all = append(all, snaps[i])
			instances = append(instances, peers[i].id)
		}
		setClusterHeaders(w.Header(), instances, partial)
		writeJSON(w, http.StatusOK, MergeSnapshots(all...))
	}
}

// MergePortStats merges several instances' port rates: a port's counters measure
// the port itself, whoever reads them, so per (switch, port) the latest reading is
// kept, not a sum. The result is in key order.
func MergePortStats(lists ...[]PortStats) []PortStats {
	return sortPorts(mergeBy(lists, portKey, func(m, x *PortStats) {
		if x.At.After(m.At) {
			*m = *x
		}
	}))
}

// MergeSnapshots merges several instances' snapshots: the flows of all (one owner
// each; the first listing of an id is kept), links, matrix and hosts summed, ports
// the latest reading, At the latest.
func MergeSnapshots(snaps ...StatsSnapshot) StatsSnapshot {
	var out StatsSnapshot
	var flows [][]FlowStats
	var links [][]LinkStats
	var mx [][]MatrixEntry
	var hosts [][]HostStats
	var ports [][]PortStats
	for _, s := range snaps {
		out.At = laterOf(out.At, s.At)
		flows = append(flows, s.Flows)
		links = append(links, s.Links)
		mx = append(mx, s.Matrix)
		hosts = append(hosts, s.Hosts)
		ports = append(ports, s.Ports)
	}
	out.Flows = sortFlows(mergeBy(flows, flowStatsKey, func(_, _ *FlowStats) {}))
	out.Links = MergeLinkStats(links...)
	out.Matrix = MergeMatrix(mx...)
	out.Hosts = MergeHostStats(hosts...)
	out.Ports = MergePortStats(ports...)
	return out
}

// recordPage reads the page p of the recorded flows of every instance not in
// answered, within RecordTimeout: the items fromRecord keeps, the instances that
// recorded any flow of the page, and whether more are recorded past it.
func recordPage[T any](ctx context.Context, rc ClusterRecords, answered []string, p page, q url.Values,
	fromRecord func(url.Values, *FlowRecord, time.Time) (T, bool)) ([]T, []string, bool, error) {
	var after uint64
	if p.after != "" {
		a, err := strconv.ParseUint(p.after, 10, 64)
		if err != nil {
			return nil, nil, false, err // not a flow list's cursor: nothing is recorded past it
		}
		after = a
	}
	ctx, cancel := context.WithTimeout(ctx, RecordTimeout)
	defer cancel()
	recs, more, err := rc.FlowRecords(ctx, answered, after, p.limit)
	if err != nil {
		return nil, nil, false, err
	}
	now := time.Now()
	var items []T
	var owners []string
	for i := range recs {
		if !slices.Contains(owners, recs[i].Owner) {
			owners = append(owners, recs[i].Owner)
		}
		if it, ok := fromRecord(q, &recs[i], now); ok {
			items = append(items, it)
		}
	}
	return items, owners, more, nil
}
