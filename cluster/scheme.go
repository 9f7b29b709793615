package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/poll"
)

// The global polling scheme. The leader runs MCPS (a poll.Planned scheduler, in-band
// cost model) over the active flows of every instance, with each switch's cost taken
// from its master: the master's distance to it in hops (algorithms.md: in-band
// costs scale with the hops between the switch and the controller that polls it; in
// a cluster only a switch's master polls it). DAPR patches the scheme as flows come
// and go, ARI rebuilds it when it drifts, and a new assignment of masters rebuilds it
// from scratch. The leader publishes it at most every Config.SchemeInterval, and only
// when it changed, with a new revision: a header at PREFIX/scheme and each
// instance's part (the requests at the switches it masters) at
// PREFIX/schemes/INSTANCE, in one transaction.
//
// A poll-single is read by the flow's owner (it alone holds the flow's match): the
// solver's choice stays where the owner masters the switch, else it moves to the
// cheapest switch of the flow's path the owner masters (its first switch always is,
// but for a flow not yet adopted after a failover). A poll-all is read by the
// switch's master, which hands the entries of other instances' flows to their owners
// (Node.HandOver).

// Scheme is the header of a published global scheme.
type Scheme struct {
	Revision        int64     `json:"revision"`
	Leader          string    `json:"leader"`
	MastersRevision int64     `json:"masters_revision"` // the assignment it polls through
	At              time.Time `json:"at"`
	Reason          string    `json:"reason"`            // what changed: masters, flows, rebuild
	Flows           int       `json:"flows"`             // flows it covers
	Cost            int64     `json:"cost"`              // bytes a round, the solver's, each switch weighted by its master's hops
	LowerBound      int64     `json:"lower_bound"`       // on any scheme's cost for its flows
	PollAll         int       `json:"poll_all"`          // switches polled whole
	PollSingle      int       `json:"poll_single"`       // flows read singly
	Moved           int       `json:"moved"`             // poll-singles moved to a switch of their owner
	Instances       []string  `json:"instances"`         // whose parts it has
	Unowned         int       `json:"unowned,omitempty"` // flows of no live instance, left out
}

// Part is one instance's share of a global scheme: what it polls.
type Part struct {
	Revision   int64               `json:"revision"`
	PollAll    []string            `json:"poll_all"`    // switches (16 hex digits)
	PollSingle map[string][]uint64 `json:"poll_single"` // switch -> flows read singly there
}

// SchemeInput is what a global scheme is computed from.
type SchemeInput struct {
	Masters map[uint64]string         // switch -> master
	Hops    map[string]map[uint64]int // instance -> its distance to each switch
	Flows   map[string][]controller.SavedFlow
	Live    map[string]bool // live instances: a flow's owner is the live one holding it
}

// schemer is the leader's scheme, kept from one step to the next.
type schemer struct {
	planned *poll.Planned
	costs   map[uint64]int    // the switches' costs it was built with
	flows   map[uint64]string // flow -> owner, as planned
	paths   map[uint64][]uint64
	last    time.Time // of the last computation
	header  Scheme
	parts   map[string]Part
}

// newSchemer returns an empty schemer.
func newSchemer() *schemer {
	return &schemer{flows: map[uint64]string{}, paths: map[uint64][]uint64{}}
}

// switchCosts is each assigned switch's cost: its master's hops to it (at least 1).
func switchCosts(in SchemeInput) map[uint64]int {
	out := make(map[uint64]int, len(in.Masters))
	for d, id := range in.Masters {
		h, ok := in.Hops[id][d]
		if !ok || h < 1 {
			h = 1
		}
		out[d] = h
	}
	return out
}

