package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/redisstore"
	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// TestRedisDown checks that an unreachable server is reported as an error,
// never as success or as a verdict on a credential.
func TestRedisDown(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond, DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	defer rdb.Close()
	s, err := redisstore.NewTokenStore(rdb)
	if err != nil {
		t.Fatal(err)
	}
	th, err := redisstore.NewThrottler(rdb, auth.ThrottlePolicy{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rec := auth.RefreshRecord{Hash: "h", SessionID: "s", UserID: "u", ExpiresAt: now.Add(time.Hour)}
	for name, err := range map[string]error{
		"CreateSession":  s.CreateSession(ctx, auth.Session{ID: "s", UserID: "u", CreatedAt: now, ExpiresAt: rec.ExpiresAt}, rec),
		"RotateRefresh":  s.RotateRefresh(ctx, rec, rec, now),
		"CheckAccess":    s.CheckAccess(ctx, "s", "u", "j", now),
		"RevokeSession":  s.RevokeSession(ctx, "s", now),
		"RevokeUser":     s.RevokeUser(ctx, "u", "", now),
		"DenyToken":      s.DenyToken(ctx, "j", now.Add(time.Minute), now),
		"Throttle check": th.Check(ctx, "a", "192.0.2.1"),
		"Throttle fail":  th.Fail(ctx, "a", "192.0.2.1"),
		"Throttle ok":    th.Succeed(ctx, "a", "192.0.2.1"),
	} {
		if err == nil {
			t.Errorf("%s succeeded without Redis", name)
		}
		for _, verdict := range []error{auth.ErrRevoked, auth.ErrNotFound, auth.ErrRefreshReuse, auth.ErrThrottled} {
			if errors.Is(err, verdict) {
				t.Errorf("%s reported an outage as %v", name, verdict)
			}
		}
	}
	if _, err := redisstore.NewThrottler(rdb, auth.ThrottlePolicy{BaseLockout: time.Hour, MaxLockout: time.Minute}); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("invalid policy: %v, want auth.ErrInvalid", err)
	}
}

// TestKeysExpireWithTokens checks that Redis drops state on its own: every
// key carries a TTL matching what it records.
func TestKeysExpireWithTokens(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testenv.Redis(t)
	s, err := redisstore.NewTokenStore(rdb, redisstore.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sess := auth.Session{ID: "sid-1", UserID: "uid-1", CreatedAt: now, ExpiresAt: now.Add(2 * time.Hour)}
	first := auth.RefreshRecord{Hash: auth.HashToken("t1"), SessionID: "sid-1", UserID: "uid-1", ExpiresAt: sess.ExpiresAt}
	if err := s.CreateSession(ctx, sess, first); err != nil {
		t.Fatal(err)
	}
	second := auth.RefreshRecord{Hash: auth.HashToken("t2"), SessionID: "sid-1", UserID: "uid-1", ExpiresAt: now.Add(3 * time.Hour)}
	if err := s.RotateRefresh(ctx, first, second, now); err != nil {
		t.Fatal(err)
	}
	if err := s.DenyToken(ctx, "jti-1", now.Add(15*time.Minute), now); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]time.Duration{
		"s:sid-1":                    3 * time.Hour,
		"rt:" + auth.HashToken("t1"): 2 * time.Hour,
		"rt:" + auth.HashToken("t2"): 3 * time.Hour,
		"u:uid-1":                    3 * time.Hour,
		"d:jti-1":                    15 * time.Minute,
	} {
		got, err := rdb.PTTL(ctx, prefix+key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got <= want-time.Minute || got > want {
			t.Errorf("TTL of %s = %s, want about %s", key, got, want)
		}
	}
	// Default prefix and clock options are usable.
	if s, err := redisstore.NewTokenStore(rdb); s == nil || err != nil {
		t.Fatalf("default store: %v, %v", s, err)
	}
}

// TestInvalidOptions checks that every refused value fails the
// constructors with auth.ErrInvalid instead of being ignored.
func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for name, opts := range map[string][]redisstore.Option{
		"empty prefix":  {redisstore.WithPrefix("")},
		"nil clock":     {redisstore.WithClock(nil)},
		"nil option":    {nil},
		"good then bad": {redisstore.WithPrefix("p:"), redisstore.WithClock(nil)},
	} {
		if s, err := redisstore.NewTokenStore(rdb, opts...); s != nil || !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("NewTokenStore with %s: %v, %v; want auth.ErrInvalid", name, s, err)
		}
		if th, err := redisstore.NewThrottler(rdb, auth.ThrottlePolicy{}, opts...); th != nil || !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("NewThrottler with %s: %v, %v; want auth.ErrInvalid", name, th, err)
		}
	}
	if _, err := redisstore.NewTokenStore(nil); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("NewTokenStore(nil): %v, want auth.ErrInvalid", err)
	}
	if _, err := redisstore.NewThrottler(nil, auth.ThrottlePolicy{}); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("NewThrottler(nil): %v, want auth.ErrInvalid", err)
	}
}
