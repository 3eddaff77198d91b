package similarity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// switchEmbedder is a keyword embedder that can be taken down, as a whole
// or for texts containing a poison word, and that can hold calls.
type switchEmbedder struct {
	*keywordEmbedder
	down   atomic.Bool
	poison string
	// hold, when set, is called before every embedding (to block it).
	hold atomic.Pointer[func(texts []string)]
}

func newSwitchEmbedder() *switchEmbedder {
	return &switchEmbedder{keywordEmbedder: newKeywordEmbedder("kw", "churn", "fraud", "forecast", "vision")}
}

func (e *switchEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if h := e.hold.Load(); h != nil {
		(*h)(texts)
	}
	if e.down.Load() {
		return nil, &ProviderError{StatusCode: 503, Message: "embeddings service down", Attempts: 1}
	}
	for _, t := range texts {
		if e.poison != "" && strings.Contains(t, e.poison) {
			return nil, &ProviderError{StatusCode: 500, Message: "poisoned text", Attempts: 1}
		}
	}
	return e.keywordEmbedder.Embed(ctx, texts)
}

// indexerDB opens connections to one fresh database: each call of the
// returned function is another process's connection.
type indexerDB func(t testing.TB) func() *gorm.DB

func quiet() logger.Interface { return logger.Default.LogMode(logger.Silent) }

// sqliteProcesses migrates a fresh SQLite file and opens connections to it.
func sqliteProcesses(t testing.TB) func() *gorm.DB {
	first := testenv.SQLite(t)
	migrateAll(t, first)
	dsn := first.Dialector.(*sqlite.Dialector).DSN
	used := false
	return func() *gorm.DB {
		db := first
		if used {
			var err error
			if db, err = gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: quiet()}); err != nil {
				t.Fatal(err)
			}
			sqlDB, _ := db.DB()
			t.Cleanup(func() { _ = sqlDB.Close() })
		}
		used = true
		usePlugin(t, db, tenancy.NewPlugin())
		return db
	}
}

// postgresProcesses migrates a fresh PostgreSQL database as its owner and
// opens connections to it as the owner.
func postgresProcesses(t testing.TB) func() *gorm.DB {
	url := testenv.PostgresURL(t)
	migrateAll(t, testenv.OpenPostgres(t, url))
	return func() *gorm.DB {
		db := testenv.OpenPostgres(t, url)
		usePlugin(t, db, tenancy.NewPlugin())
		return db
	}
}

// rlsProcesses migrates a fresh PostgreSQL database, forces row-level
// security on every tenant-owned table and opens connections as an
// application role without BYPASSRLS that owns nothing, as the platform
// runs.
func rlsProcesses(t testing.TB) func() *gorm.DB {
	url := testenv.PostgresURL(t)
	owner := testenv.OpenPostgres(t, url)
	migrateAll(t, owner)
	ctx := context.Background()
	models := append(registry.Models(), Models()...)
	if err := tenancy.EnableRLS(ctx, owner, models...); err != nil {
		t.Fatal(err)
	}
	role, appURL := testenv.PostgresAppRole(t, url)
	for _, g := range []string{
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role,
		"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO " + role,
	} {
		if err := owner.Exec(g).Error; err != nil {
			t.Fatal(err)
		}
	}
	return func() *gorm.DB {
		db := testenv.OpenPostgres(t, appURL)
		usePlugin(t, db, tenancy.NewPlugin(tenancy.WithRowLevelSecurity()))
		return db
	}
}

func indexerDatabases(t *testing.T) map[string]indexerDB {
	dbs := map[string]indexerDB{"sqlite": sqliteProcesses}
	if _, ok := testenv.Databases(t)["postgres"]; ok {
		dbs["postgres"] = postgresProcesses
		dbs["postgres-rls"] = rlsProcesses
	}
	return dbs
}

func migrateAll(t testing.TB, db *gorm.DB) {
	t.Helper()
	ctx := context.Background()
	if err := registry.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
}

