package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/redis/go-redis/v9"
)

// Throttler is an auth.LoginThrottler in Redis, shared by every process
// using the same server and prefix. It is safe for concurrent use.
//
// Keys (after the prefix): "ta:<account key>" the account-wide failures and
// "tp:<account key>:<ip key>" the account's failures from one client
// network, each a hash {n: failures, l: last failure ms, t: locked until
// ms}; "ti:<ip key>" a hash {n: failures, r: window reset ms}. The attempts
// admitted by Check and not yet settled are sorted sets beside them,
// "ra:<account key>", "rp:<account key>:<ip key>" and "ri:<ip key>", one
// member per attempt (a random id) scored with the time it lapses if never
// settled: the check time plus ThrottlePolicy.ReservationTTL (default 10
// minutes). Each reservation lapses on its own, so the attempts of a
// crashed process stop counting at most ReservationTTL after they began,
// however busy the account or address stays; every script first drops
// the lapsed members, and each set expires ReservationTTL after its newest
// member. Account keys are hashes of the name (auth.AccountKey), so Redis
// never holds user names.
//
// Each script touches keys of one account and one address together, so
// in Redis Cluster the throttler needs a prefix with a hash tag or a single
// node.
type Throttler struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
	policy auth.ThrottlePolicy

	check, fail, succeed, release *redis.Script
}

var _ auth.LoginThrottler = (*Throttler)(nil)

// NewThrottler returns a Throttler enforcing p (zero fields take the
// defaults of auth.ThrottlePolicy). An inconsistent policy, a nil client or
// an invalid option is an error wrapping auth.ErrInvalid.
func NewThrottler(rdb redis.UniversalClient, p auth.ThrottlePolicy, opts ...Option) (*Throttler, error) {
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c, err := newConfig(rdb, opts)
	if err != nil {
		return nil, err
	}
	return &Throttler{
		rdb: rdb, prefix: c.prefix, now: c.now, policy: p,
		check:   redis.NewScript(throttleCheckScript),
		fail:    redis.NewScript(throttleFailScript),
		succeed: redis.NewScript(throttleSucceedScript),
		release: redis.NewScript(throttleReleaseScript),
	}, nil
}

// settleLua defines settle(k, now): drop the lapsed reservations of sorted
// set k and end the oldest live one (the attempts of one key are
// interchangeable).
const settleLua = `
local function settle(k, now)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  redis.call('ZPOPMIN', k)
end
`

// KEYS: account, account from network, ip, and their reservation sets.
// ARGV: now ms, ip limit, failure memory ms, free failures, reservation
// TTL ms, in-flight retry ms, account failures, reservation id. Returns the
// wait in ms (0: admitted, and the attempt is reserved in all three sets).
const throttleCheckScript = `
local now = tonumber(ARGV[1])
local memory = tonumber(ARGV[3])
local function locked(k)
  local t = tonumber(redis.call('HGET', k, 't') or '0')
  if t > now then return t - now end
  return 0
end
local wait = math.max(locked(KEYS[1]), locked(KEYS[2]))
local ip = redis.call('HMGET', KEYS[3], 'n', 'r')
local ipn = 0
if ip[1] and ip[2] and tonumber(ip[2]) > now then ipn = tonumber(ip[1]) end
if ipn >= tonumber(ARGV[2]) then wait = math.max(wait, tonumber(ip[2]) - now) end
if wait > 0 then return wait end
local function failures(k)
  local a = redis.call('HMGET', k, 'n', 'l')
  if a[1] and a[2] and now - tonumber(a[2]) < memory then return tonumber(a[1]) end
  return 0
end
local function held(k)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  return redis.call('ZCARD', k)
end
if held(KEYS[5]) >= math.max(1, tonumber(ARGV[4]) - failures(KEYS[2]))
  or held(KEYS[4]) >= math.max(1, tonumber(ARGV[7]) - failures(KEYS[1]))
  or held(KEYS[6]) >= tonumber(ARGV[2]) - ipn then
  return tonumber(ARGV[6])
end
local ttl = tonumber(ARGV[5])
for i = 4, 6 do
  redis.call('ZADD', KEYS[i], now + ttl, ARGV[8])
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return 0
`

