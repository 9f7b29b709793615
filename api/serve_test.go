package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		names []string // fields the error must name; none means valid
	}{
		{"zero value", Config{}, nil},
		{"explicit", Config{Addr: "127.0.0.1:0", ReadHeaderTimeout: time.Second, MaxHeaderBytes: 1024}, nil},
		{"ipv6", Config{Addr: "[::1]:8080"}, nil},
		{"no port", Config{Addr: "127.0.0.1"}, []string{"Addr"}},
		{"empty port", Config{Addr: "127.0.0.1:"}, []string{"Addr"}},
		{"every bad field", Config{Addr: "x", ReadHeaderTimeout: -1, ReadTimeout: -1, WriteTimeout: -1,
			IdleTimeout: -1, ShutdownTimeout: -1, MaxHeaderBytes: -1},
			[]string{"Addr", "ReadHeaderTimeout", "ReadTimeout", "WriteTimeout", "IdleTimeout", "ShutdownTimeout", "MaxHeaderBytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.names) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate = %v, want ErrConfig", err)
			}
			for _, n := range tt.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %s", err, n)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.Addr != DefaultAddr || c.ReadHeaderTimeout <= 0 || c.ReadTimeout <= 0 || c.WriteTimeout <= 0 ||
		c.IdleTimeout <= 0 || c.ShutdownTimeout <= 0 || c.MaxHeaderBytes <= 0 {
		t.Errorf("defaults left a zero field: %+v", c)
	}
	c = Config{Addr: "127.0.0.1:1", ReadHeaderTimeout: 7 * time.Second}.withDefaults()
	if c.Addr != "127.0.0.1:1" || c.ReadHeaderTimeout != 7*time.Second {
		t.Errorf("defaults overrode a set field: %+v", c)
	}
}

// serverGoroutines counts goroutines still inside net/http's server or this
// package's Serve, waiting (bounded) for them to end.
func serverGoroutines(t *testing.T) int {
	t.Helper()
	var n int
	for range 100 {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		n = 0
		for _, g := range bytes.Split(buf, []byte("\n\n")) {
			s := string(g)
			if strings.Contains(s, "net/http.(*conn).serve") || strings.Contains(s, "net/http.(*Server).Serve") ||
				strings.Contains(s, "api.ServeListener") {
				n++
			}
		}
		if n == 0 {
			return 0
		}
		time.Sleep(10 * time.Millisecond)
	}
	return n
}

func TestServeListenerLifecycle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, Config{}, ln, NewHandler(testBackend(), nil), logger) }()

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	res, err := client.Get("http://" + addr + "/api/v1/flows/7")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"final_byte_count":1500`) {
		t.Errorf("status %d body %s", res.StatusCode, body)
	}
	// Leave a kept-alive connection open: shutdown must still finish.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeListener returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeListener did not return after its context ended")
	}
	client.CloseIdleConnections()
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("listener still accepts after shutdown")
	}
	if !strings.Contains(logs.String(), "addr="+addr) {
		t.Errorf("log does not name the address:\n%s", logs.String())
	}
	if n := serverGoroutines(t); n != 0 {
		t.Errorf("%d server goroutines left after shutdown", n)
	}
}

func TestServeErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := NewHandler(&fakeBackend{}, nil)
	tests := []struct {
		name     string
		cfg      Config
		contains string
	}{
		{"invalid config", Config{Addr: "nonsense"}, "api: invalid config"},
		{"address in use", Config{Addr: busy.Addr().String()}, "api: listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Serve(ctx, tt.cfg, h, nil)
			if err == nil || !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("Serve = %v, want an error containing %q", err, tt.contains)
			}
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := ServeListener(ctx, Config{}, ln, nil, nil); err == nil {
		t.Error("ServeListener with a nil handler: no error")
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("ServeListener left the listener open after refusing a nil handler")
	}
}

func TestServeListenerFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, Config{}, ln, NewHandler(&fakeBackend{}, nil), nil) }()
	// Closing the listener under the server is a failure Serve must report.
	// Wait until it is serving, so the close is not mistaken for a refusal.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatal("server never accepted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ln.Close()
	select {
	case err := <-done:
		if err == nil || !strings.HasPrefix(err.Error(), "api: serve") {
			t.Errorf("ServeListener = %v, want an api: serve error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeListener did not return after its listener closed")
	}
}

// TestWritesAudited: every write through the API, allowed or not, is logged with the
// client's address, method, path and status; reads are not.
func TestWritesAudited(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, Config{Token: "s3cret"}, ln, h, logger) }()
	defer func() { cancel(); <-done }()
	base := "http://" + ln.Addr().String()
	do := func(method, token string) int {
		req, _ := http.NewRequest(method, base+"/api/v1/polling", strings.NewReader("{}"))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := do(http.MethodPut, "s3cret"); got != http.StatusNoContent {
		t.Fatalf("PUT with token: %d", got)
	}
	if got := do(http.MethodPost, ""); got != http.StatusUnauthorized {
		t.Fatalf("POST without token: %d", got)
	}
	do(http.MethodGet, "")
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	for _, want := range []string{
		`msg="api write" client=127.0.0.1:`, `method=PUT path=/api/v1/polling status=204 authorized=true`,
		`method=POST path=/api/v1/polling status=401 authorized=false`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "method=GET") {
		t.Errorf("a read was logged as a write:\n%s", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
