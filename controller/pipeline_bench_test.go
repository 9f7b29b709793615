package controller

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/ofproto"
)

// BenchmarkRequestPath measures one flow statistics request (a one-part reply) to a
// switch on a loopback TCP connection, depth of them outstanding: "request" the way a
// round sent them before RequestPipelined (depth goroutines, each calling Request
// with its own context.WithTimeout, one request at a time), "pipelined" through
// RequestPipelined. The fake switch runs in the same process: cpu-ns/op counts its
// decoding and replies too.
func BenchmarkRequestPath(b *testing.B) {
	for _, depth := range []int{1, 16} {
		for _, path := range []string{"request", "pipelined"} {
			b.Run(fmt.Sprintf("%s/depth=%d", path, depth), func(b *testing.B) {
				c, dpid := benchSwitch(b)
				ctx := b.Context()
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cpuTime()
				var failed atomic.Int64
				if path == "request" {
					var next atomic.Int64
					var wg sync.WaitGroup
					for range depth {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for next.Add(1) <= int64(b.N) {
								rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
								if _, err := c.Request(rctx, dpid, flowStatsReq()); err != nil {
									failed.Add(1)
								}
								cancel()
							}
						}()
					}
					wg.Wait()
				} else {
					n := 0
					err := c.RequestPipelined(ctx, dpid, depth, 10*time.Second, func() ofproto.Message {
						if n == b.N {
							return nil
						}
						n++
						return flowStatsReq()
					}, func(i int, msgs []ofproto.Message, err error) {
						if err != nil {
							failed.Add(1)
						}
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
				if f := failed.Load(); f > 0 {
					b.Fatalf("%d requests failed", f)
				}
			})
		}
	}
}

// benchSwitch serves a controller on loopback with one wire switch connected, both
// stopped when the benchmark ends.
func benchSwitch(b *testing.B) (*Controller, uint64) {
	b.Helper()
	c := New(Config{}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Serve(ctx, ln) }()
	b.Cleanup(func() { cancel(); <-errc })
	sub := c.Subscribe(64, SwitchUp)
	defer sub.Close()
	const dpid = 5
	dialSwitch(b, ln.Addr().String(), dpid, 1)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-sub.C:
			if e.Kind == SwitchUp && e.DPID == dpid {
				return c, dpid
			}
		case <-timeout:
			b.Fatal("the switch did not come up")
		}
	}
}