// step brings the scheme up to date with in at now and returns the parts of each
// instance and the header (Revision left to the caller); changed is false when the
// parts are those of the last step. It is pure.
func (s *schemer) step(now time.Time, in SchemeInput) (header Scheme, parts map[string]Part, changed bool, err error) {
	costs := switchCosts(in)
	reason := "flows"
	if s.planned == nil || !maps.Equal(costs, s.costs) {
		p, err := poll.NewPlanned(poll.PlannedConfig{Strategy: poll.MCPS, Deployment: mcps.InBand, Reason: "masters"})
		if err != nil {
			return Scheme{}, nil, false, err
		}
		sw := make([]poll.Switch, 0, len(costs))
		for _, d := range slices.Sorted(maps.Keys(costs)) {
			sw = append(sw, poll.Switch{DPID: d, Hops: costs[d]})
		}
		p.SetSwitches(now, sw)
		s.planned, s.costs = p, costs
		clear(s.flows)
		clear(s.paths)
		reason = "masters"
	}
	// DAPR: arrivals and expiries since the last step.
	owners := map[uint64]string{}
	paths := map[uint64][]uint64{}
	unowned := 0
	for _, inst := range slices.Sorted(maps.Keys(in.Flows)) {
		for _, f := range in.Flows[inst] {
			if len(f.Path) == 0 {
				continue
			}
			if prev, ok := owners[f.ID]; ok && in.Live[prev] {
				continue // (a flow adopted by a live instance is its own)
			}
			owners[f.ID] = inst
			if _, ok := paths[f.ID]; !ok {
				p := make([]uint64, len(f.Path))
				for i, h := range f.Path {
					p[i] = h.DPID
				}
				paths[f.ID] = p
			}
		}
	}
	for id, o := range owners {
		if !in.Live[o] {
			delete(owners, id)
			delete(paths, id)
			unowned++
		}
	}
	for id := range s.flows {
		if _, ok := owners[id]; !ok {
			s.planned.OnExpire(now, id)
			delete(s.flows, id)
			delete(s.paths, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(owners)) {
		if _, ok := s.flows[id]; !ok {
			s.planned.OnArrive(now, poll.Flow{ID: id, DPIDs: paths[id]})
			s.paths[id] = paths[id]
		}
		s.flows[id] = owners[id]
	}
	rebuilds := s.planned.Plan().Rebuilds
	if err := poll.Settle(s.planned, now); err != nil {
		return Scheme{}, nil, false, err
	}
	plan := s.planned.Plan()
	if plan.Rebuilds != rebuilds && reason == "flows" {
		reason = "rebuild"
	}
	s.last = now
	header = Scheme{MastersRevision: 0, At: now, Reason: reason, Flows: plan.Flows, Cost: plan.Cost,
		LowerBound: plan.LowerBound, PollAll: len(plan.PollAll), PollSingle: len(plan.PollSingle), Unowned: unowned}
	parts = map[string]Part{}
	part := func(id string) Part {
		p, ok := parts[id]
		if !ok {
			p = Part{PollSingle: map[string][]uint64{}}
		}
		return p
	}
	for _, d := range plan.PollAll {
		id := in.Masters[d]
		p := part(id)
		p.PollAll = append(p.PollAll, dpidKey(d))
		parts[id] = p
	}
	for _, x := range plan.PollSingle {
		owner := s.flows[x.Flow]
		at := x.DPID
		if in.Masters[at] != owner {
			at = s.ownerSwitch(x.Flow, owner, in.Masters, costs)
			header.Moved++
		}
		p := part(owner)
		k := dpidKey(at)
		p.PollSingle[k] = append(p.PollSingle[k], x.Flow)
		parts[owner] = p
	}
	for _, id := range slices.Sorted(maps.Keys(in.Live)) {
		if _, ok := parts[id]; !ok && in.Live[id] {
			parts[id] = Part{PollSingle: map[string][]uint64{}}
		}
	}
	header.Instances = slices.Sorted(maps.Keys(parts))
	changed = !partsEqual(parts, s.parts) || header.Flows != s.header.Flows || header.Cost != s.header.Cost
	s.header, s.parts = header, parts
	return header, parts, changed, nil
}

// ownerSwitch is the switch of a flow's path its owner reads it at: the cheapest the
// owner masters, nearest the ingress; the first switch when the owner masters none.
func (s *schemer) ownerSwitch(flow uint64, owner string, masters map[uint64]string, costs map[uint64]int) uint64 {
	path := s.paths[flow]
	best, bestCost := path[0], -1
	for _, d := range path {
		if masters[d] == owner && (bestCost < 0 || costs[d] < bestCost) {
			best, bestCost = d, costs[d]
		}
	}
	return best
}

func partsEqual(a, b map[string]Part) bool {
	if len(a) != len(b) {
		return false
	}
	for id, p := range a {
		q, ok := b[id]
		if !ok || !slices.Equal(p.PollAll, q.PollAll) || len(p.PollSingle) != len(q.PollSingle) {
			return false
		}
		for k, fs := range p.PollSingle {
			if !slices.Equal(fs, q.PollSingle[k]) {
				return false
			}
		}
	}
	return true
}

// leadScheme is the leader's scheme step: at most every Config.SchemeInterval, the
// global scheme over every instance's flows brought up to date and published with a
// new revision when it changed (or the assignment or the leader did).
func (n *Node) leadScheme(ctx context.Context, cli *clientv3.Client, ms []Member) error {
	now := n.now()
	if n.schemer != nil && now.Sub(n.schemer.last) < n.cfg.SchemeInterval {
		return nil
	}
	n.mu.Lock()
	masters := n.masters
	n.mu.Unlock()
	if masters.Revision == 0 || masters.Leader != n.cfg.ID {
		return nil // this leader's own assignment first
	}
	in := SchemeInput{Masters: map[uint64]string{}, Hops: map[string]map[uint64]int{}, Live: map[string]bool{}}
	for k, id := range masters.Masters {
		if d, ok := parseDPID(k); ok {
			in.Masters[d] = id
		}
	}
	for _, c := range candidates(ms) {
		in.Hops[c.ID] = c.Hops
		in.Live[c.ID] = true
	}
	flows, err := n.cachedFlows(ctx, cli)
	if err != nil {
		return err
	}
	in.Flows = flows
	if n.schemer == nil {
		n.schemer = newSchemer()
	}
	t0 := time.Now()
	header, parts, changed, err := n.schemer.step(now, in)
	if err != nil {
		return fmt.Errorf("cluster: scheme: %w", err)
	}
	took := time.Since(t0)
	cur, _, err := n.readScheme(ctx, cli, "")
	if err != nil {
		return err
	}
	if !changed && cur.Leader == n.cfg.ID && cur.MastersRevision == masters.Revision && cur.Revision != 0 {
		return nil
	}
	header.Revision, header.Leader, header.MastersRevision = cur.Revision+1, n.cfg.ID, masters.Revision
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	old, err := cli.Get(rctx, n.key("schemes")+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return fmt.Errorf("cluster: scheme: %w", err)
	}
	ops := []clientv3.Op{clientv3.OpPut(n.key("scheme"), string(hb))}
	for _, kv := range old.Kvs {
		if !slices.Contains(header.Instances, strings.TrimPrefix(string(kv.Key), n.key("schemes")+"/")) {
			ops = append(ops, clientv3.OpDelete(string(kv.Key))) // the part of an instance gone
		}
	}
	for _, id := range header.Instances {
		p := parts[id]
		p.Revision = header.Revision
		pb, err := json.Marshal(p)
		if err != nil {
			return err
		}
		ops = append(ops, clientv3.OpPut(n.key("schemes", id), string(pb)))
	}
	if _, err := cli.Txn(rctx).Then(ops...).Commit(); err != nil {
		return fmt.Errorf("cluster: publish scheme: %w", err)
	}
	n.log.Info("global polling scheme published", "revision", header.Revision, "reason", header.Reason,
		"masters_revision", header.MastersRevision, "flows", header.Flows, "cost_bytes", header.Cost,
		"lower_bound_bytes", header.LowerBound, "poll_all", header.PollAll, "poll_single", header.PollSingle,
		"moved", header.Moved, "took_ms", float64(took.Microseconds())/1000)
	return nil
}

// readScheme reads the scheme's header and, for inst (unless ""), its part of the
// same revision (one transaction).
func (n *Node) readScheme(ctx context.Context, cli *clientv3.Client, inst string) (Scheme, *Part, error) {
	rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	ops := []clientv3.Op{clientv3.OpGet(n.key("scheme"))}
	if inst != "" {
		ops = append(ops, clientv3.OpGet(n.key("schemes", inst)))
	}
	resp, err := cli.Txn(rctx).Then(ops...).Commit()
	if err != nil {
		return Scheme{}, nil, fmt.Errorf("cluster: scheme: %w", err)
	}
	var h Scheme
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		if err := json.Unmarshal(kvs[0].Value, &h); err != nil {
			return Scheme{}, nil, fmt.Errorf("cluster: scheme record: %w", err)
		}
	}
	if inst == "" {
		return h, nil, nil
	}
	kvs := resp.Responses[1].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return h, nil, nil
	}
	var p Part
	if err := json.Unmarshal(kvs[0].Value, &p); err != nil {
		return Scheme{}, nil, fmt.Errorf("cluster: scheme part: %w", err)
	}
	return h, &p, nil
}

