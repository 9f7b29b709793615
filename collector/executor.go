package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/mcps"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/poll"
	"github.com/cemon-sdn/cemon/stats"
)

// This file is the executor: it asks the scheduler what is due, sends it, matches
// the replies to flows (through the pure poll.Ingest) and feeds the readings to the
// Store and back to the scheduler.

// request is one statistics request of a round.
type request struct {
	dpid     uint64
	msg      *ofproto.StatsRequest
	source   stats.Source
	interval time.Duration
}

// RoundResult summarises one polling round.
type RoundResult struct {
	At        time.Time
	Strategy  Strategy
	Requests  int // planned
	Skipped   int // planned but not sent before Config.RoundTimeout
	Busy      int // planned but not sent: the switch's previous batch was still out
	Late      int // switches whose batch was still out when the round ended (applied on arrival)
	Failed    int // requests that failed before the round ended
	Readings  int // readings the Store took
	Unmatched int // entries that mapped to no active flow
	Flows     int // flows the collector tracked when the round ended
	Took      time.Duration
}

// exchange sends one request and does its accounting under account; it returns the
// reply parts.
func (c *Collector) exchange(ctx context.Context, account string, dpid uint64, msg ofproto.Message) ([]ofproto.Message, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	reqLen := msg.Len()
	msgs, err := c.deps.Requester.Request(rctx, dpid, msg)
	c.charge(account, dpid, reqLen, WireBytes(reqLen, c.cfg.MSS, c.cfg.FrameOverhead), msgs, err)
	return msgs, err
}

// charge accounts one request of reqLen bytes (reqWire on the wire) to dpid under
// account, with its reply parts or its error.
func (c *Collector) charge(account string, dpid uint64, reqLen int, reqWire int64, msgs []ofproto.Message, err error) {
	u := Usage{Requests: 1, OpenFlowBytesSent: uint64(reqLen), WireBytesSent: uint64(reqWire)}
	if err != nil {
		if c.timedOut(err) {
			u.Timeouts = 1
		} else {
			u.Errors = 1
		}
		if c.deps.Unsent != nil && c.deps.Unsent(err) {
			u.Requests, u.OpenFlowBytesSent, u.WireBytesSent = 0, 0, 0
		}
	}
	recv := 0
	for _, m := range msgs {
		recv += m.Len()
		u.Replies++
		if r, ok := m.(*ofproto.StatsReply); ok {
			switch b := r.Body.(type) {
			case *ofproto.FlowStatsReply:
				u.Entries += uint64(len(b.Entries))
			case *ofproto.PortStatsReply:
				u.Entries += uint64(len(b.Entries))
			}
		}
	}
	u.OpenFlowBytesRecv = uint64(recv)
	u.WireBytesRecv = uint64(WireBytes(recv, c.cfg.MSS, c.cfg.FrameOverhead))
	c.acct.add(UsageKey{Strategy: account, DPID: dpid}, u)
}

// switchList is the connected switches as the scheduler takes them.
func (c *Collector) switchList() []poll.Switch {
	dpids := c.deps.Switches()
	var hops map[uint64]int
	if c.cfg.Deployment == mcps.InBand && c.deps.Hops != nil {
		hops = c.deps.Hops()
	}
	slow := c.timing.slowSet()
	out := make([]poll.Switch, len(dpids))
	for i, d := range dpids {
		out[i] = poll.Switch{DPID: d, Hops: hops[d], Slow: slow[d]}
	}
	return out
}

// settle runs the scheduler's heavy work (rebuilds, lower bounds) with c.mu released:
// snapshot under the lock, solve without it, swap under it. Events keep flowing
// meanwhile; the scheduler replays them onto the new scheme. At most a few pieces
// of work run per round, so that heavy churn during a solve (which can call for
// another rebuild at once) never holds a round back for long; and a round waits for
// a piece at most Config.SettleWait: a longer one goes on without the round, which
// polls by the scheme as it stands, and is swapped in by the first round after it
// ends (c.roundMu held).
func (c *Collector) settle(now time.Time) (st settleTimes) {
	for range 3 {
		if c.solving == nil {
			t := time.Now()
			c.mu.Lock()
			o, ok := c.sched.(poll.Offloader)
			var w poll.Work
			if ok {
				w = o.Work(now)
			}
			c.mu.Unlock()
			st.snapshot += time.Since(t)
			if w == nil {
				return st
			}
			s := &solving{o: o, w: w, done: make(chan struct{})}
			c.workers.Add(1)
			go func() {
				defer c.workers.Done()
				defer close(s.done)
				w.Run()
			}()
			c.solving = s
		}
		s := c.solving
		t0 := time.Now()
		if c.cfg.SettleWait <= 0 || !c.hasScheme() {
			<-s.done
		} else {
			t := time.NewTimer(c.cfg.SettleWait)
			select {
			case <-s.done:
				t.Stop()
			case <-t.C:
				c.mu.Lock()
				c.solvingRounds++
				c.mu.Unlock()
				st.wait += time.Since(t0)
				return st // the round polls by the scheme as it stands
			}
		}
		t1 := time.Now()
		st.wait += t1.Sub(t0)
		c.solving = nil
		ok := c.finish(now, s)
		st.swap += time.Since(t1)
		if !ok {
			return st
		}
	}
	return st
}

