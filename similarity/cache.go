package similarity

import "fmt"

// DefaultMemoryBudget is the default of WithMemoryBudget: 512 MiB, about
// 330,000 vectors of 384 dimensions (VectorBytes(384, 40) = 1,656 bytes
// each) across all tenants of a Service.
const DefaultMemoryBudget int64 = 512 << 20

// minMemoryBudget is the smallest budget WithMemoryBudget accepts.
const minMemoryBudget int64 = 1 << 10

// WithMemoryBudget bounds the memory of the in-memory search matrices of
// all tenants together, in bytes as VectorBytes accounts them (default
// DefaultMemoryBudget). When loading a tenant, or a write growing one,
// would exceed it, the least recently searched tenants are evicted; an
// evicted tenant is loaded again on its next search. A tenant whose
// vectors alone exceed the budget is not kept in memory: its searches fail
// with a *MemoryError. The budget must be at least 1 KiB.
func WithMemoryBudget(bytes int64) Option {
	return func(s *Service) error {
		if bytes < minMemoryBudget {
			return fmt.Errorf("%w: memory budget %d below %d bytes", ErrInvalid, bytes, minMemoryBudget)
		}
		s.budget = bytes
		return nil
	}
}

// CacheEvent is an event of a Service's in-memory index, told to the
// function given to WithCacheObserver.
type CacheEvent string

// The events of a Service's in-memory index.
const (
	// CacheHit: a search used a tenant's matrix in memory.
	CacheHit CacheEvent = "hit"
	// CacheMiss: a search loaded a tenant's matrix from the database (not
	// in memory, evicted, or at another revision).
	CacheMiss CacheEvent = "miss"
	// CacheEviction: a tenant's matrix was dropped to stay within the
	// memory budget.
	CacheEviction CacheEvent = "eviction"
	// CacheInvalidation: a tenant's matrix was dropped because it missed
	// a write (another process's, seen through the tenant's revision) or
	// Invalidate was called.
	CacheInvalidation CacheEvent = "invalidation"
)

// WithCacheObserver sets a function told every event of the Service's
// in-memory index (for metrics). It must be fast, safe for concurrent use
// and must not call the Service: it may be called while a tenant's index
// is locked.
func WithCacheObserver(fn func(CacheEvent)) Option {
	return func(s *Service) error {
		if fn == nil {
			return fmt.Errorf("%w: nil cache observer", ErrInvalid)
		}
		s.observe = fn
		return nil
	}
}

// CacheStats describes a Service's in-memory index at one moment.
type CacheStats struct {
	// Budget is the memory budget (WithMemoryBudget) and Bytes what the
	// tenants held in memory account for (at most Budget).
	Budget, Bytes int64
	// Tenants is the number of tenants held in memory, Vectors the number
	// of vectors they hold.
	Tenants, Vectors int
	// Hits, Misses, Evictions and Invalidations count the events since
	// the Service was made (see CacheEvent).
	Hits, Misses, Evictions, Invalidations int64
}

// CacheStats reports the state of the Service's in-memory index.
func (s *Service) CacheStats() CacheStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return CacheStats{Budget: s.budget, Bytes: s.used, Tenants: s.lru.Len(), Vectors: s.vectors,
		Hits: s.hits.Load(), Misses: s.misses.Load(), Evictions: s.evictions.Load(), Invalidations: s.invalidations.Load()}
}

// MemoryError reports a tenant whose vectors alone exceed the Service's
// memory budget: it cannot be searched until the budget is raised. It
// matches ErrUnavailable with errors.Is.
type MemoryError struct {
	// Need is what the tenant's vectors account for, Budget the budget.
	Need, Budget int64
}

// Error implements error.
func (e *MemoryError) Error() string {
	return fmt.Sprintf("similarity: the tenant's index needs %d bytes, more than the memory budget of %d bytes", e.Need, e.Budget)
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *MemoryError) Is(target error) bool { return target == ErrUnavailable }

