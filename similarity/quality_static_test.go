package similarity_test

import (
	"context"
	"testing"

	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/similarity/staticembed"
)

// TestQualityStaticVersusTFIDF measures the distilled static embedder
// (similarity/staticembed) on the labelled specs.
func TestQualityStaticVersusTFIDF(t *testing.T) {
	t.Parallel()
	specs := similarity.LoadLabelled(t)
	texts := similarity.LabelledTexts(specs)
	p3, mrr := similarity.RetrievalScores(specs, similarity.TFIDFVectors(texts))
	t.Logf("%-28s precision@3 %.3f  MRR %.3f", "TF-IDF baseline", p3, mrr)
	e, err := staticembed.New()
	if err != nil {
		t.Fatal(err)
	}
	vecs, err := similarity.EmbedChunked(context.Background(), e, texts, 0)
	if err != nil {
		t.Fatal(err)
	}
	sp3, smrr := similarity.RetrievalScores(specs, vecs)
	t.Logf("%-28s precision@3 %.3f  MRR %.3f", e.Model(), sp3, smrr)
	if sp3 < p3+0.1 || smrr < mrr+0.05 {
		t.Errorf("static embedder (P@3 %.3f, MRR %.3f) does not clearly beat TF-IDF (P@3 %.3f, MRR %.3f)", sp3, smrr, p3, mrr)
	}
}

// TestOverlapCalibrationStatic shows the similarity scale of the static
// embedder on reworded spec items, which its OverlapThresholds follow.
func TestOverlapCalibrationStatic(t *testing.T) {
	t.Parallel()
	e, err := staticembed.New()
	if err != nil {
		t.Fatal(err)
	}
	para, unrelated := similarity.PairStats(t, e)
	similarity.LogPairStats(t, e.Model(), para, unrelated)
	th := e.OverlapThresholds()
	var reached, false_ int
	for _, p := range para {
		if p >= th.Modified {
			reached++
		}
	}
	for _, u := range unrelated {
		if u >= th.Modified {
			false_++
		}
	}
	t.Logf("modified threshold %.2f: %d of %d paraphrases reach it, %d of %d unrelated pairs do",
		th.Modified, reached, len(para), false_, len(unrelated))
	if reached < len(para)/2 || false_ > len(unrelated)/20 {
		t.Errorf("threshold %.2f separates badly", th.Modified)
	}
}
