package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/authtest"
	"github.com/maestro-ml/maestro/auth/redisstore"
	"github.com/maestro-ml/maestro/internal/testenv"
)

func TestTokenStoreConformance(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	authtest.RunTokenStoreTests(t, func(t *testing.T) auth.TokenStore {
		s, err := redisstore.NewTokenStore(rdb, redisstore.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestThrottlerConformance(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	authtest.RunThrottlerTests(t, func(t *testing.T, p auth.ThrottlePolicy, now func() time.Time) auth.LoginThrottler {
		th, err := redisstore.NewThrottler(rdb, p, redisstore.WithPrefix(prefix), redisstore.WithClock(now))
		if err != nil {
			t.Fatal(err)
		}
		return th
	})
}

// TestUserSetPruned checks that a user's session set does not keep the ids
// of sessions that ended: before the fix it grew by one id per login for as
// long as the user logged in at least once per refresh TTL.
func TestUserSetPruned(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := testenv.Redis(t)
	s, err := redisstore.NewTokenStore(rdb, redisstore.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	create := func(sid string, life time.Duration) {
		t.Helper()
		sess := auth.Session{ID: sid, UserID: "busy-user", CreatedAt: now, ExpiresAt: now.Add(life)}
		rec := auth.RefreshRecord{Hash: auth.HashToken(sid), SessionID: sid, UserID: "busy-user", ExpiresAt: sess.ExpiresAt}
		if err := s.CreateSession(ctx, sess, rec); err != nil {
			t.Fatal(err)
		}
	}
	// One long session keeps the set alive while short ones come and go,
	// like a user who logs in daily and abandons sessions.
	create("live-0", time.Hour)
	for i := range 100 {
		create(fmt.Sprintf("ended-%d", i), time.Millisecond) // Redis drops these keys at once
	}
	time.Sleep(20 * time.Millisecond)
	for i := 1; i < 3; i++ {
		create(fmt.Sprintf("live-%d", i), time.Hour)
	}
	n, err := rdb.SCard(ctx, prefix+"u:busy-user").Result()
	if err != nil {
		t.Fatal(err)
	}
	// Without pruning the set holds 103 ids; with it, at most the pruning
	// threshold (32) plus what was added since the last pruning.
	if n < 3 || n > 40 {
		t.Fatalf("user session set holds %d ids after 100 ended and 3 live sessions, want 3 to 40", n)
	}
	if err := s.RevokeUser(ctx, "busy-user", "", now); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckAccess(ctx, "live-0", "busy-user", "jti", now); !errors.Is(err, auth.ErrRevoked) {
		t.Fatalf("live session after RevokeUser: %v", err)
	}
}
