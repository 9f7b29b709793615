// Package migration predicts what a pre-copy live migration of a VM costs and
// plans migrations that relieve hotspots without breaking service levels.
//
// The cost model is section 6 of the design's algorithms page (Liu et al.):
//
//   - the base model (Predict with Kind Base): λ = D/R, V_i = V_mem·λ^i,
//     n = ⌈log_λ(V_thd/V_mem)⌉, V_mig = V_mem·(1−λ^{n+1})/(1−λ),
//     T_mig = V_mig/R, T_down = T_n + T_resume, in closed form;
//   - the writable-working-set model (Kind WWS, Algorithm 1): each round
//     T_i = V_i/R, γ = a·T_i + b·D + c clamped to [0, 1] (the paper's fit goes
//     negative for rounds longer than about 7.7 s), W_{i+1} = γ·T_i·D,
//     V_{i+1} = T_i·D − W_{i+1}; the last round sends T_i·D.
//
// Both stop pre-copy by a Profile: Xen (50 pages of 4096 bytes left, at most
// 30 pre-copy rounds, or once the traffic sent exceeds 3·V_mem) or QEMU (what
// remains can be sent within the downtime limit, 300 ms, at the current rate;
// no round limit). Both also stop when the next round would send more than
// this one (Algorithm 1's V_{i+1} > V_i; in the base model that is λ > 1).
// With none of these met the model stops at ModelRoundLimit rounds. A
// migration whose dirty rate is not below its transfer rate is reported with
// Converged false; its figures are what the stop rule gives.
//
// Choices where the paper is silent: Result.Rounds is the paper's n, the index
// of the stop-and-copy round, and is at least 1 (round 0 always copies the
// whole memory while the VM runs); the traffic cap is checked after each
// pre-copy round on what has been sent so far. Memory is in MB (10^6 bytes),
// rates in MB/s, times in seconds, energy in joules.
//
// More dirty rate or less transfer rate never lowers the predicted time or
// traffic while pre-copy ends at the threshold or the round limit. The traffic
// cap and the no-progress rule end pre-copy early, and a migration that gives
// up a round earlier sends less: across the point where one of them starts to
// apply the figures can drop (as they do in the hypervisors).
//
// # QEMU's pre-copy (Kind Precopy): where cemon extends the paper's model
//
// Real QEMU 10 migrations (docs/migration/qemu_validation.md) do not follow
// section 6 in four ways, and the Precopy model adds what they need:
//
//   - QEMU tests for convergence continuously, not once per round: once what
//     is left of the current pass is below V_thd = limit·R' it syncs the dirty
//     bitmap, and completes if that leftover ℓ plus what was dirtied meanwhile
//     fits: V_{i+1} = ℓ + D'·T_i with ℓ = θ·V_thd, T_i = (V_i − ℓ)/R'. Every
//     page dirtied during pre-copy is sent once more, so
//     V_mig = V_mem + D'·Σ T_i. QEMU never skips hot pages (γ = 0) and has no
//     no-progress rule: with D' ≥ R' it never converges.
//   - The stop-and-copy is the whole of what is left, ℓ included, and it
//     leaves at the rate pre-copy had: T_down = T_stop + σ·V_n/R', with σ = 1
//     and a small T_stop (the vCPU's stop, the last bitmap sync, the device
//     state). With the link limited, QEMU's downtime was the bytes it sent
//     while the guest was stopped over R' to within a few tens of
//     milliseconds: the socket is full when the guest stops, and QEMU's
//     downtime ends when its last byte is in it. A stop-and-copy of about
//     θ·V_thd makes the pause about θ times the downtime limit, whatever the
//     rate; the paper's T_resume of 20 ms alone is far below what QEMU
//     pauses.
//   - The rate pre-copy reaches is R' = η·R: the protocol's overhead and, on a
//     busy machine, a migration thread that cannot keep up with R.
//   - Pages become dirty during the move at D' = κ·D, D being measured before
//     the move: the guest kernel writes too, and a TCG guest runs slower (or
//     faster) while it migrates than before.
//
// A round never dirties more than the whole memory (min(D'·T_i, V_mem)).
// V_mem is the guest's non-zero memory: QEMU sends a zero page as a few bytes.
// η, κ, T_stop and σ are learned from records (FitCalibration: medians of
// per-record ratios for η and κ, least squares for T_stop and σ where the
// stop-and-copies differ enough to show a slope), each from the figures that
// determine it; θ is a constant measured once. With η = κ = σ = 1, θ → 0 and T_stop = T_resume the
// model is section 6's base model with QEMU's stop rule, except that T_mig
// includes the pause (QEMU's total time does).
//
// Also here: the transfer rate R = min(D + δ, R_max, free) with the free
// bandwidth measured on the path (stats.FreeBps); the energy E = α·V_mig + β;
// the refined dirty rate (DirtyHistory); least-squares refits of γ and the
// energy coefficients from recorded migrations (FitGamma, FitEnergy); the
// normalised decision cost C(VM) (DecisionCosts); the migration Record.
//
// # Planner
//
// MakePlan finds hotspots on each server's NIC load (measured: the last
// load_history sample or nic_load_bps, else the inventory's traffic) and CPU
// load (the inventory's), by a static threshold or CloudSim's adaptive ones,
// 1 − 2.5·MAD and 1 − 1.5·IQR over the load history (static below MinHistory
// samples). For each hotspot, worst first, it moves VMs until the server is
// no longer hot: each time the one of lowest C(VM) among those whose move
// alone relieves it (the lowest of all when none does), to the destination a
// placement policy prefers among the servers that stay within their own
// thresholds and RAM. R is min(D + δ, R_max, free), free being what the two
// NICs and, with a Network, the path between their switches have left.
// Section 7 (Voorsluys et al.): migrations of one service are kept at least
// the SLA window (5 min) apart, end to start; a migration starts only where
// its service's expected load is at most its safe level; at most MaxPerLink
// migrations share a link at once, and those that do share its free
// bandwidth. A move that cannot be scheduled is reported as deferred, with
// the reason. Plans are advisory: loads after a deferred move are not
// recomputed.
//
// The package is pure: no clock, no I/O.
//
// Example:
//
//	r, err := migration.Predict(migration.Input{MemMB: 800, DirtyMBs: 40, RateMBs: 100},
//		migration.Config{Kind: migration.WWS, Profile: migration.Xen()})
package migration
