package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/auth"
)

// whoami echoes the principal the middleware put in the context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(p)
})

func serve(h http.Handler, mutate func(r *http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/api/v1/projects", nil)
	if mutate != nil {
		mutate(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func bearerHeader(cred string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+cred) }
}

func problemOf(t *testing.T, w *httptest.ResponseRecorder) auth.Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var p auth.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != w.Code || p.Title == "" || p.Type == "" || p.Detail == "" || p.Code == "" {
		t.Fatalf("incomplete problem %+v", p)
	}
	return p
}

type keyFixture struct {
	keys  *auth.APIKeys
	key   string
	rec   auth.APIKey
	store *auth.MemoryAPIKeyStore
}

func newKeyFixture(t *testing.T) keyFixture {
	t.Helper()
	store := auth.NewMemoryAPIKeyStore()
	keys, err := auth.NewAPIKeys(store)
	if err != nil {
		t.Fatal(err)
	}
	creator := auth.Principal{UserID: "user-alice", TenantID: "tenant-a", Role: auth.RoleAdmin}
	key, rec, err := keys.Create(context.Background(), creator, auth.NewAPIKey{Name: "ci", Role: auth.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	return keyFixture{keys: keys, key: key, rec: rec, store: store}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	kf := newKeyFixture(t)
	pair := issue(t, f, alice)
	tokenOnly := auth.Middleware(f.m)(whoami)
	both := auth.Middleware(f.m, auth.WithAPIKeyVerifier(kf.keys))(whoami)

	cases := []struct {
		name     string
		h        http.Handler
		mutate   func(*http.Request)
		status   int
		code     string
		wantAuth string
	}{
		{"no credential", tokenOnly, nil, 401, auth.CodeUnauthenticated, `Bearer realm="maestro"`},
		{"identity headers are ignored", tokenOnly, func(r *http.Request) {
			r.Header.Set("X-User-ID", alice.UserID)
			r.Header.Set("X-Tenant-ID", alice.TenantID)
		}, 401, auth.CodeUnauthenticated, `Bearer realm="maestro"`},
		{"cookie is ignored", tokenOnly, func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: "access_token", Value: pair.AccessToken})
		}, 401, auth.CodeUnauthenticated, `Bearer realm="maestro"`},
		{"query parameter is ignored", tokenOnly, func(r *http.Request) {
			r.URL.RawQuery = "access_token=" + pair.AccessToken
		}, 401, auth.CodeUnauthenticated, `Bearer realm="maestro"`},
		{"basic scheme", tokenOnly, func(r *http.Request) { r.SetBasicAuth("admin", "pw") }, 401, auth.CodeUnauthenticated, `Bearer realm="maestro"`},
		{"empty bearer", tokenOnly, func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }, 401, auth.CodeUnauthenticated, `Bearer realm="maestro"`},
		{"bad characters", tokenOnly, bearerHeader("abc def"), 401, auth.CodeUnauthenticated, `Bearer realm="maestro"`},
		{"two authorization headers", tokenOnly, func(r *http.Request) {
			r.Header.Add("Authorization", "Bearer "+pair.AccessToken)
			r.Header.Add("Authorization", "Bearer "+pair.AccessToken)
		}, 401, auth.CodeUnauthenticated, `Bearer realm="maestro"`},
		{"invalid token", tokenOnly, bearerHeader("eyJhbGciOiJub25lIn0.e30."), 401, auth.CodeInvalidToken, `Bearer realm="maestro", error="invalid_token"`},
		{"refresh token", tokenOnly, bearerHeader(pair.RefreshToken), 401, auth.CodeInvalidToken, `Bearer realm="maestro", error="invalid_token"`},
		{"API key without a key verifier", tokenOnly, bearerHeader(kf.key), 401, auth.CodeInvalidToken, `Bearer realm="maestro", error="invalid_token"`},
		{"malformed API key", both, bearerHeader("mst_nope"), 401, auth.CodeInvalidToken, `Bearer realm="maestro", error="invalid_token"`},
		{"access token", tokenOnly, bearerHeader(pair.AccessToken), 200, "", ""},
		{"lower-case scheme", tokenOnly, func(r *http.Request) { r.Header.Set("Authorization", "bearer "+pair.AccessToken) }, 200, "", ""},
		{"API key", both, bearerHeader(kf.key), 200, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(tc.h, tc.mutate)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == 200 {
				return
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.wantAuth {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tc.wantAuth)
			}
			if p := problemOf(t, w); p.Code != tc.code {
				t.Fatalf("code %q, want %q", p.Code, tc.code)
			}
		})
	}

	var p auth.Principal
	if err := json.Unmarshal(serve(both, bearerHeader(kf.key)).Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Method != auth.MethodAPIKey || p.APIKeyID != kf.rec.ID || p.Role != auth.RoleViewer || p.TenantID != "tenant-a" || p.Superadmin {
		t.Fatalf("API key principal %+v", p)
	}
	if err := json.Unmarshal(serve(both, bearerHeader(pair.AccessToken)).Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Method != auth.MethodAccessToken || p.UserID != alice.UserID || p.SessionID != pair.SessionID {
		t.Fatalf("token principal %+v", p)
	}
}

func TestMiddlewareStoreOutageIs503(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pair := issue(t, f, alice)
	m, err := auth.NewJWTManager(failingStore{}, auth.WithKeys(hsKey(t, "k1", testSecret)), auth.WithClock(f.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	w := serve(auth.Middleware(m)(whoami), bearerHeader(pair.AccessToken))
	if w.Code != http.StatusServiceUnavailable || problemOf(t, w).Code != auth.CodeUnavailable {
		t.Fatalf("outage answered %d: %s", w.Code, w.Body)
	}
}

func TestMiddlewarePrincipalCheckAndErrorWriter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pair := issue(t, f, alice)
	var verdict error
	var written []int
	h := auth.Middleware(f.m,
		auth.WithPrincipalCheck(func(_ context.Context, p auth.Principal) error {
			if p.UserID != alice.UserID {
				return errors.New("wrong principal passed to the check")
			}
			return verdict
		}),
		auth.WithRealm("platform"),
		auth.WithProblemType("https://example.com/problems/auth"),
		auth.WithErrorWriter(func(w http.ResponseWriter, r *http.Request, p auth.Problem, err error) {
			written = append(written, p.Status)
			if p.Type != "https://example.com/problems/auth" {
				t.Errorf("problem type %q", p.Type)
			}
			auth.WriteProblem(w, r, p, err)
		}),
	)(whoami)

	for _, tc := range []struct {
		verdict error
		status  int
	}{
		{nil, 200},
		{errors.New("user deactivated"), 401},
		{fmt.Errorf("membership gone: %w", auth.ErrForbidden), 403},
		{&auth.StoreError{Err: errors.New("db down")}, 503},
	} {
		verdict = tc.verdict
		w := serve(h, bearerHeader(pair.AccessToken))
		if w.Code != tc.status {
			t.Fatalf("verdict %v: status %d, want %d", tc.verdict, w.Code, tc.status)
		}
		if tc.status == 401 && w.Header().Get("WWW-Authenticate") != `Bearer realm="platform", error="invalid_token"` {
			t.Fatalf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
		}
	}
	if len(written) != 3 || written[0] != 401 || written[1] != 403 || written[2] != 503 {
		t.Fatalf("custom writer saw %v", written)
	}
	if msg := (&auth.StoreError{Err: errors.New("x")}).Error(); !strings.Contains(msg, "x") {
		t.Fatalf("StoreError message %q", msg)
	}
}

func TestRequireRole(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	as := func(p *auth.Principal) func(*http.Request) {
		return func(r *http.Request) {
			if p != nil {
				*r = *r.WithContext(auth.WithPrincipal(r.Context(), *p))
			}
		}
	}
	viewer := &auth.Principal{UserID: "v", TenantID: "t", Role: auth.RoleViewer}
	member := &auth.Principal{UserID: "m", TenantID: "t", Role: auth.RoleMember}
	admin := &auth.Principal{UserID: "a", TenantID: "t", Role: auth.RoleAdmin}
	root := &auth.Principal{UserID: "r", Superadmin: true}
	cases := []struct {
		name   string
		mw     func(http.Handler) http.Handler
		p      *auth.Principal
		status int
	}{
		{"member route, viewer", auth.RequireRole(auth.RoleMember), viewer, 403},
		{"member route, member", auth.RequireRole(auth.RoleMember), member, 204},
		{"member route, admin", auth.RequireRole(auth.RoleMember), admin, 204},
		{"member route, superadmin without role", auth.RequireRole(auth.RoleMember), root, 403},
		{"member route, no principal", auth.RequireRole(auth.RoleMember), nil, 401},
		{"admin-or-superadmin route, superadmin", auth.RequireRoleOrSuperadmin(auth.RoleAdmin), root, 204},
		{"admin-or-superadmin route, member", auth.RequireRoleOrSuperadmin(auth.RoleAdmin), member, 403},
		{"superadmin route, admin", auth.RequireSuperadmin(), admin, 403},
		{"superadmin route, superadmin", auth.RequireSuperadmin(), root, 204},
		{"superadmin route, no principal", auth.RequireSuperadmin(), nil, 401},
		{"RoleNone route admits nobody", auth.RequireRole(auth.RoleNone), admin, 403},
	}
	for _, tc := range cases {
		w := serve(tc.mw(ok), as(tc.p))
		if w.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, w.Code, tc.status)
			continue
		}
		if tc.status == 403 && problemOf(t, w).Code != auth.CodeForbidden {
			t.Errorf("%s: wrong problem code", tc.name)
		}
		if tc.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}
}
