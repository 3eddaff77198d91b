package similarity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// keywordEmbedder maps a text to counts of a few keywords (plus a small
// constant so no vector is zero): similarities are predictable.
type keywordEmbedder struct {
	model string
	words []string
	calls atomic.Int32
	texts atomic.Int32
}

func newKeywordEmbedder(model string, words ...string) *keywordEmbedder {
	return &keywordEmbedder{model: model, words: words}
}

func (k *keywordEmbedder) Model() string   { return k.model }
func (k *keywordEmbedder) Dimensions() int { return len(k.words) + 1 }
func (k *keywordEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := checkInputs(texts); err != nil {
		return nil, err
	}
	k.calls.Add(1)
	k.texts.Add(int32(len(texts)))
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, len(k.words)+1)
		lt := strings.ToLower(t)
		for j, w := range k.words {
			v[j] = float32(strings.Count(lt, w))
		}
		v[len(k.words)] = 0.1
		out[i], _ = normalized(v)
	}
	return out, nil
}

func migrated(t testing.TB, open func(testing.TB) *gorm.DB) *gorm.DB {
	t.Helper()
	db := open(t)
	if err := Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		t.Fatal(err)
	}
	return db
}

func newTestService(t testing.TB, db *gorm.DB, emb Embedder, opts ...Option) *Service {
	t.Helper()
	s, err := NewService(db, emb, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ids(ms []Match) string {
	var b []string
	for _, m := range ms {
		b = append(b, m.ProjectID)
	}
	return strings.Join(b, ",")
}

func TestServiceSearchAndWrites(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := migrated(t, open)
			emb := newKeywordEmbedder("kw", "churn", "forecast", "fraud")
			s := newTestService(t, db, emb)
			ctx := tenancy.WithTenant(context.Background(), "tenant-a")
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(s.Index(ctx, "p1", "Churn model", "predict churn churn", registry.Spec{}))
			must(s.Index(ctx, "p2", "Churn and forecast", "churn forecast", registry.Spec{}))
			must(s.Index(ctx, "p3", "Forecast", "forecast", registry.Spec{}))
			must(s.Index(ctx, "p4", "Fraud", "fraud", registry.Spec{}))

			got, err := s.Similar(ctx, "p1", 2)
			must(err)
			if ids(got) != "p2,p3" && ids(got) != "p2,p4" {
				t.Fatalf("Similar(p1) = %v", got)
			}
			if got[0].ProjectID != "p2" || got[0].Name != "Churn and forecast" || got[0].Similarity <= got[1].Similarity {
				t.Errorf("Similar(p1) = %+v: want p2 first, best first", got)
			}
			all, err := s.Similar(ctx, "p1", 10)
			must(err)
			if len(all) != 3 || strings.Contains(ids(all), "p1") {
				t.Errorf("Similar(p1, 10) = %v: want the 3 others, never p1", ids(all))
			}

			// A write is visible as soon as it returns: new project.
			must(s.Index(ctx, "p5", "Pure churn", "churn churn churn", registry.Spec{}))
			got, err = s.Similar(ctx, "p1", 1)
			must(err)
			if ids(got) != "p5" {
				t.Errorf("after indexing p5, Similar(p1,1) = %v", ids(got))
			}
			// Changed text.
			must(s.Index(ctx, "p5", "Pure fraud", "fraud fraud", registry.Spec{}))
			got, err = s.Similar(ctx, "p4", 1)
			must(err)
			if ids(got) != "p5" || got[0].Name != "Pure fraud" {
				t.Errorf("after re-indexing p5, Similar(p4,1) = %+v", got)
			}
			// Removal.
			must(s.Remove(ctx, "p5"))
			must(s.Remove(ctx, "p5")) // idempotent
			got, err = s.Similar(ctx, "p4", 4)
			must(err)
			if strings.Contains(ids(got), "p5") {
				t.Errorf("removed p5 still found: %v", ids(got))
			}
			if _, err := s.Similar(ctx, "p5", 1); !errors.Is(err, ErrNotIndexed) {
				t.Errorf("Similar(removed) error %v, want ErrNotIndexed", err)
			}

			// Free text and spec queries.
			got, err = s.SimilarText(ctx, "fraud detection", 1)
			must(err)
			if ids(got) != "p4" {
				t.Errorf("SimilarText(fraud) = %v", ids(got))
			}
			got, err = s.SimilarSpec(ctx, "", registry.Spec{UserStories: []string{"forecast sales"}}, 1)
			must(err)
			if ids(got) != "p3" {
				t.Errorf("SimilarSpec(forecast) = %v", ids(got))
			}

			// A fresh Service over the same database loads the same state.
			s2 := newTestService(t, db, emb)
			got2, err := s2.Similar(ctx, "p1", 10)
			must(err)
			got, _ = s.Similar(ctx, "p1", 10)
			if ids(got2) != ids(got) {
				t.Errorf("reloaded Similar = %v, cached = %v", ids(got2), ids(got))
			}
		})
	}
}

