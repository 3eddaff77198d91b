package metalearn

import (
	"errors"
	"math"
	"testing"
)

func validFeatures() ProjectFeatures {
	return ProjectFeatures{ProblemClass: ClassNLP, Complexity: 5, TeamSize: 4}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		mod   func(p *ProjectFeatures)
		field string
	}{
		{"valid", func(*ProjectFeatures) {}, ""},
		{"unknown class", func(p *ProjectFeatures) { p.ProblemClass = "astrology" }, "problem_class"},
		{"complexity low", func(p *ProjectFeatures) { p.Complexity = 0 }, "complexity_score"},
		{"complexity NaN", func(p *ProjectFeatures) { p.Complexity = math.NaN() }, "complexity_score"},
		{"team zero", func(p *ProjectFeatures) { p.TeamSize = 0 }, "team_size"},
		{"team huge", func(p *ProjectFeatures) { p.TeamSize = MaxTeamSize + 1 }, "team_size"},
		{"impact above 100", func(p *ProjectFeatures) { p.Artifacts = []ArtifactUse{{ID: "a", Impact: 101}} }, "artifacts[0].impact"},
		{"impact Inf", func(p *ProjectFeatures) { p.Artifacts = []ArtifactUse{{ID: "a", Impact: math.Inf(-1)}} }, "artifacts[0].impact"},
		{"metric NaN", func(p *ProjectFeatures) { p.ProcessMetrics = map[string]float64{"x": math.NaN()} }, "process_metrics.x"},
		{"rate above 1", func(p *ProjectFeatures) { p.ProcessMetrics = map[string]float64{MetricPipelineSuccessRate: 1.5} }, "process_metrics.pipeline_success_rate"},
		{"negative commits", func(p *ProjectFeatures) { p.ProcessMetrics = map[string]float64{MetricCommitsPerWeek: -1} }, "process_metrics.commits_per_week"},
	}
	for _, c := range cases {
		p := validFeatures()
		c.mod(&p)
		err := p.Validate()
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want a ValidationError on %s", c.name, err, c.field)
		}
	}
	outcomes := []Outcome{{SuccessScore: -1, DeploymentDays: 1}, {SuccessScore: 50}, {SuccessScore: 50, DeploymentDays: 1, ComputeCost: -1}, {SuccessScore: math.NaN(), DeploymentDays: 1}}
	for _, o := range outcomes {
		if err := o.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("outcome %+v: %v", o, err)
		}
	}
	if err := (Outcome{SuccessScore: 50, DeploymentDays: 3}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestEncoder(t *testing.T) {
	t.Parallel()
	full := ProjectFeatures{
		ProblemClass: ClassForecasting, Complexity: 7, TeamSize: 3,
		Team:           []TeamMember{{Role: "ML_Engineer", Level: LevelSenior}, {Role: "ml_engineer ", Level: LevelJunior}, {Role: "analyst", Level: "unknown"}},
		Artifacts:      []ArtifactUse{{ID: "a", Type: "schema", Impact: 60}, {ID: "a", Type: "schema", Impact: 60}, {ID: "b", Type: "dataset", Impact: -1}, {Type: "notebook", Impact: 20}},
		ProcessMetrics: map[string]float64{MetricPipelineSuccessRate: 0.9, MetricCommitsPerWeek: 9, MetricCodeReviewHours: 3, MetricOpenDefects: 0, "ignored": 5},
	}
	r := rawNumerics(full)
	want := map[int]float64{
		numComplexity: 7, numTeamSize: 3, numSeniorShare: 1.0 / 3, numMeanExperience: (2 + 0 + 1) / 3.0,
		numRoleCount: 2, numArtifactCount: math.Log1p(3), numArtifactImpact: (60 + 60 + 20) / 3.0,
		numArtifactTypes: 3, numPipeline: 0.9, numCommits: math.Log1p(9), numReviewHours: math.Log1p(3), numOpenDefects: 0,
	}
	for j, w := range want {
		if math.Abs(r[j]-w) > 1e-12 {
			t.Errorf("%s = %v, want %v", numericNames[j], r[j], w)
		}
	}
	empty := rawNumerics(validFeatures())
	for _, j := range []int{numSeniorShare, numMeanExperience, numRoleCount, numArtifactImpact, numPipeline, numCommits, numReviewHours, numOpenDefects} {
		if !math.IsNaN(empty[j]) {
			t.Errorf("%s of a bare project = %v, want missing", numericNames[j], empty[j])
		}
	}
	enc := fitEncoder([][numNumeric]float64{r, empty})
	x := make([]float64, encodedDim)
	enc.encode(validFeatures(), x)
	if x[3] != 1 || x[0] != 0 { // nlp is the fourth class
		t.Errorf("one-hot %v", x[:numClasses])
	}
	for j := 0; j < numNumeric; j++ {
		if math.IsNaN(empty[j]) && x[numClasses+j] != 0 {
			t.Errorf("missing %s encodes as %v, want the training mean 0", numericNames[j], x[numClasses+j])
		}
	}
	if !enc.valid() {
		t.Fatal("encoder invalid")
	}
	if len(FeatureNames()) != numGroups || len(FeatureDescriptions()) != numGroups || len(ProblemClasses()) != numClasses {
		t.Fatal("feature metadata sizes")
	}
	c := full.Clone()
	c.Team[0].Role = "changed"
	c.ProcessMetrics["x"] = 1
	if full.Team[0].Role == "changed" || full.ProcessMetrics["x"] == 1 {
		t.Fatal("Clone shares memory")
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	if got := ranks([]float64{10, 20, 10, 30}); got[0] != 1.5 || got[2] != 1.5 || got[1] != 3 || got[3] != 4 {
		t.Errorf("ranks %v", got)
	}
	if s := spearman([]float64{1, 2, 3, 4}, []float64{10, 20, 30, 1000}); s != 1 {
		t.Errorf("spearman of a monotone relation %v", s)
	}
	if s := spearman([]float64{1, 2, 3}, []float64{5, 5, 5}); s != 0 {
		t.Errorf("spearman against a constant %v", s)
	}
	scores := []float64{5, 1, 4, 2, 3}
	if q := conformalQuantile(scores, 0.5); q != 3 {
		t.Errorf("quantile(0.5) = %v, want the 3rd smallest", q)
	}
	if q := conformalQuantile(scores, 5.0/6); q != 5 {
		t.Errorf("quantile(5/6) = %v, want the largest (ceil(6·5/6) = 5 <= n)", q)
	}
	// ceil((n+1)·0.99) = 6 > 5: five scores cannot support 99 %.
	if q := conformalQuantile(scores, 0.99); !math.IsInf(q, 1) {
		t.Errorf("quantile(0.99) of 5 scores = %v, want +Inf (unbounded)", q)
	}
	if !math.IsInf(conformalQuantile(nil, 0.8), 1) {
		t.Error("quantile of nothing")
	}
	f := foldsOf(10, 3, 1)
	count := map[int]int{}
	for _, v := range f {
		count[v]++
	}
	if count[0] != 4 || count[1] != 3 || count[2] != 3 {
		t.Errorf("fold sizes %v", count)
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	for _, tg := range Targets() {
		for _, v := range []float64{0.5, 3, 42, 99} {
			if got := tg.inverse(tg.forward(v)); math.Abs(got-v) > 1e-9 {
				t.Errorf("%s round trip %v -> %v", tg, v, got)
			}
		}
	}
	if Target(9).String() != "unknown" || TargetSuccess.inverse(120) != 100 || TargetComputeCost.inverse(-5) != 0 {
		t.Error("target edges")
	}
	m := trainedModel(t)
	if _, err := m.PredictTarget(Target(9), validFeatures(), 0); !errors.Is(err, ErrInvalid) {
		t.Error("unknown target accepted")
	}
	if _, err := m.PredictValue(Target(-1), validFeatures()); !errors.Is(err, ErrInvalid) {
		t.Error("unknown target accepted")
	}
	if m.Metrics(Target(5)).Model != "" || m.Importances(Target(5)) != nil {
		t.Error("unknown target metrics")
	}
	if _, err := m.Predict(ProjectFeatures{}); !errors.Is(err, ErrInvalid) {
		t.Error("invalid features predicted")
	}
}

func TestTrainErrors(t *testing.T) {
	t.Parallel()
	hist := synthHistory(25, 2)
	_, err := Train(t.Context(), hist[:5])
	var ih *InsufficientHistoryError
	if !errors.As(err, &ih) || ih.Have != 5 || ih.Need != DefaultMinHistory {
		t.Fatalf("short history: %v", err)
	}
	bad := append([]Record(nil), hist...)
	bad[3].Outcome.DeploymentDays = 0
	if _, err := Train(t.Context(), bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid outcome: %v", err)
	}
	bad = append([]Record(nil), hist...)
	bad[4].Features.TeamSize = 0
	if _, err := Train(t.Context(), bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid features: %v", err)
	}
	// Options out of range are ignored, not fatal.
	m, err := Train(t.Context(), hist, WithFolds(1), WithCoverage(1.5), WithMinHistory(-1), WithKinds("nonsense"),
		WithGPPoints(-1, -1), WithGPOptimizer(-1, -1), WithClock(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	met := m.Metrics(TargetSuccess)
	// 25 projects, below SmallHistorySize: a third of the history in folds.
	if m.Coverage() != DefaultCoverage || met.Folds != len(hist)/3 || len(met.Candidates) != 1 || met.Model != KindMean {
		t.Fatalf("defaults not kept: coverage %v, %+v", m.Coverage(), met)
	}
	if fc, _ := m.Predict(hist[0].Features); fc.Success.RelativeWidth == nil || math.Abs(*fc.Success.RelativeWidth-1) > 1e-9 {
		t.Fatalf("the mean model's relative width is %v, want 1 (its interval is the baseline's)", fc.Success.RelativeWidth)
	}
	if m.String() == "" || m.TrainedAt().IsZero() {
		t.Fatal("String/TrainedAt")
	}
}

// TestTrainDegenerate trains on identical projects with identical
// outcomes: nothing to learn, but nothing may fail or produce NaN.
func TestTrainDegenerate(t *testing.T) {
	t.Parallel()
	rec := Record{Features: validFeatures(), Outcome: Outcome{SuccessScore: 70, DeploymentDays: 30, ComputeCost: 0}}
	hist := make([]Record, 25)
	for i := range hist {
		hist[i] = rec
	}
	m, err := Train(t.Context(), hist, append(fastOptions(), WithFolds(3))...)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := m.Predict(validFeatures())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Prediction{fc.Success, fc.DeploymentDays, fc.ComputeCost} {
		lo, hi, ok := p.Interval()
		if !ok || p.RelativeWidth == nil {
			t.Fatalf("%s: unbounded interval on a constant history %+v", p.Target, p)
		}
		for _, v := range []float64{p.Value, lo, hi, *p.RelativeWidth} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s: non-finite output %+v", p.Target, p)
			}
		}
		// Identical outcomes leave zero residuals; the floor keeps the
		// interval from collapsing to a point.
		tg := map[string]Target{"success_score": TargetSuccess, "deployment_days": TargetDeploymentDays, "compute_cost": TargetComputeCost}[p.Target]
		// (The lower end may be clipped by the target's range: cost >= 0.)
		if w := tg.forward(hi) - tg.forward(p.Value); w < tg.minHalfWidth()*0.999 {
			t.Fatalf("%s: interval [%v, %v] narrower than the floor (model-space upper half-width %v < %v)", p.Target, lo, hi, w, tg.minHalfWidth())
		}
		if len(p.Notes) == 0 {
			t.Fatalf("%s: no note on the floored interval", p.Target)
		}
	}
	if met := m.Metrics(TargetSuccess); met.Reliability != ReliabilityLow || len(met.ReliabilityNotes) == 0 {
		t.Fatalf("constant history: reliability %q %v, want low", met.Reliability, met.ReliabilityNotes)
	}
	if math.Abs(fc.Success.Value-70) > 1e-6 || math.Abs(fc.DeploymentDays.Value-30) > 1e-6 {
		t.Fatalf("constant history predicted %v / %v", fc.Success.Value, fc.DeploymentDays.Value)
	}
	if _, err := DecodeModel(must[[]byte](t)(m.MarshalBinary())); err != nil {
		t.Fatal(err)
	}
}

func TestSmallHistoryFolds(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n, set, want int
	}{
		{n: 12, want: DefaultFolds},               // a third is 4: never fewer than the default
		{n: 30, want: SmallHistoryFolds},          // a third is 10
		{n: 24, want: 8},                          // a third
		{n: 99, want: SmallHistoryFolds},          // capped
		{n: SmallHistorySize, want: DefaultFolds}, // large enough
		{n: 30, set: 3, want: 3},                  // WithFolds wins
		{n: 500, set: 7, want: 7},
	} {
		cfg := newConfig(nil)
		if c.set > 0 {
			cfg = newConfig([]Option{WithFolds(c.set)})
		}
		if got := cfg.foldsFor(c.n); got != c.want {
			t.Errorf("foldsFor(%d) with WithFolds(%d) = %d, want %d", c.n, c.set, got, c.want)
		}
	}
}
