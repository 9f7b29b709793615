// Package collector is cemon's statistics edge: it turns the polling scheme into
// OpenFlow 1.0 flow statistics requests, sends them through the controller, maps every
// returned entry back to its flow by cookie and feeds the counters to a stats.Store.
//
// It owns the scheme's life (an mcps.Planner patched by DAPR on every flow arrival and
// expiry the tracker publishes, rebuilt when ARI says so, each rebuild logged with its
// reason), the polling rounds, optional port statistics for the link cross-check, the
// accounting of what polling costs, and the Prometheus collector over all of it. It
// does not match replies to requests or reassemble multipart replies (the controller's
// Request does), and it does not compute rates (package stats does).
//
// # Strategies
//
// Config.Strategy picks the scheme: mcps (greedy plus clean-up, algorithms.md section
// 2), per-flow-random, per-flow-min, poll-all (every switch with an all-wildcard
// request, table_id 0xff, out_port OFPP_NONE), or off (no polling; flows are still
// counted from FLOW_REMOVED). A poll-single asks one switch for the flow's exact entry
// there (its match with that switch's in_port). SetStrategy switches at run time; the
// scheme is rebuilt at the next round and the accounting is kept per strategy.
//
// # A round
//
// Every Config.Interval: bring the planner up to date (a new switch or a lost event
// means a full resync from the tracker), rebuild if ARI asks, send each switch its
// requests one after another (switches in parallel; one request in flight per switch
// keeps each request in its own TCP segment, which is what the wire model assumes),
// each bounded by Config.RequestTimeout and the whole round by Config.RoundTimeout
// (default the interval): requests a slow switch leaves unsent are skipped and
// counted, so rounds never pile up. A flow returned by several switches in one
// round keeps the reading of the switch nearest its ingress. Then the readings go to
// the Store (whose owner advances its histories with Store.Tick).
//
// # Accounting
//
// Per strategy and per switch: requests, replies (OpenFlow messages), entries, timeouts
// and errors, OpenFlow bytes each way, and modelled wire bytes: each exchange's bytes
// plus Config.FrameOverhead (66: Ethernet 14, IPv4 20, TCP 32 with timestamps) per TCP
// segment of at most Config.MSS bytes (algorithms.md section 1). Port statistics are
// accounted under the strategy name "port-stats".
//
// Example:
//
//	st, _ := stats.New(stats.Config{})
//	c, _ := collector.New(collector.Config{Strategy: "mcps", Interval: time.Second},
//		collector.Deps{Requester: ctl, Tracker: ctl.Tracker(), Switches: dpidsOf(ctl), Store: st})
//	reg.MustRegister(collector.NewMetrics(c))
//	go c.Run(ctx)
package collector
