package platform

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/secrets"
	"github.com/maestro-ml/maestro/tenancy"
)

// Intervals of the server's background work.
const (
	// purgeInterval is how often expired sessions are deleted from SQL.
	purgeInterval = time.Hour
	// indexDrainInterval is how often the similarity index picks up
	// project writes whose indexing failed.
	indexDrainInterval = 30 * time.Second
)

// Server is the reference platform: the HTTP API composed from Maestro's
// packages on one database. Build it with New, serve Handler (or call
// Serve), and Close it when done.
//
// A Server is safe for concurrent use: handlers only read its fields, which
// New sets once.
type Server struct {
	cfg     Config
	db      *gorm.DB
	dialect dialect
	redis   *redis.Client // nil: in-process stores
	log     *slog.Logger
	now     func() time.Time
	tls     *tls.Config // nil: plain HTTP

	tenants  *tenancy.Manager // tenants, users, memberships, quotas
	identity *identity        // authentication: tokens, passwords, API keys, throttling
	reg      *registryDeps    // the ML registry and its blob store (registry.go)
	learn    *learning        // meta-models, recommendations, similarity (learning.go)
	web      *webDeps         // the dashboard's templates and CSRF key (dashboard.go)
	// principals caches the rows checkPrincipal reads (principals.go).
	principals *principalCache
	metrics    *metrics // Prometheus metrics in the server's own registry (metrics.go)

	handler    http.Handler // the full middleware chain around the mux
	heavyLimit int          // concurrent requests per heavy route
	// observeJob, when set, sees every state change of the training jobs
	// this replica runs (metrics).
	observeJob func(tenant string, j metalearn.Job)
	timeouts   [2]time.Duration // handler deadlines: light and heavy routes

	stop      context.CancelFunc // ends background work
	closers   []func() error     // what New opened, closed in reverse order
	closeOnce sync.Once
	closeErr  error
}

// New builds the platform from cfg: it opens the database (unless
// WithDatabase gives one) and Redis (unless WithRedis does, or
// cfg.RedisURL is empty), prepares the schema, bootstraps the first tenant
// and administrator on an empty database, and builds the handler.
//
// On SQLite the schema is migrated at start. On PostgreSQL it is the job
// of InitDB, run as the owner; New connects as the application role and
// refuses to start in production — or warns otherwise — when that role
// would bypass row-level security.
//
// Fields of cfg left at their zero values take the documented defaults
// (see Config). The returned Server owns what New opened; Close releases
// it. A database or Redis client given by option stays the caller's.
func New(ctx context.Context, cfg Config, opts ...Option) (_ *Server, err error) {
	var o settings
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("platform: %w", err)
		}
	}
	if err := cfg.resolve(ctx); err != nil {
		return nil, fmt.Errorf("platform: configuration: %w", err)
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{cfg: cfg, log: o.logger, now: o.clock, stop: stop}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = timeNow
	}
	s.now = apiClock(s.now)
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if s.db = o.db; s.db == nil {
		if s.db, s.dialect, err = openDatabase(cfg.DatabaseURL, cfg.Home, s.log); err != nil {
			return nil, err
		}
		s.closers = append(s.closers, closeDB(s.db))
	} else {
		// The times gorm fills in (created_at, updated_at) come from the
		// server's clock too, whatever the host's gorm configuration.
		s.db = s.db.Session(&gorm.Session{NowFunc: s.now})
		s.dialect = dialect(s.db.Dialector.Name())
	}
	if s.redis = o.redis; s.redis == nil && cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("%s: invalid URL", envRedisURL)
		}
		s.redis = redis.NewClient(opt)
		s.closers = append(s.closers, s.redis.Close)
	}
	if s.redis != nil {
		if err := s.redis.Ping(ctx).Err(); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
	}
	if err := prepareDatabase(ctx, cfg, s.db, s.dialect, s.log); err != nil {
		return nil, err
	}
	if err := s.build(o); err != nil {
		return nil, err
	}
	if err := s.bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if s.tls, err = tlsConfig(ctx, cfg, s.log); err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	switch {
	case s.cfg.NoPrincipalCache:
		s.log.Info("principal cache off (" + envPrincipalCache + "=off): every request reads its user and membership")
	case s.dialect == dialectPostgres:
		if err := s.checkPrincipalTriggers(ctx); err != nil {
			s.log.Warn("principal cache off: every request reads its user and membership", slog.String("reason", err.Error()))
		} else {
			go s.listenPrincipals(bg)
		}
	}
	go s.purgeTokens(bg, purgeInterval)
	go s.drainIndex(bg, indexDrainInterval)
	return s, nil
}

