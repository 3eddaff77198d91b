package metalearn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Bounds of the artifact associations a Model keeps.
const (
	// minArtifactUses is the number of projects of a class that must have
	// used an artifact, and as many that must not have, before the
	// association is tested. Until 2026-12-07 it was 2; an artifact used
	// twice can only pass the multiple-testing threshold with a lift of
	// about twice the residual spread, so such tests mostly raised the
	// number of tests Benjamini–Hochberg divides by. Filtering on counts
	// alone, which do not depend on the outcomes, keeps every p-value of
	// an artifact without effect valid (independent filtering).
	minArtifactUses = 3
	// maxArtifactsPerClass bounds the associations kept per class.
	maxArtifactsPerClass = 20
	// maxArtifactPermutations is the largest number of random relabelings
	// behind one permutation p-value (its smallest value is then 1/10,000).
	maxArtifactPermutations = 9999
	// minArtifactPermutations is the number of relabelings every test gets
	// at least, however large the history.
	minArtifactPermutations = 199
	// artifactExceedances stops a test's relabelings early once this many
	// reached the observed sum (Besag and Clifford's sequential p-value):
	// an artifact without effect costs tens of relabelings, not thousands.
	artifactExceedances = 20
	// maxArtifactPermutationWork bounds the residuals summed over all the
	// relabelings of a history's tests; a history whose tests would need
	// more gives each test fewer relabelings (at least
	// minArtifactPermutations), so its p-values are coarser but still valid.
	maxArtifactPermutationWork = 50_000_000
)

// MinArtifactEvidence is the smallest Evidence (adjusted lift over its
// standard error, a z-score) at which Model.SuggestArtifacts suggests an
// artifact. It is a floor below the multiple-testing control: a
// suggestion also needs a Benjamini–Hochberg q-value of at most
// ArtifactFDR over all the artifact × class tests of the history (every
// artifact of every class with at least three users and three
// non-users), so that with dozens of artifacts without effect the
// expected share of chance suggestions among the suggestions stays at
// ArtifactFDR. Models of format version 2 (no q-values) select by the
// floor alone.
const MinArtifactEvidence = 2.0

// ArtifactFDR is the false discovery rate at which artifact suggestions
// are controlled for multiple testing (Benjamini–Hochberg over all the
// artifact × class tests of the tenant's history at once, so the rate
// holds for the tenant's suggestions as a whole, not per class).
const ArtifactFDR = 0.1

// artifactStat compares, within one problem class of the training history,
// the projects that used an artifact with those that did not: their mean
// success scores (what the reason reports) and their mean artifact-blind
// residuals (see artifactBlindResiduals), which the test and the ranking
// use.
type artifactStat struct {
	class       string
	id          string
	name        string
	withN       int
	withMean    float64
	withoutN    int
	withoutMean float64
	// adjLift is the mean residual of the users minus that of the others:
	// how much more the users achieved than a model that does not know
	// which artifacts a project used predicted from its other features.
	adjLift float64
	// evidence is adjLift divided by its standard error,
	// s·√(1/withN + 1/withoutN) with s the residuals' standard deviation
	// within the two groups (pooled, the class's projects − 2 degrees of
	// freedom).
	evidence float64
	// pValue is the one-sided permutation p-value of adjLift (the share of
	// random relabelings of the class's projects, as many users as
	// observed, whose users' residuals sum to at least the observed) and
	// qValue its Benjamini–Hochberg q-value over every artifact tested in
	// every class of the history; NaN for models of format version 2,
	// which select by evidence alone.
	pValue, qValue float64
}

func (a artifactStat) lift() float64 { return a.withMean - a.withoutMean }

// artifactColumns are the encoded columns computed from a project's
// artifacts: their count, their mean impact rating and their types.
var artifactColumns = [...]int{numClasses + numArtifactCount, numClasses + numArtifactImpact, numClasses + numArtifactTypes}

// artifactBlindSeed mixes the seed of the artifact-blind fits.
const artifactBlindSeed = 0x61727469666163 // "artifac"

