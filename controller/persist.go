package controller

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/store"
	"github.com/cemon-sdn/cemon/topology"
)

// Buckets of the controller's state in the store.
const (
	// BucketHosts holds the host table: topology.Host by MAC.
	BucketHosts = "net_hosts"
	// BucketFlows holds the identity of every active flow: a SavedFlow in a compact
	// binary record (appendSavedFlow) under its cookie (8 bytes, big-endian).
	BucketFlows = "net_flows"
	// BucketMeta holds "flow_id_high": the largest flow ID issued so far.
	BucketMeta = "net_meta"
)

// idMargin is added to the saved high-water flow ID on Restore: it covers the IDs
// issued after the last flush, before the process died.
const idMargin = 1 << 20

// DefaultPersistInterval is the spacing of the flushes of Persist.
const DefaultPersistInterval = 250 * time.Millisecond

// Restore loads the host table and the flow identities an earlier run saved with
// Persist. Call it before Serve. Saved hosts are put back when their switch comes up;
// saved flows are adopted when every switch of their path reports their entry (see
// AdoptWindow), and every other entry found on a switch is deleted. Flow IDs the
// earlier run may have issued are not issued again. It returns how many hosts and
// flows it loaded.
func (c *Controller) Restore(st *store.Store) (hosts, flows int, err error) {
	var hs []topology.Host
	var fs []SavedFlow
	var high uint64
	bad := 0
	err = st.View(func(tx *bolt.Tx) error {
		var err error
		if hs, err = store.ListTx[topology.Host](tx, BucketHosts); err != nil {
			return err
		}
		if b := tx.Bucket([]byte(BucketFlows)); b != nil {
			err := b.ForEach(func(k, v []byte) error {
				f, err := decodeSavedFlow(v)
				if err != nil {
					bad++ // skipped: its entries are deleted as unaccounted for
					return nil
				}
				fs = append(fs, f)
				return nil
			})
			if err != nil {
				return err
			}
		}
		if b := tx.Bucket([]byte(BucketMeta)); b != nil {
			if v := b.Get([]byte("flow_id_high")); len(v) == 8 {
				high = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("controller: restore: %w", err)
	}
	if high > 0 {
		high += idMargin
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.serving {
		return 0, 0, fmt.Errorf("controller: restore: already serving")
	}
	c.core.restore(hs, fs, high)
	c.log.Info("state restored", "hosts", len(hs), "flows", len(fs), "unreadable_flows", bad, "path", st.Path())
	return len(hs), len(fs), nil
}

// adoptPending reports whether restored state is still waiting for its switches.
func (c *Controller) adoptPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.adopt != nil && !c.core.adopt.done
}

// AdoptStats returns what the controller did with the state Restore loaded.
func (c *Controller) AdoptStats() AdoptStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.core.adopt == nil {
		return AdoptStats{}
	}
	return c.core.adopt.stats
}

// Persist saves the host table and the identity of every active flow (ID, cookie,
// key, path, start) to st, batched: the tracker's events are gathered and written in
// one transaction every interval (DefaultPersistInterval when zero), and the host
// table is written whenever it changed. Nothing runs on the PACKET_IN path. It
// subscribes to the tracker before it returns, so call it before Serve; the returned
// channel is closed after the last flush, once ctx ends.
func (c *Controller) Persist(ctx context.Context, st *store.Store, interval time.Duration) <-chan struct{} {
	if interval <= 0 {
		interval = DefaultPersistInterval
	}
	// Bursts beyond the channel's buffer wait in the subscription's backlog.
	sub := c.Tracker().t.Subscribe(1 << 12)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sub.Cancel()
		p := persister{c: c, st: st, put: map[uint64]SavedFlow{}, del: map[uint64]bool{}}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case ev := <-sub.C:
				p.note(ev)
				continue
			case <-t.C:
			case <-ctx.Done():
				p.drain(sub)
				p.flush(sub)
				return
			}
			p.drain(sub)
			p.flush(sub)
		}
	}()
	return done
}

type persister struct {
	c       *Controller
	st      *store.Store
	put     map[uint64]SavedFlow // by cookie
	del     map[uint64]bool      // cookies of flows gone
	high    uint64               // largest flow ID seen
	saved   uint64               // high as last written
	hosts   []topology.Host      // as last written, LastSeen cleared
	full    bool                 // rewrite every flow (events were dropped, adoption ended)
	settled bool                 // no restored state is waiting for its switches any more
	dropped uint64
	errs    int
}

