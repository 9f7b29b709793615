package api

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxConns bounds the connections the API serves at once (Config.MaxConns).
const DefaultMaxConns = 256

// shedPeek bounds how long a connection past the bound may take to send its request
// line (the server's default ReadHeaderTimeout), and shedDrain how long its close
// waits for the client to hang up.
const (
	shedPeek  = 5 * time.Second
	shedDrain = 3 * time.Second
)

// shedListener sheds connections at accept, before any HTTP parsing: past max open
// connections, a new one is not handed to the server (no buffers, no request, no
// handler) but to a small goroutine that reads its request line, answers a health or
// metrics request through the handler as usual, and anything else with a fixed 503
// and Retry-After, then closes it. A wave of thousands of clients thus costs the
// server a few hundred connections' work, and /healthz and /metrics keep answering.
type shedListener struct {
	net.Listener
	max   int64
	h     http.Handler
	open  atomic.Int64
	shed  atomic.Uint64
	cheap sync.Pool // *bufio.Reader of the shed path
}

func newShedListener(ln net.Listener, max int, h http.Handler) *shedListener {
	l := &shedListener{Listener: ln, max: int64(max), h: h}
	l.cheap.New = func() any { return bufio.NewReaderSize(nil, 1024) }
	return l
}

// Accept returns the next connection within the bound; those past it are answered
// on the side.
func (l *shedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= l.max {
			return &countedConn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		l.shed.Add(1)
		go l.answer(c)
	}
}

// countedConn gives its place back when closed.
type countedConn struct {
	net.Conn
	l    *shedListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

// busyBody is the shed answer's body, as writeError writes errors.
var busyBody = []byte(`{"error":"busy: too many connections; retry shortly"}` + "\n")

var busyResponse = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n" +
	"Connection: close\r\nContent-Length: " + strconv.Itoa(len(busyBody)) + "\r\n\r\n" + string(busyBody))

// answer serves one connection past the bound: one request, then close.
func (l *shedListener) answer(c net.Conn) {
	defer c.Close()
	br := l.cheap.Get().(*bufio.Reader)
	br.Reset(c)
	defer func() { br.Reset(nil); l.cheap.Put(br) }()
	_ = c.SetReadDeadline(time.Now().Add(shedPeek))
	line, _ := br.Peek(16)
	if len(line) == 0 {
		// The client hung up, or sent nothing within shedPeek (as the server's
		// ReadHeaderTimeout would, it is closed). No answer goes before the
		// request: an HTTP client takes an answer to a request it has not sent
		// yet for a broken connection.
		return
	}
	if cheapPath(line) {
		req, err := http.ReadRequest(br)
		if err == nil {
			w := &closingWriter{header: http.Header{}}
			l.h.ServeHTTP(w, req)
			_ = c.SetWriteDeadline(time.Now().Add(shedPeek))
			_, _ = c.Write(w.response(req.Method == http.MethodHead))
			closeGently(c)
			return
		}
	}
	// The write gets its own deadline, from now: a goroutine that waited for the CPU
	// must not find it spent and close without an answer.
	_ = c.SetWriteDeadline(time.Now().Add(shedPeek))
	_, _ = c.Write(busyResponse)
	closeGently(c)
}

// cheapPath reports whether a request line asks for /healthz or /metrics, which are
// answered whatever the load.
func cheapPath(line []byte) bool {
	for _, p := range [...]string{"GET /healthz", "GET /metrics", "HEAD /healthz"} {
		if bytes.HasPrefix(line, []byte(p)) && len(line) > len(p) && (line[len(p)] == ' ' || line[len(p)] == '?') {
			return true
		}
	}
	return false
}

// closeGently ends the write side, then waits (bounded) for the client to hang up
// before closing: a close with the client's bytes still unread would reset the
// connection, and the reset could destroy the answer before the client read it.
func closeGently(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(shedDrain))
	var buf [512]byte
	for {
		if _, err := c.Read(buf[:]); err != nil {
			return
		}
	}
}

// closingWriter collects a handler's answer for a connection that closes after it.
type closingWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *closingWriter) Header() http.Header { return w.header }

func (w *closingWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *closingWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

func (w *closingWriter) response(head bool) []byte {
	code := w.code
	if code == 0 {
		code = http.StatusOK
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", code, http.StatusText(code))
	w.header.Del("Content-Length")
	w.header.Del("Connection")
	_ = w.header.Write(&b)
	fmt.Fprintf(&b, "Connection: close\r\nContent-Length: %d\r\n\r\n", w.body.Len())
	if !head {
		_, _ = io.Copy(&b, &w.body)
	}
	return b.Bytes()
}
