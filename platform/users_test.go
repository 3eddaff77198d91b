package platform

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

func TestBcryptUserIsRehashedOnLogin(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	ctx := context.Background()
	hash, err := bcrypt.GenerateFromPassword([]byte(memberPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ts.s.tenants.CreateUser(ctx, tenancy.NewUser{Username: "legacy", PasswordHash: string(hash)})
	if err != nil {
		t.Fatal(err)
	}
	root := ts.adminToken()
	ts.addMember(root, ts.me(root).Tenant.ID, "legacy", "", "member")
	ts.login("legacy", memberPassword, "")
	u, err = ts.s.tenants.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("hash not upgraded: %.10s...", u.PasswordHash)
	}
	ts.login("legacy", memberPassword, "")

	// A hash the hasher does not know fails like a wrong password.
	junk := "$md5$deadbeef"
	if _, err := ts.s.tenants.UpdateUser(ctx, u.ID, tenancy.UserUpdate{PasswordHash: &junk}); err != nil {
		t.Fatal(err)
	}
	expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "legacy", "password": memberPassword}), 401)
}

func TestDisabledAndDemotedUsers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	ctx := context.Background()
	root := ts.adminToken()
	def := ts.me(root).Tenant.ID
	uid := ts.addMember(root, def, "gina", memberPassword, "member")
	gina := ts.login("gina", memberPassword, "")
	yes, no := true, false
	if _, err := ts.s.tenants.UpdateUser(ctx, uid, tenancy.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	expect(t, ts.do("GET", "/api/v1/auth/me", gina.AccessToken, nil), 401)
	expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": gina.RefreshToken}), 401)
	expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "gina", "password": memberPassword}), 401)
	if _, err := ts.s.tenants.UpdateUser(ctx, uid, tenancy.UserUpdate{Disabled: &no}); err != nil {
		t.Fatal(err)
	}

	// A superadmin stripped of the flag loses its tokens at once.
	sid := ts.addMember(root, def, "sam", memberPassword, "admin")
	if _, err := ts.s.tenants.UpdateUser(ctx, sid, tenancy.UserUpdate{IsSuperadmin: &yes}); err != nil {
		t.Fatal(err)
	}
	sam := ts.login("sam", memberPassword, "")
	ts.createTenant(sam.AccessToken, "by-sam")
	if _, err := ts.s.tenants.UpdateUser(ctx, sid, tenancy.UserUpdate{IsSuperadmin: &no}); err != nil {
		t.Fatal(err)
	}
	expect(t, ts.do("GET", "/api/v1/auth/me", sam.AccessToken, nil), 401)
	var next tokenResponse
	expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": sam.RefreshToken}), 200).json(t, &next)
	if ts.me(next.AccessToken).User.IsSuperadmin {
		t.Fatal("refreshed token still superadmin")
	}
	expect(t, ts.do("POST", "/api/v1/tenants", next.AccessToken, map[string]string{"name": "X", "slug": "x"}), 403)

	// A deleted user's refresh token is refused.
	hid := ts.addMember(root, def, "hal", memberPassword, "viewer")
	hal := ts.login("hal", memberPassword, "")
	if err := ts.s.tenants.DeleteUser(ctx, hid); err != nil {
		t.Fatal(err)
	}
	expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": hal.RefreshToken}), 401)
	expect(t, ts.do("GET", "/api/v1/auth/me", hal.AccessToken, nil), 401)
}

func TestSuperadminWithoutTenant(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	ctx := context.Background()
	hash, err := ts.s.identity.hasher.Hash(ctx, memberPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.s.tenants.CreateUser(ctx, tenancy.NewUser{Username: "operator", PasswordHash: hash, IsSuperadmin: true}); err != nil {
		t.Fatal(err)
	}
	op := ts.login("operator", memberPassword, "")
	me := ts.me(op.AccessToken)
	if me.Tenant != nil || me.Role != nil || !me.User.IsSuperadmin {
		t.Fatalf("me %+v", me)
	}
	var list page[tenantBody]
	expect(t, ts.do("GET", "/api/v1/tenants", op.AccessToken, nil), 200).json(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("operator sees %d tenants", len(list.Items))
	}
	// Tenant-owned data needs a tenant: refused, never unscoped.
	p := expect(t, ts.do("GET", "/api/v1/projects", op.AccessToken, nil), 403).problem(t)
	if p.Code != "tenant_required" {
		t.Fatalf("problem %+v", p)
	}
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", op.AccessToken, map[string]any{"current_password": memberPassword, "name": "k"}), 403)
	var keys page[apiKeyBody]
	expect(t, ts.do("GET", "/api/v1/auth/api-keys", op.AccessToken, nil), 200).json(t, &keys)
	expect(t, ts.do("DELETE", "/api/v1/auth/api-keys/00000000-0000-0000-0000-000000000000", op.AccessToken, nil), 404)
	var next tokenResponse
	expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": op.RefreshToken}), 200).json(t, &next)
	// A login naming a tenant the operator does not belong to fails.
	expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "operator", "password": memberPassword, "tenant": "default"}), 401)
}

