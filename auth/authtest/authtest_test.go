package authtest_test

import (
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/authtest"
)

// The suites run here against the in-memory implementations, which keeps
// the suites themselves honest: they must pass on a correct store.
func TestSuitesOnMemoryImplementations(t *testing.T) {
	t.Run("TokenStore", func(t *testing.T) {
		authtest.RunTokenStoreTests(t, func(*testing.T) auth.TokenStore { return auth.NewMemoryTokenStore() })
	})
	t.Run("APIKeyStore", func(t *testing.T) {
		authtest.RunAPIKeyStoreTests(t, func(*testing.T) auth.APIKeyStore { return auth.NewMemoryAPIKeyStore() })
	})
	t.Run("Throttler", func(t *testing.T) {
		authtest.RunThrottlerTests(t, func(t *testing.T, p auth.ThrottlePolicy, now func() time.Time) auth.LoginThrottler {
			th, err := auth.NewMemoryThrottler(p, auth.WithThrottlerClock(now))
			if err != nil {
				t.Fatal(err)
			}
			return th
		})
	})
}

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := authtest.NewClock(start)
	c.Advance(time.Hour)
	if !c.Now().Equal(start.Add(time.Hour)) {
		t.Fatalf("Now() = %v", c.Now())
	}
}