// followScheme reads the published scheme when its revision changed, and decides
// whether it is current: published by a live leader for the assignment in force.
func (n *Node) followScheme(ctx context.Context, cli *clientv3.Client, m Masters, ms []Member) error {
	n.mu.Lock()
	held := n.scheme.Revision
	n.mu.Unlock()
	h, _, err := n.readScheme(ctx, cli, "")
	if err != nil {
		return err
	}
	var part *Part
	if h.Revision != held {
		if h, part, err = n.readScheme(ctx, cli, n.cfg.ID); err != nil {
			return err
		}
	}
	live := slices.ContainsFunc(ms, func(x Member) bool { return x.ID == h.Leader })
	why := ""
	switch {
	case h.Revision == 0:
		why = "no scheme published yet"
	case !live:
		why = "the scheme's leader has left"
	case h.MastersRevision != m.Revision:
		why = "the scheme is of an older assignment of masters"
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if h.Revision != held {
		n.scheme = h
		n.part = nil
		if part != nil && part.Revision == h.Revision {
			n.part = assigned(part)
		}
	}
	if n.part == nil && why == "" {
		why = "no part for this instance in the scheme"
	}
	n.schemeWhy = why
	return nil
}

// assigned turns a part into the requests the poller runs.
func assigned(p *Part) *poll.Assigned {
	a := &poll.Assigned{Revision: p.Revision}
	for _, k := range p.PollAll {
		if d, ok := parseDPID(k); ok {
			a.PollAll = append(a.PollAll, d)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(p.PollSingle)) {
		d, ok := parseDPID(k)
		if !ok {
			continue
		}
		for _, f := range p.PollSingle[k] {
			a.PollSingle = append(a.PollSingle, poll.Single{Flow: f, DPID: d})
		}
	}
	return a
}

// PollScheme is this instance's part of the current global scheme, nil while there
// is none (no scheme yet, its leader gone, an older assignment of masters, etcd
// unreachable): the instance then polls by its own scheme. It logs each change
// between the two.
func (n *Node) PollScheme() *poll.Assigned {
	n.mu.Lock()
	defer n.mu.Unlock()
	out, why := n.currentScheme()
	rev := int64(0)
	if out != nil {
		rev = out.Revision
	}
	if rev != n.polling {
		if out != nil {
			n.log.Info("polling by the leader's global scheme", "revision", rev, "poll_all", len(out.PollAll),
				"poll_single", len(out.PollSingle))
		} else {
			n.log.Warn("polling by this instance's own MCPS scheme", "reason", why)
		}
		n.polling = rev
	}
	return out
}

// currentScheme is this instance's part of the current global scheme, or nil and
// why there is none (n.mu held).
func (n *Node) currentScheme() (*poll.Assigned, string) {
	why := n.schemeWhy
	if !n.status.Connected {
		why = "not connected to etcd"
	}
	if why != "" {
		return nil, why
	}
	return n.part, ""
}