// settleTimes is where a round's settle phase went: taking snapshots for the
// scheduler's work (c.mu's wait included), waiting for the work, and swapping its
// results in.
type settleTimes struct {
	snapshot, wait, swap time.Duration
}

// hasScheme says whether the scheduler has a scheme to poll by while its work goes
// on (a scheduler without schemes always has).
func (c *Collector) hasScheme() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sch costed
	switch s := c.sched.(type) {
	case *poll.Published:
		sch = s.Local()
	case costed:
		sch = s
	default:
		return true
	}
	_, _, ok := sch.Cost()
	return ok
}

// costed is a scheduler with a scheme (poll.Planned): Cost is false until it has one.
type costed interface {
	Cost() (cost, bound int64, ok bool)
}

// solving is a piece of the scheduler's heavy work running outside the rounds.
type solving struct {
	o    poll.Offloader
	w    poll.Work
	done chan struct{} // closed when w.Run returns
}

// finish swaps the result of a piece of work in and logs a rebuild; false on an
// error, which it logs.
func (c *Collector) finish(now time.Time, s *solving) bool {
	c.mu.Lock()
	current := c.sched == poll.Scheduler(s.o)
	err := s.o.Finish(now, s.w)
	var rep poll.Rebuild
	var rebuilt bool
	if rw, ok := s.w.(*poll.RebuildWork); ok && current {
		if rep, rebuilt = rw.Report(); rebuilt {
			c.rebuilds++
			c.last = &rep
		}
	}
	c.mu.Unlock()
	if rebuilt {
		c.log.Info("polling scheme rebuilt", "reason", rep.Reason, "strategy", rep.Strategy.String(), "flows", rep.Flows,
			"variance_rate", rep.VarianceRate, "patched_cost_bytes", rep.PatchedCost, "cost_bytes", rep.Cost,
			"lower_bound_bytes", rep.LowerBound, "poll_all", rep.PollAll, "poll_single", rep.PollSingle)
	}
	if err != nil {
		c.log.Error("polling scheduler", "err", err)
		return false
	}
	return true
}

// requests turns the scheduler's due requests into OpenFlow messages (c.mu held),
// their readings' interval paced by the rounds (paced; pace 0 for none).
// A round at a million flows has about 150,000 of them: the flows' records are looked
// up in one pass and their paths read in the next, so that the memory waits of a
// pass overlap, and the messages are carved from two arrays rather than allocated
// one by one.
func (c *Collector) requests(due []poll.Request, pace time.Duration) []request {
	reqs := make([]request, 0, len(due))
	recs := c.recs[:0]
	for _, r := range due {
		var f *flowRec
		if r.Source != stats.SourcePollAll {
			f, _ = c.flows.Get(r.Flow)
		}
		recs = append(recs, f)
	}
	var w uint64
	for _, f := range recs {
		if f != nil && f.n > 0 {
			w += f.hop.DPID
		}
	}
	c.warmSum += w
	msgs := make([]ofproto.StatsRequest, len(due))
	bodies := make([]ofproto.FlowStatsRequest, len(due))
	for i, r := range due {
		m, b := &msgs[i], &bodies[i]
		if r.Source == stats.SourcePollAll {
			b.Match, b.TableID, b.OutPort = ofproto.MatchAll(), 0xff, ofproto.PortNone
			m.Body = b
			reqs = append(reqs, request{dpid: r.DPID, source: stats.SourcePollAll, interval: paced(r.Interval, pace, c.cfg.Interval), msg: m})
			continue
		}
		f := recs[i]
		if f == nil {
			continue
		}
		for _, h := range f.hops() {
			if h.DPID == r.DPID && c.pollable(r.Flow, f, h.DPID) {
				b.Match, b.TableID, b.OutPort = flowkey.ToMatchGrain(f.key, f.grain, ofproto.PortNo(h.InPort)), 0xff, ofproto.PortNone
				m.Body = b
				reqs = append(reqs, request{dpid: r.DPID, source: r.Source, interval: paced(r.Interval, pace, c.cfg.Interval), msg: m})
				break
			}
		}
	}
	clear(recs)
	c.recs = recs[:0]
	return reqs
}

// paced is the interval the readings of a request the scheduler gave want carry,
// when rounds begin pace apart and should begin interval apart: want while the
// rounds keep time (pace within a quarter of the interval), else at least pace.
// Rounds run late when the controller has more flows to read than it can in an
// interval (a million on two cores); each flow is then read once in a round, about
// pace apart, and the Store, told so, keeps its rate counting between two readings
// rather than counting it stale and back at nearly every round (which, at that
// size, was a sixth of the controller's work). 0 (unknown) stays 0.
func paced(want, pace, interval time.Duration) time.Duration {
	if want <= 0 || pace <= interval+interval/4 {
		return want
	}
	return max(want, pace)
}

