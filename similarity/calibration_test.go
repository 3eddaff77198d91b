package similarity

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// pairStats embeds testdata/paraphrases.json and returns the cosine
// similarities of the paraphrase pairs and of items of different pairs.
func pairStats(t testing.TB, emb Embedder) (para, unrelated []float64) {
	t.Helper()
	b, err := os.ReadFile("testdata/paraphrases.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Pairs [][2]string `json:"pairs"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, p := range f.Pairs {
		texts = append(texts, p[0], p[1])
	}
	v, err := EmbedChunked(context.Background(), emb, texts, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(texts); i += 2 {
		c, _ := Cosine(v[i], v[i+1])
		para = append(para, c)
		for j := 0; j < len(texts); j++ {
			if j/2 != i/2 {
				c, _ := Cosine(v[i], v[j])
				unrelated = append(unrelated, c)
			}
		}
	}
	return para, unrelated
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func logPairStats(t testing.TB, name string, para, unrelated []float64) {
	t.Helper()
	t.Logf("%-36s paraphrases mean %.3f min %.3f | unrelated mean %.3f max %.3f",
		name, mean(para), slices.Min(para), mean(unrelated), slices.Max(unrelated))
}

// TestOverlapCalibrationHashing shows why the default item thresholds do
// not suit the lexical embedder: its paraphrase similarities are low.
func TestOverlapCalibrationHashing(t *testing.T) {
	t.Parallel()
	h, _ := NewHashingEmbedder(0)
	para, unrelated := pairStats(t, h)
	logPairStats(t, h.Model(), para, unrelated)
	if mean(para) <= slices.Max(unrelated) {
		t.Logf("paraphrases and unrelated items overlap for the lexical embedder")
	}
	if mean(para) <= mean(unrelated) {
		t.Errorf("paraphrases (%.3f) not above unrelated items (%.3f)", mean(para), mean(unrelated))
	}
}

// TestOverlapCalibrationNeural checks the default thresholds against the
// neural model: paraphrases mostly reach "modified", unrelated items
// never do.
func TestOverlapCalibrationNeural(t *testing.T) {
	t.Parallel()
	e := cachedNeuralEmbedder(t)
	para, unrelated := pairStats(t, e)
	logPairStats(t, e.Model(), para, unrelated)
	th := DefaultOverlapThresholds()
	if mean(para) < th.Modified {
		t.Errorf("mean paraphrase similarity %.3f below the modified threshold %.2f", mean(para), th.Modified)
	}
	if slices.Max(unrelated) >= th.Modified {
		t.Errorf("an unrelated pair reaches %.3f, at or above the modified threshold %.2f", slices.Max(unrelated), th.Modified)
	}
}
