package metalearn

import (
	"math"
	"math/bits"
	"sort"
)

// Masked calibration (format version 5): a prediction that marginalises
// missing inputs (see Model.predictTarget) mixes the reference training
// projects' values of those inputs with the cross-validated errors, and
// the errors were measured with the inputs known. That mixture need not
// hold its nominal mass: an input the model leans on by chance (a
// spurious coefficient) spreads the mixture although the errors already
// contain that input's noise, and an input that depends on the known ones
// varies less, given them, than over the whole history. So training asks
// every fold model the way the final model will be asked — with the
// inputs of a pattern removed and marginalised over the fold's own
// reference projects — and records where each held-out outcome falls in
// that fold mixture (its probability integral transform, folded to
// |2F(y) − 1|, 0 at the mixture's median and 1 outside it). The weighted
// conformal quantile of those values is the central mass of the final
// model's mixture that a new project with the same inputs missing needs:
// the distributional conformal prediction of Chernozhukov, Wüthrich and
// Zhu (2021), applied to the planning-time predictive distribution.

// missingSources are the groups of inputs that go missing together: the
// team members (not registered yet), the artifacts' impact (no rating
// known yet) and the process metrics (not measured before a project
// starts). The masked calibration covers every union of them.
var missingSources = [...][]int{
	{numSeniorShare, numMeanExperience, numRoleCount},
	{numArtifactImpact},
	{numPipeline, numCommits, numReviewHours, numOpenDefects},
}

// maxMaskedPatterns bounds the calibrated patterns of one target: the
// non-empty unions of missingSources.
const maxMaskedPatterns = 1<<len(missingSources) - 1

// maxMaskedCalibration bounds the records whose fold predictions the
// masked calibration recomputes: the latest ones, which also carry most of
// the recency weight.
const maxMaskedCalibration = 200

// maskedLevel is the calibrated mixture mass for one pattern of
// marginalised inputs.
type maskedLevel struct {
	mask  uint16  // bit j set: numeric input j is marginalised
	level float64 // central mass of the mixture, in (0, 1]
}

// marginalisedMask returns the bit mask of the numeric indices in marg.
func marginalisedMask(marg []int) uint16 {
	var m uint16
	for _, j := range marg {
		m |= 1 << uint(j) // #nosec G115 -- j is a numeric index below numNumeric (12)
	}
	return m
}

// maskIndices returns the numeric indices of a mask, ascending.
func maskIndices(mask uint16) []int {
	out := make([]int, 0, bits.OnesCount16(mask))
	for j := 0; j < numNumeric; j++ {
		if mask&(1<<uint(j)) != 0 { // #nosec G115 -- j < numNumeric
			out = append(out, j)
		}
	}
	return out
}

