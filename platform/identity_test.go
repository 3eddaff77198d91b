package platform

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
)

// login logs in and fails the test unless it succeeds.
func (ts *testServer) login(username, password, tenant string) tokenResponse {
	ts.t.Helper()
	body := map[string]string{"username": username, "password": password}
	if tenant != "" {
		body["tenant"] = tenant
	}
	var tok tokenResponse
	expect(ts.t, ts.do("POST", "/api/v1/auth/login", "", body), 200).json(ts.t, &tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "bearer" || tok.ExpiresIn <= 0 {
		ts.t.Fatalf("token response %+v", tok)
	}
	return tok
}

// adminToken logs in as the bootstrap administrator.
func (ts *testServer) adminToken() string {
	ts.t.Helper()
	return ts.login("admin", testAdminPassword, "").AccessToken
}

// createTenant creates a tenant as the superadmin token and returns its id.
func (ts *testServer) createTenant(token, slug string) string {
	ts.t.Helper()
	var out tenantBody
	expect(ts.t, ts.do("POST", "/api/v1/tenants", token, map[string]string{"name": "Tenant " + slug, "slug": slug}), 201).json(ts.t, &out)
	return out.ID
}

// addMember adds (creating) a user to a tenant and returns the user's id.
func (ts *testServer) addMember(token, tenantID, username, password, role string) string {
	ts.t.Helper()
	body := map[string]string{"username": username, "role": role}
	if password != "" {
		body["password"] = password
	}
	var out memberBody
	expect(ts.t, ts.do("POST", "/api/v1/tenants/"+tenantID+"/members", token, body), 201).json(ts.t, &out)
	return out.UserID
}

// me returns the caller's profile.
func (ts *testServer) me(token string) meResponse {
	ts.t.Helper()
	var out meResponse
	expect(ts.t, ts.do("GET", "/api/v1/auth/me", token, nil), 200).json(ts.t, &out)
	return out
}

const memberPassword = "Member-Passphrase-91x!"

func TestIdentityFlows(t *testing.T) {
	t.Parallel()
	type setup struct {
		open  func(testing.TB) *gorm.DB
		redis bool // token store and throttling in Redis instead of SQL and memory
	}
	setups := map[string]setup{"sqlite+redis": {testenv.PlatformSQLite, true}}
	for name, open := range testenv.PlatformDatabases(t) {
		setups[name] = setup{open, false}
	}
	for name, su := range setups {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, su.open(t), testServerOptions{redis: su.redis})
			tok := ts.login("admin", testAdminPassword, "")

			me := ts.me(tok.AccessToken)
			if me.User.Username != "admin" || !me.User.IsSuperadmin || me.Tenant == nil || me.Tenant.Slug != "default" ||
				me.Role == nil || *me.Role != "admin" {
				t.Fatalf("me = %+v", me)
			}

			// Refresh rotates; the spent token is refused and revokes the session.
			var next tokenResponse
			expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}), 200).json(t, &next)
			ts.me(next.AccessToken)
			r := expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}), 401)
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatal("401 without WWW-Authenticate: Bearer")
			}
			expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": next.RefreshToken}), 401)
			expect(t, ts.do("GET", "/api/v1/auth/me", next.AccessToken, nil), 401)
			if len(ts.logs.records("event", auditRefreshReuse)) != 1 {
				t.Fatal("reuse not audited")
			}
			// An access token is not a refresh token.
			expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": ts.adminToken()}), 401)

			// Logout ends the access token and the session's refresh token.
			tok = ts.login("admin", testAdminPassword, "default")
			expect(t, ts.do("POST", "/api/v1/auth/logout", tok.AccessToken, nil), 204)
			r = expect(t, ts.do("GET", "/api/v1/auth/me", tok.AccessToken, nil), 401)
			if !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
				t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
			expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}), 401)
			if len(ts.logs.records("event", auditLogout)) != 1 || len(ts.logs.records("event", auditLoginSuccess)) < 2 {
				t.Fatal("login/logout not audited")
			}
		})
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	wrong := expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "not-the-password"}), 401)
	unknown := expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "nobody", "password": "not-the-password"}), 401)
	badTenant := expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": testAdminPassword, "tenant": "nope"}), 401)
	if !bytes.Equal(wrong.body, unknown.body) || !bytes.Equal(wrong.body, badTenant.body) {
		t.Fatalf("bodies differ:\n%s\n%s\n%s", wrong.body, unknown.body, badTenant.body)
	}
	wrong.problem(t)
	for _, r := range []response{wrong, unknown, badTenant} {
		if r.header.Get("WWW-Authenticate") == "" {
			t.Fatal("401 without WWW-Authenticate")
		}
	}
	expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "admin"}), 422)
	expect(t, ts.do("POST", "/api/v1/auth/login", "", `{"username":"admin","password":"x","role":"admin"}`), 422)
	expect(t, ts.do("POST", "/api/v1/auth/login", "", "username=admin", "Content-Type", "application/x-www-form-urlencoded"), 415)
	if len(ts.logs.records("event", auditLoginFailure)) != 3 {
		t.Fatalf("failures audited: %d", len(ts.logs.records("event", auditLoginFailure)))
	}
	if strings.Contains(ts.logs.String(), "not-the-password") || strings.Contains(ts.logs.String(), "nobody") {
		t.Fatal("a submitted password or name reached the log")
	}
}

