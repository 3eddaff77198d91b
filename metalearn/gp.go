package metalearn

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Gaussian-process regression with an ARD squared-exponential kernel
//
//	k(x, x') = σf² · exp(-½ Σ_k (x_k − x'_k)² / ℓ_k²) + σn² · [x = x']
//
// on standardized targets with a zero prior mean. The hyperparameters
// θ = (log ℓ_1..log ℓ_d, log σf, log σn) maximise the log marginal likelihood
//
//	log p(y | X, θ) = −½ yᵀK⁻¹y − ½ log|K| − n/2 log 2π
//
// plus Gaussian priors in log space: a weak one on the length scales and
// σf (standard deviation gpPriorSD, centred on the first starting point)
// that only keeps L-BFGS out of degenerate corners, and a moderate one on
// σn (see gpNoisePriorMean) against interpolating fits. The gradient is analytic:
//
//	∂/∂θ_j log p = ½ tr((ααᵀ − K⁻¹) ∂K/∂θ_j),  α = K⁻¹y.
//
// For n beyond gpMaxPoints the model is a subset-of-data GP: hyperparameters
// are fitted on the first gpHyperPoints rows of a seeded permutation, and
// the posterior mean is conditioned on the first gpMaxPoints rows of it.
// The predictive variance, whose cost per prediction grows with the square
// of the conditioning rows (the mean's only linearly), is that of the GP
// conditioned on the first gpVariancePoints of those rows: a subset-of-data
// variance, at least the full posterior's, which the conformal calibration
// then rescales (its scores use the same σ, see trainTarget).

// gpVariancePoints bounds the rows behind the predictive variance. A model
// conditioned on more rows than this keeps the exact posterior mean on all
// of them and takes σ from its first gpVariancePoints rows, so a full
// prediction stays well under a millisecond however many rows the mean
// uses. Models of at most this many rows are exact in both.
const gpVariancePoints = 500

// gpPriorSD is the standard deviation of the weak log-space prior on the
// length scales and the signal standard deviation.
const gpPriorSD = 3.0

// gpNoisePriorMean and gpNoisePriorSD define the prior on log σn (targets
// are standardized): centred on σn = 0.3 with standard deviation 1, so
// noise levels from about 0.04 to 2.2 of the target's spread are all
// plausible, while the interpolating optimum σn → 0, which a small subset
// often prefers and which calibrates badly on new projects, is not.
const (
	gpNoisePriorMean = -1.2039728043259361 // log(0.3)
	gpNoisePriorSD   = 1.0
)

// gpJitter is added to the noise variance relative to the signal variance,
// bounding the condition number of K.
const gpJitter = 1e-6

// gpModel is a fitted Gaussian process. Immutable after fitting.
type gpModel struct {
	d      int
	logLen []float64 // d
	logSf  float64
	logSn  float64
	x      []float64 // m×d row-major conditioning inputs
	y      []float64 // m targets (standardized, zero prior mean)

	// derived from the fields above by prepare
	m       int
	mv      int // rows behind the variance: min(m, gpVariancePoints)
	invLen2 []float64
	sf2     float64
	sn2     float64
	u       []float64 // mv×mv upper Cholesky factor of K over the first mv rows (row-major)
	alpha   []float64
}

func (g *gpModel) kind() ModelKind { return KindGP }

// kernelVec writes k(x, x_i) (signal part) for every conditioning row i.
func (g *gpModel) kernelVec(x []float64, dst []float64) {
	d := g.d
	for i := 0; i < g.m; i++ {
		row := g.x[i*d : i*d+d]
		s := 0.0
		for k, v := range row {
			t := x[k] - v
			s += t * t * g.invLen2[k]
		}
		dst[i] = g.sf2 * math.Exp(-0.5*s)
	}
}

func (g *gpModel) predictMean(x []float64) float64 {
	ks := make([]float64, g.m)
	g.kernelVec(x, ks)
	s := 0.0
	for i, k := range ks {
		s += k * g.alpha[i]
	}
	return s
}

// groupMeans returns, for each feature group, the posterior mean at x with
// that group's columns replaced by ref's. It shares one pass over the
// conditioning rows: each row's squared distance is split by group, so a
// replacement only swaps that group's share (one exp per row and group).
func (g *gpModel) groupMeans(x, ref []float64) [numGroups]float64 {
	var out [numGroups]float64
	// Groups whose columns already equal the reference (a missing value
	// sits at the training mean) keep the unmodified mean: no exp needed.
	var same [numGroups]bool
	for gi := 0; gi < numGroups; gi++ {
		lo, hi := groupColumns(gi)
		same[gi] = equalSlices(x[lo:hi], ref[lo:hi])
	}
	d := g.d
	for i := 0; i < g.m; i++ {
		row := g.x[i*d : i*d+d]
		var cx, cr [numGroups]float64
		total := 0.0
		for gi := 0; gi < numGroups; gi++ {
			lo, hi := groupColumns(gi)
			for c := lo; c < hi; c++ {
				dx, dr := x[c]-row[c], ref[c]-row[c]
				cx[gi] += dx * dx * g.invLen2[c]
				cr[gi] += dr * dr * g.invLen2[c]
			}
			total += cx[gi]
		}
		w := g.sf2 * g.alpha[i]
		full := w * math.Exp(-0.5*total)
		for gi := 0; gi < numGroups; gi++ {
			if same[gi] {
				out[gi] += full
			} else {
				out[gi] += w * math.Exp(-0.5*(total-cx[gi]+cr[gi]))
			}
		}
	}
	return out
}