func usePlugin(t testing.TB, db *gorm.DB, p *tenancy.Plugin) {
	t.Helper()
	if err := db.Use(p); err != nil {
		t.Fatal(err)
	}
}

// process is one server process: its own connection, registry, Service
// and Indexer.
type process struct {
	db  *gorm.DB
	reg *registry.Registry
	ix  *Indexer
	emb *switchEmbedder
}

func newProcess(t testing.TB, db *gorm.DB, opts ...IndexerOption) *process {
	t.Helper()
	reg, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	return newProcessOn(t, db, reg, opts...)
}

// newProcessOn is newProcess on an existing registry: on SQLite, whose
// registry serialises its write transactions within one process only, the
// concurrent tests share one registry between "processes".
func newProcessOn(t testing.TB, db *gorm.DB, reg *registry.Registry, opts ...IndexerOption) *process {
	t.Helper()
	emb := newSwitchEmbedder()
	svc := newTestService(t, db, emb)
	opts = append([]IndexerOption{WithIndexerLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)
	ix, err := NewIndexer(reg, svc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &process{db: db, reg: reg, ix: ix, emb: emb}
}

func projectInput(name, desc string) registry.ProjectInput {
	return registry.ProjectInput{Name: name, Description: desc, ProblemClass: registry.Classification,
		ComplexityScore: 3, TeamSize: 2}
}

func mustCreate(t testing.TB, p *process, ctx context.Context, name, desc string) *registry.Project {
	t.Helper()
	pr, err := p.ix.CreateProject(ctx, projectInput(name, desc))
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func pendingIDs(t testing.TB, p *process, ctx context.Context) []string {
	t.Helper()
	rows, err := p.ix.Pending(ctx, MaxDrainLimit)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.ProjectID)
	}
	return out
}

// storedText returns the text of a project's stored embedding ("" when it
// has none).
func storedText(t testing.TB, p *process, ctx context.Context, id string) string {
	t.Helper()
	var rows []ProjectEmbedding
	if err := p.db.WithContext(ctx).Where("project_id = ?", id).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return ""
	}
	return rows[0].Text
}

func forEachIndexerDB(t *testing.T, fn func(t *testing.T, open func() *gorm.DB)) {
	t.Helper()
	for name, setup := range indexerDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, setup(t))
		})
	}
}

func tctx(id string) context.Context { return tenancy.WithTenant(context.Background(), id) }

