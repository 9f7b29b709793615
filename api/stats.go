package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Statistics endpoints, mounted when the Backend also implements [StatsBackend]:
//
//	/api/v1/polling            the live polling scheme, its cost and lower bound, the
//	                           last rebuild and why, and what polling has cost so far
//	                           (PUT {"strategy": "..."} switches strategy when the
//	                           Backend implements [PollingSwitcher])
//	/api/v1/stats/flows        per-flow bytes, packets, rate_bps, last_polled, source,
//	                           interval and staleness (?state=active|expired)
//	/api/v1/stats/flows/{id}   one flow's statistics; 404 when unknown
//	/api/v1/stats/links        each directed link's rate_bps, capacity and utilization,
//	                           from flow rates, with the port-counter rate beside it
//	/api/v1/stats/matrix       the host-to-host traffic matrix
//	/api/v1/stats/hosts        each host's sent and received traffic
//	/api/v1/stats/ports        each port's transmit and receive rate from port counters
//	/api/v1/stats/snapshot     all of the above (polling aside) at one instant
//
// In a cluster, links, matrix and hosts are the whole network's, merged from every
// instance (?scope=local: this instance's own), and a flow's statistics come from
// the instance that owns it (see federate.go).
//
// Rates are valid at the instant their "at" field gives: a flow's rate counts in
// its links, matrix cell and hosts until its valid_until, three of its own polling
// intervals after its last reading; after that the flow is "stale" and its rate_bps
// is 0, as it is once the flow has expired.

// StatsBackend is the optional Backend capability behind the statistics endpoints.
// [StatsOf] builds one from a stats.Reader.
type StatsBackend interface {
	Polling() Polling
	FlowStats() []FlowStats
	FlowStat(id uint64) (FlowStats, bool)
	LinkStats() []LinkStats
	MatrixStats() []MatrixEntry
	HostStats() []HostStats
	PortStats() []PortStats
	// StatsSnapshot returns flows, links, matrix, hosts and ports of one instant.
	StatsSnapshot() StatsSnapshot
}

// PollingSwitcher is an optional capability: PUT /api/v1/polling changes the
// polling strategy at run time.
type PollingSwitcher interface {
	SetPollingStrategy(name string) error
}

// ErrBadStrategy is wrapped by a PollingSwitcher that refuses a strategy name;
// the API answers 400 with its text.
var ErrBadStrategy = errors.New("api: unknown polling strategy")

// PollingUsage is what polling cost: requests and replies, and bytes each way.
type PollingUsage struct {
	Strategy              string `json:"strategy,omitempty"`
	Requests              uint64 `json:"requests"`
	Replies               uint64 `json:"replies"`
	Entries               uint64 `json:"entries"`
	Timeouts              uint64 `json:"timeouts"`
	Errors                uint64 `json:"errors"`
	OpenFlowBytesSent     uint64 `json:"openflow_bytes_sent"`
	OpenFlowBytesReceived uint64 `json:"openflow_bytes_received"`
	WireBytesSent         uint64 `json:"wire_bytes_sent"`
	WireBytesReceived     uint64 `json:"wire_bytes_received"`
}

// StrategyRequest is the body of PUT /api/v1/polling.
type StrategyRequest struct {
	Strategy string `json:"strategy"`
	// Sampler is strategy afps's per-flow sampler (fixed, pt, ewmat, swt, payless);
	// empty keeps the one in use. Only a backend that implements SamplerSwitcher
	// takes it.
	Sampler string `json:"sampler,omitempty"`
}

// SamplerSwitcher is an optional PollingSwitcher capability: it sets the strategy and
// afps's sampler together.
type SamplerSwitcher interface {
	SetPollingSampler(strategy, sampler string) error
}

// PollSingle is one poll-single of the scheme: flow FlowID read at switch DPID.
type PollSingle struct {
	FlowID uint64 `json:"flow_id"`
	DPID   string `json:"dpid"`
}

