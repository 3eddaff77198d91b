package metalearn

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Bounds of the artifact associations a Model keeps.
const (
	// minArtifactUses is the number of projects of a class that must have
	// used an artifact (and not used it) before it is associated.
	minArtifactUses = 2
	// maxArtifactsPerClass bounds the associations kept per class.
	maxArtifactsPerClass = 20
)

// MinArtifactEvidence is the smallest Evidence (adjusted lift over its
// standard error, a z-score) at which Model.SuggestArtifacts suggests an
// artifact. Without it every artifact whose users happened to do slightly
// better than expected would be suggested: on the synthetic history of the
// tests, where 12 artifacts per class have no effect at all, 34 such
// artifacts were suggested across 8 classes with evidence down to 0.01. At
// 2 a single artifact without effect passes by chance about 2 % of the
// time (normal approximation, one-sided), so with many artifacts per class
// an occasional chance suggestion remains; the reason states the evidence
// so that a reader can weigh it.
//
// Since format version 3 the evidence threshold is only a floor: a
// suggestion also needs a Benjamini–Hochberg q-value of at most
// ArtifactFDR over all the artifacts the history tested (every artifact of
// every class with enough users and non-users), so that with dozens of
// artifacts without effect the expected share of chance suggestions among
// the suggestions stays at ArtifactFDR.
const MinArtifactEvidence = 2.0

// ArtifactFDR is the false discovery rate at which artifact suggestions
// are controlled for multiple testing (Benjamini–Hochberg).
const ArtifactFDR = 0.1

// artifactStat compares, within one problem class of the training history,
// the projects that used an artifact with those that did not: their mean
// success scores (what the reason reports) and their mean residuals, the
// success score minus the success model's cross-validated prediction from
// the project's other features (what ranks the artifacts).
type artifactStat struct {
	class       string
	id          string
	name        string
	withN       int
	withMean    float64
	withoutN    int
	withoutMean float64
	// adjLift is the mean residual of the users minus that of the others:
	// how much more the users achieved than their features predicted.
	adjLift float64
	// evidence is adjLift divided by its standard error under the class's
	// pooled residual variance: sd·√(1/withN + 1/withoutN).
	evidence float64
	// pValue is the one-sided p-value of evidence (Student's t with the
	// class's projects − 2 degrees of freedom) and qValue its
	// Benjamini–Hochberg q-value over every artifact tested in every class
	// of the history; NaN for models of format version 2, which select by
	// evidence alone.
	pValue, qValue float64
}

func (a artifactStat) lift() float64 { return a.withMean - a.withoutMean }

// artifactAssociations computes, per problem class, the artifacts used by at
// least minArtifactUses projects (with at least as many projects not using
// them) whose users did better than the success model predicted from their
// other features, relative to the class's other projects (adjLift > 0).
// resid holds each record's success score minus its held-out prediction;
// adjusting for it keeps large effects of team size or complexity from
// drowning (or faking) an artifact's association. Artifacts are ranked by
// evidence (adjLift over its standard error), so a large difference seen in
// two projects does not outrank a moderate one seen in twenty; at most
// maxArtifactsPerClass are kept per class. Ties break by id, so the result
// is deterministic. The association is observational, not causal.
func artifactAssociations(records []Record, resid []float64) []artifactStat {
	byClass := map[string][]int{}
	for i, r := range records {
		byClass[r.Features.ProblemClass] = append(byClass[r.Features.ProblemClass], i)
	}
	var out []artifactStat
	var tested []float64 // p-values of every artifact tested, for Benjamini–Hochberg
	for _, class := range problemClasses {
		idx := byClass[class]
		if len(idx) < 2*minArtifactUses {
			continue
		}
		total, rTotal, rSq := 0.0, 0.0, 0.0
		for _, i := range idx {
			total += records[i].Outcome.SuccessScore
			rTotal += resid[i]
			rSq += resid[i] * resid[i]
		}
		nc := float64(len(idx))
		sd := math.Sqrt(math.Max(rSq/nc-(rTotal/nc)*(rTotal/nc), 0) * nc / (nc - 1))
		if !(sd > 1e-9) {
			sd = 1e-9
		}
		type acc struct {
			name      string
			n         int
			sum, rsum float64
		}
		uses := map[string]*acc{}
		for _, i := range idx {
			names := map[string]string{}
			for _, a := range records[i].Features.Artifacts {
				if a.ID == "" {
					continue
				}
				if _, ok := names[a.ID]; !ok {
					names[a.ID] = a.Name
				}
			}
			for id, name := range names {
				u := uses[id]
				if u == nil {
					u = &acc{name: name}
					uses[id] = u
				}
				if u.name == "" {
					u.name = name
				}
				u.n++
				u.sum += records[i].Outcome.SuccessScore
				u.rsum += resid[i]
			}
		}
		var stats []artifactStat
		for id, u := range uses {
			without := len(idx) - u.n
			if u.n < minArtifactUses || without < minArtifactUses {
				continue
			}
			name := u.name
			if name == "" {
				name = id
			}
			st := artifactStat{
				class: class, id: id, name: name,
				withN: u.n, withMean: u.sum / float64(u.n),
				withoutN: without, withoutMean: (total - u.sum) / float64(without),
				adjLift: u.rsum/float64(u.n) - (rTotal-u.rsum)/float64(without),
			}
			st.evidence = st.adjLift / (sd * math.Sqrt(1/float64(st.withN)+1/float64(st.withoutN)))
			st.pValue = oneSidedP(st.evidence, len(idx)-2)
			tested = append(tested, st.pValue)
			if st.adjLift > 0 {
				stats = append(stats, st)
			}
		}
		sort.Slice(stats, func(a, b int) bool {
			if stats[a].evidence != stats[b].evidence {
				return stats[a].evidence > stats[b].evidence
			}
			return stats[a].id < stats[b].id
		})
		if len(stats) > maxArtifactsPerClass {
			stats = stats[:maxArtifactsPerClass]
		}
		out = append(out, stats...)
	}
	for i := range out {
		out[i].qValue = bhQValue(out[i].pValue, tested)
	}
	return out
}

// oneSidedP is the probability that Student's t with df degrees of freedom
// (the standard normal when df < 1) exceeds z.
func oneSidedP(z float64, df int) float64 {
	if math.IsNaN(z) {
		return 1
	}
	if df < 1 {
		return 1 - normalCDF(z)
	}
	return 1 - distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.CDF(z)
}

// bhQValue returns the Benjamini–Hochberg q-value of p among all (which
// contains p): the least, over the p-values q ≥ p in all, of q·m / rank(q),
// capped at 1.
func bhQValue(p float64, all []float64) float64 {
	s := append([]float64(nil), all...)
	sort.Float64s(s)
	m := float64(len(s))
	best := 1.0
	for k := len(s) - 1; k >= 0 && s[k] >= p; k-- {
		best = math.Min(best, s[k]*m/float64(k+1))
	}
	return math.Min(best, 1)
}
