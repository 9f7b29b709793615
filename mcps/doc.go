// Package mcps computes CeMon's Maximum Coverage Polling Scheme: which switches to ask
// for all their flow entries (poll-all) and which flows to ask for one by one
// (poll-single) so that every active flow's counters are collected at the lowest
// control-channel cost (algorithms.md sections 1-3; the CeMon paper, section 3).
//
// It owns the cost models (the paper's linear byte model and the calibrated WireCost;
// out-of-band, in-band and with several controllers; the solvers only need a poll-all's
// cost to grow with its entries), the solvers behind one interface (greedy, mcps, exact and the
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
//   - The clean-up pass (strategy mcps) is a local search on the set of poll-all switches
//     with drop, add and swap moves (best move first, to a fixed point), followed by an
//     iterated local search (toggle one to three random switches, search again, keep the
//     result if cheaper; a fixed seed, so runs repeat) within a work budget of about
//     four million path entries plus half the instance. When flows outnumber the
//     possible switch sets it works on flows grouped by switch set, which leaves every
//     cost unchanged. On the largest instances the budget is spent by the first pass,
//     so a million flows on a thousand switches are solved in about a quarter second.
//   - ARI's flow variance rate is r = |F0∩Ft| / |F0| by default, the paper's wording ("how
//     many flows are still in the original flow sets"); it moves only when flows the
//     scheme was built for expire. PlannerConfig.Variance = VarianceJaccard selects
//     |F0∩Ft| / |F0∪Ft|, which also falls when new flows arrive. docs/mcps/report.md
//     compares both on four churn patterns.
//   - Read point (PlannerConfig.ReadPoint): a flow seen by several poll-all switches is
//     reported (PolledAt) at the one nearest its ingress by default, nearest its egress
//     with ReadEgress, and a poll-single goes to the cheapest switch nearest that end.
//     The ingress counts offered load, the egress delivered traffic; they differ by
//     what is lost on the way.
//   - The poll-all baseline polls every switch of the network, loaded or not, as Ryu,
//     Floodlight and ONOS do.
//   - Lower bound: the better of a maximal dual-feasible solution of the LP relaxation
//     and a Lagrangian bound refined by a budgeted number of subgradient rounds, rounded
//     up to whole bytes. It can never exceed the LP optimum, and on large random graphs
//     the LP relaxation itself is weak (spreading x_s = 1/|p(f)| over every path covers
//     each flow exactly once at about l_e bytes), so the certified gap there is an
//     honest but loose upper bound. On networks of up to 40 switches mcps also spends a
//     small branch-and-bound budget on its certificate (its scheme is unchanged), which
//     usually proves it optimal: Abilene with 2,000 flows in a few milliseconds.
//   - Exact: branch and bound over the poll-all decision of each switch on flows grouped
//     by switch set (at most S·(S−1) groups under shortest-path routing, however many
//     flows), bounded by the Lagrangian relaxation warm-started from the parent node,
//     with switches that can never pay off fixed out first; its first incumbent is the
//     mcps scheme. Past its budget (Options.NodeLimit) it returns its best scheme and the
//     smallest bound of the unexplored subtrees. CBC agrees with it on every instance of
//     the referee sweep (cbc_test.go).
//
// Example:
//
//	in, _ := mcps.NewInstance(mcps.Network{Switches: 3})
//	in.AddFlow([]int32{0, 1})
//	in.AddFlow([]int32{1, 2})
//	sol, _ := mcps.Solve(in, mcps.StrategyMCPS, mcps.Options{})
//	fmt.Println(sol.Cost, sol.LowerBound, sol.PollAll) // 392 392 [{1 0}]
package mcps
