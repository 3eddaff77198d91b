package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// HTTP server limits. Slow clients cannot hold connections open: headers
// must arrive within ReadHeaderTimeout and a whole request within
// ReadTimeout.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 15 * time.Second
)

// cmdServe opens the application and serves it on addr until ctx is done.
func cmdServe(ctx context.Context, cfg config, log *slog.Logger, addr string) error {
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return runServer(ctx, a, ln)
}

// runServer serves a on ln — over TLS when a certificate is configured —
// until ctx is done, then shuts down gracefully: it stops accepting, lets
// requests in flight finish (at most shutdownTimeout) and returns nil.
func runServer(ctx context.Context, a *app, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.server,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if a.tls == nil && a.server.cfg.Production {
		a.log.Warn("serving plain HTTP in production: terminate TLS in front of this server, or set MAESTRO_TLS_CERT and MAESTRO_TLS_KEY")
	}
	if a.tls != nil {
		srv.TLSConfig = a.tls
		scheme = "https"
	}
	errc := make(chan error, 1)
	go func() {
		if a.tls != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	a.log.Info("serving", slog.String("addr", scheme+"://"+ln.Addr().String()),
		slog.String("database", string(a.server.dialect)), slog.Bool("redis", a.server.redis != nil))
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	a.log.Info("stopped")
	return nil
}
