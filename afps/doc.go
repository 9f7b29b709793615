// Package afps is CeMon's Adaptive Fine-grained Polling Scheme (algorithms.md section 5;
// the CeMon paper, section 4): each watched flow gets its own polling interval τ in
// [τ_min, τ_max], picked by a sampler from the rates its readings show, and tasks
// (link utilization, traffic matrix, heavy hitters) combine the flows' latest rates.
//
// It owns the samplers (Fixed, PT, EWMAT, SWT and the PayLess baseline), the Poller (a
// due-time queue over every watched flow, no goroutine or timer per flow, that turns
// what is due at an instant into requests, batched into poll-alls with the mcps cost
// model when that is cheaper), the task operations with Eq. 20 and F1, and the Monitor
// that runs tasks (each over the flows its selector and link pick, with its own
// sampler) on top of any polling strategy, sharing polls between tasks and counting
// each task's requests and bytes. It does no
// I/O and reads no clock: every call takes the time. It does not send requests or
// decode replies; the controller's executor and the simulator (package afps/sim) do,
// and hand the readings back through OnReading and Expire.
//
// Choices this package makes where algorithms.md is silent:
//
//   - Every sampler starts at Initial (default 1 s, the paper's initial interval),
//     except PayLess, which starts at τ_min as published. Fixed polls every Initial.
//   - PT and EWMAT keep τ at a flow's first reading (Eq. 18 needs x_{i−1}). Eq. 18
//     pins an idle flow at τ_min (0/ε); when both α·x̄ and the change are below ε
//     (default 1 byte/s) the flow is idle and steady and τ doubles instead.
//   - SWT: the window holds rates; with fewer than two readings nothing is
//     significant (τ doubles); stddev is the population deviation. The reading enters
//     the window after a significant change too (the window is halved first, dropping
//     the oldest): were it kept out, a flow that moved to a new steady rate would be
//     judged against its old rate forever and stay at τ_min.
//   - PayLess's Δ is the byte change over the interval just ended, thresholds 1 MB and
//     100 kB and factors 2 (fixed defaults, not tuned per trace).
//   - A reading at the same instant as the flow's last one is ignored: a flow read by
//     any poll this tick (its own, a batched poll-all, an MCPS poll-all) is not read,
//     or polled, again in it. A counter that goes backwards (entry re-installed)
//     counts from zero.
//   - Batching: the due flows of one instant are covered greedily by poll-alls in order
//     of saving (their flows' poll-single cost minus the poll-all's), re-keyed lazily
//     as flows get covered, while the saving is positive; the rest are poll-singles at
//     the switch with the fewest hops. A poll-all's cost counts every entry of its
//     switch (the caller says how many; at least the watched flows there) times h(s)
//     in-band, exactly as mcps counts it.
//
// Example:
//
//	p, _ := afps.NewPoller(afps.PollerConfig{Sampler: afps.Config{Kind: afps.SWT}})
//	_ = p.Watch(42, []int32{0}, start)            // flow 42 on switch 0
//	plan := p.Due(start.Add(time.Second), nil)    // one poll-single of flow 42
//	p.OnReading(42, 125000, start.Add(time.Second))
//	rate, _ := p.Rate(42)                         // 125000 bytes/s; next poll 2 s later
package afps
