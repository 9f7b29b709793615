// Package placement decides where VMs run, from an inventory of servers and
// VMs and from the traffic cemon measures between them.
//
// It is pure: it reads no clock, file or socket. Counters arrive through
// stats.Reader: FromReader turns a Reader's traffic matrix into the
// inventory's Traffic (VM to VM) and External (VM to any other host) lists,
// a VM being the network host named by its IP or its MAC; it is the one place
// that knows the Reader's shape. The inventory itself is kept by package
// store.
//
// # Model
//
// A server has CPU cores, RAM and a NIC whose capacity holds in each
// direction. A VM uses vcpus·cpu_util cores and ram_mb of RAM; its NIC load
// is its external traffic plus its traffic with VMs on other servers: traffic
// between VMs of one server does not cross the NIC. Bandwidth on a NIC is
// shared max-min fairly among its VMs (MaxMinShare); demand above capacity is
// the shortfall. A VM's dominant resource is the largest of its CPU demand over
// the mean server's cores, its busier NIC direction over the mean NIC, and its
// disk rate over DiskRefMBs (200 MB/s), when that is at least DominantMin
// (0.05). Two co-hosted VMs interfere when they share a dominant resource, or
// when one is latency-sensitive and the other CPU-bound (section 7 of the
// design's algorithms; the Xen isolation and serverless network papers).
// Hops between servers default to 2 within a rack and 4 otherwise.
//
// # Policies
//
// Consolidate (best-fit decreasing over CPU, RAM and the NIC), Balance (lowest
// peak utilization over every dimension) and TrafficAware (communicating VMs
// grown together, then single-VM moves that cut hop-weighted traffic) respect
// every capacity, NIC included, and weigh interference pairs as a penalty.
// CPUBestFit (CloudSim's power-aware best fit) and CPUBalance (Watcher's
// workload balancing) are CPU-only baselines: they respect CPU and RAM and
// leave the NIC to chance. Every plan is scored by Evaluate on one scale.
//
// While VMs are placed one by one, traffic with a VM not yet placed is first
// reserved on the NIC as if it crossed it, so that a server that fits stays
// fitting; when that refuses a VM (one whose traffic alone exceeds a NIC, but
// not beside its peers), the policy runs again counting traffic only once
// both ends are placed, checking every NIC a placement adds load to. A VM
// that fits nowhere is a *NoFitError naming it.
//
// Example:
//
//	m := placement.FromReader(reader, inv)
//	plan, err := placement.Place(m.Inventory, placement.TrafficAware)
//	// plan.Assignment: VM id → server id; plan.Score; plan.Moves
//	rep, err := placement.Evaluate(m.Inventory, current)
package placement
