// Package collector is cemon's statistics edge: the executor of package poll's
// schedulers. It keeps the active flows from the tracker's events, feeds their
// arrivals and expiries to the scheduler of the current strategy, sends what the
// scheduler says is due as OpenFlow 1.0 flow statistics requests through the
// controller, turns the replies into readings with poll.Ingest (entries mapped back
// to their flows by cookie) and feeds them to a stats.Store and back to the
// scheduler.
//
// It owns the polling rounds, the strategy switch at run time, optional port
// statistics for the link cross-check, the accounting of what
// polling costs, and the Prometheus collector over all of it. It does not decide what
// to poll (package poll does), match replies to requests or reassemble multipart
// replies (the controller's Request does), or compute rates (package stats does).
//
// # Strategies
//
// Config.Strategy (a poll.Strategy; its names are what the command line and the REST
// API take) picks the scheduler: mcps (greedy plus clean-up, algorithms.md section 2,
// patched by DAPR, rebuilt by ARI), per-flow-random, per-flow-min, poll-all (every
// switch with an all-wildcard request, table_id 0xff, out_port OFPP_NONE), or off (no
// polling; flows are still counted from FLOW_REMOVED). A poll-single asks one switch
// for the flow's exact entry there (its match with that switch's in_port).
// SetStrategy switches at run time: a new scheduler takes the active flows and builds
// its scheme at the next round; the accounting is kept per strategy.
//
// # A round
//
// Every Config.Interval: tell the scheduler the connected switches (a lost tracker
// event means a full resync first), run its heavy work (a rebuild, a lower bound) with
// the lock released (events keep being handled meanwhile, and the scheduler replays
// them onto the new scheme), then send each switch the requests Due gives, one after
// another (switches in parallel; one request in flight per switch keeps each request
// in its own TCP segment, which is what the wire model assumes). No request starts
// after Config.RoundTimeout (default the interval): those left are skipped and
// counted, and the next batch of that switch starts with them. The round waits for
// the switches' replies until then and no longer, so that a slow switch holds up
// neither this round nor the next: a batch still out is applied when it comes back
// (its readings of flows the round read elsewhere dropped), each request bounded by
// Config.RequestTimeout (a timeout is counted for its switch), and its switch is
// skipped (busy) by later rounds until then; after k timeouts in a row a switch is
// held back for min(2^(k-1), 16) request timeouts. Every reading carries its own
// time, the midpoint of its request and reply, and, from a switch that answers in
// more than a round, the spacing it is read at as its polling interval.
//
// The collector learns each switch's reply time (an EWMA of request to last reply
// part, ReplyTimes; a timeout counts as its timeout). A switch whose reply time
// passes half of RoundTimeout is slow (fast again below a quarter): rounds do not
// wait for it at all, and the scheduler hears of it (poll.Switch.Slow), so that a
// scheme reads flows elsewhere where that costs the same. A flow returned by several
// switches in one round keeps the reading
// of the switch nearest its ingress (offered load), or nearest its egress (delivered
// traffic) with Config.ReadPoint = mcps.ReadEgress. A switch's replies are matched to
// flows as soon as its batch is back (poll.Ingester.Add), while the round waits for
// the others, and its decoded replies are let go of then: a round never holds every
// switch's replies at once; the readings go to the Store when the round's batches are
// in. Each reading carries the flow's
// polling interval, in which the Store counts its staleness. The Store's histories advance on its own
// clock tick, not per round: its owner calls Store.Tick (or Run does, every
// Config.StoreTick).
//
// # Accounting
//
// Per strategy and per switch: requests, replies (OpenFlow messages), entries, timeouts
// and errors (and per switch its reply time, late batches and busy requests), OpenFlow bytes each way, and modelled wire bytes: each exchange's bytes
// plus Config.FrameOverhead (66: Ethernet 14, IPv4 20, TCP 32 with timestamps) per TCP
// segment of at most Config.MSS bytes (algorithms.md section 1). Port statistics are
// accounted under the name "port-stats".
//
// Example:
//
//	st, _ := stats.New(stats.Config{})
//	c, _ := collector.New(collector.Config{Strategy: collector.StrategyMCPS, Interval: time.Second},
//		collector.Deps{Requester: ctl, Tracker: ctl.Tracker(), Switches: dpidsOf(ctl), Store: st})
//	reg.MustRegister(collector.NewMetrics(c))
//	go c.Run(ctx)
package collector
