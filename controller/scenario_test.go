package controller

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/flowtracker"
	"github.com/cemon-sdn/cemon/ofproto"
	"github.com/cemon-sdn/cemon/topology"
)

var update = flag.Bool("update", false, "rewrite the expected output of the scenario files in testdata")

// TestScenarios runs testdata/*.txt: commands to a fake network driven through the
// controller's core, each followed by its expected output. With -update the files are
// rewritten with the output the code produces now.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runScenario(t, file)
		})
	}
}

type scenarioBlock struct {
	comments []string
	cmd      string
	want     []string
}

func parseScenario(t *testing.T, data []byte) []scenarioBlock {
	var blocks []scenarioBlock
	var comments []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "> "):
			blocks = append(blocks, scenarioBlock{comments: comments, cmd: strings.TrimSpace(line[2:])})
			comments = nil
		case strings.HasPrefix(line, "#") || (strings.TrimSpace(line) == "" && len(blocks) == 0):
			comments = append(comments, line)
		case strings.TrimSpace(line) == "":
			// blank lines separate blocks
		default:
			if len(blocks) == 0 {
				t.Fatalf("output line before any command: %q", line)
			}
			b := &blocks[len(blocks)-1]
			b.want = append(b.want, line)
		}
	}
	return blocks
}

func runScenario(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blocks := parseScenario(t, data)
	sr := &scenario{t: t}
	var out bytes.Buffer
	for i, b := range blocks {
		got := sr.do(b.cmd)
		if *update {
			for _, c := range b.comments {
				fmt.Fprintln(&out, c)
			}
			fmt.Fprintf(&out, "> %s\n", b.cmd)
			for _, l := range got {
				fmt.Fprintln(&out, l)
			}
			if i+1 < len(blocks) && (len(got) > 0 || len(blocks[i+1].comments) > 0) {
				fmt.Fprintln(&out)
			}
			continue
		}
		if !slices.Equal(got, b.want) {
			t.Errorf("%s: > %s\n--- got\n%s\n--- want\n%s", file, b.cmd, strings.Join(got, "\n"), strings.Join(b.want, "\n"))
		}
	}
	if *update {
		if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type scenario struct {
	t   *testing.T
	n   *fakeNet
	cfg Config
}

func (sr *scenario) net() *fakeNet {
	if sr.n == nil {
		sr.n = newFakeNet(sr.t, sr.cfg)
	}
	return sr.n
}

func parsePortRef(t *testing.T, s string) PortRef {
	d, p, ok := strings.Cut(s, ":")
	di, err1 := strconv.ParseUint(d, 10, 64)
	pi, err2 := strconv.ParseUint(p, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("bad port %q: want DPID:PORT", s)
	}
	return PortRef{di, uint16(pi)}
}

func (sr *scenario) dpids(args []string) []uint64 {
	if len(args) == 0 || args[0] == "all" {
		return sortedDPIDs(sr.net().sw)
	}
	var out []uint64
	for _, a := range args {
		d, err := strconv.ParseUint(strings.TrimPrefix(a, "s"), 10, 64)
		if err != nil {
			sr.t.Fatalf("bad switch %q", a)
		}
		out = append(out, d)
	}
	return out
}

// do runs one command and returns its output lines.
func (sr *scenario) do(cmd string) []string {
	t := sr.t
	f := strings.Fields(cmd)
	args := f[1:]
	var out []string
	switch f[0] {
	case "config": // config idle=10s lldp=1s echo=5s
		for _, a := range args {
			k, v, _ := strings.Cut(a, "=")
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("config %s: %v", a, err)
			}
			switch k {
			case "idle":
				sr.cfg.IdleTimeout = d
			case "lldp":
				sr.cfg.LLDPInterval = d
			case "echo":
				sr.cfg.EchoInterval = d
			default:
				t.Fatalf("config: unknown key %q", k)
			}
		}
	case "linear":
		k, _ := strconv.Atoi(args[0])
		sr.net().linear(k)
	case "gml":
		buildGML(t, sr.net(), args[0])
	case "switch": // switch DPID PORT...
		var ports []uint16
		for _, a := range args[1:] {
			p, _ := strconv.Atoi(a)
			ports = append(ports, uint16(p))
		}
		sr.net().addSwitch(sr.dpids(args[:1])[0], ports...)
	case "wire":
		sr.net().connectWire(parsePortRef(t, args[0]), parsePortRef(t, args[1]))
	case "host": // host NAME N DPID:PORT
		i, _ := strconv.Atoi(args[1])
		sr.net().addHost(args[0], byte(i), parsePortRef(t, args[2]))
	case "trace":
		sr.net().record = args[0] == "on"
	case "connect":
		n := sr.net()
		for _, d := range sr.dpids(args) {
			n.connect(d)
		}
		out = n.flushTrace()
	case "disconnect":
		n := sr.net()
		for _, d := range sr.dpids(args) {
			n.disconnect(d)
		}
		out = n.flushTrace()
	case "hello": // hello DPID VERSION: a HELLO of another version, raw
		t.Fatalf("use the connection tests for raw bytes")
	case "advance":
		d, err := time.ParseDuration(args[0])
		if err != nil {
			t.Fatal(err)
		}
		n := sr.net()
		n.advance(d)
		out = n.flushTrace()
	case "expire": // expire DPID...: these switches remove their idle entries now, as if their
		// expiry pass came before the others' (Open vSwitch runs one per bridge)
		n := sr.net()
		for _, d := range sr.dpids(args) {
			sw := n.sw[d]
			for _, e := range sw.table {
				if e.idle > 0 {
					n.removed(sw, e, ofproto.RemovedIdleTimeout)
				}
			}
			sw.table = slices.DeleteFunc(sw.table, func(e *fakeEntry) bool { return e.idle > 0 })
		}
		n.run()
		out = n.flushTrace()
	case "mute":
		for _, d := range sr.dpids(args) {
			sr.net().sw[d].mute = true
		}
	case "portdown": // portdown DPID:PORT: the switch reports the port's link down
		n := sr.net()
		ref := parsePortRef(t, args[0])
		sw := n.sw[ref.DPID]
		for i := range sw.ports {
			if sw.ports[i].PortNo == ofproto.PortNo(ref.Port) {
				sw.ports[i].State |= ofproto.PortStateLinkDown
				n.fromSwitch(sw, &ofproto.PortStatus{Reason: ofproto.PortModified, Desc: sw.ports[i]})
			}
		}
		if peer, ok := n.wire[ref]; ok {
			delete(n.wire, ref)
			delete(n.wire, peer)
		}
		n.run()
		out = n.flushTrace()
	case "portup": // portup DPID:PORT [PEER_DPID:PEER_PORT]: the cable (to a host, or to the
		// peer switch port) is back, the switch reports the port up
		n := sr.net()
		ref := parsePortRef(t, args[0])
		if len(args) > 1 {
			n.connectWire(ref, parsePortRef(t, args[1]))
		}
		sw := n.sw[ref.DPID]
		for i := range sw.ports {
			if sw.ports[i].PortNo == ofproto.PortNo(ref.Port) {
				sw.ports[i].State &^= ofproto.PortStateLinkDown
				n.fromSwitch(sw, &ofproto.PortStatus{Reason: ofproto.PortModified, Desc: sw.ports[i]})
			}
		}
		n.run()
		out = n.flushTrace()
	case "portdelete": // portdelete DPID:PORT: the port is removed from the switch
		n := sr.net()
		ref := parsePortRef(t, args[0])
		sw := n.sw[ref.DPID]
		for i := range sw.ports {
			if sw.ports[i].PortNo == ofproto.PortNo(ref.Port) {
				n.fromSwitch(sw, &ofproto.PortStatus{Reason: ofproto.PortDeleted, Desc: sw.ports[i]})
				sw.ports = slices.Delete(sw.ports, i, i+1)
				break
			}
		}
		if peer, ok := n.wire[ref]; ok {
			delete(n.wire, ref)
			delete(n.wire, peer)
		}
		delete(n.hostAt, ref)
		n.run()
		out = n.flushTrace()
	case "links":
		ls := sr.net().c.topo.Links()
		for _, l := range ls {
			out = append(out, fmt.Sprintf("%s -> %s", PortRef{l.SrcDPID, l.SrcPort}, PortRef{l.DstDPID, l.DstPort}))
		}
		out = append(out, fmt.Sprintf("%d links", len(ls)))
	case "hosts":
		var hs []string
		for _, h := range sr.net().c.topo.Hosts() {
			hs = append(hs, fmt.Sprintf("%s %v at %s", ofproto.MAC(h.MAC), h.IP, PortRef{h.DPID, h.Port}))
		}
		sort.Strings(hs)
		out = append(hs, fmt.Sprintf("%d hosts", len(hs)))
	case "ping": // ping A B
		n := sr.net()
		out = append(out, n.ping(n.hosts[args[0]], n.hosts[args[1]]))
		out = append(out, n.flushTrace()...)
	case "pingall":
		n := sr.net()
		names := hostNames(n)
		ok, total := 0, 0
		for _, a := range names {
			for _, b := range names {
				if a == b {
					continue
				}
				total++
				r := n.ping(n.hosts[a], n.hosts[b])
				if strings.HasSuffix(r, ": ok") {
					ok++
				} else {
					out = append(out, r)
				}
			}
		}
		out = append(out, fmt.Sprintf("%d/%d pings answered", ok, total))
		out = append(out, n.flushTrace()...)
	case "send": // send A B udp SPORT DPORT [tos]: one UDP datagram
		n := sr.net()
		a, b := n.hosts[args[0]], n.hosts[args[1]]
		sp, _ := strconv.Atoi(args[3])
		dp, _ := strconv.Atoi(args[4])
		tos := 0
		if len(args) > 5 {
			tos, _ = strconv.Atoi(args[5])
		}
		before := len(b.got)
		n.hostSend(a, udpFrame(a.mac, b.mac, a.ip, b.ip, uint16(sp), uint16(dp), uint8(tos), 100))
		n.run()
		out = append(out, fmt.Sprintf("%s received %v", b.name, b.got[before:]))
		out = append(out, n.flushTrace()...)
	case "tables":
		n := sr.net()
		for _, d := range sr.dpids(args) {
			out = append(out, n.dump(n.sw[d])...)
		}
	case "flows":
		for _, fl := range sr.net().c.tracker.Snapshot() {
			out = append(out, fmtFlow(&fl))
		}
	case "check": // the invariants every test cares about
		out = sr.net().check()
	case "events":
		n := sr.net()
		pins := 0
		for _, e := range n.events {
			if e.Kind == PacketIn {
				pins++
				continue
			}
			s := fmt.Sprintf("%v %016x", e.Kind, e.DPID)
			for _, l := range e.Links {
				s += " " + l.String()
			}
			if e.Err != nil {
				s += " err=" + e.Err.Error()
			}
			out = append(out, s)
		}
		out = append(out, fmt.Sprintf("%d packet-in events", pins))
		n.events = nil
	case "closed":
		n := sr.net()
		for _, c := range n.closed {
			out = append(out, fmt.Sprintf("close %s: %v", n.names[c.s], c.err))
		}
		n.closed = nil
	case "stats":
		st := sr.net().c.stats
		out = append(out, fmt.Sprintf("%+v", st))
	default:
		t.Fatalf("unknown command %q", cmd)
	}
	return out
}

func (n *fakeNet) flushTrace() []string {
	out := n.trace
	n.trace = nil
	return out
}

func hostNames(n *fakeNet) []string {
	var names []string
	for name := range n.hosts {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		a, _ := strconv.Atoi(strings.TrimPrefix(names[i], "h"))
		b, _ := strconv.Atoi(strings.TrimPrefix(names[j], "h"))
		return a < b
	})
	return names
}

