// Package poll decides what flow statistics to ask for, and turns what comes back
// into readings. It is pure: no clock (every call takes now), no socket, no
// goroutine; the collector is the executor that runs it at the edge, and a simulator
// can run the very same code.
//
// # Schedulers
//
// A Scheduler is told the connected switches, every flow arrival and expiry and
// every reading, and answers Due(now) with the requests to send: poll-alls (every
// entry of a switch) and poll-singles (one flow's entry at one switch of its path),
// each with the polling interval its flows can expect. A scheduler with heavy work
// (solving a scheme from scratch) is also an Offloader: Work snapshots the work
// under the executor's lock, the executor runs it with no lock held, and Finish swaps
// the result in, reconciling the arrivals and expiries of the meantime.
//
// Planned is the first implementation: a whole-network scheme kept by an
// mcps.Planner (DAPR patches on every arrival and expiry, ARI rebuilds), for the
// strategies mcps, per-flow-random, per-flow-min and poll-all, and off.
//
// # Ingest
//
// Ingest maps the entries of flow statistics replies to flows (through a Resolver
// the executor gives) and keeps, per flow, the reading of the switch nearest its
// ingress; Removed turns a flow's expiry with its FLOW_REMOVED counters into its
// final reading. Both give stats.Reading values for the stats.Store.
//
// Example (single-threaded; the executor sends the requests):
//
//	s, _ := poll.NewPlanned(poll.PlannedConfig{Strategy: poll.MCPS, Interval: time.Second})
//	s.SetSwitches(now, []poll.Switch{{DPID: 1}, {DPID: 2}})
//	s.OnArrive(now, poll.Flow{ID: 7, DPIDs: []uint64{1, 2}})
//	for _, r := range s.Due(now, nil) {
//		send(r) // a poll-all of switch r.DPID, or a poll-single of flow r.Flow there
//	}
package poll
