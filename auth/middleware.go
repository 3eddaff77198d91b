package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// AccessVerifier verifies access tokens. *JWTManager implements it.
type AccessVerifier interface {
	VerifyAccess(ctx context.Context, token string) (Claims, error)
}

// APIKeyVerifier verifies API keys. *APIKeys implements it.
type APIKeyVerifier interface {
	VerifyAPIKey(ctx context.Context, key string) (Principal, error)
}

var (
	_ AccessVerifier = (*JWTManager)(nil)
	_ APIKeyVerifier = (*APIKeys)(nil)
)

// Problem is an RFC 9457 problem details object, as the middleware writes
// it (media type application/problem+json).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// Problem codes written by the middleware.
const (
	CodeUnauthenticated = "unauthenticated" // no credential
	CodeInvalidToken    = "invalid_token"   // a credential that does not verify
	CodeForbidden       = "forbidden"       // authenticated, but not allowed
	CodeUnavailable     = "unavailable"     // the credential store did not answer
	CodeMisconfigured   = "misconfigured"   // the middleware was built with an invalid option
)

// ErrorWriter writes an error response for the middleware. status is 401,
// 403 or 503; p is the problem the default writer would send. The
// middleware has already set WWW-Authenticate on 401 responses. err is the
// underlying cause, for logging; never send it to the client. (A
// middleware built with an invalid option answers 500 through WriteProblem
// instead, never through a custom writer.)
type ErrorWriter func(w http.ResponseWriter, r *http.Request, p Problem, err error)

// WriteProblem is the default ErrorWriter: it sends p as
// application/problem+json.
func WriteProblem(w http.ResponseWriter, _ *http.Request, p Problem, _ error) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// MiddlewareOption configures Middleware, RequireRole,
// RequireRoleOrSuperadmin and RequireSuperadmin. An option given an invalid
// value (a nil function, an empty or unquotable realm, an empty problem
// type) is reported by CheckMiddlewareOptions; a middleware built with it
// fails closed, answering every request with 500 and the error (which
// wraps ErrInvalid) passed to the default problem writer, and never lets a
// request through.
type MiddlewareOption func(*middlewareConfig) error

type middlewareConfig struct {
	apiKeys     APIKeyVerifier
	writeError  ErrorWriter
	check       func(context.Context, Principal) error
	realm       string
	problemType string
	err         error // the first invalid option
}

// WithAPIKeyVerifier lets the middleware accept API keys (bearer
// credentials starting with "mst_"). Without it, API keys are refused.
// A nil verifier is invalid (leave the option out instead).
func WithAPIKeyVerifier(v APIKeyVerifier) MiddlewareOption {
	return func(c *middlewareConfig) error {
		if v == nil {
			return fmt.Errorf("%w: nil API key verifier", ErrInvalid)
		}
		c.apiKeys = v
		return nil
	}
}

// WithErrorWriter replaces the problem+json writer (default WriteProblem).
// A nil writer is invalid.
func WithErrorWriter(w ErrorWriter) MiddlewareOption {
	return func(c *middlewareConfig) error {
		if w == nil {
			return fmt.Errorf("%w: nil error writer", ErrInvalid)
		}
		c.writeError = w
		return nil
	}
}

// WithPrincipalCheck adds a per-request check run after the credential
// verified and before the handler: return an error to refuse the request
// with 401 (for example when the user was deactivated or removed from the
// tenant after the token was issued), or an error wrapping ErrForbidden to
// answer 403. A nil function is invalid.
func WithPrincipalCheck(f func(ctx context.Context, p Principal) error) MiddlewareOption {
	return func(c *middlewareConfig) error {
		if f == nil {
			return fmt.Errorf("%w: nil principal check", ErrInvalid)
		}
		c.check = f
		return nil
	}
}

// WithRealm sets the realm in WWW-Authenticate (default "maestro"). An
// empty realm, or one holding a quote, a backslash or a line break, is
// invalid.
func WithRealm(realm string) MiddlewareOption {
	return func(c *middlewareConfig) error {
		if realm == "" || strings.ContainsAny(realm, "\"\\\r\n") {
			return fmt.Errorf("%w: realm %q", ErrInvalid, realm)
		}
		c.realm = realm
		return nil
	}
}

// WithProblemType sets the "type" URI of problems (default "about:blank").
// An empty URI is invalid.
func WithProblemType(uri string) MiddlewareOption {
	return func(c *middlewareConfig) error {
		if uri == "" {
			return fmt.Errorf("%w: empty problem type", ErrInvalid)
		}
		c.problemType = uri
		return nil
	}
}

// CheckMiddlewareOptions reports the first invalid option among opts, with
// an error wrapping ErrInvalid, or nil. Hosts call it at start-up to fail
// fast instead of serving a middleware that refuses every request.
func CheckMiddlewareOptions(opts ...MiddlewareOption) error {
	return newMiddlewareConfig(opts).err
}

func newMiddlewareConfig(opts []MiddlewareOption) *middlewareConfig {
	c := &middlewareConfig{writeError: WriteProblem, realm: "maestro", problemType: "about:blank"}
	for _, o := range opts {
		err := fmt.Errorf("%w: nil middleware option", ErrInvalid)
		if o != nil {
			err = o(c)
		}
		if err != nil {
			// Fail closed with the default writer: a custom one may be
			// the option that failed.
			return &middlewareConfig{writeError: WriteProblem, realm: "maestro", problemType: "about:blank", err: err}
		}
	}
	return c
}

// misconfigured answers 500 for a middleware built with an invalid option.
func (c *middlewareConfig) misconfigured(w http.ResponseWriter, r *http.Request) {
	c.writeError(w, r, Problem{Type: c.problemType, Title: http.StatusText(http.StatusInternalServerError),
		Status: http.StatusInternalServerError, Detail: "Authentication is misconfigured.", Code: CodeMisconfigured}, c.err)
}

