package mininet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/cemon-sdn/cemon/api"
)

// DefaultPython is the interpreter that has Mininet's modules on Debian.
const DefaultPython = "/usr/bin/python3"

// ErrHarness is wrapped by every error a harness command reports.
var ErrHarness = errors.New("mininet: harness")

// HarnessOptions says which network to bring up. Topo and Controller are required.
type HarnessOptions struct {
	Topo       string    // abilene, gml,FILE, linear,N or fattree,K
	Controller string    // cemon's OpenFlow address, host:port (never port 6653)
	Python     string    // default DefaultPython
	Script     string    // path of harness.py; default: the one beside this package's source
	Stderr     io.Writer // harness and Mininet messages; default discarded
	// StartTimeout bounds the wait for the lock and the network; default 5 minutes.
	StartTimeout time.Duration
	// Listen gives every switch a listener for controllers on a loopback port of its
	// own (OpenFlow's passive mode, Open vSwitch's ptcp:PORT:127.0.0.1), besides its
	// connection to Controller; SwitchInfo.Listen names it (see Info.SwitchTargets).
	Listen bool
}

// Info is the ground truth of a running network.
type Info struct {
	Topo           string       `json:"topo"`
	Switches       []SwitchInfo `json:"switches"`
	Links          []api.Link   `json:"links"` // switch to switch, one per direction
	Hosts          []HostInfo   `json:"hosts"`
	StartupSeconds float64      `json:"startup_seconds"`
}

// SwitchInfo is one switch of the network.
type SwitchInfo struct {
	Name string `json:"name"`
	DPID string `json:"dpid"`
	// Listen is where the switch listens for controllers (HarnessOptions.Listen),
	// 127.0.0.1:PORT; empty without.
	Listen string `json:"listen,omitempty"`
	Ports  []struct {
		PortNo uint16 `json:"port_no"`
		Name   string `json:"name"`
	} `json:"ports"`
}

// SwitchTargets returns the switches' listeners (HarnessOptions.Listen) as targets
// of cemon's --switch-connect, tcp:127.0.0.1:PORT, in switch order; nil when the
// switches do not listen.
func (i Info) SwitchTargets() []string {
	var out []string
	for _, s := range i.Switches {
		if s.Listen != "" {
			out = append(out, "tcp:"+s.Listen)
		}
	}
	return out
}

// HostInfo is one host: where it is attached and its addresses.
type HostInfo struct {
	Name   string `json:"name"`
	MAC    string `json:"mac"`
	IP     string `json:"ip"`
	DPID   string `json:"dpid"`
	Port   uint16 `json:"port"`
	Switch string `json:"switch"`
}

// PingResult is the outcome of a pingall: one ping per ordered host pair.
type PingResult struct {
	Sent     int        `json:"sent"`
	Received int        `json:"received"`
	Lost     [][]string `json:"lost"` // [src, dst] host names
}

// Transfer asks for one iperf3 run from Src to Dst.
type Transfer struct {
	Src       string  `json:"src"`
	Dst       string  `json:"dst"`
	UDP       bool    `json:"udp,omitempty"`
	Duration  float64 `json:"duration"`            // seconds
	Bandwidth string  `json:"bandwidth,omitempty"` // iperf3 -b, e.g. "10M" (UDP default 1M)
	Port      int     `json:"port,omitempty"`      // server port; default 5201 + index
	CPort     int     `json:"cport,omitempty"`     // client data port; default ephemeral
	Length    string  `json:"length,omitempty"`    // iperf3 -l, bytes per write, e.g. "8K"
	// Parallel is iperf3 -P: that many streams (flows, each from its own client
	// port), Bandwidth each; the result sums them. 0 or 1: one.
	Parallel int `json:"parallel,omitempty"`
	// PacingTimer is iperf3 --pacing-timer in microseconds (default 1000).
	PacingTimer int `json:"pacing_timer,omitempty"`
}

// TransferResult is the sender's side of one finished iperf3 run.
type TransferResult struct {
	Src           string  `json:"src"`
	Dst           string  `json:"dst"`
	Protocol      string  `json:"protocol"` // "tcp" or "udp"
	SrcIP         string  `json:"src_ip"`
	SrcPort       int     `json:"src_port"`
	DstIP         string  `json:"dst_ip"`
	DstPort       int     `json:"dst_port"`
	BytesSent     uint64  `json:"bytes_sent"`
	PacketsSent   uint64  `json:"packets_sent"` // UDP only
	BytesReceived uint64  `json:"bytes_received"`
	Seconds       float64 `json:"seconds"`
	BitsPerSecond float64 `json:"bits_per_second"`
	Error         string  `json:"error"`
}

// FlowDump is one entry of ovs-ofctl -O OpenFlow10 -F openflow10 dump-flows.
type FlowDump struct {
	Cookie      uint64            `json:"cookie"`
	Duration    float64           `json:"duration"`
	Table       int               `json:"table"`
	NPackets    uint64            `json:"n_packets"`
	NBytes      uint64            `json:"n_bytes"`
	Priority    int               `json:"priority"`
	IdleTimeout int               `json:"idle_timeout"`
	HardTimeout int               `json:"hard_timeout"`
	Match       map[string]string `json:"match"` // ovs-ofctl names; protocol shorthand as "proto"
	InPort      *uint16           `json:"in_port"`
	Actions     string            `json:"actions"`
	Outputs     []uint16          `json:"outputs"`
}

