package auth_test

import (
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/authtest"
)

func TestMemoryTokenStoreConformance(t *testing.T) {
	t.Parallel()
	authtest.RunTokenStoreTests(t, func(*testing.T) auth.TokenStore { return auth.NewMemoryTokenStore() })
}

func TestMemoryAPIKeyStoreConformance(t *testing.T) {
	t.Parallel()
	authtest.RunAPIKeyStoreTests(t, func(*testing.T) auth.APIKeyStore { return auth.NewMemoryAPIKeyStore() })
}

func TestMemoryThrottlerConformance(t *testing.T) {
	t.Parallel()
	authtest.RunThrottlerTests(t, func(t *testing.T, p auth.ThrottlePolicy, now func() time.Time) auth.LoginThrottler {
		th, err := auth.NewMemoryThrottler(p, auth.WithThrottlerClock(now))
		if err != nil {
			t.Fatal(err)
		}
		return th
	})
}
