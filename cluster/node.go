package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/poll"
	"github.com/cemon-sdn/cemon/topology"
)

// Controller is what a Node needs of the local controller (*controller.Controller is
// one).
type Controller interface {
	Roles() []controller.SwitchRole
	SetRole(dpid uint64, r ofproto.Role) error
	SavedFlows() []controller.SavedFlow
	AdoptFlows(flows []controller.SavedFlow) int
	ReserveFlowIDs(id uint64)
	SendMaster(dpid uint64, m ofproto.Message) error
	Links() []topology.Link
	Hosts() []topology.Host
	LearnRemote(links []topology.Link, hosts []topology.Host)
}

// Config configures one instance of a cluster. Zero fields take the defaults named.
type Config struct {
	// Endpoints are the etcd client URLs. Required.
	Endpoints []string
	// ID names the instance in the cluster; unique, stable across restarts. Required.
	ID string
	// API is the address of the instance's REST API, published for its peers.
	API string
	// Listen is the TCP address the instance takes its peers' writes on (see
	// Forward). Default "127.0.0.1:0".
	Listen string
	// Prefix of every key the cluster keeps in etcd. Default "/cemon/".
	Prefix string
	// Hops is this instance's distance to each switch, in hops (on one machine every
	// control channel is loopback, so the distances are configured); a switch not
	// named is DefaultHops away.
	Hops map[uint64]int
	// LeaseTTL is the membership lease: an instance that stops renewing it leaves the
	// cluster that long after, and its switches get new masters. Whole seconds, at
	// least 1 s. Default 2 s.
	LeaseTTL time.Duration
	// Interval is the spacing of the instance's reconciliation: publishing its
	// switches and flows, the leader's assignment, applying the masters. Default 250 ms.
	Interval time.Duration
	// DialTimeout bounds each connection attempt and each request to etcd. Default 2 s.
	DialTimeout time.Duration
	// ForgetAfter is how long the leader keeps the flows of an instance that left, for
	// the new masters to adopt. Default 30 s.
	ForgetAfter time.Duration
	// SchemeInterval is the least time between two computations of the global
	// polling scheme by the leader (each published only when it changed). Default 1 s.
	SchemeInterval time.Duration
}

// Defaults of Config.
const (
	DefaultPrefix         = "/cemon/"
	DefaultHops           = 1
	DefaultLeaseTTL       = 2 * time.Second
	DefaultInterval       = 250 * time.Millisecond
	DefaultDialTimeout    = 2 * time.Second
	DefaultForgetAfter    = 30 * time.Second
	DefaultSchemeInterval = time.Second
)

// ErrConfig is wrapped by every error Validate returns.
var ErrConfig = errors.New("cluster: bad config")

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.ForgetAfter == 0 {
		c.ForgetAfter = DefaultForgetAfter
	}
	if c.SchemeInterval == 0 {
		c.SchemeInterval = DefaultSchemeInterval
	}
	return c
}

// Validate reports every bad field, joined into one error that wraps ErrConfig.
func (c Config) Validate() error {
	d := c.withDefaults()
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...)))
	}
	if len(d.Endpoints) == 0 {
		bad("Endpoints", "at least one etcd endpoint is needed")
	}
	for _, e := range d.Endpoints {
		if strings.TrimSpace(e) == "" {
			bad("Endpoints", "empty endpoint")
		}
	}
	if d.ID == "" || strings.ContainsAny(d.ID, "/ \t\n") {
		bad("ID", "%q: a non-empty name without slashes or blanks", d.ID)
	}
	if d.LeaseTTL < time.Second || d.LeaseTTL%time.Second != 0 {
		bad("LeaseTTL", "%v: whole seconds, at least 1s", d.LeaseTTL)
	}
	if d.Interval <= 0 {
		bad("Interval", "%v is not positive", d.Interval)
	}
	if d.DialTimeout <= 0 {
		bad("DialTimeout", "%v is not positive", d.DialTimeout)
	}
	if d.ForgetAfter <= 0 {
		bad("ForgetAfter", "%v is not positive", d.ForgetAfter)
	}
	if d.SchemeInterval <= 0 {
		bad("SchemeInterval", "%v is not positive", d.SchemeInterval)
	}
	for dpid, h := range d.Hops {
		if h < 0 {
			bad("Hops", "switch %016x: negative distance %d", dpid, h)
		}
	}
	return errors.Join(errs...)
}

