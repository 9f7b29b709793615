package mininet

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestE2ESwitchConnect: Open vSwitch switches that listen for controllers on loopback
// (ptcp:PORT:127.0.0.1) and whose own controller never answers are served by cemon
// through the connections it dials (--switch-connect) alone: links are discovered
// (LLDP PACKET_INs), every host pair pings, and entries that idle out come back as
// FLOW_REMOVED, so Open vSwitch sends its asynchronous messages on those "service"
// connections (cemon sets a nonzero miss_send_len in SET_CONFIG).
func TestE2ESwitchConnect(t *testing.T) {
	skipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	// The switches' own controller: a port nothing listens on.
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	hlog := logFile(t, "harness.stderr")
	h, err := StartHarness(ctx, HarnessOptions{Topo: "linear,3", Controller: fmt.Sprintf("127.0.0.1:%d", port), Stderr: hlog, Listen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("harness teardown: %v", err)
		}
	})
	info := h.Info
	targets := info.SwitchTargets()
	if len(targets) != len(info.Switches) {
		t.Fatalf("switch listeners: %q for %d switches", targets, len(info.Switches))
	}
	c, err := StartCemon(ctx, CemonOptions{Bin: cemonBin(t),
		Args:   []string{"--idle-timeout", "2s", "--switch-connect", strings.Join(targets, ",")},
		Stdout: logFile(t, "cemon.stdout"), Stderr: logFile(t, "cemon.stderr")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("cemon did not shut down cleanly: %v", err)
		}
	})
	e := env{c: c, h: h, hlog: hlog}
	start := time.Now()
	// (Open vSwitch's is_connected says nothing of connections to a ptcp target, so
	// the harness's wait_connected cannot tell: cemon's view is checked.)
	if why := poll(30*time.Second, func() string { return checkTopology(c, info, "", false) }); why != "" {
		t.Fatal(why)
	}
	t.Logf("every switch connected and every link discovered %.0f ms after cemon answered", time.Since(start).Seconds()*1000)
	out, err := h.HostCmd("h1", "ovs-vsctl --timeout=10 --columns=target,is_connected,role list Controller", 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Open vSwitch's controllers:\n%s", out)
	var dialed int
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "target") && strings.Contains(l, "ptcp:") {
			dialed++
		}
	}
	if dialed != len(info.Switches) {
		t.Errorf("%d ptcp targets in Open vSwitch's list, want %d", dialed, len(info.Switches))
	}

	res, err := h.PingAll(pingTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pingall through the dialed connections: %d of %d", res.Received, res.Sent)
	if res.Sent == 0 || res.Received != res.Sent {
		t.Errorf("pingall: %d of %d answered", res.Received, res.Sent)
	}
	e.locateHosts(t, info)

	// The entries idle out (2 s): each comes back as FLOW_REMOVED.
	var removed float64
	if why := poll(15*time.Second, func() string {
		removed = 0
		for _, l := range strings.Split(metricLines(t, c, "cemon_openflow_messages_total"), "; ") {
			if strings.Contains(l, `direction="received"`) && strings.Contains(l, `type="OFPT_FLOW_REMOVED"`) {
				if i := strings.LastIndexByte(l, ' '); i > 0 {
					v, _ := strconv.ParseFloat(l[i+1:], 64)
					removed += v
				}
			}
		}
		if removed == 0 {
			return "no FLOW_REMOVED received"
		}
		return ""
	}); why != "" {
		t.Error(why)
	}
	t.Logf("FLOW_REMOVED received on the dialed connections: %.0f; %s", removed, metricLines(t, c, "cemon_switch_dials_total"))
}