// Middleware authenticates every request through it. The only credential
// it reads is "Authorization: Bearer <credential>", an access JWT or (with
// WithAPIKeyVerifier) an API key, told apart by the "mst_" prefix. It never
// reads cookies, query parameters or headers such as X-User-ID and
// X-Tenant-ID. On success the handler runs with the Principal in the
// request context (PrincipalFrom). Otherwise it answers 401 with
// "WWW-Authenticate: Bearer" (adding error="invalid_token" when a
// credential was presented but failed), or 503 when the token store did not
// answer, so a store outage never looks like a valid credential.
func Middleware(tokens AccessVerifier, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	c := newMiddlewareConfig(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.err != nil {
				c.misconfigured(w, r)
				return
			}
			cred, ok := bearer(r)
			if !ok {
				c.unauthorized(w, r, false, errors.New("auth: no bearer credential"))
				return
			}
			var (
				p   Principal
				err error
			)
			ctx := r.Context()
			switch {
			case IsAPIKeyLike(cred):
				if c.apiKeys == nil {
					err = ErrInvalidAPIKey
				} else {
					p, err = c.apiKeys.VerifyAPIKey(ctx, cred)
				}
			case tokens == nil:
				err = ErrInvalidToken
			default:
				var cl Claims
				cl, err = tokens.VerifyAccess(ctx, cred)
				p = cl.Principal()
			}
			if err != nil {
				if isCredentialError(err) {
					c.unauthorized(w, r, true, err)
				} else {
					c.unavailable(w, r, err)
				}
				return
			}
			if c.check != nil {
				switch err := c.check(ctx, p); {
				case err == nil:
				case errors.Is(err, ErrForbidden):
					c.forbidden(w, r, err)
					return
				case isStoreError(err):
					c.unavailable(w, r, err)
					return
				default:
					c.unauthorized(w, r, true, err)
					return
				}
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(ctx, p)))
		})
	}
}

// isCredentialError reports whether err says the credential is bad, as
// opposed to a failure to check it.
func isCredentialError(err error) bool {
	for _, e := range []error{ErrInvalidToken, ErrExpired, ErrRevoked, ErrRefreshReuse, ErrInvalidAPIKey, ErrNotFound} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func isStoreError(err error) bool {
	var se *StoreError
	return errors.As(err, &se)
}

// bearer extracts the credential of the request's single Authorization
// header with the Bearer scheme (case-insensitive, RFC 9110 §11.1).
func bearer(r *http.Request) (string, bool) {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 {
		return "", false
	}
	scheme, cred, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	cred = strings.TrimLeft(cred, " ")
	if cred == "" || len(cred) > maxTokenLen {
		return "", false
	}
	for i := 0; i < len(cred); i++ { // RFC 6750 b64token
		ch := cred[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' ||
			ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == '+' || ch == '/' || ch == '=') {
			return "", false
		}
	}
	return cred, true
}

func (c *middlewareConfig) unauthorized(w http.ResponseWriter, r *http.Request, presented bool, err error) {
	h := `Bearer realm="` + c.realm + `"`
	p := Problem{Type: c.problemType, Title: http.StatusText(http.StatusUnauthorized), Status: http.StatusUnauthorized,
		Detail: "A valid bearer credential is required.", Code: CodeUnauthenticated}
	if presented {
		h += `, error="invalid_token"`
		p.Detail = "The bearer credential is invalid, expired or revoked."
		p.Code = CodeInvalidToken
	}
	w.Header().Set("WWW-Authenticate", h)
	c.writeError(w, r, p, err)
}

func (c *middlewareConfig) forbidden(w http.ResponseWriter, r *http.Request, err error) {
	c.writeError(w, r, Problem{Type: c.problemType, Title: http.StatusText(http.StatusForbidden), Status: http.StatusForbidden,
		Detail: "The credential does not grant access to this resource.", Code: CodeForbidden}, err)
}

func (c *middlewareConfig) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Retry-After", "1")
	c.writeError(w, r, Problem{Type: c.problemType, Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable,
		Detail: "Authentication is temporarily unavailable.", Code: CodeUnavailable}, err)
}

// RequireRole lets a request through only when the context's principal
// has at least role min in its tenant; otherwise it answers 403 (401 when
// no principal is present, i.e. the route was not behind Middleware). The
// superadmin flag does not satisfy it: use RequireRoleOrSuperadmin where
// platform operators should pass. RequireRole(RoleNone) admits nobody.
func RequireRole(min Role, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	return require(opts, func(p Principal) bool { return p.Role.AtLeast(min) })
}

// RequireRoleOrSuperadmin is RequireRole that also admits superadmins.
func RequireRoleOrSuperadmin(min Role, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	return require(opts, func(p Principal) bool { return p.Superadmin || p.Role.AtLeast(min) })
}

// RequireSuperadmin lets a request through only when the context's
// principal carries the superadmin flag; otherwise it answers 403 (401
// without a principal).
func RequireSuperadmin(opts ...MiddlewareOption) func(http.Handler) http.Handler {
	return require(opts, func(p Principal) bool { return p.Superadmin })
}

func require(opts []MiddlewareOption, allow func(Principal) bool) func(http.Handler) http.Handler {
	c := newMiddlewareConfig(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.err != nil {
				c.misconfigured(w, r)
				return
			}
			p, ok := PrincipalFrom(r.Context())
			if !ok {
				c.unauthorized(w, r, false, errors.New("auth: no principal in context"))
				return
			}
			if !allow(p) {
				c.forbidden(w, r, ErrForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
