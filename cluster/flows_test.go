package cluster

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/cemon-sdn/cemon/cluster/etcdtest"
	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/ofproto"
)

func etcdClient(t *testing.T, eps []string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { cli.Close() })
	return cli
}

func flowKeys(t *testing.T, cli *clientv3.Client, inst string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := cli.Get(ctx, DefaultPrefix+"flows/"+inst+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	var out []string
	for _, kv := range r.Kvs {
		out = append(out, string(kv.Key))
	}
	return out
}

// Flows are one key each, written by difference in transactions of at most
// MaxTxnOps operations, read back by paged range gets; a restart deletes what ended
// meanwhile and reserves the IDs of its slot that another instance holds.
func TestFlowsOneKeyEach(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	cli := etcdClient(t, etcd.Endpoints())
	ctx := context.Background()
	ctl := newFakeCtl(1)
	n, err := New(Config{Endpoints: etcd.Endpoints(), ID: "a"}, ctl, nil)
	require.NoError(t, err)
	const slot = 5
	base := uint64(slot) << SlotShift
	var flows []controller.SavedFlow
	for i := range 2500 { // more than one page and many transactions
		flows = append(flows, savedFlow(base+uint64(i)+1, 1, 2))
	}
	_, err = n.loadPublished(ctx, cli, slot)
	require.NoError(t, err)
	require.NoError(t, n.publishFlows(ctx, cli, flows))
	keys := flowKeys(t, cli, "a")
	require.Len(t, keys, 2500)
	assert.Equal(t, fmt.Sprintf("%sflows/a/%016x", DefaultPrefix, base+1), keys[0])

	// Nothing changed: no write (the etcd revision stays).
	rev := func() int64 {
		r, err := cli.Get(ctx, "x")
		require.NoError(t, err)
		return r.Header.Revision
	}
	r0 := rev()
	require.NoError(t, n.publishFlows(ctx, cli, flows))
	assert.Equal(t, r0, rev())

	// 1,000 end, 10 arrive: 1,010 operations, in ceil(1010/128) = 8 transactions.
	flows = append(flows[1000:], flows[:0]...)
	for i := range 10 {
		flows = append(flows, savedFlow(base+10000+uint64(i), 3))
	}
	require.NoError(t, n.publishFlows(ctx, cli, flows))
	assert.Len(t, flowKeys(t, cli, "a"), 1510)
	assert.Equal(t, r0+8, rev())

	all, err := n.instanceFlows(ctx, cli)
	require.NoError(t, err)
	require.Len(t, all["a"], 1510)
	assert.Equal(t, flows[0], all["a"][0])

	// Another instance adopted a flow of slot 5 with a higher ID; a restart of a
	// (its flows now those of the last 5) finds the stale keys and that ID.
	b, err := New(Config{Endpoints: etcd.Endpoints(), ID: "b"}, newFakeCtl(1), nil)
	require.NoError(t, err)
	_, err = b.loadPublished(ctx, cli, 9)
	require.NoError(t, err)
	require.NoError(t, b.publishFlows(ctx, cli, []controller.SavedFlow{savedFlow(base+50000, 1), savedFlow(uint64(9)<<SlotShift+1, 1)}))
	a2, err := New(Config{Endpoints: etcd.Endpoints(), ID: "a"}, ctl, nil)
	require.NoError(t, err)
	high, err := a2.loadPublished(ctx, cli, slot)
	require.NoError(t, err)
	assert.Equal(t, base+50000, high, "the highest ID of the slot, whoever holds it")
	require.NoError(t, a2.publishFlows(ctx, cli, flows[len(flows)-5:]))
	assert.Len(t, flowKeys(t, cli, "a"), 5)

	// A record of the earlier format (one value per instance) is no flow key.
	_, err = cli.Put(ctx, DefaultPrefix+"flows/old", "[]")
	require.NoError(t, err)
	all, err = a2.instanceFlows(ctx, cli)
	require.NoError(t, err)
	assert.Len(t, all, 2)
	for _, k := range []string{"flows/a", "flows/a/123", "flows//0000000000000001", "flows/a/zz00000000000001", "other/a/0000000000000001"} {
		_, _, ok := a2.parseFlowKey(DefaultPrefix + k)
		assert.False(t, ok, k)
	}
}

// A running instance reserves, at join, the IDs of its slot held by others.
func TestJoinReservesAdoptedIDs(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	cli := etcdClient(t, etcd.Endpoints())
	ctl := newFakeCtl(1)
	a := startInstance(t, etcd.Endpoints(), "a", map[uint64]int{1: 1}, ctl)
	require.Eventually(t, func() bool { return a.node.Status().Connected }, 10*time.Second, 20*time.Millisecond)
	var slot int
	require.Eventually(t, func() bool {
		ms := a.node.Status().Members
		if len(ms) != 1 {
			return false
		}
		slot = ms[0].Slot
		return true
	}, 5*time.Second, 20*time.Millisecond)
	assert.Equal(t, uint64(slot)<<SlotShift, ctl.reservedID())
	a.stop()
	high := uint64(slot)<<SlotShift + 777
	_, err := cli.Put(context.Background(), fmt.Sprintf("%sflows/b/%016x", DefaultPrefix, high), "{}")
	require.NoError(t, err)
	ctl2 := newFakeCtl(1)
	a2 := startInstance(t, etcd.Endpoints(), "a", map[uint64]int{1: 1}, ctl2)
	require.Eventually(t, func() bool { return a2.node.Status().Connected }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, high, ctl2.reservedID(), "past the flow of its slot another instance holds")
}

func (f *fakeCtl) reservedID() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reserved
}

