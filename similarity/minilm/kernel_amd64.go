//go:build amd64 && !purego

package minilm

import "golang.org/x/sys/cpu"

// hasFMA reports AVX2 and FMA, which dot2x4 needs (x/sys/cpu detects
// them once at start-up).
func hasFMA() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// dot2x4 writes the 8 dot products of rows a0, a1 with rows b0..b3 (each
// k long, k a positive multiple of 8) to out, row-major (kernel_amd64.s).
//
//go:noescape
func dot2x4(a0, a1, b0, b1, b2, b3 *float32, k int, out *[8]float32)

// linearFast computes out = x·wᵀ + bias like linear, with the AVX2/FMA
// kernel, and reports whether it could (CPU and shapes).
func linearFast(out, x []float32, rows, in int, w, bias []float32) bool {
	n := len(bias)
	if len(x) < rows*in || len(w) < n*in || len(out) < rows*n {
		return false
	}
	return gemmNTFast(rows, n, in, 1, x, in, w, in, bias, out, n)
}

// gemmNTFast computes c = alpha·a·bᵀ (+ bias[j] in column j when bias is
// not nil) for row-major a (m×k, stride lda), b (n×k, stride ldb) and c
// (m×n, stride ldc) with the AVX2/FMA kernel, and reports whether it
// could: it needs the CPU features and k a positive multiple of 8. The
// last n%4 columns are plain Go.
func gemmNTFast(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, bias, c []float32, ldc int) bool {
	if !hasFMA() || k%8 != 0 || k == 0 || m == 0 || n == 0 {
		return false
	}
	var acc [8]float32
	at := func(j int) float32 {
		if bias == nil {
			return 0
		}
		return bias[j]
	}
	n4 := n &^ 3
	// Blocks of rows of a that fit in L2 (about 128 KB) outside, blocks
	// of 4 rows of b (columns of c) inside them, pairs of rows of a
	// innermost: the block of b stays in L1 and a is read from L2.
	rowBlock := max(2, (32<<10)/k&^1)
	for r0 := 0; r0 < m; r0 += rowBlock {
		r1 := min(r0+rowBlock, m)
		for j := 0; j < n4; j += 4 {
			b0, b1, b2, b3 := &b[j*ldb], &b[(j+1)*ldb], &b[(j+2)*ldb], &b[(j+3)*ldb]
			for i := r0; i < r1; i += 2 {
				i1 := min(i+1, r1-1) // an odd last row is computed twice
				dot2x4(&a[i*lda], &a[i1*lda], b0, b1, b2, b3, k, &acc)
				for jj := range 4 {
					c[i*ldc+j+jj] = alpha*acc[jj] + at(j+jj)
					c[i1*ldc+j+jj] = alpha*acc[4+jj] + at(j+jj)
				}
			}
		}
	}
	for i := range m {
		ar := a[i*lda : i*lda+k]
		for j := n4; j < n; j++ {
			var s float32
			for t, v := range b[j*ldb : j*ldb+k] {
				s += ar[t] * v
			}
			c[i*ldc+j] = alpha*s + at(j)
		}
	}
	return true
}