// substitutedMeans returns the posterior mean at x with columns cols
// replaced by each row's (rows are full encoded rows; only cols are read).
// One pass over the conditioning rows computes the distance over the other
// columns once per row.
func (g *gpModel) substitutedMeans(x []float64, cols []int, rows [][]float64) []float64 {
	out := make([]float64, len(rows))
	replaced := make([]bool, g.d)
	for _, c := range cols {
		replaced[c] = true
	}
	d := g.d
	for i := 0; i < g.m; i++ {
		row := g.x[i*d : i*d+d]
		base := 0.0
		for c := 0; c < d; c++ {
			if !replaced[c] {
				dx := x[c] - row[c]
				base += dx * dx * g.invLen2[c]
			}
		}
		w := g.sf2 * g.alpha[i]
		for r, sr := range rows {
			t := base
			for _, c := range cols {
				dr := sr[c] - row[c]
				t += dr * dr * g.invLen2[c]
			}
			out[r] += w * math.Exp(-0.5*t)
		}
	}
	return out
}

func (g *gpModel) predict(x []float64) (float64, float64) {
	m := g.m
	ks := make([]float64, m)
	g.kernelVec(x, ks)
	mu := 0.0
	for i, k := range ks {
		mu += k * g.alpha[i]
	}
	// Solve Uᵀv = k (K = UᵀU, over the first mv rows) with BLAS; then
	// kᵀK⁻¹k = vᵀv.
	mv := g.mv
	v := ks[:mv]
	blas64.Trsv(blas.Trans, blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: mv, Stride: mv, Data: g.u}, blas64.Vector{N: mv, Inc: 1, Data: v})
	q := blas64.Dot(blas64.Vector{N: mv, Inc: 1, Data: v}, blas64.Vector{N: mv, Inc: 1, Data: v})
	variance := g.sf2 - q
	if variance < 0 {
		variance = 0
	}
	return mu, math.Sqrt(variance + g.sn2)
}

// prepare derives the Cholesky factor and α from the stored fields. It
// fails when the fields are inconsistent or K is not positive definite.
func (g *gpModel) prepare() error {
	if g.d <= 0 || len(g.logLen) != g.d || len(g.y) == 0 || len(g.x) != len(g.y)*g.d {
		return errors.New("metalearn: inconsistent GP dimensions")
	}
	for _, v := range append(append([]float64{g.logSf, g.logSn}, g.logLen...), g.x...) {
		if !finite(v) {
			return errors.New("metalearn: non-finite GP parameter")
		}
	}
	for _, v := range g.y {
		if !finite(v) {
			return errors.New("metalearn: non-finite GP target")
		}
	}
	if math.Abs(g.logSf) > 20 || math.Abs(g.logSn) > 20 {
		return errors.New("metalearn: GP variance out of range")
	}
	g.m = len(g.y)
	g.invLen2 = make([]float64, g.d)
	for k, l := range g.logLen {
		if math.Abs(l) > 20 {
			return errors.New("metalearn: GP length scale out of range")
		}
		g.invLen2[k] = math.Exp(-2 * l)
	}
	g.sf2 = math.Exp(2 * g.logSf)
	g.sn2 = math.Exp(2*g.logSn) + gpJitter*g.sf2
	kmat := g.gram(g.x, g.m)
	var chol mat.Cholesky
	if !chol.Factorize(kmat) {
		return errors.New("metalearn: GP kernel matrix is not positive definite")
	}
	alpha := mat.NewVecDense(g.m, nil)
	if err := chol.SolveVecTo(alpha, mat.NewVecDense(g.m, append([]float64(nil), g.y...))); err != nil {
		var c mat.Condition
		if !errors.As(err, &c) {
			return fmt.Errorf("metalearn: GP solve: %w", err)
		}
	}
	g.alpha = alpha.RawVector().Data
	// The leading mv×mv block of K is the kernel of the first mv rows, and
	// its Cholesky factor is the leading block of K's (K = UᵀU with U upper
	// triangular), so the variance subset needs no second factorization.
	g.mv = min(g.m, gpVariancePoints)
	// RawU shares the factor's storage (no m×m copy); only the leading
	// block is copied out.
	ut, ok := chol.RawU().(*mat.TriDense)
	if !ok {
		ut = &mat.TriDense{}
		chol.UTo(ut)
	}
	raw := ut.RawTriangular()
	mv := g.mv
	g.u = make([]float64, mv*mv)
	for i := 0; i < mv; i++ {
		copy(g.u[i*mv+i:i*mv+mv], raw.Data[i*raw.Stride+i:i*raw.Stride+mv])
	}
	return nil
}