func TestIndexerWritesKeepIndexInStep(t *testing.T) {
	t.Parallel()
	forEachIndexerDB(t, func(t *testing.T, open func() *gorm.DB) {
		p := newProcess(t, open())
		a := tctx("tenant-a")
		churn := mustCreate(t, p, a, "Churn", "churn churn")
		fraud := mustCreate(t, p, a, "Fraud", "fraud")
		if got := pendingIDs(t, p, a); len(got) != 0 {
			t.Fatalf("pending after successful writes: %v", got)
		}
		if got, err := p.ix.Similar(a, churn.ID, 5); err != nil || ids(got) != fraud.ID {
			t.Fatalf("Similar = %v, %v", ids(got), err)
		}
		if _, err := p.ix.UpdateProject(a, fraud.ID, registry.ProjectPatch{Description: ptr("churn fraud")}); err != nil {
			t.Fatal(err)
		}
		if got := storedText(t, p, a, fraud.ID); !strings.Contains(got, "churn fraud") {
			t.Fatalf("embedding not updated: %q", got)
		}
		// A patch that changes nothing embedded records nothing.
		if _, err := p.ix.UpdateProject(a, fraud.ID, registry.ProjectPatch{TeamSize: ptr(3)}); err != nil {
			t.Fatal(err)
		}
		if got, err := p.ix.SimilarText(a, "churn", 5); err != nil || len(got) != 2 {
			t.Fatalf("SimilarText = %v, %v", got, err)
		}
		if err := p.ix.DeleteProject(a, fraud.ID); err != nil {
			t.Fatal(err)
		}
		if got := storedText(t, p, a, fraud.ID); got != "" {
			t.Fatalf("embedding of a deleted project kept: %q", got)
		}
		if got, err := p.ix.SimilarText(a, "churn", 5); err != nil || ids(got) != churn.ID {
			t.Fatalf("after delete: %v, %v", ids(got), err)
		}
		if _, err := p.ix.Similar(a, fraud.ID, 5); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("Similar of a deleted project: %v", err)
		}
		if got := pendingIDs(t, p, a); len(got) != 0 {
			t.Fatalf("pending at the end: %v", got)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestIndexerFailedIndexPickedUpByAnotherProcess writes projects in one
// process while its embedder is down, and queries them from another
// process on the same database: the second process indexes them from the
// pending rows, without the first one's memory.
func TestIndexerFailedIndexPickedUpByAnotherProcess(t *testing.T) {
	t.Parallel()
	forEachIndexerDB(t, func(t *testing.T, open func() *gorm.DB) {
		a := tctx("tenant-a")
		p1 := newProcess(t, open())
		p1.emb.down.Store(true)
		churn := mustCreate(t, p1, a, "Churn", "churn")
		fraud := mustCreate(t, p1, a, "Fraud", "churn fraud")
		rows, err := p1.ix.Pending(a, 10)
		if err != nil || len(rows) != 2 {
			t.Fatalf("pending = %+v, %v", rows, err)
		}
		if rows[0].Attempts != 1 || !strings.Contains(rows[0].LastError, "down") || rows[0].LastAttemptAt == nil {
			t.Errorf("failure not recorded: %+v", rows[0])
		}
		// The first process answers 503-like errors while its embedder is down.
		if _, err := p1.ix.Similar(a, churn.ID, 5); !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrProvider) {
			t.Fatalf("Similar while down = %v", err)
		}
		if _, err := p1.ix.SimilarSpec(a, "churn", registry.Spec{}, 5); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("SimilarSpec while down = %v", err)
		}
		spec := registry.Spec{UserStories: []string{"churn"}}
		if _, err := p1.ix.Overlap(a, spec, churn.ID); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Overlap while down = %v", err)
		}

		p2 := newProcess(t, open()) // another process, embedder up
		got, err := p2.ix.Similar(a, churn.ID, 5)
		if err != nil || ids(got) != fraud.ID {
			t.Fatalf("second process: Similar = %v, %v", ids(got), err)
		}
		if got := pendingIDs(t, p2, a); len(got) != 0 {
			t.Fatalf("pending after the second process's query: %v", got)
		}
		if rep, err := p2.ix.Overlap(a, spec, churn.ID); err != nil || rep.ProjectID != churn.ID {
			t.Fatalf("Overlap = %+v, %v", rep, err)
		}
	})
}