func TestLoginThrottling(t *testing.T) {
	t.Parallel()
	for name, redis := range map[string]bool{"memory": false, "redis": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{redis: redis,
				throttle: auth.ThrottlePolicy{FreeFailures: 2, BaseLockout: time.Minute, MaxLockout: time.Hour}})
			for _, user := range []string{"admin", "ghost"} {
				for i := 0; i < 3; i++ {
					expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": "wrong-password"}), 401)
				}
				r := expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": "wrong-password"}), 429)
				if r.header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
				r.problem(t)
			}
			// Even the right password is refused while locked.
			expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": testAdminPassword}), 429)
			if len(ts.logs.records("event", auditLoginLockout)) != 2 || len(ts.logs.records("event", auditLoginThrottled)) == 0 {
				t.Fatal("lockout not audited")
			}
		})
	}
}

func TestPasswordChange(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	admin := ts.adminToken()
	def := ts.me(admin).Tenant.ID
	ts.addMember(admin, def, "alice", memberPassword, "member")
	s1 := ts.login("alice", memberPassword, "")
	s2 := ts.login("alice", memberPassword, "")

	expect(t, ts.do("POST", "/api/v1/auth/password", s1.AccessToken,
		map[string]string{"current_password": "wrong-one-entirely", "new_password": "Another-Passphrase-42!"}), 422)
	p := expect(t, ts.do("POST", "/api/v1/auth/password", s1.AccessToken,
		map[string]string{"current_password": memberPassword, "new_password": "password123"}), 422).problem(t)
	if len(p.Errors) != 1 || p.Errors[0].Field != "new_password" {
		t.Fatalf("policy problem %+v", p)
	}
	expect(t, ts.do("POST", "/api/v1/auth/password", s1.AccessToken,
		map[string]string{"current_password": memberPassword, "new_password": "Another-Passphrase-42!"}), 204)

	ts.me(s1.AccessToken) // the session that changed it survives
	expect(t, ts.do("GET", "/api/v1/auth/me", s2.AccessToken, nil), 401)
	expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": s2.RefreshToken}), 401)
	expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "alice", "password": memberPassword}), 401)
	ts.login("alice", "Another-Passphrase-42!", "")
	if len(ts.logs.records("event", auditPasswordChanged)) != 1 {
		t.Fatal("password change not audited")
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	admin := ts.adminToken()
	def := ts.me(admin).Tenant.ID
	ts.addMember(admin, def, "bob", memberPassword, "member")
	ts.addMember(admin, def, "carol", memberPassword, "member")
	bob := ts.login("bob", memberPassword, "").AccessToken
	carol := ts.login("carol", memberPassword, "").AccessToken

	expect(t, ts.do("POST", "/api/v1/auth/api-keys", bob, map[string]any{"current_password": memberPassword, "name": "ci", "role": "admin"}), 403)
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", bob, map[string]any{"current_password": memberPassword, "name": "ci", "role": "owner"}), 422)
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", bob, map[string]any{"current_password": memberPassword, "name": ""}), 422)
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", bob, map[string]any{"current_password": memberPassword, "name": "x", "expires_in_days": 5000}), 422)
	var key apiKeyBody
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", bob, map[string]any{"current_password": memberPassword, "name": "ci", "role": "viewer", "expires_in_days": 30}), 201).json(t, &key)
	if !strings.HasPrefix(key.Key, auth.APIKeyPrefix) || key.Role != auth.RoleViewer || key.ExpiresAt == nil {
		t.Fatalf("key %+v", key)
	}

	me := ts.me(key.Key)
	if me.Role == nil || *me.Role != "viewer" || me.User.Username != "bob" {
		t.Fatalf("me via key = %+v", me)
	}
	// A key cannot mint keys or log out.
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", key.Key, map[string]any{"current_password": memberPassword, "name": "more"}), 403)
	expect(t, ts.do("POST", "/api/v1/auth/logout", key.Key, nil), 400)

	var list page[apiKeyBody]
	expect(t, ts.do("GET", "/api/v1/auth/api-keys", bob, nil), 200).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].Key != "" || list.Items[0].ID != key.ID {
		t.Fatalf("bob's list %+v", list)
	}
	expect(t, ts.do("GET", "/api/v1/auth/api-keys", carol, nil), 200).json(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("carol sees %d keys", len(list.Items))
	}
	expect(t, ts.do("GET", "/api/v1/auth/api-keys", admin, nil), 200).json(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("admin sees %d keys", len(list.Items))
	}

	expect(t, ts.do("DELETE", "/api/v1/auth/api-keys/"+key.ID, carol, nil), 404)
	expect(t, ts.do("DELETE", "/api/v1/auth/api-keys/"+key.ID, bob, nil), 204)
	expect(t, ts.do("GET", "/api/v1/auth/me", key.Key, nil), 401)
	expect(t, ts.do("DELETE", "/api/v1/auth/api-keys/"+key.ID, admin, nil), 204) // revoking twice is fine
	expect(t, ts.do("DELETE", "/api/v1/auth/api-keys/00000000-0000-0000-0000-000000000000", admin, nil), 404)
	if len(ts.logs.records("event", auditKeyCreated)) != 1 || len(ts.logs.records("event", auditKeyRevoked)) != 2 {
		t.Fatal("key events not audited")
	}
	if strings.Contains(ts.logs.String(), key.Key) {
		t.Fatal("API key logged")
	}
}

