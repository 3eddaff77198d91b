package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
)

// TestInvalidOptionsAreErrInvalid checks that every option value a
// constructor refuses is reported with ErrInvalid, never ignored.
func TestInvalidOptionsAreErrInvalid(t *testing.T) {
	t.Parallel()
	k := hsKey(t, "k1", testSecret)
	store := auth.NewMemoryTokenStore()
	for name, opts := range map[string][]auth.Option{
		"empty issuer":            {auth.WithIssuer("")},
		"empty audience":          {auth.WithAudience("")},
		"zero access TTL":         {auth.WithAccessTTL(0)},
		"negative access TTL":     {auth.WithAccessTTL(-time.Minute)},
		"access TTL too long":     {auth.WithAccessTTL(2 * time.Hour)},
		"zero refresh TTL":        {auth.WithRefreshTTL(0)},
		"refresh TTL too long":    {auth.WithRefreshTTL(91 * 24 * time.Hour)},
		"access longer than refr": {auth.WithAccessTTL(time.Hour), auth.WithRefreshTTL(30 * time.Minute)},
		"negative leeway":         {auth.WithLeeway(-time.Second)},
		"leeway too long":         {auth.WithLeeway(2 * time.Minute)},
		"nil clock":               {auth.WithClock(nil)},
		"nil refresher":           {auth.WithSubjectRefresher(nil)},
		"nil option":              {nil},
	} {
		if m, err := auth.NewJWTManager(store, append([]auth.Option{auth.WithKeys(k)}, opts...)...); m != nil || !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("NewJWTManager with %s: %v; want ErrInvalid", name, err)
		}
	}
	if _, err := auth.NewJWTManager(nil, auth.WithKeys(k)); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("NewJWTManager(nil): %v; want ErrInvalid", err)
	}

	for name, opt := range map[string]auth.APIKeyOption{
		"nil clock":         auth.WithAPIKeyClock(nil),
		"negative interval": auth.WithLastUsedInterval(-time.Second),
		"zero max TTL":      auth.WithMaxAPIKeyTTL(0),
		"negative max TTL":  auth.WithMaxAPIKeyTTL(-time.Hour),
		"nil option":        nil,
	} {
		if a, err := auth.NewAPIKeys(auth.NewMemoryAPIKeyStore(), opt); a != nil || !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("NewAPIKeys with %s: %v; want ErrInvalid", name, err)
		}
	}
	if _, err := auth.NewAPIKeys(nil); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("NewAPIKeys(nil): %v; want ErrInvalid", err)
	}

	good := auth.DefaultArgon2Params()
	with := func(f func(*auth.Argon2Params)) auth.Argon2Params { p := good; f(&p); return p }
	for name, opt := range map[string]auth.HasherOption{
		"low memory":       auth.WithArgon2Params(with(func(p *auth.Argon2Params) { p.Memory = 1 })),
		"no iterations":    auth.WithArgon2Params(with(func(p *auth.Argon2Params) { p.Iterations = 0 })),
		"no parallelism":   auth.WithArgon2Params(with(func(p *auth.Argon2Params) { p.Parallelism = 0 })),
		"short salt":       auth.WithArgon2Params(with(func(p *auth.Argon2Params) { p.SaltLen = 8 })),
		"short key":        auth.WithArgon2Params(with(func(p *auth.Argon2Params) { p.KeyLen = 8 })),
		"zero concurrency": auth.WithMaxConcurrentHashes(0),
		"negative conc.":   auth.WithMaxConcurrentHashes(-1),
		"zero queue wait":  auth.WithHashQueueTimeout(0),
		"negative wait":    auth.WithHashQueueTimeout(-time.Second),
		"nil option":       nil,
	} {
		if h, err := auth.NewPasswordHasher(opt); h != nil || !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("NewPasswordHasher with %s: %v; want ErrInvalid", name, err)
		}
	}

	for name, opt := range map[string]auth.ThrottlerOption{"nil clock": auth.WithThrottlerClock(nil), "nil option": nil} {
		if th, err := auth.NewMemoryThrottler(auth.ThrottlePolicy{}, opt); th != nil || !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("NewMemoryThrottler with %s: %v; want ErrInvalid", name, err)
		}
	}
	for name, p := range map[string]auth.ThrottlePolicy{
		"lockouts":         {BaseLockout: time.Hour, MaxLockout: time.Minute},
		"account < free":   {FreeFailures: 5, AccountFailures: 2},
		"memory < lockout": {MaxLockout: time.Hour, FailureMemory: time.Minute},
	} {
		if _, err := auth.NewMemoryThrottler(p); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("NewMemoryThrottler with policy %s: %v; want ErrInvalid", name, err)
		}
	}
}

// TestMiddlewareInvalidOptionsFailClosed checks that a middleware built
// with an invalid option never lets a request through and that
// CheckMiddlewareOptions reports the option.
func TestMiddlewareInvalidOptionsFailClosed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	access := issue(t, f, alice).AccessToken
	reached := false
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true })
	writer := func(w http.ResponseWriter, r *http.Request, p auth.Problem, err error) { w.WriteHeader(299) }
	for name, opt := range map[string]auth.MiddlewareOption{
		"nil verifier":  auth.WithAPIKeyVerifier(nil),
		"nil writer":    auth.WithErrorWriter(nil),
		"nil check":     auth.WithPrincipalCheck(nil),
		"empty realm":   auth.WithRealm(""),
		"quoted realm":  auth.WithRealm(`a"b`),
		"empty problem": auth.WithProblemType(""),
		"nil option":    nil,
	} {
		opts := []auth.MiddlewareOption{auth.WithErrorWriter(writer), opt}
		if err := auth.CheckMiddlewareOptions(opts...); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("CheckMiddlewareOptions with %s: %v; want ErrInvalid", name, err)
		}
		for mw, h := range map[string]http.Handler{
			"Middleware":        auth.Middleware(f.m, opts...)(next),
			"RequireRole":       auth.RequireRole(auth.RoleViewer, opts...)(next),
			"RequireSuperadmin": auth.RequireSuperadmin(opts...)(next),
		} {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+access)
			req = req.WithContext(auth.WithPrincipal(context.Background(), auth.Principal{UserID: "u", TenantID: "t", Role: auth.RoleAdmin, Superadmin: true}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if reached || w.Code != http.StatusInternalServerError || problemOf(t, w).Code != auth.CodeMisconfigured {
				t.Errorf("%s with %s: status %d, reached %v; want 500 %s", mw, name, w.Code, reached, auth.CodeMisconfigured)
			}
		}
	}
	if err := auth.CheckMiddlewareOptions(auth.WithRealm("platform"), auth.WithProblemType("about:blank")); err != nil {
		t.Errorf("valid options: %v", err)
	}
}