// TestIndexerPendingRowIsAtomicWithTheWrite checks both directions: a
// failed registry write leaves no pending row, and a failed pending insert
// rolls the registry write back.
func TestIndexerPendingRowIsAtomicWithTheWrite(t *testing.T) {
	t.Parallel()
	forEachIndexerDB(t, func(t *testing.T, open func() *gorm.DB) {
		a := tctx("tenant-a")
		p := newProcess(t, open())
		p.emb.down.Store(true) // so that rows stay
		pr := mustCreate(t, p, a, "Churn", "churn")
		missing := "00000000-0000-0000-0000-000000000000"
		if _, err := p.ix.UpdateProject(a, missing, registry.ProjectPatch{Description: ptr("x")}); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("update of a missing project = %v", err)
		}
		if err := p.ix.DeleteProject(a, missing); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("delete of a missing project = %v", err)
		}
		if _, err := p.ix.CreateProject(a, registry.ProjectInput{Name: "no class"}); !errors.Is(err, registry.ErrInvalid) {
			t.Fatalf("invalid create = %v", err)
		}
		if got := pendingIDs(t, p, a); len(got) != 1 || got[0] != pr.ID {
			t.Fatalf("pending = %v, want only %s", got, pr.ID)
		}

		// Make the pending insert fail: a trigger refuses new rows.
		trigger := map[string][]string{
			"sqlite": {`CREATE TRIGGER refuse_pending BEFORE INSERT ON similarity_pending BEGIN SELECT RAISE(ABORT, 'refused'); END`},
			"postgres": {
				`CREATE FUNCTION refuse_pending() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`,
				`CREATE TRIGGER refuse_pending BEFORE INSERT OR UPDATE ON similarity_pending FOR EACH ROW EXECUTE FUNCTION refuse_pending()`,
			},
		}
		dialect := p.db.Dialector.Name()
		admin := p.db
		if dialect == "postgres" {
			// The application role may not create triggers: use the owner.
			admin = ownerOf(t, p.db)
		}
		for _, s := range trigger[dialect] {
			if err := admin.Exec(s).Error; err != nil {
				t.Fatal(err)
			}
		}
		before := projectCount(t, p, a)
		if _, err := p.ix.CreateProject(a, projectInput("Fraud", "fraud")); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("create with a failing pending insert = %v", err)
		}
		if _, err := p.ix.UpdateProject(a, pr.ID, registry.ProjectPatch{Description: ptr("changed")}); err == nil {
			t.Fatal("update with a failing pending insert succeeded")
		}
		if err := p.ix.DeleteProject(a, pr.ID); err == nil {
			t.Fatal("delete with a failing pending insert succeeded")
		}
		if n := projectCount(t, p, a); n != before {
			t.Fatalf("%d projects after failed writes, want %d", n, before)
		}
		if got, err := p.reg.GetProject(a, pr.ID); err != nil || got.Description != "churn" {
			t.Fatalf("project after a rolled-back update = %+v, %v", got, err)
		}
	})
}

// ownerOf returns a connection to db's database as the administrative
// role of the test server.
func ownerOf(t testing.TB, db *gorm.DB) *gorm.DB {
	t.Helper()
	var name string
	if err := db.Raw("SELECT current_database()").Scan(&name).Error; err != nil {
		t.Fatal(err)
	}
	admin := testenv.PostgresAdminURL(t)
	i := strings.LastIndex(admin, "/")
	q := ""
	if j := strings.Index(admin[i:], "?"); j >= 0 {
		q = admin[i+j:]
	}
	return testenv.OpenPostgres(t, admin[:i+1]+name+q)
}

