package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cemon-sdn/cemon/stats"
)

// Buckets of the statistics' cumulative totals (stats.Totals), in compact binary
// records: flows by id (8 bytes, big-endian), links by their two ports, matrix cells
// by their two hosts, hosts by host, and the totals' time in BucketStatsMeta.
const (
	BucketStatsFlows = "stats_flows"
	BucketStatsLinks = "stats_links"
	BucketStatsPairs = "stats_pairs"
	BucketStatsHosts = "stats_hosts"
	BucketStatsMeta  = "stats_meta"
)

// DefaultTotalsInterval is the spacing of PersistTotals' writes, and
// DefaultTotalsRewrite that of its full rewrites, which drop the totals the
// statistics store has pruned since.
const (
	DefaultTotalsInterval = time.Second
	DefaultTotalsRewrite  = 5 * time.Minute
)

// ErrBadRecord is returned for a totals record that cannot be read.
var ErrBadRecord = errors.New("store: bad statistics record")

const totalsVersion = 1

// TotalsSource is what PersistTotals reads: a stats.Store.
type TotalsSource interface {
	Totals(since uint64) (stats.Totals, uint64)
}

// PersistTotals saves src's totals every interval (DefaultTotalsInterval when 0)
// until ctx ends, and once more then: each write holds only the totals that changed
// since the last one, in one transaction; every rewrite (DefaultTotalsRewrite when
// 0) the buckets are written whole, which drops the totals src no longer holds.
// onErr, when not nil, hears of each failed write (the next write is a whole one).
// The returned channel is closed after the last write.
func (s *Store) PersistTotals(ctx context.Context, src TotalsSource, interval, rewrite time.Duration, onErr func(error)) <-chan struct{} {
	if interval <= 0 {
		interval = DefaultTotalsInterval
	}
	if rewrite <= 0 {
		rewrite = DefaultTotalsRewrite
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		var mark uint64 // 0: the first write is a whole one
		var last time.Time
		write := func() {
			full := mark == 0 || time.Since(last) >= rewrite
			since := mark
			if full {
				since = 0
			}
			tot, next := src.Totals(since)
			if err := s.SaveTotals(tot, full); err != nil {
				mark = 0
				if onErr != nil {
					onErr(err)
				}
				return
			}
			mark = next
			if full {
				last = time.Now()
			}
		}
		for {
			select {
			case <-ctx.Done():
				write()
				return
			case <-t.C:
				write()
			}
		}
	}()
	return done
}

// SaveTotals writes t in one transaction: over the saved totals, or in place of
// them when whole is true. Flows that have ended are deleted rather than written.
func (s *Store) SaveTotals(t stats.Totals, whole bool) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		bs := make([]*bolt.Bucket, 0, 5)
		for _, name := range []string{BucketStatsFlows, BucketStatsLinks, BucketStatsPairs, BucketStatsHosts, BucketStatsMeta} {
			if whole && tx.Bucket([]byte(name)) != nil {
				if err := tx.DeleteBucket([]byte(name)); err != nil {
					return err
				}
			}
			b, err := tx.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				return err
			}
			bs = append(bs, b)
		}
		for i := range t.Flows {
			f := &t.Flows[i]
			k := binary.BigEndian.AppendUint64(nil, f.ID)
			if !f.End.IsZero() {
				// An ended flow's bytes are in its cells, hosts and links: only the
				// flows active at a crash are kept, to be adopted or held as ended.
				if err := bs[0].Delete(k); err != nil {
					return err
				}
				continue
			}
			if err := bs[0].Put(k, AppendFlowTotal(nil, f)); err != nil {
				return err
			}
		}
		for _, l := range t.Links {
			if err := bs[1].Put(appendLink(nil, l.Link), binary.BigEndian.AppendUint64(nil, l.Bytes)); err != nil {
				return err
			}
		}
		for _, p := range t.Pairs {
			v := binary.BigEndian.AppendUint64(nil, p.Bytes)
			v = appendTime(v, p.Touched)
			if err := bs[2].Put(appendHost(appendHost(nil, p.Pair.Src), p.Pair.Dst), v); err != nil {
				return err
			}
		}
		for _, h := range t.Hosts {
			v := binary.BigEndian.AppendUint64(nil, h.SentBytes)
			v = binary.BigEndian.AppendUint64(v, h.ReceivedBytes)
			v = appendTime(v, h.Touched)
			if err := bs[3].Put(appendHost(nil, h.Host), v); err != nil {
				return err
			}
		}
		return bs[4].Put([]byte("at"), appendTime(nil, t.At))
	})
}