func TestServiceTenantIsolation(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := migrated(t, open)
			s := newTestService(t, db, newKeywordEmbedder("kw", "churn", "fraud"))
			a := tenancy.WithTenant(context.Background(), "tenant-a")
			b := tenancy.WithTenant(context.Background(), "tenant-b")
			for _, c := range []struct {
				ctx context.Context
				id  string
			}{{a, "a1"}, {a, "a2"}, {b, "b1"}} {
				if err := s.Index(c.ctx, c.id, "churn "+c.id, "", registry.Spec{}); err != nil {
					t.Fatal(err)
				}
			}
			// The same project id in two tenants is two projects.
			if err := s.Index(b, "a1", "fraud", "", registry.Spec{}); err != nil {
				t.Fatal(err)
			}
			got, err := s.SimilarText(b, "churn", 10)
			if err != nil {
				t.Fatal(err)
			}
			if ids(got) != "b1,a1" || got[1].Name != "fraud" {
				t.Errorf("tenant b sees %+v", got)
			}
			if _, err := s.Similar(b, "a2", 5); !errors.Is(err, ErrNotIndexed) {
				t.Errorf("tenant b reached a's project: %v", err)
			}
			if _, err := s.Overlap(b, registry.Spec{UserStories: []string{"x"}}, "a2"); !errors.Is(err, ErrNotIndexed) {
				t.Errorf("tenant b's overlap reached a's project: %v", err)
			}
			if err := s.Remove(b, "a2"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Similar(a, "a1", 5); ids(got) != "a2" {
				t.Errorf("tenant b removed a's project: a sees %v", ids(got))
			}
			var n int64
			if err := db.WithContext(a).Model(&ProjectEmbedding{}).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("tenant a has %d rows, want 2", n)
			}
		})
	}
}

