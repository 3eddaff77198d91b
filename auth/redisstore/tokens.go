package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix used without WithPrefix.
const DefaultPrefix = "maestro:auth:"

// Option configures a TokenStore or a Throttler. An option given an
// invalid value makes NewTokenStore or NewThrottler fail with an error
// wrapping auth.ErrInvalid.
type Option func(*config) error

type config struct {
	prefix string
	now    func() time.Time
}

// WithPrefix sets the prefix of every key (default DefaultPrefix). An
// empty prefix is invalid.
func WithPrefix(p string) Option {
	return func(c *config) error {
		if p == "" {
			return fmt.Errorf("%w: redisstore: empty key prefix", auth.ErrInvalid)
		}
		c.prefix = p
		return nil
	}
}

// WithClock sets the Throttler's time source (default time.Now); for
// tests. The TokenStore takes its times from the caller. A nil clock is
// invalid.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: redisstore: nil clock", auth.ErrInvalid)
		}
		c.now = now
		return nil
	}
}

// newConfig applies opts to the defaults. A nil client is invalid.
func newConfig(rdb redis.UniversalClient, opts []Option) (config, error) {
	c := config{prefix: DefaultPrefix, now: time.Now}
	if rdb == nil {
		return c, fmt.Errorf("%w: redisstore: nil Redis client", auth.ErrInvalid)
	}
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: redisstore: nil option", auth.ErrInvalid)
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// TokenStore is an auth.TokenStore in Redis. It is safe for concurrent use,
// across processes sharing the Redis server.
//
// Keys (after the prefix): "s:<sid>" a hash {u: user, r: revoked, e: expiry
// ms}; "rt:<sha256>" a hash {s: session, x: spent, e: expiry ms};
// "d:<jti>" the denial's expiry ms; "u:<user>" the set of the user's
// session ids.
type TokenStore struct {
	rdb    redis.UniversalClient
	prefix string

	create, rotate, check, revoke, deny *redis.Script
}

var _ auth.TokenStore = (*TokenStore)(nil)

// NewTokenStore returns a TokenStore using rdb. A nil client or an invalid
// option is an error wrapping auth.ErrInvalid.
func NewTokenStore(rdb redis.UniversalClient, opts ...Option) (*TokenStore, error) {
	c, err := newConfig(rdb, opts)
	if err != nil {
		return nil, err
	}
	return &TokenStore{
		rdb:    rdb,
		prefix: c.prefix,
		create: redis.NewScript(createScript),
		rotate: redis.NewScript(rotateScript),
		check:  redis.NewScript(checkScript),
		revoke: redis.NewScript(revokeScript),
		deny:   redis.NewScript(denyScript),
	}, nil
}

// extendUser is shared Lua: extend the user set's TTL to ttl ms unless it
// already lives longer.
const extendUser = `
local function extend(key, ttl)
  local cur = redis.call('PTTL', key)
  if cur < ttl then redis.call('PEXPIRE', key, ttl) end
end
`

// maxUserSet is the size of a user's session set above which creating a
// session first drops the ids of sessions that no longer exist, so the set
// of a user who logs in often stays as small as their live sessions.
const maxUserSet = 32

// KEYS: session, refresh, user. ARGV: user, sid, session exp ms, refresh
// exp ms, session ttl ms, refresh ttl ms, session key prefix, max user set.
// Pruning reads the session keys named by the user's set, which share the
// prefix (and so, with a hash tag, the slot) of the declared keys.
const createScript = extendUser + `
if redis.call('SCARD', KEYS[3]) > tonumber(ARGV[8]) then
  for _, sid in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if redis.call('EXISTS', ARGV[7] .. sid) == 0 then redis.call('SREM', KEYS[3], sid) end
  end
end
redis.call('HSET', KEYS[1], 'u', ARGV[1], 'r', '0', 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('HSET', KEYS[2], 's', ARGV[2], 'x', '0', 'e', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('SADD', KEYS[3], ARGV[2])
extend(KEYS[3], tonumber(ARGV[5]))
return 'ok'
`

// KEYS: old refresh, next refresh, session, user. ARGV: sid, now ms, next
// exp ms, next ttl ms.
const rotateScript = extendUser + `
local r = redis.call('HMGET', KEYS[1], 's', 'x', 'e')
if not r[1] or r[1] ~= ARGV[1] or tonumber(r[3]) <= tonumber(ARGV[2]) then return 'notfound' end
if r[2] == '1' then
  if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HSET', KEYS[3], 'r', '1') end
  return 'reuse'
end
local s = redis.call('HMGET', KEYS[3], 'r', 'e')
if not s[1] or s[1] == '1' or tonumber(s[2]) <= tonumber(ARGV[2]) then return 'revoked' end
redis.call('HSET', KEYS[1], 'x', '1')
redis.call('HSET', KEYS[2], 's', ARGV[1], 'x', '0', 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('HSET', KEYS[3], 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
extend(KEYS[4], tonumber(ARGV[4]))
return 'ok'
`

// KEYS: session, denial. ARGV: now ms, user. Returns 1 when refused.
const checkScript = `
local s = redis.call('HMGET', KEYS[1], 'r', 'e', 'u')
if not s[1] or s[1] == '1' or tonumber(s[2]) <= tonumber(ARGV[1]) or s[3] ~= ARGV[2] then return 1 end
local d = redis.call('GET', KEYS[2])
if d and tonumber(d) > tonumber(ARGV[1]) then return 1 end
return 0
`

// KEYS: sessions to revoke (only existing ones are touched).
const revokeScript = `
for _, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then redis.call('HSET', k, 'r', '1') end
end
return 'ok'
`

// KEYS: denial. ARGV: until ms, ttl ms.
const denyScript = `
local cur = redis.call('GET', KEYS[1])
if not cur or tonumber(cur) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 'ok'
`

func (s *TokenStore) sessKey(sid string) string { return s.prefix + "s:" + sid }
func (s *TokenStore) rtKey(hash string) string  { return s.prefix + "rt:" + hash }
func (s *TokenStore) denyKey(jti string) string { return s.prefix + "d:" + jti }
func (s *TokenStore) userKey(uid string) string { return s.prefix + "u:" + uid }

// ttl returns the milliseconds from now to t, at least 1.
func ttl(t, now time.Time) int64 { return max(t.Sub(now).Milliseconds(), 1) }

// CreateSession implements auth.TokenStore.
func (s *TokenStore) CreateSession(ctx context.Context, sess auth.Session, first auth.RefreshRecord) error {
	now := sess.CreatedAt
	err := s.create.Run(ctx, s.rdb,
		[]string{s.sessKey(sess.ID), s.rtKey(first.Hash), s.userKey(sess.UserID)},
		sess.UserID, sess.ID, sess.ExpiresAt.UnixMilli(), first.ExpiresAt.UnixMilli(),
		ttl(sess.ExpiresAt, now), ttl(first.ExpiresAt, now), s.prefix+"s:", maxUserSet).Err()
	if err != nil {
		return fmt.Errorf("redisstore: create session: %w", err)
	}
	return nil
}

// RotateRefresh implements auth.TokenStore.
func (s *TokenStore) RotateRefresh(ctx context.Context, old, next auth.RefreshRecord, now time.Time) error {
	res, err := s.rotate.Run(ctx, s.rdb,
		[]string{s.rtKey(old.Hash), s.rtKey(next.Hash), s.sessKey(old.SessionID), s.userKey(old.UserID)},
		old.SessionID, now.UnixMilli(), next.ExpiresAt.UnixMilli(), ttl(next.ExpiresAt, now)).Text()
	if err != nil {
		return fmt.Errorf("redisstore: rotate refresh token: %w", err)
	}
	switch res {
	case "ok":
		return nil
	case "reuse":
		return auth.ErrRefreshReuse
	case "revoked":
		return auth.ErrRevoked
	case "notfound":
		return auth.ErrNotFound
	}
	return fmt.Errorf("redisstore: unexpected script result %q", res)
}

// CheckAccess implements auth.TokenStore.
func (s *TokenStore) CheckAccess(ctx context.Context, sessionID, userID, tokenID string, now time.Time) error {
	n, err := s.check.Run(ctx, s.rdb, []string{s.sessKey(sessionID), s.denyKey(tokenID)}, now.UnixMilli(), userID).Int()
	if err != nil {
		return fmt.Errorf("redisstore: check access: %w", err)
	}
	if n != 0 {
		return auth.ErrRevoked
	}
	return nil
}

// RevokeSession implements auth.TokenStore.
func (s *TokenStore) RevokeSession(ctx context.Context, sessionID string, now time.Time) error {
	if err := s.revoke.Run(ctx, s.rdb, []string{s.sessKey(sessionID)}).Err(); err != nil {
		return fmt.Errorf("redisstore: revoke session: %w", err)
	}
	return nil
}

// RevokeUser implements auth.TokenStore. Sessions created while it runs
// may survive; they belong to logins that happened after the revocation
// was requested.
func (s *TokenStore) RevokeUser(ctx context.Context, userID, exceptSessionID string, now time.Time) error {
	sids, err := s.rdb.SMembers(ctx, s.userKey(userID)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisstore: revoke user: %w", err)
	}
	keys := make([]string, 0, len(sids))
	for _, sid := range sids {
		if sid != exceptSessionID {
			keys = append(keys, s.sessKey(sid))
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := s.revoke.Run(ctx, s.rdb, keys[:n]).Err(); err != nil {
			return fmt.Errorf("redisstore: revoke user: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}

// DenyToken implements auth.TokenStore.
func (s *TokenStore) DenyToken(ctx context.Context, tokenID string, until, now time.Time) error {
	err := s.deny.Run(ctx, s.rdb, []string{s.denyKey(tokenID)}, until.UnixMilli(), ttl(until, now)).Err()
	if err != nil {
		return fmt.Errorf("redisstore: deny token: %w", err)
	}
	return nil
}