// artifactBlindResiduals returns every record's success score minus its
// held-out prediction by a model of kind k (the success model's selected
// kind) fitted on the other folds with the artifact columns held at their
// training mean: an artifact-blind model. The success model itself
// cannot serve: it reads the artifact count, types and impact ratings,
// so it predicts part of a useful artifact's effect from them (a useful
// artifact collects high ratings; in the planning evaluation it is the
// only one of its type) and the test would look for the rest. Without
// them the residuals remove what team, seniority, complexity, class and
// process explain and leave the artifact's effect whole; the ratings
// (however recent) never reach the test, only outcomes of completed
// projects do. A significant linear drift over the completion order is
// removed too (residualTrend), since artifacts come and go over time.
func artifactBlindResiduals(ctx context.Context, k ModelKind, records []Record, foldX [][][]float64, folds []int, cfg config) ([]float64, error) {
	n := len(records)
	y := make([]float64, n)
	for i, r := range records {
		y[i] = TargetSuccess.forward(TargetSuccess.value(r.Outcome))
	}
	blind := func(src []float64) []float64 {
		row := append([]float64(nil), src...)
		for _, c := range artifactColumns {
			row[c] = 0
		}
		return row
	}
	fc := cfg.fit()
	fc.seed = cfg.seed ^ artifactBlindSeed
	mu := make([]float64, n)
	for f := 0; f < cfg.folds; f++ {
		var tx [][]float64
		var ty []float64
		for i := 0; i < n; i++ {
			if folds[i] != f {
				tx = append(tx, blind(foldX[f][i]))
				ty = append(ty, y[i])
			}
		}
		ft, err := fitTarget(ctx, k, tx, ty, fc)
		if err != nil {
			return nil, fmt.Errorf("artifact-blind %s fold %d: %w", k, f, err)
		}
		for i := 0; i < n; i++ {
			if folds[i] == f {
				mu[i] = TargetSuccess.forward(TargetSuccess.inverse(ft.predictMean(blind(foldX[f][i]))))
			}
		}
	}
	_, resid := residualTrend(y, mu, records)
	return resid, nil
}

// artifactTest is one artifact × class test before it is kept or not.
type artifactTest struct {
	st    artifactStat
	users []int // positions in the class of the projects that used it
}