// FlowRemoved is one FLOW_REMOVED message a switch sent its controller, as
// ovs-ofctl snoop showed it.
type FlowRemoved struct {
	Cookie   uint64  `json:"cookie"`
	Reason   string  `json:"reason"` // idle, hard, delete
	Duration float64 `json:"duration"`
	Packets  uint64  `json:"packets"`
	Bytes    uint64  `json:"bytes"`
}

// Harness is a running harness.py and its network. Its methods are not safe for
// concurrent use.
type Harness struct {
	Info Info // as reported when the network came up

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	done   chan struct{}
	waitMu sync.Mutex
	err    error
	closed bool
}

type reply struct {
	Cmd    any             `json:"cmd"`
	OK     bool            `json:"ok"`
	Error  string          `json:"error"`
	Result json.RawMessage `json:"result"`
}

// sourceDir is the directory of this package's source, where harness.py lives.
func sourceDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Dir(file)
}

// StartHarness starts harness.py, waits until the network is up and returns it. The
// context bounds the whole life of the process: when it ends the harness is told to
// tear down (SIGTERM) and given time to do so.
func StartHarness(ctx context.Context, o HarnessOptions) (*Harness, error) {
	if o.Topo == "" || o.Controller == "" {
		return nil, fmt.Errorf("%w: Topo and Controller are required", ErrHarness)
	}
	if o.Python == "" {
		o.Python = DefaultPython
	}
	if o.Script == "" {
		o.Script = filepath.Join(sourceDir(), "harness.py")
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 5 * time.Minute
	}
	args := []string{o.Script, "--topo", o.Topo, "--controller", o.Controller,
		"--lock-timeout", fmt.Sprint(int(o.StartTimeout.Seconds()))}
	if o.Listen {
		args = append(args, "--listen")
	}
	cmd := exec.CommandContext(ctx, o.Python, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute // teardown of a large network takes a while
	cmd.Stderr = o.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHarness, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHarness, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s: %v", ErrHarness, o.Script, err)
	}
	h := &Harness{cmd: cmd, stdin: stdin, lines: make(chan []byte, 1), done: make(chan struct{})}
	go h.read(stdout)
	raw, err := h.await("ready", o.StartTimeout+time.Minute)
	if err != nil {
		h.Close()
		return nil, err
	}
	if err := json.Unmarshal(raw, &h.Info); err != nil {
		h.Close()
		return nil, fmt.Errorf("%w: ready: %v", ErrHarness, err)
	}
	return h, nil
}

func (h *Harness) read(r io.Reader) {
	defer close(h.done)
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			h.lines <- line
		}
		if err != nil {
			return
		}
	}
}

// await reads the next answer, which must be for cmd.
func (h *Harness) await(cmd string, timeout time.Duration) (json.RawMessage, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line := <-h.lines:
		var r reply
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("%w: %s: unreadable answer %q: %v", ErrHarness, cmd, line, err)
		}
		if !r.OK {
			return nil, fmt.Errorf("%w: %s: %s", ErrHarness, cmd, r.Error)
		}
		if r.Cmd != cmd {
			return nil, fmt.Errorf("%w: %s: answer is for %v", ErrHarness, cmd, r.Cmd)
		}
		return r.Result, nil
	case <-h.done:
		// A last line may still be in flight.
		select {
		case line := <-h.lines:
			var r reply
			if json.Unmarshal(line, &r) == nil && !r.OK {
				return nil, fmt.Errorf("%w: %s: %s", ErrHarness, cmd, r.Error)
			}
		default:
		}
		return nil, fmt.Errorf("%w: %s: harness exited", ErrHarness, cmd)
	case <-t.C:
		return nil, fmt.Errorf("%w: %s: no answer within %v", ErrHarness, cmd, timeout)
	}
}

// Do sends one command with its arguments and decodes the result into out (which
// may be nil). timeout bounds the wait for the answer.
func (h *Harness) Do(cmd string, args map[string]any, out any, timeout time.Duration) error {
	if h.closed {
		return fmt.Errorf("%w: %s: harness closed", ErrHarness, cmd)
	}
	req := map[string]any{}
	for k, v := range args {
		req[k] = v
	}
	req["cmd"] = cmd
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrHarness, cmd, err)
	}
	if _, err := h.stdin.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrHarness, cmd, err)
	}
	raw, err := h.await(cmd, timeout)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%w: %s: result: %v", ErrHarness, cmd, err)
		}
	}
	return nil
}

// WaitConnected waits until every switch (or those named) is connected to its
// controller, as Open vSwitch reports it.
func (h *Harness) WaitConnected(timeout time.Duration, switches ...string) error {
	args := map[string]any{"timeout": timeout.Seconds()}
	if len(switches) > 0 {
		args["switches"] = switches
	}
	return h.Do("wait_connected", args, nil, timeout+30*time.Second)
}

