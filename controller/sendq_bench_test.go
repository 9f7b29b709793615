package controller

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/cemon-sdn/cemon/flowkey"
	"github.com/cemon-sdn/cemon/ofproto"
)

// loopbackPair returns a TCP connection on 127.0.0.1 whose peer discards what it reads.
func loopbackPair(b *testing.B) net.Conn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
		io.Copy(io.Discard, c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	peer, ok := <-accepted
	if !ok {
		b.Fatal("accept failed")
	}
	b.Cleanup(func() { c.Close(); peer.Close() })
	return c
}

// benchResponse is what the controller answers a new flow's PACKET_IN with: a
// FLOW_MOD and the PACKET_OUT of the frame.
func benchResponse() []ofproto.Message {
	frame := make([]byte, 64)
	return []ofproto.Message{
		&ofproto.FlowMod{Match: flowkey.ToMatch(benchKey(3), 1), Command: ofproto.FlowAdd, IdleTimeout: 10,
			Priority: 100, BufferID: ofproto.BufferNone, OutPort: ofproto.PortNone, Flags: ofproto.FlagSendFlowRem,
			Actions: []ofproto.Action{&ofproto.OutputAction{Port: 2}}},
		&ofproto.PacketOut{BufferID: ofproto.BufferNone, InPort: 1, Actions: []ofproto.Action{&ofproto.OutputAction{Port: 2}},
			Data: frame},
	}
}

// BenchmarkConnWrite is the write path on a real loopback socket: messages queued on
// a connection's send queue and written by flush, one batch (one Write per 64 KiB)
// per flush, against one Write per message. An op is one message.
func BenchmarkConnWrite(b *testing.B) {
	msgs := benchResponse()
	for _, batch := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batched-%d", batch), func(b *testing.B) {
			nc := loopbackPair(b)
			cn := newConn(nc, Config{SendQueue: 1 << 20, StallTimeout: time.Minute}, nil)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; {
				for j := 0; j < batch && i < b.N; j++ {
					if err := cn.push(msgs[i%2], false); err != nil {
						b.Fatal(err)
					}
					i++
				}
				if _, err := cn.flush(nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("per-message", func(b *testing.B) {
		// One encoding and one Write per message: what batching saves.
		nc := loopbackPair(b)
		buf := make([]byte, 0, 1024)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var err error
			if buf, err = ofproto.AppendMarshal(buf[:0], msgs[i%2]); err != nil {
				b.Fatal(err)
			}
			nc.SetWriteDeadline(time.Now().Add(time.Minute))
			if _, err := nc.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkConnEncode is the encoding half of the write path without the socket: a
// batch of 256 responses encoded into the connection's reused buffer. An op is one
// message.
func BenchmarkConnEncode(b *testing.B) {
	msgs := benchResponse()
	cn := newConn(discardConn{}, Config{SendQueue: 1 << 20, StallTimeout: time.Minute}, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		for j := 0; j < 256 && i < b.N; j++ {
			cn.push(msgs[i%2], false)
			i++
		}
		if _, err := cn.flush(nil); err != nil {
			b.Fatal(err)
		}
	}
}

// discardConn is a net.Conn whose writes vanish.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error)        { return len(p), nil }
func (discardConn) SetWriteDeadline(t time.Time) error { return nil }
func (discardConn) Close() error                       { return nil }