// Member is what an instance publishes about itself, under its lease.
type Member struct {
	ID       string            `json:"id"`
	API      string            `json:"api,omitempty"`
	Forward  string            `json:"forward"`  // where it takes writes for the switches it masters
	Slot     int               `json:"slot"`     // its range of flow IDs (slot << SlotShift)
	Switches map[string]int    `json:"switches"` // connected switches (16 hex digits) and their hops
	Flows    int               `json:"flows"`    // active flows it owns
	Joined   time.Time         `json:"joined"`
	Extra    map[string]string `json:"extra,omitempty"`
}

// Masters is the assignment the leader publishes: one master per switch.
type Masters struct {
	Revision int64             `json:"revision"` // bumped on every change
	Leader   string            `json:"leader"`
	Masters  map[string]string `json:"masters"` // switch (16 hex digits) -> instance
	Members  []string          `json:"members"` // the instances it was computed over
	At       time.Time         `json:"at"`
}

// SlotShift places each instance's flow IDs: instance slot s issues IDs from
// s << SlotShift, so that a flow adopted by another instance keeps its ID and cookie.
const SlotShift = 40

// maxSlot is the largest slot: flow IDs have 48 bits.
const maxSlot = 255

// Status is a Node's view of the cluster, for the REST API.
type Status struct {
	ID        string            `json:"id"`
	Connected bool              `json:"connected"` // holds a live lease in etcd
	Leader    string            `json:"leader"`
	IsLeader  bool              `json:"is_leader"`
	Members   []Member          `json:"members"`
	Masters   map[string]string `json:"masters"`  // switch -> instance, as last applied
	Revision  int64             `json:"revision"` // of the assignment
	Mastered  []string          `json:"mastered"` // switches this instance masters (granted)
	Adopted   int               `json:"adopted"`  // flows handed over to this instance so far
	LastError string            `json:"last_error,omitempty"`
	Since     time.Time         `json:"since"` // of the current lease
	// Scheme is the header of the last global polling scheme read from etcd;
	// SchemeRevision the one this instance polls by (0: its own MCPS scheme, for
	// the reason SchemeWhy).
	Scheme         Scheme `json:"scheme"`
	SchemeRevision int64  `json:"scheme_revision"`
	SchemeWhy      string `json:"scheme_why,omitempty"`
}

// Node is one instance's membership in a cluster. Run it; read it with Status.
type Node struct {
	cfg  Config
	ctl  Controller
	log  *slog.Logger
	now  func() time.Time
	hops map[uint64]int

	mu       sync.Mutex
	status   Status
	masters  Masters              // last applied
	gone     map[string]time.Time // instances seen leaving (leader only), for ForgetAfter
	adopted  map[string]bool      // instance -> its flows were adopted for this assignment
	pubFlows map[uint64]bool      // this instance's flows etcd holds (see publishFlows)
	seen     map[string]time.Time // instance -> when its member key was last read live (FlowRecords)
	cli      *clientv3.Client     // Run's etcd client, nil outside Run (FlowRecords)

	// vanish makes Run end as a killed process would: without revoking its lease or
	// resigning, so that the others notice only when the lease expires (tests).
	vanish bool

	ledSince time.Time  // when this instance was elected, for the grace period of lead
	schemer  *schemer   // the leader's global scheme (session goroutine only)
	fcache   *flowCache // the leader's watched copy of the published flows (session goroutine only)

	scheme    Scheme         // last read header (under mu)
	part      *poll.Assigned // this instance's part of it, nil if none (under mu)
	schemeWhy string         // why the part is not current, "" if it is (under mu)
	polling   int64          // the revision PollScheme last gave, 0 for none (under mu)
	replySink func(dpid uint64, r *ofproto.StatsReply)
	adoptRev  int64 // the assignment whose departed instances' flows were adopted
	// pendingMoves are flows handed to the controller to adopt whose records are
	// still the departed instance's: each is moved once the controller tracks it
	// (adoption waits for the switches' tables), or dropped at until (session
	// goroutine only).
	pendingMoves []pendingMove

	runCtx      context.Context   // Run's, for the peers' senders; nil before Run
	listenAddr  string            // the forward listener's address
	forwardAddr map[string]string // instance -> its forward listener
	peerMu      sync.Mutex
	peers       map[string]*peer
	wg          sync.WaitGroup // peers' senders and the forward server
	fwd         forwardCounters
}

