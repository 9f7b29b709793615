package api

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// ErrNoToken is wrapped when the API would listen beyond loopback without a
// bearer token for writes.
var ErrNoToken = errors.New("api: a bearer token (--api-token-file) is required to listen beyond loopback")

// isLoopbackHost reports whether host (of host:port) binds loopback only.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkLoopback refuses a listener beyond loopback when no token is set.
func checkLoopback(addr net.Addr, token string) error {
	if token != "" {
		return nil
	}
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w (listening on %s)", ErrNoToken, addr)
}

// requireToken answers 401 to any request other than GET, HEAD or OPTIONS
// that does not carry "Authorization: Bearer TOKEN".
func requireToken(token string, h http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			h.ServeHTTP(w, req)
			return
		}
		got := []byte(req.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cemon"`)
			writeError(w, http.StatusUnauthorized, "writes need the API bearer token (Authorization: Bearer TOKEN)")
			return
		}
		h.ServeHTTP(w, req)
	})
}

// auditWrites logs every request other than GET, HEAD and OPTIONS (the writes, and
// attempts at them) with the client's address, the method, the path and the answer's
// status, once it is answered.
func auditWrites(logger *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			h.ServeHTTP(w, req)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		h.ServeHTTP(sw, req)
		lv := slog.LevelInfo
		if sw.status >= 400 {
			lv = slog.LevelWarn
		}
		logger.Log(req.Context(), lv, "api write", "client", req.RemoteAddr, "method", req.Method,
			"path", req.URL.Path, "status", sw.status, "authorized", req.Header.Get("Authorization") != "",
			"duration", time.Since(start))
	})
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wroteHeader = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
