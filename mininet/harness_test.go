package mininet

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// python runs code with the system interpreter in this directory and returns its
// standard output; it skips when Mininet's Python modules are absent.
func python(t *testing.T, code string, args ...string) []byte {
	t.Helper()
	if err := exec.Command(DefaultPython, "-c", "import mininet.topo").Run(); err != nil {
		t.Skipf("%s cannot import mininet.topo (%v): Mininet is not installed", DefaultPython, err)
	}
	cmd := exec.Command(DefaultPython, append([]string{"-c", code}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("python: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	return out
}

func TestTopologies(t *testing.T) {
	out := python(t, `
import json, topos
res = {}
for spec in ['abilene', 'linear', 'linear,5', 'fattree', 'fattree,6', 'gml,../topology/testdata/Nsfcnet.gml', 'servers', 'servers,4,3']:
    name, _, rest = spec.partition(',')
    t = topos.topos[name](*[a for a in rest.split(',') if a])
    sw = set(t.switches())
    res[spec] = {
        'switches': len(sw), 'hosts': len(t.hosts()),
        'links': sum(1 for a, b in t.links() if a in sw and b in sw),
        'host_ports': sorted(set(t.port(h, s)[1] for h in t.hosts() for s in t.g[h])),
        'dpids_unique': len(set(t.nodeInfo(s)['dpid'] for s in sw)) == len(sw),
        'user_of10_secure': all(t.nodeInfo(s).get('datapath') == 'user' and
                                t.nodeInfo(s).get('protocols') == 'OpenFlow10' and
                                t.nodeInfo(s).get('failMode') == 'secure' for s in sw),
        'h1': {k: t.nodeInfo('h1')[k] for k in ('ip', 'mac')},
        'host_class': t.nodeInfo('h1')['cls'].__name__,
    }
print(json.dumps(res))
`)
	type topo struct {
		Switches, Hosts, Links int
		HostPorts              []int `json:"host_ports"`
		DPIDsUnique            bool  `json:"dpids_unique"`
		UserOF10Secure         bool  `json:"user_of10_secure"`
		H1                     map[string]string
		HostClass              string `json:"host_class"`
	}
	var got map[string]topo
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	tests := []struct {
		spec                   string
		switches, links, hosts int
		hostPorts              []int
	}{
		{"abilene", 11, 14, 11, []int{1}},
		{"linear", 4, 3, 4, []int{1}},
		{"linear,5", 5, 4, 5, []int{1}},
		{"fattree", 20, 32, 16, []int{1, 2}},
		{"fattree,6", 45, 108, 54, []int{1, 2, 3}},
		{"gml,../topology/testdata/Nsfcnet.gml", 10, 10, 10, []int{1}},
		{"servers", 4, 3, 6, []int{1, 2}},
		{"servers,4,3", 5, 4, 12, []int{1, 2, 3}},
	}
	for _, tt := range tests {
		g, ok := got[tt.spec]
		if !ok {
			t.Errorf("%s: not built", tt.spec)
			continue
		}
		if g.Switches != tt.switches || g.Links != tt.links || g.Hosts != tt.hosts {
			t.Errorf("%s: %d switches, %d links, %d hosts; want %d, %d, %d", tt.spec, g.Switches, g.Links, g.Hosts,
				tt.switches, tt.links, tt.hosts)
		}
		if !slices.Equal(g.HostPorts, tt.hostPorts) {
			t.Errorf("%s: hosts on switch ports %v, want %v", tt.spec, g.HostPorts, tt.hostPorts)
		}
		if !g.DPIDsUnique || !g.UserOF10Secure {
			t.Errorf("%s: unique dpids %v, userspace OpenFlow 1.0 fail-secure %v", tt.spec, g.DPIDsUnique, g.UserOF10Secure)
		}
		if g.HostClass != "CemonHost" {
			t.Errorf("%s: hosts are %s, want CemonHost", tt.spec, g.HostClass)
		}
		if g.H1["ip"] != "10.0.0.1/8" || g.H1["mac"] != "00:00:00:00:00:01" {
			t.Errorf("%s: h1 %v, want 10.0.0.1/8 and 00:00:00:00:00:01", tt.spec, g.H1)
		}
	}
}

func TestParseGML(t *testing.T) {
	out := python(t, `
import json, topos
cases = {
    'ok': 'graph [ node [ id 3 label "C" ] node [ id 1 label "A [x]" ] edge [ source 1 target 3 ] edge [ source 3 target 1 ] edge [ source 1 target 1 ] ]',
    'unbalanced': 'graph [ node [ id 1 ]',
    'extra close': 'graph [ ] ]',
    'node without id': 'graph [ node [ label "x" ] ]',
    'bad id': 'graph [ node [ id x ] ]',
    'duplicate id': 'graph [ node [ id 1 ] node [ id 1 ] ]',
    'unknown node': 'graph [ node [ id 1 ] edge [ source 1 target 2 ] ]',
    'no graph': 'node [ id 1 ]',
    'no nodes': 'graph [ ]',
    'key without value': 'graph [ node [ id ] ]',
}
res = {}
for name, text in sorted(cases.items()):
    try:
        res[name] = {'ok': list(topos.parse_gml(text))}
    except topos.GMLError as e:
        res[name] = {'err': str(e)}
print(json.dumps(res))
`)
	var got map[string]struct {
		OK  json.RawMessage `json:"ok"`
		Err string          `json:"err"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if g := got["ok"]; string(g.OK) != "[[1, 3], [[1, 3]]]" && string(g.OK) != "[[1,3],[[1,3]]]" {
		t.Errorf("ok: got %s (error %q), want nodes [1 3] and one edge 1-3", g.OK, g.Err)
	}
	for _, name := range []string{"unbalanced", "extra close", "node without id", "bad id", "duplicate id",
		"unknown node", "no graph", "no nodes", "key without value"} {
		if got[name].Err == "" {
			t.Errorf("%s: parsed without error: %s", name, got[name].OK)
		}
	}
}

func TestParseDumpFlows(t *testing.T) {
	// Captured from ovs-ofctl -O OpenFlow10 -F openflow10 --no-names dump-flows (OVS 3.1).
	const dump = `OFPST_FLOW reply (xid=0x2):
 cookie=0x123, duration=0.007s, table=0, n_packets=7, n_bytes=1022, idle_timeout=3, priority=65535,tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:04,nw_src=10.0.0.1,nw_dst=10.0.0.4,nw_tos=0,tp_src=40001,tp_dst=5201 actions=output:2
 cookie=0xffffffffffffffff, duration=12.5s, table=0, n_packets=0, n_bytes=0, priority=100,arp actions=CONTROLLER:65535
`
	out := python(t, `
import json, sys, harness
print(json.dumps(harness.parse_dump_flows(sys.argv[1]) if len(sys.argv) > 1 else harness.parse_dump_flows(`+"'''"+dump+"'''"+`)))
`)
	var got []FlowDump
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2: %s", len(got), out)
	}
	e := got[0]
	if e.Cookie != 0x123 || e.NPackets != 7 || e.NBytes != 1022 || e.IdleTimeout != 3 || e.Priority != 65535 ||
		e.InPort == nil || *e.InPort != 1 || len(e.Outputs) != 1 || e.Outputs[0] != 2 ||
		e.Match["proto"] != "tcp" || e.Match["nw_src"] != "10.0.0.1" || e.Match["tp_dst"] != "5201" {
		t.Errorf("first entry parsed as %+v", e)
	}
	e = got[1]
	if e.Cookie != 0xffffffffffffffff || e.Duration != 12.5 || e.InPort != nil || len(e.Outputs) != 0 ||
		e.Match["proto"] != "arp" || e.Actions != "CONTROLLER:65535" {
		t.Errorf("second entry parsed as %+v", e)
	}
}

func fakeHarness(t *testing.T, topo string) (*Harness, error) {
	t.Helper()
	if _, err := os.Stat(DefaultPython); err != nil {
		t.Skipf("no %s", DefaultPython)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return StartHarness(ctx, HarnessOptions{Topo: topo, Controller: "127.0.0.1:1",
		Script: filepath.Join("testdata", "fake_harness.py"), StartTimeout: 10 * time.Second})
}

func TestHarnessClient(t *testing.T) {
	h, err := fakeHarness(t, "ok")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Info.Hosts) != 1 || h.Info.Hosts[0].Port != 1 || h.Info.Switches[0].Ports[0].Name != "s1-eth1" {
		t.Errorf("info %+v", h.Info)
	}
	res, err := h.PingAll(time.Second)
	if err != nil || res.Sent != 2 || res.Received != 1 || len(res.Lost) != 1 || res.Lost[0][1] != "h2" {
		t.Errorf("PingAll = %+v, %v", res, err)
	}
	dumps, err := h.DumpFlows("s1")
	if err != nil || len(dumps["s1"]) != 1 || dumps["s1"][0].Cookie != 1<<64-1 || *dumps["s1"][0].InPort != 1 {
		t.Errorf("DumpFlows = %+v, %v", dumps, err)
	}
	out, err := h.HostCmd("h1", "echo hi", 5*time.Second)
	if err != nil || out != "ran: echo hi" {
		t.Errorf("HostCmd = %q, %v", out, err)
	}
	if err := h.DelController("s1"); !errors.Is(err, ErrHarness) || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("an error answer: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := h.PingAll(time.Second); !errors.Is(err, ErrHarness) {
		t.Errorf("PingAll after Close: %v", err)
	}
}

func TestHarnessClientFailures(t *testing.T) {
	if _, err := fakeHarness(t, "fail"); err == nil || !strings.Contains(err.Error(), "bridge s1 already exists") {
		t.Errorf("a harness that cannot start: %v", err)
	}
	h, err := fakeHarness(t, "die")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.PingAll(time.Second); !errors.Is(err, ErrHarness) || !strings.Contains(err.Error(), "exited") {
		t.Errorf("a harness that dies: %v", err)
	}
	if err := h.Close(); err == nil {
		t.Error("Close hid the harness's exit status 3")
	}
	if _, err := StartHarness(context.Background(), HarnessOptions{}); !errors.Is(err, ErrHarness) {
		t.Errorf("no options: %v", err)
	}
}

func TestStartCemonErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := StartCemon(ctx, CemonOptions{}); !errors.Is(err, ErrCemon) {
		t.Errorf("no binary: %v", err)
	}
	if _, err := StartCemon(ctx, CemonOptions{Bin: "/nonexistent/cemon"}); !errors.Is(err, ErrCemon) {
		t.Errorf("missing binary: %v", err)
	}
	// A program that exits at once never answers /healthz.
	if _, err := StartCemon(ctx, CemonOptions{Bin: "/bin/false", ReadyTimeout: 5 * time.Second}); !errors.Is(err, ErrCemon) ||
		!strings.Contains(err.Error(), "exited") {
		t.Errorf("exiting binary: %v", err)
	}
}

// TestMnCustomFile loads topos.py the way `mn --custom` does (exec of the compiled
// file, no __file__) and builds Abilene from it, without running mn.
func TestMnCustomFile(t *testing.T) {
	out := python(t, `
import json
customs = {}
exec(compile(open('topos.py').read(), 'topos.py', 'exec'), customs, customs)
t = customs['topos']['abilene']()
print(json.dumps({'topos': sorted(customs['topos']), 'controllers': sorted(customs['controllers']),
                  'switches': len(t.switches()), 'hosts': len(t.hosts())}))
`)
	var got struct {
		Topos, Controllers []string
		Switches, Hosts    int
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !slices.Equal(got.Topos, []string{"abilene", "fattree", "gml", "linear", "servers"}) ||
		!slices.Equal(got.Controllers, []string{"cemon"}) || got.Switches != 11 || got.Hosts != 11 {
		t.Errorf("mn's view of topos.py: %+v", got)
	}
}

func TestParseFlowRemoved(t *testing.T) {
	// Lines of ovs-ofctl snoop (OVS 3.1): with and without a cookie, and another message.
	lines := []string{
		"OFPT_FLOW_REMOVED (xid=0x0): priority=100,udp,nw_src=10.0.0.1 reason=idle cookie:0xabc duration1.002s idle1 pkts0 bytes0",
		"OFPT_FLOW_REMOVED (xid=0x0): priority=65535,tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,nw_src=10.0.0.1,tp_src=40001,tp_dst=5201 reason=hard duration7.5s hard9 pkts4191 bytes6305955",
		"OFPT_ECHO_REQUEST (xid=0x0): 0 bytes of payload",
	}
	out := python(t, "import json, sys, harness; print(json.dumps([harness.parse_flow_removed(l) for l in sys.argv[1:]]))", lines...)
	var got []*FlowRemoved
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := []*FlowRemoved{
		{Cookie: 0xabc, Reason: "idle", Duration: 1.002},
		{Reason: "hard", Duration: 7.5, Packets: 4191, Bytes: 6305955},
		nil,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d", len(got), len(want))
	}
	for i := range want {
		if (got[i] == nil) != (want[i] == nil) || (got[i] != nil && *got[i] != *want[i]) {
			t.Errorf("line %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
