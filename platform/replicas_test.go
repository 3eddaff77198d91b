package platform

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// replicaPair is two servers on one PostgreSQL database (after init-db,
// connected as the application role), each with its own connection pool,
// as two replicas are.
type replicaPair struct {
	a, b     *testServer
	ownerURL string
}

func newReplicaPair(t *testing.T) *replicaPair {
	t.Helper()
	ownerURL := testenv.PostgresURL(t)
	role := "maestro_app_" + testenv.RandomSuffix(4)
	dropRoleAfter(t, ownerURL, role)
	appURL := testenv.WithUser(t, ownerURL, role, "App-"+testenv.RandomSuffix(12))
	cfg := testConfig(t)
	cfg.DatabaseURL, cfg.DatabaseOwnerURL = appURL, ownerURL
	ctx := context.Background()
	if err := InitDB(ctx, cfg); err != nil {
		t.Fatalf("init-db: %v", err)
	}
	start := func() *testServer {
		logs := &syncBuffer{}
		s, err := New(ctx, cfg, WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
			WithTrainingJobTiming(50*time.Millisecond, time.Second))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		hs := httptest.NewServer(s.Handler())
		t.Cleanup(func() { hs.Close(); _ = s.Close() })
		return &testServer{t: t, s: s, url: hs.URL, logs: logs, client: &http.Client{Timeout: 30 * time.Second}}
	}
	p := &replicaPair{a: start(), b: start(), ownerURL: ownerURL}
	for _, r := range []*testServer{p.a, p.b} {
		waitFor(t, 10*time.Second, "the principal cache to listen", func() bool { return r.s.principals.isEnabled() })
	}
	return p
}

// waitFor polls cond every millisecond until it holds, failing the test
// after limit; it returns how long it took.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	began := time.Now()
	for !cond() {
		if time.Since(began) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(began)
}

// TestPrincipalCacheAcrossReplicas checks that replicas serve the
// per-request principal check from memory in steady state, and that a
// user disabled through one replica — or by SQL behind every replica's
// back — loses access on the other within a second.
func TestPrincipalCacheAcrossReplicas(t *testing.T) {
	t.Parallel()
	p := newReplicaPair(t)
	root := p.a.adminToken()
	tid := p.a.createTenant(root, "acme")
	uid := p.a.addMember(root, tid, "carol", memberPassword, "member")
	dave := p.a.addMember(root, tid, "dave", memberPassword, "member")
	carol := p.a.login("carol", memberPassword, "").AccessToken
	daveTok := p.a.login("dave", memberPassword, "").AccessToken

	before := p.b.s.principals.hits.Load()
	for i := 0; i < 20; i++ {
		expect(t, p.b.do("GET", "/api/v1/projects", carol, nil), 200)
	}
	if hits := p.b.s.principals.hits.Load() - before; hits < 30 {
		t.Fatalf("20 requests made %d cache hits on replica b; want the steady state served from memory", hits)
	}

	// Through replica a's Manager (as a host would): b follows.
	disabled := true
	if _, err := p.a.s.tenants.UpdateUser(context.Background(), uid, tenancy.UserUpdate{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	d := waitFor(t, time.Second, "replica b refusing the disabled user", func() bool {
		return p.b.do("GET", "/api/v1/projects", carol, nil).status == 401
	})
	t.Logf("disable through replica a reached replica b in %v", d)

	// By SQL as the owner, through no replica: both follow.
	owner := testenv.OpenPostgres(t, p.ownerURL)
	expect(t, p.a.do("GET", "/api/v1/projects", daveTok, nil), 200)
	expect(t, p.b.do("GET", "/api/v1/projects", daveTok, nil), 200)
	if err := owner.Exec(`UPDATE memberships SET role = ? WHERE user_id = ?`, auth.RoleViewer, dave).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range []*testServer{p.a, p.b} {
		d := waitFor(t, time.Second, "a replica refusing the demoted member's member token", func() bool {
			return r.do("GET", "/api/v1/projects", daveTok, nil).status == 401
		})
		t.Logf("demotion by SQL reached a replica in %v", d)
	}

	// A replica whose listening connection is cut bypasses its cache until
	// it listens again, then flushes it: a change made meanwhile is seen.
	if err := owner.Exec(`UPDATE memberships SET role = ? WHERE user_id = ?`, auth.RoleMember, dave).Error; err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "replica b accepting dave again", func() bool {
		return p.b.do("GET", "/api/v1/projects", daveTok, nil).status == 200
	})
	// The listening connections' last statement is LISTEN until their
	// first idle probe (listenProbe), well after this point.
	var cut int64
	if err := owner.Raw(`SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN %' AND datname = current_database()) AS t`).Scan(&cut).Error; err != nil || cut != 2 {
		t.Fatalf("cut %d listening connections (%v), want both replicas'", cut, err)
	}
	waitFor(t, 10*time.Second, "replica b listening again", func() bool {
		return p.b.s.principals.isEnabled() && p.a.s.principals.isEnabled()
	})
	expect(t, p.b.do("GET", "/api/v1/projects", daveTok, nil), 200)
	if err := owner.Exec(`DELETE FROM memberships WHERE user_id = ?`, dave).Error; err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "replica b refusing the removed member after reconnecting", func() bool {
		return p.b.do("GET", "/api/v1/projects", daveTok, nil).status == 401
	})
}
