package similarity

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// budgetWords are the descriptions the budget tests index, so that
// searches have distinct, stable answers.
var budgetWords = []string{"churn", "fraud", "forecast", "demand", "pricing", "ranking", "vision", "speech", "anomaly", "credit"}

// indexTenant indexes n projects in tenant through s.
func indexTenant(t *testing.T, s *Service, tenant string, n int) {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), tenant)
	for i := range n {
		d := budgetWords[i%len(budgetWords)] + " " + budgetWords[(i*3+1)%len(budgetWords)]
		if err := s.Index(ctx, fmt.Sprintf("%s-p%d", tenant, i), d, d+" model for "+tenant, registry.Spec{}); err != nil {
			t.Fatal(err)
		}
	}
}

// checkBudget fails the test when the accounted bytes exceed the budget.
func checkBudget(t *testing.T, s *Service, after string) {
	t.Helper()
	st := s.CacheStats()
	if st.Bytes > st.Budget || st.Bytes < 0 {
		t.Fatalf("after %s: %d bytes accounted, budget %d", after, st.Bytes, st.Budget)
	}
}

// tenantBytes is what one tenant of n indexed projects accounts for.
func tenantBytes(t *testing.T, s *Service, tenant string) int64 {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), tenant)
	if err := s.Invalidate(ctx); err != nil {
		t.Fatal(err)
	}
	before := s.CacheStats().Bytes
	if _, err := s.SimilarText(ctx, "churn", 1); err != nil {
		t.Fatal(err)
	}
	return s.CacheStats().Bytes - before
}

func TestMemoryBudgetEvictsAcrossTenants(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := migrated(t, open)
			h, _ := NewHashingEmbedder(64)
			ref := newTestService(t, db, h) // unbounded in practice: the answers to compare with
			tenants := []string{"ta", "tb", "tc", "td"}
			for _, tn := range tenants {
				indexTenant(t, ref, tn, 12)
			}
			per := tenantBytes(t, ref, "ta")
			// Room for two tenants and a half: a third evicts one.
			var observed atomic.Int64
			s := newTestService(t, db, h, WithMemoryBudget(per*5/2), WithCacheObserver(func(ev CacheEvent) {
				if ev == CacheEviction {
					observed.Add(1)
				}
			}))
			want := map[string]string{}
			for _, tn := range tenants {
				ctx := tenancy.WithTenant(context.Background(), tn)
				got, err := ref.Similar(ctx, tn+"-p0", 5)
				if err != nil {
					t.Fatal(err)
				}
				want[tn] = ids(got)
			}
			for round := range 3 {
				for _, tn := range tenants {
					ctx := tenancy.WithTenant(context.Background(), tn)
					got, err := s.Similar(ctx, tn+"-p0", 5)
					if err != nil {
						t.Fatalf("round %d, %s: %v", round, tn, err)
					}
					if ids(got) != want[tn] {
						t.Errorf("round %d, %s: %s, want %s", round, tn, ids(got), want[tn])
					}
					checkBudget(t, s, "search of "+tn)
					if st := s.CacheStats(); st.Tenants > 2 {
						t.Errorf("%d tenants in memory within a budget for two", st.Tenants)
					}
				}
			}
			st := s.CacheStats()
			// Round robin over four tenants with room for two: every search
			// after the first two loads, and every load evicts one.
			if st.Misses != 12 || st.Evictions != 10 || st.Hits != 0 {
				t.Errorf("stats %+v, want 12 misses, 10 evictions, 0 hits", st)
			}
			if n := observed.Load(); n != st.Evictions {
				t.Errorf("observer saw %d evictions, stats %d", n, st.Evictions)
			}
			// The same tenant again: a hit.
			ctx := tenancy.WithTenant(context.Background(), "td")
			if _, err := s.Similar(ctx, "td-p1", 3); err != nil {
				t.Fatal(err)
			}
			if got := s.CacheStats().Hits; got != 1 {
				t.Errorf("hits %d, want 1", got)
			}
			// Writes grow a tenant within the budget: growing td evicts tc.
			indexTenantMore(t, s, "td", 12, 8)
			checkBudget(t, s, "writes")
			if st := s.CacheStats(); st.Tenants != 1 || st.Vectors != 20 {
				t.Errorf("after growing td: %+v, want td alone with 20 vectors", st)
			}
			got, err := s.Similar(ctx, "td-p0", 5)
			if err != nil {
				t.Fatal(err)
			}
			refGot, err := ref.Similar(ctx, "td-p0", 5)
			if err != nil {
				t.Fatal(err)
			}
			if ids(got) != ids(refGot) {
				t.Errorf("after writes: %s, want %s", ids(got), ids(refGot))
			}
		})
	}
}