// Rebuild is one rebuild of the polling scheme.
type Rebuild struct {
	At               time.Time `json:"at"`
	Reason           string    `json:"reason"`
	Strategy         string    `json:"strategy"`
	Flows            int       `json:"flows"`
	VarianceRate     float64   `json:"variance_rate"`
	PatchedCostBytes int64     `json:"patched_cost_bytes"`
	CostBytes        int64     `json:"cost_bytes"`
	LowerBoundBytes  int64     `json:"lower_bound_bytes"`
	PollAll          int       `json:"poll_all"`
	PollSingle       int       `json:"poll_single"`
}

// Polling is the live polling scheme and what polling has cost.
type Polling struct {
	Strategy         string          `json:"strategy"`
	Deployment       string          `json:"deployment"`
	IntervalSeconds  float64         `json:"interval_seconds"`
	CostModel        string          `json:"cost_model"`
	PollAll          []string        `json:"poll_all"` // dpids
	PollSingle       []PollSingle    `json:"poll_single"`
	CostBytes        int64           `json:"cost_bytes"`
	PollAllCostBytes int64           `json:"poll_all_cost_bytes"` // every switch polled whole, for the same flows
	PerFlowCostBytes int64           `json:"per_flow_cost_bytes"` // every flow polled singly at its cheapest switch
	LowerBoundBytes  int64           `json:"lower_bound_bytes"`   // no scheme for LowerBoundFlows' flow set costs less
	LowerBoundFlows  int             `json:"lower_bound_flows"`   // flows of the set the bound was computed for
	LowerBoundAt     *time.Time      `json:"lower_bound_at"`      // null before the first bound
	Flows            int             `json:"flows"`
	Rounds           uint64          `json:"rounds"`
	Rebuilds         int             `json:"rebuilds"`
	LastRebuild      *Rebuild        `json:"last_rebuild"`
	Totals           PollingUsage    `json:"totals"`      // every strategy, port statistics included
	ByStrategy       []PollingUsage  `json:"by_strategy"` // one row per strategy used so far
	Switches         []PollingSwitch `json:"switches"`    // reply times learned per switch, by dpid
}

// PollingSwitch is what polling has learned of one switch's statistics replies.
type PollingSwitch struct {
	DPID             string     `json:"dpid"`
	ReplySeconds     float64    `json:"reply_seconds"`      // smoothed (EWMA) request to last reply part; a timeout counts as its timeout
	LastReplySeconds float64    `json:"last_reply_seconds"` // the latest sample
	Samples          uint64     `json:"samples"`
	Slow             bool       `json:"slow"`      // rounds no longer wait for it; schemes prefer other switches at equal cost
	InFlight         bool       `json:"in_flight"` // a batch of requests is out
	Timeouts         uint64     `json:"timeouts"`
	LateBatches      uint64     `json:"late_batches"`  // batches back after their round, applied on arrival
	BusyRequests     uint64     `json:"busy_requests"` // requests not sent: the previous batch was still out, or held back
	LastReplyAt      *time.Time `json:"last_reply_at"` // null before the first reply
	TimeoutsInARow   uint64     `json:"timeouts_in_a_row"`
	HeldUntil        *time.Time `json:"held_until"` // after timeouts in a row nothing is sent before; null if not held
}