// KEYS: account, account from network, ip, and their reservation sets.
// ARGV: now ms, failure memory ms, free failures, base lockout ms, max
// lockout ms, ip limit, ip window ms, account failures. Records the
// failure, settles one reservation in each set and returns the wait in ms
// this failure imposes (0 for none).
const throttleFailScript = settleLua + `
local now = tonumber(ARGV[1])
local memory = tonumber(ARGV[2])
local function fail(k, free)
  local a = redis.call('HMGET', k, 'n', 'l')
  local n = 0
  if a[1] and a[2] and now - tonumber(a[2]) < memory then n = tonumber(a[1]) end
  n = n + 1
  local d = 0
  local over = n - free
  if over > 0 then
    d = tonumber(ARGV[4])
    local maxd = tonumber(ARGV[5])
    local i = 1
    while i < over and d < maxd do d = d * 2; i = i + 1 end
    if d > maxd then d = maxd end
    redis.call('HSET', k, 't', now + d)
  end
  redis.call('HSET', k, 'n', n, 'l', now)
  redis.call('PEXPIRE', k, memory)
  return d
end
for i = 4, 6 do settle(KEYS[i], now) end
local wait = math.max(fail(KEYS[2], tonumber(ARGV[3])), fail(KEYS[1], tonumber(ARGV[8])))
local ip = redis.call('HMGET', KEYS[3], 'n', 'r')
local c = 0
local reset = now + tonumber(ARGV[7])
if ip[1] and ip[2] and tonumber(ip[2]) > now then
  c = tonumber(ip[1])
  reset = tonumber(ip[2])
end
c = c + 1
redis.call('HSET', KEYS[3], 'n', c, 'r', reset)
redis.call('PEXPIRE', KEYS[3], math.max(reset - now, 1))
if c >= tonumber(ARGV[6]) then wait = math.max(wait, reset - now) end
return wait
`

// KEYS: account, account from network, ip, and their reservation sets.
// ARGV: now ms, failure memory ms. Forgets the network's failures,
// subtracts them from the account-wide count and settles one reservation
// in each set.
const throttleSucceedScript = settleLua + `
local now = tonumber(ARGV[1])
local memory = tonumber(ARGV[2])
for i = 4, 6 do settle(KEYS[i], now) end
local c = redis.call('HMGET', KEYS[2], 'n', 'l')
local mine = 0
if c[1] and c[2] and now - tonumber(c[2]) < memory then mine = tonumber(c[1]) end
redis.call('DEL', KEYS[2])
local a = redis.call('HMGET', KEYS[1], 'n', 'l')
local n = 0
if a[1] and a[2] and now - tonumber(a[2]) < memory then n = tonumber(a[1]) end
n = math.max(0, n - mine)
if n == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'n', n)
end
return 0
`

// KEYS: the reservation sets of account, account from network and ip.
// ARGV: now ms. Settles one reservation in each, counting nothing.
const throttleReleaseScript = settleLua + `
local now = tonumber(ARGV[1])
for i = 1, 3 do settle(KEYS[i], now) end
return 0
`

// keys returns the keys of account and ip: the account, pair and address
// hashes, then their reservation sets.
func (t *Throttler) keys(account, ip string) []string {
	a, i := auth.AccountKey(account), auth.IPKey(ip)
	p := t.prefix
	return []string{p + "ta:" + a, p + "tp:" + a + ":" + i, p + "ti:" + i,
		p + "ra:" + a, p + "rp:" + a + ":" + i, p + "ri:" + i}
}

func throttled(ms int64) error {
	if ms <= 0 {
		return nil
	}
	return &auth.ThrottledError{RetryAfter: time.Duration(ms) * time.Millisecond}
}

// reservationID returns a random member name for one reservation.
func reservationID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("redisstore: reservation id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Check implements auth.LoginThrottler.
func (t *Throttler) Check(ctx context.Context, account, ip string) error {
	id, err := reservationID()
	if err != nil {
		return err
	}
	p := t.policy
	ms, err := t.check.Run(ctx, t.rdb, t.keys(account, ip), t.now().UnixMilli(), p.IPFailures, p.FailureMemory.Milliseconds(),
		p.FreeFailures, p.ReservationTTL.Milliseconds(), auth.InFlightRetryAfter.Milliseconds(), p.AccountFailures, id).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: throttle check: %w", err)
	}
	return throttled(ms)
}

// Fail implements auth.LoginThrottler.
func (t *Throttler) Fail(ctx context.Context, account, ip string) error {
	p := t.policy
	ms, err := t.fail.Run(ctx, t.rdb, t.keys(account, ip), t.now().UnixMilli(), p.FailureMemory.Milliseconds(),
		p.FreeFailures, p.BaseLockout.Milliseconds(), p.MaxLockout.Milliseconds(), p.IPFailures, p.IPWindow.Milliseconds(),
		p.AccountFailures).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: throttle failure: %w", err)
	}
	return throttled(ms)
}

// Succeed implements auth.LoginThrottler.
func (t *Throttler) Succeed(ctx context.Context, account, ip string) error {
	if err := t.succeed.Run(ctx, t.rdb, t.keys(account, ip), t.now().UnixMilli(), t.policy.FailureMemory.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("redisstore: throttle success: %w", err)
	}
	return nil
}

// Release implements auth.LoginThrottler.
func (t *Throttler) Release(ctx context.Context, account, ip string) error {
	if err := t.release.Run(ctx, t.rdb, t.keys(account, ip)[3:], t.now().UnixMilli()).Err(); err != nil {
		return fmt.Errorf("redisstore: throttle release: %w", err)
	}
	return nil
}
