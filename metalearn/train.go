package metalearn

import (
	"context"
	"fmt"
	"math"
	"sort"
)

// Metrics summarises the cross-validated quality of one target's model.
// Errors are in the target's own units (score points, days, cost units).
type Metrics struct {
	// Model is the kind selected by cross-validation.
	Model ModelKind `json:"model"`
	// CVMAE is the selected model's mean absolute error on held-out folds.
	CVMAE float64 `json:"cv_mae"`
	// CVSpearman is the Spearman rank correlation between held-out
	// predictions and outcomes.
	CVSpearman float64 `json:"cv_spearman"`
	// BaselineMAE is the held-out MAE of predicting the training mean (in
	// model space, so for days and cost the geometric mean).
	BaselineMAE float64 `json:"baseline_mae"`
	// Folds is the number of cross-validation folds.
	Folds int `json:"folds"`
	// Candidates holds every evaluated kind with its scores.
	Candidates []CandidateMetrics `json:"candidates"`
	// CVMAEStdErr is the standard error of CVMAE: the standard deviation
	// of the held-out absolute errors over √n. On a small history it is
	// large, and CVMAE ± 2·CVMAEStdErr is the range the error of the
	// procedure plausibly lies in. Zero for models trained before it was
	// measured (format version 2).
	CVMAEStdErr float64 `json:"cv_mae_std_err"`
	// GainOverBaseline is BaselineMAE − CVMAE, and GainStdErr the standard
	// error of that paired difference (per-project differences of
	// absolute errors). A gain below 2 standard errors means the history
	// does not show that the model predicts better than the tenant's
	// average, and Reliability is then "low".
	GainOverBaseline float64 `json:"gain_over_baseline"`
	GainStdErr       float64 `json:"gain_std_err"`
	// SelectionMargin is the CV MAE of the runner-up kind minus that of
	// the selected one, and SelectionStdErr its paired standard error: a
	// margin within about one standard error means another kind would
	// have done as well and the choice of kind is not informative.
	SelectionMargin float64 `json:"selection_margin"`
	SelectionStdErr float64 `json:"selection_std_err"`
	// ForwardMAE is the MAE on the latest 20 % of the history (ordered by
	// CompletedAt) of a model trained, selected and calibrated on the
	// earliest 80 % alone: how the procedure does on projects that came
	// after its training data. Nil when the history is too short to split.
	ForwardMAE *float64 `json:"forward_mae"`
	// ForwardCoverage is the share of those latest projects whose outcome
	// fell inside that model's interval (nominal: the model's coverage).
	ForwardCoverage *float64 `json:"forward_coverage"`
	// ForwardBaselineMAE is the MAE on the same projects of predicting the
	// earliest 80 %'s mean (in model space).
	ForwardBaselineMAE *float64 `json:"forward_baseline_mae"`
	// ForwardN is the number of projects in the forward set.
	ForwardN int `json:"forward_n"`
	// Reliability is "low" when the history is too small (fewer than
	// MinReliableHistory projects or a forward set of fewer than
	// MinReliableForward), too uniform (outcomes nearly constant), or the
	// model did no better than the average on the forward set; otherwise
	// "ok". ReliabilityNotes give the reasons.
	Reliability      string   `json:"reliability"`
	ReliabilityNotes []string `json:"reliability_notes"`
	// Trend is the drift of the outcomes over the history that the model's
	// inputs do not explain, when the history shows one; nil otherwise.
	Trend *Trend `json:"trend"`
}

// Trend is a linear drift over time in a target's cross-validated
// residuals: the outcomes moved by PerProject (on the target's model
// scale: score points for the success score, natural-log units for days
// and cost) with each project completed, in the order of CompletedAt,
// beyond what the inputs explain. Training keeps one only when its slope
// is at least TrendMinTStat standard errors from zero on a history of at
// least TrendMinHistory projects; the model's predictions are then moved
// by Shift to the level of the latest project and its intervals are
// calibrated on the residuals without the trend. It is an association
// with time (prices, tooling, a change of process), not a cause, and it
// assumes that the level of the latest projects holds for the next ones.
type Trend struct {
	PerProject float64 `json:"per_project"`
	Shift      float64 `json:"shift"`
	TStat      float64 `json:"t_stat"`
}