// New returns a Node for cfg; a nil logger discards.
func New(cfg Config, ctl Controller, logger *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	return &Node{cfg: cfg, ctl: ctl, log: logger.With("cluster_id", cfg.ID), now: time.Now,
		hops: maps.Clone(cfg.Hops), gone: map[string]time.Time{}, adopted: map[string]bool{}, seen: map[string]time.Time{},
		forwardAddr: map[string]string{}, peers: map[string]*peer{},
		status: Status{ID: cfg.ID}}, nil
}

// SetAPI sets the REST API address the instance publishes (call it before Run, once
// the listener has its port).
func (n *Node) SetAPI(addr string) {
	n.mu.Lock()
	n.cfg.API = addr
	n.mu.Unlock()
}

// Status returns the node's current view.
func (n *Node) Status() Status {
	n.mu.Lock()
	s := n.status
	s.Members = slices.Clone(s.Members)
	s.Masters = maps.Clone(s.Masters)
	s.Scheme = n.scheme
	if cur, why := n.currentScheme(); cur != nil {
		s.SchemeRevision = cur.Revision
	} else {
		s.SchemeWhy = why
	}
	s.Scheme.Instances = slices.Clone(s.Scheme.Instances)
	n.mu.Unlock()
	// (Never call the controller holding n.mu: Forward takes n.mu under the
	// controller's lock.)
	s.Mastered = nil
	for _, r := range n.ctl.Roles() {
		if r.Role == ofproto.RolePrimary {
			s.Mastered = append(s.Mastered, dpidKey(r.DPID))
		}
	}
	return s
}

func dpidKey(d uint64) string { return fmt.Sprintf("%016x", d) }

func parseDPID(s string) (uint64, bool) {
	d, err := strconv.ParseUint(s, 16, 64)
	return d, err == nil && len(s) == 16
}

func (n *Node) key(parts ...string) string { return n.cfg.Prefix + strings.Join(parts, "/") }

func (n *Node) setErr(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err == nil {
		n.status.LastError = ""
		return
	}
	n.status.LastError = err.Error()
}

