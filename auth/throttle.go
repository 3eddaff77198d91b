package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// LoginThrottler limits password guessing: per account and client
// network, an increasing lockout after repeated failures; per account
// across all networks, the same lockout after many more failures
// (distributed guessing); per client IP, a cap on failures in a window. The
// account is identified by the name the client submitted, whether or not
// such an account exists, so throttling answers identically for existing
// and unknown accounts; hosts must call Fail for unknown names too.
//
// Counting the first lockout per (account, client network), as OWASP's
// authentication cheat sheet suggests, means that someone who only knows a
// user name cannot lock its owner out from everywhere with a handful of
// wrong passwords: the owner, logging in from another network, is not
// affected until the account as a whole has ThrottlePolicy.AccountFailures
// failures.
//
// The usual sequence for a login request:
//
//	if err := t.Check(ctx, username, ip); err != nil { /* 429 + Retry-After */ }
//	settle := context.WithoutCancel(ctx)
//	ok, err := verify password (or VerifyDummy for an unknown user)
//	if err != nil { t.Release(settle, username, ip); /* ErrHasherBusy: 503 + Retry-After */ }
//	if !ok { t.Fail(settle, username, ip); /* 401 */ } else { t.Succeed(settle, username, ip) }
//
// Check also reserves the attempt it admits until the host settles it
// with Fail, Succeed or Release, and counts reservations against every
// cap as if they had already failed: per account and client network no
// more attempts run at once than the failures left before the next
// lockout (at least one), per account likewise against AccountFailures,
// and per client address (IPKey) no more than the IPFailures left in the
// window. So a burst of concurrent guesses, all checked before any has
// failed, cannot exceed any allowance: the surplus is refused with a
// Retry-After of InFlightRetryAfter.
//
// A reservation lasts until it is settled, however long the attempt
// waits (for the password hasher, say); only one that is never settled
// (its process crashed, or a host forgot) lapses, after
// ThrottlePolicy.ReservationTTL (default 10 minutes), far beyond the
// longest an attempt can take. Hosts must therefore settle every admitted
// attempt exactly once, on every path: Fail for a wrong password or
// unknown name, Succeed for a right one, Release when the attempt ended
// without a verdict (the hasher was busy, the database failed, the client
// went away). Settle with a context that outlives the request
// (context.WithoutCancel), or a client that disconnects leaves its
// reservation held.
//
// Implementations must be safe for concurrent use: NewMemoryThrottler
// here, redisstore.NewThrottler for several processes.
type LoginThrottler interface {
	// Check returns a *ThrottledError when an attempt for account from ip
	// must be refused now, nil when it may proceed (and then reserves it).
	Check(ctx context.Context, account, ip string) error
	// Fail records a failed attempt and settles one reserved by Check. It
	// returns a *ThrottledError when this failure locked the account (from
	// ip's network or as a whole) or the IP (worth an audit event), else
	// nil.
	Fail(ctx context.Context, account, ip string) error
	// Succeed settles an attempt reserved by Check after a successful
	// login and forgets the account's failures from ip's network (also in
	// the account-wide count); failures from other networks remain.
	Succeed(ctx context.Context, account, ip string) error
	// Release settles an attempt reserved by Check that ended without a
	// verdict on the password (the hasher was busy, a dependency failed,
	// the request was cancelled): nothing is counted, and the reservation
	// no longer holds a place under the caps.
	Release(ctx context.Context, account, ip string) error
}

// Reservation bounds. DefaultReservationTTL is the default of
// ThrottlePolicy.ReservationTTL, which must be at least
// MinReservationTTL; a Check refused because all of an allowance is
// reserved answers with a Retry-After of InFlightRetryAfter.
const (
	DefaultReservationTTL = 10 * time.Minute
	MinReservationTTL     = time.Minute
	InFlightRetryAfter    = time.Second
)

