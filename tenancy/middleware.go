package tenancy

import (
	"encoding/json"
	"net/http"

	"github.com/maestro-ml/maestro/auth"
)

// ErrorResponder writes the response for a request Middleware refuses:
// status is 401 when the request carries no principal and 403 when the
// principal is bound to no tenant.
type ErrorResponder func(w http.ResponseWriter, r *http.Request, status int)

// MiddlewareOption configures Middleware.
type MiddlewareOption func(*middlewareConfig)

type middlewareConfig struct {
	respond ErrorResponder
}

// WithErrorResponder replaces the default refusal, an RFC 9457
// application/problem+json body (with WWW-Authenticate: Bearer on 401).
func WithErrorResponder(f ErrorResponder) MiddlewareOption {
	return func(c *middlewareConfig) { c.respond = f }
}

// Middleware moves the tenant of the authenticated auth.Principal into
// the request's context (WithTenant), so that every database call made
// with r.Context() is scoped to it. It must run after the authentication
// middleware that verifies the credential and stores the principal. It
// fails closed: a request without a principal is refused with 401, and a
// principal without a tenant with 403; next is not called. It reads no
// header, so no client input can choose the tenant.
func Middleware(next http.Handler, opts ...MiddlewareOption) http.Handler {
	cfg := middlewareConfig{respond: problem}
	for _, o := range opts {
		o(&cfg)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.PrincipalFrom(r.Context())
		if !ok {
			cfg.respond(w, r, http.StatusUnauthorized)
			return
		}
		if p.TenantID == "" {
			cfg.respond(w, r, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithTenant(r.Context(), p.TenantID)))
	})
}

func problem(w http.ResponseWriter, _ *http.Request, status int) {
	body := map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
		body["detail"] = "authentication required"
		body["code"] = "unauthenticated"
	} else {
		body["detail"] = "the credential is not bound to a tenant"
		body["code"] = "no_tenant"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