// Run joins the cluster and keeps the instance in it until ctx ends. When etcd is
// unreachable the instance keeps the roles it holds (it serves its switches alone)
// and joins again with a new lease when etcd answers. It returns nil when ctx ends.
func (n *Node) Run(ctx context.Context) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: n.cfg.Endpoints, DialTimeout: n.cfg.DialTimeout,
		Context: ctx, Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("cluster: etcd client: %w", err)
	}
	defer cli.Close()
	ln, err := net.Listen("tcp", n.cfg.Listen)
	if err != nil {
		return fmt.Errorf("cluster: forward listener: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer n.wg.Wait()
	defer cancel()
	n.mu.Lock()
	n.runCtx, n.listenAddr, n.cli = ctx, ln.Addr().String(), cli
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.cli = nil
		n.mu.Unlock()
	}()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.serveForward(ctx, ln)
	}()
	backoff := n.cfg.Interval
	for ctx.Err() == nil {
		err := n.session(ctx, cli)
		n.mu.Lock()
		n.status.Connected, n.status.IsLeader = false, false
		n.mu.Unlock()
		if ctx.Err() != nil {
			break
		}
		n.setErr(err)
		n.log.Warn("cluster session ended; keeping the switches' roles and joining again", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
	return nil
}

// session is one membership: a lease, the member key, a campaign for leadership, and
// the reconciliation loop, until the lease is lost or ctx ends.
func (n *Node) session(ctx context.Context, cli *clientv3.Client) error {
	gctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	lease, err := cli.Grant(gctx, int64(n.cfg.LeaseTTL/time.Second))
	cancel()
	if err != nil {
		return fmt.Errorf("cluster: lease: %w", err)
	}
	sess, err := concurrency.NewSession(cli, concurrency.WithLease(lease.ID), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("cluster: lease: %w", err)
	}
	defer func() {
		sess.Orphan()
		if n.vanish {
			return
		}
		cctx, cancel := context.WithTimeout(context.Background(), n.cfg.DialTimeout)
		defer cancel()
		_, _ = cli.Revoke(cctx, sess.Lease()) // leave at once when stopping
	}()
	slot, err := n.claimSlot(ctx, cli)
	if err != nil {
		return err
	}
	highest, err := n.loadPublished(ctx, cli, slot)
	if err != nil {
		return err
	}
	n.ctl.ReserveFlowIDs(max(uint64(slot)<<SlotShift, highest))
	joined := n.now()
	n.mu.Lock()
	n.status.Connected, n.status.Since, n.status.LastError = true, joined, ""
	n.mu.Unlock()
	n.log.Info("joined the cluster", "lease", fmt.Sprintf("%x", sess.Lease()), "slot", slot)

	lctx, stopCampaign := context.WithCancel(ctx)
	elected, campaigned := make(chan struct{}), make(chan struct{})
	el := concurrency.NewElection(sess, n.key("election"))
	go func() {
		defer close(campaigned)
		if err := el.Campaign(lctx, n.cfg.ID); err == nil {
			close(elected)
		}
	}()
	defer func() {
		stopCampaign()
		select {
		case <-campaigned: // the election is the campaign's until it returns
		case <-time.After(n.cfg.DialTimeout):
			// A cancelled campaign resigns with the client's context: with etcd
			// unreachable it returns when the client closes (Run's end).
			return
		}
		if n.vanish {
			return
		}
		rctx, cancel := context.WithTimeout(context.Background(), n.cfg.DialTimeout)
		defer cancel()
		_ = el.Resign(rctx)
	}()
	leader := false
	t := time.NewTicker(n.cfg.Interval)
	defer t.Stop()
	// Requests end with the lease (sess.Ctx), not only with ctx: a lost lease is
	// noticed at once rather than after every request's timeout.
	rctx := sess.Ctx()
	for {
		if err := n.publish(rctx, cli, sess, slot, joined); err != nil {
			n.setErr(err)
		}
		if leader && rctx.Err() == nil {
			if err := n.lead(rctx, cli); err != nil {
				n.setErr(err)
			}
		}
		if rctx.Err() == nil {
			if err := n.follow(rctx, cli); err != nil {
				n.setErr(err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-sess.Done():
			return errors.New("cluster: lease lost")
		case <-elected:
			elected = nil
			leader = true
			n.ledSince = n.now()
			n.mu.Lock()
			n.status.IsLeader = true
			n.mu.Unlock()
			n.log.Info("elected cluster leader")
		case <-t.C:
		}
	}
}

// claimSlot finds this instance's slot of flow IDs in etcd, or claims a free one.
// Slots are kept after an instance leaves: its flows' IDs stay its own.
func (n *Node) claimSlot(ctx context.Context, cli *clientv3.Client) (int, error) {
	rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	resp, err := cli.Get(rctx, n.key("slots")+"/", clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("cluster: slots: %w", err)
	}
	used := map[int]bool{}
	for _, kv := range resp.Kvs {
		s, err := strconv.Atoi(strings.TrimPrefix(string(kv.Key), n.key("slots")+"/"))
		if err != nil {
			continue
		}
		if string(kv.Value) == n.cfg.ID {
			return s, nil
		}
		used[s] = true
	}
	// Start from a slot the ID hashes to, so that instances rarely race for one.
	h := fnv.New32a()
	h.Write([]byte(n.cfg.ID))
	first := int(h.Sum32()%maxSlot) + 1
	for i := range maxSlot {
		s := (first-1+i)%maxSlot + 1
		if used[s] {
			continue
		}
		k := n.key("slots", strconv.Itoa(s))
		tr, err := cli.Txn(rctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
			Then(clientv3.OpPut(k, n.cfg.ID)).Commit()
		if err != nil {
			return 0, fmt.Errorf("cluster: slots: %w", err)
		}
		if tr.Succeeded {
			return s, nil
		}
	}
	return 0, errors.New("cluster: every slot of flow IDs is taken")
}

// publish writes the member key (under the lease) and the instance's flows (without
// lease: they outlive the instance, for the new masters to adopt).
func (n *Node) publish(ctx context.Context, cli *clientv3.Client, sess *concurrency.Session, slot int, joined time.Time) error {
	n.mu.Lock()
	apiAddr, fwdAddr := n.cfg.API, n.listenAddr
	n.mu.Unlock()
	m := Member{ID: n.cfg.ID, API: apiAddr, Forward: fwdAddr, Slot: slot, Switches: map[string]int{}, Joined: joined}
	roles := n.ctl.Roles()
	for _, r := range roles {
		h, ok := n.hops[r.DPID]
		if !ok {
			h = DefaultHops
		}
		m.Switches[dpidKey(r.DPID)] = h
	}
	flows := n.ctl.SavedFlows()
	slices.SortFunc(flows, func(a, b controller.SavedFlow) int { return cmp.Compare(a.ID, b.ID) })
	m.Flows = len(flows)
	mb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	if _, err := cli.Put(rctx, n.key("members", n.cfg.ID), string(mb), clientv3.WithLease(sess.Lease())); err != nil {
		return fmt.Errorf("cluster: publish member: %w", err)
	}
	// What this instance alone learns: the links into the switches it masters (their
	// LLDP probes reach it) and the hosts on them; under the lease.
	mine := map[uint64]bool{}
	for _, r := range roles {
		if r.Role == ofproto.RolePrimary {
			mine[r.DPID] = true
		}
	}
	var tv topoView
	for _, l := range n.ctl.Links() {
		if mine[l.DstDPID] {
			tv.Links = append(tv.Links, l)
		}
	}
	for _, h := range n.ctl.Hosts() {
		if mine[h.DPID] {
			tv.Hosts = append(tv.Hosts, h)
		}
	}
	tb, err := json.Marshal(tv)
	if err != nil {
		return err
	}
	if _, err := cli.Put(rctx, n.key("topology", n.cfg.ID), string(tb), clientv3.WithLease(sess.Lease())); err != nil {
		return fmt.Errorf("cluster: publish topology: %w", err)
	}
	return n.publishFlows(ctx, cli, flows)
}

// topoView is what one instance publishes of the network.
type topoView struct {
	Links []topology.Link `json:"links"`
	Hosts []topology.Host `json:"hosts"`
}

// learnTopology puts the links and hosts the other instances published into the
// local view.
func (n *Node) learnTopology(ctx context.Context, cli *clientv3.Client) error {
	rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	resp, err := cli.Get(rctx, n.key("topology")+"/", clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("cluster: topology: %w", err)
	}
	var all topoView
	for _, kv := range resp.Kvs {
		if string(kv.Key) == n.key("topology", n.cfg.ID) {
			continue
		}
		var tv topoView
		if err := json.Unmarshal(kv.Value, &tv); err != nil {
			n.log.Warn("bad topology record", "key", string(kv.Key), "err", err)
			continue
		}
		all.Links = append(all.Links, tv.Links...)
		all.Hosts = append(all.Hosts, tv.Hosts...)
	}
	n.ctl.LearnRemote(all.Links, all.Hosts)
	return nil
}

// members reads every live member.
func (n *Node) members(ctx context.Context, cli *clientv3.Client) ([]Member, error) {
	rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	resp, err := cli.Get(rctx, n.key("members")+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("cluster: members: %w", err)
	}
	var out []Member
	for _, kv := range resp.Kvs {
		var m Member
		if err := json.Unmarshal(kv.Value, &m); err != nil {
			n.log.Warn("bad member record", "key", string(kv.Key), "err", err)
			continue
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (n *Node) readMasters(ctx context.Context, cli *clientv3.Client) (Masters, error) {
	rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	resp, err := cli.Get(rctx, n.key("masters"))
	if err != nil {
		return Masters{}, fmt.Errorf("cluster: masters: %w", err)
	}
	var m Masters
	if len(resp.Kvs) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &m); err != nil {
		return Masters{}, fmt.Errorf("cluster: masters record: %w", err)
	}
	return m, nil
}

// candidates turns members into the assignment's input.
func candidates(ms []Member) []Candidate {
	out := make([]Candidate, 0, len(ms))
	for _, m := range ms {
		c := Candidate{ID: m.ID, Hops: map[uint64]int{}}
		for k, h := range m.Switches {
			if d, ok := parseDPID(k); ok {
				c.Hops[d] = h
			}
		}
		out = append(out, c)
	}
	return out
}

// lead is the leader's step: assign the switches over the live members and publish
// the assignment when it changed; forget the flows of instances gone long ago.
func (n *Node) lead(ctx context.Context, cli *clientv3.Client) error {
	ms, err := n.members(ctx, cli)
	if err != nil {
		return err
	}
	cur, err := n.readMasters(ctx, cli)
	if err != nil {
		return err
	}
	prev := map[uint64]string{}
	for k, id := range cur.Masters {
		if d, ok := parseDPID(k); ok {
			prev[d] = id
		}
	}
	if n.now().Sub(n.ledSince) < n.cfg.LeaseTTL {
		// Newly elected (after an etcd outage, say): an instance of the current
		// assignment that has not joined yet gets one lease's time to, before its
		// switches are moved.
		live := map[string]bool{}
		for _, m := range ms {
			live[m.ID] = true
		}
		for _, id := range cur.Members {
			// (The former leader is not waited for: its lease expiring is most
			// likely why this instance was elected.)
			if !live[id] && id != cur.Leader {
				return nil
			}
		}
	}
	got := Assign(candidates(ms), prev)
	next := Masters{Revision: cur.Revision, Leader: n.cfg.ID, Masters: map[string]string{}, At: n.now()}
	for d, id := range got {
		next.Masters[dpidKey(d)] = id
	}
	for _, m := range ms {
		next.Members = append(next.Members, m.ID)
	}
	if !maps.Equal(next.Masters, cur.Masters) || !slices.Equal(next.Members, cur.Members) || cur.Leader != n.cfg.ID {
		next.Revision++
		b, err := json.Marshal(next)
		if err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
		defer cancel()
		if _, err := cli.Put(rctx, n.key("masters"), string(b)); err != nil {
			return fmt.Errorf("cluster: publish masters: %w", err)
		}
		n.log.Info("switch masters assigned", "revision", next.Revision, "members", next.Members,
			"switches", len(next.Masters))
	}
	// Flows of instances that left: kept ForgetAfter for adoption, then deleted.
	live := map[string]bool{}
	for _, m := range ms {
		live[m.ID] = true
	}
	rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	kvs, _, err := rangeAll(rctx, cli, n.flowPrefix(""), true)
	if err != nil {
		return fmt.Errorf("cluster: flows: %w", err)
	}
	now := n.now()
	insts := map[string]bool{}
	for _, x := range kvs {
		if inst, _, ok := n.parseFlowKey(x.key); ok {
			insts[inst] = true
		}
	}
	for id := range insts {
		if live[id] {
			delete(n.gone, id)
			continue
		}
		t, ok := n.gone[id]
		if !ok {
			n.gone[id] = now
			continue
		}
		if now.Sub(t) >= n.cfg.ForgetAfter {
			if _, err := cli.Delete(rctx, n.flowPrefix(id), clientv3.WithPrefix()); err == nil {
				delete(n.gone, id)
			}
		}
	}
	return n.leadScheme(ctx, cli, ms)
}

// follow applies the published assignment: master of the switches it names for this
// instance, slave of the others; and adopts the flows of instances that left, whose
// first switch this instance now masters.
func (n *Node) follow(ctx context.Context, cli *clientv3.Client) error {
	m, err := n.readMasters(ctx, cli)
	if err != nil {
		return err
	}
	ms, err := n.members(ctx, cli)
	if err != nil {
		return err
	}
	if err := n.learnTopology(ctx, cli); err != nil {
		return err
	}
	now := n.now()
	n.mu.Lock()
	for _, mb := range ms {
		n.forwardAddr[mb.ID] = mb.Forward
		n.seen[mb.ID] = now
	}
	n.masters = m
	n.status.Members = ms
	n.status.Masters = m.Masters
	n.status.Revision = m.Revision
	n.status.Leader = m.Leader
	n.mu.Unlock()
	n.apply(m)
	if err := n.followScheme(ctx, cli, m, ms); err != nil {
		return err
	}
	if err := n.movePending(ctx, cli); err != nil {
		return err
	}
	if m.Revision == n.adoptRev {
		return nil
	}
	// Instances that left: adopt their flows that start at a switch this one masters.
	live := map[string]bool{}
	for _, id := range m.Members {
		live[id] = true
	}
	all, err := n.instanceFlows(ctx, cli)
	if err != nil {
		return err
	}
	mine := map[uint64]bool{}
	for k, id := range m.Masters {
		if d, ok := parseDPID(k); ok && id == n.cfg.ID {
			mine[d] = true
		}
	}
	for _, id := range slices.Sorted(maps.Keys(all)) {
		if live[id] || id == n.cfg.ID {
			continue
		}
		fs := all[id]
		var take []controller.SavedFlow
		for _, f := range fs {
			if len(f.Path) > 0 && mine[f.Path[0].DPID] {
				take = append(take, f)
			}
		}
		if len(take) == 0 {
			continue
		}
		got := n.ctl.AdoptFlows(take)
		n.mu.Lock()
		n.status.Adopted += got
		n.mu.Unlock()
		n.log.Info("adopting the flows of an instance that left", "instance", id, "flows", len(take), "new", got)
		n.pendingMoves = append(n.pendingMoves, pendingMove{from: id, flows: take, until: n.now().Add(n.cfg.ForgetAfter)})
	}
	n.adoptRev = m.Revision // (on an error above, the next round tries again)
	return nil
}

// apply sets the roles the assignment gives this instance at the connected switches.
// A switch the assignment does not name yet keeps its role.
func (n *Node) apply(m Masters) {
	for _, r := range n.ctl.Roles() {
		id, ok := m.Masters[dpidKey(r.DPID)]
		if !ok {
			continue
		}
		want := ofproto.RoleSecondary
		if id == n.cfg.ID {
			want = ofproto.RolePrimary
		}
		if r.Role == want || r.Pending == want {
			continue
		}
		if err := n.ctl.SetRole(r.DPID, want); err != nil {
			n.log.Warn("role request", "dpid", dpidKey(r.DPID), "role", want, "err", err)
		}
	}
}
