package metalearn

import (
	"context"
	"errors"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ModelKind names a learning algorithm that Train can select.
type ModelKind string

// The model kinds Train compares by cross-validation.
const (
	// KindMean predicts the training mean: the baseline every other model
	// must beat.
	KindMean ModelKind = "mean"
	// KindRidge is ridge regression on the encoded features, its penalty
	// chosen by exact leave-one-out error.
	KindRidge ModelKind = "ridge"
	// KindRidgeQuadratic is ridge regression on the encoded features plus
	// all products and squares of the numeric features, so it can express
	// interactions such as an optimal team size that depends on complexity.
	KindRidgeQuadratic ModelKind = "ridge_quadratic"
	// KindGP is Gaussian-process regression with a squared-exponential
	// kernel with one length scale per encoded column (ARD), signal and
	// noise variance fitted by maximising the log marginal likelihood.
	KindGP ModelKind = "gp_ard"
)

// AllKinds returns every model kind in the order of increasing complexity,
// which is also the tie-break order of model selection.
func AllKinds() []ModelKind {
	return []ModelKind{KindMean, KindRidge, KindRidgeQuadratic, KindGP}
}

func (k ModelKind) valid() bool {
	switch k {
	case KindMean, KindRidge, KindRidgeQuadratic, KindGP:
		return true
	}
	return false
}

// regressor is a fitted model in standardized target space. predict returns
// the mean and a positive scale by which conformal scores are normalised
// (the predictive standard deviation for the GP, 1 for the others).
// Implementations are immutable after fitting and safe for concurrent use.
type regressor interface {
	kind() ModelKind
	predict(x []float64) (mu, sigma float64)
	predictMean(x []float64) float64
}

// fitConfig carries the training options a regressor needs.
type fitConfig struct {
	seed         uint64
	gpMaxPoints  int
	gpHyperPoint int
	gpRestarts   int
	gpMaxIter    int
}

// fitRegressor fits a regressor of kind k on rows x (each of length
// encodedDim) and targets y.
func fitRegressor(ctx context.Context, k ModelKind, x [][]float64, y []float64, cfg fitConfig) (regressor, error) {
	switch k {
	case KindMean:
		return meanModel{m: meanOf(y)}, nil
	case KindRidge:
		return fitRidge(x, y, false)
	case KindRidgeQuadratic:
		return fitRidge(x, y, true)
	case KindGP:
		return fitGP(ctx, x, y, cfg)
	}
	return nil, errors.New("metalearn: unknown model kind")
}

// meanModel predicts a constant.
type meanModel struct{ m float64 }

func (meanModel) kind() ModelKind                        { return KindMean }
func (m meanModel) predict([]float64) (float64, float64) { return m.m, 1 }
func (m meanModel) predictMean([]float64) float64        { return m.m }

// ridgeModel is ridge regression with an unpenalised intercept on
// standardized design columns.
type ridgeModel struct {
	quadratic bool
	lambda    float64
	intercept float64
	colMean   []float64
	colScale  []float64
	beta      []float64
}

func (r *ridgeModel) kind() ModelKind {
	if r.quadratic {
		return KindRidgeQuadratic
	}
	return KindRidge
}

// designDim returns the number of design columns for the variant.
func designDim(quadratic bool) int {
	if !quadratic {
		return encodedDim
	}
	return encodedDim + numNumeric*(numNumeric+1)/2
}

// design writes the raw (unstandardized) design row of x to dst.
func design(x []float64, quadratic bool, dst []float64) {
	copy(dst, x[:encodedDim])
	if !quadratic {
		return
	}
	k := encodedDim
	for i := 0; i < numNumeric; i++ {
		xi := x[numClasses+i]
		for j := i; j < numNumeric; j++ {
			dst[k] = xi * x[numClasses+j]
			k++
		}
	}
}

func (r *ridgeModel) predictMean(x []float64) float64 {
	var buf [encodedDim + numNumeric*(numNumeric+1)/2]float64
	row := buf[:len(r.beta)]
	design(x, r.quadratic, row)
	s := r.intercept
	for j, b := range r.beta {
		s += b * (row[j] - r.colMean[j]) / r.colScale[j]
	}
	return s
}

func (r *ridgeModel) predict(x []float64) (float64, float64) { return r.predictMean(x), 1 }

// ridgeLambdas is the penalty grid searched by leave-one-out error.
var ridgeLambdas = [...]float64{1e-3, 1e-2, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1e3, 3e3, 1e4}

// fitRidge fits ridge regression, choosing the penalty from ridgeLambdas by
// the exact leave-one-out squared error computed from one eigendecomposition.
func fitRidge(x [][]float64, y []float64, quadratic bool) (*ridgeModel, error) {
	n := len(x)
	p := designDim(quadratic)
	if n < 2 {
		return nil, errors.New("metalearn: ridge needs at least 2 rows")
	}
	phi := mat.NewDense(n, p, nil)
	raw := phi.RawMatrix()
	for i, row := range x {
		design(row, quadratic, raw.Data[i*raw.Stride:i*raw.Stride+p])
	}
	r := &ridgeModel{quadratic: quadratic, colMean: make([]float64, p), colScale: make([]float64, p)}
	col := make([]float64, n)
	for j := 0; j < p; j++ {
		mat.Col(col, j, phi)
		m, s := meanOf(col), stdOf(col)
		if !(s > 1e-12) {
			s = 1
		}
		r.colMean[j], r.colScale[j] = m, s
		for i := 0; i < n; i++ {
			phi.Set(i, j, (col[i]-m)/s)
		}
	}
	ym := meanOf(y)
	yc := make([]float64, n)
	for i := range y {
		yc[i] = y[i] - ym
	}
	var gram mat.SymDense
	gram.SymOuterK(1, phi.T())
	var eig mat.EigenSym
	if !eig.Factorize(&gram, true) {
		return nil, errors.New("metalearn: ridge eigendecomposition failed")
	}
	vals := eig.Values(nil)
	var v mat.Dense
	eig.VectorsTo(&v)
	var u mat.Dense
	u.Mul(phi, &v)
	uty := make([]float64, p)
	for k := 0; k < p; k++ {
		s := 0.0
		for i := 0; i < n; i++ {
			s += u.At(i, k) * yc[i]
		}
		uty[k] = s
	}
	best, bestErr := ridgeLambdas[0], math.Inf(1)
	for _, lam := range ridgeLambdas {
		press := 0.0
		for i := 0; i < n; i++ {
			fit, h := 0.0, 1/float64(n)
			for k := 0; k < p; k++ {
				uik := u.At(i, k)
				w := 1 / (math.Max(vals[k], 0) + lam)
				fit += uik * w * uty[k]
				h += uik * uik * w
			}
			den := 1 - h
			if den < 1e-6 {
				den = 1e-6
			}
			e := (yc[i] - fit) / den
			press += e * e
		}
		if press < bestErr {
			best, bestErr = lam, press
		}
	}
	r.lambda = best
	r.intercept = ym
	r.beta = make([]float64, p)
	for j := 0; j < p; j++ {
		s := 0.0
		for k := 0; k < p; k++ {
			s += v.At(j, k) * uty[k] / (math.Max(vals[k], 0) + best)
		}
		r.beta[j] = s
	}
	return r, nil
}