// A poll-all's entries of other instances' flows reach their owners over the
// forward connections: by slot to a live owner, to every live peer otherwise.
func TestHandOver(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a, b, c := threeInstances(t, etcd.Endpoints())
	got := map[string]chan []uint64{"b": make(chan []uint64, 8), "c": make(chan []uint64, 8)}
	for _, in := range []*instance{b, c} {
		ch := got[in.id]
		in.node.SetReplySink(func(dpid uint64, r *ofproto.StatsReply) {
			var ids []uint64
			for _, e := range r.Body.(*ofproto.FlowStatsReply).Entries {
				ids = append(ids, e.Cookie)
			}
			ch <- ids
		})
	}
	slotOf := map[string]uint64{}
	require.Eventually(t, func() bool {
		for _, m := range a.node.Status().Members {
			slotOf[m.ID] = uint64(m.Slot)
		}
		return len(slotOf) == 3
	}, 5*time.Second, 20*time.Millisecond)
	bID, gone := slotOf["b"]<<SlotShift+1, uint64(250)<<SlotShift+1
	if slotOf["b"] == 250 || slotOf["c"] == 250 {
		gone = uint64(251)<<SlotShift + 1
	}
	entries := []ofproto.FlowStats{{Cookie: bID}, {Cookie: gone}}
	a.node.HandOver(1, entries, []uint64{bID, gone})
	recv := func(id string) []uint64 {
		var out []uint64
		deadline := time.After(5 * time.Second)
		for len(out) < 2 {
			select {
			case ids := <-got[id]:
				out = append(out, ids...)
			case <-deadline:
				return out
			case <-time.After(300 * time.Millisecond):
				if id == "c" {
					return out
				}
			}
		}
		return out
	}
	assert.ElementsMatch(t, []uint64{bID, gone}, recv("b"))
	assert.Equal(t, []uint64{gone}, recv("c"), "a flow of a slot no live instance has goes to every peer")
	assert.Equal(t, uint64(2), a.node.ForwardStats().HandedOut)
	assert.Equal(t, uint64(1), b.node.ForwardStats().HandedIn)
}