// FlowStats is one flow's statistics.
type FlowStats struct {
	ID         uint64     `json:"id"`
	Src        string     `json:"src"`
	Dst        string     `json:"dst"`
	Bytes      uint64     `json:"bytes"`
	Packets    uint64     `json:"packets"`
	RateBps    float64    `json:"rate_bps"`
	PacketRate float64    `json:"packet_rate"`
	LastPolled *time.Time `json:"last_polled"` // null before the first reading
	Source     string     `json:"source"`      // poll-all, poll-single, flow-removed; "" before the first reading
	DPID       string     `json:"dpid"`        // switch of the last reading
	Readings   int        `json:"readings"`
	Active     bool       `json:"active"`
	Start      time.Time  `json:"start"`
	End        *time.Time `json:"end,omitempty"`
	// IntervalSeconds is the polling interval the flow's staleness counts in;
	// ValidUntil (null before the first reading) is when its rate stops counting
	// without a new reading; Stale says it has (rate_bps is then 0).
	IntervalSeconds float64    `json:"interval_seconds"`
	ValidUntil      *time.Time `json:"valid_until"`
	Stale           bool       `json:"stale"`
	// Record is set on an item of a cluster's federated list served from the
	// cluster's record because its owner did not answer (record.go): it carries no
	// counters.
	Record *RecordMark `json:"record,omitempty"`
}

// LinkStats is one directed link's load.
type LinkStats struct {
	SrcDPID         string   `json:"src_dpid"`
	SrcPort         uint16   `json:"src_port"`
	DstDPID         string   `json:"dst_dpid"`
	DstPort         uint16   `json:"dst_port"`
	RateBps         float64  `json:"rate_bps"`
	Utilization     float64  `json:"utilization"`
	Bytes           uint64   `json:"bytes"`
	Flows           int      `json:"flows"`
	PortRateBps     *float64 `json:"port_rate_bps"` // from port counters; null when unknown
	PortUtilization *float64 `json:"port_utilization"`
	// CapacityBps is what utilization is relative to; CapacitySource says where
	// it comes from: "config" (--link-capacity), "port" (the ports' advertised
	// speed) or "default" (1 Gbit/s, nothing else known).
	CapacityBps    float64   `json:"capacity_bps"`
	CapacitySource string    `json:"capacity_source"`
	At             time.Time `json:"at"` // the instant rate_bps is valid at
}

// MatrixEntry is one cell of the traffic matrix.
type MatrixEntry struct {
	Src     string    `json:"src"` // IP address, or MAC address for non-IP traffic
	Dst     string    `json:"dst"`
	RateBps float64   `json:"rate_bps"`
	Bytes   uint64    `json:"bytes"`
	Flows   int       `json:"flows"`
	At      time.Time `json:"at"`
}

// PortStats is one port's rate from port counters.
type PortStats struct {
	DPID  string    `json:"dpid"`
	Port  uint16    `json:"port"`
	TxBps float64   `json:"tx_bps"`
	RxBps float64   `json:"rx_bps"`
	At    time.Time `json:"at"` // the port reading the rates end at
}

// StatsSnapshot is every statistics view at one instant.
type StatsSnapshot struct {
	At     time.Time     `json:"at"`
	Flows  []FlowStats   `json:"flows"`
	Links  []LinkStats   `json:"links"`
	Matrix []MatrixEntry `json:"matrix"`
	Hosts  []HostStats   `json:"hosts"`
	Ports  []PortStats   `json:"ports"`
}

// HostStats is one host's traffic.
type HostStats struct {
	Host          string    `json:"host"` // IP address, or MAC address for non-IP traffic
	MAC           string    `json:"mac"`
	IP            string    `json:"ip"` // "" for a host seen in non-IP traffic only
	At            time.Time `json:"at"`
	SentBps       float64   `json:"sent_bps"`
	ReceivedBps   float64   `json:"received_bps"`
	SentBytes     uint64    `json:"sent_bytes"`
	ReceivedBytes uint64    `json:"received_bytes"`
	FlowsOut      int       `json:"flows_out"`
	FlowsIn       int       `json:"flows_in"`
}

func init() { extensions = append(extensions, mountStats) }

