// Package etcdtest starts an etcd cluster inside the test process (the embedded
// server of go.etcd.io/etcd/server/v3), on loopback ports with members in temporary
// directories, so that cemon's cluster tests need no etcd installed. Members can be
// stopped and restarted with their data, to test the loss of one or of all.
package etcdtest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// Cluster is a running embedded etcd cluster.
type Cluster struct {
	t       testing.TB
	mu      sync.Mutex
	names   []string
	dirs    []string
	peer    []url.URL
	client  []url.URL
	initial string
	etcds   []*embed.Etcd // nil when stopped
}

// freePort returns a loopback port that is free now, below Linux's ephemeral range
// (32768 and up by default): a port the kernel gave out for a probe listener can be
// handed to some connection's local end before the member binds it (seen once beside
// Mininet: "bind: address already in use"), one below that range only to a listener.
// taken holds the ports already chosen for this cluster.
func freePort(t testing.TB, taken map[int]bool) int {
	t.Helper()
	for range 1000 {
		p := 10000 + rand.IntN(20000-10000)
		if taken[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		taken[p] = true
		return p
	}
	t.Fatalf("etcdtest: no free loopback port in 10000-19999")
	return 0
}

// Start starts an n-member cluster and waits until it serves (at most 30 s). It is
// stopped when the test ends. A member that finds its port taken after all (another
// process bound it in between) makes it start again on other ports, at most three
// times.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	for attempt := 1; ; attempt++ {
		c, err := start(t, n)
		if err == nil {
			t.Cleanup(c.Close)
			return c
		}
		if attempt == 3 || !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("etcdtest: %v", err)
		}
		t.Logf("etcdtest: %v; starting again on other ports", err)
	}
}

func start(t testing.TB, n int) (*Cluster, error) {
	c := &Cluster{t: t}
	taken := map[int]bool{}
	var parts []string
	for i := range n {
		c.names = append(c.names, fmt.Sprintf("m%d", i))
		c.dirs = append(c.dirs, t.TempDir())
		c.peer = append(c.peer, url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort(t, taken))})
		c.client = append(c.client, url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", freePort(t, taken))})
		parts = append(parts, c.names[i]+"="+c.peer[i].String())
	}
	c.initial = strings.Join(parts, ",")
	c.etcds = make([]*embed.Etcd, n)
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- c.start(i, "new") }()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
			c.Close() // the others would wait for it until their timeout
		}
	}
	if first != nil {
		c.Close()
		return nil, first
	}
	return c, nil
}

func (c *Cluster) start(i int, state string) error {
	cfg := embed.NewConfig()
	cfg.Name = c.names[i]
	cfg.Dir = c.dirs[i]
	cfg.ListenPeerUrls = []url.URL{c.peer[i]}
	cfg.AdvertisePeerUrls = []url.URL{c.peer[i]}
	cfg.ListenClientUrls = []url.URL{c.client[i]}
	cfg.AdvertiseClientUrls = []url.URL{c.client[i]}
	cfg.InitialCluster = c.initial
	cfg.InitialClusterToken = "cemon-test"
	cfg.ClusterState = state
	cfg.LogLevel = "fatal" // a stopped member logs its closed listeners as errors
	cfg.LogOutputs = []string{"stderr"}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		if !errors.Is(err, syscall.EADDRINUSE) && strings.Contains(err.Error(), "address already in use") {
			err = fmt.Errorf("%w: %v", syscall.EADDRINUSE, err)
		}
		return fmt.Errorf("member %s: %w", c.names[i], err)
	}
	c.mu.Lock()
	c.etcds[i] = e
	c.mu.Unlock()
	select {
	case <-e.Server.ReadyNotify():
	case <-e.Server.StopNotify():
		return fmt.Errorf("member %s: stopped before it was ready", c.names[i])
	case <-time.After(30 * time.Second):
		c.Stop(i)
		return fmt.Errorf("member %s: not ready after 30s", c.names[i])
	}
	return nil
}

// Endpoints are the client URLs of every member.
func (c *Cluster) Endpoints() []string {
	out := make([]string, len(c.client))
	for i, u := range c.client {
		out[i] = u.String()
	}
	return out
}

// Stop stops member i (its data stays for Restart).
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	e := c.etcds[i]
	c.etcds[i] = nil
	c.mu.Unlock()
	if e != nil {
		e.Close()
	}
}

// Restart starts a stopped member i again with its data; with no quorum left it
// returns once the member listens, and serves when enough members are back.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if err := c.start(i, "existing"); err != nil {
		c.t.Fatalf("etcdtest: %v", err)
	}
}

// RestartAll starts every stopped member again, together (each waits for quorum).
func (c *Cluster) RestartAll() {
	c.t.Helper()
	var stopped []int
	c.mu.Lock()
	for i, e := range c.etcds {
		if e == nil {
			stopped = append(stopped, i)
		}
	}
	c.mu.Unlock()
	errs := make(chan error, len(stopped))
	for _, i := range stopped {
		go func() { errs <- c.start(i, "existing") }()
	}
	for range stopped {
		if err := <-errs; err != nil {
			c.t.Fatalf("etcdtest: %v", err)
		}
	}
}

// Close stops every member.
func (c *Cluster) Close() {
	for i := range c.etcds {
		c.Stop(i)
	}
}
