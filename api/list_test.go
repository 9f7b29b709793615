package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func manyFlows(n int) *fakeBackend {
	b := &fakeBackend{}
	for i := 1; i <= n; i++ {
		b.flows = append(b.flows, Flow{ID: uint64(i), Cookie: fmt.Sprintf("0x%016x", i), State: StateActive,
			Path: []string{"0000000000000001"}, Start: time.Unix(1700000000, 0).UTC()})
	}
	return b
}

// TestListPaging walks /api/v1/flows page by page through the Link headers: the
// pages together are the whole list, in order, each within the limit.
func TestListPaging(t *testing.T) {
	h := NewHandler(manyFlows(2500), nil)
	var all []Flow
	next, pages := "/api/v1/flows?limit=1000", 0
	for next != "" && pages < 10 {
		req := httptest.NewRequest("GET", next, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		var fs []Flow
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &fs))
		require.LessOrEqual(t, len(fs), 1000)
		all = append(all, fs...)
		pages++
		next = ""
		if l := rec.Header().Get("Link"); l != "" {
			require.True(t, strings.HasSuffix(l, `>; rel="next"`), l)
			next = l[1:strings.Index(l, ">")]
		}
	}
	require.Equal(t, 3, pages)
	require.Len(t, all, 2500)
	for i, f := range all {
		require.Equal(t, uint64(i+1), f.ID)
	}
	// The default page is 1,000 items; the last page has no Link.
	code, hdr, body := do(t, h, "GET", "/api/v1/flows")
	require.Equal(t, 200, code)
	require.NotEmpty(t, hdr.Get("Link"))
	var fs []Flow
	require.NoError(t, json.Unmarshal([]byte(body), &fs))
	require.Len(t, fs, DefaultPageLimit)
	_, hdr, _ = do(t, h, "GET", "/api/v1/flows?limit=10000")
	require.Empty(t, hdr.Get("Link"))

	for _, bad := range []string{"limit=0", "limit=10001", "limit=x", "after=%%%", "after=!", "limit=1&limit=2"} {
		code, _, body := do(t, h, "GET", "/api/v1/flows?"+bad)
		require.Equal(t, 400, code, "%s: %s", bad, body)
	}
}

// blockingBackend's Flows waits until release is closed.
type blockingBackend struct {
	fakeBackend
	entered chan struct{}
	release chan struct{}
}

func (b *blockingBackend) Flows() []Flow {
	b.entered <- struct{}{}
	<-b.release
	return nil
}

// TestListsBounded: with every list slot taken, another list request gets a 503
// with Retry-After at once, while /healthz still answers.
func TestListsBounded(t *testing.T) {
	b := &blockingBackend{entered: make(chan struct{}, MaxConcurrentLists), release: make(chan struct{})}
	srv := httptest.NewServer(NewHandler(b, nil))
	defer srv.Close()
	var wg sync.WaitGroup
	for range MaxConcurrentLists {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := srv.Client().Get(srv.URL + "/api/v1/flows")
			if err == nil {
				res.Body.Close()
			}
		}()
	}
	for range MaxConcurrentLists {
		<-b.entered
	}
	start := time.Now()
	res, err := srv.Client().Get(srv.URL + "/api/v1/flows")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	require.Equal(t, "1", res.Header.Get("Retry-After"))
	require.Less(t, time.Since(start), 2*time.Second)
	res, err = srv.Client().Get(srv.URL + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	close(b.release)
	wg.Wait()
}

// countingWriter counts what a handler writes.
type countingWriter struct {
	httptest.ResponseRecorder
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// TestListStopsForGoneClient: a request whose client has gone stops encoding.
func TestListStopsForGoneClient(t *testing.T) {
	h := NewHandler(manyFlows(5000), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/api/v1/flows?limit=5000", nil).WithContext(ctx)
	w := &countingWriter{ResponseRecorder: *httptest.NewRecorder()}
	h.ServeHTTP(w, req)
	whole := httptest.NewRecorder()
	h.ServeHTTP(whole, httptest.NewRequest("GET", "/api/v1/flows?limit=5000", nil))
	require.Less(t, w.n, whole.Body.Len()/10, "a gone client's list was encoded (%d of %d bytes)", w.n, whole.Body.Len())
}