// mountStats registers the statistics endpoints when b implements StatsBackend.
func mountStats(r *routes, b Backend) {
	sb, ok := capability[StatsBackend](b)
	if !ok {
		return
	}
	s := statsServer{sb: sb}
	if ps, ok := capability[PollingSwitcher](b); ok {
		r.handle(http.MethodPut, "/api/v1/polling", Op{Summary: "switch the polling strategy", Body: StrategyRequest{},
			Response: Polling{}, Auth: true}, func(w http.ResponseWriter, req *http.Request) { s.setPolling(w, req, ps) })
	}
	r.get("/api/v1/polling", Op{Summary: "the live polling scheme, its cost and lower bound, and what polling has cost",
		Response: Polling{}}, s.polling)
	stateParam := Param{Name: "state", Description: "active or expired"}
	if cp, ok := capability[ClusterProvider](b); ok {
		r.get("/api/v1/stats/flows", listOp(Op{Summary: "per-flow statistics of the whole network, every instance's pages merged, unless scope=local",
			Query: []Param{stateParam, scopeParam}, Response: []FlowStats{}, Headers: flowListHeaders}), federatedPage(cp, "/api/v1/stats/flows", s.flowList, flowStatsKey, recordFlowStats))
	} else {
		r.get("/api/v1/stats/flows", listOp(Op{Summary: "per-flow statistics", Query: []Param{stateParam},
			Response: []FlowStats{}}), s.flows)
	}
	if cp, ok := capability[ClusterProvider](b); ok {
		r.get("/api/v1/stats/flows/{id}", Op{Summary: "one flow's statistics, from the instance that owns it unless scope=local",
			Query: []Param{flowScopeParam}, Response: FlowStats{}},
			fromOwner(cp, func(id uint64) bool { _, ok := sb.FlowStat(id); return ok }, s.flow))
	} else {
		r.get("/api/v1/stats/flows/{id}", Op{Summary: "one flow's statistics", Response: FlowStats{}}, s.flow)
	}
	if cp, ok := capability[ClusterProvider](b); ok {
		// In a cluster the loads, the matrix and the host totals are the whole
		// network's, merged from every instance's own (see federate.go).
		r.get("/api/v1/stats/links", listOp(Op{Summary: "each directed link's load, summed over the cluster's instances unless scope=local",
			Query: []Param{scopeParam}, Response: []LinkStats{}}),
			federated(cp, "/api/v1/stats/links", sb.LinkStats, MergeLinkStats, func(x *LinkStats) string { return linkKey(x.SrcDPID, x.SrcPort, x.DstDPID, x.DstPort) }))
		r.get("/api/v1/stats/matrix", listOp(Op{Summary: "the host-to-host traffic matrix, summed over the cluster's instances unless scope=local",
			Query: []Param{scopeParam}, Response: []MatrixEntry{}}),
			federated(cp, "/api/v1/stats/matrix", sb.MatrixStats, MergeMatrix, func(x *MatrixEntry) string { return x.Src + "\x00" + x.Dst }))
		r.get("/api/v1/stats/hosts", listOp(Op{Summary: "each host's sent and received traffic, summed over the cluster's instances unless scope=local",
			Query: []Param{scopeParam}, Response: []HostStats{}}),
			federated(cp, "/api/v1/stats/hosts", sb.HostStats, MergeHostStats, func(x *HostStats) string { return x.Host }))
		r.get("/api/v1/stats/ports", listOp(Op{Summary: "each port's transmit and receive rate from port counters, over the cluster's instances unless scope=local",
			Query: []Param{scopeParam}, Response: []PortStats{}}),
			federated(cp, "/api/v1/stats/ports", sb.PortStats, MergePortStats, portKey))
		r.get("/api/v1/stats/snapshot", Op{Summary: "flows, links, matrix, hosts and ports of one instant, merged over the cluster's instances unless scope=local",
			Query: []Param{scopeParam}, Response: StatsSnapshot{}}, federatedSnapshot(cp, s.snapshotView))
	} else {
		r.get("/api/v1/stats/links", listOp(Op{Summary: "each directed link's load", Response: []LinkStats{}}), s.links)
		r.get("/api/v1/stats/matrix", listOp(Op{Summary: "the host-to-host traffic matrix", Response: []MatrixEntry{}}), s.matrix)
		r.get("/api/v1/stats/hosts", listOp(Op{Summary: "each host's sent and received traffic", Response: []HostStats{}}), s.hosts)
		r.get("/api/v1/stats/ports", listOp(Op{Summary: "each port's transmit and receive rate from port counters", Response: []PortStats{}}), s.ports)
		r.get("/api/v1/stats/snapshot", Op{Summary: "flows, links, matrix, hosts and ports of one instant", Response: StatsSnapshot{}}, s.snapshot)
	}
}

