package minilm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLinearKernels compares linear (the assembly kernel where the CPU
// has one) with the portable BLAS path, odd row counts included.
func TestLinearKernels(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ rows, in, n int }{{1, 8, 4}, {3, 384, 1152}, {7, 1536, 384}, {2, 16, 8}, {5, 12, 6}, {45, 1536, 8}, {171, 384, 4}} {
		x := make([]float32, c.rows*c.in)
		w := make([]float32, c.n*c.in)
		bias := make([]float32, c.n)
		for _, s := range [][]float32{x, w, bias} {
			for i := range s {
				s[i] = float32(r.NormFloat64())
			}
		}
		got := make([]float32, c.rows*c.n)
		want := make([]float32, c.rows*c.n)
		linear(got, x, c.rows, c.in, w, bias)
		linearBLAS(want, x, c.rows, c.in, w, bias)
		for i := range got {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-3*math.Sqrt(float64(c.in)) {
				t.Fatalf("%+v: element %d = %g, BLAS %g", c, i, got[i], want[i])
			}
		}
	}
}

func BenchmarkLinear(b *testing.B) {
	x := make([]float32, 100*384)
	w := make([]float32, 1536*384)
	bias := make([]float32, 1536)
	out := make([]float32, 100*1536)
	b.Run("kernel", func(b *testing.B) {
		for b.Loop() {
			linear(out, x, 100, 384, w, bias)
		}
	})
	b.Run("blas", func(b *testing.B) {
		for b.Loop() {
			linearBLAS(out, x, 100, 384, w, bias)
		}
	})
}

func TestErf32(t *testing.T) {
	t.Parallel()
	worst := 0.0
	for x := -6.0; x <= 6.0; x += 1e-4 {
		worst = max(worst, math.Abs(float64(erf32(float32(x)))-math.Erf(x)))
	}
	t.Logf("erf32: largest absolute error %.2g on [-6, 6]", worst)
	if worst > 1e-6 {
		t.Errorf("erf32 error %.2g, want <= 1e-6", worst)
	}
}

// TestStridedKernel compares gemmNTFast on strided operands with a
// column count that is not a multiple of 4 (the attention scores) with
// gonum's BLAS.
func TestStridedKernel(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	const m, n, k, lda, ldb = 7, 7, 32, 96, 100
	a := make([]float32, m*lda)
	b := make([]float32, n*ldb)
	for _, s := range [][]float32{a, b} {
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
	}
	got := make([]float32, m*n)
	want := make([]float32, m*n)
	if !gemmNTFast(m, n, k, 0.5, a, lda, b, ldb, nil, got, n) {
		t.Skip("no assembly kernel on this CPU or build")
	}
	gemmNT(m, n, k, 0.5, a, lda, b, ldb, 0, want, n)
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-4 {
			t.Fatalf("element %d = %g, BLAS %g", i, got[i], want[i])
		}
	}
}

func TestExpNeg32(t *testing.T) {
	t.Parallel()
	worst := 0.0
	for x := -87.0; x <= 0; x += 1e-3 {
		want := math.Exp(float64(float32(x)))
		worst = max(worst, math.Abs(float64(expNeg32(float32(x)))-want)/want)
	}
	t.Logf("expNeg32: largest relative error %.2g on [-87, 0]", worst)
	if worst > 3e-7 || expNeg32(-100) != 0 || expNeg32(0) != 1 {
		t.Errorf("expNeg32: relative error %.2g, e^-100 = %g, e^0 = %g", worst, expNeg32(-100), expNeg32(0))
	}
}