func TestTenancyMiddlewareRefusals(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.DiscardHandler)}
	h := s.tenantScope(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := tenancy.TenantFrom(r.Context()); !ok {
			t.Error("handler ran without a tenant")
		}
	}))
	for _, c := range []struct {
		p    *auth.Principal
		want int
	}{
		{nil, 401},
		{&auth.Principal{UserID: "u", Role: auth.RoleAdmin}, 403},
		{&auth.Principal{UserID: "u", TenantID: "t", Role: auth.RoleViewer}, 200},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if c.p != nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), *c.p))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != c.want {
			t.Errorf("principal %+v: %d, want %d", c.p, rec.Code, c.want)
		}
	}
}

func TestCrossTenantStatementsAreAudited(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	ctx := tenancy.CrossTenant(context.Background(), "usage report")
	var n int64
	if err := ts.s.db.WithContext(ctx).Model(&registry.Project{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	recs := ts.logs.records("event", auditCrossTenant)
	if len(recs) != 1 || recs[0]["reason"] != "usage report" {
		t.Fatalf("audit records %v", recs)
	}
}

// TestPurgeTokens runs the purge loop on a clock moved past every
// session's lifetime: the expired sessions' rows are deleted, and the loop
// stops with its context. With Redis there is nothing to purge (keys
// expire) and the loop returns at once.
func TestPurgeTokens(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	db := testenv.PlatformSQLite(t)
	ts := newTestServer(t, db, testServerOptions{opts: []Option{WithClock(clock)}})
	ts.login("admin", testAdminPassword, "")
	ts.login("admin", testAdminPassword, "")
	count := func(table string) int64 {
		var n int64
		if err := db.Table(table).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count("auth_sessions") < 2 || count("auth_refresh_tokens") < 2 {
		t.Fatalf("logins stored %d sessions, %d refresh tokens", count("auth_sessions"), count("auth_refresh_tokens"))
	}
	now.Add(int64(365 * 24 * time.Hour)) // past every session's lifetime
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		ts.s.purgeTokens(ctx, time.Millisecond)
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for count("auth_sessions") != 0 || count("auth_refresh_tokens") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("expired sessions not purged: %d sessions, %d refresh tokens left", count("auth_sessions"), count("auth_refresh_tokens"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("purge loop did not stop with its context")
	}
	rs := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{redis: true})
	returned := make(chan struct{})
	go func() {
		rs.s.purgeTokens(context.Background(), time.Millisecond)
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("purge loop runs with Redis sessions")
	}
}

func TestOpenAppFailures(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	base := func() Config {
		c := testConfig(t)
		return c
	}
	cases := map[string]func(*Config){
		"bad redis url":     func(c *Config) { c.RedisURL = "http://not-redis" },
		"redis unreachable": func(c *Config) { c.RedisURL = "redis://127.0.0.1:1/0" },
		"bad tls files":     func(c *Config) { c.TLSCert, c.TLSKey = "/nonexistent/c", "/nonexistent/k" },
		"weak admin pw":     func(c *Config) { c.AdminPassword = "password" },
		"unreachable pg":    func(c *Config) { c.DatabaseURL = "postgres://u:p@127.0.0.1:1/db?connect_timeout=1" },
		"bad sqlite path":   func(c *Config) { c.DatabaseURL = "sqlite:/nonexistent/dir/x.db" },
		"short jwt secret":  func(c *Config) { c.JWTSecret = []byte("short") },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := base()
			mutate(&c)
			if a, err := New(context.Background(), c, WithLogger(log)); err == nil {
				a.Close()
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestHomeSecret(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	first, other := mustGenerate(t), mustGenerate(t)
	gen := func() (string, error) { return first, nil }
	v, err := homeSecret(ctx, dir, "s", gen)
	if err != nil || v != first {
		t.Fatalf("%q %v", v, err)
	}
	v, err = homeSecret(ctx, dir, "s", func() (string, error) { return other, nil })
	if err != nil || v != first {
		t.Fatalf("second read %q %v", v, err)
	}
	if _, err := homeSecret(ctx, dir, "weak", func() (string, error) { return "generated-value", nil }); err == nil {
		t.Fatal("a weak generated value was stored")
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := homeSecret(ctx, dir, "empty", gen); err == nil {
		t.Fatal("empty secret file accepted")
	}
	if _, err := homeSecret(ctx, filepath.Join(dir, "missing-dir"), "s", gen); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}
