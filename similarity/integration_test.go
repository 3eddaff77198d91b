package similarity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// These tests run the client against the real neural model served by
// tools/embedserver (.ci/embedserver starts it).

func neuralEmbedder(t testing.TB, opts ...OpenAIOption) *OpenAIEmbedder {
	t.Helper()
	url, model := testenv.Embeddings(t)
	e, err := NewOpenAIEmbedder(url, model, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// neuralCache remembers the vectors the neural server computed for each
// text during this test binary's run: a CPU forward pass of a spec costs
// about 0.1 s on CI, and the quality and service tests embed the same specs.
type neuralCache struct {
	mu   sync.Mutex
	vecs map[string][]float32
}

var sharedNeuralCache = &neuralCache{vecs: map[string][]float32{}}

// cachedNeuralEmbedder wraps the server's embedder with sharedNeuralCache.
// Provider errors pass through unchanged.
func cachedNeuralEmbedder(t testing.TB) *FuncEmbedder {
	t.Helper()
	e := neuralEmbedder(t)
	c := sharedNeuralCache
	f, err := NewFuncEmbedder(e.Model(), 384, func(ctx context.Context, texts []string) ([][]float32, error) {
		c.mu.Lock()
		var missing []string
		for _, s := range texts {
			if _, ok := c.vecs[s]; !ok && !slices.Contains(missing, s) {
				missing = append(missing, s)
			}
		}
		c.mu.Unlock()
		if len(missing) > 0 {
			vecs, err := e.Embed(ctx, missing)
			if err != nil {
				return nil, err
			}
			c.mu.Lock()
			for i, s := range missing {
				c.vecs[s] = vecs[i]
			}
			c.mu.Unlock()
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		out := make([][]float32, len(texts))
		for i, s := range texts {
			out[i] = c.vecs[s]
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNeuralServerEmbeddings(t *testing.T) {
	t.Parallel()
	e := neuralEmbedder(t, WithBatchSize(2))
	ctx := context.Background()
	texts := []string{
		"The weather is lovely today.",
		"It's so sunny outside!",
		"He drove to the stadium.",
		"Predict which customers will cancel their subscription",
		"Forecast which clients are likely to churn",
	}
	v, err := e.Embed(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	if e.Dimensions() != 384 || len(v) != len(texts) {
		t.Fatalf("dimensions %d, %d vectors", e.Dimensions(), len(v))
	}
	for _, x := range v {
		assertUnit(t, x)
	}
	cos := func(i, j int) float64 { c, _ := Cosine(v[i], v[j]); return c }
	// sentence-transformers publishes 0.6660 and 0.1046 for the first pair.
	if c := cos(0, 1); c < 0.65 || c > 0.68 {
		t.Errorf("weather paraphrase cosine %.4f, want about 0.666", c)
	}
	if c := cos(0, 2); c > 0.2 {
		t.Errorf("unrelated cosine %.4f, want about 0.105", c)
	}
	if c := cos(3, 4); c < 0.5 {
		t.Errorf("churn paraphrase cosine %.4f", c)
	}
}

func TestNeuralServerErrors(t *testing.T) {
	t.Parallel()
	url, _ := testenv.Embeddings(t)
	e := neuralEmbedder(t)
	if _, err := e.Embed(context.Background(), []string{"ok", " "}); !errors.Is(err, ErrEmptyInput) {
		t.Errorf("blank input: %v", err)
	}
	unknown, err := NewOpenAIEmbedder(url, "no-such-model")
	if err != nil {
		t.Fatal(err)
	}
	_, err = unknown.Embed(context.Background(), []string{"x"})
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.StatusCode != 404 || pe.Code != "model_not_found" || pe.Attempts != 1 {
		t.Errorf("unknown model: %v", err)
	}
	_, err = e.Embed(context.Background(), []string{strings.Repeat("token ", 400)})
	if !errors.As(err, &pe) || pe.StatusCode != 400 || pe.Code != "context_length_exceeded" {
		t.Errorf("too long input: %v", err)
	}
}

func TestNeuralService(t *testing.T) {
	e := cachedNeuralEmbedder(t)
	db := migrated(t, testenv.SQLite)
	s := newTestService(t, db, e, WithChunkTokens(DefaultMaxInputTokens))
	ctx := tenancy.WithTenant(context.Background(), "t")
	specs := loadLabelled(t)
	for _, sp := range specs {
		if sp.Group != "churn" && sp.Group != "vision" {
			continue
		}
		if err := s.Index(ctx, sp.ID, sp.Name, sp.Description, sp.Spec); err != nil {
			t.Fatal(err)
		}
	}
	// A chunk budget above the model's window: the provider refuses the
	// long text and the Service retries with smaller chunks.
	wide := newTestService(t, db, neuralEmbedder(t), WithChunkTokens(600))
	long := strings.Repeat("Predict which subscribers will cancel their contract next month. ", 25)
	if err := wide.Index(ctx, "long", "Long churn spec", long, registry.Spec{}); err != nil {
		t.Fatalf("long text: %v", err)
	}
	if err := s.Invalidate(ctx); err != nil { // written through another Service
		t.Fatal(err)
	}
	got, err := s.Similar(ctx, "churn-telecom", 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		if !strings.HasPrefix(m.ProjectID, "churn-") && m.ProjectID != "long" {
			t.Errorf("Similar(churn-telecom) = %+v: a vision project in the top 3", got)
		}
	}
	got, err = s.SimilarText(ctx, "spot scratches on products with a camera", 1)
	if err != nil || len(got) != 1 || !strings.HasPrefix(got[0].ProjectID, "vision-") {
		t.Errorf("SimilarText(camera defects) = %+v, %v", got, err)
	}
	rep, err := s.Overlap(ctx, registry.Spec{
		UserStories: []string{"As a retention agent I see a ranked list of subscribers likely to port out their number",
			"As a retention agent I get a list of customers who will probably leave", "As a pilot I log flight hours"},
	}, "churn-telecom")
	if err != nil {
		t.Fatal(err)
	}
	items := rep.Sections[SectionUserStories].Items
	if items[0].Status != StatusReused || items[1].Status == StatusReused || items[2].Status != StatusNew {
		t.Errorf("neural overlap statuses %s %s %s (similarities %.2f %.2f %.2f)", items[0].Status, items[1].Status,
			items[2].Status, items[0].Similarity, items[1].Similarity, items[2].Similarity)
	}
	t.Logf("paraphrased story similarity %.3f (%s)", items[1].Similarity, items[1].Status)
}