func fmtFlow(f *flowtracker.Flow) string {
	var hops []string
	for _, e := range f.Entries {
		h := fmt.Sprintf("s%d:%d>%d", e.DPID, e.InPort, e.OutPort)
		if e.Gone {
			h += fmt.Sprintf("(gone %v", e.Reason)
			if e.HasCounters {
				h += fmt.Sprintf(" %dp/%db", e.Final.Packets, e.Final.Bytes)
			}
			h += ")"
		}
		hops = append(hops, h)
	}
	return fmt.Sprintf("flow %d cookie=%#x %v %s proto=%d %v>%v tp=%d>%d path %s", f.ID, f.Cookie, f.State,
		ofproto.MAC(f.Key.DLDst), f.Key.NWProto, ipString(f.Key.NWSrc), ipString(f.Key.NWDst), f.Key.TPSrc, f.Key.TPDst,
		strings.Join(hops, " "))
}

func ipString(b [4]byte) string { return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3]) }

// buildGML builds the fake network of a Topology Zoo file: switch i+1 for node i,
// host h(i+1) on port 1, links on ports 2, 3, ... in edge order.
func buildGML(t testing.TB, n *fakeNet, file string) *topology.Graph {
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	g, err := topology.ParseGML(data)
	if err != nil {
		t.Fatal(err)
	}
	next := make([]uint16, g.NumNodes())
	for i := range next {
		next[i] = 2
	}
	ports := make([][]uint16, g.NumNodes())
	type wire struct{ a, b PortRef }
	var wires []wire
	for _, e := range g.Edges() {
		a, b := e[0], e[1]
		pa, pb := next[a], next[b]
		next[a]++
		next[b]++
		ports[a] = append(ports[a], pa)
		ports[b] = append(ports[b], pb)
		wires = append(wires, wire{PortRef{uint64(a + 1), pa}, PortRef{uint64(b + 1), pb}})
	}
	for i := 0; i < g.NumNodes(); i++ {
		n.addSwitch(uint64(i+1), append([]uint16{1}, ports[i]...)...)
		n.addHost(fmt.Sprintf("h%d", i+1), byte(i+1), PortRef{uint64(i + 1), 1})
	}
	for _, w := range wires {
		n.connectWire(w.a, w.b)
	}
	return g
}

