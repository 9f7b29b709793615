// Package qemu runs the QEMU guests of cemon's live-migration testbed: a Debian kernel
// and a busybox initramfs whose program (./guest) fills memory, dirties it at a set
// rate and verifies it, under QEMU 10 (TCG) from the private prefix scripts/qemu.sh
// prepares. A guest may run inside a network namespace (a Mininet host), so that its
// migration stream crosses the network cemon controls.
package qemu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultPrefix is where scripts/qemu.sh puts QEMU, the kernel and the initramfs.
const DefaultPrefix = "/var/cache/cemon/qemu"

// Prefix returns $CEMON_QEMU_PREFIX or DefaultPrefix.
func Prefix() string {
	if p := os.Getenv("CEMON_QEMU_PREFIX"); p != "" {
		return p
	}
	return DefaultPrefix
}

// Missing says what of the testbed is not in prefix ("" when everything is).
func Missing(prefix string) string {
	var miss []string
	for _, f := range []string{"root/usr/bin/qemu-system-x86_64", "vmlinuz", "guest.cpio.gz"} {
		if st, err := os.Stat(filepath.Join(prefix, f)); err != nil || st.Size() == 0 {
			miss = append(miss, f)
		}
	}
	if len(miss) > 0 {
		return fmt.Sprintf("%s lacks %s (run scripts/qemu.sh)", prefix, strings.Join(miss, ", "))
	}
	return ""
}

// Config is one guest.
type Config struct {
	Prefix string // default Prefix()
	Dir    string // where the QMP socket and console log go (required)
	Name   string // names the files; default "vm"
	// MemMiB is what the guest program fills; the guest gets MemMiB + 96 MiB.
	MemMiB int
	// DirtyMBs is the guest program's dirty rate in MB/s (10^6 bytes).
	DirtyMBs float64
	// Netns, when set, runs QEMU in that network namespace (a Mininet host's, by
	// the PID of a process in it: "/proc/PID/ns/net").
	Netns string
	// Incoming makes the guest a migration destination (-incoming defer).
	Incoming bool
}

// VM is a running QEMU guest.
type VM struct {
	cfg     Config
	cmd     *exec.Cmd
	QMP     string // the QMP socket's path
	Console string // the serial console's log file
	exited  chan error
}

// Start starts the guest. It returns once QEMU has created its QMP socket.
func Start(ctx context.Context, c Config) (*VM, error) {
	if c.Prefix == "" {
		c.Prefix = Prefix()
	}
	if c.Name == "" {
		c.Name = "vm"
	}
	if c.Dir == "" {
		return nil, errors.New("qemu: Config.Dir is required")
	}
	if c.MemMiB <= 0 {
		return nil, fmt.Errorf("qemu: MemMiB %d must be positive", c.MemMiB)
	}
	if why := Missing(c.Prefix); why != "" {
		return nil, errors.New("qemu: " + why)
	}
	v := &VM{cfg: c, QMP: filepath.Join(c.Dir, c.Name+".qmp"), Console: filepath.Join(c.Dir, c.Name+".console"),
		exited: make(chan error, 1)}
	_ = os.Remove(v.QMP)
	args := []string{
		"-L", filepath.Join(c.Prefix, "root/usr/share/qemu"), "-L", "/usr/share/seabios",
		"-machine", "pc", "-accel", "tcg", "-m", strconv.Itoa(c.MemMiB + 96),
		"-kernel", filepath.Join(c.Prefix, "vmlinuz"), "-initrd", filepath.Join(c.Prefix, "guest.cpio.gz"),
		"-append", fmt.Sprintf("console=ttyS0 quiet cemon.mem=%d cemon.dirty=%g", c.MemMiB, c.DirtyMBs),
		"-nodefaults", "-display", "none", "-no-reboot",
		"-serial", "file:" + v.Console,
		"-qmp", "unix:" + v.QMP + ",server=on,wait=off",
	}
	if c.Incoming {
		args = append(args, "-incoming", "defer")
	}
	bin := filepath.Join(c.Prefix, "root/usr/bin/qemu-system-x86_64")
	if c.Netns != "" {
		args = append([]string{"--net=" + c.Netns, "--", bin}, args...)
		bin = "nsenter"
	}
	v.cmd = exec.Command(bin, args...)
	out, err := os.Create(filepath.Join(c.Dir, c.Name+".stderr"))
	if err != nil {
		return nil, err
	}
	v.cmd.Stdout, v.cmd.Stderr = out, out
	if err := v.cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("qemu: %w", err)
	}
	go func() {
		v.exited <- v.cmd.Wait()
		out.Close()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(v.QMP); err == nil {
			return v, nil
		}
		select {
		case err := <-v.exited:
			b, _ := os.ReadFile(out.Name())
			return nil, fmt.Errorf("qemu: exited at start: %v: %s", err, strings.TrimSpace(string(b)))
		case <-ctx.Done():
			v.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			v.Stop()
			return nil, errors.New("qemu: no QMP socket within 30 s")
		}
	}
}

// Pid is the QEMU process's id (nsenter execs QEMU in place), 0 if not started.
func (v *VM) Pid() int {
	if v.cmd.Process == nil {
		return 0
	}
	return v.cmd.Process.Pid
}

// Stop ends the guest.
func (v *VM) Stop() {
	if v.cmd.Process != nil {
		_ = v.cmd.Process.Kill()
	}
	select {
	case <-v.exited:
	case <-time.After(10 * time.Second):
	}
}

// Status is the guest program's last line.
type Status struct {
	Ready   bool // the program has filled its memory
	Gen     int  // seconds of running reported
	Written int  // pages dirtied so far
	Passes  int  // full verifications done
	Failed  bool // a verification found a page that does not hold what was written
	Line    string
}

var statusLine = regexp.MustCompile(`cemon-guest: mem=\d+MiB dirty=[\d.e+]+MB/s gen=(\d+) written=(\d+) passes=(\d+) verify=(\S+)`)

// ReadStatus reads the guest program's status from its console log: the last line
// that reports one, and whether any reported a failed verification.
func ReadStatus(path string) (Status, error) {
	f, err := os.Open(path)
	if err != nil {
		return Status{}, err
	}
	defer f.Close()
	var st Status
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "cemon-guest: ready") {
			st.Ready = true
		}
		m := statusLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		st.Ready = true
		st.Gen, _ = strconv.Atoi(m[1])
		st.Written, _ = strconv.Atoi(m[2])
		st.Passes, _ = strconv.Atoi(m[3])
		if m[4] != "ok" {
			st.Failed = true
		}
		st.Line = line
	}
	return st, sc.Err()
}

// WaitReady waits until the guest program reports that its memory is filled and
// at least one full verification passed.
func (v *VM) WaitReady(ctx context.Context, timeout time.Duration) (Status, error) {
	deadline := time.Now().Add(timeout)
	for {
		st, _ := ReadStatus(v.Console)
		if st.Ready && st.Passes >= 1 {
			return st, nil
		}
		select {
		case err := <-v.exited:
			v.exited <- err
			return st, fmt.Errorf("qemu: guest %s exited: %v", v.cfg.Name, err)
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("qemu: guest %s not ready within %v (last: %q)", v.cfg.Name, timeout, st.Line)
		}
	}
}
