package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Config sets up the API server. The zero value is usable: every zero field takes
// the default named in its comment.
type Config struct {
	// Addr is the TCP address to listen on, host:port. Default "127.0.0.1:8080".
	Addr string
	// ReadHeaderTimeout bounds reading a request's headers. Default 5s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request. Default 10s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing an answer. Default 30s.
	WriteTimeout time.Duration
	// IdleTimeout bounds a kept-alive connection's wait for its next request.
	// Default 60s.
	IdleTimeout time.Duration
	// ShutdownTimeout bounds the wait for requests in flight once the context
	// ends; connections still busy after it are closed. Default 5s.
	ShutdownTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers. Default 64 KiB.
	MaxHeaderBytes int
	// MaxConns bounds the connections served at once. Past it, a new connection is
	// answered at accept, without the server's buffers: /healthz and /metrics as
	// usual, anything else with 503 and Retry-After, and closed. Default
	// DefaultMaxConns.
	MaxConns int
	// Token, when set, is the bearer token every write (any method but GET,
	// HEAD and OPTIONS) must carry; without one the API listens on loopback
	// only.
	Token string
}

// DefaultAddr is where the API listens when Config.Addr is empty.
const DefaultAddr = "127.0.0.1:8080"

// ErrConfig is wrapped by every error Validate returns.
var ErrConfig = errors.New("api: invalid config")

// Validate reports every bad field of c at once; zero fields are valid (they take
// their defaults).
func (c Config) Validate() error {
	var errs []error
	if c.Addr != "" {
		if _, port, err := net.SplitHostPort(c.Addr); err != nil {
			errs = append(errs, fmt.Errorf("%w: Addr %q: %v", ErrConfig, c.Addr, err))
		} else if port == "" {
			errs = append(errs, fmt.Errorf("%w: Addr %q: missing port", ErrConfig, c.Addr))
		} else if host, _, _ := net.SplitHostPort(c.Addr); c.Token == "" && !isLoopbackHost(host) {
			errs = append(errs, fmt.Errorf("%w: Addr %q: %w", ErrConfig, c.Addr, ErrNoToken))
		}
	}
	if strings.ContainsAny(c.Token, " \t\r\n") {
		errs = append(errs, fmt.Errorf("%w: Token contains white space", ErrConfig))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ReadHeaderTimeout", c.ReadHeaderTimeout},
		{"ReadTimeout", c.ReadTimeout},
		{"WriteTimeout", c.WriteTimeout},
		{"IdleTimeout", c.IdleTimeout},
		{"ShutdownTimeout", c.ShutdownTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%w: %s is negative (%v)", ErrConfig, d.name, d.v))
		}
	}
	if c.MaxConns < 0 {
		errs = append(errs, fmt.Errorf("%w: MaxConns is negative (%d)", ErrConfig, c.MaxConns))
	}
	if c.MaxHeaderBytes < 0 {
		errs = append(errs, fmt.Errorf("%w: MaxHeaderBytes is negative (%d)", ErrConfig, c.MaxHeaderBytes))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	def(&c.ReadHeaderTimeout, 5*time.Second)
	def(&c.ReadTimeout, 10*time.Second)
	def(&c.WriteTimeout, 30*time.Second)
	def(&c.IdleTimeout, 60*time.Second)
	def(&c.ShutdownTimeout, 5*time.Second)
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = 64 << 10
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	return c
}

// Serve listens on cfg.Addr and serves h until ctx ends, then shuts down
// gracefully (bounded by cfg.ShutdownTimeout) and returns nil. It returns an error
// if cfg is invalid, the address cannot be bound, or the server fails.
func Serve(ctx context.Context, cfg Config, h http.Handler, logger *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("api: listen: %w", err)
	}
	return ServeListener(ctx, cfg, ln, h, logger)
}

// ServeListener is Serve on a listener the caller opened (127.0.0.1:0 in tests, for
// instance); cfg.Addr is ignored. It closes ln before returning. A nil logger
// discards.
func ServeListener(ctx context.Context, cfg Config, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		ln.Close()
		return err
	}
	if h == nil {
		ln.Close()
		return errors.New("api: nil handler")
	}
	if err := checkLoopback(ln.Addr(), cfg.Token); err != nil {
		ln.Close()
		return err
	}
	cfg = cfg.withDefaults()
	if cfg.Token != "" {
		h = requireToken(cfg.Token, h)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h = auditWrites(logger, h)
	ln = newShedListener(ln, cfg.MaxConns, h)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	logger.Info("api: listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		// The server stopped on its own: the listener failed.
		srv.Close()
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		logger.Warn("api: shutdown timed out; closing connections", "err", err)
		srv.Close()
	}
	<-errc // http.ErrServerClosed once Shutdown or Close has run
	logger.Info("api: stopped")
	return nil
}