// Round runs one polling round now: the scheduler's heavy work first (outside the
// lock), then what it says is due, sent switch by switch (switches in parallel), the
// replies ingested into readings for the Store and the scheduler. It returns once
// every switch's replies are in, or Config.RoundTimeout has passed (at once for
// switches found slow); the replies of those still out are applied when they arrive
// (Wait waits for them).
func (c *Collector) Round(ctx context.Context) RoundResult {
	c.roundMu.Lock()
	defer c.roundMu.Unlock()
	now := c.deps.Clock()
	var pace time.Duration // since the last Round began: more than the interval when rounds run late
	if !c.roundAt.IsZero() {
		pace = now.Sub(c.roundAt)
	}
	c.roundAt = now
	if d := c.sub.Dropped(); d != c.droppedSeen() {
		c.log.Warn("tracker events lost; resynchronising", "dropped", d)
		c.resync(now)
		c.mu.Lock()
		c.dropped = d
		c.mu.Unlock()
	}
	sw := c.switchList()
	var assigned *poll.Assigned
	if c.deps.Scheme != nil {
		assigned = c.deps.Scheme()
	}
	c.mu.Lock()
	c.sched.SetSwitches(now, sw)
	if p, ok := c.sched.(*poll.Published); ok {
		p.SetScheme(now, assigned)
	}
	c.mu.Unlock()
	tSwitches := c.deps.Clock()
	st := c.settle(now)
	tSettled := c.deps.Clock()
	c.mu.Lock()
	c.due = c.sched.Due(now, c.due[:0])
	reqs := c.requests(c.due, pace)
	strategy := c.sched.Strategy()
	c.rounds++
	c.mu.Unlock()
	account := strategy.String()
	res := RoundResult{At: now, Strategy: strategy, Requests: len(reqs)}
	tPlanned := c.deps.Clock()
	sink := c.send(ctx, account, reqs, &res)
	tSent := c.deps.Clock()
	c.apply(now, sink, &res)
	tApplied := c.deps.Clock()
	c.mu.Lock()
	prune := c.rounds%uint64(c.cfg.PruneEvery) == 0
	c.mu.Unlock()
	if prune {
		c.store.Prune(now)
	}
	c.mu.Lock()
	res.Flows = c.flows.Len()
	c.mu.Unlock()
	res.Took = c.deps.Clock().Sub(now)
	level := slog.LevelDebug
	if c.cfg.LogRounds {
		level = slog.LevelInfo
	}
	allocMB, gcs := c.heapSinceLast()
	c.log.Log(ctx, level, "polling round", "strategy", account, "took_ms", float64(res.Took.Microseconds())/1000,
		"requests", res.Requests, "skipped", res.Skipped, "failed", res.Failed, "readings", res.Readings,
		"unmatched", res.Unmatched, "flows", res.Flows, "settle_ms", ms(tSettled.Sub(now)),
		"switches_ms", ms(tSwitches.Sub(now)), "snapshot_ms", ms(st.snapshot), "solve_wait_ms", ms(st.wait), "swap_ms", ms(st.swap),
		"plan_ms", ms(tPlanned.Sub(tSettled)),
		"send_ms", ms(tSent.Sub(tPlanned)), "apply_ms", ms(tApplied.Sub(tSent)),
		"alloc_mb", allocMB, "gc_cycles", gcs)
	return res
}