func (p *persister) note(ev flowtracker.Event) {
	p.high = max(p.high, ev.ID)
	switch ev.Kind {
	case flowtracker.EventArrived:
		p.put[ev.Cookie] = SavedFlow{ID: ev.ID, Cookie: ev.Cookie, Key: ev.Key, Path: slices.Clone(ev.Path), Start: ev.Time}
		delete(p.del, ev.Cookie)
	case flowtracker.EventExpired:
		delete(p.put, ev.Cookie)
		p.del[ev.Cookie] = true
	}
}

func (p *persister) drain(sub *flowtracker.Subscription) {
	for {
		select {
		case ev := <-sub.C:
			p.note(ev)
		default:
			return
		}
	}
}

// flush writes what changed since the last flush in one transaction.
func (p *persister) flush(sub *flowtracker.Subscription) {
	if d := sub.Dropped(); d != p.dropped {
		p.dropped, p.full = d, true
	}
	// While restored state waits for its switches, the saved state is only added to:
	// a saved flow or host not adopted yet must survive another crash. Once adoption
	// is over, the whole state is rewritten, which drops what was not adopted.
	pending := p.c.adoptPending()
	if !pending && !p.settled {
		p.settled, p.full = true, true
	}
	if pending {
		p.full = false
	}
	hosts := p.c.Network().Hosts()
	for i := range hosts {
		hosts[i].LastSeen = time.Time{}
	}
	hostsChanged := !slices.Equal(hosts, p.hosts)
	if !p.full && !hostsChanged && len(p.put) == 0 && len(p.del) == 0 && p.high == p.saved {
		return
	}
	var all []flowtracker.Flow
	if p.full {
		all = p.c.Tracker().t.Snapshot()
	}
	err := p.st.Update(func(tx *bolt.Tx) error {
		if hostsChanged || p.full {
			if !pending {
				if err := recreate(tx, BucketHosts); err != nil {
					return err
				}
			}
			for _, h := range hosts {
				if err := store.PutTx(tx, BucketHosts, h.HardwareAddr().String(), h); err != nil {
					return err
				}
			}
		}
		if p.full {
			if err := recreate(tx, BucketFlows); err != nil {
				return err
			}
			b := tx.Bucket([]byte(BucketFlows))
			for _, f := range all {
				p.high = max(p.high, f.ID)
				if f.State == flowtracker.StateExpired {
					continue
				}
				sf := SavedFlow{ID: f.ID, Cookie: f.Cookie, Key: f.Key, Path: f.Path(), Start: f.Start}
				if err := b.Put(cookieKey(f.Cookie), appendSavedFlow(nil, &sf)); err != nil {
					return err
				}
			}
		} else {
			b, err := tx.CreateBucketIfNotExists([]byte(BucketFlows))
			if err != nil {
				return err
			}
			for ck := range p.del {
				if err := b.Delete(cookieKey(ck)); err != nil {
					return err
				}
			}
			// In cookie order: bbolt appends sequential keys cheaply.
			cks := make([]uint64, 0, len(p.put))
			for ck := range p.put {
				cks = append(cks, ck)
			}
			slices.Sort(cks)
			// bbolt keeps the values until the commit: one arena for all of them.
			arena := make([]byte, 0, len(cks)*(savedFlowFixed+12*4))
			for _, ck := range cks {
				sf := p.put[ck]
				at := len(arena)
				arena = appendSavedFlow(arena, &sf)
				if err := b.Put(cookieKey(ck), arena[at:len(arena):len(arena)]); err != nil {
					return err
				}
			}
		}
		b, err := tx.CreateBucketIfNotExists([]byte(BucketMeta))
		if err != nil {
			return err
		}
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], p.high)
		return b.Put([]byte("flow_id_high"), v[:])
	})
	if err != nil {
		p.errs++
		if p.errs == 1 || p.errs%100 == 0 {
			p.c.log.Error("saving the controller's state failed", "err", err, "failures", p.errs)
		}
		p.full = true // write everything next time
		return
	}
	p.hosts, p.saved, p.full = hosts, p.high, false
	clear(p.put)
	clear(p.del)
}

func recreate(tx *bolt.Tx, bucket string) error {
	if tx.Bucket([]byte(bucket)) != nil {
		if err := tx.DeleteBucket([]byte(bucket)); err != nil {
			return err
		}
	}
	_, err := tx.CreateBucket([]byte(bucket))
	return err
}