// PingAll pings every ordered host pair once, sequentially, each with a per-ping
// timeout (whole seconds, at least 1).
func (h *Harness) PingAll(perPing time.Duration) (PingResult, error) {
	var r PingResult
	s := max(1, int(perPing.Seconds()))
	n := len(h.Info.Hosts)
	err := h.Do("pingall", map[string]any{"timeout": s}, &r, time.Duration(n*n*s)*time.Second+time.Minute)
	return r, err
}

// IperfStart starts transfers and returns an id for IperfWait.
func (h *Harness) IperfStart(ts []Transfer) (int, error) {
	var r struct {
		ID int `json:"id"`
	}
	err := h.Do("iperf_start", map[string]any{"pairs": ts}, &r, time.Minute)
	return r.ID, err
}

// IperfWait waits (at most timeout) for the transfers IperfStart started.
func (h *Harness) IperfWait(id int, timeout time.Duration) ([]TransferResult, error) {
	var r struct {
		Transfers []TransferResult `json:"transfers"`
	}
	err := h.Do("iperf_wait", map[string]any{"id": id, "timeout": timeout.Seconds()}, &r, timeout+30*time.Second)
	return r.Transfers, err
}

// Iperf runs transfers concurrently and returns their senders' totals.
func (h *Harness) Iperf(ts []Transfer, timeout time.Duration) ([]TransferResult, error) {
	id, err := h.IperfStart(ts)
	if err != nil {
		return nil, err
	}
	return h.IperfWait(id, timeout)
}

// DumpFlows returns each named switch's flow table (every switch when none is
// named), keyed by switch name.
func (h *Harness) DumpFlows(switches ...string) (map[string][]FlowDump, error) {
	args := map[string]any{}
	if len(switches) > 0 {
		args["switches"] = switches
	}
	var r map[string][]FlowDump
	err := h.Do("dump_flows", args, &r, time.Minute)
	return r, err
}

// SnoopStart starts recording what the named switches (every switch when none is
// named) send their controller, for FlowRemoved.
func (h *Harness) SnoopStart(switches ...string) error {
	args := map[string]any{}
	if len(switches) > 0 {
		args["switches"] = switches
	}
	return h.Do("snoop_start", args, nil, 30*time.Second)
}

// FlowRemoved returns the FLOW_REMOVED messages each named switch (every snooped
// switch when none is named) has sent since SnoopStart, in order, keyed by name.
func (h *Harness) FlowRemoved(switches ...string) (map[string][]FlowRemoved, error) {
	args := map[string]any{}
	if len(switches) > 0 {
		args["switches"] = switches
	}
	var r map[string][]FlowRemoved
	err := h.Do("flow_removed", args, &r, 30*time.Second)
	return r, err
}

// DelController detaches a switch from its controller (ovs-vsctl del-controller).
func (h *Harness) DelController(sw string) error {
	return h.Do("del_controller", map[string]any{"switch": sw}, nil, 30*time.Second)
}

// SetController points a switch back at the harness's controller.
func (h *Harness) SetController(sw string) error {
	return h.Do("set_controller", map[string]any{"switch": sw}, nil, 30*time.Second)
}

// HostCmd runs a shell command in a host and returns its output.
func (h *Harness) HostCmd(host, command string, timeout time.Duration) (string, error) {
	var r struct {
		Output string `json:"output"`
	}
	err := h.Do("host_cmd", map[string]any{"host": host, "run": command}, &r, timeout)
	return r.Output, err
}

// Close tears the network down and waits for the harness to exit; it is safe to
// call more than once. It returns the harness's exit error, if any.
func (h *Harness) Close() error {
	h.waitMu.Lock()
	defer h.waitMu.Unlock()
	if h.closed {
		return h.err
	}
	h.closed = true
	_, _ = h.stdin.Write([]byte("{\"cmd\":\"quit\"}\n"))
	h.stdin.Close()
	go func() {
		// Drain answers so the reader never blocks.
		for {
			select {
			case <-h.lines:
			case <-h.done:
				return
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- h.cmd.Wait() }()
	select {
	case h.err = <-exited:
	case <-time.After(2 * time.Minute):
		_ = h.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case h.err = <-exited:
		case <-time.After(time.Minute):
			_ = h.cmd.Process.Kill()
			h.err = <-exited
		}
	}
	if h.err != nil {
		h.err = fmt.Errorf("%w: exit: %v", ErrHarness, h.err)
	}
	return h.err
}

// missingTools reports which of the commands are missing from PATH.
func missingTools(names ...string) []string {
	var miss []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			miss = append(miss, n)
		}
	}
	return miss
}

// canRunMininet says why Mininet cannot run here, or "" when it can.
func canRunMininet() string {
	if os.Geteuid() != 0 {
		return "not root"
	}
	if m := missingTools("mn", "ovs-vsctl", "ovs-ofctl", "iperf3"); len(m) > 0 {
		return fmt.Sprintf("missing %v", m)
	}
	if _, err := os.Stat(DefaultPython); err != nil {
		return "no " + DefaultPython
	}
	return ""
}
