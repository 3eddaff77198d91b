package platform

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/gormstore"
	"github.com/maestro-ml/maestro/auth/redisstore"
)

// jwtKeyID is the "kid" of tokens signed with MAESTRO_JWT_SECRET.
const jwtKeyID = "maestro-hs256"

// redisAuthPrefix prefixes the Redis keys of the token store and throttler.
const redisAuthPrefix = "maestro:auth:"

// identity is the server's authentication: everything comes from package
// auth, configured here once.
type identity struct {
	tokens   *auth.JWTManager
	hasher   *auth.PasswordHasher
	apiKeys  *auth.APIKeys
	keyStore *cachedAPIKeys // apiKeys' store
	throttle auth.LoginThrottler
	sqlStore *gormstore.TokenStore // nil when tokens live in Redis
	authn    func(http.Handler) http.Handler
}

// newIdentity builds the token manager (sessions in the database, or in
// Redis when configured), the password hasher, the API key service, the
// login throttler and the authentication middleware.
func newIdentity(s *Server, o settings) (*identity, error) {
	id := &identity{}
	prefix := o.redisPrefix
	if prefix == "" {
		prefix = redisAuthPrefix
	}
	store := o.tokens
	switch {
	case store != nil:
	case s.redis != nil:
		rs, err := redisstore.NewTokenStore(s.redis, redisstore.WithPrefix(prefix))
		if err != nil {
			return nil, err
		}
		store = rs
	default:
		id.sqlStore = gormstore.NewTokenStore(s.db)
		store = id.sqlStore
	}
	key, err := auth.NewHS256Key(jwtKeyID, s.cfg.JWTSecret)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envJWTSecret, err)
	}
	if id.tokens, err = auth.NewJWTManager(store, auth.WithKeys(key), auth.WithClock(s.now),
		auth.WithSubjectRefresher(s.refreshSubject)); err != nil {
		return nil, err
	}
	// Password hashing is deliberately costly (argon2id, 19 MiB). Leaving a
	// core free for everything else keeps the API answering during a burst
	// of logins; the logins queue instead (docs/platform.md has numbers),
	// for at most the hasher's queue timeout (auth.DefaultHashQueueTimeout,
	// 2 s, far below the route timeout and the clients'): a login that
	// cannot start hashing by then answers 503 busy with Retry-After
	// (errorTable) and releases its throttle reservation.
	hashers := max(1, runtime.GOMAXPROCS(0)-1)
	hopts := append([]auth.HasherOption{auth.WithMaxConcurrentHashes(hashers)}, o.hasher...)
	if id.hasher, err = auth.NewPasswordHasher(hopts...); err != nil {
		return nil, err
	}
	id.keyStore = &cachedAPIKeys{APIKeyStore: gormstore.NewAPIKeyStore(s.db), cache: s.principals, on: s.dialect != dialectPostgres}
	if id.apiKeys, err = auth.NewAPIKeys(id.keyStore, auth.WithAPIKeyClock(s.now)); err != nil {
		return nil, err
	}
	// The throttler reserves each admitted login, per account and per
	// client address, until the login handler settles it (Fail, Succeed or
	// Release); a reservation never settled (a crashed process) lapses
	// after the policy's ReservationTTL, 10 minutes by default, far beyond
	// the route timeout.
	if s.redis != nil {
		id.throttle, err = redisstore.NewThrottler(s.redis, o.throttle,
			redisstore.WithPrefix(prefix), redisstore.WithClock(s.now))
	} else {
		id.throttle, err = auth.NewMemoryThrottler(o.throttle, auth.WithThrottlerClock(s.now))
	}
	if err != nil {
		return nil, err
	}
	id.authn = auth.Middleware(id.tokens,
		auth.WithAPIKeyVerifier(id.apiKeys),
		auth.WithPrincipalCheck(s.checkPrincipal),
		auth.WithErrorWriter(s.authError))
	return id, nil
}

// authError writes the auth middleware's 401, 403 and 503 answers in this
// server's problem format (the middleware has set WWW-Authenticate).
func (s *Server) authError(w http.ResponseWriter, r *http.Request, p auth.Problem, err error) {
	if err != nil {
		s.logger(r.Context()).LogAttrs(r.Context(), slog.LevelDebug, "authentication refused",
			slog.Int("status", p.Status), slog.String("error", err.Error()))
	}
	writeProblem(w, &apiError{status: p.Status, code: p.Code, detail: p.Detail})
}

// purgeTokens deletes expired session rows every interval until ctx ends
// (the Redis store needs no purge: its keys expire).
func (s *Server) purgeTokens(ctx context.Context, every time.Duration) {
	if s.identity.sqlStore == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.identity.sqlStore.Purge(ctx, s.now()); err != nil && ctx.Err() == nil {
				s.log.Warn("purging expired sessions failed", slog.String("error", err.Error()))
			}
		}
	}
}
