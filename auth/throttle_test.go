package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
)

func TestThrottlePolicy(t *testing.T) {
	t.Parallel()
	p := auth.ThrottlePolicy{}.WithDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{0, 0, 0, 0, 0, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	for i, w := range want {
		if got := p.Lockout(i + 1); got != w {
			t.Errorf("Lockout(%d) = %s, want %s", i+1, got, w)
		}
	}
	if p.Lockout(1000) != 15*time.Minute {
		t.Error("lockout not capped for large counts")
	}
	if p.ReservationTTL != auth.DefaultReservationTTL {
		t.Errorf("default ReservationTTL %s, want %s", p.ReservationTTL, auth.DefaultReservationTTL)
	}
	for failures, want := range map[int]int{0: 100, 3: 97, 100: 0, 150: 0} {
		if got := p.IPInFlightLimit(failures); got != want {
			t.Errorf("IPInFlightLimit(%d) = %d, want %d", failures, got, want)
		}
	}
	if p.AccountFailures != 50 {
		t.Errorf("default AccountFailures %d, want 10 x FreeFailures = 50", p.AccountFailures)
	}
	if q := (auth.ThrottlePolicy{FreeFailures: 3}).WithDefaults(); q.AccountFailures != 30 {
		t.Errorf("AccountFailures %d for FreeFailures 3, want 30", q.AccountFailures)
	}
	for n, w := range map[int]time.Duration{1: 0, 5: 0, 6: 0, 50: 0, 51: 30 * time.Second, 52: time.Minute, 60: 15 * time.Minute} {
		if got := p.AccountLockout(n); got != w {
			t.Errorf("AccountLockout(%d) = %s, want %s", n, got, w)
		}
	}
	for name, bad := range map[string]auth.ThrottlePolicy{
		"negative failures":    {FreeFailures: -1},
		"max below base":       {BaseLockout: time.Hour, MaxLockout: time.Minute},
		"memory below lockout": {MaxLockout: time.Hour, FailureMemory: time.Minute},
		"negative window":      {IPWindow: -time.Second},
		"account below free":   {FreeFailures: 5, AccountFailures: 4},
		"short reservations":   {ReservationTTL: 15 * time.Second},
		"negative reservation": {ReservationTTL: -time.Minute},
	} {
		if _, err := auth.NewMemoryThrottler(bad); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestThrottleKeys(t *testing.T) {
	t.Parallel()
	if auth.AccountKey(" Alice ") != auth.AccountKey("alice") || auth.AccountKey("alice") == auth.AccountKey("bob") {
		t.Error("AccountKey does not normalise names")
	}
	if len(auth.AccountKey("alice")) != 32 || auth.AccountKey("alice") == "alice" {
		t.Error("AccountKey leaks the name")
	}
	for in, want := range map[string]string{
		"192.0.2.1":                   "192.0.2.1",
		"::ffff:192.0.2.1":            "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":        "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":        "2001:db8:1:2::/64",
		"not an address":              "not an address",
		" 198.51.100.2 ":              "198.51.100.2",
		"fe80::1%eth0":                "fe80::/64",
		"2001:db8:1:3:3:4:5:6":        "2001:db8:1:3::/64",
		"0000:0000:0000:0000::0001:1": "::/64",
	} {
		if got := auth.IPKey(in); got != want {
			t.Errorf("IPKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestThrottledError(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]int{0: 1, 300 * time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2, time.Minute: 60} {
		e := &auth.ThrottledError{RetryAfter: d}
		if got := e.RetryAfterSeconds(); got != want {
			t.Errorf("RetryAfterSeconds(%s) = %d, want %d", d, got, want)
		}
		if !errors.Is(e, auth.ErrThrottled) || e.Error() == "" {
			t.Error("ThrottledError does not wrap ErrThrottled")
		}
	}
	th, err := auth.NewMemoryThrottler(auth.ThrottlePolicy{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, err := range map[string]error{
		"Check":   th.Check(ctx, "a", "192.0.2.1"),
		"Fail":    th.Fail(ctx, "a", "192.0.2.1"),
		"Succeed": th.Succeed(ctx, "a", "192.0.2.1"),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s on a cancelled context: %v", name, err)
		}
	}
}