type statsServer struct{ sb StatsBackend }

func (s statsServer) pollingView() Polling {
	p := s.sb.Polling()
	p.PollAll = nonNil(slices.Clone(p.PollAll))
	p.PollSingle = nonNil(slices.Clone(p.PollSingle))
	p.ByStrategy = nonNil(slices.Clone(p.ByStrategy))
	slices.Sort(p.PollAll)
	slices.SortFunc(p.PollSingle, func(x, y PollSingle) int { return cmp.Compare(x.FlowID, y.FlowID) })
	slices.SortFunc(p.ByStrategy, func(x, y PollingUsage) int { return cmp.Compare(x.Strategy, y.Strategy) })
	return p
}

func (s statsServer) polling(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.pollingView())
}

func (s statsServer) setPolling(w http.ResponseWriter, req *http.Request, ps PollingSwitcher) {
	var body StrategyRequest
	if !decodeBody(w, req, &body) {
		return
	}
	set := func() error { return ps.SetPollingStrategy(body.Strategy) }
	if body.Sampler != "" {
		ss, ok := ps.(SamplerSwitcher)
		if !ok {
			writeError(w, http.StatusBadRequest, "this backend takes no sampler")
			return
		}
		set = func() error { return ss.SetPollingSampler(body.Strategy, body.Sampler) }
	}
	if err := set(); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrBadStrategy) {
			status = http.StatusBadRequest
		}
		writeError(w, status, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.pollingView())
}

func (s statsServer) flows(w http.ResponseWriter, req *http.Request) {
	if out, ok := s.flowList(w, req); ok {
		writeList(w, req, out, flowStatsKey)
	}
}

func flowStatsKey(x *FlowStats) string { return idKey(x.ID) }

// flowList is this instance's flow statistics that ?state keeps; on bad input it
// answers 400 and returns false.
func (s statsServer) flowList(w http.ResponseWriter, req *http.Request) ([]FlowStats, bool) {
	state := req.URL.Query().Get("state")
	if state != "" && state != "active" && state != "expired" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("state %q: want active or expired", state))
		return nil, false
	}
	var out []FlowStats
	for _, f := range s.sb.FlowStats() {
		if state == "" || (state == "active") == f.Active {
			out = append(out, f)
		}
	}
	return out, true
}

func (s statsServer) flow(w http.ResponseWriter, req *http.Request) {
	id, ok := flowIDParam(w, req)
	if !ok {
		return
	}
	f, ok := s.sb.FlowStat(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no statistics for flow %d", id))
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s statsServer) links(w http.ResponseWriter, req *http.Request) {
	writeList(w, req, s.sb.LinkStats(), func(x *LinkStats) string { return linkKey(x.SrcDPID, x.SrcPort, x.DstDPID, x.DstPort) })
}

func (s statsServer) matrix(w http.ResponseWriter, req *http.Request) {
	writeList(w, req, s.sb.MatrixStats(), func(x *MatrixEntry) string { return x.Src + "\x00" + x.Dst })
}

func (s statsServer) hosts(w http.ResponseWriter, req *http.Request) {
	writeList(w, req, s.sb.HostStats(), func(x *HostStats) string { return x.Host })
}

func (s statsServer) ports(w http.ResponseWriter, req *http.Request) {
	writeList(w, req, s.sb.PortStats(), portKey)
}

func portKey(x *PortStats) string { return fmt.Sprintf("%s/%05d", x.DPID, x.Port) }

// snapshot is one instant's figures, whole: a consistent view is not paged.
func (s statsServer) snapshot(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.snapshotView())
}

