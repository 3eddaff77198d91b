package platform

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/maestro-ml/maestro/auth"
)

// Access says who may call a route. It is the whole rule: the route table
// enforces it before the handler runs, so a handler never sees a request
// it must not answer and never decides again who may call it.
type Access int

const (
	// Public routes take no credential (health, login, refresh, the
	// OpenAPI document).
	Public Access = iota
	// Viewer routes need a valid credential of a tenant with any role, or
	// a superadmin's.
	Viewer
	// Member routes need the role member or admin in the credential's
	// tenant.
	Member
	// Admin routes need the role admin in the credential's tenant.
	Admin
	// Session routes need a login session (an access token, not an API
	// key) with any role, or a superadmin's: an API key is for automation,
	// and a leaked one must not change its user's password.
	Session
	// TenantSession routes need a login session bound to a tenant, with
	// any role: an API key cannot mint keys, and keys belong to a tenant.
	TenantSession
	// OwnTenant routes name a tenant in the path ({id}) and need a
	// credential of that very tenant (any role), or a superadmin's. A
	// user of another tenant gets 404, as for an unknown tenant.
	OwnTenant
	// TenantAdmin routes name a tenant in the path ({id}) and need the
	// role admin in that very tenant, or a superadmin. A user of another
	// tenant gets 404, as for an unknown tenant; a lower role 403.
	TenantAdmin
	// Superadmin routes need a superadmin (platform operations).
	Superadmin
)

// accessNames are the names of the access rules, as String gives them.
var accessNames = [...]string{
	Public: "public", Viewer: "viewer", Member: "member", Admin: "admin",
	Session: "session", TenantSession: "tenant-session", OwnTenant: "own-tenant", TenantAdmin: "tenant-admin", Superadmin: "superadmin",
}

// String returns the rule's name: public, viewer, member, admin, session,
// tenant-session, own-tenant, tenant-admin or superadmin.
func (a Access) String() string {
	if a < 0 || int(a) >= len(accessNames) {
		return fmt.Sprintf("Access(%d)", int(a))
	}
	return accessNames[a]
}

// Route is one entry of the route table.
type Route struct {
	// Pattern is the net/http ServeMux pattern, "METHOD /path/{id}".
	Pattern string
	// Access is who may call the route.
	Access Access
	// Summary says in one line what the route does.
	Summary string
}

// handlerFunc is a handler that returns its error instead of writing it:
// the route table answers a non-nil error with fail. Handlers therefore
// read as decode → call the library → writeJSON, or return the error.
type handlerFunc func(s *Server, w http.ResponseWriter, r *http.Request) error

// route is a Route with its handler and the bounds of its work.
type route struct {
	Route
	handle handlerFunc
	// heavy routes do work that grows with their input or with the
	// tenant's history (training, recommendations, similarity, big
	// uploads and batches): they run under a longer deadline, and each
	// has its own concurrency limit, answered 503 with Retry-After when
	// full instead of queueing.
	heavy bool
}

// Deadlines of a route's handler: its context ends then, and the work it
// started stops with it. Heavy routes get longer, still within the HTTP
// server's write timeout.
const (
	routeTimeout      = 20 * time.Second
	heavyRouteTimeout = 50 * time.Second
	// busyRetryAfter is the Retry-After of a heavy route that is full.
	busyRetryAfter = time.Second
)

// r is a row of the route table.
func r(pattern string, a Access, summary string, h handlerFunc) route {
	return route{Route: Route{Pattern: pattern, Access: a, Summary: summary}, handle: h}
}

// heavy marks a row of the route table as heavy.
func heavy(rt route) route {
	rt.heavy = true
	return rt
}

// timeout is the deadline of the route's handler on s.
func (rt route) timeout(s *Server) time.Duration {
	if rt.heavy {
		return s.timeouts[1]
	}
	return s.timeouts[0]
}

// Routes returns the platform's route table, sorted by pattern: every
// route a Server serves, with who may call it and what it does. It is the
// same for every Server.
func Routes() []Route {
	rs := routeTable()
	out := make([]Route, len(rs))
	for i, r := range rs {
		out[i] = r.Route
	}
	slices.SortFunc(out, func(a, b Route) int { return strings.Compare(a.Pattern, b.Pattern) })
	return out
}