func projectCount(t testing.TB, p *process, ctx context.Context) int {
	t.Helper()
	page, err := p.reg.ListProjects(ctx, registry.ProjectFilter{Limit: registry.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Items)
}

// TestIndexerTenantIsolation checks that one tenant's pending rows are
// neither visible to, drained by nor blocking another tenant.
func TestIndexerTenantIsolation(t *testing.T) {
	t.Parallel()
	forEachIndexerDB(t, func(t *testing.T, open func() *gorm.DB) {
		a, b := tctx("tenant-a"), tctx("tenant-b")
		p := newProcess(t, open())
		p.emb.poison = "vision"
		stuck := mustCreate(t, p, a, "Vision", "vision") // cannot be embedded
		mustCreate(t, p, a, "Churn", "churn")
		b1 := mustCreate(t, p, b, "Churn b", "churn")
		b2 := mustCreate(t, p, b, "Fraud b", "fraud churn")
		if got := pendingIDs(t, p, a); len(got) != 1 || got[0] != stuck.ID {
			t.Fatalf("tenant a pending = %v", got)
		}
		if got := pendingIDs(t, p, b); len(got) != 0 {
			t.Fatalf("tenant b sees pending rows: %v", got)
		}
		var n int64
		if err := p.db.WithContext(b).Model(&PendingProject{}).Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("tenant b counts %d pending rows, %v", n, err)
		}
		if got, err := p.ix.Similar(b, b1.ID, 5); err != nil || ids(got) != b2.ID {
			t.Fatalf("tenant b blocked by tenant a: %v, %v", ids(got), err)
		}
		if _, err := p.ix.SimilarText(a, "churn", 5); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("tenant a with a stuck project = %v", err)
		}
		// Tenant b cannot sync, nor record over, tenant a's row.
		if err := p.ix.Sync(b, stuck.ID); err != nil {
			t.Fatal(err)
		}
		if err := p.ix.Record(b, stuck.ID); err != nil {
			t.Fatal(err)
		}
		rows, err := p.ix.Pending(a, 10)
		if err != nil || len(rows) != 1 || rows[0].Attempts < 2 {
			t.Fatalf("tenant a's row after tenant b's calls: %+v, %v", rows, err)
		}
		// Tenant b's own row, for a project b does not have, drains as a
		// removal.
		if err := p.ix.Drain(b); err != nil {
			t.Fatal(err)
		}
		if got := pendingIDs(t, p, b); len(got) != 0 {
			t.Fatalf("tenant b pending after drain: %v", got)
		}
		// DrainAll works through every tenant. The application role under
		// row-level security cannot list them across tenants: it is told.
		p.emb.poison = ""
		ix := p.ix
		if strings.Contains(t.Name(), "rls") {
			var err error
			lister := func(context.Context) ([]string, error) { return []string{"tenant-a", "tenant-b"}, nil }
			if ix, err = NewIndexer(p.reg, p.ix.Service(), WithTenantLister(lister)); err != nil {
				t.Fatal(err)
			}
		}
		n2, err := ix.DrainAll(context.Background())
		if err != nil || n2 != 1 {
			t.Fatalf("DrainAll = %d, %v", n2, err)
		}
		if got := pendingIDs(t, p, a); len(got) != 0 {
			t.Fatalf("tenant a pending after DrainAll: %v", got)
		}
	})
}

