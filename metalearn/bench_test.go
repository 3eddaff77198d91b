package metalearn

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// exportDir, when set, makes TestExportEvaluation write the synthetic
// train/test data as CSV and the Go model's held-out metrics as JSON for
// bench/metalearn/compare.py:
//
//	go test ./metalearn -run TestExportEvaluation -metalearn.export=bench/metalearn/data
var exportDir = flag.String("metalearn.export", "", "directory to write the evaluation data and Go metrics to")

// Sizes of the evaluation: the benchmark's training size and a held-out set.
const (
	evalTrainSeed = 2026
	evalTestSeed  = 4052
	evalTestN     = 1000
)

var model2000 = sync.OnceValues(func() (*Model, error) {
	return Train(context.Background(), synthHistory(2000, evalTrainSeed))
})

// BenchmarkTrain2000 trains all three targets (CV over four kinds, the GP
// on a subset of data) on 2,000 projects with the default options. Run it
// with -benchtime=1x: one iteration takes seconds.
func BenchmarkTrain2000(b *testing.B) {
	hist := synthHistory(2000, evalTrainSeed)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Train(context.Background(), hist); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrain2000NoForward is BenchmarkTrain2000 without the
// forward-in-time validation (WithForwardValidation(false)).
func BenchmarkTrain2000NoForward(b *testing.B) {
	hist := synthHistory(2000, evalTrainSeed)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Train(context.Background(), hist, WithForwardValidation(false)); err != nil {
			b.Fatal(err)
		}
	}
}

func benchModel(b *testing.B) *Model {
	b.Helper()
	m, err := model2000()
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkPredict is one full prediction (three targets, intervals, five
// top factors each) with the model trained on 2,000 projects.
func BenchmarkPredict(b *testing.B) {
	m := benchModel(b)
	p := synthHistory(1, 5)[0].Features
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Predict(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictMissing is BenchmarkPredict for a project without a
// registered team or pipeline success rate: each target's interval
// marginalises them over the model's reference rows.
func BenchmarkPredictMissing(b *testing.B) {
	m := benchModel(b)
	p := synthHistory(1, 5)[0].Features
	p.Team = nil
	p.ProcessMetrics = nil
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Predict(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictValue is the success score alone, no interval or factors.
func BenchmarkPredictValue(b *testing.B) {
	m := benchModel(b)
	p := synthHistory(1, 5)[0].Features
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.PredictValue(TargetSuccess, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecommend is a full recommendation from a model: the forecast,
// the team-size sweep over the training range and artifact suggestions.
func BenchmarkRecommend(b *testing.B) {
	m := benchModel(b)
	p := synthHistory(1, 5)[0].Features
	b.ResetTimer()
	for b.Loop() {
		if _, err := Recommend(m, p, 0, DefaultMaxArtifacts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeModel decodes the 2,000-project model (it refactorizes the
// GP's kernel matrices).
func BenchmarkDecodeModel(b *testing.B) {
	data, err := benchModel(b).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := DecodeModel(data); err != nil {
			b.Fatal(err)
		}
	}
}

// evalResult is one target's held-out evaluation.
type evalResult struct {
	Target      string  `json:"target"`
	Model       string  `json:"model"`
	CVMAE       float64 `json:"cv_mae"`
	CVSpearman  float64 `json:"cv_spearman"`
	BaselineMAE float64 `json:"baseline_mae"`
	TestMAE     float64 `json:"test_mae"`
	TestBase    float64 `json:"test_baseline_mae"`
	TestSpear   float64 `json:"test_spearman"`
	TestCover   float64 `json:"test_coverage"`
	MeanWidth   float64 `json:"test_mean_interval_width"`
	// The training history's own forward-in-time validation.
	ForwardMAE      *float64 `json:"forward_mae"`
	ForwardBaseline *float64 `json:"forward_baseline_mae"`
	ForwardCoverage *float64 `json:"forward_coverage"`
	ForwardN        int      `json:"forward_n"`
	Reliability     string   `json:"reliability"`
}

// TestExportEvaluation writes the evaluation data and the Go model's
// held-out metrics (see exportDir). Without the flag it is skipped.
func TestExportEvaluation(t *testing.T) {
	if *exportDir == "" {
		t.Skip("set -metalearn.export=DIR to write the evaluation data")
	}
	if err := os.MkdirAll(*exportDir, 0o755); err != nil {
		t.Fatal(err)
	}
	train := synthHistory(2000, evalTrainSeed)
	test := synthHistory(evalTestN, evalTestSeed)
	writeCSV(t, filepath.Join(*exportDir, "train.csv"), train)
	writeCSV(t, filepath.Join(*exportDir, "test.csv"), test)
	report := map[string]any{}
	for _, n := range []int{500, 2000} {
		start := time.Now()
		m, err := Train(context.Background(), train[:n])
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		var results []evalResult
		for _, tg := range Targets() {
			res := evaluate(t, m, tg, train[:n], test)
			t.Logf("n=%d %+v", n, res)
			results = append(results, res)
		}
		imp := map[string]float64{}
		for _, fi := range m.Importances(TargetSuccess) {
			imp[fi.Feature] = fi.Share
		}
		report[strconv.Itoa(n)] = map[string]any{"train_seconds": elapsed.Seconds(), "coverage": m.Coverage(), "targets": results, "success_importances": imp}
	}
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*exportDir, "go_metrics.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func evaluate(t *testing.T, m *Model, tg Target, train, test []Record) evalResult {
	mean := 0.0
	for _, r := range train {
		mean += tg.forward(tg.value(r.Outcome))
	}
	base := tg.inverse(mean / float64(len(train)))
	var y, p, bl []float64
	covered, width := 0, 0.0
	for _, r := range test {
		pr, err := m.PredictTarget(tg, r.Features, 0)
		if err != nil {
			t.Fatal(err)
		}
		v := tg.value(r.Outcome)
		y, p, bl = append(y, v), append(p, pr.Value), append(bl, base)
		if pr.Contains(v) {
			covered++
		}
		if lo, hi, ok := pr.Interval(); ok {
			width += hi - lo
		} else {
			width = math.Inf(1)
		}
	}
	met := m.Metrics(tg)
	return evalResult{
		Target: tg.String(), Model: string(met.Model), CVMAE: met.CVMAE, CVSpearman: met.CVSpearman, BaselineMAE: met.BaselineMAE,
		TestMAE: maeOf(y, p), TestBase: maeOf(y, bl), TestSpear: spearman(y, p),
		TestCover: float64(covered) / float64(len(test)), MeanWidth: width / float64(len(test)),
		ForwardMAE: met.ForwardMAE, ForwardBaseline: met.ForwardBaselineMAE, ForwardCoverage: met.ForwardCoverage,
		ForwardN: met.ForwardN, Reliability: met.Reliability,
	}
}

// writeCSV writes records as the raw (unstandardized) feature-set-v1
// columns, empty for missing values, followed by the three targets.
func writeCSV(t *testing.T, path string, records []Record) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	header := []string{FeatureProblemClass}
	header = append(header, numericNames[:]...)
	header = append(header, "y_success_score", "y_deployment_days", "y_compute_cost")
	if err := w.Write(header); err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		row := []string{r.Features.ProblemClass}
		for _, v := range rawNumerics(r.Features) {
			if math.IsNaN(v) {
				row = append(row, "")
			} else {
				row = append(row, strconv.FormatFloat(v, 'g', -1, 64))
			}
		}
		for _, tg := range Targets() {
			row = append(row, strconv.FormatFloat(tg.value(r.Outcome), 'g', -1, 64))
		}
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
}