// routeTable is every route of the server, in one place, grouped by the
// resource it serves; the handlers live in the file named for it.
func routeTable() []route {
	return []route{
		// health.go
		r("GET /health/live", Public, "Report that the process is up.", (*Server).live),
		r("GET /health/ready", Public, "Report whether the database (and Redis) answer.", (*Server).ready),

		// openapi.go
		r("GET /api/v1/openapi.json", Public, "Serve this API's OpenAPI 3.1 document.", (*Server).openAPI),

		// sessions.go
		r("POST /api/v1/auth/login", Public, "Sign in with a username and password; returns an access and a refresh token.", (*Server).login),
		r("POST /api/v1/auth/refresh", Public, "Spend a refresh token for a new token pair.", (*Server).refresh),
		r("POST /api/v1/auth/logout", Viewer, "End the caller's session.", (*Server).logout),
		r("GET /api/v1/auth/me", Viewer, "Show the caller's user, tenant and role.", (*Server).me),
		r("POST /api/v1/auth/password", Session, "Change the caller's password; other sessions end.", (*Server).changePassword),

		// apikeys.go
		r("POST /api/v1/auth/api-keys", TenantSession, "Create an API key for the caller (the key is shown once).", (*Server).createAPIKey),
		r("GET /api/v1/auth/api-keys", Viewer, "List the caller's API keys.", (*Server).listAPIKeys),
		r("DELETE /api/v1/auth/api-keys/{id}", Viewer, "Revoke one of the caller's API keys.", (*Server).deleteAPIKey),

		// tenants.go
		r("POST /api/v1/tenants", Superadmin, "Create a tenant.", (*Server).createTenant),
		r("GET /api/v1/tenants", Viewer, "List tenants: all for a superadmin, the caller's own otherwise.", (*Server).listTenants),
		r("GET /api/v1/tenants/{id}", OwnTenant, "Show a tenant.", (*Server).getTenant),
		r("PATCH /api/v1/tenants/{id}", Superadmin, "Rename a tenant or change its slug.", (*Server).updateTenant),
		r("DELETE /api/v1/tenants/{id}", Superadmin, "Delete a tenant with all its data and blobs.", (*Server).deleteTenant),

		// quota.go
		r("GET /api/v1/tenants/{id}/quota", TenantAdmin, "Show the tenant's limits and its use of each.", (*Server).getQuota),
		r("PUT /api/v1/tenants/{id}/quota", Superadmin, "Set the tenant's limits (0 means unlimited).", (*Server).putQuota),

		// members.go
		r("POST /api/v1/tenants/{id}/members", TenantAdmin, "Add a member to the tenant, creating the user when new.", (*Server).addMember),
		r("GET /api/v1/tenants/{id}/members", TenantAdmin, "List the tenant's members.", (*Server).listMembers),
		r("PATCH /api/v1/tenants/{id}/members/{user_id}", TenantAdmin, "Change a member's role.", (*Server).updateMember),
		r("DELETE /api/v1/tenants/{id}/members/{user_id}", TenantAdmin, "Remove a member from the tenant.", (*Server).removeMember),

		// projects.go
		r("POST /api/v1/projects", Member, "Create a project.", (*Server).createProject),
		r("GET /api/v1/projects", Viewer, "List projects, filtered by problem class, status or text.", (*Server).listProjects),
		r("GET /api/v1/projects/{id}", Viewer, "Show a project.", (*Server).getProject),
		r("PATCH /api/v1/projects/{id}", Member, "Update a project's fields.", (*Server).updateProject),
		r("DELETE /api/v1/projects/{id}", Member, "Delete a project with everything recorded under it.", (*Server).deleteProject),
		r("PUT /api/v1/projects/{id}/outcome", Member, "Record a project's outcome; computes its success score.", (*Server).recordOutcome),

		// team.go
		r("POST /api/v1/projects/{id}/team", Member, "Add a team member to a project.", (*Server).addTeamMember),
		r("GET /api/v1/projects/{id}/team", Viewer, "List a project's team.", (*Server).listTeam),
		r("DELETE /api/v1/projects/{id}/team/{member_id}", Member, "Remove a team member from a project.", (*Server).removeTeamMember),

		// processmetrics.go
		heavy(r("POST /api/v1/projects/{id}/process-metrics", Member, "Record a batch of process metrics, all or nothing.", (*Server).recordProcessMetrics)),
		r("GET /api/v1/projects/{id}/process-metrics", Viewer, "List a project's process metrics.", (*Server).listProcessMetrics),
		r("GET /api/v1/projects/{id}/process-metrics/summary", Viewer, "Summarise a project's process metrics by type.", (*Server).summarizeProcessMetrics),

		// experiments.go
		r("POST /api/v1/projects/{id}/experiments", Member, "Create an experiment in a project.", (*Server).createExperiment),
		r("GET /api/v1/projects/{id}/experiments", Viewer, "List a project's experiments.", (*Server).listExperiments),
		r("GET /api/v1/experiments/{id}", Viewer, "Show an experiment.", (*Server).getExperiment),
		r("GET /api/v1/experiments", Viewer, "List the tenant's experiments, by project, name or lifecycle.", (*Server).listAllExperiments),
		r("PATCH /api/v1/experiments/{id}", Member, "Rename an experiment or change its description.", (*Server).updateExperiment),
		r("DELETE /api/v1/experiments/{id}", Member, "Delete an experiment and its runs softly (restorable).", (*Server).deleteExperiment),
		r("POST /api/v1/experiments/{id}/restore", Member, "Restore a deleted experiment and its runs.", (*Server).restoreExperiment),

		// runs.go
		r("POST /api/v1/experiments/{id}/runs", Member, "Start a run in an experiment.", (*Server).createRun),
		r("GET /api/v1/experiments/{id}/runs", Viewer, "List an experiment's runs.", (*Server).listRuns),
		r("GET /api/v1/runs/{id}", Viewer, "Show a run.", (*Server).getRun),
		r("PATCH /api/v1/runs/{id}", Member, "Update a run's name, status, end time or parameters.", (*Server).updateRun),
		heavy(r("POST /api/v1/experiments/{id}/runs/search", Viewer, "Search an experiment's runs by metrics, parameters, tags and status, ordered.", (*Server).searchRuns)),
		r("DELETE /api/v1/runs/{id}", Member, "Delete a run softly (restorable).", (*Server).deleteRun),
		r("POST /api/v1/runs/{id}/restore", Member, "Restore a deleted run.", (*Server).restoreRun),
		r("PUT /api/v1/runs/{id}/tags/{key...}", Member, "Set a run's tag.", (*Server).setRunTag),
		r("DELETE /api/v1/runs/{id}/tags/{key...}", Member, "Delete a run's tag.", (*Server).deleteRunTag),
		r("POST /api/v1/runs/metrics/latest", Viewer, "Read the latest value of metrics of many runs at once.", (*Server).latestMetrics),
		heavy(r("POST /api/v1/runs/{id}/metrics", Member, "Log a batch of metric points, all or nothing.", (*Server).logMetrics)),
		r("GET /api/v1/runs/{id}/metrics", Viewer, "Summarise a run's metrics by key.", (*Server).listMetrics),
		r("GET /api/v1/runs/{id}/metrics/{key...}", Viewer, "Read a metric's history, downsampled to max_points.", (*Server).metricHistory),

		// artifacts.go
		r("POST /api/v1/artifacts", Member, "Add an artifact to the library.", (*Server).createArtifact),
		r("GET /api/v1/artifacts", Viewer, "Search the artifact library.", (*Server).searchArtifacts),
		r("GET /api/v1/artifacts/top", Viewer, "List the artifacts with the highest measured impact.", (*Server).topArtifacts),
		r("GET /api/v1/artifacts/{id}", Viewer, "Show an artifact with its usage and impact.", (*Server).getArtifact),
		r("DELETE /api/v1/artifacts/{id}", Member, "Delete an artifact and its content.", (*Server).deleteArtifact),
		heavy(r("PUT /api/v1/artifacts/{id}/content", Member, "Upload an artifact's content (the raw body).", (*Server).putArtifactContent)),
		heavy(r("GET /api/v1/artifacts/{id}/content", Viewer, "Download an artifact's content.", (*Server).getArtifactContent)),
		r("POST /api/v1/artifacts/{id}/usages", Member, "Record that a project used an artifact, with its impact.", (*Server).recordArtifactUsage),
		r("GET /api/v1/artifacts/{id}/usages", Viewer, "List an artifact's usages.", (*Server).listArtifactUsages),

		// models.go
		r("POST /api/v1/models", Member, "Register a model.", (*Server).createModel),
		r("GET /api/v1/models", Viewer, "List registered models.", (*Server).listModels),
		r("GET /api/v1/models/{name}", Viewer, "Show a registered model.", (*Server).getModel),
		r("PATCH /api/v1/models/{name}", Member, "Change a registered model's description or rename it.", (*Server).updateModel),
		r("DELETE /api/v1/models/{name}", Member, "Delete a registered model with its versions and aliases.", (*Server).deleteModel),
		r("PUT /api/v1/models/{name}/tags/{key...}", Member, "Set a tag of a registered model.", (*Server).setModelTag),
		r("DELETE /api/v1/models/{name}/tags/{key...}", Member, "Delete a tag of a registered model.", (*Server).deleteModelTag),
		r("POST /api/v1/models/{name}/versions", Member, "Create a model version.", (*Server).createModelVersion),
		r("GET /api/v1/models/{name}/versions", Viewer, "List a model's versions.", (*Server).listModelVersions),
		r("GET /api/v1/models/{name}/versions/{version}", Viewer, "Show a model version.", (*Server).getModelVersion),
		r("PATCH /api/v1/models/{name}/versions/{version}", Member, "Change a model version's description or stage.", (*Server).updateModelVersion),
		r("DELETE /api/v1/models/{name}/versions/{version}", Member, "Delete a model version and the aliases pointing at it.", (*Server).deleteModelVersion),
		r("PUT /api/v1/models/{name}/versions/{version}/tags/{key...}", Member, "Set a tag of a model version.", (*Server).setModelVersionTag),
		r("DELETE /api/v1/models/{name}/versions/{version}/tags/{key...}", Member, "Delete a tag of a model version.", (*Server).deleteModelVersionTag),
		r("GET /api/v1/models/{name}/aliases", Viewer, "List a model's aliases.", (*Server).listModelAliases),
		r("PUT /api/v1/models/{name}/aliases/{alias}", Member, "Point an alias at a model version.", (*Server).setModelAlias),
		r("GET /api/v1/models/{name}/aliases/{alias}", Viewer, "Resolve an alias to its model version.", (*Server).getModelAlias),
		r("DELETE /api/v1/models/{name}/aliases/{alias}", Member, "Delete an alias.", (*Server).deleteModelAlias),

		// metamodels.go
		r("POST /api/v1/meta-models/train", Member, "Start a job training the tenant's next meta-model on its completed projects.", (*Server).trainMetaModel),
		r("GET /api/v1/meta-models/jobs/{id}", Viewer, "Report a meta-model training job: status, progress, model or error.", (*Server).getTrainingJob),
		r("GET /api/v1/meta-models", Viewer, "List the tenant's meta-models, the active one marked.", (*Server).listMetaModels),
		r("GET /api/v1/meta-models/{version}", Viewer, "Show one of the tenant's meta-models by version.", (*Server).getMetaModel),
		r("POST /api/v1/meta-models/{version}/pin", Admin, "Pin a meta-model version as the active one.", (*Server).pinMetaModel),
		r("DELETE /api/v1/meta-models/pin", Admin, "Unpin: the newest meta-model becomes active again.", (*Server).unpinMetaModel),
		r("POST /api/v1/meta-models/rollback", Admin, "Make the version before the active one active.", (*Server).rollbackMetaModel),

		// recommendations.go
		heavy(r("POST /api/v1/recommendations", Viewer, "Recommend for a project described in the body, or a registered one; stores nothing.", (*Server).recommend)),
		heavy(r("POST /api/v1/projects/{id}/recommendations", Member, "Recommend for a registered project and store the prediction.", (*Server).recommendProject)),
		r("GET /api/v1/projects/{id}/predictions", Viewer, "List the predictions stored for a project, with its outcome.", (*Server).listPredictions),

		// similarity.go
		heavy(r("GET /api/v1/projects/{id}/similar", Viewer, "Find the past projects most similar to a project.", (*Server).similarProjects)),
		heavy(r("POST /api/v1/specs/similar", Viewer, "Find the past projects most similar to a spec or text.", (*Server).similarSpecs)),
		heavy(r("POST /api/v1/specs/overlap", Viewer, "Compare a spec with a project's, section by section.", (*Server).specOverlap)),
	}
}

