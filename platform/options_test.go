package platform

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
)

func TestOptionsRefuseInvalidValues(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]Option{
		"nil logger":      WithLogger(nil),
		"nil clock":       WithClock(nil),
		"nil database":    WithDatabase(nil),
		"nil redis":       WithRedis(nil),
		"empty prefix":    WithRedisPrefix(""),
		"nil embedder":    WithEmbedder(nil),
		"nil token store": WithTokenStore(nil),
		"nil blob store":  WithBlobStore(nil),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			home := filepath.Join(t.TempDir(), "home")
			_, err := New(context.Background(), Config{Home: home}, opt)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("New: %v, want ErrInvalid", err)
			}
			if err := InitDB(context.Background(), Config{Home: home}, opt); !errors.Is(err, ErrInvalid) {
				t.Fatalf("InitDB: %v, want ErrInvalid", err)
			}
		})
	}
}

// TestOptionsReplaceParts builds the platform with a host's own token
// store, blob store and embedder, and checks that each is the one used.
func TestOptionsReplaceParts(t *testing.T) {
	t.Parallel()
	tokens := auth.NewMemoryTokenStore()
	blobs, err := registry.NewFileStore(filepath.Join(t.TempDir(), "host-blobs"))
	if err != nil {
		t.Fatal(err)
	}
	emb, err := similarity.NewHashingEmbedder(64)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{opts: []Option{
		WithTokenStore(tokens), WithBlobStore(blobs), WithEmbedder(emb),
	}})
	if ts.s.learn.emb != similarity.Embedder(emb) {
		t.Fatalf("embedder %T, want the host's", ts.s.learn.emb)
	}
	if ts.s.reg.blobs != registry.BlobStore(blobs) {
		t.Fatalf("blob store %T, want the host's", ts.s.reg.blobs)
	}
	if ts.s.identity.sqlStore != nil {
		t.Fatal("sessions still go to SQL with a host token store")
	}
	// A login's session lands in the host's store: revoking it there ends
	// the session.
	pair := ts.login("admin", testAdminPassword, "")
	expect(t, ts.do("GET", "/api/v1/auth/me", pair.AccessToken, nil), http.StatusOK)
	expect(t, ts.do("POST", "/api/v1/auth/logout", pair.AccessToken, nil), http.StatusNoContent)
	expect(t, ts.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": pair.RefreshToken}), http.StatusUnauthorized)
}

func TestCloseIsIdempotentAndKeepsHostDatabase(t *testing.T) {
	t.Parallel()
	db := testenv.PlatformSQLite(t)
	s, err := New(context.Background(), testConfig(t), WithDatabase(db))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The host's database is still open.
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlDB.Ping(); err != nil {
		t.Fatalf("Close closed the host's database: %v", err)
	}
}

func TestAccessString(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for a := Public; a <= Superadmin; a++ {
		s := a.String()
		if s == "" || seen[s] {
			t.Errorf("Access(%d) = %q", int(a), s)
		}
		seen[s] = true
	}
	if got := Access(99).String(); got != "Access(99)" {
		t.Errorf("unknown access: %q", got)
	}
}

// TestTenantPathRules checks the rules that read the tenant in the path:
// OwnTenant admits any role of that tenant and answers another tenant's
// users 404; TenantAdmin wants that tenant's admin (403 for a member, 404
// for another tenant's admin); a superadmin passes both.
func TestTenantPathRules(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	root := ts.adminToken()
	a, b := ts.createTenant(root, "rules-a"), ts.createTenant(root, "rules-b")
	ts.addMember(root, a, "rules-member", memberPassword, "member")
	ts.addMember(root, b, "rules-admin-b", memberPassword, "admin")
	member := ts.login("rules-member", memberPassword, "").AccessToken
	otherAdmin := ts.login("rules-admin-b", memberPassword, "").AccessToken
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/api/v1/tenants/" + a, member, 200},
		{"GET", "/api/v1/tenants/" + a, otherAdmin, 404},
		{"GET", "/api/v1/tenants/" + a, root, 200},
		{"GET", "/api/v1/tenants/" + a + "/members", member, 403},
		{"GET", "/api/v1/tenants/" + a + "/members", otherAdmin, 404},
		{"GET", "/api/v1/tenants/" + a + "/members", root, 200},
		{"GET", "/api/v1/tenants/00000000-0000-0000-0000-000000000000/members", otherAdmin, 404},
		{"PATCH", "/api/v1/tenants/" + a, member, 403},
		{"PATCH", "/api/v1/tenants/" + a, otherAdmin, 403},
	} {
		if r := ts.do(c.method, c.path, c.token, map[string]any{}); r.status != c.want {
			t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, r.status, c.want, r.body)
		}
	}
}
