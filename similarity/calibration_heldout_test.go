package similarity_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/similarity/staticembed"
)

// pairCosines returns the raw cosine similarities of every pair of specs:
// same-group pairs and unrelated pairs (different groups, or a spec
// without a group).
func pairCosines(specs []similarity.LabelledSpec, vecs [][]float32) (same, unrelated []float64) {
	for i := range specs {
		for j := i + 1; j < len(specs); j++ {
			c, _ := similarity.Cosine(vecs[i], vecs[j])
			if specs[i].Group != "" && specs[i].Group == specs[j].Group {
				same = append(same, c)
			} else {
				unrelated = append(unrelated, c)
			}
		}
	}
	return same, unrelated
}

// sortedQuantile is the p-quantile of xs (copied and sorted).
func sortedQuantile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return quantile(s, p)
}

// calibrationCheck is what the calibrated scores of one embedder must
// show on the held-out set: the same-problem median above the unrelated
// median by at least margin, and the unrelated 90th percentile at most p90.
type calibrationCheck struct {
	margin, p90 float64
}

// calibrationChecks holds the stated bounds per model (docs/similarity.md
// has the measured values they leave room around).
func calibrationChecks() map[string]calibrationCheck {
	return map[string]calibrationCheck{
		"all-MiniLM-L6-v2":                   {margin: 0.5, p90: 0.5},
		"maestro-static-minilm-l6-v2-256-v1": {margin: 0.35, p90: 0.6},
		"maestro-hashing-v1-2048":            {margin: 0.35, p90: 0.9},
	}
}

// fitMedians returns the medians of unrelated and same-group pair cosines
// of specs, rounded to three decimals as shipped.
func fitMedians(specs []similarity.LabelledSpec, vecs [][]float32) (unrelated, same float64) {
	s, u := pairCosines(specs, vecs)
	r := func(x float64) float64 { return math.Round(x*1000) / 1000 }
	return r(sortedQuantile(u, 0.5)), r(sortedQuantile(s, 0.5))
}

// checkFit checks that the shipped calibration of e is the fit on
// testdata/specs.json.
func checkFit(t *testing.T, e similarity.Embedder, chunk int) {
	t.Helper()
	specs := similarity.LoadLabelled(t)
	u, s := fitMedians(specs, embedWith(e, chunk)(t, similarity.LabelledTexts(specs)))
	t.Logf("%s on specs.json: unrelated median %.3f, same-problem median %.3f", e.Model(), u, s)
	got, ok := similarity.ShippedCalibrations()[e.Model()]
	if !ok || math.Abs(got[0]-u) > 0.0015 || math.Abs(got[1]-s) > 0.0015 {
		t.Errorf("shipped calibration of %s = %v, the fit on specs.json gives [%.3f %.3f]", e.Model(), got, u, s)
	}
}

// checkHeldoutCalibration checks the calibrated scores of e on the
// held-out set against calibrationChecks.
func checkHeldoutCalibration(t *testing.T, e similarity.Embedder, chunk int) {
	t.Helper()
	specs := similarity.LoadHeldout(t)
	same, unrel := pairCosines(specs, embedWith(e, chunk)(t, similarity.LabelledTexts(specs)))
	c := similarity.CalibrationFor(e)
	cal := func(xs []float64) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = c.Calibrate(x)
		}
		return out
	}
	cs, cu := cal(same), cal(unrel)
	sm, um, u90 := sortedQuantile(cs, 0.5), sortedQuantile(cu, 0.5), sortedQuantile(cu, 0.9)
	t.Logf("%s on heldout.json: raw same median %.3f, unrelated median %.3f | calibrated same median %.3f, unrelated median %.3f, unrelated p90 %.3f",
		e.Model(), sortedQuantile(same, 0.5), sortedQuantile(unrel, 0.5), sm, um, u90)
	want := calibrationChecks()[e.Model()]
	if sm-um < want.margin || u90 > want.p90 {
		t.Errorf("%s: calibrated same median %.3f, unrelated median %.3f (margin %.3f, want >= %.2f), unrelated p90 %.3f (want <= %.2f)",
			e.Model(), sm, um, sm-um, want.margin, u90, want.p90)
	}
}