// AttemptHold is the default lifetime of a reservation that is never
// settled.
//
// Deprecated: reservations last until settled; an unsettled one lapses
// after ThrottlePolicy.ReservationTTL. AttemptHold equals
// DefaultReservationTTL.
const AttemptHold = DefaultReservationTTL

// InFlightLimit returns how many attempts for an account from one client
// network with the given number of remembered failures may be in progress
// at once: the failures left before the next lockout, and at least one.
func (p ThrottlePolicy) InFlightLimit(failures int) int {
	return max(1, p.FreeFailures-failures)
}

// accountInFlightLimit is InFlightLimit for the account-wide count.
func (p ThrottlePolicy) accountInFlightLimit(failures int) int {
	return max(1, p.AccountFailures-failures)
}

// IPInFlightLimit returns how many attempts from one client address (an
// IPv4 address or an IPv6 /64) with the given number of failures in the
// current window may be in progress at once: the failures left before the
// address is refused, none once it is.
func (p ThrottlePolicy) IPInFlightLimit(failures int) int {
	return max(0, p.IPFailures-failures)
}

// ThrottlePolicy sets a LoginThrottler's limits. Zero fields take the
// defaults shown.
type ThrottlePolicy struct {
	// FreeFailures is how many failures an account may have from one
	// client network (an IPv4 address or an IPv6 /64, see IPKey) before
	// that network's first lockout for the account (default 5).
	FreeFailures int
	// AccountFailures is how many failures an account may have from all
	// networks together before the account is locked for everyone
	// (default 10 × FreeFailures). It bounds guessing spread over many
	// addresses; the lockouts then follow the same schedule (BaseLockout
	// doubling up to MaxLockout). It must be at least FreeFailures.
	AccountFailures int
	// BaseLockout is the first lockout (default 30s); each further failure
	// doubles it, up to MaxLockout (default 15m).
	BaseLockout time.Duration
	MaxLockout  time.Duration
	// FailureMemory is how long failures are remembered after the last one
	// (default 24h), per network and account-wide; it must be at least
	// MaxLockout.
	FailureMemory time.Duration
	// IPFailures is how many failures one client IP (an IPv6 /64) may have
	// in IPWindow (defaults 100 and 15m) before it is refused until the
	// window ends.
	IPFailures int
	IPWindow   time.Duration
	// ReservationTTL bounds how long an attempt admitted by Check stays
	// reserved when it is never settled (default DefaultReservationTTL,
	// at least MinReservationTTL). Settled attempts release their
	// reservation at once; this only limits what a crashed process or a
	// host bug can hold. It must exceed the longest an attempt can take
	// (the hasher's queue timeout plus a verification plus the host's
	// lookups), or reservations lapse while attempts still run.
	ReservationTTL time.Duration
}

// WithDefaults returns p with zero fields set to their defaults.
func (p ThrottlePolicy) WithDefaults() ThrottlePolicy {
	if p.FreeFailures == 0 {
		p.FreeFailures = 5
	}
	if p.AccountFailures == 0 {
		p.AccountFailures = 10 * p.FreeFailures
	}
	if p.BaseLockout == 0 {
		p.BaseLockout = 30 * time.Second
	}
	if p.MaxLockout == 0 {
		p.MaxLockout = 15 * time.Minute
	}
	if p.FailureMemory == 0 {
		p.FailureMemory = 24 * time.Hour
	}
	if p.IPFailures == 0 {
		p.IPFailures = 100
	}
	if p.IPWindow == 0 {
		p.IPWindow = 15 * time.Minute
	}
	if p.ReservationTTL == 0 {
		p.ReservationTTL = DefaultReservationTTL
	}
	return p
}