// indexTenantMore indexes projects from..from+n-1 of tenant.
func indexTenantMore(t *testing.T, s *Service, tenant string, from, n int) {
	t.Helper()
	ctx := tenancy.WithTenant(context.Background(), tenant)
	for i := from; i < from+n; i++ {
		d := budgetWords[i%len(budgetWords)] + " extra"
		if err := s.Index(ctx, fmt.Sprintf("%s-p%d", tenant, i), d, d, registry.Spec{}); err != nil {
			t.Fatal(err)
		}
		checkBudget(t, s, "index")
	}
}

func TestMemoryBudgetTenantTooLarge(t *testing.T) {
	t.Parallel()
	db := migrated(t, testenv.SQLite)
	h, _ := NewHashingEmbedder(64)
	s := newTestService(t, db, h, WithMemoryBudget(4096))
	indexTenant(t, s, "small", 2)
	ctx := tenancy.WithTenant(context.Background(), "small")
	if _, err := s.SimilarText(ctx, "churn", 3); err != nil {
		t.Fatal(err)
	}
	indexTenant(t, s, "big", 20) // 20 × ~360 bytes: beyond 4 KiB
	checkBudget(t, s, "indexing big")
	big := tenancy.WithTenant(context.Background(), "big")
	_, err := s.SimilarText(big, "churn", 3)
	var me *MemoryError
	if !errors.As(err, &me) || !errors.Is(err, ErrUnavailable) || me.Budget != 4096 || me.Need <= 4096 {
		t.Fatalf("search of a tenant beyond the budget: %v, want a *MemoryError", err)
	}
	checkBudget(t, s, "refused load")
	// Refused again at the same revision without sizing the tenant again.
	misses := s.CacheStats().Misses
	if _, err := s.SimilarText(big, "churn", 3); !errors.As(err, &me) || s.CacheStats().Misses != misses {
		t.Errorf("second search of the tenant beyond the budget: %v, misses %d then %d", err, misses, s.CacheStats().Misses)
	}
	// The refusal evicted nothing: the small tenant is still a hit.
	before := s.CacheStats()
	if _, err := s.SimilarText(ctx, "churn", 3); err != nil {
		t.Fatal(err)
	}
	if after := s.CacheStats(); after.Hits != before.Hits+1 || after.Evictions != 0 {
		t.Errorf("small tenant after the refusal: %+v, before %+v", after, before)
	}
	// A write growing a tenant beyond the budget drops it from memory.
	indexTenantMore(t, s, "small", 2, 18)
	if st := s.CacheStats(); st.Tenants != 0 || st.Bytes != 0 {
		t.Errorf("a tenant grown beyond the budget stays in memory: %+v", st)
	}
	if _, err := s.SimilarText(ctx, "churn", 3); !errors.As(err, &me) {
		t.Errorf("search of the grown tenant: %v, want a *MemoryError", err)
	}
	if _, err := NewService(db, h, WithMemoryBudget(10)); !errors.Is(err, ErrInvalid) {
		t.Errorf("budget of 10 bytes: %v, want ErrInvalid", err)
	}
}

