package similarity_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/tenancy"
)

func ExampleIndexer() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "indexer-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "maestro.db")+"?_pragma=busy_timeout(5000)"),
		&gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	for _, migrate := range []func(context.Context, *gorm.DB) error{registry.Migrate, similarity.Migrate} {
		if err := migrate(ctx, db); err != nil {
			log.Fatal(err)
		}
	}
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		log.Fatal(err)
	}
	reg, err := registry.New(db)
	if err != nil {
		log.Fatal(err)
	}
	emb, _ := similarity.NewHashingEmbedder(0)
	svc, err := similarity.NewService(db, emb)
	if err != nil {
		log.Fatal(err)
	}
	ix, err := similarity.NewIndexer(reg, svc)
	if err != nil {
		log.Fatal(err)
	}

	// Project writes go through the Indexer: each records a pending row in
	// its own transaction and is indexed once committed.
	ctx = tenancy.WithTenant(ctx, "acme")
	var ids []string
	for _, p := range []struct{ name, desc string }{
		{"Store sales forecasting", "Forecast daily unit sales per store and product."},
		{"Card fraud screening", "Block fraudulent card payments in real time."},
		{"Energy demand forecasting", "Forecast hourly electricity demand per region."},
	} {
		pr, err := ix.CreateProject(ctx, registry.ProjectInput{Name: p.name, Description: p.desc,
			ProblemClass: registry.Forecasting, ComplexityScore: 5, TeamSize: 3})
		if err != nil {
			log.Fatal(err)
		}
		ids = append(ids, pr.ID)
	}
	pending, _ := ix.Pending(ctx, 10)
	fmt.Println("pending:", len(pending))

	// Queries first bring the tenant's pending projects up to date.
	similar, err := ix.Similar(ctx, ids[0], 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("most similar:", similar[0].Name)

	// The Indexer is a metalearn.SimilarFinder: recommendations list
	// similar projects with pending writes included.
	_ = metalearn.NewRecommender(metalearn.NewStore(db), metalearn.WithSimilarFinder(ix))
	found, err := ix.FindSimilar(ctx, metalearn.SimilarQuery{ProjectID: ids[1], Limit: 2})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("finder:", len(found), "projects")
	// Output:
	// pending: 0
	// most similar: Energy demand forecasting
	// finder: 2 projects
}
