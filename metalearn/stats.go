package metalearn

import (
	"math"
	"math/rand/v2"
	"sort"
)

// newRand returns the package's deterministic generator: PCG with a fixed
// stream derived from seed. Its output is specified by math/rand/v2 and is
// identical on every platform and Go release.
func newRand(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^stream)) // #nosec G404 -- training is seeded on purpose, for reproducible models; nothing secret is drawn
}

// meanOf returns the arithmetic mean of xs (0 for none).
func meanOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// stdOf returns the population standard deviation of xs.
func stdOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	m := meanOf(xs)
	s := 0.0
	for _, x := range xs {
		d := x - m
		s += d * d
	}
	return math.Sqrt(s / float64(len(xs)))
}

// maeOf returns the mean absolute error between y and p.
func maeOf(y, p []float64) float64 {
	if len(y) == 0 {
		return 0
	}
	s := 0.0
	for i := range y {
		s += math.Abs(y[i] - p[i])
	}
	return s / float64(len(y))
}

// ranks returns the 1-based ranks of xs with ties given their average rank.
func ranks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	r := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && xs[idx[j+1]] == xs[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// pearson returns the Pearson correlation of a and b, 0 when either is
// constant.
func pearson(a, b []float64) float64 {
	if len(a) < 2 {
		return 0
	}
	ma, mb := meanOf(a), meanOf(b)
	var sab, saa, sbb float64
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return 0
	}
	return sab / math.Sqrt(saa*sbb)
}

// spearman returns Spearman's rank correlation of a and b (Pearson
// correlation of their average ranks), 0 when either is constant.
func spearman(a, b []float64) float64 {
	return pearson(ranks(a), ranks(b))
}

// conformalQuantile returns the split-conformal quantile of the scores for
// nominal coverage: the ceil((n+1)·coverage)-th smallest score. When that
// index exceeds n, n scores cannot support the coverage (no finite
// interval is guaranteed to cover a new point with that probability) and
// the quantile is +Inf: the interval is unbounded.
func conformalQuantile(scores []float64, coverage float64) float64 {
	if len(scores) == 0 {
		return math.Inf(1)
	}
	s := append([]float64(nil), scores...)
	sort.Float64s(s)
	k := int(math.Ceil(float64(len(s)+1)*coverage - 1e-9))
	if k < 1 {
		k = 1
	}
	if k > len(s) {
		return math.Inf(1)
	}
	return s[k-1]
}

// quantileOf returns the p-quantile (0..1) of xs by linear interpolation
// between order statistics (NaN for none). xs is not modified.
func quantileOf(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	h := p * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

// normalCDF is the standard normal distribution function.
func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// foldsOf assigns each of n items to one of k folds after a deterministic
// shuffle, so each fold gets n/k items (±1).
func foldsOf(n, k int, seed uint64) []int {
	perm := newRand(seed, 1).Perm(n)
	f := make([]int, n)
	for pos, i := range perm {
		f[i] = pos % k
	}
	return f
}

// absErrStdErr returns the standard error of the mean of |y − a| when b is
// nil, else of the mean of |y − a| − |y − b| (a paired difference).
func absErrStdErr(y, a, b []float64) float64 {
	n := len(y)
	if n < 2 {
		return math.Inf(1)
	}
	d := make([]float64, n)
	for i := range y {
		d[i] = math.Abs(y[i] - a[i])
		if b != nil {
			d[i] -= math.Abs(y[i] - b[i])
		}
	}
	return stdOf(d) * math.Sqrt(float64(n)/float64(n-1)) / math.Sqrt(float64(n))
}

// maxStoredScores bounds the calibration scores a model keeps.
const maxStoredScores = 256

// MinCalibrationHalfLife is the smallest half-life, in projects, of the
// recency weights of the conformal calibration; the half-life is the
// larger of it and half the history.
const MinCalibrationHalfLife = 30

// recencyWeights returns the conformal calibration weights of a history of
// n records ordered oldest first: 0.5^(age/h), age 0 for the latest record
// and h = max(MinCalibrationHalfLife, n/2). Weighting recent projects more
// keeps the intervals honest when a tenant's projects drift; fixed weights
// keep the coverage guarantee of exchangeable data (Barber, Candès, Ramdas
// and Tibshirani, "Conformal prediction beyond exchangeability", 2023).
func recencyWeights(n int) []float64 {
	h := math.Max(MinCalibrationHalfLife, float64(n)/2)
	w := make([]float64, n)
	for i := range w {
		w[i] = math.Pow(0.5, float64(n-1-i)/h)
	}
	return w
}

// weightedLevel is the mass of the weighted score distribution that the
// weighted conformal quantile covers: coverage·(W + 1)/W, W the sum of
// the weights (the test point has weight 1 and an infinite score). Above
// 1 the weights cannot support the coverage.
func weightedLevel(w []float64, coverage float64) float64 {
	total := 0.0
	for _, v := range w {
		total += v
	}
	if total <= 0 {
		return math.Inf(1)
	}
	return coverage * (total + 1) / total
}

// weightedConformalQuantile returns the smallest score s such that the
// weights of the scores ≤ s reach coverage·(W + 1): the non-exchangeable
// split-conformal quantile with the test point's weight 1 at +∞ (+∞ when
// unsupported).
func weightedConformalQuantile(scores, w []float64, coverage float64) float64 {
	level := weightedLevel(w, coverage)
	if len(scores) == 0 || level > 1+1e-12 {
		return math.Inf(1)
	}
	idx := make([]int, len(scores))
	total := 0.0
	for i := range idx {
		idx[i] = i
		total += w[i]
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	need := level*total - 1e-9*total
	acc := 0.0
	for _, i := range idx {
		acc += w[i]
		if acc >= need {
			return scores[i]
		}
	}
	return scores[idx[len(idx)-1]]
}

// storedWeightedScores returns at most maxStoredScores order statistics
// of the weighted score distribution, evenly spaced in weight: a summary
// whose unweighted empirical distribution approximates the weighted one.
func storedWeightedScores(scores, w []float64) []float64 {
	idx := make([]int, len(scores))
	total := 0.0
	for i := range idx {
		idx[i] = i
		total += w[i]
	}
	if len(idx) == 0 || total <= 0 {
		return nil
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	k := min(len(scores), maxStoredScores)
	out := make([]float64, k)
	acc, j := 0.0, 0
	for m := range out {
		target := (float64(m) + 0.5) / float64(k) * total
		for j < len(idx)-1 && acc+w[idx[j]] < target {
			acc += w[idx[j]]
			j++
		}
		out[m] = scores[idx[j]]
	}
	return out
}
