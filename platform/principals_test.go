package platform

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// TestPrincipalCacheBoundsAndRaces checks the cache's rules: it is
// bounded (least recently used entries go first), stores only rows found,
// never stores a read that raced an invalidation, serves nothing while
// disabled, and lets entries expire after principalMaxAge.
func TestPrincipalCacheBoundsAndRaces(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newPrincipalCache(func() time.Time { return now }, 3, true)
	loads := 0
	load := func(role auth.Role) func() (principalRow, error) {
		return func() (principalRow, error) { loads++; return principalRow{role: role}, nil }
	}
	for i := range 4 {
		if _, err := c.lookup(fmt.Sprint(i), load(auth.RoleMember)); err != nil {
			t.Fatal(err)
		}
	}
	if c.len() != 3 {
		t.Fatalf("%d entries, want the bound 3", c.len())
	}
	loads = 0
	_, _ = c.lookup("0", load(auth.RoleMember)) // evicted: loads again
	_, _ = c.lookup("3", load(auth.RoleMember)) // cached
	if loads != 1 || c.hits.Load() != 1 {
		t.Fatalf("loads %d hits %d: want the oldest entry evicted and the newest served", loads, c.hits.Load())
	}

	// A read that an invalidation overtook is not kept.
	_, _ = c.lookup("raced", func() (principalRow, error) {
		c.invalidate() // a write committed while the row was read
		return principalRow{role: auth.RoleAdmin}, nil
	})
	loads = 0
	if row, _ := c.lookup("raced", load(auth.RoleViewer)); row.role != auth.RoleViewer || loads != 1 {
		t.Fatalf("a raced read was cached: %+v", row)
	}

	// Not-found is never cached.
	notFound := func() (principalRow, error) { loads++; return principalRow{}, tenancy.ErrNotFound }
	loads = 0
	for range 2 {
		if _, err := c.lookup("gone", notFound); !errors.Is(err, tenancy.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if loads != 2 {
		t.Fatalf("a miss was cached (%d loads)", loads)
	}

	// Expiry is a backstop.
	_, _ = c.lookup("old", load(auth.RoleMember))
	now = now.Add(principalMaxAge)
	loads = 0
	_, _ = c.lookup("old", load(auth.RoleMember))
	if loads != 1 {
		t.Fatal("an entry outlived principalMaxAge")
	}

	// Disabled: every lookup loads, nothing is kept.
	c.setEnabled(false)
	loads = 0
	for range 2 {
		_, _ = c.lookup("off", load(auth.RoleMember))
	}
	if loads != 2 || c.len() != 0 {
		t.Fatalf("disabled cache served or kept entries: %d loads, %d entries", loads, c.len())
	}
}

// TestPrincipalCacheOnSQLite checks the single-process path: the cache
// serves the steady state, and a write through the server's database —
// the platform's own or a host's through its Manager — empties it, so the
// next request sees it.
func TestPrincipalCacheOnSQLite(t *testing.T) {
	t.Parallel()
	e := newRegEnv(t, testenv.PlatformSQLite(t), testServerOptions{})
	expect(t, e.do("GET", "/api/v1/projects", e.member, nil), 200)
	hits := e.s.principals.hits.Load()
	expect(t, e.do("GET", "/api/v1/projects", e.member, nil), 200)
	if e.s.principals.hits.Load() < hits+2 {
		t.Fatal("the second request was not served from the cache")
	}
	uid := e.me(e.member).User.ID
	off := true
	if _, err := e.s.tenants.UpdateUser(t.Context(), uid, tenancy.UserUpdate{Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	expect(t, e.do("GET", "/api/v1/projects", e.member, nil), 401)
}

// TestPrincipalWatchSharedHandle checks two Servers on one database handle
// (two mounts of the platform in one host): the second one starts and
// closes while the host writes the principal tables through the handle,
// without a data race under -race; a write through the handle empties both
// Servers' caches; and once one Server is closed, the next write still
// empties the other's.
func TestPrincipalWatchSharedHandle(t *testing.T) {
	t.Parallel()
	db := testenv.PlatformSQLite(t)
	a := newRegEnv(t, db, testServerOptions{})
	// hostWrites keeps the host writing a principal table through the
	// handle until the returned function is called.
	hostWrites := func() (stop func()) {
		quit, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-quit:
					return
				default:
				}
				db.Model(&tenancy.User{}).Where("id = ?", "nobody").Update("disabled", false)
			}
		}()
		return func() { close(quit); <-done }
	}
	stop := hostWrites()
	b := newTestServer(t, db, testServerOptions{})
	stop()
	disable := func(token string) {
		t.Helper()
		if err := db.Model(&tenancy.User{}).Where("id = ?", a.me(token).User.ID).Update("disabled", true).Error; err != nil {
			t.Fatal(err)
		}
	}
	servers := []*testServer{a.testServer, b}
	for _, ts := range servers {
		for range 2 {
			expect(t, ts.do("GET", "/api/v1/projects", a.viewer, nil), 200)
		}
		if ts.s.principals.hits.Load() == 0 || ts.s.principals.len() == 0 {
			t.Fatal("a Server did not cache the viewer")
		}
	}
	disable(a.viewer)
	for i, ts := range servers {
		if r := ts.do("GET", "/api/v1/projects", a.viewer, nil); r.status != 401 {
			t.Fatalf("server %d: a disabled viewer answered %d: its cache was not emptied", i, r.status)
		}
	}

	stop = hostWrites()
	if err := b.s.Close(); err != nil {
		t.Fatal(err)
	}
	stop()
	for range 2 {
		expect(t, a.do("GET", "/api/v1/projects", a.member, nil), 200)
	}
	disable(a.member)
	if r := a.do("GET", "/api/v1/projects", a.member, nil); r.status != 401 {
		t.Fatalf("after the other Server closed, a disabled member answered %d", r.status)
	}
}

// TestAPIKeyCacheOnSQLite: on SQLite a request with an API key reads no
// row once its user, membership and key are cached; recording a use drops
// only that key's entry; revoking a key, through the API or by any other
// write of the table on the server's connection, refuses it at once.
func TestAPIKeyCacheOnSQLite(t *testing.T) {
	t.Parallel()
	e := newRegEnv(t, testenv.PlatformSQLite(t), testServerOptions{})
	newKey := func(name string) (id, key string) {
		var k struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		}
		expect(t, e.do("POST", "/api/v1/auth/api-keys", e.member, map[string]any{"current_password": memberPassword, "name": name}), 201).json(t, &k)
		return k.ID, k.Key
	}
	id, key := newKey("first")
	// The first use records the key's first use, which drops its entry.
	expect(t, e.do("GET", "/api/v1/projects", key, nil), 200)
	expect(t, e.do("GET", "/api/v1/projects", key, nil), 200)
	misses := e.s.principals.misses.Load()
	expect(t, e.do("GET", "/api/v1/projects", key, nil), 200)
	if m := e.s.principals.misses.Load(); m != misses {
		t.Fatalf("the second request with the key missed the cache %d times", m-misses)
	}

	// A use recorded: only the entries holding that key go.
	inv := e.s.principals.invalidations.Load()
	n := e.s.principals.len()
	if err := e.s.identity.keyStore.TouchAPIKey(t.Context(), id, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if e.s.principals.invalidations.Load() != inv || e.s.principals.len() != n-1 {
		t.Fatalf("touch: %d invalidations, %d of %d entries left; want none and one entry dropped",
			e.s.principals.invalidations.Load()-inv, e.s.principals.len(), n)
	}

	// Revoked through the API: refused at once.
	expect(t, e.do("GET", "/api/v1/projects", key, nil), 200)
	expect(t, e.do("DELETE", "/api/v1/auth/api-keys/"+id, e.member, nil), 204)
	expect(t, e.do("GET", "/api/v1/projects", key, nil), 401)

	// Revoked by another write of the table on the server's connection.
	id2, key2 := newKey("second")
	expect(t, e.do("GET", "/api/v1/projects", key2, nil), 200)
	expect(t, e.do("GET", "/api/v1/projects", key2, nil), 200)
	tctx := tenancy.WithTenant(t.Context(), e.me(e.member).Tenant.ID)
	if err := e.s.db.WithContext(tctx).Table(keyRowsTable).Where("id = ?", id2).Update("revoked_at", time.Now().UTC()).Error; err != nil {
		t.Fatal(err)
	}
	expect(t, e.do("GET", "/api/v1/projects", key2, nil), 401)
}
