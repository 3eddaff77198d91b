package platform

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/secrets"
	"github.com/maestro-ml/maestro/tenancy"
)

// server holds what every handler needs. It is built once by newServer and
// is safe for concurrent use afterwards: handlers only read its fields.
//
// Handlers are methods with the handlerFunc signature, registered by a
// route group (routesIdentity, routesTenants, ...). They use these helpers:
//
//	principal(r)             the verified caller (route table guarantees one on non-public routes)
//	requireRole(r, role)     403 unless the caller has at least role in its tenant
//	                         (most routes state their role in the route table instead)
//	decode(w, r, &in)        strict JSON body (415, 413, 400, 422 as appropriate)
//	pageParams(r)            ?limit= and ?cursor=
//	writeJSON(w, status, v)  a JSON response; writePage for lists
//	return notFound("x")     any error: apiError constructors, or a library error that
//	                         s.mapError registered (classify maps it to a problem)
//	s.audit(ctx, event, ...) a security event in the audit log
type server struct {
	cfg     config
	db      *gorm.DB
	dialect dialect
	redis   *redis.Client // nil: in-process stores
	log     *slog.Logger
	now     func() time.Time

	tenants  *tenancy.Manager // tenants, users, memberships, quotas
	identity *identity        // authentication: tokens, passwords, API keys, throttling
	reg      *registryDeps    // the ML registry and its blob store (registry_deps.go)
	intel    *intelDeps       // meta-models, recommendations, similarity (intel_deps.go)

	handler http.Handler   // the full middleware chain around the mux
	routes  []route        // the route table, in registration order
	errMap  []errorMapping // library errors → problems, see mapError
}

// deps are the connections a server is built on. main opens them from the
// configuration; tests open them with internal/testenv.
type deps struct {
	DB      *gorm.DB
	Dialect dialect
	Redis   *redis.Client    // optional
	Logger  *slog.Logger     // optional: discard
	Clock   func() time.Time // optional: time.Now in UTC

	identity identityOptions // tests: cheaper hashing, tighter throttling
}

// newServer builds the server on d: the tenancy plugin and Manager, the
// identity services, the registry and intelligence services, the route
// table and the middleware chain. It neither migrates nor bootstraps the
// database (see prepareDatabase and bootstrap).
func newServer(cfg config, d deps) (*server, error) {
	if d.DB == nil {
		return nil, errors.New("platform: no database")
	}
	s := &server{
		cfg:     cfg,
		db:      d.DB,
		dialect: d.Dialect,
		redis:   d.Redis,
		log:     d.Logger,
		now:     d.Clock,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = timeNow
	}
	if s.dialect == "" {
		s.dialect = dialect(d.DB.Dialector.Name())
	}
	if err := s.installTenancy(); err != nil {
		return nil, err
	}
	tenants, err := tenancy.NewManager(s.db, tenancy.WithTenantModels(tenantModels()...))
	if err != nil {
		return nil, err
	}
	s.tenants = tenants
	id, err := newIdentity(s, d.identity)
	if err != nil {
		return nil, err
	}
	s.identity = id
	if s.reg, err = newRegistryDeps(s); err != nil {
		return nil, err
	}
	if s.intel, err = newIntelDeps(s, s.reg.reg); err != nil {
		return nil, err
	}
	s.tenants.OnTenantDelete(s.reg.reg.DeleteTenantBlobs)
	s.tenants.OnTenantDelete(s.intel.forgetTenant)
	// HSTS on every response served over TLS, with the library's
	// defaults (two years).
	hsts, err := secrets.HSTS()
	if err != nil {
		return nil, err
	}
	mux := s.registerRoutes()
	var h http.Handler = muxFallback(mux)
	h = rejectMalformedURL(h)
	h = securityHeaders(h)
	h = hsts(h)
	h = s.recoverPanics(h)
	h = s.accessLog(h)
	h = withRequestID(h)
	s.handler = h
	return s, nil
}

// installTenancy installs the tenancy plugin on the database: every
// statement on a tenant-owned model is scoped to the tenant of its context,
// and on PostgreSQL the tenant is also set for row-level security in each
// transaction. Statements that cross tenants are written to the audit log.
func (s *server) installTenancy() error {
	if _, ok := s.db.Config.Plugins[tenancy.PluginName]; ok {
		return nil // installed by an earlier server on the same connection
	}
	opts := []tenancy.Option{tenancy.WithModels(tenantModels()...), tenancy.WithAudit(s.auditCrossTenantStatement)}
	if s.dialect == dialectPostgres {
		opts = append(opts, tenancy.WithRowLevelSecurity())
	}
	return s.db.Use(tenancy.NewPlugin(opts...))
}

// ServeHTTP implements http.Handler.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
