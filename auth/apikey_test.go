package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/authtest"
)

func TestAPIKeyFormat(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 50 {
		key, prefix, err := auth.GenerateAPIKey()
		if err != nil {
			t.Fatal(err)
		}
		if len(key) != auth.APIKeyLen || !strings.HasPrefix(key, "mst_") || prefix != key[:12] {
			t.Fatalf("key %q prefix %q", key, prefix)
		}
		if seen[key] || seen[prefix] {
			t.Fatal("repeated key or prefix")
		}
		seen[key], seen[prefix] = true, true
		got, err := auth.ParseAPIKey(key)
		if err != nil || got != prefix {
			t.Fatalf("ParseAPIKey(valid) = %q, %v", got, err)
		}
	}
}

func TestParseAPIKeyRefuses(t *testing.T) {
	t.Parallel()
	key, _, err := auth.GenerateAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := []byte(key)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	for name, s := range map[string]string{
		"empty":              "",
		"prefix only":        "mst_",
		"wrong prefix":       "msk_" + key[4:],
		"upper-case prefix":  "MST_" + key[4:],
		"typo in body":       flip(10),
		"typo in checksum":   flip(len(key) - 1),
		"truncated":          key[:len(key)-1],
		"extended":           key + "0",
		"non-base62":         key[:20] + "-" + key[21:],
		"checksum overflow":  key[:len(key)-6] + "zzzzzz",
		"JWT":                "eyJhbGciOiJIUzI1NiJ9.e30.sig",
		"whitespace wrapped": " " + key[:len(key)-1],
	} {
		if _, err := auth.ParseAPIKey(s); !errors.Is(err, auth.ErrInvalidAPIKey) {
			t.Errorf("%s: %v, want ErrInvalidAPIKey", name, err)
		} else if strings.Contains(err.Error(), key) {
			t.Errorf("%s: error echoes the key", name)
		}
	}
}

func TestAPIKeysLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := authtest.NewClock(time.Now().UTC().Truncate(time.Second))
	store := auth.NewMemoryAPIKeyStore()
	keys, err := auth.NewAPIKeys(store, auth.WithAPIKeyClock(clk.Now), auth.WithLastUsedInterval(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	member := auth.Principal{UserID: "u-member", TenantID: "t1", Role: auth.RoleMember}

	// Role capping.
	for _, tc := range []struct {
		creator auth.Principal
		role    auth.Role
		want    error
		got     auth.Role
	}{
		{member, auth.RoleNone, nil, auth.RoleMember},
		{member, auth.RoleViewer, nil, auth.RoleViewer},
		{member, auth.RoleAdmin, auth.ErrRoleTooHigh, 0},
		{auth.Principal{UserID: "root", TenantID: "t1", Superadmin: true}, auth.RoleAdmin, nil, auth.RoleAdmin},
	} {
		_, rec, err := keys.Create(ctx, tc.creator, auth.NewAPIKey{Name: "k", Role: tc.role})
		if !isErr(err, tc.want) || err == nil && rec.Role != tc.got {
			t.Errorf("Create(%v by %v) = %v, %v; want %v, %v", tc.role, tc.creator.Role, rec.Role, err, tc.got, tc.want)
		}
	}
	for name, req := range map[string]auth.NewAPIKey{
		"empty name":    {Name: ""},
		"long name":     {Name: strings.Repeat("n", 101)},
		"negative TTL":  {Name: "k", TTL: -time.Hour},
		"invalid role":  {Name: "k", Role: auth.Role(7)},
		"invalid UTF-8": {Name: "\xff"},
	} {
		if _, _, err := keys.Create(ctx, member, req); err == nil {
			t.Errorf("%s: Create succeeded", name)
		}
	}
	if _, _, err := keys.Create(ctx, auth.Principal{UserID: "u", Role: auth.RoleAdmin}, auth.NewAPIKey{Name: "k"}); err == nil {
		t.Error("creator without tenant accepted")
	}
	viaKey := auth.Principal{UserID: "u", TenantID: "t1", Role: auth.RoleAdmin, Method: auth.MethodAPIKey, APIKeyID: "k"}
	if _, _, err := keys.Create(ctx, viaKey, auth.NewAPIKey{Name: "k"}); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("key created by an API key: %v, want ErrForbidden", err)
	}

	key, rec, err := keys.Create(ctx, member, auth.NewAPIKey{Name: "deploy", TTL: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Hash == "" || strings.Contains(rec.Hash, key) || rec.Hash != auth.HashToken(key) || rec.Prefix != key[:12] {
		t.Fatalf("record %+v does not hold just a hash", rec)
	}
	if !rec.ExpiresAt.Equal(clk.Now().Add(24 * time.Hour)) {
		t.Fatalf("expiry %v", rec.ExpiresAt)
	}

	p, err := keys.VerifyAPIKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != member.UserID || p.TenantID != "t1" || p.Role != auth.RoleMember || p.APIKeyID != rec.ID || p.Method != auth.MethodAPIKey {
		t.Fatalf("principal %+v", p)
	}
	lastUsed := func() time.Time {
		got, _ := store.FindAPIKeys(ctx, rec.Prefix)
		return got[0].LastUsedAt
	}
	if !lastUsed().Equal(clk.Now()) {
		t.Fatalf("last used %v, want %v", lastUsed(), clk.Now())
	}
	clk.Advance(10 * time.Second)
	_, _ = keys.VerifyAPIKey(ctx, key)
	if lastUsed().Equal(clk.Now()) {
		t.Fatal("last-used written again within the interval")
	}
	clk.Advance(time.Minute)
	_, _ = keys.VerifyAPIKey(ctx, key)
	if !lastUsed().Equal(clk.Now()) {
		t.Fatal("last-used not refreshed after the interval")
	}

	// A well-formed key that was never issued.
	other, _, _ := auth.GenerateAPIKey()
	if _, err := keys.VerifyAPIKey(ctx, other); !errors.Is(err, auth.ErrInvalidAPIKey) {
		t.Fatalf("unknown key: %v", err)
	}
	// Same prefix, different secret: the hash comparison must refuse it.
	forged := rec.Prefix + other[12:]
	if _, err := keys.VerifyAPIKey(ctx, forged); !errors.Is(err, auth.ErrInvalidAPIKey) {
		t.Fatalf("key with a known prefix: %v", err)
	}

	list, err := keys.List(ctx, "t1", member.UserID)
	if err != nil || len(list) != 3 {
		t.Fatalf("List = %d keys, %v; want 3", len(list), err)
	}
	if _, err := keys.List(ctx, "", ""); err == nil {
		t.Fatal("List without tenant succeeded")
	}

	if err := keys.Revoke(ctx, "t2", rec.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("revoke from another tenant: %v", err)
	}
	if _, err := keys.VerifyAPIKey(ctx, key); err != nil {
		t.Fatalf("key revoked by another tenant's request: %v", err)
	}
	if err := keys.Revoke(ctx, "t1", rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.VerifyAPIKey(ctx, key); !errors.Is(err, auth.ErrRevoked) {
		t.Fatalf("revoked key: %v", err)
	}
	if err := keys.Revoke(ctx, "", rec.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Fatalf("revoke without tenant: %v", err)
	}

	expiring, _, err := keys.Create(ctx, member, auth.NewAPIKey{Name: "short", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if _, err := keys.VerifyAPIKey(ctx, expiring); !errors.Is(err, auth.ErrExpired) {
		t.Fatalf("expired key: %v", err)
	}
}

func TestAPIKeysMaxTTL(t *testing.T) {
	t.Parallel()
	keys, err := auth.NewAPIKeys(auth.NewMemoryAPIKeyStore(), auth.WithMaxAPIKeyTTL(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.Principal{UserID: "u", TenantID: "t", Role: auth.RoleAdmin}
	for _, ttl := range []time.Duration{0, 31 * 24 * time.Hour} {
		if _, _, err := keys.Create(context.Background(), admin, auth.NewAPIKey{Name: "k", TTL: ttl}); err == nil {
			t.Errorf("TTL %s accepted beyond the maximum", ttl)
		}
	}
	if _, _, err := keys.Create(context.Background(), admin, auth.NewAPIKey{Name: "k", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]auth.APIKeyOption{
		"nil clock":         auth.WithAPIKeyClock(nil),
		"negative interval": auth.WithLastUsedInterval(-1),
		"zero max TTL":      auth.WithMaxAPIKeyTTL(0),
	} {
		if _, err := auth.NewAPIKeys(auth.NewMemoryAPIKeyStore(), opt); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := auth.NewAPIKeys(nil); err == nil {
		t.Error("nil store accepted")
	}
}
