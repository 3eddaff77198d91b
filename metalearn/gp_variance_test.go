package metalearn

import (
	"math"
	"testing"
)

// TestGPMeanOnAllRowsVarianceOnSubset checks the large-GP approximation: a
// GP conditioned on more than gpVariancePoints rows predicts the exact
// posterior mean of all its rows, and the predictive σ of the GP on its
// first gpVariancePoints rows, with a variance factor no larger than
// gpVariancePoints² (what bounds the cost of a prediction).
func TestGPMeanOnAllRowsVarianceOnSubset(t *testing.T) {
	t.Parallel()
	const m = gpVariancePoints + 150
	d := encodedDim
	rng := newRand(7, 0)
	x := make([]float64, m*d)
	y := make([]float64, m)
	for i := 0; i < m; i++ {
		for k := 0; k < d; k++ {
			x[i*d+k] = rng.NormFloat64()
		}
		y[i] = math.Sin(x[i*d+numClasses]) + 0.5*x[i*d+numClasses+1] + 0.1*rng.NormFloat64()
	}
	newGP := func(rows int) *gpModel {
		g := &gpModel{d: d, logLen: make([]float64, d), logSf: 0, logSn: math.Log(0.2),
			x: append([]float64(nil), x[:rows*d]...), y: append([]float64(nil), y[:rows]...)}
		for k := range g.logLen {
			g.logLen[k] = math.Log(3)
		}
		if err := g.prepare(); err != nil {
			t.Fatal(err)
		}
		return g
	}
	full, sub := newGP(m), newGP(gpVariancePoints)
	if len(full.u) != gpVariancePoints*gpVariancePoints {
		t.Fatalf("variance factor has %d entries, want %d", len(full.u), gpVariancePoints*gpVariancePoints)
	}
	// The exact posterior mean on all m rows, from a dense solve.
	kmat := full.gram(full.x, m)
	for i := 0; i < 5; i++ {
		q := make([]float64, d)
		for k := range q {
			q[k] = rng.NormFloat64()
		}
		mu, sigma := full.predict(q)
		_, wantSigma := sub.predict(q)
		if math.Abs(sigma-wantSigma) > 1e-9 {
			t.Errorf("σ = %v, want the %d-row GP's %v", sigma, gpVariancePoints, wantSigma)
		}
		if mean := full.predictMean(q); math.Abs(mu-mean) > 1e-9 {
			t.Errorf("predict μ %v != predictMean %v", mu, mean)
		}
		// Kα = y must hold for the α behind the mean: the mean uses all rows.
		if i == 0 {
			for r := 0; r < m; r += 97 {
				s := 0.0
				for c := 0; c < m; c++ {
					s += kmat.At(r, c) * full.alpha[c]
				}
				if math.Abs(s-y[r]) > 1e-6 {
					t.Fatalf("row %d: (Kα)ᵢ = %v, want yᵢ = %v", r, s, y[r])
				}
			}
		}
		if subMu, _ := sub.predict(q); mu == subMu {
			t.Errorf("mean ignored the rows beyond %d", gpVariancePoints)
		}
	}
}
