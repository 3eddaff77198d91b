package redisstore

import (
	"context"
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
// ms, p: attempts in flight, pu: when they lapse ms}; "ti:<ip key>" a hash
// {n: failures, r: window reset ms}. Account keys are hashes of the name
// (auth.AccountKey), so Redis never holds user names.
type Throttler struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
	policy auth.ThrottlePolicy

	check, fail, succeed *redis.Script
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
	}, nil
}

// KEYS: account, account from network, ip. ARGV: now ms, ip limit, failure
// memory ms, free failures, attempt hold ms, in-flight retry ms, account
// failures. Returns the wait in ms (0: admitted, and the attempt is
// reserved in both account hashes).
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
if ip[1] and tonumber(ip[1]) >= tonumber(ARGV[2]) and tonumber(ip[2]) > now then
  wait = math.max(wait, tonumber(ip[2]) - now)
end
if wait > 0 then return wait end
local function state(k)
  local a = redis.call('HMGET', k, 'n', 'l', 'p', 'pu')
  local n, p = 0, 0
  if a[1] and a[2] and now - tonumber(a[2]) < memory then n = tonumber(a[1]) end
  if a[3] and a[4] and tonumber(a[4]) > now then p = tonumber(a[3]) end
  return n, p
end
local an, ap = state(KEYS[1])
local pn, pp = state(KEYS[2])
if pp >= math.max(1, tonumber(ARGV[4]) - pn) or ap >= math.max(1, tonumber(ARGV[7]) - an) then
  return tonumber(ARGV[6])
end
local hold = tonumber(ARGV[5])
local function reserve(k, p)
  redis.call('HSET', k, 'p', p + 1, 'pu', now + hold)
  if redis.call('PTTL', k) < hold then redis.call('PEXPIRE', k, hold) end
end
reserve(KEYS[1], ap)
reserve(KEYS[2], pp)
return 0
`

// KEYS: account, account from network, ip. ARGV: now ms, failure memory
// ms, free failures, base lockout ms, max lockout ms, ip limit, ip window
// ms, account failures. Returns the wait in ms this failure imposes (0 for
// none).
const throttleFailScript = `
local now = tonumber(ARGV[1])
local memory = tonumber(ARGV[2])
local function fail(k, free)
  local a = redis.call('HMGET', k, 'n', 'l', 'p', 'pu')
  local n = 0
  if a[1] and a[2] and now - tonumber(a[2]) < memory then n = tonumber(a[1]) end
  n = n + 1
  if a[3] and a[4] and tonumber(a[3]) > 0 and tonumber(a[4]) > now then
    redis.call('HINCRBY', k, 'p', -1)
  end
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
local wait = math.max(fail(KEYS[2], tonumber(ARGV[3])), fail(KEYS[1], tonumber(ARGV[8])))
local ip = redis.call('HMGET', KEYS[3], 'n', 'r')
local c = 0
local reset = now + tonumber(ARGV[7])
if ip[1] and tonumber(ip[2]) > now then
  c = tonumber(ip[1])
  reset = tonumber(ip[2])
end
c = c + 1
redis.call('HSET', KEYS[3], 'n', c, 'r', reset)
redis.call('PEXPIRE', KEYS[3], math.max(reset - now, 1))
if c >= tonumber(ARGV[6]) then wait = math.max(wait, reset - now) end
return wait
`

// KEYS: account, account from network. ARGV: now ms, failure memory ms.
// Forgets the network's failures, subtracts them from the account-wide
// count and settles one reserved attempt there.
const throttleSucceedScript = `
local now = tonumber(ARGV[1])
local memory = tonumber(ARGV[2])
local c = redis.call('HMGET', KEYS[2], 'n', 'l')
local mine = 0
if c[1] and c[2] and now - tonumber(c[2]) < memory then mine = tonumber(c[1]) end
redis.call('DEL', KEYS[2])
local a = redis.call('HMGET', KEYS[1], 'n', 'l', 'p', 'pu')
local n, p = 0, 0
if a[1] and a[2] and now - tonumber(a[2]) < memory then n = tonumber(a[1]) end
if a[3] and a[4] and tonumber(a[4]) > now then p = tonumber(a[3]) end
n = math.max(0, n - mine)
if p > 0 then p = p - 1 end
if n == 0 and p == 0 then
  redis.call('DEL', KEYS[1])
elseif n == 0 then
  redis.call('HDEL', KEYS[1], 'n', 'l')
  redis.call('HSET', KEYS[1], 'p', p)
else
  redis.call('HSET', KEYS[1], 'n', n, 'p', p)
end
return 0
`

func (t *Throttler) keys(account, ip string) []string {
	a, i := auth.AccountKey(account), auth.IPKey(ip)
	return []string{t.prefix + "ta:" + a, t.prefix + "tp:" + a + ":" + i, t.prefix + "ti:" + i}
}

func throttled(ms int64) error {
	if ms <= 0 {
		return nil
	}
	return &auth.ThrottledError{RetryAfter: time.Duration(ms) * time.Millisecond}
}

// Check implements auth.LoginThrottler.
func (t *Throttler) Check(ctx context.Context, account, ip string) error {
	p := t.policy
	ms, err := t.check.Run(ctx, t.rdb, t.keys(account, ip), t.now().UnixMilli(), p.IPFailures, p.FailureMemory.Milliseconds(),
		p.FreeFailures, auth.AttemptHold.Milliseconds(), auth.InFlightRetryAfter.Milliseconds(), p.AccountFailures).Int64()
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
	if err := t.succeed.Run(ctx, t.rdb, t.keys(account, ip)[:2], t.now().UnixMilli(), t.policy.FailureMemory.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("redisstore: throttle success: %w", err)
	}
	return nil
}
