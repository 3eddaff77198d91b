package redisstore_test

import (
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/authtest"
	"github.com/maestro-ml/maestro/auth/redisstore"
	"github.com/maestro-ml/maestro/internal/testenv"
)

func TestTokenStoreConformance(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	authtest.RunTokenStoreTests(t, func(*testing.T) auth.TokenStore {
		return redisstore.NewTokenStore(rdb, redisstore.WithPrefix(prefix))
	})
}

func TestThrottlerConformance(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	authtest.RunThrottlerTests(t, func(t *testing.T, p auth.ThrottlePolicy, now func() time.Time) auth.LoginThrottler {
		th, err := redisstore.NewThrottler(rdb, p, redisstore.WithPrefix(prefix), redisstore.WithClock(now))
		if err != nil {
			t.Fatal(err)
		}
		return th
	})
}