// snapshotView is the backend's snapshot with every list in its order.
func (s statsServer) snapshotView() StatsSnapshot {
	snap := s.sb.StatsSnapshot()
	snap.Flows = sortFlows(snap.Flows)
	snap.Links = sortLinks(snap.Links)
	snap.Matrix = sortMatrix(snap.Matrix)
	snap.Hosts = sortHosts(snap.Hosts)
	snap.Ports = sortPorts(snap.Ports)
	return snap
}

func sortFlows(in []FlowStats) []FlowStats {
	out := slices.Clone(in)
	slices.SortFunc(out, func(x, y FlowStats) int { return cmp.Compare(x.ID, y.ID) })
	return nonNil(out)
}

func sortLinks(in []LinkStats) []LinkStats {
	out := slices.Clone(in)
	slices.SortFunc(out, func(x, y LinkStats) int {
		return cmp.Or(cmp.Compare(x.SrcDPID, y.SrcDPID), cmp.Compare(x.SrcPort, y.SrcPort),
			cmp.Compare(x.DstDPID, y.DstDPID), cmp.Compare(x.DstPort, y.DstPort))
	})
	return nonNil(out)
}

func sortMatrix(in []MatrixEntry) []MatrixEntry {
	out := slices.Clone(in)
	slices.SortFunc(out, func(x, y MatrixEntry) int { return cmp.Or(cmp.Compare(x.Src, y.Src), cmp.Compare(x.Dst, y.Dst)) })
	return nonNil(out)
}

func sortHosts(in []HostStats) []HostStats {
	out := slices.Clone(in)
	slices.SortFunc(out, func(x, y HostStats) int { return cmp.Compare(x.Host, y.Host) })
	return nonNil(out)
}

func sortPorts(in []PortStats) []PortStats {
	out := slices.Clone(in)
	slices.SortFunc(out, func(x, y PortStats) int { return cmp.Or(cmp.Compare(x.DPID, y.DPID), cmp.Compare(x.Port, y.Port)) })
	return nonNil(out)
}

// WithStats returns a Backend that serves b's views, b's optional capabilities
// (HealthChecker), and the statistics endpoints from s; s may also implement
// PollingSwitcher.
func WithStats(b Backend, s StatsBackend) Backend {
	if b == nil {
		b = noBackend{}
	}
	if ps, ok := s.(PollingSwitcher); ok {
		if ss, ok := s.(SamplerSwitcher); ok {
			return statsSamplerBackend{statsSwitchBackend{statsBackend{b, s}, ps}, ss}
		}
		return statsSwitchBackend{statsBackend{b, s}, ps}
	}
	return statsBackend{b, s}
}

// statsSamplerBackend also sets afps's sampler.
type statsSamplerBackend struct {
	statsSwitchBackend
	ss SamplerSwitcher
}

// SetPollingSampler implements SamplerSwitcher.
func (s statsSamplerBackend) SetPollingSampler(strategy, sampler string) error {
	return s.ss.SetPollingSampler(strategy, sampler)
}

type statsBackend struct {
	Backend
	StatsBackend
}

// Unwrap returns the wrapped Backend, whose other capabilities stay visible.
func (s statsBackend) Unwrap() Backend { return s.Backend }

// Health forwards to the wrapped Backend when it is a HealthChecker.
func (s statsBackend) Health() error {
	if hc, ok := capability[HealthChecker](s.Backend); ok {
		return hc.Health()
	}
	return nil
}

type statsSwitchBackend struct {
	statsBackend
	PollingSwitcher
}
