//go:build amd64 && !purego

package minilm

import "golang.org/x/sys/cpu"

// hasFMA reports AVX2 and FMA, which dot2x4 needs; set once at start-up
// and only read afterwards.
var hasFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dot2x4 writes the 8 dot products of rows a0, a1 with rows b0..b3 (each
// k long, k a positive multiple of 8) to out, row-major (kernel_amd64.s).
//
//go:noescape
func dot2x4(a0, a1, b0, b1, b2, b3 *float32, k int, out *[8]float32)

// linearFast computes out = x·wᵀ + bias like linear, with the AVX2/FMA
// kernel, and reports whether it could (CPU and shapes).
func linearFast(out, x []float32, rows, in int, w, bias []float32) bool {
	n := len(bias)
	if !hasFMA || in%8 != 0 || in == 0 || n%4 != 0 || rows == 0 ||
		len(x) < rows*in || len(w) < n*in || len(out) < rows*n {
		return false
	}
	var acc [8]float32
	// Blocks of 4 weight rows (outputs) outside, pairs of input rows
	// inside: the weight block stays in L1 while x streams from L2.
	for j := 0; j < n; j += 4 {
		b0, b1, b2, b3 := &w[j*in], &w[(j+1)*in], &w[(j+2)*in], &w[(j+3)*in]
		for i := 0; i < rows; i += 2 {
			i1 := min(i+1, rows-1) // an odd last row is computed twice
			dot2x4(&x[i*in], &x[i1*in], b0, b1, b2, b3, in, &acc)
			o := out[i*n+j : i*n+j+4]
			o[0], o[1], o[2], o[3] = acc[0]+bias[j], acc[1]+bias[j+1], acc[2]+bias[j+2], acc[3]+bias[j+3]
			if i1 != i {
				o = out[i1*n+j : i1*n+j+4]
				o[0], o[1], o[2], o[3] = acc[4]+bias[j], acc[5]+bias[j+1], acc[6]+bias[j+2], acc[7]+bias[j+3]
			}
		}
	}
	return true
}