// TestIndexerSupersededWork holds the embedding of version 1 of a pending
// project while another process writes version 2: the held work must not
// store version 1 over it, and ends with version 2 indexed.
func TestIndexerSupersededWork(t *testing.T) {
	t.Parallel()
	forEachIndexerDB(t, func(t *testing.T, open func() *gorm.DB) {
		a := tctx("tenant-a")
		p1, p2 := newProcess(t, open()), newProcess(t, open())
		p1.emb.down.Store(true)
		pr := mustCreate(t, p1, a, "Churn", "churn version one")
		p1.emb.down.Store(false)

		entered, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		hold := func(texts []string) {
			if strings.Contains(strings.Join(texts, " "), "version one") {
				once.Do(func() { close(entered); <-release })
			}
		}
		p1.emb.hold.Store(&hold)
		done := make(chan error, 1)
		go func() { done <- p1.ix.Drain(a) }()
		select {
		case <-entered:
		case err := <-done:
			t.Fatalf("the drain did not embed version one: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("the drain did not start")
		}
		p2.emb.down.Store(true) // version 2 is written but not indexed
		if _, err := p2.ix.UpdateProject(a, pr.ID, registry.ProjectPatch{Description: ptr("fraud version two")}); err != nil {
			t.Fatal(err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("held drain = %v", err)
		}
		if got := storedText(t, p1, a, pr.ID); !strings.Contains(got, "version two") {
			t.Fatalf("stored text %q, want version two", got)
		}
		if got := pendingIDs(t, p1, a); len(got) != 0 {
			t.Fatalf("pending: %v", got)
		}
	})
}

// TestIndexerConcurrentDrains writes projects while the embedder is down,
// then drains them from several goroutines of two processes at once while
// more writes arrive, and checks that every stored embedding is the
// registry's last version and nothing is left pending.
func TestIndexerConcurrentDrains(t *testing.T) {
	t.Parallel()
	forEachIndexerDB(t, func(t *testing.T, open func() *gorm.DB) {
		a := tctx("tenant-a")
		first := newProcess(t, open())
		second := newProcess(t, open())
		if first.db.Dialector.Name() == "sqlite" {
			second = newProcessOn(t, first.db, first.reg)
		}
		procs := []*process{first, second}
		for _, p := range procs {
			p.emb.down.Store(true)
		}
		const n = 12
		var projects []*registry.Project
		for i := range n {
			projects = append(projects, mustCreate(t, procs[i%2], a, fmt.Sprint("P", i), "churn"))
		}
		for _, p := range procs {
			p.emb.down.Store(false)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := procs[g%2]
				for i := range 3 {
					if g < 2 { // writers
						pr := projects[(g*3+i)%n]
						desc := fmt.Sprintf("fraud %d %d", g, i)
						if _, err := p.ix.UpdateProject(a, pr.ID, registry.ProjectPatch{Description: &desc}); err != nil {
							errs <- err
						}
						continue
					}
					if err := p.ix.Drain(a); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent work: %v", err)
		}
		if err := procs[0].ix.Drain(a); err != nil {
			t.Fatal(err)
		}
		if got := pendingIDs(t, procs[0], a); len(got) != 0 {
			t.Fatalf("pending after the drains: %v", got)
		}
		for _, pr := range projects {
			cur, err := procs[0].reg.GetProject(a, pr.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := storedText(t, procs[0], a, pr.ID), ComposeText(cur.Name, cur.Description, cur.Spec); got != want {
				t.Errorf("project %s: stored %q, registry has %q", cur.Name, got, want)
			}
		}
	})
}

// TestIndexerDrainLimit checks that a query answers ErrUnavailable while
// more writes are pending than it may work through, and that DrainAll
// works through all of them.
func TestIndexerDrainLimit(t *testing.T) {
	t.Parallel()
	p := newProcess(t, sqliteProcesses(t)(), WithDrainLimit(2))
	a := tctx("tenant-a")
	p.emb.down.Store(true)
	for i := range 5 {
		mustCreate(t, p, a, fmt.Sprint("P", i), "churn")
	}
	p.emb.down.Store(false)
	if _, err := p.ix.SimilarText(a, "churn", 5); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrProvider) {
		t.Fatalf("query with a backlog = %v", err)
	}
	if got := pendingIDs(t, p, a); len(got) != 3 {
		t.Fatalf("pending after one bounded drain: %v", got)
	}
	if n, err := p.ix.DrainAll(context.Background()); err != nil || n != 1 {
		t.Fatalf("DrainAll = %d, %v", n, err)
	}
	if got, err := p.ix.SimilarText(a, "churn", 10); err != nil || len(got) != 5 {
		t.Fatalf("after DrainAll: %v, %v", got, err)
	}
}

// TestIndexerIndexesProjectsWrittenAround checks the projects written
// without the Indexer: Record makes them pending, and a query of a project
// that has no embedding indexes it.
func TestIndexerIndexesProjectsWrittenAround(t *testing.T) {
	t.Parallel()
	p := newProcess(t, sqliteProcesses(t)())
	a := tctx("tenant-a")
	direct, err := p.reg.CreateProject(a, projectInput("Direct", "churn"))
	if err != nil {
		t.Fatal(err)
	}
	other := mustCreate(t, p, a, "Other", "churn fraud")
	if got, err := p.ix.Similar(a, direct.ID, 5); err != nil || ids(got) != other.ID {
		t.Fatalf("Similar of an unindexed project = %v, %v", ids(got), err)
	}
	if _, err := p.reg.UpdateProject(a, other.ID, registry.ProjectPatch{Description: ptr("vision")}); err != nil {
		t.Fatal(err)
	}
	p.emb.down.Store(true)
	if err := p.ix.Record(a, other.ID); err != nil {
		t.Fatal(err)
	}
	if err := p.ix.Sync(a, other.ID); !errors.Is(err, ErrProvider) {
		t.Fatalf("Sync while down = %v", err)
	}
	p.emb.down.Store(false)
	if got, err := p.ix.SimilarText(a, "vision", 1); err != nil || ids(got) != other.ID {
		t.Fatalf("after Record: %v, %v", ids(got), err)
	}
}

func TestIndexerRun(t *testing.T) {
	t.Parallel()
	p := newProcess(t, sqliteProcesses(t)())
	a := tctx("tenant-a")
	p.emb.down.Store(true)
	mustCreate(t, p, a, "Churn", "churn")
	p.emb.down.Store(false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.ix.Run(ctx, 10*time.Millisecond) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(pendingIDs(t, p, a)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not drain the pending project")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	if err := p.ix.Run(context.Background(), 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("Run(0) = %v", err)
	}
}

func TestIndexerOptions(t *testing.T) {
	t.Parallel()
	db := sqliteProcesses(t)()
	reg, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	svc := newTestService(t, db, newSwitchEmbedder())
	for name, opts := range map[string][]IndexerOption{
		"zero budget":     {WithWriteBudget(0)},
		"negative budget": {WithWriteBudget(-time.Second)},
		"zero limit":      {WithDrainLimit(0)},
		"huge limit":      {WithDrainLimit(MaxDrainLimit + 1)},
		"nil logger":      {WithIndexerLogger(nil)},
		"nil clock":       {WithIndexerClock(nil)},
		"nil lister":      {WithTenantLister(nil)},
		"nil option":      {nil},
	} {
		if _, err := NewIndexer(reg, svc, opts...); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := NewIndexer(nil, svc); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil registry: %v", err)
	}
	if _, err := NewIndexer(reg, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil service: %v", err)
	}
	ix, err := NewIndexer(reg, svc, WithWriteBudget(time.Second), WithDrainLimit(MaxDrainLimit))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Pending(tctx("t"), 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("Pending(0) = %v", err)
	}
	if err := ix.Drain(context.Background()); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Errorf("Drain without a tenant = %v", err)
	}
	if _, err := NewService(db, newSwitchEmbedder(), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewService with a nil option: %v", err)
	}
	for name, opt := range map[string]OpenAIOption{
		"nil option":        nil,
		"key with newline":  WithAPIKey("sk-abc\nX-Injected: 1"),
		"key with NUL":      WithAPIKey("sk\x00"),
		"zero dimensions":   WithDimensions(0),
		"zero batch":        WithBatchSize(0),
		"zero batch tokens": WithBatchTokens(0),
		"tiny input limit":  WithMaxInputTokens(7),
		"negative retries":  WithRetries(-1),
		"inverted backoff":  WithBackoff(time.Second, time.Millisecond),
		"zero timeout":      WithRequestTimeout(0),
		"nil HTTP client":   WithHTTPClient(nil),
	} {
		if _, err := NewOpenAIEmbedder("http://127.0.0.1:1/v1", "m", opt); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewOpenAIEmbedder with %s: %v", name, err)
		}
	}
	if _, err := NewOpenAIEmbedder("http://127.0.0.1:1/v1", "m", WithAPIKey("sk-fine")); err != nil {
		t.Errorf("a plain key: %v", err)
	}
}

func TestMigrateDownAndVersion(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			ctx := context.Background()
			if v, err := CurrentSchemaVersion(ctx, db); err != nil || v != 0 {
				t.Fatalf("fresh version = %d, %v", v, err)
			}
			if err := Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			if v, err := CurrentSchemaVersion(ctx, db); err != nil || v != SchemaVersion {
				t.Fatalf("version = %d, %v", v, err)
			}
			if err := MigrateDown(ctx, db, 1); err != nil {
				t.Fatal(err)
			}
			if db.Migrator().HasTable(PendingTableName) || !db.Migrator().HasTable(TableName) {
				t.Fatal("MigrateDown(1) did not drop only the pending table")
			}
			if v, _ := CurrentSchemaVersion(ctx, db); v != 1 {
				t.Fatalf("version after MigrateDown(1) = %d", v)
			}
			if err := Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			if err := MigrateDown(ctx, db, 0); err != nil {
				t.Fatal(err)
			}
			if db.Migrator().HasTable(TableName) || db.Migrator().HasTable(PendingTableName) {
				t.Fatal("MigrateDown(0) left tables")
			}
			if v, _ := CurrentSchemaVersion(ctx, db); v != 0 {
				t.Fatalf("version after MigrateDown(0) = %d", v)
			}
			if err := MigrateDown(ctx, db, 7); err == nil {
				t.Error("MigrateDown to an unknown version succeeded")
			}
		})
	}
}