// Trend detection thresholds (see Trend).
const (
	TrendMinHistory = 40
	TrendMinTStat   = 3.0
)

// Reliability thresholds of Metrics.
const (
	// MinReliableHistory is the smallest history whose metrics are not
	// marked low-reliability.
	MinReliableHistory = 30
	// MinReliableForward is the smallest forward set that is not marked
	// low-reliability.
	MinReliableForward = 10
	// ForwardShare is the share of the history, the latest by CompletedAt,
	// held out for forward-in-time validation.
	ForwardShare = 0.2
)

// Reliability values.
const (
	ReliabilityOK  = "ok"
	ReliabilityLow = "low"
)

// CandidateMetrics are the cross-validation scores of one model kind.
type CandidateMetrics struct {
	Model      ModelKind `json:"model"`
	CVMAE      float64   `json:"cv_mae"`
	CVSpearman float64   `json:"cv_spearman"`
}

// FeatureImportance is the permutation importance of one feature: how much
// the held-out MAE grows when the feature's columns are shuffled across the
// held-out rows of each fold (averaged over folds), and that increase's
// share of the sum over all features (negative increases count as 0).
type FeatureImportance struct {
	Feature     string  `json:"feature"`
	MAEIncrease float64 `json:"mae_increase"`
	Share       float64 `json:"share"`
}

// fittedTarget is a regressor with the affine standardization of its
// training targets, predicting in model space (after Target.forward).
type fittedTarget struct {
	reg   regressor
	mean  float64
	scale float64
}

func (f fittedTarget) predict(x []float64) (mu, sigma float64) {
	m, s := f.reg.predict(x)
	return m*f.scale + f.mean, s * f.scale
}

func (f fittedTarget) predictMean(x []float64) float64 {
	return f.reg.predictMean(x)*f.scale + f.mean
}

// groupMeans returns, for each feature group, the mean prediction (model
// space) at x with that group's columns replaced by ref's.
func (f fittedTarget) groupMeans(x, ref []float64) [numGroups]float64 {
	var out [numGroups]float64
	if g, ok := f.reg.(*gpModel); ok {
		out = g.groupMeans(x, ref)
	} else {
		row := make([]float64, encodedDim)
		for gi := 0; gi < numGroups; gi++ {
			copy(row, x)
			lo, hi := groupColumns(gi)
			copy(row[lo:hi], ref[lo:hi])
			out[gi] = f.reg.predictMean(row)
		}
	}
	for gi := range out {
		out[gi] = out[gi]*f.scale + f.mean
	}
	return out
}

// substitutedMeans returns the mean predictions (model space) at x with
// columns cols replaced by each row's.
func (f fittedTarget) substitutedMeans(x []float64, cols []int, rows [][]float64) []float64 {
	var out []float64
	if g, ok := f.reg.(*gpModel); ok {
		out = g.substitutedMeans(x, cols, rows)
	} else {
		out = make([]float64, len(rows))
		buf := make([]float64, encodedDim)
		for r, sr := range rows {
			copy(buf, x)
			for _, c := range cols {
				buf[c] = sr[c]
			}
			out[r] = f.reg.predictMean(buf)
		}
	}
	for r := range out {
		out[r] = out[r]*f.scale + f.mean
	}
	return out
}

