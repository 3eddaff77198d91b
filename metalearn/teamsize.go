package metalearn

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// MinTeamChangeProbability is the posterior probability with which another
// team size must be better than the planned one before BestTeamSize
// recommends it.
const MinTeamChangeProbability = 0.8

// teamBasis is the number of team-size terms of the team-size association:
// z, z² and z·complexity, with z the standardized team size.
const teamBasis = 3

// teamEffect is the team-size association of a training history: a
// Bayesian ridge regression of the success score on every encoded feature
// except team size plus the teamBasis terms, of which it keeps the
// posterior mean and covariance of the team terms' coefficients (per unit
// of each raw term) and the evidence that team size matters at all.
type teamEffect struct {
	valid bool
	n     int
	beta  [teamBasis]float64
	cov   [teamBasis][teamBasis]float64
	// wald is βᵀΣ⁻¹β of the team terms; pEffect the posterior probability
	// that team size matters (even prior odds, BIC approximation).
	wald    float64
	pEffect float64
}

// basis returns the team-size terms at size s for standardized
// complexity c.
func (m *Model) teamTerms(s int, c float64) [teamBasis]float64 {
	z := (float64(s) - m.enc.mean[numTeamSize]) / m.enc.scale[numTeamSize]
	return [teamBasis]float64{z, z * z, z * c}
}

// teamRidgeLambda is the prior precision of every standardized
// coefficient of the team-size association.
const teamRidgeLambda = 1.0

// fitTeamEffect fits the team-size association on encoded rows x and
// success scores y.
func fitTeamEffect(x [][]float64, y []float64) teamEffect {
	n := len(x)
	teamCol, cxCol := numClasses+numTeamSize, numClasses+numComplexity
	var cols []int
	for j := 0; j < encodedDim; j++ {
		if j != teamCol {
			cols = append(cols, j)
		}
	}
	p := len(cols) + teamBasis
	if n < 3 {
		return teamEffect{}
	}
	raw := mat.NewDense(n, p, nil)
	for i, row := range x {
		for k, j := range cols {
			raw.Set(i, k, row[j])
		}
		z, c := row[teamCol], row[cxCol]
		raw.Set(i, len(cols), z)
		raw.Set(i, len(cols)+1, z*z)
		raw.Set(i, len(cols)+2, z*c)
	}
	scale := make([]float64, p)
	col := make([]float64, n)
	for k := 0; k < p; k++ {
		mat.Col(col, k, raw)
		mu, sd := meanOf(col), stdOf(col)
		scale[k] = sd
		for i := 0; i < n; i++ {
			v := 0.0
			if sd > 1e-12 {
				v = (col[i] - mu) / sd
			}
			raw.Set(i, k, v)
		}
	}
	for k := len(cols); k < p; k++ {
		if !(scale[k] > 1e-12) {
			return teamEffect{} // team size never varied: nothing to learn
		}
	}
	ym := meanOf(y)
	yc := mat.NewVecDense(n, nil)
	for i := range y {
		yc.SetVec(i, y[i]-ym)
	}
	var a mat.SymDense
	a.SymOuterK(1, raw.T())
	for k := 0; k < p; k++ {
		a.SetSym(k, k, a.At(k, k)+teamRidgeLambda)
	}
	var ch mat.Cholesky
	if !ch.Factorize(&a) {
		return teamEffect{}
	}
	var ainv mat.SymDense
	if err := ch.InverseTo(&ainv); err != nil {
		return teamEffect{}
	}
	var xty, beta mat.VecDense
	xty.MulVec(raw.T(), yc)
	beta.MulVec(&ainv, &xty)
	var fit mat.VecDense
	fit.MulVec(raw, &beta)
	rss := 0.0
	for i := 0; i < n; i++ {
		d := yc.AtVec(i) - fit.AtVec(i)
		rss += d * d
	}
	// Effective degrees of freedom: trace of the hat matrix X A⁻¹ Xᵀ.
	var h mat.Dense
	h.Mul(raw, &ainv)
	df := 0.0
	for i := 0; i < n; i++ {
		df += mat.Dot(h.RowView(i), raw.RowView(i))
	}
	sigma2 := rss / math.Max(float64(n)-df-1, 1)
	if !(sigma2 > 1e-12) {
		sigma2 = 1e-12
	}
	te := teamEffect{valid: true, n: n}
	base := len(cols)
	for a1 := 0; a1 < teamBasis; a1++ {
		te.beta[a1] = beta.AtVec(base+a1) / scale[base+a1]
		for b := 0; b < teamBasis; b++ {
			te.cov[a1][b] = sigma2 * ainv.At(base+a1, base+b) / (scale[base+a1] * scale[base+b])
		}
	}
	te.wald = waldStatistic(te.beta, te.cov)
	// BIC approximation of the posterior probability that the team terms
	// belong in the model, with even prior odds: the log Bayes factor
	// against them is (3·ln n − W)/2.
	te.pEffect = 1 / (1 + math.Exp(math.Min((teamBasis*math.Log(float64(n))-te.wald)/2, 700)))
	if !finite(te.wald) || !finite(te.pEffect) {
		return teamEffect{}
	}
	return te
}