// The accounting of the budget. s.mu guards s.lru, s.used, s.vectors and
// every tenantIndex's elem, bytes and rows; a tenant's mu guards its
// loaded, rev and m. Lock order: a tenant's wmu, then its mu, then s.mu;
// s.mu is never held while a tenant's lock is taken, and no goroutine
// holds two tenants' locks, so evicting one tenant never waits for
// another's lock while holding its own: victims are chosen (and their
// bytes released) under s.mu and dropped after the caller released its
// tenant (dropEvicted).

// event counts ev and tells the observer.
func (s *Service) event(ev CacheEvent, n int) {
	if n <= 0 {
		return
	}
	switch ev {
	case CacheHit:
		s.hits.Add(int64(n))
	case CacheMiss:
		s.misses.Add(int64(n))
	case CacheEviction:
		s.evictions.Add(int64(n))
	case CacheInvalidation:
		s.invalidations.Add(int64(n))
	}
	if s.observe != nil {
		for range n {
			s.observe(ev)
		}
	}
}

// resident reports whether ti is accounted in memory, marking it the most
// recently used. The caller holds ti.mu (read or write).
func (s *Service) resident(ti *tenantIndex) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ti.elem == nil {
		return false
	}
	s.lru.MoveToFront(ti.elem)
	return true
}

// account sets what ti's matrix m accounts for and evicts the least
// recently used other tenants until the total is within the budget. It
// reports false, accounting nothing for ti, when m alone exceeds the
// budget. The victims are returned for dropEvicted, to be called once the
// caller released ti.mu, which it holds (write).
func (s *Service) account(ti *tenantIndex, m *matrix) (victims []*tenantIndex, ok bool) {
	rows := 0
	if m != nil {
		rows = m.len()
	}
	return s.accountBytes(ti, m.bytes(), rows)
}

// accountBytes is account for b bytes of rows vectors.
func (s *Service) accountBytes(ti *tenantIndex, b int64, rows int) (victims []*tenantIndex, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ti.elem != nil {
		s.used -= ti.bytes
		s.vectors -= ti.rows
		s.lru.MoveToFront(ti.elem)
	} else {
		ti.elem = s.lru.PushFront(ti)
	}
	ti.bytes, ti.rows = b, rows
	s.used += b
	s.vectors += rows
	for s.used > s.budget {
		last := s.lru.Back()
		v := last.Value.(*tenantIndex)
		if v == ti {
			s.unaccountLocked(ti)
			return victims, false
		}
		s.unaccountLocked(v)
		victims = append(victims, v)
	}
	return victims, true
}

// unaccount releases what ti accounts for. The caller holds ti.mu.
func (s *Service) unaccount(ti *tenantIndex) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unaccountLocked(ti)
}

func (s *Service) unaccountLocked(ti *tenantIndex) {
	if ti.elem == nil {
		return
	}
	s.lru.Remove(ti.elem)
	ti.elem = nil
	s.used -= ti.bytes
	s.vectors -= ti.rows
	ti.bytes, ti.rows = 0, 0
}

// tryDrop frees the matrix of an evicted tenant if its lock is free at
// once, unless it was loaded again meanwhile, and reports whether it did.
// Unlike dropEvicted it may be called while holding another tenant's lock.
func (s *Service) tryDrop(v *tenantIndex) bool {
	if !v.mu.TryLock() {
		return false
	}
	s.mu.Lock()
	evicted := v.elem == nil
	s.mu.Unlock()
	if evicted {
		v.loaded, v.m = false, nil
	}
	v.mu.Unlock()
	s.event(CacheEviction, 1)
	return true
}

// dropEvicted frees the matrices of evicted tenants, unless one was loaded
// again meanwhile. The caller holds no tenant's lock.
func (s *Service) dropEvicted(victims []*tenantIndex) {
	for _, v := range victims {
		v.mu.Lock()
		s.mu.Lock()
		evicted := v.elem == nil
		s.mu.Unlock()
		if evicted {
			v.loaded, v.m = false, nil
		}
		v.mu.Unlock()
	}
	s.event(CacheEviction, len(victims))
}
