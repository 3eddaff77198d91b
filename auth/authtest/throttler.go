package authtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
)

// NewThrottlerFunc builds the throttler under test with the given policy
// and time source.
type NewThrottlerFunc func(t *testing.T, p auth.ThrottlePolicy, now func() time.Time) auth.LoginThrottler

func retryAfter(t *testing.T, what string, err error) time.Duration {
	t.Helper()
	var te *auth.ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, auth.ErrThrottled) {
		t.Fatalf("%s: got %v, want a *ThrottledError", what, err)
	}
	return te.RetryAfter
}

func allowed(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: got %v, want nil", what, err)
	}
}

// RunThrottlerTests runs the LoginThrottler conformance suite.
func RunThrottlerTests(t *testing.T, newThrottler NewThrottlerFunc) {
	ctx := context.Background()
	policy := auth.ThrottlePolicy{
		FreeFailures: 3, BaseLockout: time.Minute, MaxLockout: 4 * time.Minute,
		FailureMemory: time.Hour, IPFailures: 1000, IPWindow: 15 * time.Minute,
	}

	t.Run("LockoutReachedAndLifted", func(t *testing.T) {
		clk := NewClock(time.Now())
		th := newThrottler(t, policy, clk.Now)
		acct, ip := "alice-"+randomID(t), "192.0.2.10"
		for i := range policy.FreeFailures {
			allowed(t, "check before lockout", th.Check(ctx, acct, ip))
			allowed(t, "free failure "+string(rune('1'+i)), th.Fail(ctx, acct, ip))
		}
		if d := retryAfter(t, "failure that locks", th.Fail(ctx, acct, ip)); d != time.Minute {
			t.Fatalf("first lockout %s, want 1m", d)
		}
		if d := retryAfter(t, "check while locked", th.Check(ctx, acct, ip)); d <= 0 || d > time.Minute {
			t.Fatalf("Retry-After while locked %s, want (0, 1m]", d)
		}
		allowed(t, "other account, same IP", th.Check(ctx, "bob-"+randomID(t), ip))
		// Case and surrounding space do not make a new account.
		retryAfter(t, "same account, other spelling", th.Check(ctx, "  ALICE-"+acct[len("alice-"):]+" ", ip))
		clk.Advance(time.Minute + time.Second)
		allowed(t, "check after the lockout", th.Check(ctx, acct, ip))
		if d := retryAfter(t, "next failure", th.Fail(ctx, acct, ip)); d != 2*time.Minute {
			t.Fatalf("second lockout %s, want 2m (increasing)", d)
		}
		clk.Advance(2*time.Minute + time.Second)
		retryAfter(t, "third lockout", th.Fail(ctx, acct, ip))
		clk.Advance(4*time.Minute + time.Second)
		if d := retryAfter(t, "capped lockout", th.Fail(ctx, acct, ip)); d != 4*time.Minute {
			t.Fatalf("lockout %s, want the 4m cap", d)
		}
		clk.Advance(4*time.Minute + time.Second)
		allowed(t, "success", th.Succeed(ctx, acct, ip))
		allowed(t, "failure after success is free again", th.Fail(ctx, acct, ip))
		allowed(t, "check after success", th.Check(ctx, acct, ip))
	})

	t.Run("FailuresForgotten", func(t *testing.T) {
		clk := NewClock(time.Now())
		th := newThrottler(t, policy, clk.Now)
		acct, ip := randomID(t), "198.51.100.7"
		for range policy.FreeFailures {
			allowed(t, "free failure", th.Fail(ctx, acct, ip))
		}
		clk.Advance(policy.FailureMemory + time.Second)
		allowed(t, "failure after the memory period", th.Fail(ctx, acct, ip))
	})

	t.Run("SameAnswerForAnyAccountName", func(t *testing.T) {
		clk := NewClock(time.Now())
		th := newThrottler(t, policy, clk.Now)
		a, b := "existing-"+randomID(t), "unknown-"+randomID(t)
		for range policy.FreeFailures + 2 {
			ea, eb := th.Fail(ctx, a, "203.0.113.1"), th.Fail(ctx, b, "203.0.113.2")
			if (ea == nil) != (eb == nil) {
				t.Fatalf("answers differ: %v vs %v", ea, eb)
			}
			if ea != nil && retryAfter(t, "a", ea) != retryAfter(t, "b", eb) {
				t.Fatalf("Retry-After differs: %v vs %v", ea, eb)
			}
		}
	})

	t.Run("InFlightAttemptsBounded", func(t *testing.T) {
		clk := NewClock(time.Now())
		th := newThrottler(t, policy, clk.Now)
		acct, ip := randomID(t), "192.0.2.77"
		// A burst of concurrent attempts, all checked before any failed:
		// only the free failures may proceed.
		const n = 12
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = th.Check(ctx, acct, ip)
			}()
		}
		close(start)
		wg.Wait()
		admitted := 0
		for _, err := range errs {
			if err == nil {
				admitted++
				continue
			}
			if d := retryAfter(t, "surplus attempt", err); d <= 0 || d > time.Minute {
				t.Fatalf("surplus attempt Retry-After %s", d)
			}
		}
		if admitted != policy.FreeFailures {
			t.Fatalf("%d of %d concurrent attempts admitted, want %d (the free failures)", admitted, n, policy.FreeFailures)
		}
		// A failure settles one attempt; the account has one failure left.
		allowed(t, "failure 1", th.Fail(ctx, acct, ip))
		retryAfter(t, "two attempts still in flight, one failure left", th.Check(ctx, acct, ip))
		allowed(t, "failure 2", th.Fail(ctx, acct, ip))
		retryAfter(t, "one in flight, one failure left", th.Check(ctx, acct, ip))
		// Reservations that nobody settles lapse, but only after the
		// reservation TTL.
		clk.Advance(time.Minute)
		retryAfter(t, "an unsettled attempt is still reserved a minute later", th.Check(ctx, acct, ip))
		clk.Advance(auth.DefaultReservationTTL)
		allowed(t, "after the hold", th.Check(ctx, acct, ip))
		retryAfter(t, "the last free failure is in flight", th.Check(ctx, acct, ip))
		allowed(t, "last free failure", th.Fail(ctx, acct, ip))
		allowed(t, "one attempt after the free failures", th.Check(ctx, acct, ip))
		retryAfter(t, "the failure that locks", th.Fail(ctx, acct, ip))
		clk.Advance(policy.MaxLockout + time.Second)
		// After a lockout, one attempt at a time.
		allowed(t, "after the lockout", th.Check(ctx, acct, ip))
		retryAfter(t, "second concurrent attempt after a lockout", th.Check(ctx, acct, ip))
		allowed(t, "success", th.Succeed(ctx, acct, ip))
		for i := range policy.FreeFailures {
			allowed(t, "attempt after success "+string(rune('1'+i)), th.Check(ctx, acct, ip))
		}
	})

	t.Run("LockoutPerClientNetwork", func(t *testing.T) {
		clk := NewClock(time.Now())
		th := newThrottler(t, policy, clk.Now)
		acct := "admin-" + randomID(t)
		attacker := "2001:db8:" + randomID(t)[:4] + ":7::1"
		attackerNet := attacker[:len(attacker)-1] + "9" // same /64
		owner := "192.0.2.200"
		for range policy.FreeFailures {
			allowed(t, "attacker's free failure", th.Fail(ctx, acct, attacker))
		}
		retryAfter(t, "attacker's failure that locks", th.Fail(ctx, acct, attacker))
		retryAfter(t, "attacker while locked", th.Check(ctx, acct, attacker))
		retryAfter(t, "attacker from the same /64", th.Check(ctx, acct, attackerNet))
		// The owner, from another network, is not locked out by a
		// stranger who only knows the name (SECURITY.md F-9).
		allowed(t, "owner from another network", th.Check(ctx, acct, owner))
		allowed(t, "owner's success", th.Succeed(ctx, acct, owner))
		retryAfter(t, "attacker still locked after the owner's login", th.Check(ctx, acct, attacker))
		// The owner's own failures lock only the owner's network.
		for range policy.FreeFailures {
			allowed(t, "owner's free failure", th.Fail(ctx, acct, owner))
		}
		retryAfter(t, "owner's failure that locks", th.Fail(ctx, acct, owner))
		allowed(t, "third network", th.Check(ctx, acct, "198.51.100.200"))
	})

	t.Run("AccountWideLockout", func(t *testing.T) {
		p := policy
		p.AccountFailures = 3 * p.FreeFailures
		clk := NewClock(time.Now())
		th := newThrottler(t, p, clk.Now)
		names := []string{"existing-" + randomID(t), "unknown-" + randomID(t)}
		var waits [2]time.Duration
		for i, acct := range names {
			// Guessing spread over networks, each below FreeFailures.
			n := 0
			for net := 0; n < p.AccountFailures; net++ {
				ip := fmt.Sprintf("198.51.%d.%d", 10+i, net)
				for j := 0; j < p.FreeFailures-1 && n < p.AccountFailures; j++ {
					allowed(t, "distributed failure", th.Fail(ctx, acct, ip))
					n++
				}
			}
			waits[i] = retryAfter(t, "failure over the account-wide limit", th.Fail(ctx, acct, "203.0.113."+fmt.Sprint(50+i)))
			if waits[i] != p.BaseLockout {
				t.Fatalf("account-wide lockout %s, want %s", waits[i], p.BaseLockout)
			}
			retryAfter(t, "fresh network while the account is locked", th.Check(ctx, acct, "192.0.2."+fmt.Sprint(150+i)))
		}
		if waits[0] != waits[1] {
			t.Fatalf("existing and unknown names answered differently: %s vs %s", waits[0], waits[1])
		}
		acct := names[0]
		clk.Advance(p.BaseLockout + time.Second)
		allowed(t, "fresh network after the lockout", th.Check(ctx, acct, "192.0.2.160"))
		if d := retryAfter(t, "next failure anywhere", th.Fail(ctx, acct, "192.0.2.160")); d != 2*p.BaseLockout {
			t.Fatalf("second account-wide lockout %s, want %s (increasing)", d, 2*p.BaseLockout)
		}
		allowed(t, "other account", th.Check(ctx, "bystander-"+randomID(t), "192.0.2.161"))
	})

	t.Run("SuccessForgetsOnlyOwnNetwork", func(t *testing.T) {
		p := policy
		p.AccountFailures = 3 * p.FreeFailures
		clk := NewClock(time.Now())
		th := newThrottler(t, p, clk.Now)
		acct, owner := randomID(t), "192.0.2.33"
		allowed(t, "stranger's failure 1", th.Fail(ctx, acct, "203.0.113.1"))
		allowed(t, "stranger's failure 2", th.Fail(ctx, acct, "203.0.113.2"))
		allowed(t, "owner's typo 1", th.Fail(ctx, acct, owner))
		allowed(t, "owner's typo 2", th.Fail(ctx, acct, owner))
		allowed(t, "owner's check", th.Check(ctx, acct, owner))
		allowed(t, "owner's success", th.Succeed(ctx, acct, owner))
		// The account-wide count keeps the strangers' 2 failures only: the
		// account locks at failure AccountFailures+1.
		for i := 3; i <= p.AccountFailures; i++ {
			allowed(t, fmt.Sprintf("account-wide failure %d", i), th.Fail(ctx, acct, fmt.Sprintf("198.51.100.%d", i)))
		}
		retryAfter(t, "failure over the account-wide limit", th.Fail(ctx, acct, "198.51.100.99"))
	})

	t.Run("PerIPLimit", func(t *testing.T) {
		p := policy
		p.IPFailures = 3
		clk := NewClock(time.Now())
		th := newThrottler(t, p, clk.Now)
		ip := "2001:db8:" + randomID(t)[:4] + ":1::1"
		sameNet := ip[:len(ip)-1] + "2" // same /64
		allowed(t, "failure 1", th.Fail(ctx, randomID(t), ip))
		allowed(t, "failure 2", th.Fail(ctx, randomID(t), sameNet))
		if d := retryAfter(t, "failure 3 reaches the limit", th.Fail(ctx, randomID(t), ip)); d <= 0 || d > p.IPWindow {
			t.Fatalf("IP Retry-After %s, want (0, %s]", d, p.IPWindow)
		}
		retryAfter(t, "fresh account from the limited network", th.Check(ctx, randomID(t), sameNet))
		allowed(t, "other network", th.Check(ctx, randomID(t), "2001:db8:ffff:1::1"))
		clk.Advance(p.IPWindow + time.Second)
		allowed(t, "after the window", th.Check(ctx, randomID(t), ip))
	})
	t.Run("ConcurrentPerAccount", func(t *testing.T) {
		clk := NewClock(time.Now())
		th := newThrottler(t, policy, clk.Now)
		acct, ip := randomID(t), "192.0.2.78"
		allowed(t, "failure before the burst", th.Fail(ctx, acct, ip))
		// One failure counted, so FreeFailures-1 attempts may run at once,
		// however many are checked concurrently.
		if got, want := burst(ctx, th, 20, func(int) (string, string) { return acct, ip }), policy.FreeFailures-1; got != want {
			t.Fatalf("%d concurrent attempts admitted with 1 failure counted, want %d", got, want)
		}
		// Account-wide: guesses from many networks, each below its own
		// cap, are bounded by AccountFailures as a whole.
		p := policy
		p.AccountFailures = 2 * p.FreeFailures
		th = newThrottler(t, p, clk.Now)
		acct = randomID(t)
		for i := range 3 {
			allowed(t, "spread failure", th.Fail(ctx, acct, fmt.Sprintf("198.18.0.%d", i)))
		}
		got := burst(ctx, th, 40, func(i int) (string, string) { return acct, fmt.Sprintf("198.18.1.%d", i) })
		if want := p.AccountFailures - 3; got != want {
			t.Fatalf("%d concurrent attempts from 40 networks admitted with 3 failures counted, want %d", got, want)
		}
	})

	t.Run("ConcurrentPerAddress", func(t *testing.T) {
		p := policy
		p.IPFailures = 10
		clk := NewClock(time.Now())
		th := newThrottler(t, p, clk.Now)
		ip := "2001:db8:" + randomID(t)[:4] + ":5::1"
		for range 3 {
			allowed(t, "failure before the burst", th.Fail(ctx, randomID(t), ip))
		}
		// One password tried against many accounts from one address (an
		// IPv6 /64): reservations count against IPFailures like failures.
		names := make([]string, 50)
		for i := range names {
			names[i] = randomID(t)
		}
		got := burst(ctx, th, len(names), func(i int) (string, string) {
			return names[i], ip[:len(ip)-1] + fmt.Sprint(i%9+1) // the same /64
		})
		if want := p.IPFailures - 3; got != want {
			t.Fatalf("%d concurrent attempts from one address admitted with 3 failures counted, want %d", got, want)
		}
		retryAfter(t, "the address's allowance is in flight", th.Check(ctx, randomID(t), ip))
		allowed(t, "another address", th.Check(ctx, randomID(t), "2001:db8:ffff:5::1"))
		// Successes settle without counting: their places come free.
		allowed(t, "success", th.Succeed(ctx, names[0], ip))
		allowed(t, "the success's place", th.Check(ctx, randomID(t), ip))
		// Failures settle and count: the address reaches its cap.
		left := p.IPFailures - 3
		for i := range left {
			if err := th.Fail(ctx, names[i+1], ip); i < left-1 {
				allowed(t, "failure below the cap", err)
			} else {
				retryAfter(t, "the failure that reaches the cap", err)
			}
		}
		if d := retryAfter(t, "address at its cap", th.Check(ctx, randomID(t), ip)); d <= inFlightRetryAfterBound {
			t.Fatalf("address at its cap: Retry-After %s, want the rest of the window", d)
		}
	})

	t.Run("ReservedUntilSettled", func(t *testing.T) {
		p := policy
		p.IPFailures = 4
		clk := NewClock(time.Now())
		th := newThrottler(t, p, clk.Now)
		acct, ip := randomID(t), "192.0.2.79"
		for i := range policy.FreeFailures {
			allowed(t, fmt.Sprintf("attempt %d", i+1), th.Check(ctx, acct, ip))
		}
		retryAfter(t, "all free failures in flight", th.Check(ctx, acct, ip))
		other := randomID(t)
		allowed(t, "the address's last place", th.Check(ctx, other, ip))
		retryAfter(t, "the address's allowance in flight", th.Check(ctx, randomID(t), ip))
		// Attempts waiting far longer than any hash (for a hasher queue,
		// say) keep their reservations: nothing lapses while they run.
		for range 5 {
			clk.Advance(time.Minute)
			retryAfter(t, "still in flight minutes later (account)", th.Check(ctx, acct, ip))
			retryAfter(t, "still in flight minutes later (address)", th.Check(ctx, randomID(t), ip))
		}
		allowed(t, "settling one", th.Release(ctx, other, ip))
		allowed(t, "the released place", th.Check(ctx, randomID(t), ip))
		// Only reservations never settled lapse, after the reservation TTL.
		clk.Advance(auth.DefaultReservationTTL)
		for i := range policy.FreeFailures {
			allowed(t, fmt.Sprintf("after the TTL %d", i+1), th.Check(ctx, acct, ip))
		}
	})

	t.Run("ReleaseOnGiveUp", func(t *testing.T) {
		p := policy
		p.IPFailures = 3
		clk := NewClock(time.Now())
		th := newThrottler(t, p, clk.Now)
		acct, ip := randomID(t), "192.0.2.81"
		// Attempts given up (hasher busy, dependency down) many times over
		// the caps: released, they count nothing.
		for i := range 5 * (policy.FreeFailures + p.IPFailures) {
			allowed(t, fmt.Sprintf("attempt %d", i+1), th.Check(ctx, acct, ip))
			allowed(t, "release", th.Release(ctx, acct, ip))
		}
		// The whole allowance is still there.
		for i := range p.IPFailures - 1 {
			allowed(t, fmt.Sprintf("check %d", i+1), th.Check(ctx, acct, ip))
			allowed(t, fmt.Sprintf("failure %d", i+1), th.Fail(ctx, acct, ip))
		}
		allowed(t, "last check", th.Check(ctx, acct, ip))
		retryAfter(t, "the failure that reaches the address cap", th.Fail(ctx, acct, ip))
		// A release with nothing reserved changes nothing.
		allowed(t, "release without a reservation", th.Release(ctx, randomID(t), "192.0.2.82"))
		retryAfter(t, "still capped", th.Check(ctx, randomID(t), ip))
	})
}

// inFlightRetryAfterBound is the largest Retry-After the suite accepts for
// a Check refused only because the allowance is in flight.
const inFlightRetryAfterBound = time.Minute

// burst checks n attempts at once (account and address of attempt i from
// at) and returns how many were admitted; the others must be refused with
// a short Retry-After.
func burst(ctx context.Context, th auth.LoginThrottler, n int, at func(i int) (string, string)) int {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			acct, ip := at(i)
			errs[i] = th.Check(ctx, acct, ip)
		})
	}
	close(start)
	wg.Wait()
	admitted := 0
	for _, err := range errs {
		var te *auth.ThrottledError
		switch {
		case err == nil:
			admitted++
		case !errors.As(err, &te) || te.RetryAfter <= 0 || te.RetryAfter > inFlightRetryAfterBound:
			return -1 - n // an unexpected answer: fails any comparison
		}
	}
	return admitted
}
