package secrets

import (
	"context"
	"errors"
	"sync"
	"time"
)

// CachedProvider remembers the values of another provider for a while. See
// Cached.
type CachedProvider struct {
	p   Provider
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	seq     uint64 // incremented for every read through to p and every Invalidate
	floor   uint64 // reads numbered at or below floor predate an Invalidate of all names
	entries map[string]cacheEntry
	err     error // the first invalid argument or option
}

type cacheEntry struct {
	value   string
	fetched time.Time
	seq     uint64 // the read that produced this entry
	valid   bool   // false after a failed read: a tombstone kept for seq
}

// CacheOption configures a CachedProvider. An option given an invalid
// value makes the provider unusable: see Cached.
type CacheOption func(*CachedProvider) error

// CacheClock replaces time.Now as the cache's clock; tests use it to expire
// entries without sleeping. A nil clock is invalid.
func CacheClock(now func() time.Time) CacheOption {
	return func(c *CachedProvider) error {
		if now == nil {
			return invalidf("cache: nil clock")
		}
		c.now = now
		return nil
	}
}

// Cached wraps p so that a value, once read, is served from memory for ttl
// before p is asked again. The providers of this package read on demand and
// do not cache; wrap one in Cached when each read is costly (Vault, for
// example) and a bounded delay before a rotated secret is seen is
// acceptable. A ttl of zero or less keeps values until Refresh or
// Invalidate is called.
//
// Only values are cached: errors, including ErrNotFound, are returned to
// the caller and the next Get asks p again. A CachedProvider is safe for
// concurrent use; when a Refresh and a slower, older read race, the newer
// read's value is the one kept.
//
// A nil p or an option given an invalid value is recorded: Err reports it
// and every Get fails with it (it wraps ErrInvalid).
func Cached(p Provider, ttl time.Duration, opts ...CacheOption) *CachedProvider {
	c := &CachedProvider{p: p, ttl: ttl, now: time.Now, entries: make(map[string]cacheEntry)}
	if p == nil {
		c.err = invalidf("cache: nil provider")
	}
	for _, opt := range opts {
		if c.err != nil {
			break
		}
		if opt == nil {
			c.err = invalidf("cache: nil option")
			break
		}
		c.err = opt(c)
	}
	return c
}

// Err reports the invalid argument or option the provider was built with,
// or nil. Call it at start-up to fail fast.
func (c *CachedProvider) Err() error { return c.err }

// Get returns the cached value of name if it is fresh, and otherwise reads
// it from the wrapped provider and caches it.
func (c *CachedProvider) Get(ctx context.Context, name string) (string, error) {
	if c.err != nil {
		return "", lookupErr("cache", name, c.err)
	}
	c.mu.Lock()
	e, ok := c.entries[name]
	if ok && e.valid && (c.ttl <= 0 || c.now().Sub(e.fetched) < c.ttl) {
		c.mu.Unlock()
		return e.value, nil
	}
	c.mu.Unlock()
	return c.Refresh(ctx, name)
}

// Refresh reads name from the wrapped provider now, replaces the cached
// value and returns it. On error the cached value is dropped, so a secret
// that was removed, or that can no longer be read, is not served from
// memory.
func (c *CachedProvider) Refresh(ctx context.Context, name string) (string, error) {
	if c.p == nil {
		return "", lookupErr("cache", name, errors.New("no provider to cache"))
	}
	c.mu.Lock()
	c.seq++
	seq := c.seq
	c.mu.Unlock()

	v, err := c.p.Get(ctx, name)

	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.entries[name]; seq <= c.floor || (ok && cur.seq > seq) {
		// A newer read, or an Invalidate, came after this read began;
		// return what was read but do not cache it.
		if err != nil {
			return "", err
		}
		return v, nil
	}
	if err != nil {
		c.entries[name] = cacheEntry{seq: seq}
		return "", err
	}
	c.entries[name] = cacheEntry{value: v, fetched: c.now(), seq: seq, valid: true}
	return v, nil
}

// Invalidate forgets the cached values of the given names, or of every name
// when called without arguments, so that the next Get reads through. Reads
// already in flight return their values but do not repopulate the cache.
func (c *CachedProvider) Invalidate(names ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	if len(names) == 0 {
		clear(c.entries)
		c.floor = c.seq
		return
	}
	for _, n := range names {
		// A tombstone newer than any read in flight.
		c.entries[n] = cacheEntry{seq: c.seq}
	}
}