func TestIndexerIsASimilarFinder(t *testing.T) {
	t.Parallel()
	p := newProcess(t, sqliteProcesses(t)())
	a := tctx("tenant-a")
	churn := mustCreate(t, p, a, "Churn", "churn")
	fraud := mustCreate(t, p, a, "Fraud", "churn fraud")
	got, err := p.ix.FindSimilar(a, metalearn.SimilarQuery{ProjectID: churn.ID})
	if err != nil || len(got) != 1 || got[0].ProjectID != fraud.ID || got[0].Name != "Fraud" || got[0].Similarity <= 0 {
		t.Fatalf("by project: %+v, %v", got, err)
	}
	got, err = p.ix.FindSimilar(a, metalearn.SimilarQuery{Spec: registry.Spec{UserStories: []string{"fraud"}}, Limit: 1})
	if err != nil || len(got) != 1 || got[0].ProjectID != fraud.ID {
		t.Fatalf("by spec: %+v, %v", got, err)
	}
	if got, err := p.ix.FindSimilar(a, metalearn.SimilarQuery{}); err != nil || len(got) != 0 {
		t.Fatalf("empty query: %+v, %v", got, err)
	}
	p.emb.down.Store(true)
	mustCreate(t, p, a, "Vision", "vision")
	if _, err := p.ix.FindSimilar(a, metalearn.SimilarQuery{ProjectID: churn.ID}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("while a write is pending: %v", err)
	}
}