func TestMemoryBudgetConcurrentTenants(t *testing.T) {
	t.Parallel()
	db := migrated(t, testenv.SQLite)
	h, _ := NewHashingEmbedder(64)
	ref := newTestService(t, db, h)
	tenants := []string{"c0", "c1", "c2", "c3", "c4"}
	want := map[string]string{}
	for _, tn := range tenants {
		indexTenant(t, ref, tn, 8)
		got, err := ref.Similar(tenancy.WithTenant(context.Background(), tn), tn+"-p0", 4)
		if err != nil {
			t.Fatal(err)
		}
		want[tn] = ids(got)
	}
	per := tenantBytes(t, ref, "c0")
	s := newTestService(t, db, h, WithMemoryBudget(per*2))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				tn := tenants[(w+i)%len(tenants)]
				ctx := tenancy.WithTenant(context.Background(), tn)
				if w == 0 && i%5 == 0 {
					// A write (a removal of nothing) bumps the revision.
					if err := s.Remove(ctx, tn+"-none"); err != nil {
						errs <- err
					}
				}
				got, err := s.Similar(ctx, tn+"-p0", 4)
				switch {
				case err != nil:
					errs <- fmt.Errorf("%s: %w", tn, err)
				case ids(got) != want[tn]:
					errs <- fmt.Errorf("%s: %s, want %s", tn, ids(got), want[tn])
				}
				if st := s.CacheStats(); st.Bytes > st.Budget {
					errs <- fmt.Errorf("%d bytes accounted, budget %d", st.Bytes, st.Budget)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.CacheStats(); st.Evictions == 0 {
		t.Errorf("no evictions with five tenants in room for two: %+v", st)
	}
}

func TestMemoryBudgetFollowsOtherProcesses(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := migrated(t, open)
			h, _ := NewHashingEmbedder(64)
			other := newTestService(t, db, h) // another replica
			for _, tn := range []string{"ra", "rb", "rc"} {
				indexTenant(t, other, tn, 6)
			}
			per := tenantBytes(t, other, "ra")
			s := newTestService(t, db, h, WithMemoryBudget(per*3/2))
			a := tenancy.WithTenant(context.Background(), "ra")
			b := tenancy.WithTenant(context.Background(), "rb")
			if _, err := s.SimilarText(a, "churn", 3); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SimilarText(b, "churn", 3); err != nil { // evicts ra
				t.Fatal(err)
			}
			// The other replica writes ra while it is evicted here, and rb
			// while it is in memory here.
			if err := other.Index(a, "ra-new", "quantum annealing", "quantum annealing", registry.Spec{}); err != nil {
				t.Fatal(err)
			}
			if err := other.Index(b, "rb-new", "quantum annealing", "quantum annealing", registry.Spec{}); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				ctx  context.Context
				want string
			}{{b, "rb-new"}, {a, "ra-new"}, {b, "rb-new"}} {
				got, err := s.SimilarText(c.ctx, "quantum annealing", 1)
				if err != nil || ids(got) != c.want {
					t.Errorf("after the other replica's write: %v %v, want %s", ids(got), err, c.want)
				}
				checkBudget(t, s, "search")
			}
			// rb was in memory at an older revision: one invalidation.
			if st := s.CacheStats(); st.Invalidations != 1 || st.Evictions < 2 {
				t.Errorf("stats %+v, want 1 invalidation and at least 2 evictions", st)
			}
			// A removal on the other replica while evicted here.
			if err := other.Remove(a, "ra-new"); err != nil {
				t.Fatal(err)
			}
			got, err := s.SimilarText(a, "quantum annealing", 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range got {
				if m.ProjectID == "ra-new" {
					t.Errorf("a removed project is still found after reload: %v", ids(got))
				}
			}
		})
	}
}

// gatedEmbedder embeds with inner once gate is closed; until then its
// calls wait (or end with their context).
type gatedEmbedder struct {
	Embedder
	gate chan struct{}
}

func (g gatedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Embedder.Embed(ctx, texts)
}

func TestReembedInBackgroundAnswersFromWhatIsReady(t *testing.T) {
	t.Parallel()
	db := migrated(t, testenv.SQLite)
	ctx := tenancy.WithTenant(context.Background(), "t")
	old := newTestService(t, db, newKeywordEmbedder("old", "churn", "fraud"))
	for i, d := range []string{"churn", "churn fraud", "fraud"} {
		if err := old.Index(ctx, fmt.Sprint("old", i), d, d, registry.Spec{}); err != nil {
			t.Fatal(err)
		}
	}
	kw := newKeywordEmbedder("new", "churn", "fraud", "forecast")
	// Two projects indexed with the new model before the switch.
	fresh := newTestService(t, db, kw)
	for i, d := range []string{"churn forecast", "fraud forecast"} {
		if err := fresh.Index(ctx, fmt.Sprint("new", i), d, d, registry.Spec{}); err != nil {
			t.Fatal(err)
		}
	}
	gate := make(chan struct{})
	// Similar of a stored project embeds nothing: only re-embedding waits.
	s := newTestService(t, db, kw)
	s.emb = gatedEmbedder{Embedder: kw, gate: gate}
	t.Cleanup(func() { _ = s.Close() })
	got, err := s.Similar(ctx, "new0", 10)
	if err != nil || ids(got) != "new1" {
		t.Fatalf("during re-embedding: %v %v, want only the ready new1", ids(got), err)
	}
	if _, err := s.Similar(ctx, "old0", 3); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Similar of a project being re-embedded: %v, want ErrUnavailable", err)
	}
	close(gate)
	got = waitSimilar(t, s, ctx, "old0", 10)
	if len(got) != 4 {
		t.Errorf("after re-embedding: %v, want the four others", ids(got))
	}
	st := s.CacheStats()
	if st.Vectors != 5 || st.Misses != 1 {
		t.Errorf("re-embedding reloaded the tenant or lost vectors: %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
