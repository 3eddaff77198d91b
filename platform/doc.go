// Package platform is Maestro's reference multi-tenant ML platform, as an
// importable package: the HTTP API composed from the library's packages
// (auth, tenancy, registry, metalearn, similarity, secrets) on one
// database. It is meant to be read as well as run: every handler is short
// because the library does the work.
//
// # Mounting it
//
// New builds a Server from a Config; its Handler serves every route of
// Routes. A host mounts it on its own mux, under the root or a prefix:
//
//	srv, err := platform.New(ctx, platform.Config{Home: "/var/lib/maestro"})
//	if err != nil { ... }
//	defer srv.Close()
//	mux := http.NewServeMux()
//	mux.Handle("/maestro/", http.StripPrefix("/maestro", srv.Handler()))
//
// ConfigFromEnv reads the Config from the MAESTRO_* environment variables
// (each secret also as NAME_FILE), as the program examples/platform does;
// Serve serves the handler with production timeouts and TLS; InitDB
// prepares a PostgreSQL database for an application role under row-level
// security.
//
// The parts a host owns are replaced through options: WithDatabase (a
// *gorm.DB, on which the tenancy plugin is installed), WithRedis,
// WithEmbedder, WithTokenStore and WithBlobStore; WithLogger and
// WithClock tune it, WithDefaultQuota sets the limits of new tenants
// (DefaultQuota: users, projects, artifacts, storage bytes and metric
// points, enforced in the writes' own transactions; quota.go), and
// WithMLflow also mounts MLflow's REST API (package mlflowapi) on the same
// base URL. Invalid option values make New fail with ErrInvalid.
//
// # How the pieces compose
//
//	secrets ──> Config (config.go)
//	auth.JWTManager, auth.PasswordHasher, API keys, throttling ──> identity (identity.go)
//	auth middleware ──> Principal ──> access rule ──> tenancy middleware ──> tenant in the context
//	gorm.DB with the tenancy plugin (and RLS on PostgreSQL) ──> handlers ──> library calls
//
// # The route table
//
// routes.go holds every route in one table: its pattern, its access rule
// (an Access: Public, Viewer, Member, Admin, Session, TenantSession,
// OwnTenant, TenantAdmin or Superadmin) and a one-line summary. The rule
// is the whole rule: it is enforced before the handler runs, and handlers
// never decide again who may call them. Routes returns the table; the
// security suite (securitytest) and the cross-tenant tests derive their
// cases from it, so a new route is covered by construction. A new route
// is one row of routeTable and a handler in the file named for its
// resource (projects.go, runs.go, metamodels.go, similarity.go, ...).
//
// # The dashboard
//
// Every path outside /api and /health is the web dashboard: server-rendered
// pages (html/template, embedded with go:embed) over the same library
// calls as the API's handlers. Its pages are rows of their own table
// (DashboardRoutes) with the same Access rules, enforced by the same
// chain; the session is the platform's own token pair in HttpOnly,
// SameSite=Strict cookies (Secure over TLS), every form carries a CSRF
// token bound to the session, and the pages' Content-Security-Policy
// allows no inline script or style and no other origin (dashboard.go).
//
// # Errors
//
// Handlers return library errors as they come. errors.go maps the
// library's sentinels and error types to RFC 9457 problems in one ordered
// table (errorTable); classify answers an error with the first row that
// matches it, a failed database connection with 503, and anything else
// with a 500 that reveals nothing. A new library error a caller can cause
// is one row of that table.
package platform
