package similarity

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// TestConcurrentIndexKeepsCacheInStep re-indexes one project twice at once
// and checks that the in-memory index ends with the vector that the
// database ends with. A database hook holds the first write, after it
// stored its row, until the second write has stored its own (or for
// 300 ms, since the second correctly waits for the first): without
// serialising each
// tenant's writes, the second call then updated the cache and returned,
// the first overwrote the cache with its older vector, and searches kept
// answering from that stale vector (the next Index of the same text was a
// no-op because the stored hash matched).
func TestConcurrentIndexKeepsCacheInStep(t *testing.T) {
	t.Parallel()
	db := migrated(t, testenv.SQLite)
	emb := newKeywordEmbedder("kw", "churn", "forecast", "fraud")
	s := newTestService(t, db, emb)
	ctx := tenancy.WithTenant(context.Background(), "tenant-a")
	if err := s.Index(ctx, "p1", "Churn", "churn", registry.Spec{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Index(ctx, "p2", "Fraud", "fraud", registry.Spec{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Similar(ctx, "p1", 1); err != nil { // loads the cache
		t.Fatal(err)
	}

	firstWrote, secondWrote := make(chan struct{}), make(chan struct{})
	var writes atomic.Int32
	// An embedding write is an upsert (a Create) in the write's
	// transaction; the hold comes after it, before the commit.
	err := db.Callback().Create().After("gorm:create").Register("test:hold_first_write", func(tx *gorm.DB) {
		if tx.Statement.Table != TableName {
			return
		}
		switch writes.Add(1) {
		case 1:
			close(firstWrote)
			select {
			case <-secondWrote:
			case <-time.After(300 * time.Millisecond): // the second is (correctly) waiting for us
			}
		case 2:
			close(secondWrote)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(1)
	go func() { defer wg.Done(); errs <- s.Index(ctx, "p1", "Forecast", "forecast forecast", registry.Spec{}) }()
	<-firstWrote
	wg.Add(1)
	go func() { defer wg.Done(); errs <- s.Index(ctx, "p1", "Fraud too", "fraud fraud", registry.Spec{}) }()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	fresh := newTestService(t, db, emb) // reads the database
	for _, q := range []string{"fraud", "forecast"} {
		cached, err := s.SimilarText(ctx, q, 2)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := fresh.SimilarText(ctx, q, 2)
		if err != nil {
			t.Fatal(err)
		}
		for i := range stored {
			if cached[i] != stored[i] {
				t.Fatalf("query %q: the cache answers %+v, the database %+v", q, cached, stored)
			}
		}
	}
}
