package api

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
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
