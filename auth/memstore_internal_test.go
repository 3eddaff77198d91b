package auth

import (
	"context"
	"testing"
	"time"
)

// TestMemoryStoresForgetExpiredState checks that the in-memory stores do
// not grow without bound: expired entries go on Purge and on the periodic
// sweep of writes.
func TestMemoryStoresForgetExpiredState(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewMemoryTokenStore()
	for i, user := range []string{"u1", "u1", "u2"} {
		sid := string(rune('a' + i))
		sess := Session{ID: sid, UserID: user, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateSession(ctx, sess, RefreshRecord{Hash: "h" + sid, SessionID: sid, UserID: user, ExpiresAt: sess.ExpiresAt}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DenyToken(ctx, "j", now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	s.Purge(now.Add(30 * time.Minute))
	if len(s.sessions) != 3 || len(s.refresh) != 3 || len(s.denied) != 0 || len(s.byUser) != 2 {
		t.Fatalf("after partial purge: %d sessions, %d refresh, %d denied, %d users", len(s.sessions), len(s.refresh), len(s.denied), len(s.byUser))
	}
	// A write two hours later sweeps everything that expired.
	later := now.Add(2 * time.Hour)
	if err := s.CreateSession(ctx, Session{ID: "z", UserID: "u3", CreatedAt: later, ExpiresAt: later.Add(time.Hour)},
		RefreshRecord{Hash: "hz", SessionID: "z", UserID: "u3", ExpiresAt: later.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if len(s.sessions) != 1 || len(s.refresh) != 1 || len(s.byUser) != 1 {
		t.Fatalf("after sweep: %d sessions, %d refresh, %d users", len(s.sessions), len(s.refresh), len(s.byUser))
	}

	clock := now
	th, err := NewMemoryThrottler(ThrottlePolicy{}, WithThrottlerClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if err := th.Fail(ctx, name, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	clock = clock.Add(25 * time.Hour)
	if err := th.Fail(ctx, "d", "192.0.2.2"); err != nil {
		t.Fatal(err)
	}
	if len(th.accounts) != 1 || len(th.pairs) != 1 || len(th.ips) != 1 {
		t.Fatalf("throttler kept %d accounts, %d account networks and %d IPs after they expired", len(th.accounts), len(th.pairs), len(th.ips))
	}
	if err := th.Succeed(ctx, "d", "192.0.2.2"); err != nil || len(th.accounts) != 0 || len(th.pairs) != 0 {
		t.Fatalf("Succeed kept the account: %v", err)
	}
}

func TestCancelledContexts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	now := time.Now()
	s := NewMemoryTokenStore()
	k := NewMemoryAPIKeyStore()
	_, findErr := k.FindAPIKeys(ctx, "p")
	_, listErr := k.ListAPIKeys(ctx, "t", "")
	for name, err := range map[string]error{
		"CreateSession": s.CreateSession(ctx, Session{}, RefreshRecord{}),
		"RotateRefresh": s.RotateRefresh(ctx, RefreshRecord{}, RefreshRecord{}, now),
		"CheckAccess":   s.CheckAccess(ctx, "s", "u", "j", now),
		"RevokeSession": s.RevokeSession(ctx, "s", now),
		"RevokeUser":    s.RevokeUser(ctx, "u", "", now),
		"DenyToken":     s.DenyToken(ctx, "j", now, now),
		"CreateAPIKey":  k.CreateAPIKey(ctx, APIKey{}),
		"FindAPIKeys":   findErr,
		"ListAPIKeys":   listErr,
		"RevokeAPIKey":  k.RevokeAPIKey(ctx, "t", "i", now),
		"TouchAPIKey":   k.TouchAPIKey(ctx, "i", now),
	} {
		if err != context.Canceled {
			t.Errorf("%s on a cancelled context: %v", name, err)
		}
	}
	if err := k.CreateAPIKey(context.Background(), APIKey{ID: "i"}); err == nil {
		t.Error("record without hash accepted")
	}
	if err := k.TouchAPIKey(context.Background(), "unknown", now); err != ErrNotFound {
		t.Errorf("touch unknown key: %v", err)
	}
}