// Validate reports an inconsistent policy (after WithDefaults) with an
// error wrapping ErrInvalid.
func (p ThrottlePolicy) Validate() error {
	switch {
	case p.FreeFailures < 1 || p.IPFailures < 1:
		return fmt.Errorf("%w: throttle failure counts must be positive", ErrInvalid)
	case p.AccountFailures < p.FreeFailures:
		return fmt.Errorf("%w: throttle AccountFailures must be at least FreeFailures", ErrInvalid)
	case p.BaseLockout <= 0 || p.MaxLockout < p.BaseLockout:
		return fmt.Errorf("%w: throttle lockouts must satisfy 0 < BaseLockout <= MaxLockout", ErrInvalid)
	case p.FailureMemory < p.MaxLockout:
		return fmt.Errorf("%w: throttle FailureMemory must be at least MaxLockout", ErrInvalid)
	case p.IPWindow <= 0:
		return fmt.Errorf("%w: throttle IPWindow must be positive", ErrInvalid)
	case p.ReservationTTL < MinReservationTTL:
		return fmt.Errorf("%w: throttle ReservationTTL must be at least %s", ErrInvalid, MinReservationTTL)
	}
	return nil
}

// Lockout returns how long an account is locked for one client network
// after its failures-th consecutive failure from that network: zero up to
// FreeFailures, then BaseLockout doubling per failure, capped at
// MaxLockout.
func (p ThrottlePolicy) Lockout(failures int) time.Duration {
	return p.lockout(p.FreeFailures, failures)
}

// AccountLockout returns how long an account is locked for everyone after
// its failures-th failure from any network: zero up to AccountFailures,
// then the schedule of Lockout.
func (p ThrottlePolicy) AccountLockout(failures int) time.Duration {
	return p.lockout(p.AccountFailures, failures)
}

func (p ThrottlePolicy) lockout(free, failures int) time.Duration {
	over := failures - free
	if over <= 0 {
		return 0
	}
	d := p.BaseLockout
	for i := 1; i < over && d < p.MaxLockout; i++ {
		d *= 2
	}
	return min(d, p.MaxLockout)
}

// AccountKey returns the key a throttler tracks account under: the SHA-256
// of the trimmed, lower-cased name, so throttling state never holds user
// names.
func AccountKey(account string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(account))))
	return hex.EncodeToString(sum[:16])
}

// IPKey returns the key a throttler tracks a client address under: the
// address itself for IPv4, its /64 network for IPv6 (one subscriber
// usually holds a whole /64), and the input unchanged when it does not
// parse. A port is dropped ("192.0.2.1:51234", "[2001:db8::1]:443", as in
// http.Request.RemoteAddr), so that a client's connections from different
// source ports share one limit, and so is an IPv6 zone.
func IPKey(ip string) string {
	s := strings.TrimSpace(ip)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return ip
		}
		a = ap.Addr()
	}
	a = a.WithZone("")
	a = a.Unmap()
	if a.Is6() {
		if pfx, err := a.Prefix(64); err == nil {
			return pfx.String()
		}
	}
	return a.String()
}

// MemoryThrottler is a LoginThrottler in process memory. It is safe for
// concurrent use; entries are dropped once they no longer matter.
type MemoryThrottler struct {
	policy    ThrottlePolicy
	now       func() time.Time
	mu        sync.Mutex
	accounts  map[string]*failState // account-wide, by AccountKey
	pairs     map[string]*failState // per account and network, by pairKey
	ips       map[string]*ipState   // per client address, by IPKey
	lastSweep time.Time
}

// holds are the expiry times of the reservations of one entry (attempts
// admitted by Check, not yet settled). There are never more than the
// entry's cap allows (FreeFailures, AccountFailures or IPFailures), so a
// slice is enough.
type holds []time.Time

// live drops the reservations that have lapsed at now and returns how many
// remain.
func (h *holds) live(now time.Time) int {
	kept := (*h)[:0]
	for _, exp := range *h {
		if now.Before(exp) {
			kept = append(kept, exp)
		}
	}
	clear((*h)[len(kept):])
	*h = kept
	return len(kept)
}