// artifactAssociations tests, per problem class, every artifact used by at
// least minArtifactUses projects of the class (with at least as many
// projects not using it) for an association with success beyond what the
// project's other features predict: resid holds each record's
// artifact-blind residual (artifactBlindResiduals), and the test is a
// one-sided permutation test of the users' mean residual against the
// class's others (exact in distribution for residuals exchangeable
// within the class, whatever their shape: the success score is bounded
// and clamped, and a t approximation over-stated the evidence of
// artifacts with few users). Benjamini–Hochberg q-values are taken over
// every test of every class. Artifacts whose users did better (adjLift >
// 0) are kept, ranked by evidence, at most maxArtifactsPerClass per
// class; ties break by id and the relabelings are seeded, so the result
// is deterministic. The association is observational, not causal.
func artifactAssociations(records []Record, resid []float64, seed uint64) []artifactStat {
	byClass := map[string][]int{}
	for i, r := range records {
		byClass[r.Features.ProblemClass] = append(byClass[r.Features.ProblemClass], i)
	}
	type classTests struct {
		vals  []float64 // residuals of the class's projects
		tests []artifactTest
	}
	var all []classTests
	work := 0
	for _, class := range problemClasses {
		idx := byClass[class]
		if len(idx) < 2*minArtifactUses {
			continue
		}
		ct := classTests{vals: make([]float64, len(idx))}
		total, rTotal := 0.0, 0.0
		for k, i := range idx {
			ct.vals[k] = resid[i]
			total += records[i].Outcome.SuccessScore
			rTotal += resid[i]
		}
		names := map[string]string{}
		users := map[string][]int{}
		for k, i := range idx {
			seen := map[string]bool{}
			for _, a := range records[i].Features.Artifacts {
				if a.ID == "" {
					continue
				}
				if names[a.ID] == "" {
					names[a.ID] = a.Name
				}
				if !seen[a.ID] {
					seen[a.ID] = true
					users[a.ID] = append(users[a.ID], k)
				}
			}
		}
		ids := make([]string, 0, len(users))
		for id := range users {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		nc := len(idx)
		for _, id := range ids {
			u := users[id]
			w, without := len(u), nc-len(u)
			if w < minArtifactUses || without < minArtifactUses {
				continue
			}
			name := names[id]
			if name == "" {
				name = id
			}
			sum, rSum := 0.0, 0.0
			for _, k := range u {
				sum += records[idx[k]].Outcome.SuccessScore
				rSum += ct.vals[k]
			}
			st := artifactStat{
				class: class, id: id, name: name,
				withN: w, withMean: sum / float64(w),
				withoutN: without, withoutMean: (total - sum) / float64(without),
				adjLift: rSum/float64(w) - (rTotal-rSum)/float64(without),
			}
			st.evidence = st.adjLift / (withinSD(ct.vals, u) * math.Sqrt(1/float64(w)+1/float64(without)))
			ct.tests = append(ct.tests, artifactTest{st: st, users: u})
			work += min(w, without)
		}
		all = append(all, ct)
	}
	perms := maxArtifactPermutations
	if work > 0 {
		perms = max(minArtifactPermutations, min(maxArtifactPermutations, maxArtifactPermutationWork/work))
	}
	rng := newRand(seed, 11)
	var tested []float64 // p-values of every artifact tested, for Benjamini–Hochberg
	for _, ct := range all {
		for i := range ct.tests {
			t := &ct.tests[i]
			t.st.pValue = permutationP(ct.vals, t.users, perms, rng)
			tested = append(tested, t.st.pValue)
		}
	}
	var out []artifactStat
	for _, ct := range all {
		var stats []artifactStat
		for _, t := range ct.tests {
			if t.st.adjLift > 0 {
				t.st.qValue = bhQValue(t.st.pValue, tested)
				stats = append(stats, t.st)
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
	return out
}

// withinSD returns the pooled standard deviation of vals within the two
// groups that users (positions in vals) splits them into, with
// len(vals) − 2 degrees of freedom (at least 1e-9).
func withinSD(vals []float64, users []int) float64 {
	in := make([]bool, len(vals))
	for _, k := range users {
		in[k] = true
	}
	var n [2]float64
	var s [2]float64
	for k, v := range vals {
		g := 0
		if in[k] {
			g = 1
		}
		n[g]++
		s[g] += v
	}
	ss := 0.0
	for k, v := range vals {
		g := 0
		if in[k] {
			g = 1
		}
		d := v - s[g]/n[g]
		ss += d * d
	}
	sd := math.Sqrt(ss / float64(len(vals)-2))
	if !(sd > 1e-9) {
		sd = 1e-9
	}
	return sd
}

// permutationP returns the one-sided permutation p-value of the sum of
// vals at users: the chance that as many values drawn at random without
// replacement sum to at least as much. It draws at most perms relabelings
// and stops at the artifactExceedances-th that reaches the observed sum
// (Besag and Clifford, "Sequential Monte Carlo p-values", Biometrika
// 1991): the p-value is then exceedances/draws, otherwise (exceedances +
// 1)/(perms + 1). Both are valid: under no association the chance of
// p ≤ α is at most α. A relabeling costs min(users, others) additions
// (the others' sum when users are the majority).
func permutationP(vals []float64, users []int, perms int, rng *rand.Rand) float64 {
	n, w := len(vals), len(users)
	total, obs := 0.0, 0.0
	for _, v := range vals {
		total += v
	}
	for _, k := range users {
		obs += vals[k]
	}
	k, complement := w, false
	if w > n-w {
		k, complement = n-w, true
	}
	tol := 1e-9 * (1 + math.Abs(total) + math.Abs(obs))
	buf := append([]float64(nil), vals...)
	hits := 0
	for d := 1; d <= perms; d++ {
		s := 0.0
		for j := 0; j < k; j++ {
			r := j + rng.IntN(n-j)
			buf[j], buf[r] = buf[r], buf[j]
			s += buf[j]
		}
		if complement {
			s = total - s
		}
		if s >= obs-tol {
			hits++
			if hits == artifactExceedances {
				return float64(hits) / float64(d)
			}
		}
	}
	return float64(hits+1) / float64(perms+1)
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