// build wires the services on the opened connections: the tenancy plugin
// and Manager, the identity services, the registry and learning
// services, the route table and the middleware chain.
func (s *Server) build(o settings) error {
	s.timeouts = [2]time.Duration{routeTimeout, heavyRouteTimeout}
	if o.timeouts != [2]time.Duration{} {
		s.timeouts = o.timeouts
	}
	if s.heavyLimit = o.heavyLimit; s.heavyLimit == 0 {
		s.heavyLimit = max(2, runtime.NumCPU())
	}
	if err := s.installTenancy(); err != nil {
		return err
	}
	// On PostgreSQL the cache is off until the replica listens for changes.
	// With NoPrincipalCache it stays off.
	s.principals = newPrincipalCache(s.now, principalCacheEntries, s.dialect != dialectPostgres && !s.cfg.NoPrincipalCache)
	m, err := newMetrics(s)
	if err != nil {
		return err
	}
	s.metrics = m
	s.db = m.countStatements(s.db)
	s.principals.onEvent = m.cacheEvent(principalsCache)
	s.observeJob = m.observeJob
	if err := s.watchPrincipalWrites(); err != nil {
		return err
	}
	tenants, err := tenancy.NewManager(s.db, tenantOptions(o)...)
	if err != nil {
		return err
	}
	s.tenants = tenants
	id, err := newIdentity(s, o)
	if err != nil {
		return err
	}
	s.identity = id
	if s.reg, err = newRegistryDeps(s, o.blobs); err != nil {
		return err
	}
	if s.learn, err = newLearning(s, s.reg.reg, o); err != nil {
		return err
	}
	s.tenants.OnTenantDelete(s.reg.reg.DeleteTenantBlobs)
	s.tenants.OnTenantDelete(s.learn.forgetTenant)
	// HSTS on every response served over TLS, with the library's
	// defaults (two years).
	hsts, err := secrets.HSTS()
	if err != nil {
		return err
	}
	mux, err := s.mux()
	if err != nil {
		return err
	}
	if o.mlflow {
		if err := s.mountMLflow(mux); err != nil {
			return err
		}
	}
	dash, err := s.dashboard()
	if err != nil {
		return err
	}
	var h http.Handler = apiOrDashboard(muxFallback(mux), dash)
	h = rejectMalformedURL(h)
	h = securityHeaders(h)
	h = hsts(h)
	h = s.recoverPanics(h)
	h = s.accessLog(h)
	h = withRequestID(h)
	s.handler = h
	return nil
}

// tenantOptions configures the tenancy Manager: the tenant-owned models
// DeleteTenant removes, the default quota of new tenants and how the
// registry's resources are counted for quotas.
func tenantOptions(o settings) []tenancy.ManagerOption {
	q := DefaultQuota()
	if o.quota != nil {
		q = *o.quota
	}
	opts := []tenancy.ManagerOption{tenancy.WithTenantModels(tenantModels()...), tenancy.WithDefaultQuota(q)}
	for res, c := range registry.Counters() {
		opts = append(opts, tenancy.WithCounter(res, c))
	}
	return opts
}

// installTenancy installs the tenancy plugin on the database: every
// statement on a tenant-owned model is scoped to the tenant of its context,
// and on PostgreSQL the tenant is also set for row-level security in each
// transaction. Statements that cross tenants are written to the audit log.
func (s *Server) installTenancy() error {
	if _, ok := s.db.Config.Plugins[tenancy.PluginName]; ok {
		return nil // installed by the host, or by an earlier server on the same connection
	}
	opts := []tenancy.Option{tenancy.WithModels(tenantModels()...), tenancy.WithAudit(s.auditCrossTenantStatement)}
	if s.dialect == dialectPostgres {
		opts = append(opts, tenancy.WithRowLevelSecurity())
	}
	return s.db.Use(tenancy.NewPlugin(opts...))
}

// Handler returns the platform's HTTP handler: every route of Routes
// and the web dashboard's pages (DashboardRoutes), behind request ids,
// access logging, panic recovery and security headers. Mount it at the
// root of a mux or under a prefix with http.StripPrefix (the API's routes
// start with /api/v1 and /health, the dashboard serves every other path);
// it is the same handler for every call.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the server's background work and closes what New opened.
// It does not stop an http.Server serving Handler: shut that down first.
// Close is idempotent; later calls return the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		var errs []error
		for i := len(s.closers) - 1; i >= 0; i-- {
			errs = append(errs, s.closers[i]())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// drainIndex brings the similarity index up to date with project writes
// whose indexing failed — in this process or any other on the database —
// every interval until ctx ends, so that no failure waits for a query.
func (s *Server) drainIndex(ctx context.Context, every time.Duration) {
	if err := s.learn.idx.Run(ctx, every); err != nil && ctx.Err() == nil {
		s.log.Warn("similarity index drain stopped", slog.String("error", err.Error()))
	}
}

// tenantIDs lists the id of every tenant, for work that runs tenant by
// tenant outside a request (the similarity index's drain).
func (s *Server) tenantIDs(ctx context.Context) ([]string, error) {
	var ids []string
	after := ""
	for {
		ts, err := s.tenants.ListTenants(ctx, tenancy.ListOptions{Limit: 1000, After: after})
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			ids = append(ids, t.ID)
		}
		if len(ts) < 1000 {
			return ids, nil
		}
		after = ts[len(ts)-1].ID
	}
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
