package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShedAtAccept: past MaxConns open connections, a new one gets a fixed 503 with
// Retry-After at accept, except /healthz and /metrics, which the handler answers as
// usual; once connections close, new ones are served again.
func TestShedAtAccept(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{}, 2)
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "slow\n")
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, Config{MaxConns: 2}, ln, mux, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	base := "http://" + ln.Addr().String()

	// Two slow requests hold both places.
	slow := make(chan string, 2)
	for range 2 {
		go func() {
			res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(base + "/slow")
			if err != nil {
				slow <- err.Error()
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			slow <- string(b)
		}()
	}
	for range 2 {
		select {
		case <-entered:
		case <-time.After(5 * time.Second):
			t.Fatal("the slow requests did not arrive")
		}
	}

	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}).Get(base + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	res, body := get("/anything")
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	assert.Equal(t, "1", res.Header.Get("Retry-After"))
	assert.JSONEq(t, `{"error":"busy: too many connections; retry shortly"}`, body)
	res, body = get("/healthz")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.JSONEq(t, `{"status":"ok"}`, body)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	res, _ = get("/metrics?x=1")
	assert.Equal(t, http.StatusTeapot, res.StatusCode)
	res, _ = get("/healthzz")
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)

	close(release)
	for range 2 {
		assert.Equal(t, "slow\n", <-slow)
	}
	require.Eventually(t, func() bool {
		res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(base + "/anything")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusNotFound
	}, 5*time.Second, 20*time.Millisecond, "served again once the slow connections closed")
}

func TestCheapPath(t *testing.T) {
	for line, want := range map[string]bool{
		"GET /healthz HTTP/1.1": true, "GET /healthz?x HTTP": true, "HEAD /healthz HTTP/1.1": true,
		"GET /metrics HTTP/1.1": true, "GET /healthzz HTTP/1": false, "POST /healthz HTTP/1": false,
		"GET /api/v1/flows HTTP/1.1": false, "GET /healthz": false,
	} {
		assert.Equal(t, want, cheapPath([]byte(line)), line)
	}
}
