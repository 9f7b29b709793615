package controller

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// deadlineConn is a net.Conn that takes every write and records the write deadlines set.
type deadlineConn struct {
	net.Conn
	deadlines []time.Time
	writes    int
}

func (d *deadlineConn) Write(b []byte) (int, error) { d.writes++; return len(b), nil }

func (d *deadlineConn) SetWriteDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	return nil
}

// A busy connection does not reset its socket's write deadline on every write: the
// deadline is moved only when less than StallTimeout of it is left, so each write
// still gets at least StallTimeout and at most 9/8 of it.
func TestWriteDeadlineRefreshedOnlyWhenDue(t *testing.T) {
	const stall = 2 * time.Second
	nc := &deadlineConn{}
	cn := newConn(nc, Config{SendQueue: 16, StallTimeout: stall}, slog.New(slog.DiscardHandler))
	check := func() {
		now := time.Now()
		require.NoError(t, cn.write([]byte{1}))
		require.NotEmpty(t, nc.deadlines)
		left := nc.deadlines[len(nc.deadlines)-1].Sub(now)
		require.GreaterOrEqual(t, left, stall, "a write got less than StallTimeout")
		require.LessOrEqual(t, left, stall+stall/8+50*time.Millisecond)
	}
	for range 1000 {
		check()
	}
	require.Equal(t, 1000, nc.writes)
	require.Len(t, nc.deadlines, 1, "the deadline was reset by writes that did not need it")
	// Once an eighth of the timeout has passed, the next write moves it again.
	time.Sleep(stall/8 + 10*time.Millisecond)
	check()
	require.Len(t, nc.deadlines, 2)
	require.NoError(t, cn.write(nil))
	require.Equal(t, 1001, nc.writes, "an empty write does not reach the socket")
}