// maskedPatterns returns the distinct non-empty patterns a prediction of
// a model trained with these encoder flags and missing shares can
// marginalise when whole missingSources are absent: each union of sources
// restricted to the inputs that are marginalised rather than calibrated
// (seen, and missing in fewer than MaxCalibratedMissingShare of the
// training projects), ascending.
func maskedPatterns(seen [numNumeric]bool, share [numNumeric]float64) []uint16 {
	var out []uint16
	for sub := 1; sub <= maxMaskedPatterns; sub++ {
		var mask uint16
		for s, src := range missingSources {
			if sub&(1<<s) == 0 {
				continue
			}
			for _, j := range src {
				if seen[j] && share[j] < MaxCalibratedMissingShare {
					mask |= 1 << uint(j) // #nosec G115 -- j < numNumeric
				}
			}
		}
		if mask != 0 && !containsMask(out, mask) {
			out = append(out, mask)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

func containsMask(ms []uint16, m uint16) bool {
	for _, v := range ms {
		if v == m {
			return true
		}
	}
	return false
}

// substitutionRows returns the encoded rows of a prediction whose
// marginalised inputs marg take each reference project's values (rows
// where the reference recorded none of them are skipped), and the encoded
// columns they replace.
func substitutionRows(enc encoder, class string, raw [numNumeric]float64, marg []int, refs [][numNumeric]float64) (rows [][]float64, cols []int) {
	rows = [][]float64{}
	for _, ref := range refs {
		r := raw
		any := false
		for _, j := range marg {
			if !math.IsNaN(ref[j]) {
				r[j] = ref[j]
				any = true
			}
		}
		if any {
			row := make([]float64, encodedDim)
			enc.encodeRaw(class, r, row)
			rows = append(rows, row)
		}
	}
	for _, j := range marg {
		cols = append(cols, numClasses+j)
	}
	return rows, cols
}

// mixture is the predictive distribution of a prediction that
// marginalises inputs: equal-weight reference means mus, each plus ε·w,
// ε symmetric with |ε| distributed as scores (ascending), each score's
// mass split evenly between +s and −s.
type mixture struct {
	mus    []float64
	w      float64
	scores []float64
}

// cdf returns P(Y ≤ y).
func (mx mixture) cdf(y float64) float64 {
	ns := float64(len(mx.scores))
	total := 0.0
	for _, mu := range mx.mus {
		d := (y - mu) / mx.w
		if d >= 0 {
			k := sort.Search(len(mx.scores), func(i int) bool { return mx.scores[i] > d }) // #(s <= d)
			total += 0.5 + 0.5*float64(k)/ns
		} else {
			k := sort.Search(len(mx.scores), func(i int) bool { return mx.scores[i] >= -d }) // #(s < -d)
			total += 0.5 * (1 - float64(k)/ns)
		}
	}
	return total / float64(len(mx.mus))
}

// below returns P(Y < y).
func (mx mixture) below(y float64) float64 {
	ns := float64(len(mx.scores))
	total := 0.0
	for _, mu := range mx.mus {
		d := (y - mu) / mx.w
		if d > 0 {
			k := sort.Search(len(mx.scores), func(i int) bool { return mx.scores[i] >= d }) // #(s < d)
			total += 0.5 + 0.5*float64(k)/ns
		} else {
			k := sort.Search(len(mx.scores), func(i int) bool { return mx.scores[i] > -d }) // #(s <= -d)
			total += 0.5 * (1 - float64(k)/ns)
		}
	}
	return total / float64(len(mx.mus))
}

// foldedPIT returns |2F(y) − 1| with F(y) the mid-distribution
// (P(Y < y) + P(Y ≤ y))/2: 0 at the median, 1 outside the support. y lies
// inside the mixture's central interval of mass L exactly when it is at
// most L (up to the atoms at the interval's ends).
func (mx mixture) foldedPIT(y float64) float64 {
	return math.Abs(mx.cdf(y) + mx.below(y) - 1)
}

// maskedCalibration computes, for each pattern, the calibrated mixture
// mass of the selected kind's fold models (see the comment at the top of
// this file). yAdj are the outcomes on the model scale less the fitted
// time trend, scores the stored calibration scores, wts the recency
// weights of all records; best holds the fold models and their σ̄, fc
// each fold's encoder and reference projects. Patterns whose calibration cannot support the
// coverage are left out (their predictions keep the uncalibrated
// mixture).
func maskedCalibration(best *oof, records []Record, folds []int, fc foldContext, yAdj, scores, wts []float64, patterns []uint16, coverage float64) []maskedLevel {
	if len(patterns) == 0 || len(scores) == 0 {
		return nil
	}
	n := len(records)
	from := max(0, n-maxMaskedCalibration)
	var out []maskedLevel
	pits := make([]float64, 0, n-from)
	ws := make([]float64, 0, n-from)
	for _, mask := range patterns {
		marg := maskIndices(mask)
		pits, ws = pits[:0], ws[:0]
		for i := from; i < n; i++ {
			f := folds[i]
			ft := best.models[f]
			raw := rawNumerics(records[i].Features)
			for _, j := range marg {
				raw[j] = math.NaN()
			}
			x := make([]float64, encodedDim)
			fc.enc[f].encodeRaw(records[i].Features.ProblemClass, raw, x)
			mu, s := ft.predict(x)
			w := s / best.sref[f]
			if !(w > 0) || !finite(w) {
				w = 1
			}
			mus := []float64{mu}
			if rows, cols := substitutionRows(fc.enc[f], records[i].Features.ProblemClass, raw, marg, fc.refs[f]); len(rows) > 0 {
				mus = ft.substitutedMeans(x, cols, rows)
			}
			pits = append(pits, mixture{mus: mus, w: w, scores: scores}.foldedPIT(yAdj[i]))
			ws = append(ws, wts[i])
		}
		level := weightedConformalQuantile(pits, ws, coverage)
		if !(level > 0) || level > 1 {
			continue
		}
		out = append(out, maskedLevel{mask: mask, level: level})
	}
	return out
}

// foldContext is what the masked calibration needs of each fold: the
// encoder fitted on the fold's training records and a seeded sample of
// those records' raw inputs (as the final model's reference rows).
type foldContext struct {
	enc  []encoder
	refs [][][numNumeric]float64
}