// TestCacheFollowsOtherProcesses checks that a process whose matrix is
// loaded sees the index work another process did: a project that failed
// to index here and was indexed there, an update and a removal there.
func TestCacheFollowsOtherProcesses(t *testing.T) {
	t.Parallel()
	forEachIndexerDB(t, func(t *testing.T, open func() *gorm.DB) {
		a := tctx("tenant-a")
		p1, p2 := newProcess(t, open()), newProcess(t, open())
		churn := mustCreate(t, p1, a, "Churn", "churn")
		fraud := mustCreate(t, p1, a, "Fraud", "fraud")
		if got, err := p1.ix.Similar(a, churn.ID, 5); err != nil || ids(got) != fraud.ID {
			t.Fatalf("p1 before: %v, %v", ids(got), err) // loads p1's matrix
		}
		p1.emb.down.Store(true)
		late := mustCreate(t, p1, a, "Late", "churn churn")
		if _, err := p2.ix.Similar(a, churn.ID, 5); err != nil { // p2 indexes it
			t.Fatal(err)
		}
		// p1 needs no embedding for a stored project's neighbours.
		if got, err := p1.ix.Similar(a, churn.ID, 1); err != nil || ids(got) != late.ID {
			t.Fatalf("p1 after p2 indexed its failed write: %v, %v", ids(got), err)
		}
		if err := p2.ix.DeleteProject(a, late.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := p1.ix.Similar(a, churn.ID, 5); err != nil || ids(got) != fraud.ID {
			t.Fatalf("p1 after p2 deleted a project: %v, %v", ids(got), err)
		}
		// A direct Service write of p2 is seen as well.
		if err := p2.ix.Service().Index(a, fraud.ID, "Fraud", "churn churn churn", registry.Spec{}); err != nil {
			t.Fatal(err)
		}
		got, err := p1.ix.Similar(a, churn.ID, 1)
		if err != nil || len(got) != 1 || got[0].Similarity < 0.9 { // about 0 before
			t.Fatalf("p1 after p2 re-indexed a project: %+v, %v", got, err)
		}
	})
}