// mux builds the ServeMux of the route table: each handler behind the
// authentication, tenant and access checks its route requires, under its
// deadline and, for heavy routes, its concurrency limit (checked after
// authentication, so anonymous requests cannot fill it).
func (s *Server) mux() (*http.ServeMux, error) {
	mux := http.NewServeMux()
	for _, rt := range routeTable() {
		if !strings.Contains(rt.Pattern, " ") {
			return nil, fmt.Errorf("platform: route pattern without a method: %q", rt.Pattern)
		}
		handle, timeout := rt.handle, rt.timeout(s)
		var slots chan struct{} // nil: no concurrency limit
		if rt.heavy {
			slots = make(chan struct{}, s.heavyLimit)
		}
		var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if slots != nil {
				select {
				case slots <- struct{}{}:
					defer func() { <-slots }()
				default:
					s.fail(w, r, busy())
					return
				}
			}
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			if err := handle(s, w, r.WithContext(ctx)); err != nil {
				s.fail(w, r, err)
			}
		})
		if rt.Access != Public {
			next = s.authenticated(rt.Access, next)
		}
		mux.Handle(rt.Pattern, notePattern(rt.Pattern, next))
	}
	return mux, nil
}

// authenticated puts next behind the authentication chain of a non-public
// route: auth.Middleware verifies the bearer credential (access token or
// API key) and puts the Principal in the context; the principal is noted
// for the access log; the access gate answers 403 (or 404) when the rule
// does not admit the caller; the tenancy middleware moves the principal's
// tenant into the context, so every query the handler makes is scoped to
// it.
func (s *Server) authenticated(a Access, next http.Handler) http.Handler {
	opt := auth.WithErrorWriter(s.authError)
	var gate func(http.Handler) http.Handler
	switch a {
	case Viewer:
		gate = auth.RequireRoleOrSuperadmin(auth.RoleViewer, opt)
	case Member:
		gate = auth.RequireRole(auth.RoleMember, opt)
	case Admin:
		gate = auth.RequireRole(auth.RoleAdmin, opt)
	case Session:
		gate = sessionGate(s, false)
	case TenantSession:
		gate = sessionGate(s, true)
	case OwnTenant:
		gate = s.pathTenantGate(auth.RoleViewer)
	case TenantAdmin:
		gate = s.pathTenantGate(auth.RoleAdmin)
	default:
		gate = auth.RequireSuperadmin(opt)
	}
	h := gate(s.tenantScope(next))
	h = notePrincipalMiddleware(h)
	return s.identity.authn(h)
}

