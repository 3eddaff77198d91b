package authtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
)

func randomID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func randomHash(t testing.TB) string {
	return auth.HashToken(randomID(t))
}

// session creates a session of user with a first refresh token and returns
// the session and that token's record.
func session(t *testing.T, s auth.TokenStore, user string, now time.Time) (auth.Session, auth.RefreshRecord) {
	t.Helper()
	sess := auth.Session{ID: randomID(t), UserID: user, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	rec := auth.RefreshRecord{Hash: randomHash(t), SessionID: sess.ID, UserID: user, ExpiresAt: sess.ExpiresAt}
	if err := s.CreateSession(context.Background(), sess, rec); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return sess, rec
}

func next(t *testing.T, r auth.RefreshRecord, exp time.Time) auth.RefreshRecord {
	return auth.RefreshRecord{Hash: randomHash(t), SessionID: r.SessionID, UserID: r.UserID, ExpiresAt: exp}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

// RunTokenStoreTests runs the TokenStore conformance suite. newStore is
// called once per subtest and may return a store shared with other
// subtests.
func RunTokenStoreTests(t *testing.T, newStore func(t *testing.T) auth.TokenStore) {
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Millisecond)

	t.Run("CheckAccess", func(t *testing.T) {
		s := newStore(t)
		sess, _ := session(t, s, randomID(t), base)
		wantErr(t, "active session", s.CheckAccess(ctx, sess.ID, sess.UserID, randomID(t), base), nil)
		wantErr(t, "unknown session", s.CheckAccess(ctx, randomID(t), sess.UserID, randomID(t), base), auth.ErrRevoked)
		wantErr(t, "session of another user", s.CheckAccess(ctx, sess.ID, randomID(t), randomID(t), base), auth.ErrRevoked)
		wantErr(t, "session without a user", s.CheckAccess(ctx, sess.ID, "", randomID(t), base), auth.ErrRevoked)
		other, _ := session(t, s, randomID(t), base)
		wantErr(t, "user of another session", s.CheckAccess(ctx, other.ID, sess.UserID, randomID(t), base), auth.ErrRevoked)
		wantErr(t, "session past expiry", s.CheckAccess(ctx, sess.ID, sess.UserID, randomID(t), sess.ExpiresAt), auth.ErrRevoked)
	})

	t.Run("DenyToken", func(t *testing.T) {
		s := newStore(t)
		sess, _ := session(t, s, randomID(t), base)
		jti, other := randomID(t), randomID(t)
		until := base.Add(15 * time.Minute)
		wantErr(t, "deny", s.DenyToken(ctx, jti, until, base), nil)
		wantErr(t, "denied token", s.CheckAccess(ctx, sess.ID, sess.UserID, jti, base.Add(time.Minute)), auth.ErrRevoked)
		wantErr(t, "other token of the session", s.CheckAccess(ctx, sess.ID, sess.UserID, other, base.Add(time.Minute)), nil)
		wantErr(t, "deny again, earlier", s.DenyToken(ctx, jti, base.Add(time.Minute), base), nil)
		wantErr(t, "earlier deny does not shorten", s.CheckAccess(ctx, sess.ID, sess.UserID, jti, base.Add(10*time.Minute)), auth.ErrRevoked)
		wantErr(t, "denial over after until", s.CheckAccess(ctx, sess.ID, sess.UserID, jti, until.Add(time.Second)), nil)
	})

	t.Run("Rotate", func(t *testing.T) {
		s := newStore(t)
		sess, first := session(t, s, randomID(t), base)
		now := base.Add(time.Minute)
		second := next(t, first, now.Add(2*time.Hour))
		wantErr(t, "rotate", s.RotateRefresh(ctx, first, second, now), nil)
		// The session now lives as long as the newest refresh token.
		wantErr(t, "session extended", s.CheckAccess(ctx, sess.ID, sess.UserID, randomID(t), base.Add(90*time.Minute)), nil)
		third := next(t, second, now.Add(3*time.Hour))
		wantErr(t, "rotate again", s.RotateRefresh(ctx, second, third, now.Add(time.Minute)), nil)
		wantErr(t, "still active", s.CheckAccess(ctx, sess.ID, sess.UserID, randomID(t), now.Add(time.Minute)), nil)
	})

	t.Run("ReuseRevokesSession", func(t *testing.T) {
		s := newStore(t)
		sess, first := session(t, s, randomID(t), base)
		second := next(t, first, base.Add(time.Hour))
		wantErr(t, "rotate", s.RotateRefresh(ctx, first, second, base), nil)
		wantErr(t, "replay spent token", s.RotateRefresh(ctx, first, next(t, first, base.Add(time.Hour)), base), auth.ErrRefreshReuse)
		wantErr(t, "session revoked by reuse", s.CheckAccess(ctx, sess.ID, sess.UserID, randomID(t), base), auth.ErrRevoked)
		wantErr(t, "descendant token dead", s.RotateRefresh(ctx, second, next(t, second, base.Add(time.Hour)), base), auth.ErrRevoked)
		wantErr(t, "replay again", s.RotateRefresh(ctx, first, next(t, first, base.Add(time.Hour)), base), auth.ErrRefreshReuse)
	})

	t.Run("RotateUnknown", func(t *testing.T) {
		s := newStore(t)
		_, first := session(t, s, randomID(t), base)
		unknown := auth.RefreshRecord{Hash: randomHash(t), SessionID: first.SessionID, UserID: first.UserID}
		wantErr(t, "unknown hash", s.RotateRefresh(ctx, unknown, next(t, first, base.Add(time.Hour)), base), auth.ErrNotFound)
		wrong := first
		wrong.SessionID = randomID(t)
		wantErr(t, "wrong session", s.RotateRefresh(ctx, wrong, next(t, wrong, base.Add(time.Hour)), base), auth.ErrNotFound)
		wantErr(t, "expired token", s.RotateRefresh(ctx, first, next(t, first, base.Add(3*time.Hour)), first.ExpiresAt.Add(time.Second)), auth.ErrNotFound)
		// Failed attempts spent nothing.
		wantErr(t, "rotate after failures", s.RotateRefresh(ctx, first, next(t, first, base.Add(time.Hour)), base), nil)
	})

	t.Run("RevokeSession", func(t *testing.T) {
		s := newStore(t)
		sess, first := session(t, s, randomID(t), base)
		wantErr(t, "revoke", s.RevokeSession(ctx, sess.ID, base), nil)
		wantErr(t, "revoke twice", s.RevokeSession(ctx, sess.ID, base), nil)
		wantErr(t, "revoke unknown", s.RevokeSession(ctx, randomID(t), base), nil)
		wantErr(t, "access after revoke", s.CheckAccess(ctx, sess.ID, sess.UserID, randomID(t), base), auth.ErrRevoked)
		wantErr(t, "refresh after revoke", s.RotateRefresh(ctx, first, next(t, first, base.Add(time.Hour)), base), auth.ErrRevoked)
	})

	t.Run("RevokeUser", func(t *testing.T) {
		s := newStore(t)
		user, other := randomID(t), randomID(t)
		keep, _ := session(t, s, user, base)
		drop1, r1 := session(t, s, user, base)
		drop2, _ := session(t, s, user, base)
		bystander, _ := session(t, s, other, base)
		wantErr(t, "revoke others", s.RevokeUser(ctx, user, keep.ID, base), nil)
		wantErr(t, "kept session", s.CheckAccess(ctx, keep.ID, keep.UserID, randomID(t), base), nil)
		wantErr(t, "revoked session 1", s.CheckAccess(ctx, drop1.ID, drop1.UserID, randomID(t), base), auth.ErrRevoked)
		wantErr(t, "revoked session 2", s.CheckAccess(ctx, drop2.ID, drop2.UserID, randomID(t), base), auth.ErrRevoked)
		wantErr(t, "refresh of revoked session", s.RotateRefresh(ctx, r1, next(t, r1, base.Add(time.Hour)), base), auth.ErrRevoked)
		wantErr(t, "other user untouched", s.CheckAccess(ctx, bystander.ID, bystander.UserID, randomID(t), base), nil)
		wantErr(t, "revoke all", s.RevokeUser(ctx, user, "", base), nil)
		wantErr(t, "kept session now revoked", s.CheckAccess(ctx, keep.ID, keep.UserID, randomID(t), base), auth.ErrRevoked)
		wantErr(t, "revoke unknown user", s.RevokeUser(ctx, randomID(t), "", base), nil)
	})

	t.Run("ConcurrentRotateExactlyOneWins", func(t *testing.T) {
		s := newStore(t)
		sess, first := session(t, s, randomID(t), base)
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.RotateRefresh(ctx, first, next(t, first, base.Add(time.Hour)), base)
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, auth.ErrRefreshReuse):
			default:
				t.Errorf("concurrent rotate: unexpected error %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d concurrent rotations won, want exactly 1 (errors: %v)", wins, n, errs)
		}
		wantErr(t, "session after the race", s.CheckAccess(ctx, sess.ID, sess.UserID, randomID(t), base), auth.ErrRevoked)
	})
}