// add reserves one attempt until exp.
func (h *holds) add(exp time.Time) { *h = append(*h, exp) }

// settle ends the oldest live reservation, if any. The reservations of an
// entry are interchangeable: settling any one leaves the same count.
func (h *holds) settle(now time.Time) {
	if h.live(now) > 0 {
		*h = (*h)[1:]
	}
}

// failState is the failure record of an account as a whole or of an
// account from one client network.
type failState struct {
	failures int
	last     time.Time
	until    time.Time
	held     holds
}

// lockedFor returns how long s is still locked at now (zero for nil).
func (s *failState) lockedFor(now time.Time) time.Duration {
	if s == nil || !now.Before(s.until) {
		return 0
	}
	return s.until.Sub(now)
}

// remembered returns the failures not yet forgotten at now.
func (s *failState) remembered(now time.Time, memory time.Duration) int {
	if now.Sub(s.last) >= memory {
		return 0
	}
	return s.failures
}

// fail records a failure at now and returns the lockout it imposes.
func (s *failState) fail(now time.Time, memory time.Duration, lockout func(int) time.Duration) time.Duration {
	if now.Sub(s.last) >= memory {
		s.failures, s.until = 0, time.Time{}
	}
	s.held.settle(now)
	s.failures++
	s.last = now
	d := lockout(s.failures)
	if d > 0 {
		s.until = now.Add(d)
	}
	return d
}

// idle reports whether s can be dropped at now: no failure remembered, no
// lockout running and no attempt reserved.
func (s *failState) idle(now time.Time, memory time.Duration) bool {
	return s.remembered(now, memory) == 0 && !now.Before(s.until) && s.held.live(now) == 0
}

// ipState is the failure count of one client address in its current
// window, and its reserved attempts.
type ipState struct {
	failures int
	reset    time.Time
	held     holds
}

// current returns the failures counted in the window running at now.
func (s *ipState) current(now time.Time) int {
	if !now.Before(s.reset) {
		return 0
	}
	return s.failures
}

var _ LoginThrottler = (*MemoryThrottler)(nil)

// ThrottlerOption configures a MemoryThrottler. An option given an invalid
// value makes NewMemoryThrottler fail with an error wrapping ErrInvalid.
type ThrottlerOption func(*MemoryThrottler) error

// WithThrottlerClock sets the time source (default time.Now); for tests. A
// nil clock is invalid.
func WithThrottlerClock(now func() time.Time) ThrottlerOption {
	return func(t *MemoryThrottler) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		t.now = now
		return nil
	}
}

// NewMemoryThrottler returns a MemoryThrottler enforcing p (zero fields
// take defaults).
func NewMemoryThrottler(p ThrottlePolicy, opts ...ThrottlerOption) (*MemoryThrottler, error) {
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	t := &MemoryThrottler{policy: p, now: time.Now, accounts: map[string]*failState{}, pairs: map[string]*failState{}, ips: map[string]*ipState{}}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalid)
		}
		if err := o(t); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// pairKey is the key of an account's state for one client network.
func pairKey(accountKey, ipKey string) string { return accountKey + "|" + ipKey }

func stateIn(m map[string]*failState, k string) *failState {
	s := m[k]
	if s == nil {
		s = &failState{}
		m[k] = s
	}
	return s
}

func (t *MemoryThrottler) ipIn(k string) *ipState {
	s := t.ips[k]
	if s == nil {
		s = &ipState{}
		t.ips[k] = s
	}
	return s
}

