package metalearn

import (
	"context"
	"math"
	"testing"
)

// TestGPGradient compares the analytic gradient of the objective with
// central finite differences.
func TestGPGradient(t *testing.T) {
	t.Parallel()
	hist := synthHistory(30, 3)
	raws := make([][numNumeric]float64, len(hist))
	for i, r := range hist {
		raws[i] = rawNumerics(r.Features)
	}
	enc := fitEncoder(raws)
	d := encodedDim
	x := make([]float64, len(hist)*d)
	y := make([]float64, len(hist))
	for i, r := range hist {
		enc.encodeRaw(r.Features.ProblemClass, raws[i], x[i*d:i*d+d])
		y[i] = (r.Outcome.SuccessScore - 50) / 20
	}
	theta := gpStarts(d, 1)[0]
	for k := range theta {
		theta[k] += 0.1 * math.Sin(float64(k+1)) // off the prior mean
	}
	obj := newGPObjective(x, y, d, gpStarts(d, 1)[0])
	obj.eval(theta)
	grad := append([]float64(nil), obj.lastG...)
	for k := range theta {
		const h = 1e-5
		tp := append([]float64(nil), theta...)
		tm := append([]float64(nil), theta...)
		tp[k] += h
		tm[k] -= h
		obj.eval(tp)
		fp := obj.lastF
		obj.eval(tm)
		fm := obj.lastF
		num := (fp - fm) / (2 * h)
		if math.Abs(num-grad[k]) > 1e-4*math.Max(1, math.Abs(num)) {
			t.Errorf("d/dθ[%d]: analytic %.8g, numeric %.8g", k, grad[k], num)
		}
	}
}

func TestGPFitsSmoothFunction(t *testing.T) {
	t.Parallel()
	// y depends on two columns only; ARD should make the others' length
	// scales long and predict held-out points well.
	rng := newRand(1, 9)
	mk := func(n int) ([][]float64, []float64) {
		xs := make([][]float64, n)
		ys := make([]float64, n)
		for i := range xs {
			xs[i] = make([]float64, encodedDim)
			for k := range xs[i] {
				xs[i][k] = rng.NormFloat64()
			}
			ys[i] = math.Sin(xs[i][numClasses]) + 0.5*xs[i][numClasses+1]*xs[i][numClasses+1] + 0.05*rng.NormFloat64()
		}
		return xs, ys
	}
	xs, ys := mk(90)
	g, err := fitGP(context.Background(), xs, ys, fitConfig{seed: 1, gpMaxPoints: 90, gpHyperPoint: 90, gpRestarts: 1, gpMaxIter: 50})
	if err != nil {
		t.Fatal(err)
	}
	tx, ty := mk(100)
	var p []float64
	for _, x := range tx {
		mu, sd := g.predict(x)
		if !(sd > 0) {
			t.Fatalf("predictive sd %v", sd)
		}
		p = append(p, mu)
	}
	mae := maeOf(ty, p)
	base := maeOf(ty, make([]float64, len(ty)))
	t.Logf("GP held-out MAE %.3f vs zero predictor %.3f; log length scales of the two relevant columns %.2f %.2f, an irrelevant one %.2f",
		mae, base, g.logLen[numClasses], g.logLen[numClasses+1], g.logLen[0])
	if mae > 0.35*base {
		t.Errorf("GP MAE %.3f not well below %.3f", mae, base)
	}
	if g.logLen[0] <= g.logLen[numClasses] {
		t.Errorf("irrelevant column has shorter length scale than a relevant one")
	}
}

func TestGPContextCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Train(ctx, synthHistory(40, 1), fastOptions()...)
	if err == nil {
		t.Fatal("Train on a canceled context succeeded")
	}
}

// TestGPGroupMeans checks the one-pass group replacement against
// re-predicting each modified row.
func TestGPGroupMeans(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	var g *gpModel
	for _, tm := range m.targets {
		if gp, ok := tm.fit.reg.(*gpModel); ok {
			g = gp
		}
	}
	if g == nil {
		t.Fatal("no GP in the shared model")
	}
	x := make([]float64, encodedDim)
	m.enc.encode(synthHistory(1, 31)[0].Features, x)
	ref := make([]float64, encodedDim)
	copy(ref, m.classMean[:])
	fast := g.groupMeans(x, ref)
	row := make([]float64, encodedDim)
	for gi := 0; gi < numGroups; gi++ {
		copy(row, x)
		lo, hi := groupColumns(gi)
		copy(row[lo:hi], ref[lo:hi])
		if slow := g.predictMean(row); math.Abs(slow-fast[gi]) > 1e-9*math.Max(1, math.Abs(slow)) {
			t.Errorf("group %d: %v vs %v", gi, fast[gi], slow)
		}
	}
}