// LoadTotals reads the totals SaveTotals wrote. Unreadable records are skipped and
// counted in bad.
func (s *Store) LoadTotals() (t stats.Totals, bad int, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(BucketStatsMeta)); b != nil {
			if v := b.Get([]byte("at")); len(v) == 8 {
				t.At, _ = readTime(v)
			}
		}
		each := func(name string, fn func(k, v []byte) error) error {
			b := tx.Bucket([]byte(name))
			if b == nil {
				return nil
			}
			return b.ForEach(func(k, v []byte) error {
				if fn(k, v) != nil {
					bad++
				}
				return nil
			})
		}
		if err := each(BucketStatsFlows, func(_, v []byte) error {
			f, err := DecodeFlowTotal(v)
			if err == nil {
				t.Flows = append(t.Flows, f)
			}
			return err
		}); err != nil {
			return err
		}
		if err := each(BucketStatsLinks, func(k, v []byte) error {
			if len(k) != 20 || len(v) != 8 {
				return ErrBadRecord
			}
			l := stats.Link{SrcDPID: binary.BigEndian.Uint64(k), SrcPort: binary.BigEndian.Uint16(k[8:]),
				DstDPID: binary.BigEndian.Uint64(k[10:]), DstPort: binary.BigEndian.Uint16(k[18:])}
			t.Links = append(t.Links, stats.LinkTotal{Link: l, Bytes: binary.BigEndian.Uint64(v)})
			return nil
		}); err != nil {
			return err
		}
		if err := each(BucketStatsPairs, func(k, v []byte) error {
			src, rest, err := readHost(k)
			if err != nil {
				return err
			}
			dst, rest, err := readHost(rest)
			if err != nil || len(rest) != 0 || len(v) != 16 {
				return ErrBadRecord
			}
			touched, _ := readTime(v[8:])
			t.Pairs = append(t.Pairs, stats.PairTotal{Pair: stats.Pair{Src: src, Dst: dst},
				Bytes: binary.BigEndian.Uint64(v), Touched: touched})
			return nil
		}); err != nil {
			return err
		}
		return each(BucketStatsHosts, func(k, v []byte) error {
			h, rest, err := readHost(k)
			if err != nil || len(rest) != 0 || len(v) != 24 {
				return ErrBadRecord
			}
			touched, _ := readTime(v[16:])
			t.Hosts = append(t.Hosts, stats.HostTotal{Host: h, SentBytes: binary.BigEndian.Uint64(v),
				ReceivedBytes: binary.BigEndian.Uint64(v[8:]), Touched: touched})
			return nil
		})
	})
	if err != nil {
		return stats.Totals{}, 0, fmt.Errorf("store: load totals: %w", err)
	}
	return t, bad, nil
}

// AppendFlowTotal appends f's record: version, id, start, end, bytes, packets, the
// two marks, resets (4 bytes), the two hosts, the hop count (2 bytes) and 12 bytes
// per hop (dpid, in port, out port), all big-endian.
func AppendFlowTotal(b []byte, f *stats.FlowTotal) []byte {
	b = append(b, totalsVersion)
	b = binary.BigEndian.AppendUint64(b, f.ID)
	b = appendTime(b, f.Start)
	b = appendTime(b, f.End)
	for _, v := range [...]uint64{f.Bytes, f.Packets, f.MarkBytes, f.MarkPackets} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(f.Resets))
	b = appendHost(b, f.Src)
	b = appendHost(b, f.Dst)
	b = binary.BigEndian.AppendUint16(b, uint16(len(f.Path)))
	for _, h := range f.Path {
		b = binary.BigEndian.AppendUint64(b, h.DPID)
		b = binary.BigEndian.AppendUint16(b, h.InPort)
		b = binary.BigEndian.AppendUint16(b, h.OutPort)
	}
	return b
}

