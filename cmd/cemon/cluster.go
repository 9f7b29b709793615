package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cemon-sdn/cemon/api"
	"github.com/cemon-sdn/cemon/cluster"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/ofproto"
)

// clusterFlags are the flags of cemon run that put it in a cluster.
type clusterFlags struct {
	endpoints string
	id        string
	hops      string
	lease     time.Duration
	scheme    string
}

func addClusterFlags(fs *flag.FlagSet) *clusterFlags {
	c := &clusterFlags{}
	fs.StringVar(&c.endpoints, "cluster-endpoints", "", "etcd client `URLs`, comma-separated: join a cluster of cemon instances sharing the switches (each switch connects to every instance; one masters it)")
	fs.StringVar(&c.id, "instance-id", "", "this instance's `name` in the cluster (unique, stable across restarts); default the host name")
	fs.StringVar(&c.hops, "cluster-hops", "", "this instance's distance to the switches: `dpid=hops`,... (hex dpids) or @FILE with one pair a line; switches not named are 1 hop away. Masters go to the nearest instance, and the polling costs are weighed by these hops (with -deployment in-band)")
	fs.DurationVar(&c.lease, "cluster-lease", cluster.DefaultLeaseTTL, "membership lease (whole seconds): an instance that stops is replaced as master that long after")
	fs.StringVar(&c.scheme, "cluster-scheme", "global", "-polling mcps in a cluster: global (each instance polls its part of the scheme the leader computes over every instance's flows, "+
		"with each switch's cost from its master; its own scheme while none is current) or local (each instance's own scheme over its own flows)")
	return c
}

func (c *clusterFlags) enabled() bool { return c.endpoints != "" }

// config builds the cluster configuration the flags describe.
func (c *clusterFlags) config(apiAddr string) (cluster.Config, error) {
	cfg := cluster.Config{API: apiAddr, LeaseTTL: c.lease, ID: c.id}
	for _, e := range strings.Split(c.endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			cfg.Endpoints = append(cfg.Endpoints, e)
		}
	}
	if cfg.ID == "" {
		h, err := os.Hostname()
		if err != nil {
			return cfg, fmt.Errorf("-instance-id: %w", err)
		}
		cfg.ID = h
	}
	if c.scheme != "global" && c.scheme != "local" {
		return cfg, fmt.Errorf("-cluster-scheme %q: want global or local", c.scheme)
	}
	if c.hops != "" {
		h, err := parseHops(c.hops)
		if err != nil {
			return cfg, fmt.Errorf("-cluster-hops: %w", err)
		}
		cfg.Hops = h
	}
	return cfg, cfg.Validate()
}

// parseHops reads dpid=hops pairs, separated by commas, blanks or lines (@FILE, with
// # comments); dpids in hex.
func parseHops(v string) (map[uint64]int, error) {
	words, err := listWords(v)
	if err != nil {
		return nil, err
	}
	out := map[uint64]int{}
	for _, w := range words {
		k, val, ok := strings.Cut(w, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not dpid=hops", w)
		}
		h := strings.ReplaceAll(strings.TrimPrefix(strings.ToLower(k), "0x"), ":", "")
		d, err := strconv.ParseUint(h, 16, 64)
		if err != nil || len(h) > 16 || h == "" {
			return nil, fmt.Errorf("%q is not a datapath id (up to 16 hex digits)", k)
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q: hops must be a whole number, 0 or more", w)
		}
		out[d] = n
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no dpid=hops pair in %q", v)
	}
	return out, nil
}

// mastered lists the switches ctl is master of.
func mastered(ctl *controller.Controller) func() []uint64 {
	return func() []uint64 {
		var out []uint64
		for _, r := range ctl.Roles() {
			if r.Role == ofproto.RolePrimary {
				out = append(out, r.DPID)
			}
		}
		return out
	}
}

// startCluster runs the instance's membership until ctx ends; stopped closes when it
// has left.
func startCluster(ctx context.Context, n *cluster.Node, logger *slog.Logger) <-chan struct{} {
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := n.Run(ctx); err != nil {
			logger.Error("cluster membership stopped", "err", err)
		}
	}()
	return stopped
}

// clusterStatus adapts a node's status to the REST type; assigned is the revision
// of the global scheme the collector polls by (false: its own scheme), global
// whether it is to poll by the global scheme at all (-cluster-scheme global).
func clusterStatus(n *cluster.Node, assigned func() (int64, bool), global bool) func() api.ClusterStatus {
	return func() api.ClusterStatus {
		s := n.Status()
		out := api.ClusterStatus{ID: s.ID, Connected: s.Connected, Leader: s.Leader, IsLeader: s.IsLeader,
			Masters: s.Masters, Revision: s.Revision, Mastered: s.Mastered, Adopted: s.Adopted,
			LastError: s.LastError, Since: s.Since, Polling: "local", SchemeWhy: s.SchemeWhy,
			PublishedScheme: s.Scheme.Revision, SchemeCost: s.Scheme.Cost}
		if rev, ok := assigned(); ok {
			out.Polling, out.SchemeRevision, out.SchemeWhy = "global", rev, ""
		} else if !global {
			out.SchemeWhy = "-cluster-scheme local"
		} else if out.SchemeWhy == "" {
			out.SchemeWhy = "no polling round by the current scheme yet (or -polling is not mcps)"
		}
		for _, m := range s.Members {
			out.Members = append(out.Members, api.ClusterMember{ID: m.ID, API: m.API, Switches: m.Switches,
				Flows: m.Flows, Joined: m.Joined})
		}
		return out
	}
}

// flowRecords serves the cluster's flow records to the API (api.ClusterRecords).
func flowRecords(n *cluster.Node) func(ctx context.Context, skip []string, after uint64, limit int) ([]api.FlowRecord, bool, error) {
	return func(ctx context.Context, skip []string, after uint64, limit int) ([]api.FlowRecord, bool, error) {
		recs, more, err := n.FlowRecords(ctx, skip, after, limit)
		if err != nil {
			return nil, false, err
		}
		out := make([]api.FlowRecord, len(recs))
		for i := range recs {
			out[i] = apiFlowRecord(&recs[i])
		}
		return out, more, nil
	}
}

// apiFlowRecord is the API view of a flow's record: its identity, path and hosts.
func apiFlowRecord(r *cluster.FlowRecord) api.FlowRecord {
	f := &r.Flow
	af := api.Flow{ID: f.ID, Cookie: api.FormatCookie(f.Cookie), Match: apiMatch(f.Key), State: api.StateActive, Start: f.Start,
		Path: make([]string, len(f.Path)), Entries: make([]api.FlowEntry, len(f.Path))}
	for i, h := range f.Path {
		af.Path[i] = api.FormatDPID(h.DPID)
		af.Entries[i] = api.FlowEntry{DPID: af.Path[i], InPort: h.InPort, OutPort: h.OutPort}
	}
	src, dst := ofproto.MAC(f.Key.DLSrc).String(), ofproto.MAC(f.Key.DLDst).String()
	if f.Key.DLType == 0x0800 {
		src, dst = netip.AddrFrom4(f.Key.NWSrc).String(), netip.AddrFrom4(f.Key.NWDst).String()
	}
	return api.FlowRecord{Owner: r.Owner, Alive: r.Alive, Flow: af, Src: src, Dst: dst}
}