func TestIdentityHeadersIgnored(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	admin := ts.adminToken()
	me := ts.me(admin)
	other := ts.createTenant(admin, "other")
	ts.addMember(admin, other, "dave", memberPassword, "viewer")
	dave := ts.login("dave", memberPassword, "").AccessToken

	// Without a credential, identity headers name nobody.
	expect(t, ts.do("GET", "/api/v1/auth/me", "", nil, "X-User-ID", me.User.ID, "X-Tenant-ID", me.Tenant.ID), 401)
	// With one, they change nothing.
	var got meResponse
	expect(t, ts.do("GET", "/api/v1/auth/me", dave, nil, "X-User-ID", me.User.ID, "X-Tenant-ID", me.Tenant.ID,
		"X-Role", "admin"), 200).json(t, &got)
	if got.User.Username != "dave" || got.Tenant.ID != other || *got.Role != "viewer" {
		t.Fatalf("headers changed the identity: %+v", got)
	}
	// Credentials in other places are not accepted.
	expect(t, ts.do("GET", "/api/v1/auth/me?access_token="+dave, "", nil), 401)
	expect(t, ts.do("GET", "/api/v1/auth/me", "", nil, "Authorization", "Basic "+dave), 401)
}

func TestLoginTenantChoice(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	admin := ts.adminToken()
	def := ts.me(admin).Tenant.ID
	second := ts.createTenant(admin, "second")
	ts.addMember(admin, def, "erin", memberPassword, "viewer")
	ts.addMember(admin, second, "erin", "", "admin")

	p := expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "erin", "password": memberPassword}), 400).problem(t)
	if p.Code != "tenant_required" {
		t.Fatalf("code %s", p.Code)
	}
	me := ts.me(ts.login("erin", memberPassword, "second").AccessToken)
	if me.Tenant.ID != second || *me.Role != "admin" {
		t.Fatalf("me %+v", me)
	}
	me = ts.me(ts.login("erin", memberPassword, "default").AccessToken)
	if me.Tenant.ID != def || *me.Role != "viewer" {
		t.Fatalf("me %+v", me)
	}
}

