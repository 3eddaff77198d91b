package registry

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/tenancy"
)

// TestSQLiteSharedFile runs two Registries, each with its own connection
// pool, on one SQLite file opened as the package documentation advises
// (busy timeout, _txlock=immediate): their concurrent write transactions,
// which the in-process lock of each Registry does not serialise against
// the other, all succeed.
func TestSQLiteSharedFile(t *testing.T) {
	t.Parallel()
	dsn := filepath.Join(t.TempDir(), "shared.db") +
		"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	open := func(tb testing.TB) *gorm.DB {
		db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{Logger: logger.Discard})
		if err != nil {
			tb.Fatal(err)
		}
		sqlDB, _ := db.DB()
		tb.Cleanup(func() { _ = sqlDB.Close() })
		return db
	}
	e1 := newEnv(t, open)
	e2 := newEnv(t, open)
	run := newRun(t, e1)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i, e := range []*env{e1, e2, e1, e2} {
		ctx := tenancy.WithTenant(context.Background(), tenantA)
		wg.Go(func() {
			for j := range 5 {
				errs <- e.reg.LogMetrics(ctx, run.ID, metricBatch(fmt.Sprintf("m%d", i%2), (i/2*5+j)*10, 10))
				_, err := e.reg.CreateArtifact(ctx, ArtifactInput{Name: fmt.Sprintf("a%d-%d", i, j), Type: Dataset, Version: "1"})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sums := must[[]MetricSummary](t)(items(e2.reg.ListMetrics(e2.a, run.ID, PageRequest{})))
	if len(sums) != 2 || sums[0].Count != 100 || sums[1].Count != 100 {
		t.Fatalf("summaries: %+v", sums)
	}
}
