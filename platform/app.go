package platform

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"
)

// purgeInterval is how often expired sessions are deleted from SQL.
const purgeInterval = time.Hour

// app is a server with the connections it owns.
type app struct {
	server *server
	log    *slog.Logger
	tls    *tls.Config // nil: plain HTTP
	stop   context.CancelFunc
	closed []func() error
}

// Close stops background work and closes the connections.
func (a *app) Close() error {
	a.stop()
	var errs []error
	for i := len(a.closed) - 1; i >= 0; i-- {
		errs = append(errs, a.closed[i]())
	}
	return errors.Join(errs...)
}

// openApp connects to the database (and Redis), prepares the schema,
// bootstraps the first tenant and administrator on an empty database, and
// builds the server.
//
// On SQLite the schema is migrated at start. On PostgreSQL it is the job of
// `platform init-db`, run as the owner; serve connects as the application
// role, and refuses to start in production — or warns otherwise — when
// that role would bypass row-level security.
func openApp(ctx context.Context, cfg config, log *slog.Logger) (_ *app, err error) {
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	a := &app{log: log, stop: stop}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	db, d, err := openDatabase(cfg.DatabaseURL, cfg.Home, log)
	if err != nil {
		return nil, err
	}
	a.closed = append(a.closed, closeDB(db))
	var rdb *redis.Client
	if cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("%s: invalid URL", envRedisURL)
		}
		rdb = redis.NewClient(opt)
		a.closed = append(a.closed, rdb.Close)
		if err := rdb.Ping(ctx).Err(); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
	}
	if err := prepareDatabase(ctx, cfg, db, d, log); err != nil {
		return nil, err
	}
	s, err := newServer(cfg, deps{DB: db, Dialect: d, Redis: rdb, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := s.bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if a.tls, err = tlsConfig(ctx, cfg, log); err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	a.server = s
	go s.purgeTokens(bg, purgeInterval)
	return a, nil
}

// closeDB returns a function that closes db's connection pool.
func closeDB(db *gorm.DB) func() error {
	return func() error {
		sqlDB, err := db.DB()
		if err != nil {
			return err
		}
		return sqlDB.Close()
	}
}
