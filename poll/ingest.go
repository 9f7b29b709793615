package poll

import (
	"slices"
	"time"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/internal/idmap"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/stats"
)

// Reply is the answer to one flow statistics request: every part of it, the switch
// that sent it, the request's kind (stats.SourcePollAll or SourcePollSingle) and
// polling interval (Request.Interval), and when it arrived.
type Reply struct {
	DPID     uint64
	Source   stats.Source
	Interval time.Duration
	At       time.Time
	Msgs     []ofproto.Message
}

// Resolver maps one entry of a switch's reply to its flow and to the entry's place
// on the flow's path (0 at the ingress); false if the entry belongs to no flow being
// polled or the switch is not on its path.
type Resolver func(dpid uint64, e *ofproto.FlowStats) (flow uint64, hop int, ok bool)

// Ingest is the pure step from replies to readings: every flow statistics entry is
// mapped to its flow by resolve, and each flow keeps the one reading of the switch
// nearest its ingress (a poll-all may return a flow at several switches). Readings
// are appended to dst in the order their flows first appear; unmatched counts the
// entries resolve rejected.
func Ingest(dst []stats.Reading, replies []Reply, resolve Resolver) (readings []stats.Reading, unmatched int) {
	var g Ingester
	return g.Ingest(dst, replies, resolve)
}

// Ingester is Ingest with its working memory kept from one call to the next, for a
// caller that ingests a round of a million entries every second. It also takes a
// round's replies as they come (Begin, then Add for each switch's, then End), so that
// a caller need not hold every decoded reply of the round at once. The zero value is
// ready; an Ingester is not safe for concurrent use.
type Ingester struct {
	// Warm, when set, is called for every entry of a run of warmRun entries
	// before resolve is called for any of them: a resolver whose lookups miss
	// the processor's caches (a million flows) brings their memory in there, so
	// that the waits of a run overlap rather than follow one another, and
	// resolve then finds it at hand. It is called WarmPasses times an entry
	// (once if that is 0), pass 0 for every entry of the run, then pass 1, and
	// so on: a resolver that follows pointers (a table's slot, then the record
	// it names, then the path the record names) brings in one level a pass, so
	// that the loads of a pass do not wait on one another. It must not change
	// what resolve returns.
	Warm       func(pass int, dpid uint64, e *ofproto.FlowStats)
	WarmPasses int
	seen       idmap.Map[pick] // the round's picks: a miss per entry at a million flows, the slots of a run brought in ahead
	most       int             // the most flows seen has held since it was made
	run        []pending
	dst        []stats.Reading // the readings of the round begun
	warm       uint64          // what the loads ahead of a run read (kept so that they are made)
}

// pending is an entry waiting for its run to be warmed and resolved, then what
// resolve said of it.
type pending struct {
	rp   *Reply
	e    *ofproto.FlowStats
	flow uint64
	hop  int32
	ok   bool
}

// warmRun is how many entries Ingester.Warm takes ahead of resolve.
const warmRun = 256

// pick is a flow's reading so far: 8 bytes, so that the table a round of a million
// entries leaves (cleared, kept for the next round) is 16 bytes a slot.
type pick struct {
	at  int32 // index in dst
	hop int32
}

// Ingest is poll.Ingest, reusing g's memory: Begin, Add and End in one call.
func (g *Ingester) Ingest(dst []stats.Reading, replies []Reply, resolve Resolver) (readings []stats.Reading, unmatched int) {
	g.Begin(dst)
	unmatched = g.Add(replies, resolve)
	return g.End(), unmatched
}

// Begin starts a round whose readings are appended to dst.
func (g *Ingester) Begin(dst []stats.Reading) { g.dst = dst }

