package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/flowtracker"
)

// Flows in etcd: one key per flow, PREFIX/flows/INSTANCE/ID (the flow ID in 16 hex
// digits), its value the flow's controller.SavedFlow in JSON, with no lease (the
// flows outlive their instance, for the new masters to adopt). An instance writes
// only what changed since its last publication (new flows put, ended ones deleted),
// in transactions of at most MaxTxnOps operations; readers take the keys with paged
// range gets. No value grows with the number of flows, so etcd's request limit
// (1.5 MiB by default) bounds no instance's flow count.

// MaxTxnOps is the most operations one transaction of flow writes carries (etcd's
// default --max-txn-ops is 128).
const MaxTxnOps = 128

// rangePage is how many keys one range get of a paged read returns.
const rangePage = 1000

// flowPrefix is where instance's flows are; with inst "" where every instance's are.
func (n *Node) flowPrefix(inst string) string {
	if inst == "" {
		return n.key("flows") + "/"
	}
	return n.key("flows", inst) + "/"
}

func (n *Node) flowKey(inst string, id uint64) string {
	return n.flowPrefix(inst) + fmt.Sprintf("%016x", id)
}

// parseFlowKey reads the instance and the flow ID out of a flow's key; false for
// any other key (the record of an earlier version, one value per instance, say).
func (n *Node) parseFlowKey(k string) (inst string, id uint64, ok bool) {
	rest, found := strings.CutPrefix(k, n.flowPrefix(""))
	if !found {
		return "", 0, false
	}
	inst, hex, found := strings.Cut(rest, "/")
	if !found || inst == "" || len(hex) != 16 {
		return "", 0, false
	}
	id, err := strconv.ParseUint(hex, 16, 64)
	return inst, id, err == nil
}