// gram returns K (signal plus noise) over the n rows of x.
func (g *gpModel) gram(x []float64, n int) *mat.SymDense {
	d := g.d
	k := mat.NewSymDense(n, nil)
	raw := k.RawSymmetric()
	for i := 0; i < n; i++ {
		xi := x[i*d : i*d+d]
		raw.Data[i*raw.Stride+i] = g.sf2 + g.sn2
		for j := i + 1; j < n; j++ {
			xj := x[j*d : j*d+d]
			s := 0.0
			for t := 0; t < d; t++ {
				u := xi[t] - xj[t]
				s += u * u * g.invLen2[t]
			}
			raw.Data[i*raw.Stride+j] = g.sf2 * math.Exp(-0.5*s)
		}
	}
	return k
}

// gpObjective evaluates the negative log marginal likelihood (plus the weak
// prior) and its gradient on a fixed data set, caching the last point so
// that gonum's separate Func and Grad calls share one factorization.
type gpObjective struct {
	d, n  int
	x     []float64
	y     []float64
	prior []float64
	lastX []float64
	lastF float64
	lastG []float64
	kf    []float64 // n×n signal kernel, upper triangle used
}

func newGPObjective(x, y []float64, d int, prior []float64) *gpObjective {
	n := len(y)
	return &gpObjective{d: d, n: n, x: x, y: y, prior: prior, lastG: make([]float64, d+2), kf: make([]float64, n*n)}
}