// check compares the switches' tables with the tracker, entry for entry and cookie for
// cookie, and checks that every active flow's path is a shortest one over the wires.
func (n *fakeNet) check() []string {
	var out []string
	type ent struct {
		dpid   uint64
		cookie uint64
		in     uint16
		outp   uint16
	}
	inTables := map[ent]bool{}
	for _, sw := range n.sw {
		for _, e := range sw.table {
			inTables[ent{sw.dpid, e.cookie, uint16(e.match.InPort), uint16(e.out[0])}] = true
		}
	}
	inTracker := map[ent]bool{}
	active := 0
	for _, f := range n.c.tracker.Snapshot() {
		if f.State == flowtracker.StateExpired {
			continue
		}
		active++
		for _, e := range f.Entries {
			if !e.Gone {
				inTracker[ent{e.DPID, f.Cookie, e.InPort, e.OutPort}] = true
			}
		}
		if f.State == flowtracker.StateActive {
			if want := n.hops(f.Entries[0].DPID, f.Entries[len(f.Entries)-1].DPID); want != len(f.Entries)-1 {
				out = append(out, fmt.Sprintf("flow %d: %d hops, shortest is %d", f.ID, len(f.Entries)-1, want))
			}
		}
	}
	for e := range inTables {
		if !inTracker[e] {
			out = append(out, fmt.Sprintf("s%d has entry cookie=%#x in_port=%d the tracker does not know", e.dpid, e.cookie, e.in))
		}
	}
	for e := range inTracker {
		if !inTables[e] {
			out = append(out, fmt.Sprintf("tracker has entry s%d cookie=%#x in_port=%d the switch does not", e.dpid, e.cookie, e.in))
		}
	}
	sort.Strings(out)
	return append(out, fmt.Sprintf("%d entries in tables, %d in the tracker, %d live flows", len(inTables), len(inTracker), active))
}

// hops is the hop count between two switches over the wires (BFS).
func (n *fakeNet) hops(a, b uint64) int {
	dist := map[uint64]int{a: 0}
	q := []uint64{a}
	for len(q) > 0 {
		v := q[0]
		q = q[1:]
		if v == b {
			return dist[v]
		}
		for from, to := range n.wire {
			if from.DPID == v {
				if _, seen := dist[to.DPID]; !seen && n.sw[to.DPID].s != nil {
					dist[to.DPID] = dist[v] + 1
					q = append(q, to.DPID)
				}
			}
		}
	}
	return -1
}
