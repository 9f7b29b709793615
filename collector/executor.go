package collector

import (
	"context"
	"errors"
	"fmt"
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
	Failed    int
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
	u := Usage{Requests: 1, OpenFlowBytesSent: uint64(reqLen),
		WireBytesSent: uint64(WireBytes(reqLen, c.cfg.MSS, c.cfg.FrameOverhead))}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || c.deps.IsTimeout != nil && c.deps.IsTimeout(err) {
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
	return msgs, err
}

// switchList is the connected switches as the scheduler takes them.
func (c *Collector) switchList() []poll.Switch {
	dpids := c.deps.Switches()
	var hops map[uint64]int
	if c.cfg.Deployment == mcps.InBand && c.deps.Hops != nil {
		hops = c.deps.Hops()
	}
	out := make([]poll.Switch, len(dpids))
	for i, d := range dpids {
		out[i] = poll.Switch{DPID: d, Hops: hops[d]}
	}
	return out
}

// settle runs the scheduler's heavy work (rebuilds, lower bounds) with c.mu released:
// snapshot under the lock, solve without it, swap under it. Events keep flowing
// meanwhile; the scheduler replays them onto the new scheme. At most a few pieces
// of work run per round, so that heavy churn during a solve (which can call for
// another rebuild at once) never holds a round back for long.
func (c *Collector) settle(now time.Time) {
	for range 3 {
		c.mu.Lock()
		o, ok := c.sched.(poll.Offloader)
		var w poll.Work
		if ok {
			w = o.Work(now)
		}
		c.mu.Unlock()
		if w == nil {
			return
		}
		w.Run()
		c.mu.Lock()
		current := c.sched == poll.Scheduler(o)
		err := o.Finish(now, w)
		var rep poll.Rebuild
		var rebuilt bool
		if rw, ok := w.(*poll.RebuildWork); ok && current {
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
			return
		}
	}
}

// requests turns the scheduler's due requests into OpenFlow messages (c.mu held).
func (c *Collector) requests(due []poll.Request) []request {
	reqs := make([]request, 0, len(due))
	for _, r := range due {
		if r.Source == stats.SourcePollAll {
			reqs = append(reqs, request{dpid: r.DPID, source: stats.SourcePollAll, interval: r.Interval,
				msg: &ofproto.StatsRequest{Body: &ofproto.FlowStatsRequest{Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone}}})
			continue
		}
		f, ok := c.flows[r.Flow]
		if !ok {
			continue
		}
		for _, h := range f.hops {
			if h.DPID == r.DPID {
				reqs = append(reqs, request{dpid: r.DPID, source: r.Source, interval: r.Interval,
					msg: &ofproto.StatsRequest{Body: &ofproto.FlowStatsRequest{Match: flowkey.ToMatch(f.key, ofproto.PortNo(h.InPort)), TableID: 0xff, OutPort: ofproto.PortNone}}})
				break
			}
		}
	}
	return reqs
}

// Round runs one polling round now and waits for it to finish: the scheduler's
// heavy work first (outside the lock), then what it says is due, sent switch by
// switch (switches in parallel), the replies ingested into readings for the Store
// and the scheduler.
func (c *Collector) Round(ctx context.Context) RoundResult {
	c.roundMu.Lock()
	defer c.roundMu.Unlock()
	now := c.deps.Clock()
	if d := c.sub.Dropped(); d != c.droppedSeen() {
		c.log.Warn("tracker events lost; resynchronising", "dropped", d)
		c.resync(now)
		c.mu.Lock()
		c.dropped = d
		c.mu.Unlock()
	}
	sw := c.switchList()
	c.mu.Lock()
	c.sched.SetSwitches(now, sw)
	c.mu.Unlock()
	c.settle(now)
	tSettled := c.deps.Clock()
	c.mu.Lock()
	c.due = c.sched.Due(now, c.due[:0])
	reqs := c.requests(c.due)
	strategy := c.sched.Strategy()
	c.rounds++
	c.mu.Unlock()
	account := strategy.String()
	res := RoundResult{At: now, Strategy: strategy, Requests: len(reqs)}
	tPlanned := c.deps.Clock()
	replies := c.send(ctx, account, reqs, &res)
	tSent := c.deps.Clock()
	c.apply(now, replies, &res)
	tApplied := c.deps.Clock()
	c.mu.Lock()
	prune := c.rounds%uint64(c.cfg.PruneEvery) == 0
	c.mu.Unlock()
	if prune {
		c.store.Prune(now)
	}
	c.mu.Lock()
	res.Flows = len(c.flows)
	c.mu.Unlock()
	res.Took = c.deps.Clock().Sub(now)
	c.log.Debug("polling round", "strategy", account, "took_ms", float64(res.Took.Microseconds())/1000,
		"requests", res.Requests, "skipped", res.Skipped, "failed", res.Failed, "readings", res.Readings,
		"unmatched", res.Unmatched, "flows", res.Flows, "settle_ms", ms(tSettled.Sub(now)), "plan_ms", ms(tPlanned.Sub(tSettled)),
		"send_ms", ms(tSent.Sub(tPlanned)), "apply_ms", ms(tApplied.Sub(tSent)))
	return res
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// send sends the requests, switch by switch (switches in parallel, each switch's
// requests pipelined, Config.Pipeline at a time), charged to account, within the round's time limit; it returns
// the replies.
func (c *Collector) send(ctx context.Context, account string, reqs []request, res *RoundResult) []poll.Reply {
	byDPID := make(map[uint64][]request)
	for _, r := range reqs {
		byDPID[r.dpid] = append(byDPID[r.dpid], r)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		replies []poll.Reply
	)
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RoundTimeout)
	defer cancel()
	for dpid, rs := range byDPID {
		// A switch's requests are pipelined: up to Config.Pipeline outstanding.
		var next atomic.Int64
		for range min(len(rs), c.cfg.Pipeline) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= len(rs) {
						return
					}
					r := rs[i]
					if rctx.Err() != nil {
						mu.Lock()
						res.Skipped++
						mu.Unlock()
						continue
					}
					msgs, err := c.exchange(rctx, account, dpid, r.msg)
					at := c.deps.Clock()
					mu.Lock()
					if err != nil {
						res.Failed++
					}
					if len(msgs) > 0 {
						replies = append(replies, poll.Reply{DPID: dpid, Source: r.source, Interval: r.interval, At: at, Msgs: msgs})
					}
					mu.Unlock()
					if ctx.Err() != nil {
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	if res.Skipped > 0 {
		c.mu.Lock()
		c.skipped += uint64(res.Skipped)
		c.mu.Unlock()
		c.log.Warn("polling round ran out of time", "strategy", account, "skipped", res.Skipped, "requests", res.Requests)
	}
	return replies
}

func (c *Collector) droppedSeen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// resolve maps a reply entry to an active flow and the switch's place on its path
// (c.mu held).
func (c *Collector) resolve(dpid uint64, e *ofproto.FlowStats) (uint64, int, bool) {
	// The cookie names the flow (every entry of a flow carries it): one lookup among
	// the flows being polled. Only an entry without one of ours is looked up by match.
	var id uint64
	var ok, known bool
	var f *flowRec
	if c.idOf != nil {
		id, ok = c.idOf.IDOf(e.Cookie)
		f, known = c.flows[id]
	}
	if !ok || !known {
		h, ok := c.deps.Tracker.Resolve(e.Cookie, flowkey.FromMatch(&e.Match))
		if !ok {
			return 0, 0, false
		}
		if f, ok = c.flows[h.ID]; !ok {
			return 0, 0, false
		}
		id = h.ID
	}
	hop := slices.IndexFunc(f.hops, func(x flowtracker.Hop) bool { return x.DPID == dpid })
	if hop >= 0 && c.cfg.ReadPoint == mcps.ReadEgress {
		// poll.Ingest keeps the reading with the lowest hop: count from the egress.
		hop = len(f.hops) - 1 - hop
	}
	return id, hop, hop >= 0
}

// apply ingests the replies into readings and feeds them to the Store, and those it
// took to the scheduler.
func (c *Collector) apply(now time.Time, replies []poll.Reply, res *RoundResult) {
	c.mu.Lock()
	readings, unmatched := c.ingest.Ingest(c.readings[:0], replies, c.resolve)
	c.readings = readings
	c.unmatched += uint64(unmatched)
	c.mu.Unlock()
	res.Unmatched = unmatched
	taken := readings[:0]
	samples := c.samples[:0]
	for _, r := range readings {
		s, err := c.store.Observe(r)
		if err != nil {
			continue
		}
		taken = append(taken, r)
		samples = append(samples, s)
	}
	res.Readings = len(taken)
	c.samples = samples
	c.mu.Lock()
	c.rejected += uint64(len(readings) - len(taken))
	for i, r := range taken {
		c.sched.OnReading(now, r, samples[i])
		c.taskReading(r)
	}
	c.mu.Unlock()
}

// PortRound asks every connected switch for the statistics of all its ports and feeds
// them to the Store.
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			msgs, err := c.exchange(ctx, StrategyPortStats, dpid, &ofproto.StatsRequest{Body: &ofproto.PortStatsRequest{PortNo: ofproto.PortNone}})
			at := c.deps.Clock()
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
