package redisstore_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/redisstore"
	"github.com/redis/go-redis/v9"
)

// Sessions and login throttling shared by several server processes through
// one Redis server. (Not run: it needs a Redis server.)
func Example() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()

	key, _ := auth.NewHS256Key("k1", []byte("an example secret of 32+ bytes!!"))
	store, err := redisstore.NewTokenStore(rdb, redisstore.WithPrefix("myapp:auth:"))
	if err != nil {
		panic(err)
	}
	tokens, err := auth.NewJWTManager(store, auth.WithKeys(key))
	if err != nil {
		panic(err)
	}
	throttle, err := redisstore.NewThrottler(rdb, auth.ThrottlePolicy{}, redisstore.WithPrefix("myapp:auth:"))
	if err != nil {
		panic(err)
	}

	if err := throttle.Check(ctx, "alice", "192.0.2.1"); errors.Is(err, auth.ErrThrottled) {
		fmt.Println("429, retry later")
		return
	}
	pair, err := tokens.IssuePair(ctx, auth.Subject{UserID: "u-1", TenantID: "t-1", Role: auth.RoleMember})
	if err != nil {
		panic(err)
	}
	_ = throttle.Succeed(ctx, "alice", "192.0.2.1")
	fmt.Println(pair.TokenType)
}