func fitTarget(ctx context.Context, k ModelKind, x [][]float64, y []float64, cfg fitConfig) (fittedTarget, error) {
	m, s := meanOf(y), stdOf(y)
	if !(s > 1e-12) {
		s = 1
	}
	ys := make([]float64, len(y))
	for i, v := range y {
		ys[i] = (v - m) / s
	}
	reg, err := fitRegressor(ctx, k, x, ys, cfg)
	if err != nil {
		return fittedTarget{}, err
	}
	return fittedTarget{reg: reg, mean: m, scale: s}, nil
}

// targetModel is everything a Model holds for one target.
type targetModel struct {
	target Target
	fit    fittedTarget
	q      float64 // conformal quantile of normalised held-out residuals
	// scores are (a quantile summary of at most maxStoredScores of) the
	// normalised held-out residuals, ascending: the calibration of
	// predictions whose missing inputs are marginalised. Nil for models
	// of format version 2.
	scores []float64
	// masked are the calibrated mixture masses of the patterns of
	// marginalised inputs training measured (masked.go), by ascending
	// mask. Nil for models of format versions 2–4.
	masked      []maskedLevel
	sigmaRef    float64 // the final model's mean σ over the reference inputs
	baseHalf    float64 // the mean baseline's interval half-width (model space)
	metrics     Metrics
	importances []FeatureImportance
}

// maskedLevelOf returns the calibrated mixture mass of a pattern of
// marginalised inputs, when training measured it.
func (tm *targetModel) maskedLevelOf(mask uint16) (float64, bool) {
	for _, ml := range tm.masked {
		if ml.mask == mask {
			return ml.level, true
		}
	}
	return 0, false
}