func (o *gpObjective) eval(theta []float64) {
	if o.lastX != nil && equalSlices(o.lastX, theta) {
		return
	}
	o.lastX = append(o.lastX[:0], theta...)
	d, n := o.d, o.n
	invLen2 := make([]float64, d)
	for k := 0; k < d; k++ {
		invLen2[k] = math.Exp(-2 * clampLog(theta[k]))
	}
	sf2 := math.Exp(2 * clampLog(theta[d]))
	sn2 := math.Exp(2*clampLog(theta[d+1])) + gpJitter*sf2
	kmat := mat.NewSymDense(n, nil)
	raw := kmat.RawSymmetric()
	for i := 0; i < n; i++ {
		xi := o.x[i*d : i*d+d]
		o.kf[i*n+i] = sf2
		raw.Data[i*raw.Stride+i] = sf2 + sn2
		for j := i + 1; j < n; j++ {
			xj := o.x[j*d : j*d+d]
			s := 0.0
			for t := 0; t < d; t++ {
				u := xi[t] - xj[t]
				s += u * u * invLen2[t]
			}
			kv := sf2 * math.Exp(-0.5*s)
			o.kf[i*n+j] = kv
			raw.Data[i*raw.Stride+j] = kv
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(kmat) {
		// Not positive definite (cannot happen with the noise floor short
		// of overflow): report a huge value so the line search backs off.
		o.lastF = math.MaxFloat64 / 4
		for i := range o.lastG {
			o.lastG[i] = 0
		}
		return
	}
	alphaV := mat.NewVecDense(n, nil)
	_ = chol.SolveVecTo(alphaV, mat.NewVecDense(n, append([]float64(nil), o.y...)))
	alpha := alphaV.RawVector().Data
	var kinv mat.SymDense
	_ = chol.InverseTo(&kinv)
	kr := kinv.RawSymmetric()

	f := 0.5*dot(o.y, alpha) + 0.5*chol.LogDet() + 0.5*float64(n)*math.Log(2*math.Pi)
	g := o.lastG
	for i := range g {
		g[i] = 0
	}
	// W = K⁻¹ − ααᵀ; ∂f/∂θ = ½ tr(W ∂K/∂θ).
	trW := 0.0
	gsf := 0.0
	for i := 0; i < n; i++ {
		wii := kr.Data[i*kr.Stride+i] - alpha[i]*alpha[i]
		trW += wii
		gsf += wii * o.kf[i*n+i]
		xi := o.x[i*d : i*d+d]
		for j := i + 1; j < n; j++ {
			w := kr.Data[i*kr.Stride+j] - alpha[i]*alpha[j]
			wk := w * o.kf[i*n+j]
			gsf += 2 * wk
			xj := o.x[j*d : j*d+d]
			// off-diagonal pairs count twice in the trace; ½·2 = 1.
			for t := 0; t < d; t++ {
				u := xi[t] - xj[t]
				g[t] += wk * u * u * invLen2[t]
			}
		}
	}
	// ∂K/∂logσf = 2·Kf → ½·tr(W·2Kf) = Σ W∘Kf.
	// The jitter gpJitter·σf² adds 2·gpJitter·σf²·I to ∂K/∂logσf.
	g[d] = gsf + trW*gpJitter*sf2
	// ∂K/∂logσn = 2σn²·I (the jitter is not a parameter).
	g[d+1] = trW * (sn2 - gpJitter*sf2)
	// Priors.
	for i, t := range theta {
		mean, sd := o.prior[i], gpPriorSD
		if i == d+1 {
			mean, sd = gpNoisePriorMean, gpNoisePriorSD
		}
		z := (t - mean) / sd
		f += 0.5 * z * z
		g[i] += z / sd
	}
	o.lastF = f
}

// clampLog keeps a log-hyperparameter in a range where exp neither
// overflows nor underflows.
func clampLog(v float64) float64 { return math.Max(-15, math.Min(15, v)) }

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func equalSlices(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// gpStarts returns the deterministic starting points of the hyperparameter
// search: length scales proportional to √d (a typical distance between
// standardized rows), unit signal variance, and three noise levels.
func gpStarts(d, restarts int) [][]float64 {
	base := []struct{ lenMul, sn float64 }{
		{1, 0.3}, {0.5, 0.1}, {2, 0.6}, {0.25, 0.2}, {4, 0.9},
	}
	if restarts < 1 {
		restarts = 1
	}
	if restarts > len(base) {
		restarts = len(base)
	}
	out := make([][]float64, restarts)
	for r := 0; r < restarts; r++ {
		th := make([]float64, d+2)
		l := math.Log(base[r].lenMul * math.Sqrt(float64(d)))
		for k := 0; k < d; k++ {
			th[k] = l
		}
		th[d] = 0
		th[d+1] = math.Log(base[r].sn)
		out[r] = th
	}
	return out
}

// fitGP fits the hyperparameters with L-BFGS from each starting point of
// gpStarts, keeps the one with the best penalised likelihood, and
// conditions the posterior on up to gpMaxPoints rows.
func fitGP(ctx context.Context, x [][]float64, y []float64, cfg fitConfig) (*gpModel, error) {
	n := len(x)
	if n < 3 {
		return nil, errors.New("metalearn: GP needs at least 3 rows")
	}
	d := encodedDim
	order := newRand(cfg.seed, 2).Perm(n)
	mPts := min(n, max(cfg.gpMaxPoints, 3))
	hPts := min(mPts, max(cfg.gpHyperPoint, 3))
	flat := func(k int) ([]float64, []float64) {
		fx := make([]float64, k*d)
		fy := make([]float64, k)
		for i := 0; i < k; i++ {
			copy(fx[i*d:i*d+d], x[order[i]])
			fy[i] = y[order[i]]
		}
		return fx, fy
	}
	hx, hy := flat(hPts)
	starts := gpStarts(d, cfg.gpRestarts)
	obj := newGPObjective(hx, hy, d, starts[0])
	var best []float64
	bestF := math.Inf(1)
	for _, s := range starts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		problem := optimize.Problem{
			Func: func(t []float64) float64 { obj.eval(t); return obj.lastF },
			Grad: func(grad, t []float64) { obj.eval(t); copy(grad, obj.lastG) },
			Status: func() (optimize.Status, error) {
				if err := ctx.Err(); err != nil {
					return optimize.Failure, err
				}
				return optimize.NotTerminated, nil
			},
		}
		settings := &optimize.Settings{
			GradientThreshold: 1e-3,
			MajorIterations:   cfg.gpMaxIter,
			FuncEvaluations:   3 * cfg.gpMaxIter,
			Converger:         &optimize.FunctionConverge{Absolute: 1e-4, Relative: 1e-6, Iterations: 5},
		}
		// A run that stops on a limit or a failed line search still reports
		// the best point it reached, which is all we need.
		res, _ := optimize.Minimize(problem, s, settings, &optimize.LBFGS{})
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if res != nil && finite(res.F) && res.F < bestF {
			bestF = res.F
			best = append([]float64(nil), res.X...)
		}
	}
	if best == nil {
		return nil, errors.New("metalearn: GP hyperparameter search failed from every start")
	}
	mx, my := flat(mPts)
	g := &gpModel{d: d, logLen: make([]float64, d), x: mx, y: my}
	for k := 0; k < d; k++ {
		g.logLen[k] = clampLog(best[k])
	}
	g.logSf = clampLog(best[d])
	g.logSn = clampLog(best[d+1])
	if err := g.prepare(); err != nil {
		return nil, err
	}
	return g, nil
}
