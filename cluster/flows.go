package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/cemon-sdn/cemon/controller"
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
	rctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	kvs, _, err := rangeAll(rctx, cli, n.flowPrefix(""), false)
	if err != nil {
		return nil, fmt.Errorf("cluster: flows: %w", err)
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
	return out, nil
}
