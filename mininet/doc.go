// Package mininet drives cemon's end-to-end tests: real Open vSwitch switches in a
// Mininet network, a real cemon process, and checks of cemon's REST answers against
// the network's ground truth.
//
// The network side is Python (Mininet's API): topos.py holds the topologies usable
// with `mn --custom mininet/topos.py --topo NAME` (abilene, gml,FILE, linear,N,
// fattree,K), and harness.py brings one up and runs commands on request (pingall,
// iperf3 transfers, dump-flows, controller disconnects, cemon's REST answers),
// answering in JSON; with --cemon BIN it also starts and stops cemon itself:
//
//	python3 mininet/harness.py --topo abilene --cemon bin/cemon --script steps.jsonl
//
// This package holds small Go helpers around them, for this package's tests and for
// other packages' end-to-end tests:
//
//   - [StartHarness] starts harness.py and returns a [Harness] whose methods send it
//     commands ([Harness.PingAll], [Harness.Iperf], [Harness.DumpFlows], ...);
//     [Harness.Close] tears the network down.
//   - [StartCemon] starts a cemon binary on free loopback ports and waits for its
//     REST API; [Cemon.Get] reads an endpoint.
//
// Every network run takes the machine-wide lock /tmp/cemon-mininet.lock, so tests,
// `make demo` and other harness users never build two networks at once. Tests that
// need Mininet are named TestE2E... and skip unless CEMON_E2E=1, the user is root,
// and mn, ovs-vsctl and ovs-ofctl are installed.
//
// The end-to-end tests are written for a loaded two-core machine: every wait is a
// bounded poll of a condition, never a sleep that assumes speed; each phase first makes
// sure of what it needs (switches connected, links known, hosts located), so `go test
// -run` may select one subtest alone; a failed test prints the last lines of cemon's
// output and of the harness's standard error. The harness and cemon die with the test
// process (parent-death signal), and the harness tears its network down on exit,
// SIGINT, SIGTERM or SIGHUP: no bridge, interface or process of a run is left behind.
//
// Example:
//
//	c, err := mininet.StartCemon(ctx, mininet.CemonOptions{Bin: "bin/cemon"})
//	h, err := mininet.StartHarness(ctx, mininet.HarnessOptions{Topo: "abilene", Controller: c.OFAddr})
//	defer h.Close()
//	res, err := h.PingAll(2 * time.Second) // res.Received of res.Sent
//	var sw []api.Switch
//	err = c.Get("/api/v1/switches", &sw)
package mininet