// pathTenantGate admits a superadmin, or a caller whose credential belongs
// to the tenant named by the path's {id} with at least role min. A caller
// of another tenant gets 404, exactly as for an unknown tenant, so that
// the answer reveals nothing of other tenants; a caller of the tenant with
// a lower role gets 403.
func (s *Server) pathTenantGate(min auth.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := principal(r)
			switch {
			case p.Superadmin:
			case p.TenantID == "" || r.PathValue("id") != p.TenantID:
				s.fail(w, r, notFound("tenant"))
				return
			case !p.Role.AtLeast(min):
				s.fail(w, r, forbidden("this needs the "+min.String()+" role in the tenant"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// sessionGate admits a caller authenticated by a login session (an access
// token), not by an API key; with tenant set, only a session bound to a
// tenant. Any role passes.
func sessionGate(s *Server, tenant bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := principal(r)
			switch {
			case p.Method != auth.MethodAccessToken:
				s.fail(w, r, forbidden("this needs a login session, not an API key"))
				return
			case tenant && p.TenantID == "":
				s.fail(w, r, forbidden("this needs a session bound to a tenant; log in to one"))
				return
			case !p.Superadmin && !p.Role.AtLeast(auth.RoleViewer):
				s.fail(w, r, forbidden("this needs a role in the tenant"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
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
