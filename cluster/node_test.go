package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/cemon-sdn/cemon/cluster/etcdtest"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

// fakeCtl is a controller connected to some switches; roles are granted at once.
type fakeCtl struct {
	mu       sync.Mutex
	links    []topology.Link
	hosts    []topology.Host
	remoteL  []topology.Link
	remoteH  []topology.Host
	sent     []string // "dpid type" of what peers forwarded
	roles    map[uint64]ofproto.Role
	flows    []controller.SavedFlow
	adopted  map[uint64]controller.SavedFlow
	hold     bool                   // AdoptFlows keeps the flows in held (adoption waiting for the tables)
	held     []controller.SavedFlow // what AdoptFlows got while hold
	reserved uint64
	requests int
}

func newFakeCtl(dpids ...uint64) *fakeCtl {
	f := &fakeCtl{roles: map[uint64]ofproto.Role{}, adopted: map[uint64]controller.SavedFlow{}}
	for _, d := range dpids {
		f.roles[d] = ofproto.RoleSecondary
	}
	return f
}

func (f *fakeCtl) Roles() []controller.SwitchRole {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []controller.SwitchRole
	for _, d := range slices.Sorted(maps.Keys(f.roles)) {
		out = append(out, controller.SwitchRole{DPID: d, Role: f.roles[d]})
	}
	return out
}

func (f *fakeCtl) SetRole(d uint64, r ofproto.Role) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.roles[d]; !ok {
		return controller.ErrNoSwitch
	}
	f.roles[d] = r
	f.requests++
	return nil
}

func (f *fakeCtl) SavedFlows() []controller.SavedFlow {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.flows)
	for _, a := range f.adopted {
		out = append(out, a)
	}
	return out
}

func (f *fakeCtl) AdoptFlows(fs []controller.SavedFlow) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hold {
		f.held = append(f.held, fs...)
		return len(fs)
	}
	n := 0
	for _, s := range fs {
		if _, ok := f.adopted[s.ID]; !ok {
			f.adopted[s.ID] = s
			n++
		}
	}
	return n
}

func (f *fakeCtl) ReserveFlowIDs(id uint64) {
	f.mu.Lock()
	f.reserved = id
	f.mu.Unlock()
}

func (f *fakeCtl) SendMaster(d uint64, m ofproto.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.roles[d] != ofproto.RolePrimary {
		return controller.ErrNotMaster
	}
	f.sent = append(f.sent, fmt.Sprintf("%d %v", d, m.Type()))
	return nil
}

func (f *fakeCtl) Links() []topology.Link {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.links)
}

func (f *fakeCtl) Hosts() []topology.Host {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.hosts)
}

func (f *fakeCtl) LearnRemote(l []topology.Link, h []topology.Host) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.remoteL, f.remoteH = l, h
}

