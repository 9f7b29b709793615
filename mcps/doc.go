// Package mcps computes CeMon's Maximum Coverage Polling Scheme: which switches to ask
// for all their flow entries (poll-all) and which flows to ask for one by one
// (poll-single) so that every active flow's counters are collected at the lowest
// control-channel cost (algorithms.md sections 1-3; the CeMon paper, section 3).
//
// It owns the cost models (the paper's linear byte model, out-of-band, in-band and with
// several controllers), the solvers behind one interface (greedy, mcps, exact and the
// baselines per-flow-random, per-flow-min and poll-all), the lower bound every solution
// carries, and DAPR/ARI: the Planner patches the scheme on every flow arrival and expiry
// and says when and why it should be rebuilt. It does no I/O and reads no clock: callers
// pass the time in. It does not know about OpenFlow messages, topologies or flow keys:
// switches are indices 0..n−1, flows are paths of switch indices (an Instance) or uint64
// ids (a Planner).
//
// Choices this package makes where algorithms.md is silent:
//
//   - Several controllers: every cost is hops × one-hop bytes, so a switch is always best
//     polled by a controller with the fewest hops to it (lowest index on ties); the
//     multi-controller program reduces exactly to the single-controller one with
//     h(s) = min_k h(s,k). Out-of-band, hops only pick the controller.
//   - Greedy ties between a poll-all and a poll-single go to the poll-single; ties among
//     poll-alls to the lower switch index. The greedy's output is Algorithm 3's as is
//     (it may keep a poll-single whose flow a later poll-all also returns).
//   - The clean-up pass (strategy mcps) is a local search with drop and add moves on the
//     set of poll-all switches, best move first, to a fixed point.
//   - The poll-all baseline polls every switch of the network, loaded or not, as Ryu,
//     Floodlight and ONOS do.
//   - Lower bound: the better of a maximal dual-feasible solution of the LP relaxation
//     and a Lagrangian bound refined by a budgeted number of subgradient rounds, rounded
//     up to whole bytes.
//   - Exact: branch and bound over the poll-all decision of each switch on flows grouped
//     by switch set, bounded by the Lagrangian relaxation; past Options.NodeLimit nodes
//     it returns its best scheme and the smallest bound of the unexplored subtrees.
//
// Example:
//
//	in, _ := mcps.NewInstance(mcps.Network{Switches: 3})
//	in.AddFlow([]int32{0, 1})
//	in.AddFlow([]int32{1, 2})
//	sol, _ := mcps.Solve(in, mcps.StrategyMCPS, mcps.Options{})
//	fmt.Println(sol.Cost, sol.LowerBound, sol.PollAll) // 392 392 [{1 0}]
package mcps
