package platform

import (
	"net/http"
	"slices"
	"strings"

	"github.com/maestro-ml/maestro/auth"
)

// access says who may call a route. The route table enforces it before the
// handler runs, so a handler never sees a request it must not answer.
type access int

const (
	// public routes take no credential (health, login, refresh).
	public access = iota
	// viewer routes need a valid credential of a tenant, any role.
	viewer
	// member routes need role member or admin in the credential's tenant.
	member
	// admin routes need role admin in the credential's tenant.
	admin
	// superadmin routes need a superadmin user (platform operations).
	superadmin
)

// handlerFunc is a handler that returns its error instead of writing it:
// the route table answers a non-nil error with fail. Handlers therefore
// read as decode → call the library → writeJSON, or return the error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one entry of the route table.
type route struct {
	pattern string // Go 1.22 ServeMux pattern: "METHOD /path/{id}"
	access  access
}

// router registers routes on the server's ServeMux and records them in the
// route table (server.routes), which tests enumerate: the cross-tenant
// suite fails when a route with a resource id has no case.
type router struct {
	s   *server
	mux *http.ServeMux
}

// handle registers h for pattern (which must name a method), behind the
// authentication, tenant and role checks that a requires.
func (rt *router) handle(pattern string, a access, h handlerFunc) {
	if !strings.Contains(pattern, " ") {
		panic("platform: route pattern without a method: " + pattern)
	}
	rt.s.routes = append(rt.s.routes, route{pattern: pattern, access: a})
	var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			rt.s.fail(w, r, err)
		}
	})
	if a != public {
		next = rt.s.authenticated(a, next)
	}
	rt.mux.Handle(pattern, next)
}

// registerRoutes builds the ServeMux with every route group. Each group
// lives in its own files: health.go, identity_routes.go,
// tenants_routes.go, registry_*.go and intel_*.go.
func (s *server) registerRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	rt := &router{s: s, mux: mux}
	s.routesHealth(rt)
	s.routesIdentity(rt)
	s.routesTenants(rt)
	s.routesRegistry(rt) // registry_*.go
	s.routesIntel(rt)    // intel_*.go
	return mux
}

// routeTable returns the registered routes, sorted by pattern.
func (s *server) routeTable() []route {
	out := slices.Clone(s.routes)
	slices.SortFunc(out, func(a, b route) int { return strings.Compare(a.pattern, b.pattern) })
	return out
}

// authenticated puts next behind the authentication chain of a non-public
// route: auth.Middleware verifies the bearer credential (access token or
// API key) and puts the Principal in the context; the principal is noted
// for the access log; the library's role gate answers 403 when the role is
// too low; the tenancy middleware moves the principal's tenant into the
// context, so every query the handler makes is scoped to it.
func (s *server) authenticated(a access, next http.Handler) http.Handler {
	opt := auth.WithErrorWriter(s.authError)
	var gate func(http.Handler) http.Handler
	switch a {
	case viewer:
		gate = auth.RequireRoleOrSuperadmin(auth.RoleViewer, opt)
	case member:
		gate = auth.RequireRole(auth.RoleMember, opt)
	case admin:
		gate = auth.RequireRole(auth.RoleAdmin, opt)
	default:
		gate = auth.RequireSuperadmin(opt)
	}
	h := gate(s.tenantScope(next))
	h = notePrincipalMiddleware(h)
	return s.identity.authn(h)
}

// notePrincipalMiddleware records the verified principal for the access
// log.
func notePrincipalMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := auth.PrincipalFrom(r.Context()); ok {
			notePrincipal(r.Context(), p)
		}
		next.ServeHTTP(w, r)
	})
}

// principal returns the verified caller of a non-public route. The route
// table guarantees one; on a public route it returns the zero Principal,
// which has no role and no tenant and so is allowed nothing.
func principal(r *http.Request) auth.Principal {
	p, _ := auth.PrincipalFrom(r.Context())
	return p
}

// requireRole returns a 403 problem unless the caller has at least role min
// in its tenant. Most routes state their role in the route table; handlers
// use this for finer decisions (a superadmin does not pass it).
func requireRole(r *http.Request, min auth.Role) error {
	if !principal(r).Role.AtLeast(min) {
		return forbidden("this needs the " + min.String() + " role")
	}
	return nil
}