// Train fits one model per target on a tenant's completed projects and
// returns it. For each target it evaluates the candidate kinds by k-fold
// cross-validation, selects the one with the lowest held-out MAE, refits it
// on all records, calibrates prediction intervals by cross-conformal
// prediction on the held-out residuals, and measures permutation
// importances on the held-out folds. Records must be valid; fewer than the
// minimum history yields an *InsufficientHistoryError. Train is
// deterministic: the same records and options give the same model, except
// for TrainedAt (see WithClock).
func Train(ctx context.Context, records []Record, opts ...Option) (*Model, error) {
	cfg := newConfig(opts)
	need := max(cfg.minHistory, cfg.folds+1)
	if len(records) < need {
		return nil, &InsufficientHistoryError{Have: len(records), Need: need}
	}
	for i, r := range records {
		if err := r.Features.Validate(); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		if err := r.Outcome.Validate(); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
	}
	records = byCompletion(records)
	if cfg.forward {
		cfg.progressSpan = 0.5 // the forward pass trains a second time
	}
	m, err := train(ctx, records, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.forward {
		if err := m.forwardValidate(ctx, records, cfg); err != nil {
			return nil, err
		}
	}
	m.assessReliability(records)
	return m, nil
}

// byCompletion returns the records ordered by CompletedAt, oldest first
// (records without one first, in their given order): the order that
// forward-in-time validation splits.
func byCompletion(records []Record) []Record {
	out := append([]Record(nil), records...)
	sort.SliceStable(out, func(a, b int) bool { return out[a].CompletedAt.Before(out[b].CompletedAt) })
	return out
}

// train fits the model on records (validated, ordered by completion)
// without forward validation.
func train(ctx context.Context, records []Record, cfg config) (*Model, error) {
	n := len(records)
	cfg.folds = cfg.foldsFor(n)
	folds := foldsOf(n, cfg.folds, cfg.seed)
	enc, x, foldX, foldEnc := encodeForCV(records, folds, cfg.folds)
	m := &Model{
		formatVersion:     FormatVersion,
		featureSetVersion: FeatureSetVersion,
		trainedAt:         cfg.now().UTC(),
		nProjects:         n,
		seed:              cfg.seed,
		coverage:          cfg.coverage,
		enc:               enc,
		classMean:         classMeans(x),
		maxTeamSize:       maxTeamSize(records),
		refRaw:            marginalRows(records, cfg.seed),
	}
	for _, r := range records {
		raw := rawNumerics(r.Features)
		for j, v := range raw {
			if math.IsNaN(v) {
				m.missingShare[j]++
			}
		}
	}
	for j := range m.missingShare {
		m.missingShare[j] /= float64(n)
	}
	for _, r := range records {
		if r.CompletedAt.After(m.dataThrough) {
			m.dataThrough = r.CompletedAt.UTC()
		}
	}
	fc := foldContext{enc: foldEnc, refs: make([][][numNumeric]float64, cfg.folds)}
	for f := range fc.refs {
		var in []Record
		for i, r := range records {
			if folds[i] != f {
				in = append(in, r)
			}
		}
		fc.refs[f] = marginalRows(in, cfg.seed)
	}
	patterns := maskedPatterns(enc.seen, m.missingShare)
	targets := Targets()
	for i, t := range targets {
		tm, _, err := trainTarget(ctx, t, x, foldX, records, folds, cfg, fc, patterns)
		if err != nil {
			return nil, fmt.Errorf("metalearn: train %s: %w", t, err)
		}
		m.targets[t] = tm
		cfg.report(float64(i+1) / float64(len(targets)))
		if t == TargetSuccess {
			if !cfg.noArtifacts {
				resid, err := artifactBlindResiduals(ctx, tm.metrics.Model, records, foldX, folds, cfg)
				if err != nil {
					return nil, fmt.Errorf("metalearn: train %s: %w", t, err)
				}
				m.artifacts = artifactAssociations(records, resid, cfg.seed)
			}
			ys := make([]float64, n)
			for i, r := range records {
				ys[i] = r.Outcome.SuccessScore
			}
			m.team = fitTeamEffect(x, ys)
		}
	}
	return m, nil
}

// maxMarginalRows bounds the reference rows a model keeps for
// marginalising missing inputs.
const maxMarginalRows = 64

// marginalRows returns a seeded sample of the records' raw numerics.
func marginalRows(records []Record, seed uint64) [][numNumeric]float64 {
	perm := newRand(seed, 5).Perm(len(records))
	k := min(len(records), maxMarginalRows)
	out := make([][numNumeric]float64, k)
	for i := 0; i < k; i++ {
		out[i] = rawNumerics(records[perm[i]].Features)
	}
	return out
}

// forwardValidate trains the whole procedure (selection, calibration) on
// the earliest 1 − ForwardShare of the records and stores its error and
// coverage on the rest in every target's metrics.
func (m *Model) forwardValidate(ctx context.Context, records []Record, cfg config) error {
	n := len(records)
	nTrain := int(math.Ceil(float64(n) * (1 - ForwardShare)))
	if nTrain >= n {
		nTrain = n - 1
	}
	inner := cfg
	inner.forward = false
	inner.noArtifacts = true // the forward model only predicts
	inner.progressBase, inner.progressSpan = cfg.progressBase+cfg.progressSpan, cfg.progressSpan
	if inner.folds > nTrain-1 {
		inner.folds = nTrain - 1
	}
	if nTrain < 3 || inner.folds < 2 {
		return nil
	}
	fm, err := train(ctx, records[:nTrain], inner)
	if err != nil {
		return fmt.Errorf("metalearn: forward validation: %w", err)
	}
	test := records[nTrain:]
	for _, t := range Targets() {
		base := 0.0
		for _, r := range records[:nTrain] {
			base += t.forward(t.value(r.Outcome))
		}
		base = t.inverse(base / float64(nTrain))
		var mae, baseMAE, covered float64
		for _, r := range test {
			pr, err := fm.PredictTarget(t, r.Features, 0)
			if err != nil {
				return fmt.Errorf("metalearn: forward validation: %w", err)
			}
			v := t.value(r.Outcome)
			mae += math.Abs(v - pr.Value)
			baseMAE += math.Abs(v - base)
			if pr.Contains(v) {
				covered++
			}
		}
		k := float64(len(test))
		mae, baseMAE, covered = mae/k, baseMAE/k, covered/k
		met := &m.targets[t].metrics
		met.ForwardMAE, met.ForwardBaselineMAE, met.ForwardCoverage = &mae, &baseMAE, &covered
		met.ForwardN = len(test)
	}
	return nil
}

// assessReliability sets every target's Reliability and notes.
func (m *Model) assessReliability(records []Record) {
	n := len(records)
	undated := 0
	for _, r := range records {
		if r.CompletedAt.IsZero() {
			undated++
		}
	}
	for _, t := range Targets() {
		met := &m.targets[t].metrics
		notes := []string{}
		if n < MinReliableHistory {
			notes = append(notes, fmt.Sprintf("only %d completed projects (fewer than %d): too small a history to trust", n, MinReliableHistory))
		}
		switch {
		case met.ForwardMAE == nil:
			notes = append(notes, "the history is too short to validate forward in time")
		case met.ForwardN < MinReliableForward:
			notes = append(notes, fmt.Sprintf("forward validation rests on only the latest %d projects (fewer than %d)", met.ForwardN, MinReliableForward))
		case *met.ForwardMAE >= *met.ForwardBaselineMAE:
			notes = append(notes, fmt.Sprintf("on the latest %d projects the model (MAE %.3g) did no better than their average (MAE %.3g)", met.ForwardN, *met.ForwardMAE, *met.ForwardBaselineMAE))
		}
		ys := make([]float64, n)
		for i, r := range records {
			ys[i] = t.forward(t.value(r.Outcome))
		}
		if sd := stdOf(ys); sd < t.minHalfWidth() {
			notes = append(notes, fmt.Sprintf("the %s outcomes are nearly identical (standard deviation %.3g on the model scale): too uniform to learn from", t, sd))
		}
		if met.Model != KindMean && !(met.GainOverBaseline > 2*met.GainStdErr) {
			notes = append(notes, fmt.Sprintf("cross-validated MAE %.3g ± %.2g does not beat the average's %.3g by two standard errors (gain %.3g ± %.2g): the history does not show that the inputs predict the %s", met.CVMAE, met.CVMAEStdErr, met.BaselineMAE, met.GainOverBaseline, met.GainStdErr, t))
		}
		met.Reliability = ReliabilityOK
		if len(notes) > 0 {
			met.Reliability = ReliabilityLow
		}
		if len(met.Candidates) > 2 && met.Model != KindMean && met.SelectionMargin < met.SelectionStdErr {
			notes = append(notes, fmt.Sprintf("the selected %s beat the runner-up by %.3g ± %.2g (less than one standard error): the choice of model kind is not informative", met.Model, met.SelectionMargin, met.SelectionStdErr))
		}
		if undated > 0 {
			notes = append(notes, fmt.Sprintf("%d projects have no completion time and count as the oldest", undated))
		}
		met.ReliabilityNotes = notes
	}
}

// encodeForCV fits the feature encoder on all records (for the final
// model) and, for each fold f, on the records outside f only (foldEnc[f]),
// and encodes every record with each: x[i] is record i under the full
// encoder and foldX[f][i] under fold f's. Cross-validation trains and evaluates fold f
// on foldX[f], so no statistic of a held-out row (not even the mean and
// spread of its features) reaches the model that predicts it, just as a
// new project's features do not reach the final model.
func encodeForCV(records []Record, folds []int, k int) (enc encoder, x [][]float64, foldX [][][]float64, foldEnc []encoder) {
	n := len(records)
	raws := make([][numNumeric]float64, n)
	for i, r := range records {
		raws[i] = rawNumerics(r.Features)
	}
	encodeAll := func(e encoder) [][]float64 {
		out := make([][]float64, n)
		flat := make([]float64, n*encodedDim)
		for i, r := range records {
			out[i] = flat[i*encodedDim : (i+1)*encodedDim : (i+1)*encodedDim]
			e.encodeRaw(r.Features.ProblemClass, raws[i], out[i])
		}
		return out
	}
	enc = fitEncoder(raws)
	x = encodeAll(enc)
	foldX = make([][][]float64, k)
	foldEnc = make([]encoder, k)
	train := make([][numNumeric]float64, 0, n)
	for f := 0; f < k; f++ {
		train = train[:0]
		for i := range raws {
			if folds[i] != f {
				train = append(train, raws[i])
			}
		}
		foldEnc[f] = fitEncoder(train)
		foldX[f] = encodeAll(foldEnc[f])
	}
	return enc, x, foldX, foldEnc
}

// classMeans returns the mean of the one-hot class columns (the class
// frequencies), used as the reference value of the class feature.
func classMeans(x [][]float64) [numClasses]float64 {
	var c [numClasses]float64
	for _, row := range x {
		for j := 0; j < numClasses; j++ {
			c[j] += row[j]
		}
	}
	for j := range c {
		c[j] /= float64(len(x))
	}
	return c
}

func maxTeamSize(records []Record) int {
	mx := 1
	for _, r := range records {
		mx = max(mx, r.Features.TeamSize)
	}
	return mx
}

// oof holds one candidate's out-of-fold predictions.
type oof struct {
	kind   ModelKind
	mu     []float64 // model space
	sigma  []float64 // relative: σ(x) over the fold model's reference mean
	pred   []float64 // target units
	models []fittedTarget
	sref   []float64 // each fold model's mean σ over the reference inputs
}

// maxReferenceRows bounds the reference inputs over which σ is averaged.
const maxReferenceRows = 200

// referenceRows picks a seeded subset of the training inputs (no targets)
// over which every model's mean predictive σ is measured, so that
// conformal scores compare residuals with σ relative to each model's own
// typical σ: a fold fit whose noise level came out lower or higher than the
// final fit's then neither narrows nor widens the final intervals.
func referenceRows(x [][]float64, seed uint64) [][]float64 {
	perm := newRand(seed, 4).Perm(len(x))
	k := min(len(x), maxReferenceRows)
	out := make([][]float64, k)
	for i := 0; i < k; i++ {
		out[i] = x[perm[i]]
	}
	return out
}

// meanSigma returns the mean predictive σ of ft over rows.
func meanSigma(ft fittedTarget, rows [][]float64) float64 {
	s := 0.0
	for _, r := range rows {
		_, v := ft.predict(r)
		s += v
	}
	s /= float64(len(rows))
	if !(s > 0) || !finite(s) {
		return 1
	}
	return s
}

// trainTarget trains target t and also returns the selected kind's
// held-out predictions (target units) of every record. Fold f is trained
// and evaluated on foldX[f] (see encodeForCV); the final model on x.
func trainTarget(ctx context.Context, t Target, x [][]float64, foldX [][][]float64, records []Record, folds []int, cfg config, fctx foldContext, patterns []uint16) (targetModel, []float64, error) {
	n := len(x)
	y := make([]float64, n)  // target units
	yt := make([]float64, n) // model space
	for i, r := range records {
		y[i] = t.value(r.Outcome)
		yt[i] = t.forward(y[i])
	}
	fc := cfg.fit()
	fc.seed = cfg.seed ^ uint64(t+1)*0x2545f4914f6cdd1d // #nosec G115 -- t is a non-negative target index; seed mixing
	ref := referenceRows(x, fc.seed)
	foldRef := make([][][]float64, cfg.folds)
	for f := range foldRef {
		foldRef[f] = referenceRows(foldX[f], fc.seed) // the same rows, fold-encoded
	}
	var cands []*oof
	for _, k := range cfg.kinds {
		o := &oof{kind: k, mu: make([]float64, n), sigma: make([]float64, n), pred: make([]float64, n), models: make([]fittedTarget, cfg.folds), sref: make([]float64, cfg.folds)}
		for f := 0; f < cfg.folds; f++ {
			if err := ctx.Err(); err != nil {
				return targetModel{}, nil, err
			}
			fx := foldX[f]
			var tx [][]float64
			var ty []float64
			for i := 0; i < n; i++ {
				if folds[i] != f {
					tx = append(tx, fx[i])
					ty = append(ty, yt[i])
				}
			}
			ft, err := fitTarget(ctx, k, tx, ty, fc)
			if err != nil {
				return targetModel{}, nil, fmt.Errorf("%s fold %d: %w", k, f, err)
			}
			o.models[f] = ft
			sref := meanSigma(ft, foldRef[f])
			o.sref[f] = sref
			for i := 0; i < n; i++ {
				if folds[i] == f {
					var s float64
					o.mu[i], s = ft.predict(fx[i])
					o.sigma[i] = s / sref
					o.pred[i] = t.inverse(o.mu[i])
				}
			}
		}
		cands = append(cands, o)
	}
	met := Metrics{Folds: cfg.folds}
	best := cands[0]
	bestMAE := math.Inf(1)
	for _, o := range cands {
		mae := maeOf(y, o.pred)
		sp := spearman(y, o.pred)
		met.Candidates = append(met.Candidates, CandidateMetrics{Model: o.kind, CVMAE: mae, CVSpearman: sp})
		if o.kind == KindMean {
			met.BaselineMAE = mae
		}
		if mae < bestMAE {
			best, bestMAE = o, mae
		}
	}
	met.Model = best.kind
	met.CVMAE = bestMAE
	met.CVSpearman = spearman(y, best.pred)
	met.CVMAEStdErr = absErrStdErr(y, best.pred, nil)
	met.GainOverBaseline = met.BaselineMAE - met.CVMAE
	met.GainStdErr = absErrStdErr(y, cands[0].pred, best.pred)
	if len(cands) > 1 {
		var second *oof
		for _, o := range cands {
			if o != best && (second == nil || maeOf(y, o.pred) < maeOf(y, second.pred)) {
				second = o
			}
		}
		met.SelectionMargin = maeOf(y, second.pred) - bestMAE
		met.SelectionStdErr = absErrStdErr(y, second.pred, best.pred)
	}

	trend, detrended := residualTrend(yt, best.mu, records)
	met.Trend = trend
	scores := make([]float64, n)
	for i := range scores {
		scores[i] = math.Abs(detrended[i]) / best.sigma[i]
	}
	// Records are ordered by completion: recent ones weigh more.
	wts := recencyWeights(n)
	q := weightedConformalQuantile(scores, wts, cfg.coverage)
	stored := storedWeightedScores(scores, wts)
	yAdj := make([]float64, n) // outcomes less the time trend, model space
	for i := range yAdj {
		yAdj[i] = best.mu[i] + detrended[i]
	}
	masked := maskedCalibration(best, records, folds, fctx, yAdj, stored, wts, patterns, cfg.coverage)
	base := cands[0] // KindMean is always first
	for i := range scores {
		scores[i] = math.Abs(yt[i]-base.mu[i]) / base.sigma[i]
	}
	qBase := weightedConformalQuantile(scores, wts, cfg.coverage)

	imp := permutationImportance(t, foldX, y, folds, best, cfg)

	if err := ctx.Err(); err != nil {
		return targetModel{}, nil, err
	}
	// The final model is fitted by the procedure the folds validated (the
	// same starts, the same settings), so the calibration scores and cv_mae
	// describe the model that is deployed.
	final, err := fitTarget(ctx, best.kind, x, yt, fc)
	if err != nil {
		return targetModel{}, nil, fmt.Errorf("%s final fit: %w", best.kind, err)
	}
	if trend != nil {
		final.mean += trend.Shift // every prediction path adds the mean
	}
	return targetModel{
		target:      t,
		fit:         final,
		q:           q,
		scores:      stored,
		masked:      masked,
		sigmaRef:    meanSigma(final, ref),
		baseHalf:    qBase, // the mean model's σ is constant, so its scores are in model units
		metrics:     met,
		importances: imp,
	}, best.pred, nil
}

// permutationImportance measures, on each fold's held-out rows, the MAE
// increase when one feature's encoded columns are permuted jointly (a
// seeded permutation), averaged over folds weighted by fold size. Fold f's
// rows are read from foldX[f], the encoding its model was trained on.
func permutationImportance(t Target, foldX [][][]float64, y []float64, folds []int, o *oof, cfg config) []FeatureImportance {
	n := len(y)
	inc := make([]float64, numGroups)
	rng := newRand(cfg.seed, 3+uint64(t)) // #nosec G115 -- t is a non-negative target index
	for f := 0; f < cfg.folds; f++ {
		x := foldX[f]
		var idx []int
		for i := 0; i < n; i++ {
			if folds[i] == f {
				idx = append(idx, i)
			}
		}
		if len(idx) < 2 {
			continue
		}
		baseErr := 0.0
		for _, i := range idx {
			baseErr += math.Abs(y[i] - o.pred[i])
		}
		row := make([]float64, encodedDim)
		for g := 0; g < numGroups; g++ {
			lo, hi := groupColumns(g)
			perm := rng.Perm(len(idx))
			permErr := 0.0
			for a, i := range idx {
				copy(row, x[i])
				copy(row[lo:hi], x[idx[perm[a]]][lo:hi])
				p := t.inverse(o.models[f].predictMean(row))
				permErr += math.Abs(y[i] - p)
			}
			inc[g] += (permErr - baseErr) / float64(n)
		}
	}
	total := 0.0
	for _, v := range inc {
		total += math.Max(v, 0)
	}
	names := FeatureNames()
	out := make([]FeatureImportance, numGroups)
	for g := range out {
		share := 0.0
		if total > 0 {
			share = math.Max(inc[g], 0) / total
		}
		out[g] = FeatureImportance{Feature: names[g], MAEIncrease: inc[g], Share: share}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Share > out[b].Share })
	return out
}