func TestMembershipChangesApplyAtOnce(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	admin := ts.adminToken()
	def := ts.me(admin).Tenant.ID
	uid := ts.addMember(admin, def, "frank", memberPassword, "admin")
	frank := ts.login("frank", memberPassword, "")
	var key apiKeyBody
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", frank.AccessToken, map[string]any{"current_password": memberPassword, "name": "k"}), 201).json(t, &key)

	// Demoted: the admin token, its session and the key end; the user
	// signs in again with the new role.
	expect(t, ts.do("PATCH", "/api/v1/tenants/"+def+"/members/"+uid, admin, map[string]string{"role": "viewer"}), 200)
	expect(t, ts.do("GET", "/api/v1/auth/me", frank.AccessToken, nil), 401)
	expect(t, ts.do("GET", "/api/v1/auth/me", key.Key, nil), 401)
	expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": frank.RefreshToken}), 401)
	again := ts.login("frank", memberPassword, "")
	if me := ts.me(again.AccessToken); *me.Role != "viewer" {
		t.Fatalf("role after signing in again %s", *me.Role)
	}
	var viewerKey apiKeyBody
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", again.AccessToken, map[string]any{"current_password": memberPassword, "name": "v"}), 201).json(t, &viewerKey)
	// Promoted: nothing ends.
	expect(t, ts.do("PATCH", "/api/v1/tenants/"+def+"/members/"+uid, admin, map[string]string{"role": "member"}), 200)
	expect(t, ts.do("GET", "/api/v1/auth/me", viewerKey.Key, nil), 200)
	// Removed: nothing works any more, and adding the user back revives
	// none of the old credentials.
	expect(t, ts.do("DELETE", "/api/v1/tenants/"+def+"/members/"+uid, admin, nil), 204)
	expect(t, ts.do("GET", "/api/v1/auth/me", again.AccessToken, nil), 401)
	expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": again.RefreshToken}), 401)
	expect(t, ts.do("POST", "/api/v1/tenants/"+def+"/members", admin, map[string]string{"username": "frank", "role": "admin"}), 201)
	for _, tok := range []string{frank.AccessToken, again.AccessToken, key.Key, viewerKey.Key} {
		expect(t, ts.do("GET", "/api/v1/auth/me", tok, nil), 401)
	}
	expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": again.RefreshToken}), 401)
	ts.login("frank", memberPassword, "")
}

