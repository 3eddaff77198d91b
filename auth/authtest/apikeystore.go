package authtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
)

func newKeyRecord(t *testing.T, tenant, user string, created time.Time) auth.APIKey {
	t.Helper()
	key, prefix, err := auth.GenerateAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	return auth.APIKey{
		ID: randomID(t), TenantID: tenant, UserID: user, Name: "ci key", Prefix: prefix,
		Hash: auth.HashToken(key), Role: auth.RoleMember, CreatedAt: created,
	}
}

func sameKey(t *testing.T, got, want auth.APIKey) {
	t.Helper()
	if got.ID != want.ID || got.TenantID != want.TenantID || got.UserID != want.UserID || got.Name != want.Name ||
		got.Prefix != want.Prefix || got.Hash != want.Hash || got.Role != want.Role ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || !got.LastUsedAt.Equal(want.LastUsedAt) ||
		!got.RevokedAt.Equal(want.RevokedAt) || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("stored key differs:\n got %+v\nwant %+v", got, want)
	}
}

// RunAPIKeyStoreTests runs the APIKeyStore conformance suite. newStore is
// called once per subtest.
func RunAPIKeyStoreTests(t *testing.T, newStore func(t *testing.T) auth.APIKeyStore) {
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Millisecond)

	t.Run("CreateFind", func(t *testing.T) {
		s := newStore(t)
		k := newKeyRecord(t, randomID(t), randomID(t), base)
		k.ExpiresAt = base.Add(24 * time.Hour)
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatalf("CreateAPIKey: %v", err)
		}
		got, err := s.FindAPIKeys(ctx, k.Prefix)
		if err != nil || len(got) != 1 {
			t.Fatalf("FindAPIKeys = %v, %v; want one key", got, err)
		}
		sameKey(t, got[0], k)
		if err := s.CreateAPIKey(ctx, k); err == nil {
			t.Fatal("creating a duplicate id succeeded")
		}
		none, err := s.FindAPIKeys(ctx, "mst_00000000")
		if err != nil || len(none) != 0 {
			t.Fatalf("FindAPIKeys(unknown) = %v, %v; want none", none, err)
		}
	})

	t.Run("ListScopedByTenantAndUser", func(t *testing.T) {
		s := newStore(t)
		tenant, other, alice, bob := randomID(t), randomID(t), randomID(t), randomID(t)
		a1 := newKeyRecord(t, tenant, alice, base)
		a2 := newKeyRecord(t, tenant, alice, base.Add(time.Second))
		b1 := newKeyRecord(t, tenant, bob, base.Add(2*time.Second))
		x1 := newKeyRecord(t, other, alice, base)
		for _, k := range []auth.APIKey{a1, a2, b1, x1} {
			if err := s.CreateAPIKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		all, err := s.ListAPIKeys(ctx, tenant, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 || all[0].ID != b1.ID || all[1].ID != a2.ID || all[2].ID != a1.ID {
			t.Fatalf("ListAPIKeys(tenant) = %v; want b1, a2, a1 (newest first)", ids(all))
		}
		mine, err := s.ListAPIKeys(ctx, tenant, alice)
		if err != nil || len(mine) != 2 {
			t.Fatalf("ListAPIKeys(tenant, alice) = %v, %v; want 2 keys", ids(mine), err)
		}
		empty, err := s.ListAPIKeys(ctx, randomID(t), "")
		if err != nil || len(empty) != 0 {
			t.Fatalf("ListAPIKeys(unknown tenant) = %v, %v; want none", ids(empty), err)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		s := newStore(t)
		k := newKeyRecord(t, randomID(t), randomID(t), base)
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAPIKey(ctx, randomID(t), k.ID, base); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("revoke from another tenant: %v, want ErrNotFound", err)
		}
		if err := s.RevokeAPIKey(ctx, k.TenantID, randomID(t), base); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("revoke unknown id: %v, want ErrNotFound", err)
		}
		got, _ := s.FindAPIKeys(ctx, k.Prefix)
		if len(got) != 1 || !got[0].RevokedAt.IsZero() {
			t.Fatal("a refused revocation changed the key")
		}
		at := base.Add(time.Minute)
		if err := s.RevokeAPIKey(ctx, k.TenantID, k.ID, at); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAPIKey(ctx, k.TenantID, k.ID, at.Add(time.Hour)); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		got, _ = s.FindAPIKeys(ctx, k.Prefix)
		if len(got) != 1 || !got[0].RevokedAt.Equal(at) {
			t.Fatalf("RevokedAt = %v, want the first revocation %v", got, at)
		}
	})

	t.Run("Touch", func(t *testing.T) {
		s := newStore(t)
		k := newKeyRecord(t, randomID(t), randomID(t), base)
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		t1 := base.Add(time.Minute)
		if err := s.TouchAPIKey(ctx, k.ID, t1); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchAPIKey(ctx, k.ID, base); err != nil {
			t.Fatal(err)
		}
		got, _ := s.FindAPIKeys(ctx, k.Prefix)
		if len(got) != 1 || !got[0].LastUsedAt.Equal(t1) {
			t.Fatalf("LastUsedAt = %v, want %v (never moves back)", got, t1)
		}
	})
}

func ids(ks []auth.APIKey) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.ID
	}
	return out
}