// cookieKey is a flow's key in BucketFlows: its cookie, big-endian.
func cookieKey(c uint64) []byte { return binary.BigEndian.AppendUint64(nil, c) }

// errSavedFlow is returned by decodeSavedFlow for a record it cannot read.
var errSavedFlow = errors.New("controller: bad saved flow record")

// savedFlowVersion is the first byte of every saved flow record.
const savedFlowVersion = 1

// savedFlowFixed is the length of a record without its hops: version, ID, cookie,
// start (Unix nanoseconds), the key's 31 bytes and the hop count.
const savedFlowFixed = 1 + 8 + 8 + 8 + 31 + 2

// appendSavedFlow appends f's binary record: fixed big-endian fields, then 12 bytes
// per hop (DPID, in port, out port). It is cheaper than JSON on the flusher's path.
func appendSavedFlow(b []byte, f *SavedFlow) []byte {
	b = append(b, savedFlowVersion)
	b = binary.BigEndian.AppendUint64(b, f.ID)
	b = binary.BigEndian.AppendUint64(b, f.Cookie)
	b = binary.BigEndian.AppendUint64(b, uint64(f.Start.UnixNano()))
	k := &f.Key
	b = append(b, k.DLSrc[:]...)
	b = append(b, k.DLDst[:]...)
	b = append(b, k.NWSrc[:]...)
	b = append(b, k.NWDst[:]...)
	b = binary.BigEndian.AppendUint16(b, k.DLVLAN)
	b = binary.BigEndian.AppendUint16(b, k.DLType)
	b = binary.BigEndian.AppendUint16(b, k.TPSrc)
	b = binary.BigEndian.AppendUint16(b, k.TPDst)
	b = append(b, k.DLVLANPCP, k.NWTos, k.NWProto)
	b = binary.BigEndian.AppendUint16(b, uint16(len(f.Path)))
	for _, h := range f.Path {
		b = binary.BigEndian.AppendUint64(b, h.DPID)
		b = binary.BigEndian.AppendUint16(b, h.InPort)
		b = binary.BigEndian.AppendUint16(b, h.OutPort)
	}
	return b
}

// decodeSavedFlow reads a record appendSavedFlow wrote.
func decodeSavedFlow(b []byte) (SavedFlow, error) {
	var f SavedFlow
	if len(b) < savedFlowFixed {
		return f, fmt.Errorf("%w: %d bytes, want at least %d", errSavedFlow, len(b), savedFlowFixed)
	}
	if b[0] != savedFlowVersion {
		return f, fmt.Errorf("%w: version %d", errSavedFlow, b[0])
	}
	f.ID = binary.BigEndian.Uint64(b[1:])
	f.Cookie = binary.BigEndian.Uint64(b[9:])
	f.Start = time.Unix(0, int64(binary.BigEndian.Uint64(b[17:]))).UTC()
	p := b[25:]
	k := &f.Key
	copy(k.DLSrc[:], p[0:6])
	copy(k.DLDst[:], p[6:12])
	copy(k.NWSrc[:], p[12:16])
	copy(k.NWDst[:], p[16:20])
	k.DLVLAN = binary.BigEndian.Uint16(p[20:])
	k.DLType = binary.BigEndian.Uint16(p[22:])
	k.TPSrc = binary.BigEndian.Uint16(p[24:])
	k.TPDst = binary.BigEndian.Uint16(p[26:])
	k.DLVLANPCP, k.NWTos, k.NWProto = p[28], p[29], p[30]
	n := int(binary.BigEndian.Uint16(p[31:]))
	hops := b[savedFlowFixed:]
	if len(hops) != 12*n {
		return SavedFlow{}, fmt.Errorf("%w: %d hops in %d bytes", errSavedFlow, n, len(hops))
	}
	if n == 0 || f.ID == 0 {
		return SavedFlow{}, fmt.Errorf("%w: no hops or no ID", errSavedFlow)
	}
	f.Path = make([]flowtracker.Hop, n)
	for i := range f.Path {
		h := hops[12*i:]
		f.Path[i] = flowtracker.Hop{DPID: binary.BigEndian.Uint64(h), InPort: binary.BigEndian.Uint16(h[8:]),
			OutPort: binary.BigEndian.Uint16(h[10:])}
	}
	return f, nil
}
