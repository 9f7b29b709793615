package mininet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// ErrCemon is wrapped by the errors of StartCemon and Cemon's methods.
var ErrCemon = errors.New("mininet: cemon")

// CemonOptions says how to start cemon. Bin is required.
type CemonOptions struct {
	Bin    string    // path of the cemon binary
	Args   []string  // extra flags for `cemon run`, e.g. "--idle-timeout", "3s"
	Stdout io.Writer // default discarded
	Stderr io.Writer // default discarded
	// ReadyTimeout bounds the wait for /healthz to answer; default 15s.
	ReadyTimeout time.Duration
	// DataDir is cemon's --data-dir; default a temporary directory removed
	// by Stop.
	DataDir string
	// OFAddr and APIAddr, when set, are the listen addresses to use instead of free
	// loopback ports: a restarted cemon takes those of the one it replaces, so that
	// the switches find it again.
	OFAddr, APIAddr string
}

// Cemon is a running `cemon run` on free loopback ports.
type Cemon struct {
	OFAddr  string // OpenFlow listener, 127.0.0.1:PORT
	APIAddr string // REST listener, 127.0.0.1:PORT

	cmd    *exec.Cmd
	tmpDir string // removed by Stop
	exited chan struct{}
	err    error
	client *http.Client
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// StartCemon starts `BIN run --of-listen 127.0.0.1:P --api-listen 127.0.0.1:Q ARGS`
// and waits until its /healthz answers 200.
func StartCemon(ctx context.Context, o CemonOptions) (*Cemon, error) {
	if o.Bin == "" {
		return nil, fmt.Errorf("%w: no binary given", ErrCemon)
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 15 * time.Second
	}
	c := &Cemon{
		OFAddr:  o.OFAddr,
		APIAddr: o.APIAddr,
		exited:  make(chan struct{}),
		client:  &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
	}
	for _, a := range []*string{&c.OFAddr, &c.APIAddr} {
		if *a != "" {
			continue
		}
		port, err := FreePort()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCemon, err)
		}
		*a = fmt.Sprintf("127.0.0.1:%d", port)
	}
	var err error
	dataDir := o.DataDir
	if dataDir == "" {
		if dataDir, err = os.MkdirTemp("", "cemon-data-"); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCemon, err)
		}
		c.tmpDir = dataDir
	}
	args := append([]string{"run", "--of-listen", c.OFAddr, "--api-listen", c.APIAddr, "--data-dir", dataDir}, o.Args...)
	c.cmd = exec.CommandContext(ctx, o.Bin, args...)
	c.cmd.Cancel = func() error { return c.cmd.Process.Signal(syscall.SIGTERM) }
	c.cmd.WaitDelay = 15 * time.Second
	c.cmd.Stdout, c.cmd.Stderr = o.Stdout, o.Stderr
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := c.cmd.Start(); err != nil {
		if c.tmpDir != "" {
			os.RemoveAll(c.tmpDir)
		}
		return nil, fmt.Errorf("%w: %v", ErrCemon, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		if c.tmpDir != "" {
			os.RemoveAll(c.tmpDir)
		}
		close(c.exited)
	}()
	deadline := time.Now().Add(o.ReadyTimeout)
	for {
		res, err := c.client.Get("http://" + c.APIAddr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case <-c.exited:
			return nil, fmt.Errorf("%w: exited before its API answered: %v", ErrCemon, c.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.Stop()
			return nil, fmt.Errorf("%w: /healthz did not answer 200 within %v (last error %v)", ErrCemon, o.ReadyTimeout, err)
		}
	}
}

// Get reads a REST endpoint (path such as "/api/v1/flows") into out. A status other
// than 200 is an error carrying the body.
func (c *Cemon) Get(path string, out any) error {
	_, err := c.GetStatus(path, out)
	return err
}

// GetStatus is Get that also returns the status code; out is decoded only on 200.
func (c *Cemon) GetStatus(path string, out any) (int, error) {
	res, err := c.client.Get("http://" + c.APIAddr + path)
	if err != nil {
		return 0, fmt.Errorf("%w: GET %s: %v", ErrCemon, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
	if err != nil {
		return res.StatusCode, fmt.Errorf("%w: GET %s: %v", ErrCemon, path, err)
	}
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, fmt.Errorf("%w: GET %s: status %d: %s", ErrCemon, path, res.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return res.StatusCode, fmt.Errorf("%w: GET %s: %v", ErrCemon, path, err)
		}
	}
	return res.StatusCode, nil
}

// Exited reports whether the process has ended, and how.
func (c *Cemon) Exited() (bool, error) {
	select {
	case <-c.exited:
		return true, c.err
	default:
		return false, nil
	}
}

// Kill ends cemon with SIGKILL, as a crash would (nothing flushed, no goodbye to the
// switches), and waits for it to exit. Its data directory stays unless it is the
// temporary one StartCemon made.
func (c *Cemon) Kill() error {
	select {
	case <-c.exited:
		return nil
	default:
	}
	if err := c.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("%w: kill: %v", ErrCemon, err)
	}
	select {
	case <-c.exited:
		return nil
	case <-time.After(15 * time.Second):
		return fmt.Errorf("%w: still running 15s after SIGKILL", ErrCemon)
	}
}

// Stop sends SIGTERM and waits (bounded) for cemon to exit; it returns the exit
// error, nil on a clean exit. Safe to call more than once.
func (c *Cemon) Stop() error {
	select {
	case <-c.exited:
		return c.err
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("%w: did not exit within 15s of SIGTERM; killed", ErrCemon)
	}
	return c.err
}
