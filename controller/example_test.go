package controller_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/cemon-sdn/cemon/controller"
	"github.com/cemon-sdn/cemon/ofproto"
)

// A controller on a loopback port, a subscriber that asks every switch that comes up
// for its flow statistics, and a clean stop.
func Example() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c := controller.New(controller.Config{IdleTimeout: 10 * time.Second}, logger)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // switches: ovs-vsctl set-controller BR tcp:ADDR
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()

	sub := c.Subscribe(0, controller.SwitchUp)
	defer sub.Close()
	go func() {
		for ev := range sub.C {
			req := &ofproto.StatsRequest{Body: &ofproto.FlowStatsRequest{
				Match: ofproto.MatchAll(), TableID: 0xff, OutPort: ofproto.PortNone}}
			parts, err := c.Request(ctx, ev.DPID, req) // every OFPSF_REPLY_MORE part, in order
			if err != nil {
				continue
			}
			fmt.Println(len(parts))
		}
	}()

	err = c.Serve(ctx, ln) // returns nil once ctx ends
	fmt.Println("stopped:", err)
	// Output: stopped: <nil>
}