func (f *fakeCtl) mastered() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []uint64
	for d, r := range f.roles {
		if r == ofproto.RolePrimary {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

type instance struct {
	id     string
	ctl    *fakeCtl
	node   *Node
	cancel context.CancelFunc
	done   chan struct{}
}

func logger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return nil
}

func startInstance(t *testing.T, eps []string, id string, hops map[uint64]int, ctl *fakeCtl) *instance {
	t.Helper()
	n, err := New(Config{Endpoints: eps, ID: id, API: "127.0.0.1:1", Hops: hops, LeaseTTL: 2 * time.Second,
		Interval: 100 * time.Millisecond, DialTimeout: time.Second, ForgetAfter: 5 * time.Second, SchemeInterval: 200 * time.Millisecond}, ctl, logger(t))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{id: id, ctl: ctl, node: n, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(in.done)
		assert.NoError(t, n.Run(ctx))
	}()
	t.Cleanup(in.stop)
	return in
}

func (in *instance) stop() {
	in.cancel()
	select {
	case <-in.done:
	case <-time.After(10 * time.Second):
		panic("cluster node did not stop")
	}
}

// kill ends the instance as kill -9 would: its lease is left to expire.
func (in *instance) kill() {
	in.node.vanish = true
	in.stop()
}

// hopsNear is a hop map: distance 1 to near, 3 to the others of all.
func hopsNear(all []uint64, near ...uint64) map[uint64]int {
	m := map[uint64]int{}
	for _, d := range all {
		m[d] = 3
	}
	for _, d := range near {
		m[d] = 1
	}
	return m
}

// masters says, for each switch, which instances master it.
func masters(ins ...*instance) map[uint64][]string {
	out := map[uint64][]string{}
	for _, in := range ins {
		for _, d := range in.ctl.mastered() {
			out[d] = append(out[d], in.id)
		}
	}
	return out
}

func oneMasterEach(all []uint64, ins ...*instance) bool {
	m := masters(ins...)
	for _, d := range all {
		if len(m[d]) != 1 {
			return false
		}
	}
	return true
}

var six = []uint64{1, 2, 3, 4, 5, 6}

func threeInstances(t *testing.T, eps []string) (a, b, c *instance) {
	a = startInstance(t, eps, "a", hopsNear(six, 1, 2), newFakeCtl(six...))
	b = startInstance(t, eps, "b", hopsNear(six, 3, 4), newFakeCtl(six...))
	c = startInstance(t, eps, "c", hopsNear(six, 5, 6), newFakeCtl(six...))
	require.Eventually(t, func() bool {
		return slices.Equal(a.ctl.mastered(), []uint64{1, 2}) && slices.Equal(b.ctl.mastered(), []uint64{3, 4}) &&
			slices.Equal(c.ctl.mastered(), []uint64{5, 6})
	}, 15*time.Second, 50*time.Millisecond, "each instance masters its nearest switches: %v", masters(a, b, c))
	return a, b, c
}

func leaderOf(ins ...*instance) string {
	for _, in := range ins {
		if in.node.Status().IsLeader {
			return in.id
		}
	}
	return ""
}

func TestMembershipAndMastership(t *testing.T) {
	etcd := etcdtest.Start(t, 3)
	a, b, c := threeInstances(t, etcd.Endpoints())
	require.Eventually(t, func() bool { return leaderOf(a, b, c) != "" }, 5*time.Second, 50*time.Millisecond)
	st := b.node.Status()
	assert.True(t, st.Connected)
	assert.Equal(t, []string{"a", "b", "c"}, func() []string {
		var ids []string
		for _, m := range st.Members {
			ids = append(ids, m.ID)
		}
		return ids
	}())
	assert.Equal(t, leaderOf(a, b, c), st.Leader)
	assert.Positive(t, st.Revision)
	assert.Equal(t, []string{"0000000000000003", "0000000000000004"}, st.Mastered)
	assert.Equal(t, "b", st.Masters["0000000000000003"])
	// Distinct ranges of flow IDs.
	rs := map[uint64]bool{a.ctl.reserved: true, b.ctl.reserved: true, c.ctl.reserved: true}
	assert.Len(t, rs, 3)
	for r := range rs {
		assert.NotZero(t, r)
		assert.Zero(t, r%(1<<SlotShift))
	}
	// A fourth instance near nothing in particular: balance moves nobody's nearest.
	d := startInstance(t, etcd.Endpoints(), "d", hopsNear(six), newFakeCtl(six...))
	require.Eventually(t, func() bool {
		return len(d.node.Status().Members) == 4 && oneMasterEach(six, a, b, c, d)
	}, 10*time.Second, 50*time.Millisecond)
	assert.Equal(t, []uint64{1, 2}, a.ctl.mastered())
	assert.Empty(t, d.ctl.mastered())
}

func TestLeaderLeavesAndLeaseExpiry(t *testing.T) {
	etcd := etcdtest.Start(t, 3)
	a, b, c := threeInstances(t, etcd.Endpoints())
	require.Eventually(t, func() bool { return leaderOf(a, b, c) != "" }, 5*time.Second, 50*time.Millisecond)
	ins := map[string]*instance{"a": a, "b": b, "c": c}
	lead := ins[leaderOf(a, b, c)]
	var rest []*instance
	for _, in := range []*instance{a, b, c} {
		if in != lead {
			rest = append(rest, in)
		}
	}
	// The leader's flows: each starts at one of its switches.
	mine := lead.ctl.mastered()
	lead.ctl.mu.Lock()
	for i, d := range mine {
		lead.ctl.flows = append(lead.ctl.flows, controller.SavedFlow{ID: uint64(10 + i), Cookie: uint64(10 + i),
			Key:  flowtracker.Key{NWProto: 17, TPSrc: uint16(i)},
			Path: []flowtracker.Hop{{DPID: d, InPort: 1, OutPort: 2}}, Start: time.Unix(1, 0)})
	}
	lead.ctl.mu.Unlock()
	cli, err := clientv3.New(clientv3.Config{Endpoints: etcd.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	defer cli.Close()
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r, err := cli.Get(ctx, DefaultPrefix+"flows/"+lead.id+"/", clientv3.WithPrefix())
		if err != nil || len(r.Kvs) != len(mine) {
			return false
		}
		for _, kv := range r.Kvs {
			var f controller.SavedFlow
			if json.Unmarshal(kv.Value, &f) != nil || string(kv.Key) != fmt.Sprintf("%sflows/%s/%016x", DefaultPrefix, lead.id, f.ID) {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "the leader's flows published")

	// kill -9 of the leader: a new leader is elected and its switches get new masters
	// once its lease expires (TTL 2 s).
	t0 := time.Now()
	lead.kill()
	require.Eventually(t, func() bool { return oneMasterEach(six, rest...) }, 8*time.Second, 20*time.Millisecond,
		"re-mastered: %v", masters(rest...))
	took := time.Since(t0)
	t.Logf("switches of the killed leader re-mastered after %v (lease TTL 2s, interval 100ms)", took)
	assert.Less(t, took, 5*time.Second)
	nl := leaderOf(rest...)
	assert.NotEmpty(t, nl)
	assert.NotEqual(t, lead.id, nl)
	// Each of its flows is adopted by the new master of its first switch, once.
	require.Eventually(t, func() bool {
		n := 0
		for _, in := range rest {
			in.ctl.mu.Lock()
			for _, f := range in.ctl.adopted {
				if slices.Contains(in.ctl.mastered2(), f.Path[0].DPID) {
					n++
				}
			}
			in.ctl.mu.Unlock()
		}
		return n == len(mine)
	}, 5*time.Second, 50*time.Millisecond)

	// A graceful stop leaves at once (the lease is revoked).
	rest[0].stop() // revokes the lease on its way out
	t0 = time.Now()
	require.Eventually(t, func() bool { return len(rest[1].node.Status().Members) == 1 }, 5*time.Second, 20*time.Millisecond)
	assert.Less(t, time.Since(t0), time.Second, "gone from the members well before its lease would expire")
	require.Eventually(t, func() bool { return oneMasterEach(six, rest[1]) }, 5*time.Second, 20*time.Millisecond)
	assert.Equal(t, six, rest[1].ctl.mastered())
}

// mastered2 is mastered for a caller holding f.mu.
func (f *fakeCtl) mastered2() []uint64 {
	var out []uint64
	for d, r := range f.roles {
		if r == ofproto.RolePrimary {
			out = append(out, d)
		}
	}
	return out
}

func TestEtcdMemberKilledAndRestarted(t *testing.T) {
	etcd := etcdtest.Start(t, 3)
	a, b, c := threeInstances(t, etcd.Endpoints())
	etcd.Stop(0)
	// The cluster keeps working on two members: an instance leaving is noticed.
	c.kill()
	require.Eventually(t, func() bool { return oneMasterEach(six, a, b) }, 10*time.Second, 50*time.Millisecond,
		"%v", masters(a, b))
	etcd.Restart(0)
	e := startInstance(t, etcd.Endpoints()[:1], "e", hopsNear(six, 5, 6), newFakeCtl(six...))
	require.Eventually(t, func() bool {
		return slices.Equal(e.ctl.mastered(), []uint64{5, 6}) && oneMasterEach(six, a, b, e)
	}, 15*time.Second, 50*time.Millisecond, "an instance that only knows the restarted member joins: %v", masters(a, b, e))
}

func TestEtcdUnreachable(t *testing.T) {
	etcd := etcdtest.Start(t, 3)
	a, b, c := threeInstances(t, etcd.Endpoints())
	before := masters(a, b, c)
	etcd.Close()
	require.Eventually(t, func() bool {
		return !a.node.Status().Connected && !b.node.Status().Connected && !c.node.Status().Connected
	}, 20*time.Second, 50*time.Millisecond, "the leases are lost")
	assert.NotEmpty(t, a.node.Status().LastError)
	time.Sleep(time.Second)
	assert.Equal(t, before, masters(a, b, c), "each keeps serving its switches alone")
	etcd.RestartAll()
	require.Eventually(t, func() bool {
		return a.node.Status().Connected && b.node.Status().Connected && c.node.Status().Connected &&
			len(a.node.Status().Members) == 3 && maps.EqualFunc(before, masters(a, b, c), slices.Equal)
	}, 20*time.Second, 50*time.Millisecond, "rejoined, with the same masters: %v", masters(a, b, c))
	assert.Empty(t, b.node.Status().LastError)
}

func TestConfigValidate(t *testing.T) {
	err := Config{}.Validate()
	require.ErrorIs(t, err, ErrConfig)
	for _, f := range []string{"Endpoints", "ID"} {
		assert.Contains(t, err.Error(), f)
	}
	err = Config{Endpoints: []string{"http://127.0.0.1:1"}, ID: "a/b", LeaseTTL: 1500 * time.Millisecond,
		Interval: -1, Hops: map[uint64]int{1: -2}}.Validate()
	for _, f := range []string{"ID", "LeaseTTL", "Interval", "Hops"} {
		assert.Contains(t, err.Error(), f)
	}
	require.NoError(t, Config{Endpoints: []string{"http://127.0.0.1:1"}, ID: "a"}.Validate())
	_, err = New(Config{}, newFakeCtl(), nil)
	require.ErrorIs(t, err, ErrConfig)
}
