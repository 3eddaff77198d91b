package similarity_test

import (
	"context"
	"fmt"
	"log"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/tenancy"
)

func ExampleComposeText() {
	text := similarity.ComposeText("Churn radar", "Predict which subscribers leave.", registry.Spec{
		UserStories:  []string{"As a retention agent I call at-risk subscribers first"},
		DataModels:   []registry.DataModel{{Entity: "Subscriber", Fields: []string{"id", "plan", "tenure"}}},
		APIEndpoints: []registry.APIEndpoint{{Method: "GET", Path: "/subscribers/{id}/risk", Purpose: "churn risk"}},
	})
	fmt.Println(text)
	// Output:
	// Project: Churn radar
	// Description: Predict which subscribers leave.
	// User stories:
	// - As a retention agent I call at-risk subscribers first
	// Data models:
	// - Subscriber: id, plan, tenure
	// Endpoints:
	// - GET /subscribers/{id}/risk: churn risk
}

func ExampleNewHashingEmbedder() {
	emb, err := similarity.NewHashingEmbedder(0)
	if err != nil {
		log.Fatal(err)
	}
	v, err := emb.Embed(context.Background(), []string{
		"forecast daily demand of grocery stores",
		"Forecasting grocery store demand per day",
		"detect fraudulent card payments",
	})
	if err != nil {
		log.Fatal(err)
	}
	same, _ := similarity.Cosine(v[0], v[1])
	other, _ := similarity.Cosine(v[0], v[2])
	fmt.Println(emb.Model(), len(v[0]))
	fmt.Println("paraphrase closer than unrelated:", same > other)
	// Output:
	// maestro-hashing-v1-2048 2048
	// paraphrase closer than unrelated: true
}

func ExampleNewOpenAIEmbedder() {
	// Any OpenAI-compatible server: OpenAI itself, Ollama, TEI, LocalAI,
	// or tools/embedserver (all-MiniLM-L6-v2) started by .ci/embedserver.
	emb, err := similarity.NewOpenAIEmbedder("http://127.0.0.1:8088/v1", "all-MiniLM-L6-v2",
		similarity.WithDimensions(384),
		similarity.WithMaxInputTokens(256),
		similarity.WithBatchSize(64),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(emb.Model(), emb.Dimensions(), emb.MaxInputTokens())
	// Output: all-MiniLM-L6-v2 384 256
}

func ExampleService() {
	ctx := context.Background()
	db, err := gorm.Open(sqlite.Open("file:similarity-example?mode=memory&cache=shared"),
		&gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	// A real host also installs the tenancy plugin: db.Use(tenancy.NewPlugin()).
	if err := similarity.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}
	emb, _ := similarity.NewHashingEmbedder(0)
	svc, err := similarity.NewService(db, emb)
	if err != nil {
		log.Fatal(err)
	}
	ctx = tenancy.WithTenant(ctx, "acme")
	projects := []struct{ id, name, desc string }{
		{"p1", "Store sales forecasting", "Forecast daily unit sales per store and product."},
		{"p2", "Card fraud screening", "Block fraudulent card payments in real time."},
		{"p3", "Energy demand forecasting", "Forecast hourly electricity demand per region."},
	}
	spec := registry.Spec{FunctionalRequirements: []string{
		"Forecast daily unit sales per store and product",
		"Account for promotions and holidays",
	}}
	for _, p := range projects {
		if err := svc.Index(ctx, p.id, p.name, p.desc, spec); err != nil {
			log.Fatal(err)
		}
	}
	similar, err := svc.Similar(ctx, "p1", 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(similar[0].ProjectID, similar[0].Name)

	// One requirement the project has, one it lacks.
	report, err := svc.Overlap(ctx, registry.Spec{FunctionalRequirements: []string{
		"Forecast daily unit sales per store and product",
		"Email suppliers when stock runs low",
	}}, "p1")
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range report.Sections[similarity.SectionFunctionalRequirements].Items {
		fmt.Printf("%s: %s\n", it.Status, it.Text)
	}
	fmt.Printf("overall %.2f, %s, %.1f hours\n", report.Overall, report.ReuseStrategy, report.EstimatedEffortHours)
	// Output:
	// p3 Energy demand forecasting
	// reused: Forecast daily unit sales per store and product
	// new: Email suppliers when stock runs low
	// overall 0.50, clone_with_changes, 13.2 hours
}