func TestServiceRequiresTenantAndValidates(t *testing.T) {
	t.Parallel()
	db := migrated(t, testenv.SQLite)
	s := newTestService(t, db, newKeywordEmbedder("kw", "a"))
	ctx := context.Background()
	spec := registry.Spec{UserStories: []string{"a"}}
	checks := map[string]error{
		"Index":       s.Index(ctx, "p", "n", "", spec),
		"Remove":      s.Remove(ctx, "p"),
		"Invalidate":  s.Invalidate(ctx),
		"Similar":     second(s.Similar(ctx, "p", 1)),
		"SimilarText": second(s.SimilarText(ctx, "a", 1)),
		"Overlap":     second(s.Overlap(ctx, spec, "p")),
	}
	for name, err := range checks {
		if !errors.Is(err, tenancy.ErrNoTenant) {
			t.Errorf("%s without tenant: %v, want ErrNoTenant", name, err)
		}
	}
	tc := tenancy.WithTenant(ctx, "t")
	invalid := map[string]error{
		"empty id":       s.Index(tc, "", "n", "", spec),
		"long id":        s.Index(tc, strings.Repeat("x", 65), "n", "", spec),
		"no text":        s.Index(tc, "p", " ", "\n", registry.Spec{}),
		"k=0":            second(s.Similar(tc, "p", 0)),
		"k too big":      second(s.SimilarText(tc, "a", MaxResults+1)),
		"empty query":    second(s.SimilarText(tc, "  ", 1)),
		"empty overlap":  second(s.Overlap(tc, registry.Spec{UserStories: []string{" "}}, "p")),
		"remove bad id":  s.Remove(tc, ""),
		"overlap bad id": second(s.Overlap(tc, spec, "")),
	}
	for name, err := range invalid {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := NewService(nil, newKeywordEmbedder("kw")); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil db: %v", err)
	}
	if _, err := NewService(db, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil embedder: %v", err)
	}
	for _, o := range []Option{WithChunkTokens(3), WithSearchWorkers(0), WithOverlapThresholds(OverlapThresholds{}),
		WithEffortModel(EffortModel{UserStoryHours: -1})} {
		if _, err := NewService(db, newKeywordEmbedder("kw"), o); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad option accepted: %v", err)
		}
	}
	// An empty tenant: searches find nothing, without error.
	if got, err := s.SimilarText(tc, "a", 3); err != nil || len(got) != 0 {
		t.Errorf("empty tenant: %v, %v", got, err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestServiceSkipsUnchangedText(t *testing.T) {
	t.Parallel()
	db := migrated(t, testenv.SQLite)
	emb := newKeywordEmbedder("kw", "a")
	s := newTestService(t, db, emb)
	ctx := tenancy.WithTenant(context.Background(), "t")
	spec := registry.Spec{FunctionalRequirements: []string{"a  b"}}
	for range 3 {
		if err := s.Index(ctx, "p", "Name", "desc", spec); err != nil {
			t.Fatal(err)
		}
	}
	// White space differences compose to the same text.
	if err := s.Index(ctx, "p", " Name ", "desc\n", registry.Spec{FunctionalRequirements: []string{"a b"}}); err != nil {
		t.Fatal(err)
	}
	if c := emb.calls.Load(); c != 1 {
		t.Errorf("embedder called %d times for an unchanged project, want 1", c)
	}
	if err := s.Index(ctx, "p", "Name", "changed", spec); err != nil {
		t.Fatal(err)
	}
	if c := emb.calls.Load(); c != 2 {
		t.Errorf("embedder called %d times after a change, want 2", c)
	}
}

func TestServiceModelChange(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := migrated(t, open)
			ctx := tenancy.WithTenant(context.Background(), "t")
			old := newTestService(t, db, newKeywordEmbedder("old", "churn", "fraud"))
			for i, d := range []string{"churn", "churn fraud", "fraud"} {
				if err := old.Index(ctx, fmt.Sprint("p", i), d, d, registry.Spec{}); err != nil {
					t.Fatal(err)
				}
			}
			// Another model with another dimension: refused when asked to.
			newEmb := newKeywordEmbedder("new", "churn", "fraud", "forecast")
			strict := newTestService(t, db, newEmb, WithReembed(false))
			if _, err := strict.Similar(ctx, "p0", 1); !errors.Is(err, ErrModelMismatch) {
				t.Fatalf("strict service: %v, want ErrModelMismatch", err)
			}
			// Re-embedded in the background by default: the first search
			// starts it and says the project is not ready yet.
			s := newTestService(t, db, newEmb)
			t.Cleanup(func() { _ = s.Close() })
			if _, err := s.Similar(ctx, "p0", 1); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("first search during re-embedding: %v, want ErrUnavailable", err)
			}
			got := waitSimilar(t, s, ctx, "p0", 1)
			if ids(got) != "p1" {
				t.Errorf("after re-embedding, Similar(p0) = %v", ids(got))
			}
			if n := newEmb.texts.Load(); n != 3 {
				t.Errorf("re-embedded %d texts, want 3", n)
			}
			var rows []ProjectEmbedding
			if err := db.WithContext(ctx).Find(&rows).Error; err != nil || len(rows) != 3 {
				t.Fatalf("%d rows, %v", len(rows), err)
			}
			for _, r := range rows {
				if r.EmbedModel != "new" || r.Dimensions != 4 || len(r.Vector) != 16 {
					t.Errorf("row %s not updated: %s %d %d", r.ProjectID, r.EmbedModel, r.Dimensions, len(r.Vector))
				}
			}
			// The strict service now finds current vectors.
			if _, err := strict.Similar(ctx, "p0", 1); err != nil {
				t.Errorf("strict service after re-embedding: %v", err)
			}
		})
	}
}