// Check implements LoginThrottler.
func (t *MemoryThrottler) Check(ctx context.Context, account, ip string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweepLocked(now)
	k, ik := AccountKey(account), IPKey(ip)
	pk := pairKey(k, ik)
	wait := max(t.accounts[k].lockedFor(now), t.pairs[pk].lockedFor(now))
	if s := t.ips[ik]; s != nil && s.current(now) >= t.policy.IPFailures {
		wait = max(wait, s.reset.Sub(now))
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	a, c, i := stateIn(t.accounts, k), stateIn(t.pairs, pk), t.ipIn(ik)
	mem := t.policy.FailureMemory
	if c.held.live(now) >= t.policy.InFlightLimit(c.remembered(now, mem)) ||
		a.held.live(now) >= t.policy.accountInFlightLimit(a.remembered(now, mem)) ||
		i.held.live(now) >= t.policy.IPInFlightLimit(i.current(now)) {
		return &ThrottledError{RetryAfter: InFlightRetryAfter}
	}
	exp := now.Add(t.policy.ReservationTTL)
	a.held.add(exp)
	c.held.add(exp)
	i.held.add(exp)
	return nil
}

// Fail implements LoginThrottler.
func (t *MemoryThrottler) Fail(ctx context.Context, account, ip string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweepLocked(now)
	k, ik := AccountKey(account), IPKey(ip)
	mem := t.policy.FailureMemory
	wait := max(
		stateIn(t.pairs, pairKey(k, ik)).fail(now, mem, t.policy.Lockout),
		stateIn(t.accounts, k).fail(now, mem, t.policy.AccountLockout),
	)
	s := t.ipIn(ik)
	if !now.Before(s.reset) {
		s.failures, s.reset = 0, now.Add(t.policy.IPWindow)
	}
	s.held.settle(now)
	s.failures++
	if s.failures >= t.policy.IPFailures {
		wait = max(wait, s.reset.Sub(now))
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// Succeed implements LoginThrottler.
func (t *MemoryThrottler) Succeed(ctx context.Context, account, ip string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ik := AccountKey(account), IPKey(ip)
	pk := pairKey(k, ik)
	mem := t.policy.FailureMemory
	mine := 0
	if c := t.pairs[pk]; c != nil {
		mine = c.remembered(now, mem)
		c.failures, c.until = 0, time.Time{}
		c.held.settle(now)
		if c.idle(now, mem) {
			delete(t.pairs, pk)
		}
	}
	if a := t.accounts[k]; a != nil {
		a.failures = max(0, a.remembered(now, mem)-mine)
		a.held.settle(now)
		if a.idle(now, mem) {
			delete(t.accounts, k)
		}
	}
	t.settleIPLocked(ik, now)
	return nil
}

// Release implements LoginThrottler.
func (t *MemoryThrottler) Release(ctx context.Context, account, ip string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ik := AccountKey(account), IPKey(ip)
	pk := pairKey(k, ik)
	mem := t.policy.FailureMemory
	for _, e := range [...]struct {
		m   map[string]*failState
		key string
	}{{t.pairs, pk}, {t.accounts, k}} {
		if s := e.m[e.key]; s != nil {
			s.held.settle(now)
			if s.idle(now, mem) {
				delete(e.m, e.key)
			}
		}
	}
	t.settleIPLocked(ik, now)
	return nil
}

// settleIPLocked settles one reservation of client address ik.
func (t *MemoryThrottler) settleIPLocked(ik string, now time.Time) {
	if s := t.ips[ik]; s != nil {
		s.held.settle(now)
		if s.current(now) == 0 && s.held.live(now) == 0 {
			delete(t.ips, ik)
		}
	}
}

func (t *MemoryThrottler) sweepLocked(now time.Time) {
	if now.Sub(t.lastSweep) < time.Minute && !now.Before(t.lastSweep) {
		return
	}
	t.lastSweep = now
	mem := t.policy.FailureMemory
	for _, m := range []map[string]*failState{t.accounts, t.pairs} {
		for k, a := range m {
			if a.idle(now, mem) {
				delete(m, k)
			}
		}
	}
	for k, s := range t.ips {
		if s.current(now) == 0 && s.held.live(now) == 0 {
			delete(t.ips, k)
		}
	}
}