// TestCalibrationBuiltin fits and checks the calibration of the built-in
// embedders: shipped maps are the specs.json fit, and on the held-out set
// they put unrelated and same-problem pairs apart on the common scale.
func TestCalibrationBuiltin(t *testing.T) {
	t.Parallel()
	h, err := similarity.NewHashingEmbedder(0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := staticembed.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []similarity.Embedder{h, st} {
		checkFit(t, e, 0)
		checkHeldoutCalibration(t, e, 0)
	}
}

// TestCalibrationNeural is TestCalibrationBuiltin for the neural server's
// model.
func TestCalibrationNeural(t *testing.T) {
	e := similarity.CachedNeuralEmbedder(t)
	checkFit(t, e, similarity.DefaultMaxInputTokens)
	checkHeldoutCalibration(t, e, similarity.DefaultMaxInputTokens)
}

// TestCalibrationKeepsRanking checks that calibration never reorders
// results: over every held-out query, the static embedder's candidates
// sorted by raw cosine have strictly decreasing calibrated scores where
// the raw cosines strictly decrease.
func TestCalibrationKeepsRanking(t *testing.T) {
	t.Parallel()
	st, err := staticembed.New()
	if err != nil {
		t.Fatal(err)
	}
	specs := similarity.LoadHeldout(t)
	vecs := embedWith(st, 0)(t, similarity.LabelledTexts(specs))
	c := similarity.CalibrationFor(st)
	for i := range vecs {
		raw := make([]float64, 0, len(vecs)-1)
		for j := range vecs {
			if j != i {
				x, _ := similarity.Cosine(vecs[i], vecs[j])
				raw = append(raw, x)
			}
		}
		slices.Sort(raw)
		for k := 1; k < len(raw); k++ {
			a, b := c.Calibrate(raw[k-1]), c.Calibrate(raw[k])
			if raw[k] > raw[k-1] && b <= a {
				t.Fatalf("query %s: raw %.6f < %.6f but calibrated %.6f >= %.6f", specs[i].ID, raw[k-1], raw[k], a, b)
			}
		}
	}
}

func TestPiecewiseLinear(t *testing.T) {
	t.Parallel()
	p, err := similarity.NewPiecewiseLinear([]float64{-1, 0.3, 0.5, 1}, []float64{0, 0.2, 0.8, 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ in, want float64 }{
		{-2, 0}, {-1, 0}, {0.3, 0.2}, {0.4, 0.5}, {0.5, 0.8}, {0.75, 0.9}, {1, 1}, {3, 1},
	} {
		if got := p.Calibrate(c.in); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Calibrate(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	for _, bad := range [][2][]float64{
		{{0}, {0}},
		{{0, 1}, {0}},
		{{0, 0}, {0, 1}},
		{{0, 1}, {1, 0}},
		{{0, math.NaN()}, {0, 1}},
		{{0, 1}, {0, math.Inf(1)}},
	} {
		if _, err := similarity.NewPiecewiseLinear(bad[0], bad[1]); !errors.Is(err, similarity.ErrInvalid) {
			t.Errorf("NewPiecewiseLinear(%v, %v) = %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
	// An embedder without a shipped map or a Calibrate method reports raw
	// cosines.
	f, err := similarity.NewFuncEmbedder("custom", 2, func(context.Context, []string) ([][]float32, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := similarity.CalibrationFor(f).Calibrate(0.37); got != 0.37 {
		t.Errorf("identity fallback: Calibrate(0.37) = %v", got)
	}
	// A Calibrator embedder's own map wins.
	if got := similarity.CalibrationFor(calibratedEmbedder{f}).Calibrate(0.37); got != 0.5 {
		t.Errorf("own Calibrate: %v, want 0.5", got)
	}
}

type calibratedEmbedder struct{ *similarity.FuncEmbedder }

func (calibratedEmbedder) Calibrate(float64) float64 { return 0.5 }
