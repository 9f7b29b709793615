// Package stats holds cemon's flow statistics: per-flow byte and packet
// counters and their rates, the load of every directed link, the host-to-host
// traffic matrix and per-host sent and received traffic, each with a bounded
// history.
//
// It owns state and arithmetic only. It does no I/O and reads no clock: every
// input carries the time at which it was observed, and the collector (package
// collector) is what turns stats replies, FLOW_REMOVED messages and port stats
// into calls on a Store. Prometheus metrics and REST views are built at the
// edge from the Reader interface; this package imports neither.
//
// # Readings and rates
//
// A flow is registered with AddFlow (its endpoint hosts and the switches of
// its path, each with the entry's in and out port). A Reading is one counter
// sample of one of the flow's entries. The rate comes from two consecutive
// readings:
//
//   - same switch, counters not decreasing: (Δbytes·8)/Δt, with Δt taken from
//     the entry's own duration (duration_sec/nsec) when both readings carry
//     one, else from the observation times;
//   - same switch, bytes or duration decreasing: the entry was re-installed
//     (a counter reset). The new counter starts a new baseline, its bytes are
//     all new traffic, and the rate is bytes·8/duration when the duration is
//     known;
//   - another switch of the path whose entry is younger, by more than
//     ReinstallSlack, than the last entry read would be by now (both
//     durations known; not for FLOW_REMOVED, whose duration stops when its
//     entry went): that entry was re-installed, and its counter starts a new
//     baseline as a reset does;
//   - another switch of the path (the polling scheme moved the flow): the
//     difference is taken as is when it is not negative; when it is, the new
//     counter becomes the baseline without adding bytes and the previous rate
//     stands, since the two entries count the same packets from slightly
//     different instants.
//
// A flow's Bytes and Packets are cumulative over its lifetime, across resets;
// with no reset they equal the highest counter read so far. A reading adds
// only what it counts beyond that, so polls that move back and forth between
// switches which count the same packets a little apart never count any of
// them twice (in the flow, the links, the matrix or the hosts). FLOW_REMOVED gives the
// final counters through Remove, so a flow that starts and ends between two
// polls is still counted.
//
// Observe returns the FlowSample the reading made (the flow's counters,
// its new rate and the interval it was taken over, until when it counts), so
// that a consumer that adapts to a flow's traffic, an adaptive sampler say,
// needs no second look at the store.
//
// # Time and staleness
//
// The store reads no clock. Its clock is the latest time any input carried:
// a reading, a port reading, a flow's start or end, or Tick. Every aggregate
// is valid at that instant, and says so (LinkLoad.At, MatrixEntry.At,
// HostTraffic.At, Snapshot.At).
//
// Flows are read at different times and at different intervals: a flow's
// rate is the mean over its last reading's interval, and it counts in its
// links, matrix cell and hosts until Config.StaleAfter (default 3) of its own
// polling intervals have passed since that reading (FlowStats.ValidUntil);
// then the flow is Stale and its rate stops counting instead of standing at
// its last value, until a new reading brings it back. A flow's interval is
// the one its scheduler gave (Reading.Interval or SetInterval), else the
// spacing of its last two readings, else Config.Interval. Expiry is exact:
// the store keeps the flows in a queue by ValidUntil and takes out every rate
// whose limit the clock has reached before it applies the next input, so no
// figure ever holds a rate past its limit.
//
// An aggregate's rate is thus the sum of the current rates (CurrentBps) of
// its flows; its error is at most the sum over those flows of each one's
// rate change over its own interval up to now, which the slowest-read flow
// dominates.
//
// Tick(now) is the clock tick the owner calls at a steady pace: it moves the
// clock, appends one sample per link, matrix cell and host to their
// histories and drops their samples older than Config.Window (a flow's
// readings are windowed when read; a link's or host's history holds at most
// Config.History samples, a flow's or matrix cell's at most
// Config.FlowHistory), and notifies subscribers (Subscribe) when
// any figure changed since the last notification; notifications coalesce
// and never block the store. Snapshot returns flows, links, matrix, hosts and
// port rates of one instant, read under one lock.
//
// # Links, matrix and hosts
//
// The directed link between consecutive hops i and i+1 of a path goes from
// (dpid_i, out_port_i) to (dpid_{i+1}, in_port_{i+1}). A link's rate is the
// sum of the current rates of the active flows that cross it; its
// utilization divides that by its capacity: Config.LinkCapacityBps when set
// (it wins: Mininet's ports advertise 10 Gbit/s whatever the link's
// shaping), else the smaller advertised speed of its two ports
// (SetPortSpeeds, from OpenFlow 1.0 port features), else
// DefaultLinkCapacityBps. Port statistics
// (ObservePort) give an independent rate for the same link, from the
// transmit counter of its source port, reported beside it as a cross-check.
// ForgetPorts drops the ports nobody measures any more (the collector calls
// it for switches gone and ports no longer listed), so that no link keeps a
// stale cross-check.
// The matrix and per-host figures sum the same flow rates by endpoint, and
// keep cumulative byte totals that survive flow expiry and pruning. Hosts
// are HostIDs: the MAC address a flow's match names, with the IP address for
// IP traffic.
//
// A flow's history grows with each of its readings; links, matrix cells and
// hosts gain one sample per Tick. There is a flow history and, with hosts
// talking in many pairs, nearly a matrix cell per active flow, so those keep
// fewer samples by default (DefaultFlowHistory, 8: the last 8 s of a flow
// read every second) than links and hosts (DefaultHistory, 64); a sample
// takes 24 bytes.
//
// A Store is safe for concurrent use.
//
// Example (ExampleReader runs it):
//
//	st, _ := stats.New(stats.Config{LinkCapacityBps: 1e9})
//	_ = st.AddFlow(stats.FlowInfo{ID: 1, Src: h1, Dst: h2, Path: path, Start: t0})
//	smp, _ := st.Observe(stats.Reading{Flow: 1, DPID: 1, Bytes: n, Packets: p, Duration: age,
//		At: now, Source: stats.SourcePollAll, Interval: time.Second})
//	sampler.OnReading(smp) // whoever adapts to the flow's rate
//	st.Tick(now)           // once a second, from the owner's clock
//	var r stats.Reader = st // what placement and migration hold
//	snap := r.Snapshot()    // flows, links, matrix, hosts, ports at snap.At
//	free := stats.FreeBps(r, stats.LinksOf(path), 1e9)
package stats