// BenchmarkPublishFlows: an instance's flows written to an embedded etcd, one key per
// flow: all of 10,000 at once (a first publication), then the changes of 1 % churn.
func BenchmarkPublishFlows(b *testing.B) {
	etcd := etcdtest.Start(b, 1)
	cli, err := clientv3.New(clientv3.Config{Endpoints: etcd.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(b, err)
	defer cli.Close()
	ctx := context.Background()
	flows := make([]controller.SavedFlow, 10000)
	for i := range flows {
		flows[i] = savedFlow(uint64(i)+1, 1, 2, 3)
	}
	b.Run("10000-flows/first", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			n, err := New(Config{Endpoints: etcd.Endpoints(), ID: fmt.Sprintf("i%d", i)}, newFakeCtl(1), nil)
			require.NoError(b, err)
			if err := n.publishFlows(ctx, cli, flows); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("10000-flows/churn-1pct", func(b *testing.B) {
		b.ReportAllocs()
		n, err := New(Config{Endpoints: etcd.Endpoints(), ID: "churn"}, newFakeCtl(1), nil)
		require.NoError(b, err)
		require.NoError(b, n.publishFlows(ctx, cli, flows))
		alt := flows[100:]
		for i := 0; b.Loop(); i++ {
			cur := flows
			if i%2 == 0 {
				cur = alt
			}
			if err := n.publishFlows(ctx, cli, cur); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A killed instance's flows are read from the record (FlowRecords) until their new
// masters adopt them; each adopter moves the record of what it adopted under its own
// key in one transaction, so at every moment each flow is either in the departed
// instance's record or tracked by its adopter, never both for long, never neither.
func TestFlowRecordsUntilAdopted(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a, b, c := threeInstances(t, etcd.Endpoints())
	ctx := context.Background()
	var ids []uint64
	b.ctl.mu.Lock()
	for i := range 5 {
		f := savedFlow(uint64(100+i), uint64(3+i%2), 5) // starting at b's switches 3 and 4
		f.Start = time.Unix(1, 0)
		b.ctl.flows = append(b.ctl.flows, f)
		ids = append(ids, f.ID)
	}
	b.ctl.mu.Unlock()
	recordedIDs := func(recs []FlowRecord) []uint64 {
		var out []uint64
		for _, r := range recs {
			out = append(out, r.Flow.ID)
		}
		return out
	}
	var recs []FlowRecord
	require.Eventually(t, func() bool {
		var err error
		recs, _, err = a.node.FlowRecords(ctx, []string{"a", "c"}, 0, 10)
		return err == nil && len(recs) == 5
	}, 10*time.Second, 20*time.Millisecond, "b's flows recorded")
	assert.Equal(t, ids, recordedIDs(recs))
	for _, r := range recs {
		assert.Equal(t, "b", r.Owner)
		assert.Equal(t, []uint64{uint64(3 + (r.Flow.ID-100)%2), 5}, []uint64{r.Flow.Path[0].DPID, r.Flow.Path[1].DPID})
		assert.WithinDuration(t, time.Now().Add(-2*time.Second), r.Alive, time.Second, "seen live less the lease TTL")
	}
	// Paging: at most limit per instance, above after; more says there is more.
	recs, more, err := a.node.FlowRecords(ctx, []string{"a", "c"}, 0, 2)
	require.NoError(t, err)
	assert.Equal(t, ids[:2], recordedIDs(recs))
	assert.True(t, more)
	recs, more, err = a.node.FlowRecords(ctx, []string{"a", "c"}, 101, 3)
	require.NoError(t, err)
	assert.Equal(t, ids[2:], recordedIDs(recs))
	assert.False(t, more)
	recs, _, err = a.node.FlowRecords(ctx, []string{"a", "b", "c"}, 0, 10)
	require.NoError(t, err)
	assert.Empty(t, recs, "every instance answered")

	// kill -9 of b: its flows stay readable from the record until adopted.
	b.kill()
	killed := time.Now()
	adopted := func() map[uint64]bool {
		out := map[uint64]bool{}
		for _, in := range []*instance{a, c} {
			in.ctl.mu.Lock()
			for id := range in.ctl.adopted {
				out[id] = true
			}
			in.ctl.mu.Unlock()
		}
		return out
	}
	samples, fromRecord := 0, 0
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got, _, err := c.node.FlowRecords(ctx, []string{"a", "c"}, 0, 10)
		require.NoError(t, err)
		ad := adopted()
		samples++
		inRecord := recordedIDs(got)
		if len(inRecord) > 0 {
			fromRecord++
		}
		for _, id := range ids {
			assert.True(t, slices.Contains(inRecord, id) || ad[id], "flow %d neither in b's record nor adopted, %v after the kill",
				id, time.Since(killed))
		}
		if len(inRecord) == 0 && len(ad) == len(ids) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	assert.Len(t, adopted(), len(ids), "every flow adopted")
	got, _, err := c.node.FlowRecords(ctx, []string{"a", "c"}, 0, 10)
	require.NoError(t, err)
	assert.Empty(t, got, "the adopters moved b's records under their own keys")
	cli := etcdClient(t, etcd.Endpoints())
	assert.Len(t, append(flowKeys(t, cli, "a"), flowKeys(t, cli, "c")...), 5)
	t.Logf("b's flows read from the record in %d of %d samples, adopted %v after the kill", fromRecord, samples, time.Since(killed).Round(time.Millisecond))
	assert.Positive(t, fromRecord)

	// Not connected to etcd: an error at once.
	n, err := New(Config{Endpoints: etcd.Endpoints(), ID: "x"}, newFakeCtl(), nil)
	require.NoError(t, err)
	_, _, err = n.FlowRecords(ctx, nil, 0, 10)
	assert.Error(t, err)
}

// Adoption waits for the switches' tables: the departed instance's records stay
// readable until the adopter tracks each flow, then move; a flow whose entries a new
// flow with the same key (a new ID) took over meanwhile loses its stale record.
func TestFlowRecordsDelayedAdoption(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	a, b, c := threeInstances(t, etcd.Endpoints())
	ctx := context.Background()
	b.ctl.mu.Lock()
	for i := range 3 {
		b.ctl.flows = append(b.ctl.flows, savedFlow(uint64(200+i), 3, 4))
	}
	flows := slices.Clone(b.ctl.flows)
	b.ctl.mu.Unlock()
	for _, in := range []*instance{a, c} {
		in.ctl.mu.Lock()
		in.ctl.hold = true
		in.ctl.mu.Unlock()
	}
	require.Eventually(t, func() bool {
		recs, _, err := a.node.FlowRecords(ctx, []string{"a", "c"}, 0, 10)
		return err == nil && len(recs) == 3
	}, 10*time.Second, 20*time.Millisecond, "b's flows recorded")
	b.kill()
	var adopter *instance
	require.Eventually(t, func() bool {
		for _, in := range []*instance{a, c} {
			in.ctl.mu.Lock()
			n := len(in.ctl.held)
			in.ctl.mu.Unlock()
			if n == 3 {
				adopter = in
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "b's flows handed to the new master of s3")
	// Adoption pending: the records stay b's.
	for range 5 {
		recs, _, err := a.node.FlowRecords(ctx, []string{"a", "c"}, 0, 10)
		require.NoError(t, err)
		assert.Len(t, recs, 3)
		time.Sleep(100 * time.Millisecond)
	}
	// The tables read: 200 and 201 adopted; 202's entries taken over by a new flow.
	adopter.ctl.mu.Lock()
	adopter.ctl.adopted[200], adopter.ctl.adopted[201] = flows[0], flows[1]
	fresh := flows[2]
	fresh.ID, fresh.Cookie = 999, 999
	adopter.ctl.flows = append(adopter.ctl.flows, fresh)
	adopter.ctl.mu.Unlock()
	cli := etcdClient(t, etcd.Endpoints())
	want := []string{
		fmt.Sprintf("%sflows/%s/%016x", DefaultPrefix, adopter.id, 200),
		fmt.Sprintf("%sflows/%s/%016x", DefaultPrefix, adopter.id, 201),
		fmt.Sprintf("%sflows/%s/%016x", DefaultPrefix, adopter.id, 999),
	}
	require.Eventually(t, func() bool {
		recs, _, err := a.node.FlowRecords(ctx, []string{"a", "c"}, 0, 10)
		return err == nil && len(recs) == 0 && slices.Equal(flowKeys(t, cli, adopter.id), want)
	}, 5*time.Second, 20*time.Millisecond, "moved and dropped: b's %v, %s's %v", flowKeys(t, cli, "b"), adopter.id, flowKeys(t, cli, adopter.id))
}

// The leader's read of every published flow at each scheme step (instanceFlows), and
// the federated lists' read of one page of a silent instance's record
// (FlowRecords), at 10,000 flows over three instances.
func BenchmarkReadFlows(b *testing.B) {
	etcd := etcdtest.Start(b, 1)
	cli, err := clientv3.New(clientv3.Config{Endpoints: etcd.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(b, err)
	defer cli.Close()
	ctx := context.Background()
	for i, id := range []string{"a", "b", "c"} {
		n, err := New(Config{Endpoints: etcd.Endpoints(), ID: id}, newFakeCtl(1), nil)
		require.NoError(b, err)
		var flows []controller.SavedFlow
		for j := range 3334 {
			flows = append(flows, savedFlow(uint64(i+1)<<SlotShift+uint64(j)+1, 1, 2, 3))
		}
		require.NoError(b, n.publishFlows(ctx, cli, flows))
		_, err = cli.Put(ctx, fmt.Sprintf("%sslots/%d", DefaultPrefix, i+1), id)
		require.NoError(b, err)
	}
	n, err := New(Config{Endpoints: etcd.Endpoints(), ID: "a"}, newFakeCtl(1), nil)
	require.NoError(b, err)
	b.Run("instanceFlows-10002", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			all, err := n.instanceFlows(ctx, cli)
			if err != nil || len(all) != 3 {
				b.Fatal(err, len(all))
			}
		}
	})
	// The leader's watched copy, one step after 1 % of the flows changed (50 end, 50
	// arrive, alternately): the changes are published outside the timer.
	b.Run("cachedFlows-10002-churn-1pct", func(b *testing.B) {
		b.ReportAllocs()
		pub, err := New(Config{Endpoints: etcd.Endpoints(), ID: "d"}, newFakeCtl(1), nil)
		require.NoError(b, err)
		var base, alt []controller.SavedFlow
		for j := range 100 {
			f := savedFlow(uint64(4)<<SlotShift+uint64(j)+1, 1, 2, 3)
			base = append(base, f)
			if j >= 50 {
				alt = append(alt, f)
			}
		}
		require.NoError(b, pub.publishFlows(ctx, cli, base))
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, err = n.cachedFlows(wctx, cli)
		require.NoError(b, err)
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			cur := base
			if i%2 == 0 {
				cur = alt
			}
			require.NoError(b, pub.publishFlows(ctx, cli, cur))
			time.Sleep(5 * time.Millisecond) // the watch's events arrive
			b.StartTimer()
			all, err := n.cachedFlows(wctx, cli)
			if err != nil || len(all) != 4 {
				b.Fatal(err, len(all))
			}
		}
	})
	n.mu.Lock()
	n.cli, n.status.Connected = cli, true
	n.mu.Unlock()
	for _, limit := range []int{100, 1000} {
		b.Run(fmt.Sprintf("FlowRecords-1-silent-page-%d", limit), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				recs, _, err := n.FlowRecords(ctx, []string{"a", "c"}, 0, limit)
				if err != nil || len(recs) != limit {
					b.Fatal(err, len(recs))
				}
			}
		})
	}
}

// The leader's watched copy of the flows equals a full read after flows arrive, end
// and move between instances, and is read again in full once its watch ends.
func TestCachedFlows(t *testing.T) {
	etcd := etcdtest.Start(t, 1)
	cli := etcdClient(t, etcd.Endpoints())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(Config{Endpoints: etcd.Endpoints(), ID: "a"}, newFakeCtl(1), nil)
	require.NoError(t, err)
	b, err := New(Config{Endpoints: etcd.Endpoints(), ID: "b"}, newFakeCtl(1), nil)
	require.NoError(t, err)
	var fa, fb []controller.SavedFlow
	for i := range 300 {
		fa = append(fa, savedFlow(uint64(1)<<SlotShift+uint64(i)+1, 1, 2))
		fb = append(fb, savedFlow(uint64(2)<<SlotShift+uint64(i)+1, 2, 3))
	}
	require.NoError(t, a.publishFlows(ctx, cli, fa))
	require.NoError(t, b.publishFlows(ctx, cli, fb))
	leader, err := New(Config{Endpoints: etcd.Endpoints(), ID: "c"}, newFakeCtl(1), nil)
	require.NoError(t, err)
	same := func() bool {
		got, err := leader.cachedFlows(ctx, cli)
		require.NoError(t, err)
		want, err := leader.instanceFlows(ctx, cli)
		require.NoError(t, err)
		return assert.ObjectsAreEqual(want, got)
	}
	require.True(t, same(), "the first read is a full one")
	first := leader.fcache
	// Churn: a's first 100 end, 50 arrive; b's 300 end (b gone) after 200 of them
	// moved to a (adopted).
	fa = append(fa[100:], fb[:200]...)
	for i := range 50 {
		fa = append(fa, savedFlow(uint64(1)<<SlotShift+uint64(1000+i), 4))
	}
	require.NoError(t, a.publishFlows(ctx, cli, fa))
	require.NoError(t, b.publishFlows(ctx, cli, nil))
	require.Eventually(t, same, 5*time.Second, 20*time.Millisecond, "the watch brings the changes")
	assert.Same(t, first, leader.fcache, "kept by the watch, not read again")
	got, err := leader.cachedFlows(ctx, cli)
	require.NoError(t, err)
	assert.Len(t, got["a"], 450)
	assert.NotContains(t, got, "b")
	// The watch's context ends (a new session): read in full again.
	first.cancel()
	require.True(t, same())
	assert.NotSame(t, first, leader.fcache)
}
