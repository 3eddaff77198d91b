package minilm

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"
)

// Tolerances of agreement with the reference implementation, measured on
// testdata/golden.json (see TestMatchesReference's log).
const (
	minCosine  = 0.998
	meanCosine = 0.999
)

type goldenCase struct {
	Text      string    `json:"text"`
	Embedding []float32 `json:"embedding"`
}

func loadGolden(tb testing.TB) []goldenCase {
	tb.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		tb.Fatal(err)
	}
	var f struct {
		Model string       `json:"model"`
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatal(err)
	}
	if f.Model != ModelName || len(f.Cases) < 30 {
		tb.Fatalf("golden file: model %q, %d cases", f.Model, len(f.Cases))
	}
	return f.Cases
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// TestMatchesReference compares with embeddings of the reference
// implementation (tools/embedserver/server.py, float32 weights), made by
// tools/minilmconvert/golden.py.
func TestMatchesReference(t *testing.T) {
	t.Parallel()
	cases := loadGolden(t)
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(cases))
	for i, c := range cases {
		texts[i] = c.Text
	}
	got, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	lo, sum := 1.0, 0.0
	for i, c := range cases {
		cs := cosine(got[i], c.Embedding)
		sum += cs
		lo = min(lo, cs)
		if cs < minCosine {
			t.Errorf("text %d %.40q: cosine %.5f with the reference, want >= %.3f", i, c.Text, cs, minCosine)
		}
	}
	mean := sum / float64(len(cases))
	t.Logf("cosine with the reference over %d texts: min %.5f, mean %.5f", len(cases), lo, mean)
	if mean < meanCosine {
		t.Errorf("mean cosine %.5f, want >= %.3f", mean, meanCosine)
	}
	// One at a time gives the same vectors as the batch.
	one, err := e.Embed(context.Background(), texts[5:6])
	if err != nil {
		t.Fatal(err)
	}
	if cs := cosine(one[0], got[5]); cs < 0.99999 {
		t.Errorf("alone vs in a batch: cosine %.6f", cs)
	}
}