func TestServiceConcurrentUse(t *testing.T) {
	t.Parallel()
	db := migrated(t, testenv.SQLite)
	h, _ := NewHashingEmbedder(64)
	s := newTestService(t, db, h)
	ctx := tenancy.WithTenant(context.Background(), "t")
	if err := s.Index(ctx, "seed", "seed project", "", registry.Spec{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 5 {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := s.Index(ctx, id, "project "+id, "demand forecasting", registry.Spec{}); err != nil {
					errs <- err
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := s.SimilarText(ctx, "forecasting demand", 3); err != nil {
					errs <- err
				}
				if _, err := s.Similar(ctx, "seed", 3); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := s.Similar(ctx, "seed", MaxResults)
	if err != nil || len(got) != 20 {
		t.Errorf("after concurrent writes: %d results, %v", len(got), err)
	}
}

func TestServiceInvalidate(t *testing.T) {
	t.Parallel()
	db := migrated(t, testenv.SQLite)
	emb := newKeywordEmbedder("kw", "a", "b")
	s := newTestService(t, db, emb)
	other := newTestService(t, db, emb) // a second process, say
	ctx := tenancy.WithTenant(context.Background(), "t")
	_ = s.Index(ctx, "p1", "a", "", registry.Spec{})
	if got, _ := s.SimilarText(ctx, "a", 5); len(got) != 1 {
		t.Fatalf("got %v", got)
	}
	_ = other.Index(ctx, "p2", "a b", "", registry.Spec{})
	if err := s.Invalidate(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SimilarText(ctx, "a", 5); len(got) != 2 {
		t.Errorf("after Invalidate: %v", got)
	}
}

// TestServiceRowLevelSecurity runs the Service as a PostgreSQL role without
// BYPASSRLS on tables with forced row-level security, as the platform does.
func TestServiceRowLevelSecurity(t *testing.T) {
	t.Parallel()
	dbURL := testenv.PostgresURL(t)
	owner := testenv.OpenPostgres(t, dbURL)
	ctx := context.Background()
	if err := Migrate(ctx, owner); err != nil {
		t.Fatal(err)
	}
	if err := tenancy.EnableRLS(ctx, owner, Models()...); err != nil {
		t.Fatal(err)
	}
	role, appURL := testenv.PostgresAppRole(t, dbURL)
	for _, g := range []string{
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON " + strings.Join(TenantTables(), ", ") + " TO " + role,
		"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO " + role,
	} {
		if err := owner.Exec(g).Error; err != nil {
			t.Fatal(err)
		}
	}
	app := testenv.OpenPostgres(t, appURL)
	if err := app.Use(tenancy.NewPlugin(tenancy.WithRowLevelSecurity())); err != nil {
		t.Fatal(err)
	}
	s := newTestService(t, app, newKeywordEmbedder("kw", "churn", "fraud"))
	a := tenancy.WithTenant(ctx, "tenant-a")
	b := tenancy.WithTenant(ctx, "tenant-b")
	spec := registry.Spec{UserStories: []string{"churn alerts"}}
	for _, c := range []struct {
		ctx      context.Context
		id, text string
	}{{a, "a1", "churn"}, {a, "a2", "churn fraud"}, {b, "b1", "fraud"}} {
		if err := s.Index(c.ctx, c.id, c.text, "", spec); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Similar(a, "a1", 5); err != nil || ids(got) != "a2" {
		t.Errorf("tenant a: %v, %v", ids(got), err)
	}
	if got, err := s.SimilarText(b, "churn", 5); err != nil || ids(got) != "b1" {
		t.Errorf("tenant b: %v, %v", ids(got), err)
	}
	if rep, err := s.Overlap(a, spec, "a2"); err != nil || rep.Overall != 1 {
		t.Errorf("overlap: %+v, %v", rep, err)
	}
	if _, err := s.Overlap(b, spec, "a2"); !errors.Is(err, ErrNotIndexed) {
		t.Errorf("cross-tenant overlap: %v", err)
	}
	if err := s.Remove(b, "a1"); err != nil {
		t.Fatal(err)
	}
	// The database itself hides every row from a session without a tenant.
	var n int64
	if err := testenv.OpenPostgres(t, appURL).Model(&ProjectEmbedding{}).Count(&n).Error; err != nil || n != 0 {
		t.Errorf("without a tenant the app role sees %d rows (%v)", n, err)
	}
	if err := owner.Model(&ProjectEmbedding{}).Count(&n).Error; err != nil || n != 3 {
		t.Errorf("owner sees %d rows (%v), want 3", n, err)
	}
}

// waitSimilar retries Similar while it reports ErrUnavailable (a
// background re-embedding running), for at most ten seconds.
func waitSimilar(t *testing.T, s *Service, ctx context.Context, id string, k int) []Match {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.Similar(ctx, id, k)
		if err == nil {
			return got
		}
		if !errors.Is(err, ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Similar(%s): %v", id, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