// TestCredentialsEndWithAccess is the regression test of F-11 and F-12:
// creating an API key from a session needs the current password (throttled
// like a login), every key expires, a password change ends the user's
// keys in every tenant with their other sessions, and removing a member
// from one tenant ends only what the removal must.
func TestCredentialsEndWithAccess(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	root := ts.adminToken()
	a, b := ts.createTenant(root, "cred-a"), ts.createTenant(root, "cred-b")
	ts.addMember(root, a, "gina", memberPassword, "member")
	ts.addMember(root, b, "gina", "", "member")
	sa := ts.login("gina", memberPassword, "cred-a").AccessToken
	sb := ts.login("gina", memberPassword, "cred-b").AccessToken

	// A stolen session alone cannot mint a key.
	p := expect(t, ts.do("POST", "/api/v1/auth/api-keys", sa, map[string]any{"name": "k"}), 422).problem(t)
	if len(p.Errors) != 1 || p.Errors[0].Field != "current_password" {
		t.Fatalf("key without the current password: %+v", p)
	}
	p = expect(t, ts.do("POST", "/api/v1/auth/api-keys", sa, map[string]any{"name": "k", "current_password": "not-it-at-all"}), 422).problem(t)
	if p.Errors[0].Field != "current_password" {
		t.Fatalf("key with a wrong password: %+v", p)
	}
	var ka, kb apiKeyBody
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", sa, map[string]any{"name": "ka", "current_password": memberPassword}), 201).json(t, &ka)
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", sb, map[string]any{"name": "kb", "current_password": memberPassword}), 201).json(t, &kb)
	// Every key expires: by default after 90 days.
	if ka.ExpiresAt == nil || time.Until(*ka.ExpiresAt) < 89*24*time.Hour || time.Until(*ka.ExpiresAt) > 91*24*time.Hour {
		t.Fatalf("default expiry %v", ka.ExpiresAt)
	}
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", sa, map[string]any{"name": "long", "expires_in_days": 366, "current_password": memberPassword}), 422)

	// A password change ends the keys in both tenants and the other session.
	expect(t, ts.do("POST", "/api/v1/auth/password", sa, map[string]string{"current_password": memberPassword, "new_password": "Another-Strong-Pass-42!"}), 204)
	for _, tok := range []string{ka.Key, kb.Key, sb} {
		expect(t, ts.do("GET", "/api/v1/auth/me", tok, nil), 401)
	}
	expect(t, ts.do("GET", "/api/v1/auth/me", sa, nil), 200)
}

func TestBootstrapIdempotent(t *testing.T) {
	t.Parallel()
	db := testenv.PlatformSQLite(t)
	ts := newTestServer(t, db, testServerOptions{})
	admin := ts.adminToken()
	before := ts.me(admin)
	// A second start with another configured password changes nothing.
	ts.s.cfg.AdminPassword = "A-Different-Password-77!"
	if err := ts.s.bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts.login("admin", testAdminPassword, "")
	expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "A-Different-Password-77!"}), 401)
	var tenants page[tenantBody]
	expect(t, ts.do("GET", "/api/v1/tenants", admin, nil), 200).json(t, &tenants)
	if len(tenants.Items) != 1 || tenants.Items[0].ID != before.Tenant.ID {
		t.Fatalf("tenants after second bootstrap: %+v", tenants.Items)
	}
	if n := len(ts.logs.records("event", auditBootstrap)); n != 1 {
		t.Fatalf("bootstrap audited %d times", n)
	}
}

// TestLoginTimingHidesUnknownUsers checks that a login for an unknown user
// costs a password verification too (VerifyDummy): without it the answer
// would come about 40x faster than for a wrong password.
func TestLoginTimingHidesUnknownUsers(t *testing.T) {
	t.Parallel()
	// A lenient throttle lets the test take enough samples; the two kinds
	// of login alternate, so that load from other tests weighs on both.
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{
		throttle: auth.ThrottlePolicy{FreeFailures: 100, IPFailures: 1000}})
	login := func(user string) time.Duration {
		start := time.Now()
		expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": "wrong-password-x"}), 401)
		return time.Since(start)
	}
	wrong, unknown := time.Hour, time.Hour
	for i := 0; i < 10; i++ {
		wrong = min(wrong, login("admin"))
		unknown = min(unknown, login(fmt.Sprintf("ghost-%d", i)))
	}
	if unknown < wrong/3 {
		t.Fatalf("unknown user answered in %v, wrong password in %v: the timing tells them apart", unknown, wrong)
	}
}

// A login that names no tenant for a user of several verified the password:
// it must settle the throttle's reserved attempt, so repeating it never
// locks the account out (the reservation would otherwise be held).
func TestLoginTenantRequiredDoesNotHoldThrottle(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	admin := ts.adminToken()
	def := ts.me(admin).Tenant.ID
	second := ts.createTenant(admin, "second")
	ts.addMember(admin, def, "fay", memberPassword, "viewer")
	ts.addMember(admin, second, "fay", "", "member")
	for i := 0; i < 12; i++ {
		p := expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "fay", "password": memberPassword}), 400).problem(t)
		if p.Code != "tenant_required" {
			t.Fatalf("attempt %d: code %s", i, p.Code)
		}
	}
	ts.login("fay", memberPassword, "second")
}