// Add ingests some of the round's replies (a switch's, as they arrive): each flow
// keeps the reading of the switch nearest its ingress among all the replies added
// since Begin. It returns the entries resolve rejected.
func (g *Ingester) Add(replies []Reply, resolve Resolver) (unmatched int) {
	n := 0
	for _, rp := range replies {
		for _, m := range rp.Msgs {
			if sr, ok := m.(*ofproto.StatsReply); ok {
				if body, ok := sr.Body.(*ofproto.FlowStatsReply); ok {
					n += len(body.Entries)
				}
			}
		}
	}
	if n == 0 {
		return 0
	}
	dst := slices.Grow(g.dst, n)
	seen := &g.seen
	take := func(rp *Reply, e *ofproto.FlowStats, id uint64, hop int, ok bool) {
		if !ok {
			unmatched++
			return
		}
		r := stats.Reading{Flow: id, DPID: rp.DPID, Bytes: e.ByteCount, Packets: e.PacketCount,
			Duration: time.Duration(e.DurationSec)*time.Second + time.Duration(e.DurationNsec),
			At:       rp.At, Source: rp.Source, Interval: rp.Interval}
		if prev, ok := seen.Get(id); ok {
			if int(prev.hop) > hop {
				dst[prev.at] = r
				seen.Put(id, pick{prev.at, int32(hop)})
			}
			return
		}
		seen.Put(id, pick{int32(len(dst)), int32(hop)})
		dst = append(dst, r)
	}
	run := g.run[:0]
	// A run is taken in passes, each over all its entries: warm them (the
	// resolver's memory), resolve them, bring in their slots of the round's table,
	// then take them. Each pass's loads are independent of one another, so their
	// waits overlap.
	flush := func() {
		for pass := range max(g.WarmPasses, 1) {
			for _, p := range run {
				g.Warm(pass, p.rp.DPID, p.e)
			}
		}
		var w uint64
		for i := range run {
			p := &run[i]
			id, hop, ok := resolve(p.rp.DPID, p.e)
			p.flow, p.hop, p.ok = id, int32(hop), ok
			if ok {
				w += seen.Touch(id)
			}
		}
		g.warm += w
		for _, p := range run {
			take(p.rp, p.e, p.flow, int(p.hop), p.ok)
		}
		clear(run)
		run = run[:0]
	}
	for k := range replies {
		rp := &replies[k]
		for _, m := range rp.Msgs {
			sr, ok := m.(*ofproto.StatsReply)
			if !ok {
				continue
			}
			body, ok := sr.Body.(*ofproto.FlowStatsReply)
			if !ok {
				continue
			}
			for i := range body.Entries {
				e := &body.Entries[i]
				if g.Warm == nil {
					id, hop, ok := resolve(rp.DPID, e)
					take(rp, e, id, hop, ok)
					continue
				}
				if run = append(run, pending{rp: rp, e: e}); len(run) == warmRun {
					flush()
				}
			}
		}
	}
	if len(run) > 0 {
		flush()
	}
	g.run = run
	g.dst = dst
	return unmatched
}

// End ends the round and returns its readings: dst as given to Begin, with one
// reading appended per flow, in the order the flows first appeared.
func (g *Ingester) End() []stats.Reading {
	dst := g.dst
	g.dst = nil
	n := g.seen.Len()
	g.most = max(g.most, n)
	if 4*n+1024 < g.most {
		// A much larger table than this round needed is let go of rather than cleared.
		g.seen.Release()
		g.most = 0
	} else {
		g.seen.Clear()
	}
	return dst
}

// Removed is the pure step from a flow's expiry to its final reading: the ingress
// entry's counters from its FLOW_REMOVED, false when the expiry carries none (the
// flow was removed without them, or by a resync).
func Removed(ev flowtracker.Event) (stats.Reading, bool) {
	if ev.Kind != flowtracker.EventExpired || !ev.HasFinal || len(ev.DPIDs) == 0 {
		return stats.Reading{}, false
	}
	return stats.Reading{Flow: ev.ID, DPID: ev.DPIDs[0], Bytes: ev.Final.Bytes, Packets: ev.Final.Packets,
		Duration: ev.Final.Duration(), At: ev.Time, Source: stats.SourceFlowRemoved}, true
}
