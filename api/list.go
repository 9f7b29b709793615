package api

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Lists are paged, streamed and bounded:
//
//   - ?limit=N (default DefaultPageLimit, at most MaxPageLimit) and ?after=CURSOR
//     select a page of a list in its order; the answer stays a JSON array, and when
//     more items follow, a Link header names the next page (rel="next"), whose
//     cursor is opaque;
//   - the array is encoded item by item onto the connection, never whole in memory,
//     and the encoding stops as soon as the client has gone;
//   - at most MaxConcurrentLists list requests are served at once; past that the
//     answer is an immediate 503 with Retry-After, so that /healthz and /metrics,
//     which are not bounded, keep answering while lists are under load;
//   - past Config.MaxConns open connections (default 256), a new connection is
//     answered at accept, before any HTTP parsing (shed.go): /healthz and /metrics as
//     usual, anything else with the same fast 503, and closed.
const (
	DefaultPageLimit = 1000
	MaxPageLimit     = 10000
)

// MaxConcurrentLists bounds the list requests served at once: building and encoding a
// list is CPU work, and one per core (at least two) keeps the cores busy without
// queueing the controller and the health checks behind list builders.
var MaxConcurrentLists = max(2, runtime.GOMAXPROCS(0))

// pageParams are the query parameters every list accepts.
var pageParams = []Param{
	{Name: "limit", Type: "integer", Description: fmt.Sprintf("items per page, 1 to %d (default %d)", MaxPageLimit, DefaultPageLimit)},
	{Name: "after", Description: "the cursor of the Link rel=\"next\" header of the previous page"},
}

// listOp returns op with the paging parameters and the list bound.
func listOp(op Op) Op {
	op.Query = append(slices.Clone(op.Query), pageParams...)
	op.list = true
	return op
}

// page is a parsed ?limit and ?after.
type page struct {
	limit int
	after string // decoded cursor; "" from the start
}

func parsePage(q url.Values) (page, error) {
	p := page{limit: DefaultPageLimit}
	if vs := q["limit"]; len(vs) > 0 {
		if len(vs) > 1 {
			return p, fmt.Errorf("limit: given more than once")
		}
		n, err := strconv.Atoi(vs[0])
		if err != nil || n < 1 || n > MaxPageLimit {
			return p, fmt.Errorf("limit %q: want a whole number from 1 to %d", vs[0], MaxPageLimit)
		}
		p.limit = n
	}
	if vs := q["after"]; len(vs) > 0 {
		if len(vs) > 1 {
			return p, fmt.Errorf("after: given more than once")
		}
		b, err := base64.RawURLEncoding.DecodeString(vs[0])
		if err != nil || len(b) == 0 {
			return p, fmt.Errorf("after %q: not a cursor of this API (take it from the Link header)", vs[0])
		}
		p.after = string(b)
	}
	return p, nil
}

// writeList answers a list: items sorted by key (which must be unique and whose
// order is the list's order), the page the query selects, streamed.
func writeList[T any](w http.ResponseWriter, req *http.Request, items []T, key func(*T) string) {
	writeListMore(w, req, items, key, false)
}

// writeListMore is writeList where items may be only a part of the list past the
// page: more says that items after the last of them exist elsewhere (a peer's next
// page), so a full page is followed by a Link to the next even when items end with
// it.
func writeListMore[T any](w http.ResponseWriter, req *http.Request, items []T, key func(*T) string, more bool) {
	p, err := parsePage(req.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	keys := make([]string, len(items))
	order := make([]int, len(items))
	for i := range items {
		keys[i] = key(&items[i])
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	start := 0
	if p.after != "" {
		start, _ = slices.BinarySearchFunc(order, p.after, func(i int, k string) int {
			if c := strings.Compare(keys[i], k); c != 0 {
				return c
			}
			return -1 // an equal key is before "after": start past it
		})
	}
	end := min(len(order), start+p.limit)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if end < len(order) || (more && end > start) {
		next := *req.URL
		q := next.Query()
		q.Set("limit", strconv.Itoa(p.limit))
		q.Set("after", base64.RawURLEncoding.EncodeToString([]byte(keys[order[end-1]])))
		next.RawQuery = q.Encode()
		h.Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", next.RequestURI()))
	}
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	ctx := req.Context()
	_ = bw.WriteByte('[')
	for n, i := range order[start:end] {
		if n > 0 {
			_ = bw.WriteByte(',')
		}
		if n%64 == 0 {
			if ctx.Err() != nil {
				return // the client has gone: stop encoding
			}
			if n > 0 {
				// Let the goroutines waiting for a core (a health check, the
				// controller's readers) run between chunks of a long list.
				runtime.Gosched()
			}
		}
		b, err := json.Marshal(&items[i])
		if err != nil {
			return // cannot happen with the API's types; the status is already sent
		}
		if _, err := bw.Write(b); err != nil {
			return // the connection failed
		}
	}
	_, _ = bw.WriteString("]\n")
	_ = bw.Flush()
}

// bounded serves h only while fewer than MaxConcurrentLists requests hold a slot;
// otherwise it answers 503 at once.
func bounded(slots chan struct{}, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			h(w, req)
		default:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("busy: %d list requests in progress; retry shortly", cap(slots)))
		}
	}
}

// Cursor keys that sort as the lists do.
func idKey(id uint64) string { return fmt.Sprintf("%020d", id) }

func linkKey(src string, sp uint16, dst string, dp uint16) string {
	return fmt.Sprintf("%s/%05d/%s/%05d", src, sp, dst, dp)
}
