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
// Keys (after the prefix): "ta:<account key>" a hash {n: failures, l: last
// failure ms, t: locked until ms, p: attempts in flight, pu: when they
// lapse ms}; "ti:<ip key>" a hash {n: failures, r:
// window reset ms}. Account keys are hashes of the name (auth.AccountKey),
// so Redis never holds user names.
type Throttler struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
	policy auth.ThrottlePolicy

	check, fail *redis.Script
}

var _ auth.LoginThrottler = (*Throttler)(nil)

// NewThrottler returns a Throttler enforcing p (zero fields take the
// defaults of auth.ThrottlePolicy).
func NewThrottler(rdb redis.UniversalClient, p auth.ThrottlePolicy, opts ...Option) (*Throttler, error) {
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c := newConfig(opts)
	return &Throttler{
		rdb: rdb, prefix: c.prefix, now: c.now, policy: p,
		check: redis.NewScript(throttleCheckScript),
		fail:  redis.NewScript(throttleFailScript),
	}, nil
}

// KEYS: account, ip. ARGV: now ms, ip limit, failure memory ms, free
// failures, attempt hold ms, in-flight retry ms. Returns the wait in ms
// (0: admitted, and the attempt is reserved in the account's hash).
const throttleCheckScript = `
local now = tonumber(ARGV[1])
local wait = 0
local a = redis.call('HMGET', KEYS[1], 't', 'n', 'l', 'p', 'pu')
local t = tonumber(a[1] or '0')
if t > now then wait = t - now end
local ip = redis.call('HMGET', KEYS[2], 'n', 'r')
if ip[1] and tonumber(ip[1]) >= tonumber(ARGV[2]) and tonumber(ip[2]) > now then
  wait = math.max(wait, tonumber(ip[2]) - now)
end
if wait > 0 then return wait end
local n = 0
if a[2] and a[3] and now - tonumber(a[3]) < tonumber(ARGV[3]) then n = tonumber(a[2]) end
local p = 0
if a[4] and a[5] and tonumber(a[5]) > now then p = tonumber(a[4]) end
local limit = math.max(1, tonumber(ARGV[4]) - n)
if p >= limit then return tonumber(ARGV[6]) end
local hold = tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'p', p + 1, 'pu', now + hold)
if redis.call('PTTL', KEYS[1]) < hold then redis.call('PEXPIRE', KEYS[1], hold) end
return 0
`

// KEYS: account, ip. ARGV: now ms, failure memory ms, free failures, base
// lockout ms, max lockout ms, ip limit, ip window ms. Returns the wait in
// ms this failure imposes (0 for none).
const throttleFailScript = `
local now = tonumber(ARGV[1])
local memory = tonumber(ARGV[2])
local a = redis.call('HMGET', KEYS[1], 'n', 'l')
local n = 0
if a[1] and now - tonumber(a[2]) < memory then n = tonumber(a[1]) end
n = n + 1
local pend = redis.call('HMGET', KEYS[1], 'p', 'pu')
if pend[1] and pend[2] and tonumber(pend[1]) > 0 and tonumber(pend[2]) > now then
  redis.call('HINCRBY', KEYS[1], 'p', -1)
end
local wait = 0
local over = n - tonumber(ARGV[3])
if over > 0 then
  local d = tonumber(ARGV[4])
  local maxd = tonumber(ARGV[5])
  local i = 1
  while i < over and d < maxd do d = d * 2; i = i + 1 end
  if d > maxd then d = maxd end
  wait = d
  redis.call('HSET', KEYS[1], 't', now + d)
end
redis.call('HSET', KEYS[1], 'n', n, 'l', now)
redis.call('PEXPIRE', KEYS[1], memory)
local ip = redis.call('HMGET', KEYS[2], 'n', 'r')
local c = 0
local reset = now + tonumber(ARGV[7])
if ip[1] and tonumber(ip[2]) > now then
  c = tonumber(ip[1])
  reset = tonumber(ip[2])
end
c = c + 1
redis.call('HSET', KEYS[2], 'n', c, 'r', reset)
redis.call('PEXPIRE', KEYS[2], math.max(reset - now, 1))
if c >= tonumber(ARGV[6]) then wait = math.max(wait, reset - now) end
return wait
`

func (t *Throttler) keys(account, ip string) []string {
	return []string{t.prefix + "ta:" + auth.AccountKey(account), t.prefix + "ti:" + auth.IPKey(ip)}
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
		p.FreeFailures, auth.AttemptHold.Milliseconds(), auth.InFlightRetryAfter.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: throttle check: %w", err)
	}
	return throttled(ms)
}

// Fail implements auth.LoginThrottler.
func (t *Throttler) Fail(ctx context.Context, account, ip string) error {
	p := t.policy
	ms, err := t.fail.Run(ctx, t.rdb, t.keys(account, ip), t.now().UnixMilli(), p.FailureMemory.Milliseconds(),
		p.FreeFailures, p.BaseLockout.Milliseconds(), p.MaxLockout.Milliseconds(), p.IPFailures, p.IPWindow.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: throttle failure: %w", err)
	}
	return throttled(ms)
}

// Succeed implements auth.LoginThrottler.
func (t *Throttler) Succeed(ctx context.Context, account, ip string) error {
	if err := t.rdb.Del(ctx, t.keys(account, ip)[0]).Err(); err != nil {
		return fmt.Errorf("redisstore: throttle success: %w", err)
	}
	return nil
}
