package similarity_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/similarity/staticembed"
	"github.com/maestro-ml/maestro/tenancy"
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
	if reached < len(para)/2 || falsePos > len(unrelated)/20 {
		t.Errorf("threshold %.2f separates badly", th.Modified)
	}
}

// TestServiceWithStaticEmbedder runs the Service on the static embedder.
func TestServiceWithStaticEmbedder(t *testing.T) {
	t.Parallel()
	db := testenv.SQLite(t)
	ctx := context.Background()
	if err := similarity.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		t.Fatal(err)
	}
	e, err := staticembed.New()
	if err != nil {
		t.Fatal(err)
	}
	svc, err := similarity.NewService(db, e)
	if err != nil {
		t.Fatal(err)
	}
	ctx = tenancy.WithTenant(ctx, "t")
	for _, sp := range similarity.LoadLabelled(t) {
		if err := svc.Index(ctx, sp.ID, sp.Name, sp.Description, sp.Spec); err != nil {
			t.Fatal(err)
		}
	}
	got, err := svc.SimilarText(ctx, "predict which customers will cancel their subscription", 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		if !strings.HasPrefix(m.ProjectID, "churn-") {
			t.Errorf("SimilarText(churn paraphrase) = %+v", got)
			break
		}
	}
	// The reported similarity is the calibrated cosine: the same search
	// through an uncalibrated copy of the embedder (another model name)
	// reports raw cosines crowded near 0.85, this one their calibration.
	rawEmb, err := similarity.NewFuncEmbedder("static-uncalibrated", e.Dimensions(), e.Embed)
	if err != nil {
		t.Fatal(err)
	}
	rawDB := testenv.SQLite(t)
	if err := similarity.Migrate(context.Background(), rawDB); err != nil {
		t.Fatal(err)
	}
	if err := rawDB.Use(tenancy.NewPlugin()); err != nil {
		t.Fatal(err)
	}
	rawSvc, err := similarity.NewService(rawDB, rawEmb)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range similarity.LoadLabelled(t) {
		if err := rawSvc.Index(ctx, sp.ID, sp.Name, sp.Description, sp.Spec); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := rawSvc.SimilarText(ctx, "predict which customers will cancel their subscription", 3)
	if err != nil {
		t.Fatal(err)
	}
	c := similarity.CalibrationFor(e)
	for i := range got {
		want := c.Calibrate(raw[i].Similarity)
		if raw[i].ProjectID != got[i].ProjectID || math.Abs(got[i].Similarity-want) > 1e-6 || want >= raw[i].Similarity {
			t.Errorf("match %d: %+v, want %s with the calibrated %.4f of raw %.4f", i, got[i], raw[i].ProjectID, want, raw[i].Similarity)
		}
	}
}