// flowTotalFixed is the length of a flow record before its hosts.
const flowTotalFixed = 1 + 8 + 8 + 8 + 4*8 + 4

// DecodeFlowTotal reads a record AppendFlowTotal wrote.
func DecodeFlowTotal(b []byte) (stats.FlowTotal, error) {
	var f stats.FlowTotal
	if len(b) < flowTotalFixed {
		return f, fmt.Errorf("%w: flow record of %d bytes", ErrBadRecord, len(b))
	}
	if b[0] != totalsVersion {
		return f, fmt.Errorf("%w: version %d", ErrBadRecord, b[0])
	}
	f.ID = binary.BigEndian.Uint64(b[1:])
	f.Start, _ = readTime(b[9:])
	f.End, _ = readTime(b[17:])
	f.Bytes = binary.BigEndian.Uint64(b[25:])
	f.Packets = binary.BigEndian.Uint64(b[33:])
	f.MarkBytes = binary.BigEndian.Uint64(b[41:])
	f.MarkPackets = binary.BigEndian.Uint64(b[49:])
	resets := binary.BigEndian.Uint32(b[57:])
	if resets > 1<<30 || f.MarkBytes > f.Bytes || f.MarkPackets > f.Packets {
		return stats.FlowTotal{}, fmt.Errorf("%w: counters out of range", ErrBadRecord)
	}
	f.Resets = int(resets)
	rest := b[flowTotalFixed:]
	var err error
	if f.Src, rest, err = readHost(rest); err != nil {
		return stats.FlowTotal{}, err
	}
	if f.Dst, rest, err = readHost(rest); err != nil {
		return stats.FlowTotal{}, err
	}
	if len(rest) < 2 {
		return stats.FlowTotal{}, fmt.Errorf("%w: no hop count", ErrBadRecord)
	}
	n := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if len(rest) != 12*n {
		return stats.FlowTotal{}, fmt.Errorf("%w: %d hops in %d bytes", ErrBadRecord, n, len(rest))
	}
	f.Path = make([]stats.Hop, n)
	for i := range f.Path {
		h := rest[12*i:]
		f.Path[i] = stats.Hop{DPID: binary.BigEndian.Uint64(h), InPort: binary.BigEndian.Uint16(h[8:]),
			OutPort: binary.BigEndian.Uint16(h[10:])}
	}
	return f, nil
}

func appendLink(b []byte, l stats.Link) []byte {
	b = binary.BigEndian.AppendUint64(b, l.SrcDPID)
	b = binary.BigEndian.AppendUint16(b, l.SrcPort)
	b = binary.BigEndian.AppendUint64(b, l.DstDPID)
	return binary.BigEndian.AppendUint16(b, l.DstPort)
}

// appendTime appends t as Unix nanoseconds, 0 for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	var n int64
	if !t.IsZero() {
		n = t.UnixNano()
	}
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

func readTime(b []byte) (time.Time, []byte) {
	n := int64(binary.BigEndian.Uint64(b))
	if n == 0 {
		return time.Time{}, b[8:]
	}
	return time.Unix(0, n).UTC(), b[8:]
}

// appendHost appends a host: its MAC, the length of its IP address (0, 4 or 16)
// and the address.
func appendHost(b []byte, h stats.HostID) []byte {
	b = append(b, h.MAC[:]...)
	if !h.IP.IsValid() {
		return append(b, 0)
	}
	ip := h.IP.AsSlice()
	b = append(b, byte(len(ip)))
	return append(b, ip...)
}

func readHost(b []byte) (stats.HostID, []byte, error) {
	var h stats.HostID
	if len(b) < 7 {
		return h, nil, fmt.Errorf("%w: short host", ErrBadRecord)
	}
	copy(h.MAC[:], b)
	n := int(b[6])
	b = b[7:]
	if (n != 0 && n != 4 && n != 16) || len(b) < n {
		return stats.HostID{}, nil, fmt.Errorf("%w: host address of %d bytes", ErrBadRecord, n)
	}
	if n > 0 {
		ip, _ := netip.AddrFromSlice(b[:n])
		h.IP = ip
	}
	return h, b[n:], nil
}