// residualTrend fits a least-squares line to the residuals yt − mu over
// the records' order (by completion) and returns it as a Trend with the
// residuals less the line, when the slope is significant (see Trend);
// otherwise nil and the residuals themselves. Records without a
// CompletedAt have no place in time: when any lacks one, there is no
// trend.
func residualTrend(yt, mu []float64, records []Record) (*Trend, []float64) {
	n := len(yt)
	res := make([]float64, n)
	for i := range res {
		res[i] = yt[i] - mu[i]
	}
	if n < TrendMinHistory {
		return nil, res
	}
	for _, r := range records {
		if r.CompletedAt.IsZero() {
			return nil, res
		}
	}
	tMean := float64(n-1) / 2
	var rMean, sxx, sxy float64
	for _, v := range res {
		rMean += v
	}
	rMean /= float64(n)
	for i, v := range res {
		d := float64(i) - tMean
		sxx += d * d
		sxy += d * (v - rMean)
	}
	slope := sxy / sxx
	var ssr float64
	for i, v := range res {
		e := v - rMean - slope*(float64(i)-tMean)
		ssr += e * e
	}
	se := math.Sqrt(ssr/float64(n-2)) / math.Sqrt(sxx)
	tStat := slope / se
	if !(math.Abs(tStat) >= TrendMinTStat) || !finite(slope) {
		return nil, res
	}
	out := make([]float64, n)
	for i, v := range res {
		out[i] = v - rMean - slope*(float64(i)-tMean)
	}
	return &Trend{PerProject: slope, Shift: rMean + slope*(float64(n-1)-tMean), TStat: tStat}, out
}