// rangeAll reads every key under prefix, rangePage keys a request, all of them at
// the revision of the first page (one consistent view), and returns them with that
// revision.
func rangeAll(ctx context.Context, cli *clientv3.Client, prefix string, keysOnly bool) ([]kv, int64, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	var out []kv
	var rev int64
	from := prefix
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(rangePage),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)}
		if keysOnly {
			opts = append(opts, clientv3.WithKeysOnly())
		}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := cli.Get(ctx, from, opts...)
		if err != nil {
			return nil, 0, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, x := range resp.Kvs {
			out = append(out, kv{key: string(x.Key), value: x.Value})
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return out, rev, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

type kv struct {
	key   string
	value []byte
}

// loadPublished learns which flows of this instance etcd holds (a restart finds
// those of its earlier run: the ones that ended meanwhile are deleted at the next
// publication), and the highest flow ID any instance's flows hold in this instance's
// slot: a flow of its earlier run adopted by another keeps its ID, which this run
// must never issue again.
func (n *Node) loadPublished(ctx context.Context, cli *clientv3.Client, slot int) (highest uint64, err error) {
	rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	kvs, _, err := rangeAll(rctx, cli, n.flowPrefix(""), true)
	if err != nil {
		return 0, fmt.Errorf("cluster: flows: %w", err)
	}
	base, top := uint64(slot)<<SlotShift, uint64(slot+1)<<SlotShift
	pub := map[uint64]bool{}
	for _, x := range kvs {
		inst, id, ok := n.parseFlowKey(x.key)
		if !ok {
			continue
		}
		if inst == n.cfg.ID {
			pub[id] = true
		}
		if id > base && id < top && id > highest {
			highest = id
		}
	}
	n.mu.Lock()
	n.pubFlows = pub
	n.mu.Unlock()
	return highest, nil
}

// publishFlows writes the changes of the instance's flows since the last publication:
// a put for each new flow, a delete for each ended one, MaxTxnOps to a transaction. A
// flow's record never changes while it lives (ID, cookie, key, path and start are
// its identity). What a failed transaction carried is tried again next time.
func (n *Node) publishFlows(ctx context.Context, cli *clientv3.Client, flows []controller.SavedFlow) error {
	n.mu.Lock()
	pub := n.pubFlows
	n.mu.Unlock()
	if pub == nil {
		pub = map[uint64]bool{}
	}
	live := make(map[uint64]bool, len(flows))
	var ops []clientv3.Op
	var puts, dels []uint64
	for _, f := range flows {
		live[f.ID] = true
		if pub[f.ID] {
			continue
		}
		b, err := json.Marshal(f)
		if err != nil {
			return err
		}
		ops = append(ops, clientv3.OpPut(n.flowKey(n.cfg.ID, f.ID), string(b)))
		puts = append(puts, f.ID)
	}
	for id := range pub {
		if !live[id] {
			ops = append(ops, clientv3.OpDelete(n.flowKey(n.cfg.ID, id)))
			dels = append(dels, id)
		}
	}
	var err error
	for len(ops) > 0 {
		k := min(len(ops), MaxTxnOps)
		rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
		_, err = cli.Txn(rctx).Then(ops[:k]...).Commit()
		cancel()
		if err != nil {
			err = fmt.Errorf("cluster: publish flows: %w", err)
			break
		}
		for range k {
			if len(puts) > 0 {
				pub[puts[0]] = true
				puts = puts[1:]
			} else {
				delete(pub, dels[0])
				dels = dels[1:]
			}
		}
		ops = ops[k:]
	}
	n.mu.Lock()
	n.pubFlows = pub
	n.mu.Unlock()
	return err
}

// instanceFlows reads every published flow, by instance.
func (n *Node) instanceFlows(ctx context.Context, cli *clientv3.Client) (map[string][]controller.SavedFlow, error) {
	out, _, err := n.instanceFlowsRev(ctx, cli)
	return out, err
}

// instanceFlowsRev is instanceFlows, with the revision read at.
func (n *Node) instanceFlowsRev(ctx context.Context, cli *clientv3.Client) (map[string][]controller.SavedFlow, int64, error) {
	rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	kvs, rev, err := rangeAll(rctx, cli, n.flowPrefix(""), false)
	if err != nil {
		return nil, 0, fmt.Errorf("cluster: flows: %w", err)
	}
	out := map[string][]controller.SavedFlow{}
	for _, x := range kvs {
		inst, id, ok := n.parseFlowKey(x.key)
		if !ok {
			continue
		}
		var f controller.SavedFlow
		if err := json.Unmarshal(x.value, &f); err != nil {
			n.log.Warn("bad flow record", "key", x.key, "err", err)
			continue
		}
		if f.ID != id {
			n.log.Warn("bad flow record", "key", x.key, "err", fmt.Sprintf("flow %d under the key of flow %d", f.ID, id))
			continue
		}
		out[inst] = append(out[inst], f)
	}
	return out, rev, nil
}

// FlowRecord is one flow as the cluster's record in etcd holds it (see FlowRecords).
type FlowRecord struct {
	Owner string // the instance that published it
	Flow  controller.SavedFlow
	// Alive is the latest time this instance knows Owner was alive: when its member
	// key was last read live, less the lease TTL (a live lease was renewed within
	// the TTL). Zero when this instance never saw Owner as a member.
	Alive time.Time
}

// FlowRecords reads the flows etcd records for the instances that hold a slot of flow
// IDs and are not named in skip (the instances that answered for their own flows):
// per instance at most limit flows with IDs above after, by ID, in one range get
// each, MaxTxnOps of them to a transaction. more says that some instance has
// flows past those returned. It fails at once while this instance is not connected
// to etcd. The records carry no counters: a flow's record is its identity (ID,
// cookie, key, path, start), written when the flow starts and deleted when it ends
// or is adopted.
func (n *Node) FlowRecords(ctx context.Context, skip []string, after uint64, limit int) (recs []FlowRecord, more bool, err error) {
	n.mu.Lock()
	cli, connected := n.cli, n.status.Connected
	n.mu.Unlock()
	if cli == nil || !connected {
		return nil, false, errors.New("cluster: flow records: not connected to etcd")
	}
	if limit <= 0 || after == math.MaxUint64 {
		return nil, false, nil
	}
	resp, err := cli.Get(ctx, n.key("slots")+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, false, fmt.Errorf("cluster: flow records: slots: %w", err)
	}
	var insts []string
	for _, x := range resp.Kvs {
		id := string(x.Value)
		if id != "" && !slices.Contains(skip, id) && !slices.Contains(insts, id) {
			insts = append(insts, id)
		}
	}
	slices.Sort(insts)
	for len(insts) > 0 {
		batch := insts[:min(len(insts), MaxTxnOps)]
		insts = insts[len(batch):]
		ops := make([]clientv3.Op, len(batch))
		for i, inst := range batch {
			ops[i] = clientv3.OpGet(n.flowKey(inst, after+1), clientv3.WithRange(clientv3.GetPrefixRangeEnd(n.flowPrefix(inst))),
				clientv3.WithLimit(int64(limit)))
		}
		tr, err := cli.Txn(ctx).Then(ops...).Commit()
		if err != nil {
			return nil, false, fmt.Errorf("cluster: flow records: %w", err)
		}
		n.mu.Lock()
		for i, r := range tr.Responses {
			rr := r.GetResponseRange()
			if rr == nil {
				continue
			}
			more = more || rr.More
			var alive time.Time
			if t, ok := n.seen[batch[i]]; ok {
				alive = t.Add(-n.cfg.LeaseTTL)
			}
			for _, x := range rr.Kvs {
				inst, id, ok := n.parseFlowKey(string(x.Key))
				if !ok || inst != batch[i] {
					continue
				}
				var f controller.SavedFlow
				if json.Unmarshal(x.Value, &f) != nil || f.ID != id {
					continue // (instanceFlows logs bad records)
				}
				recs = append(recs, FlowRecord{Owner: inst, Flow: f, Alive: alive})
			}
		}
		n.mu.Unlock()
	}
	return recs, more, nil
}

// pendingMove is flows of instance from handed to the controller to adopt.
type pendingMove struct {
	from  string
	flows []controller.SavedFlow
	until time.Time
}

// movePending moves the records of the pending adopted flows the controller now
// tracks (moveAdopted); the others wait for a later round, until their deadline.
func (n *Node) movePending(ctx context.Context, cli *clientv3.Client) error {
	if len(n.pendingMoves) == 0 {
		return nil
	}
	tracked := map[uint64]bool{}
	keys := map[flowtracker.Key]bool{}
	for _, f := range n.ctl.SavedFlows() {
		tracked[f.ID] = true
		keys[f.Key] = true
	}
	now := n.now()
	var keep []pendingMove
	for _, p := range n.pendingMoves {
		var take, superseded, wait []controller.SavedFlow
		for _, f := range p.flows {
			switch {
			case tracked[f.ID]:
				take = append(take, f)
			case keys[f.Key]:
				// A packet of the flow reached this instance before its entries were
				// adopted, and a new flow with the key (a new ID) took them over:
				// the departed instance's record of it is stale.
				superseded = append(superseded, f)
			default:
				wait = append(wait, f)
			}
		}
		if err := n.moveAdopted(ctx, cli, p.from, take); err != nil {
			return err // (tried again next round)
		}
		if err := n.dropRecords(ctx, cli, p.from, superseded); err != nil {
			return err
		}
		if len(wait) > 0 && now.Before(p.until) {
			keep = append(keep, pendingMove{from: p.from, flows: wait, until: p.until})
		}
	}
	n.pendingMoves = keep
	return nil
}

// moveAdopted moves the records of the flows of instance from that this instance
// adopted (take: it tracks them now) under this instance's key, a put and a delete
// per flow in the same transaction: a flow's record is never missing, and once its
// new owner tracks it, it is never read as the departed instance's (the federated
// lists serve a departed instance's recorded flows until they are adopted). Flows
// the controller never takes stay where they are, for the leader's forget pass.
func (n *Node) moveAdopted(ctx context.Context, cli *clientv3.Client, from string, take []controller.SavedFlow) error {
	var ops []clientv3.Op
	var moved []uint64
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
		_, err := cli.Txn(rctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("cluster: move adopted flows' records: %w", err)
		}
		n.mu.Lock()
		if n.pubFlows == nil {
			n.pubFlows = map[uint64]bool{}
		}
		for _, id := range moved {
			n.pubFlows[id] = true // published: publishFlows puts it no more
		}
		n.mu.Unlock()
		ops, moved = ops[:0], moved[:0]
		return nil
	}
	for _, f := range take {
		b, err := json.Marshal(f)
		if err != nil {
			return err
		}
		ops = append(ops, clientv3.OpPut(n.flowKey(n.cfg.ID, f.ID), string(b)), clientv3.OpDelete(n.flowKey(from, f.ID)))
		moved = append(moved, f.ID)
		if len(ops)+2 > MaxTxnOps {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// dropRecords deletes instance from's records of flows, MaxTxnOps to a transaction.
func (n *Node) dropRecords(ctx context.Context, cli *clientv3.Client, from string, flows []controller.SavedFlow) error {
	for len(flows) > 0 {
		k := min(len(flows), MaxTxnOps)
		ops := make([]clientv3.Op, k)
		for i, f := range flows[:k] {
			ops[i] = clientv3.OpDelete(n.flowKey(from, f.ID))
		}
		rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
		_, err := cli.Txn(rctx).Then(ops...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("cluster: drop superseded flows' records: %w", err)
		}
		flows = flows[k:]
	}
	return nil
}

// flowCache is the leader's copy of every published flow for the scheme, kept
// current by a watch on the flows' prefix from the revision of one full read, so
// that a scheme step reads what changed rather than every flow again.
type flowCache struct {
	ctx    context.Context // the watch's (the session's): done, the cache is read again
	cancel context.CancelFunc
	wch    clientv3.WatchChan
	flows  map[string]map[uint64]controller.SavedFlow // instance -> ID -> flow
}

// cachedFlows returns every published flow, by instance, in ID order: the cache's
// after applying the watch's pending events, or a full read (which starts the
// watch) when there is no cache yet or its watch ended (the session's end, a
// compaction past it, etcd's error).
func (n *Node) cachedFlows(ctx context.Context, cli *clientv3.Client) (map[string][]controller.SavedFlow, error) {
	c := n.fcache
	if c != nil && c.ctx.Err() == nil {
	drain:
		for {
			select {
			case wr, ok := <-c.wch:
				if !ok || wr.Canceled || wr.Err() != nil {
					c.cancel()
					c = nil
					break drain
				}
				for _, ev := range wr.Events {
					inst, id, ok := n.parseFlowKey(string(ev.Kv.Key))
					if !ok {
						continue
					}
					if ev.Type == clientv3.EventTypeDelete {
						delete(c.flows[inst], id)
						continue
					}
					var f controller.SavedFlow
					if err := json.Unmarshal(ev.Kv.Value, &f); err != nil || f.ID != id {
						n.log.Warn("bad flow record", "key", string(ev.Kv.Key))
						continue
					}
					if c.flows[inst] == nil {
						c.flows[inst] = map[uint64]controller.SavedFlow{}
					}
					c.flows[inst][id] = f
				}
			default:
				break drain
			}
		}
	} else if c != nil {
		c.cancel()
		c = nil
	}
	if c == nil {
		n.fcache = nil
		all, rev, err := n.instanceFlowsRev(ctx, cli)
		if err != nil {
			return nil, err
		}
		wctx, cancel := context.WithCancel(ctx)
		c = &flowCache{ctx: wctx, cancel: cancel, flows: map[string]map[uint64]controller.SavedFlow{},
			wch: cli.Watch(clientv3.WithRequireLeader(wctx), n.flowPrefix(""), clientv3.WithPrefix(), clientv3.WithRev(rev+1))}
		for inst, fs := range all {
			m := make(map[uint64]controller.SavedFlow, len(fs))
			for _, f := range fs {
				m[f.ID] = f
			}
			c.flows[inst] = m
		}
		n.fcache = c
		return all, nil
	}
	out := make(map[string][]controller.SavedFlow, len(c.flows))
	for inst, m := range c.flows {
		if len(m) == 0 {
			delete(c.flows, inst)
			continue
		}
		fs := make([]controller.SavedFlow, 0, len(m))
		for _, f := range m {
			fs = append(fs, f)
		}
		slices.SortFunc(fs, func(a, b controller.SavedFlow) int { return cmp.Compare(a.ID, b.ID) })
		out[inst] = fs
	}
	return out, nil
}
