// Command quickstart-similarity finds similar past projects with the
// built-in offline embedder: it indexes a tenant's projects (name,
// description and specification), searches by project, by free text and
// by a draft specification, and compares a new spec with an existing
// project to estimate what can be reused.
//
// The built-in embedder (feature hashing of words and word pairs) needs no
// model download; for neural embeddings point similarity.NewOpenAIEmbedder
// at any OpenAI-compatible /v1/embeddings server instead.
//
//	go run ./examples/quickstart-similarity
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/tenancy"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart-similarity:", err)
		os.Exit(1)
	}
}

// past are the tenant's existing projects.
var past = []struct {
	id, name, description string
	spec                  registry.Spec
}{
	{"p-sales", "Store sales forecasting", "Forecast daily unit sales per store and product.", registry.Spec{
		FunctionalRequirements: []string{"Forecast daily unit sales per store and product", "Account for promotions and public holidays"},
		DataModels:             []registry.DataModel{{Entity: "Sale", Fields: []string{"store_id", "product_id", "date", "units"}}},
	}},
	{"p-fraud", "Card fraud screening", "Block fraudulent card payments in real time.", registry.Spec{
		FunctionalRequirements: []string{"Score every card payment within 50 ms", "Explain each blocked payment to the analyst"},
		DataModels:             []registry.DataModel{{Entity: "Payment", Fields: []string{"card_id", "amount", "merchant", "time"}}},
	}},
	{"p-energy", "Energy demand forecasting", "Forecast hourly electricity demand per region.", registry.Spec{
		FunctionalRequirements: []string{"Forecast hourly demand per region for the next week", "Use weather forecasts as inputs"},
	}},
}

// run indexes, searches and writes the results to w.
func run(ctx context.Context, w io.Writer) error {
	dir, err := os.MkdirTemp("", "quickstart-similarity")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// 1. Storage: embeddings are tenant-owned rows, so the database gets
	// the tenancy plugin like every other Maestro table.
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "similarity.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return err
	}
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		return err
	}
	if err := similarity.Migrate(ctx, db); err != nil {
		return err
	}
	emb, err := similarity.NewHashingEmbedder(0) // 0: the default dimension
	if err != nil {
		return err
	}
	svc, err := similarity.NewService(db, emb)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "embedder:", emb.Model())

	// 2. Index the tenant's projects (a server does this whenever a
	// project is created or its spec changes).
	ctx = tenancy.WithTenant(ctx, "acme")
	for _, p := range past {
		if err := svc.Index(ctx, p.id, p.name, p.description, p.spec); err != nil {
			return err
		}
	}

	// 3. Search: projects like a given one (never itself), and projects
	// like a free-text idea.
	like, err := svc.Similar(ctx, "p-sales", 2)
	if err != nil {
		return err
	}
	for _, m := range like {
		fmt.Fprintf(w, "like %q: %s (%.2f)\n", "p-sales", m.Name, m.Similarity)
	}
	idea, err := svc.SimilarText(ctx, "detect suspicious credit card transactions", 1)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "closest to the fraud idea: %s\n", idea[0].Name)

	// 4. Overlap: how much of a new spec the sales project already covers,
	// item by item, with a reuse strategy and an effort estimate.
	draft := registry.Spec{FunctionalRequirements: []string{
		"Forecast daily unit sales per store and product",
		"Email the forecasts to suppliers every morning",
	}}
	report, err := svc.Overlap(ctx, draft, "p-sales")
	if err != nil {
		return err
	}
	for _, it := range report.Sections[similarity.SectionFunctionalRequirements].Items {
		fmt.Fprintf(w, "%-8s %s\n", it.Status+":", it.Text)
	}
	fmt.Fprintf(w, "overall overlap %.2f, strategy %s, about %.0f hours\n",
		report.Overall, report.ReuseStrategy, report.EstimatedEffortHours)

	// 5. Another tenant searches only its own (empty) index.
	other, err := svc.SimilarText(tenancy.WithTenant(context.Background(), "globex"), "forecast sales", 3)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "matches for tenant globex:", len(other))
	return nil
}
