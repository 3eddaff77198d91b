package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/secrets"
)

// fakeClock is a manually advanced clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// counting returns a provider whose value for every name is "v<n>", n
// counting reads.
func counting(n *atomic.Int64) secrets.Provider {
	return secrets.ProviderFunc(func(_ context.Context, name string) (string, error) {
		if name == "missing" {
			return "", secrets.ErrNotFound
		}
		return fmt.Sprintf("v%d", n.Add(1)), nil
	})
}

func TestCached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var n atomic.Int64
	clock := newFakeClock()
	c := secrets.Cached(counting(&n), time.Minute, secrets.CacheClock(clock.Now))

	get := func(want string) {
		t.Helper()
		if got, err := c.Get(ctx, "k"); err != nil || got != want {
			t.Fatalf("Get = %q, %v; want %q", got, err, want)
		}
	}
	get("v1")
	get("v1") // cached
	clock.Advance(59 * time.Second)
	get("v1")
	clock.Advance(time.Second)
	get("v2") // expired
	if v, err := c.Refresh(ctx, "k"); err != nil || v != "v3" {
		t.Fatalf("Refresh = %q, %v", v, err)
	}
	get("v3")
	c.Invalidate("k")
	get("v4")
	c.Invalidate()
	get("v5")
	if _, err := c.Get(ctx, "missing"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := c.Get(ctx, "missing"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("missing twice: %v", err)
	}
}

func TestCachedZeroTTLKeepsUntilRefresh(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	clock := newFakeClock()
	c := secrets.Cached(counting(&n), 0, secrets.CacheClock(clock.Now))
	ctx := context.Background()
	first, _ := c.Get(ctx, "k")
	clock.Advance(1000 * time.Hour)
	if again, _ := c.Get(ctx, "k"); again != first {
		t.Fatalf("zero ttl expired: %q then %q", first, again)
	}
	if r, _ := c.Refresh(ctx, "k"); r == first {
		t.Fatal("Refresh did not read through")
	}
}

func TestCachedDropsValueOnError(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	p := secrets.ProviderFunc(func(context.Context, string) (string, error) {
		if fail.Load() {
			return "", secrets.ErrPermission
		}
		return "v", nil
	})
	c := secrets.Cached(p, time.Hour)
	ctx := context.Background()
	if v, _ := c.Get(ctx, "k"); v != "v" {
		t.Fatal(v)
	}
	fail.Store(true)
	if _, err := c.Refresh(ctx, "k"); !errors.Is(err, secrets.ErrPermission) {
		t.Fatalf("Refresh err = %v", err)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, secrets.ErrPermission) {
		t.Fatalf("Get after failed refresh served a stale value: %v", err)
	}
}

// TestCachedStaleReadDoesNotWin starts a slow read, refreshes meanwhile,
// and checks that the slow (older) read does not replace the newer value.
func TestCachedStaleReadDoesNotWin(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{})
	var calls atomic.Int64
	p := secrets.ProviderFunc(func(context.Context, string) (string, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-release
			return "old", nil
		}
		return "new", nil
	})
	for _, invalidate := range []bool{false, true} {
		calls.Store(0)
		release = make(chan struct{})
		started = make(chan struct{})
		c := secrets.Cached(p, time.Hour)
		ctx := context.Background()
		done := make(chan string)
		go func() {
			v, _ := c.Get(ctx, "k")
			done <- v
		}()
		<-started
		if invalidate {
			c.Invalidate()
		} else if v, _ := c.Refresh(ctx, "k"); v != "new" {
			t.Fatalf("Refresh = %q", v)
		}
		close(release)
		if v := <-done; v != "old" {
			t.Fatalf("slow Get = %q, want its own read", v)
		}
		want := "new"
		if v, _ := c.Get(ctx, "k"); v != want {
			t.Fatalf("invalidate=%v: cached = %q, want %q", invalidate, v, want)
		}
	}
}

func TestCachedConcurrent(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	c := secrets.Cached(counting(&n), time.Hour)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				name := fmt.Sprintf("k%d", (i+j)%4)
				if _, err := c.Get(context.Background(), name); err != nil {
					t.Error(err)
				}
				if j%10 == 0 {
					c.Invalidate(name)
				}
			}
		}()
	}
	wg.Wait()
}

func TestCachedNilProvider(t *testing.T) {
	t.Parallel()
	_, err := secrets.Cached(nil, time.Minute).Get(context.Background(), "k")
	if err == nil || errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}
