package mininet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/api"
)

// TestE2EMigrationPlan: on a line of three switches, each host is a VM on a
// server of its own switch port (servers' NICs 1 Gbit/s, links 100 Mbit/s).
// An iperf3 transfer of 50 Mbit/s from h1 to h3 makes server srv1's NIC a
// hotspot under a 3 % threshold, which cemon sees in its own counters; the
// migration plan moves h1's VM off srv1 (the idle VM beside it would not
// relieve it) with R no higher than the free bandwidth cemon measures on the
// path, which the transfer halves.
func TestE2EMigrationPlan(t *testing.T) {
	skipUnlessE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	c, err := StartCemon(ctx, CemonOptions{
		Bin: cemonBin(t),
		Args: []string{"--idle-timeout", "10s", "--poll-interval", "1s", "--link-capacity", "100Mbit/s",
			"--data-dir", t.TempDir()},
		Stdout: logFile(t, "cemon.stdout"),
		Stderr: logFile(t, "cemon.stderr"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("cemon did not shut down cleanly: %v", err)
		}
	})
	h, err := StartHarness(ctx, HarnessOptions{Topo: "linear,3", Controller: c.OFAddr, Stderr: logFile(t, "harness.stderr")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("harness teardown: %v", err)
		}
	})
	if err := h.WaitConnected(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if why := poll(20*time.Second, func() string {
		var ls []api.Link
		if err := c.Get("/api/v1/links", &ls); err != nil {
			return err.Error()
		}
		if len(ls) != len(h.Info.Links) {
			return fmt.Sprintf("%d links discovered, want %d", len(ls), len(h.Info.Links))
		}
		return ""
	}); why != "" {
		t.Fatal(why)
	}
	if _, err := h.PingAll(2 * time.Second); err != nil {
		t.Fatal(err)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path string, body any) (int, []byte) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, method, "http://"+c.APIAddr+path, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, out
	}
	host := map[string]HostInfo{}
	for i, hi := range h.Info.Hosts {
		host[hi.Name] = hi
		srv := fmt.Sprintf("srv%d", i+1)
		if code, out := do("PUT", "/api/v1/servers/"+srv, map[string]any{"dpid": hi.DPID, "port": hi.Port,
			"cpu_cores": 8, "ram_mb": 32000, "nic_bps": 1e9}); code != 200 {
			t.Fatalf("PUT server %s: %d %s", srv, code, out)
		}
		if code, out := do("PUT", "/api/v1/vms/vm-"+hi.Name, map[string]any{"mac": hi.MAC, "ip": hi.IP, "server": srv,
			"vcpus": 1, "ram_mb": 512, "cpu_util": 0.1, "dirty_rate_mb_s": 2, "service": "svc-" + hi.Name}); code != 200 {
			t.Fatalf("PUT vm %s: %d %s", hi.Name, code, out)
		}
	}
	h1, h3 := host["h1"], host["h3"]
	if h1.Name == "" || h3.Name == "" {
		t.Fatalf("hosts %v: want h1 and h3", h.Info.Hosts)
	}
	// An idle VM beside h1's: moving it would not relieve srv1.
	if code, out := do("PUT", "/api/v1/vms/idle", map[string]any{"ip": "10.0.0.250", "server": "srv1",
		"vcpus": 1, "ram_mb": 256, "cpu_util": 0.1, "dirty_rate_mb_s": 1}); code != 200 {
		t.Fatalf("PUT vm idle: %d %s", code, out)
	}

	id, err := h.IperfStart([]Transfer{{Src: "h1", Dst: "h3", UDP: true, Duration: 30, Bandwidth: "50M"}})
	if err != nil {
		t.Fatal(err)
	}
	type move struct {
		VM      string  `json:"vm"`
		From    string  `json:"from"`
		To      string  `json:"to"`
		RateMBs float64 `json:"rate_mb_s"`
		FreeMBs float64 `json:"free_mb_s"`
		Rounds  int     `json:"rounds"`
		Links   []string
	}
	var plan struct {
		Hotspots []struct {
			Server, Resource string
			Load, Threshold  float64
		}
		Moves []move
	}
	req := map[string]any{"options": map[string]any{"policy": "balance"}, "servers": map[string]any{"srv1": map[string]any{"nic_threshold": 0.03}}}
	if why := poll(25*time.Second, func() string {
		code, out := do("POST", "/api/v1/migration/plan", req)
		if code != 200 {
			return fmt.Sprintf("plan: %d %s", code, out)
		}
		plan.Hotspots, plan.Moves = nil, nil
		if err := json.Unmarshal(out, &plan); err != nil {
			return err.Error()
		}
		if len(plan.Hotspots) == 0 || len(plan.Moves) == 0 {
			return fmt.Sprintf("no hotspot or move yet: %s", out)
		}
		return ""
	}); why != "" {
		t.Fatal(why)
	}
	// What cemon measures on the links at about the same time.
	var links []api.LinkStats
	if err := c.Get("/api/v1/stats/links", &links); err != nil {
		t.Fatal(err)
	}
	if _, err := h.IperfWait(id, 40*time.Second); err != nil {
		t.Logf("iperf3: %v", err)
	}
	t.Logf("plan: %+v", plan)
	hs := plan.Hotspots[0]
	if hs.Server != "srv1" || hs.Resource != "nic" || hs.Load < 0.03 || hs.Load > 0.07 {
		t.Errorf("hotspot %+v: want srv1's NIC at about 0.05 (50 Mbit/s of 1 Gbit/s)", hs)
	}
	m := plan.Moves[0]
	if m.VM != "vm-h1" || m.From != "srv1" || m.To == "srv1" {
		t.Errorf("move %+v: want vm-h1 off srv1", m)
	}
	if m.RateMBs <= 0 || m.RateMBs > m.FreeMBs+1e-9 {
		t.Errorf("R %.3f MB/s above the free bandwidth %.3f MB/s", m.RateMBs, m.FreeMBs)
	}
	// The path from s1 carries the 50 Mbit/s transfer on 100 Mbit/s links:
	// about 6.25 MB/s free. The link loads cemon reported agree.
	if m.FreeMBs < 3 || m.FreeMBs > 9.5 {
		t.Errorf("free bandwidth %.2f MB/s: want about 6.25 (100 Mbit/s links, 50 Mbit/s in use)", m.FreeMBs)
	}
	maxUsed := 0.0
	for _, l := range links {
		if normDPID(l.SrcDPID) == normDPID(h1.DPID) {
			maxUsed = max(maxUsed, l.RateBps)
		}
	}
	if maxUsed < 2e7 {
		t.Errorf("cemon measured at most %.0f bit/s leaving s1: want about 5e7", maxUsed)
	}
	if strings.Join(m.Links, ",") == "" {
		t.Errorf("move without links")
	}
}

func normDPID(s string) string {
	return strings.TrimLeft(strings.ToLower(strings.ReplaceAll(s, ":", "")), "0")
}