// heapSinceLast returns what the process allocated on the heap (MB) and the garbage
// collections it completed since the last call (the last round's log; since the
// start at the first), under roundMu. They are the whole process's (another
// poller's, the controller's), which a round's polling dominates at scale: the
// allocation sets how often the collector marks the heap.
func (c *Collector) heapSinceLast() (allocMB float64, gcs uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	var alloc, total uint64
	if s[0].Value.Kind() == metrics.KindUint64 && s[1].Value.Kind() == metrics.KindUint64 {
		alloc, total = s[0].Value.Uint64(), s[1].Value.Uint64()
	}
	allocMB, gcs = float64(alloc-c.heapAlloc)/1e6, total-c.heapGCs
	c.heapAlloc, c.heapGCs = alloc, total
	return allocMB, gcs
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// roundSink gathers the replies of a round's batches (one batch per switch: its
// requests in turn). A batch back before the round ends is ingested as it arrives
// into the round's readings (the collector's poll.Ingester, begun by send), which keep
// one reading per flow across the batches, and its decoded replies are let go of; the
// round feeds the readings to the Store once every such batch is in. A batch back
// later (a slow switch) is applied on its own when it arrives, but for the flows the
// round already read.
type roundSink struct {
	mu      sync.Mutex
	closed  bool // the round has ended: later batches are late
	failed  int
	skipped int
	out     int           // batches not yet back
	back    chan struct{} // a batch the round waits for is back
	round   uint32        // the round's number (Collector.readRound): flowRec.read
	applied chan struct{} // closed once the round has applied its replies

	ingesting sync.WaitGroup // batches back in time whose replies are being ingested
	ingMu     sync.Mutex     // held while a batch is ingested (c.mu is taken inside); guards the fields below
	unmatched int
	foreign   []foreignEntries // entries of other instances' flows, handed over once the round is in
}

// send sends the requests, switch by switch (switches in parallel, each switch's
// requests pipelined, Config.Pipeline at a time), charged to account. A switch with a batch still out (from an
// earlier round) is skipped, its requests counted as busy. No request is started
// after Config.RoundTimeout; a request out then goes on until its reply or
// Config.RequestTimeout. The round waits for its batches until Config.RoundTimeout,
// and not at all for switches found slow; what comes back later is applied on
// arrival. The batches back in time are ingested as they come (c.ingest); the caller
// then feeds the readings to the Store with apply, which closes sink.applied
// (c.roundMu held).
func (c *Collector) send(ctx context.Context, account string, reqs []request, res *RoundResult) *roundSink {
	grouped, dpids, ends := c.group(reqs)
	if c.readRound++; c.readRound == 0 {
		c.readRound = 1 // 0 is "never read" (after 4 billion rounds)
	}
	sink := &roundSink{back: make(chan struct{}, len(dpids)), round: c.readRound, applied: make(chan struct{})}
	c.ingest.Begin(c.readings[:0])
	sendBy := time.Now().Add(c.cfg.RoundTimeout)
	waitFor := 0
	start := 0
	for g, dpid := range dpids {
		rs := grouped[start:ends[g]:ends[g]]
		start = ends[g]
		if !c.timing.acquire(dpid, len(rs), time.Now()) {
			res.Busy += len(rs)
			continue
		}
		waited := !c.timing.slow(dpid)
		if waited {
			waitFor++
		}
		sink.mu.Lock()
		sink.out++
		sink.mu.Unlock()
		c.workers.Add(1)
		go c.batch(ctx, account, dpid, rs, sendBy, sink, waited)
	}
	if waitFor > 0 {
		timer := time.NewTimer(time.Until(sendBy))
	wait:
		for waitFor > 0 {
			select {
			case <-sink.back:
				waitFor--
			case <-timer.C:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
		timer.Stop()
	}
	sink.mu.Lock()
	sink.closed = true
	res.Failed += sink.failed
	res.Skipped += sink.skipped
	res.Late = sink.out
	sink.mu.Unlock()
	c.mu.Lock()
	c.skipped += uint64(res.Skipped)
	c.busy += uint64(res.Busy)
	c.late += uint64(res.Late)
	c.mu.Unlock()
	if res.Skipped > 0 {
		c.log.Warn("polling round ran out of time", "strategy", account, "skipped", res.Skipped, "requests", res.Requests)
	}
	return sink
}

// group returns reqs switch by switch (each switch's in the scheduler's order, the
// switches in the order they first appear), the switches, and where each one's
// requests end: one array for the round's batches, without the per-switch slices
// (and their growth) a map of them made (under roundMu: its working memory is the
// collector's).
func (c *Collector) group(reqs []request) (grouped []request, dpids []uint64, ends []int) {
	if c.groups == nil {
		c.groups = make(map[uint64]int32)
	}
	clear(c.groups)
	dpids, ends = c.groupDPIDs[:0], c.groupEnds[:0]
	for _, r := range reqs {
		g, ok := c.groups[r.dpid]
		if !ok {
			g = int32(len(dpids))
			c.groups[r.dpid] = g
			dpids, ends = append(dpids, r.dpid), append(ends, 0)
		}
		ends[g]++
	}
	at := 0
	for g := range ends {
		n := ends[g]
		ends[g] = at // where the switch's requests start; its end once they are placed
		at += n
	}
	grouped = make([]request, len(reqs))
	for _, r := range reqs {
		g := c.groups[r.dpid]
		grouped[ends[g]] = r
		ends[g]++
	}
	c.groupDPIDs, c.groupEnds = dpids, ends
	return grouped, dpids, ends
}

// batch sends one switch's requests of a round (Config.Pipeline at a time) and hands
// the replies to the round, or applies them itself if the round has ended. Each reading carries the
// midpoint of its request and reply.
func (c *Collector) batch(ctx context.Context, account string, dpid uint64, rs []request, sendBy time.Time, sink *roundSink, waited bool) {
	defer c.workers.Done()
	var (
		mu              sync.Mutex
		wg              sync.WaitGroup
		next            atomic.Int64
		replies         []poll.Reply
		failed, skipped int
	)
	// A batch cut short by the round's time starts where the last one stopped, so
	// that a slow switch's requests all get their turn. The requests are pipelined:
	// up to Config.Pipeline outstanding.
	first := c.timing.first(dpid, len(rs))
	if p, ok := c.deps.Requester.(PipelinedRequester); ok {
		replies, failed, skipped = c.pipelined(ctx, p, account, dpid, rs, first, sendBy)
	} else {
		for range min(len(rs), c.cfg.Pipeline) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= len(rs) {
						return
					}
					if ctx.Err() != nil || !time.Now().Before(sendBy) {
						mu.Lock()
						skipped++
						mu.Unlock()
						continue
					}
					r := rs[(first+i)%len(rs)]
					msgs, at, err := c.timed(ctx, account, dpid, r.msg)
					mu.Lock()
					if err != nil {
						failed++
					}
					if len(msgs) > 0 {
						replies = append(replies, poll.Reply{DPID: dpid, Source: r.source, Interval: c.timing.spacing(dpid, r.interval, c.cfg.Interval), At: at, Msgs: msgs})
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	c.timing.advance(dpid, first, len(rs)-skipped, len(rs))
	sink.mu.Lock()
	late := sink.closed
	sink.out--
	if !late {
		sink.failed += failed
		sink.skipped += skipped
		sink.ingesting.Add(1)
	}
	sink.mu.Unlock()
	c.timing.release(dpid, late)
	if !late {
		c.take(sink, replies)
		c.recycle(replies)
		putSlice(&replyPool, replies)
		sink.ingesting.Done()
		if waited {
			sink.back <- struct{}{}
		}
		return
	}
	if skipped > 0 {
		c.mu.Lock()
		c.skipped += uint64(skipped)
		c.mu.Unlock()
		c.log.Warn("slow switch: requests left unsent", "dpid", fmt.Sprintf("%016x", dpid), "strategy", account, "skipped", skipped)
	}
	<-sink.applied
	c.applyLate(replies, sink.round)
	putSlice(&replyPool, replies)
}

// pipelined sends a switch's batch rs (from first on, round the end) through p, as
// batch's goroutines would through Request: Config.Pipeline outstanding at most, none
// started after sendBy or once ctx has ended (those count as skipped), each charged
// and timed on its own (timing.learn with its reply time; its readings carry the
// midpoint of its request and reply). It returns the replies, the requests that
// failed and those skipped.
func (c *Collector) pipelined(ctx context.Context, p PipelinedRequester, account string, dpid uint64, rs []request, first int, sendBy time.Time) (replies []poll.Reply, failed, skipped int) {
	sent := pooledSlice[sentReq](&sentPool, len(rs))
	defer func() { putSlice(&sentPool, sent) }()
	replies = pooledSlice[poll.Reply](&replyPool, len(rs)) // one at most per request
	// The requests p takes between two answers fill the pipeline together and leave
	// in one write: they share frames, and each is charged the frames it adds to the
	// fill (the first one's headers, then one more per MSS), so that the accounting
	// follows the wire.
	fill, newFill := 0, true
	next := func() ofproto.Message {
		k := len(sent)
		if k >= len(rs) {
			return nil
		}
		if ctx.Err() != nil || !time.Now().Before(sendBy) {
			return nil
		}
		r := &rs[(first+k)%len(rs)]
		if newFill {
			fill, newFill = 0, false
		}
		before := WireBytes(fill, c.cfg.MSS, c.cfg.FrameOverhead)
		fill += r.msg.Len()
		sent = append(sent, sentReq{r: r, sent: c.deps.Clock(), start: time.Now(),
			wire: WireBytes(fill, c.cfg.MSS, c.cfg.FrameOverhead) - before})
		return r.msg
	}
	done := func(i int, msgs []ofproto.Message, err error) {
		newFill = true
		if i < 0 || i >= len(sent) {
			c.log.Error("pipelined requester answered a request it was not given", "dpid", fmt.Sprintf("%016x", dpid), "ordinal", i)
			return
		}
		o := sent[i]
		took, got := time.Since(o.start), c.deps.Clock()
		c.charge(account, dpid, o.r.msg.Len(), o.wire, msgs, err)
		if timedOut := c.timedOut(err); err == nil || timedOut {
			c.timing.learn(dpid, took, timedOut, got, c.cfg.RoundTimeout, time.Now(), c.cfg.RequestTimeout)
		}
		if err != nil {
			failed++
		}
		if len(msgs) > 0 {
			replies = append(replies, poll.Reply{DPID: dpid, Source: o.r.source, Interval: c.timing.spacing(dpid, o.r.interval, c.cfg.Interval),
				At: o.sent.Add(got.Sub(o.sent) / 2), Msgs: msgs})
		}
	}
	_ = p.RequestPipelined(ctx, dpid, c.cfg.Pipeline, c.cfg.RequestTimeout, next, done) // ctx's end: the rest are skipped
	return replies, failed, len(rs) - len(sent)
}

// sentReq is a request pipelined sends, while it is out.
type sentReq struct {
	r     *request
	sent  time.Time // by Deps.Clock
	start time.Time // monotonic
	wire  int64     // its bytes on the wire: its own and the frames it adds to its fill's
}

// sentPool and replyPool keep the working memory of switches' batches (pipelined's
// requests out, a batch's replies) for the next batches: at a million flows a
// round's batches send 150,000 requests, and made per batch these arrays were 6 %
// of what the process allocated while polling.
var sentPool, replyPool sync.Pool // *[]sentReq, *[]poll.Reply

// pooledSlice returns an empty slice with room for n, its array from pool (which
// holds *[]T) if the one there is that large.
func pooledSlice[T any](pool *sync.Pool, n int) []T {
	if p, ok := pool.Get().(*[]T); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]T, 0, n)
}

// putSlice gives s's array back to pool, letting go of what its elements held.
func putSlice[T any](pool *sync.Pool, s []T) {
	if cap(s) == 0 {
		return
	}
	clear(s)
	s = s[:0]
	pool.Put(&s)
}

// timed is exchange that learns the switch's reply time (on the monotonic clock)
// and returns the time by Deps.Clock its readings carry: the midpoint of the request
// and its reply, when the switch most likely read its counters.
func (c *Collector) timed(ctx context.Context, account string, dpid uint64, msg ofproto.Message) ([]ofproto.Message, time.Time, error) {
	sent, start := c.deps.Clock(), time.Now()
	msgs, err := c.exchange(ctx, account, dpid, msg)
	took, got := time.Since(start), c.deps.Clock()
	if timedOut := c.timedOut(err); err == nil || timedOut {
		c.timing.learn(dpid, took, timedOut, got, c.cfg.RoundTimeout, time.Now(), c.cfg.RequestTimeout)
	}
	return msgs, sent.Add(got.Sub(sent) / 2), err
}

// timedOut says whether a Request error is a timeout.
func (c *Collector) timedOut(err error) bool {
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || c.deps.IsTimeout != nil && c.deps.IsTimeout(err))
}

func (c *Collector) droppedSeen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// resolve maps a reply entry to an active flow and the switch's place on its path
// (c.mu held).
func (c *Collector) resolve(dpid uint64, e *ofproto.FlowStats) (uint64, int, bool) {
	id, _, hop, ok := c.resolveRec(dpid, e)
	return id, hop, ok
}

// resolveRec is resolve that also returns the flow's record.
func (c *Collector) resolveRec(dpid uint64, e *ofproto.FlowStats) (uint64, *flowRec, int, bool) {
	// The cookie names the flow (every entry of a flow carries it): one lookup among
	// the flows being polled. Only an entry without one of ours is looked up by match.
	var id uint64
	var ok, known bool
	var f *flowRec
	if c.idOf != nil {
		id, ok = c.idOf.IDOf(e.Cookie)
		f, known = c.flows.Get(id)
	}
	if !ok || !known {
		h, ok := c.deps.Tracker.Resolve(e.Cookie, flowkey.FromMatch(&e.Match))
		if !ok {
			return 0, nil, 0, false
		}
		if f, ok = c.flows.Get(h.ID); !ok {
			return 0, nil, 0, false
		}
		id = h.ID
	}
	hops := f.hops()
	hop := slices.IndexFunc(hops, func(x flowtracker.Hop) bool { return x.DPID == dpid })
	if hop >= 0 && c.cfg.ReadPoint == mcps.ReadEgress {
		// poll.Ingest keeps the reading with the lowest hop: count from the egress.
		hop = len(hops) - 1 - hop
	}
	return id, f, hop, hop >= 0
}

// resolveRead is resolve for the batches of round that are back in time: a flow
// it finds is marked read in that round (flowRec.read), which its late batches
// look at (resolveLate). The mark costs no load of its own: resolve has the
// record at hand.
func (c *Collector) resolveRead(round uint32) poll.Resolver {
	return func(dpid uint64, e *ofproto.FlowStats) (uint64, int, bool) {
		id, f, hop, ok := c.resolveRec(dpid, e)
		if ok {
			f.read = round
		}
		return id, hop, ok
	}
}

// resolveLate is resolve for a late batch of round: a flow read in that round or
// a later one (flowRec.read, from other switches' batches back in time) is left
// out, as resolve leaves out an entry of no flow, and counted in *read rather than
// as unmatched. Round 0 leaves nothing out.
func (c *Collector) resolveLate(round uint32, read *int) poll.Resolver {
	return func(dpid uint64, e *ofproto.FlowStats) (uint64, int, bool) {
		id, f, hop, ok := c.resolveRec(dpid, e)
		if ok && round != 0 && f.read != 0 && int32(f.read-round) >= 0 { // in serial order, across the wrap
			*read++
			return 0, 0, false
		}
		return id, hop, ok
	}
}

// warm brings into the cache what resolve will read for reply entry e (c.mu held),
// a level a pass (warmPasses): the flow's slot of c.flows, then its record, then
// its path. poll.Ingester calls it for a run of entries before resolving them, each
// pass over the whole run, so that the memory waits of a pass overlap.
func (c *Collector) warm(pass int, _ uint64, e *ofproto.FlowStats) {
	if c.idOf == nil {
		return
	}
	id, ok := c.idOf.IDOf(e.Cookie)
	if !ok {
		return
	}
	switch pass {
	case 0:
		c.warmSum += c.flows.Touch(id)
	case 1:
		if f, _ := c.flows.Get(id); f != nil {
			c.warmSum += uint64(f.n)
		}
	default:
		if f, _ := c.flows.Get(id); f != nil && f.n > 0 {
			c.warmSum += f.hop.DPID
		}
	}
}

// warmPasses is how many passes warm makes over a run.
const warmPasses = 3

// yieldEvery is how many reply entries are matched per hold of c.mu.
const yieldEvery = 4096

// take ingests the replies of a batch back in time into the round's readings. Matching
// takes c.mu; it is let go every few thousand entries, so that the arrivals of a
// burst of installs (HandleEvents) are not held up for a whole switch's matching. The
// Ingester's state is the round's (sink.ingMu); a flow that leaves meanwhile is
// unmatched, as it would be a moment later.
func (c *Collector) take(sink *roundSink, replies []poll.Reply) {
	if len(replies) == 0 {
		return
	}
	sink.ingMu.Lock()
	defer sink.ingMu.Unlock()
	c.mu.Lock()
	unmatched := c.ingest.Add(replies, c.yielding(c.resolveRead(sink.round)))
	if unmatched > 0 && c.deps.HandOver != nil {
		sink.foreign = append(sink.foreign, c.foreign(replies)...)
	}
	c.mu.Unlock()
	sink.unmatched += unmatched
}

// yielding wraps resolve, called with c.mu held, so that it lets c.mu go and takes
// it again every yieldEvery entries: others waiting for it (a round's plan, a burst
// of arrivals) get their turn.
func (c *Collector) yielding(resolve poll.Resolver) poll.Resolver {
	n := 0
	return func(dpid uint64, e *ofproto.FlowStats) (uint64, int, bool) {
		if n++; n%yieldEvery == 0 {
			c.mu.Unlock()
			c.mu.Lock()
		}
		return resolve(dpid, e)
	}
}

// recycle gives the replies of a batch, matched and copied out, back to the
// Requester if it takes them (Recycler).
func (c *Collector) recycle(replies []poll.Reply) {
	r, ok := c.deps.Requester.(Recycler)
	if !ok {
		return
	}
	for i := range replies {
		r.Recycle(replies[i].Msgs)
		replies[i].Msgs = nil
	}
}

// apply feeds the round's readings, once every batch back in time is ingested, to
// the Store, and those it took to the scheduler; then it lets the round's late
// batches apply theirs.
func (c *Collector) apply(now time.Time, sink *roundSink, res *RoundResult) {
	defer close(sink.applied)
	sink.ingesting.Wait()
	readings := c.ingest.End()
	c.readings = readings
	unmatched := sink.unmatched
	c.mu.Lock()
	c.unmatched += uint64(unmatched)
	c.mu.Unlock()
	for _, f := range sink.foreign {
		c.deps.HandOver(f.dpid, f.entries, f.ids)
	}
	sink.foreign = nil
	res.Unmatched = unmatched
	c.samples, res.Readings = c.observe(now, readings, c.samples[:0])
}

// applyLate applies the replies of a batch of round that came back after it, but
// for the flows that round or a later one read from other switches in time
// (flowRec.read; round 0 applies them all). Late batches match their replies one
// at a time (c.lateMu): the others wait for it there, not in c.mu's queue, so
// that a round or a burst of arrivals waits for c.mu behind one late batch's few
// thousand entries at most (yieldEvery), not behind every slow switch's whole
// batch.
func (c *Collector) applyLate(replies []poll.Reply, round uint32) {
	if len(replies) == 0 {
		return
	}
	c.lateMu.Lock()
	buf := c.getLateBuf() // in turn: the batches waiting for lateMu hold none
	defer c.putLateBuf(buf)
	c.mu.Lock()
	read := 0
	readings, unmatched := c.lateIng.Ingest(buf.readings[:0], replies, c.yielding(c.resolveLate(round, &read)))
	c.unmatched += uint64(unmatched - read)
	c.mu.Unlock()
	c.lateMu.Unlock()
	c.recycle(replies)
	var n int
	buf.samples, n = c.observe(c.deps.Clock(), readings, buf.samples[:0])
	buf.readings = readings[:0]
	c.mu.Lock()
	c.lateReads += uint64(n)
	c.mu.Unlock()
}

// lateBuf is the working memory of one late batch's applyLate.
type lateBuf struct {
	readings []stats.Reading
	samples  []stats.FlowSample
}

const (
	// maxLateBufs is how many late batches' buffers are kept: one batch matches
	// at a time (lateMu) while others feed the Store. When most switches are late
	// (a million flows on two cores) dozens pile up in that second step, each
	// with its buffers; kept, they serve the next round's late batches instead
	// of being made again (at a million flows, made per batch, they were a sixth
	// of what the process allocated while polling).
	maxLateBufs = 64
	// maxLateBufReadings bounds the readings' buffers kept, together (42 MB at
	// 80 bytes a reading): a buffer beyond it, from a switch of more entries or
	// one batch too many, is left to the garbage collector.
	maxLateBufReadings = 1 << 19
)

// getLateBuf returns a kept late batch's buffers, or new ones.
func (c *Collector) getLateBuf() *lateBuf {
	c.lateBufMu.Lock()
	defer c.lateBufMu.Unlock()
	if n := len(c.lateBufs); n > 0 {
		b := c.lateBufs[n-1]
		c.lateBufs[n-1] = nil
		c.lateBufs = c.lateBufs[:n-1]
		c.lateKept -= cap(b.readings)
		return b
	}
	return new(lateBuf)
}

// putLateBuf keeps b for the next late batch, unless maxLateBufs are kept or the
// readings' buffers kept would pass maxLateBufReadings.
func (c *Collector) putLateBuf(b *lateBuf) {
	c.lateBufMu.Lock()
	defer c.lateBufMu.Unlock()
	if len(c.lateBufs) < maxLateBufs && c.lateKept+cap(b.readings) <= maxLateBufReadings {
		c.lateBufs = append(c.lateBufs, b)
		c.lateKept += cap(b.readings)
	}
}

// observe feeds readings to the Store, and those it took (with their samples, in
// samples' buffer) to the scheduler and the tasks; it returns the buffer and how many
// it took. The readings' array is overwritten (stats.Store.ObserveBatch keeps the
// taken ones in it). It goes observeChunk readings at a time, so that the samples' buffer stays
// that small whatever the number of flows (a sample is about 130 bytes: a buffer for
// every reading of a round would hold that much per active flow between rounds).
func (c *Collector) observe(now time.Time, readings []stats.Reading, samples []stats.FlowSample) ([]stats.FlowSample, int) {
	n := 0
	for len(readings) > 0 {
		chunk := readings[:min(len(readings), observeChunk)]
		readings = readings[len(chunk):]
		m := len(chunk)
		var taken []stats.Reading
		taken, samples = c.store.ObserveBatch(chunk, samples[:0])
		c.mu.Lock()
		c.rejected += uint64(m - len(taken))
		for i, r := range taken {
			c.sched.OnReading(now, r, samples[i])
			c.taskReading(r)
		}
		c.mu.Unlock()
		n += len(taken)
	}
	return samples, n
}

// observeChunk is how many readings observe hands on at once.
const observeChunk = 1024

// PortRound asks every connected switch for the statistics of all its ports and feeds
// them to the Store; a slow switch whose flow statistics are still out is left for the
// next port round, as is one held back after timeouts (their ports keep their rates
// meanwhile). Run runs port rounds apart from the flow rounds, so that a slow
// switch's port reply holds up no flow round.
func (c *Collector) PortRound(ctx context.Context) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		switches = make(map[uint64]bool)
		answered = make(map[uint64]bool)        // switches whose full reply arrived
		listed   = make(map[stats.PortKey]bool) // ports those replies list
	)
	for _, dpid := range c.deps.Switches() {
		switches[dpid] = true
		if c.timing.skipPorts(dpid, time.Now()) {
			continue // slow with flow requests out, or held back: its ports wait for a later port round
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs, at, err := c.timed(ctx, StrategyPortStats, dpid, &ofproto.StatsRequest{Body: &ofproto.PortStatsRequest{PortNo: ofproto.PortNone}})
			if err == nil {
				mu.Lock()
				answered[dpid] = true
				for _, m := range msgs {
					if sr, ok := m.(*ofproto.StatsReply); ok {
						if body, ok := sr.Body.(*ofproto.PortStatsReply); ok {
							for _, p := range body.Entries {
								listed[stats.PortKey{DPID: dpid, Port: uint16(p.PortNo)}] = true
							}
						}
					}
				}
				mu.Unlock()
			}
			for _, m := range msgs {
				sr, ok := m.(*ofproto.StatsReply)
				if !ok {
					continue
				}
				body, ok := sr.Body.(*ofproto.PortStatsReply)
				if !ok {
					continue
				}
				for _, p := range body.Entries {
					if err := c.store.ObservePort(stats.PortReading{DPID: dpid, Port: uint16(p.PortNo),
						RxBytes: p.RxBytes, TxBytes: p.TxBytes, RxPackets: p.RxPackets, TxPackets: p.TxPackets, At: at}); err != nil {
						c.log.Debug("port reading refused", "dpid", fmt.Sprintf("%016x", dpid), "err", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	// Ports of switches gone, and ports a switch no longer lists, keep no
	// stale rate; a switch that did not answer keeps its ports until it does.
	c.store.ForgetPorts(func(k stats.PortKey) bool {
		return switches[k.DPID] && (!answered[k.DPID] || listed[k])
	})
}

// foreignEntries are the entries of one switch's poll-all replies that belong to
// flows this collector does not poll but whose cookie names a flow ID.
type foreignEntries struct {
	dpid    uint64
	entries []ofproto.FlowStats
	ids     []uint64
}

// foreign picks out of replies the entries of other instances' flows (c.mu held).
func (c *Collector) foreign(replies []poll.Reply) []foreignEntries {
	if c.idOf == nil {
		return nil
	}
	var out []foreignEntries
	for _, rp := range replies {
		if rp.Source != stats.SourcePollAll {
			continue
		}
		fe := foreignEntries{dpid: rp.DPID}
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
				id, ok := c.idOf.IDOf(body.Entries[i].Cookie)
				if !ok {
					continue
				}
				if _, mine := c.flows.Get(id); mine {
					continue
				}
				fe.entries = append(fe.entries, body.Entries[i])
				fe.ids = append(fe.ids, id)
			}
		}
		if len(fe.entries) > 0 {
			out = append(out, fe)
		}
	}
	return out
}

// HandedIn applies a flow statistics reply another poller handed over (in a cluster,
// a peer's poll-all of switch dpid, with the entries of this instance's flows),
// read at about at: its entries of the flows this collector polls become readings,
// as a round's would; the others count unmatched.
func (c *Collector) HandedIn(dpid uint64, r *ofproto.StatsReply, at time.Time) {
	if r == nil {
		return
	}
	c.applyLate([]poll.Reply{{DPID: dpid, Source: stats.SourcePollAll, Interval: c.cfg.Interval, At: at, Msgs: []ofproto.Message{r}}}, 0)
}
