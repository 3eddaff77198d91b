package similarity_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/similarity/minilm"
	"github.com/maestro-ml/maestro/similarity/staticembed"
)

// qualityFiles are the labelled spec sets the built-in transformer is
// measured on (specs.json and the held-out set; add another set here).
var qualityFiles = []string{"testdata/specs.json", "testdata/heldout.json"}

func loadLabelledFile(tb testing.TB, path string) []similarity.LabelledSpec {
	tb.Helper()
	b, err := os.ReadFile(path) // #nosec G304 -- a test data path from qualityFiles
	if err != nil {
		tb.Fatal(err)
	}
	var f struct {
		Specs []similarity.LabelledSpec `json:"specs"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatal(err)
	}
	return f.Specs
}

// TestQualityMiniLM ranks the labelled specs with the built-in transformer
// (similarity/minilm), beside the static embedder and TF-IDF, and, when
// MAESTRO_TEST_EMBEDDINGS_URL names the reference server, the server:
//
//	go test ./similarity -run TestQualityMiniLM -v
func TestQualityMiniLM(t *testing.T) {
	t.Parallel()
	m, err := minilm.New()
	if err != nil {
		t.Fatal(err)
	}
	s, err := staticembed.New()
	if err != nil {
		t.Fatal(err)
	}
	embedders := []similarity.Embedder{m, s}
	if url := os.Getenv("MAESTRO_TEST_EMBEDDINGS_URL"); url != "" {
		n, err := similarity.NewOpenAIEmbedder(url, minilm.ModelName)
		if err != nil {
			t.Fatal(err)
		}
		embedders = append(embedders, n)
	}
	ctx := context.Background()
	for _, file := range qualityFiles {
		specs := loadLabelledFile(t, file)
		texts := similarity.LabelledTexts(specs)
		tp3, tmrr := similarity.RetrievalScores(specs, similarity.TFIDFVectors(texts))
		t.Logf("%s: %-34s precision@3 %.3f  MRR %.3f", file, "TF-IDF baseline", tp3, tmrr)
		var p3 []float64
		for i, e := range embedders {
			vecs, err := similarity.EmbedChunked(ctx, e, texts, similarity.DefaultMaxInputTokens)
			if err != nil {
				t.Fatal(err)
			}
			sp3, smrr := similarity.RetrievalScores(specs, vecs)
			name := []string{"minilm (built-in, int8)", "staticembed", "reference server"}[i]
			t.Logf("%s: %-34s precision@3 %.3f  MRR %.3f", file, name, sp3, smrr)
			p3 = append(p3, sp3)
		}
		if p3[0] < p3[1] {
			t.Errorf("%s: minilm precision@3 %.3f below staticembed's %.3f", file, p3[0], p3[1])
		}
		if len(p3) == 3 && p3[0] < p3[2]-0.02 {
			t.Errorf("%s: minilm precision@3 %.3f, reference server %.3f", file, p3[0], p3[2])
		}
	}
}

// TestOverlapCalibrationMiniLM checks that the built-in transformer,
// which reports the reference model's name, fits the default overlap
// thresholds calibrated on the reference server.
func TestOverlapCalibrationMiniLM(t *testing.T) {
	t.Parallel()
	e, err := minilm.New()
	if err != nil {
		t.Fatal(err)
	}
	para, unrelated := similarity.PairStats(t, e)
	similarity.LogPairStats(t, e.Model(), para, unrelated)
	th := similarity.DefaultOverlapThresholds()
	var reached, falsePos int
	for _, p := range para {
		if p >= th.Modified {
			reached++
		}
	}
	for _, u := range unrelated {
		if u >= th.Modified {
			falsePos++
		}
	}
	t.Logf("modified threshold %.2f: %d of %d paraphrases reach it, %d of %d unrelated pairs do",
		th.Modified, reached, len(para), falsePos, len(unrelated))
	if reached < len(para)/2 || falsePos > len(unrelated)/50 {
		t.Errorf("default threshold %.2f separates badly for %s", th.Modified, e.Model())
	}
}
