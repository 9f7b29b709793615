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

// budget lets each switch send at most Max IPv4 PACKET_INs per tick on to Routing; the
// others are stopped, and nothing is installed for them.
type budget struct {
	controller.BaseApp // every event but the ones below: nothing to do
	Max                int
	used               map[uint64]int
}

func (b *budget) Name() string { return "budget" }

func (b *budget) PacketIn(x *controller.Context, sw controller.Switch, m *ofproto.PacketIn, now time.Time) controller.Verdict {
	if b.used[sw.DPID()] >= b.Max {
		return controller.Stop
	}
	b.used[sw.DPID()]++
	return controller.Continue
}

func (b *budget) Tick(x *controller.Context, now time.Time) { clear(b.used) }

// An application of one's own between the built-in ones: a PACKET_IN budget goes
// before Routing, so that what it stops is never routed.
func Example_application() {
	cfg := controller.Config{Apps: []controller.App{
		controller.Discovery,
		&budget{Max: 100, used: map[uint64]int{}},
		controller.Routing,
	}}
	fmt.Println(cfg.Validate())
	c := controller.New(cfg, nil)
	_ = c // c.Serve(ctx, ln) as in the package example

	// The built-ins in the wrong order are refused.
	fmt.Println(controller.Config{Apps: []controller.App{controller.Routing, controller.Discovery}}.Validate())
	// Output:
	// <nil>
	// controller: bad config: Apps: routing needs discovery before it
}