// waldStatistic returns βᵀΣ⁻¹β (0 when Σ is singular).
func waldStatistic(beta [teamBasis]float64, cov [teamBasis][teamBasis]float64) float64 {
	s := mat.NewSymDense(teamBasis, nil)
	for i := 0; i < teamBasis; i++ {
		for j := i; j < teamBasis; j++ {
			s.SetSym(i, j, cov[i][j])
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(s) {
		return 0
	}
	b := mat.NewVecDense(teamBasis, beta[:])
	var x mat.VecDense
	if err := ch.SolveVecTo(&x, b); err != nil {
		return 0
	}
	return mat.Dot(b, &x)
}

// difference returns the posterior mean and standard deviation of the
// success-score difference between team sizes s and planned.
func (m *Model) teamDifference(s, planned int, c float64) (mean, sd float64) {
	bs, bp := m.teamTerms(s, c), m.teamTerms(planned, c)
	var d [teamBasis]float64
	for k := range d {
		d[k] = bs[k] - bp[k]
		mean += m.team.beta[k] * d[k]
	}
	v := 0.0
	for a := 0; a < teamBasis; a++ {
		for b := 0; b < teamBasis; b++ {
			v += d[a] * m.team.cov[a][b] * d[b]
		}
	}
	return mean, math.Sqrt(math.Max(v, 0))
}

// TeamComposition is the team-size what-if: how the success score of the
// tenant's past projects varied with team size, other features equal, and
// whether that is strong enough to change the planned size.
type TeamComposition struct {
	// PlannedSize is the project's team size as given.
	PlannedSize int `json:"planned_size"`
	// RecommendedSize is PlannedSize unless another size is better with
	// probability at least MinTeamChangeProbability.
	RecommendedSize int `json:"recommended_size"`
	// ProbabilityBetter is the posterior probability that the best
	// alternative size (RecommendedSize when it differs from PlannedSize)
	// scores higher than the planned size: the probability that team size
	// matters at all (even prior odds against it) times the probability
	// of a positive difference under the association's posterior.
	ProbabilityBetter float64 `json:"probability_better"`
	// PredictedScoreBySize maps each size asked about (1..N, and the
	// planned size) to the success score: the forecast for the planned
	// size plus the association's mean difference, clamped to 0-100.
	PredictedScoreBySize map[int]float64 `json:"predicted_score_by_size"`
	// Reason states the decision and that it rests on an association
	// learned from the tenant's history, not a measured cause.
	Reason string `json:"reason"`
}

// BestTeamSize answers the team-size what-if for p over sizes 1..maxTeam
// (plus p's planned size) with every other feature of p unchanged (team
// members listed in p keep their experience mix). The planned size is kept
// unless another size is better with probability at least
// MinTeamChangeProbability; the probability accounts for the possibility
// that team size has no effect at all (a prior of even odds on no effect)
// and for the uncertainty of the association's coefficients.
func (m *Model) BestTeamSize(p ProjectFeatures, maxTeam int) (TeamComposition, error) {
	if maxTeam < 1 || maxTeam > MaxTeamSize {
		return TeamComposition{}, &ValidationError{"max_team_size", fmt.Sprintf("must be between 1 and %d", MaxTeamSize)}
	}
	in, err := m.prepare(p)
	if err != nil {
		return TeamComposition{}, err
	}
	planned := p.TeamSize
	anchor := TargetSuccess.inverse(m.targets[TargetSuccess].fit.predictMean(in.x))
	c := in.x[numClasses+numComplexity]
	tc := TeamComposition{PlannedSize: planned, RecommendedSize: planned, PredictedScoreBySize: make(map[int]float64, maxTeam+1)}
	tc.PredictedScoreBySize[planned] = anchor
	const assoc = "an association learned from this tenant's completed projects, not a measured cause: if projects expected to struggle were given bigger teams, bigger teams look worse in the history than they are"
	if !m.team.valid {
		for s := 1; s <= maxTeam; s++ {
			tc.PredictedScoreBySize[s] = anchor
		}
		tc.Reason = "keeping the planned size: team size did not vary in the training history, so nothing is known about its association with success (" + assoc + ")"
		return tc, nil
	}
	best, bestMean, bestSD := 0, math.Inf(-1), 0.0
	for s := 1; s <= maxTeam; s++ {
		mean, sd := m.teamDifference(s, planned, c)
		tc.PredictedScoreBySize[s] = math.Max(0, math.Min(100, anchor+mean))
		if s != planned && mean > bestMean {
			best, bestMean, bestSD = s, mean, sd
		}
	}
	if best == 0 {
		tc.Reason = fmt.Sprintf("keeping the planned %d: no other size was asked about (%s)", planned, assoc)
		return tc, nil
	}
	pos := 0.5
	if bestSD > 0 {
		pos = normalCDF(bestMean / bestSD)
	} else if bestMean > 0 {
		pos = 1
	}
	tc.ProbabilityBetter = m.team.pEffect * pos
	if tc.ProbabilityBetter >= MinTeamChangeProbability {
		tc.RecommendedSize = best
		tc.Reason = fmt.Sprintf("a team of %d scored %.1f points higher than the planned %d in projects like this one, with probability %.2f (probability that team size matters at all %.2f, from %d projects); %s",
			best, bestMean, planned, tc.ProbabilityBetter, m.team.pEffect, m.team.n, assoc)
	} else {
		tc.Reason = fmt.Sprintf("keeping the planned %d: the best alternative, %d, is better with probability %.2f, below %.2f (probability that team size matters at all %.2f, from %d projects); %s",
			planned, best, tc.ProbabilityBetter, MinTeamChangeProbability, m.team.pEffect, m.team.n, assoc)
	}
	return tc, nil
}
