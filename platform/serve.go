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

// Serve serves Handler on ln — over TLS when Config names a certificate —
// with timeouts that keep slow clients from holding connections, until ctx
// is done; then it shuts down gracefully: it stops accepting, lets requests
// in flight finish (at most 15 seconds) and returns nil. It does not Close
// the Server. A host with its own http.Server mounts Handler instead.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if s.tls == nil && s.cfg.Production {
		s.log.Warn("serving plain HTTP in production: terminate TLS in front of this server, or set MAESTRO_TLS_CERT and MAESTRO_TLS_KEY")
	}
	if s.tls != nil {
		srv.TLSConfig = s.tls
		scheme = "https"
	}
	var metricsErr <-chan error // nil: no metrics listener
	if s.cfg.MetricsAddr != "" {
		mctx, stopMetrics := context.WithCancel(ctx)
		defer stopMetrics()
		var err error
		if metricsErr, err = s.serveMetrics(mctx, s.cfg.MetricsAddr); err != nil {
			return err
		}
	}
	errc := make(chan error, 1)
	go func() {
		if s.tls != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	s.log.Info("serving", slog.String("addr", scheme+"://"+ln.Addr().String()),
		slog.String("database", string(s.dialect)), slog.Bool("redis", s.redis != nil))
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case err := <-metricsErr:
		_ = srv.Close()
		return fmt.Errorf("serve metrics: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.log.Info("stopped")
	return nil
}
