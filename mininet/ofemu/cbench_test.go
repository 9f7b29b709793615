package ofemu

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cemon-sdn/cemon/ofproto"
)

// A controller that completes the handshake and then closes every connection: cbench
// reports each switch as disconnected (and does not fail the run).
func TestCbenchReportsDisconnects(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fr := ofproto.NewFramer(c, 0)
				for _, m := range []ofproto.Message{&ofproto.Hello{Xid: 1}, &ofproto.FeaturesRequest{Xid: 2}} {
					b, _ := m.MarshalBinary()
					c.Write(b)
				}
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				for {
					b, err := fr.Next()
					if err != nil {
						return
					}
					if ofproto.Type(b[1]) == ofproto.TypePacketIn {
						return // the first PACKET_IN: hang up
					}
				}
			}()
		}
	}()
	res, err := Cbench(context.Background(), CbenchConfig{Controller: ln.Addr().String(), Switches: 3, MACs: 8,
		Warmup: 100 * time.Millisecond, Duration: 300 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, 3, res.Disconnected)
}

// Successive packets of one flow differ (the IPv4 id), and hosts of different
// switches have different addresses even past dpid 255.
func TestCbenchFrames(t *testing.T) {
	a := append([]byte(nil), frame(make([]byte, 64), 1, 5, 10, 0)...)
	b := append([]byte(nil), frame(make([]byte, 64), 1, 5, 10, 1)...)
	require.NotEqual(t, a, b)
	require.Equal(t, a[:18], b[:18]) // same MACs, type and IP header start
	c := frame(make([]byte, 64), 257, 5, 10, 0)
	require.NotEqual(t, a[6:12], c[6:12])
	require.NotEqual(t, a[26:30], c[26:30])
	require.Zero(t, a[0]&1, "unicast destination")
}
