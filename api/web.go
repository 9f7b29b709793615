package api

import (
	_ "embed"
	"net/http"
	"strconv"
)

// indexHTML is the web page at /: the REST views as tables, refreshed every two
// seconds by the browser. It loads nothing from elsewhere.
//
//go:embed index.html
var indexHTML []byte

func serveIndex(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(indexHTML)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	_, _ = w.Write(indexHTML)
}
