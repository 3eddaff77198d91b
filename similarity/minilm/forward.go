package minilm

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// arena holds the activations of one forward pass; it is reused across
// calls through the Embedder's pool.
type arena struct {
	h, qkv, ctx, tmp, inter, scores []float32
}

// grow returns buf resized to n, reallocating only when it is too small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// gemmNT computes c = a·bᵀ + beta·c for row-major a (m×k, stride lda),
// b (n×k, stride ldb) and c (m×n, stride ldc) with gonum's float32 BLAS.
func gemmNT(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	blas32.Gemm(blas.NoTrans, blas.Trans, alpha,
		blas32.General{Rows: m, Cols: k, Stride: lda, Data: a},
		blas32.General{Rows: n, Cols: k, Stride: ldb, Data: b},
		beta, blas32.General{Rows: m, Cols: n, Stride: ldc, Data: c})
}

// gemmNN computes c = a·b for row-major a (m×k), b (k×n) and c (m×n).
func gemmNN(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
		blas32.General{Rows: m, Cols: k, Stride: lda, Data: a},
		blas32.General{Rows: k, Cols: n, Stride: ldb, Data: b},
		0, blas32.General{Rows: m, Cols: n, Stride: ldc, Data: c})
}

// linear computes out = x·wᵀ + bias for the rows of x (rows×in); w is
// (len(bias)×in).
func linear(out, x []float32, rows, in int, w, bias []float32) {
	if linearFast(out, x, rows, in, w, bias) {
		return
	}
	linearBLAS(out, x, rows, in, w, bias)
}

// linearBLAS is linear on gonum's BLAS, the portable path.
func linearBLAS(out, x []float32, rows, in int, w, bias []float32) {
	n := len(bias)
	for r := range rows {
		copy(out[r*n:(r+1)*n], bias)
	}
	gemmNT(rows, n, in, 1, x, in, w, in, 1, out, n)
}

// layerNorm normalises each hidden-long row of x in place.
func layerNorm(x, w, b []float32) {
	for off := 0; off < len(x); off += hidden {
		row := x[off : off+hidden]
		var sum float64
		for _, v := range row {
			sum += float64(v)
		}
		mean := sum / hidden
		var ss float64
		for _, v := range row {
			d := float64(v) - mean
			ss += d * d
		}
		inv := 1 / math.Sqrt(ss/hidden+lnEps)
		for i, v := range row {
			row[i] = float32((float64(v)-mean)*inv)*w[i] + b[i]
		}
	}
}

// gelu applies BERT's exact GELU, x·Φ(x) = x/2·(1 + erf(x/√2)), in place.
func gelu(x []float32) {
	for i, v := range x {
		x[i] = 0.5 * v * (1 + erf32(v*(1/math.Sqrt2)))
	}
}

// erf32 is the error function in float32 arithmetic: the rational
// approximation on [-4, 4] used by Eigen and TensorFlow for float (erf is
// ±1 to float32 precision beyond), absolute error below 1e-6
// (TestErf32), about ten times faster than math.Erf.
func erf32(x float32) float32 {
	x = min(max(x, -4), 4)
	x2 := x * x
	p := x2*-2.72614225801306e-10 + 2.77068142495902e-08
	p = x2*p + -2.10102402082508e-06
	p = x2*p + -5.69250639462346e-05
	p = x2*p + -7.34990630326855e-04
	p = x2*p + -2.95459980854025e-03
	p = x2*p + -1.60960333262415e-02
	p *= x
	q := x2*-1.45660718464996e-05 + -2.13374055278905e-04
	q = x2*q + -1.68282697438203e-03
	q = x2*q + -7.37332916720468e-03
	q = x2*q + -1.42647390514189e-02
	return p / q
}

// expNeg32 is e^x for x <= 0 in float32 arithmetic (Cephes' expf: x =
// n·ln 2 + r, a degree-5 polynomial for e^r, 2^n from the exponent bits),
// relative error below 3e-7 (TestExpNeg32); 0 below -87.
func expNeg32(x float32) float32 {
	if x < -87 {
		return 0
	}
	n := float32(math.Floor(float64(x*math.Log2E + 0.5)))
	r := x - n*0.693359375 - n*-2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	e := p*r*r + r + 1
	return e * math.Float32frombits(uint32(int32(n)+127)<<23) // #nosec G115 -- n is in [-126, 0] here, so the biased exponent is in [1, 127]
}

// softmaxRows turns each n-long row of s into a probability distribution.
func softmaxRows(s []float32, n int) {
	for off := 0; off < len(s); off += n {
		row := s[off : off+n]
		mx := row[0]
		for _, v := range row[1:] {
			mx = max(mx, v)
		}
		var sum float32
		for i, v := range row {
			e := expNeg32(v - mx)
			row[i] = e
			sum += e
		}
		inv := 1 / sum
		for i := range row {
			row[i] *= inv
		}
	}
}

// forward runs the model on token sequences ([CLS] … [SEP], each at most
// maxTokens long) and writes each one's mean-pooled, L2-normalised
// embedding to out[i] (hidden long). The sequences are packed one after
// another, so the dense layers see no padding; attention stays within a
// sequence, which is what the attention mask does for a padded batch.
func (m *model) forward(seqs [][]int32, out [][]float32, a *arena) {
	total := 0
	for _, s := range seqs {
		total += len(s)
	}
	a.h = grow(a.h, total*hidden)
	a.qkv = grow(a.qkv, total*3*hidden)
	a.ctx = grow(a.ctx, total*hidden)
	a.tmp = grow(a.tmp, total*hidden)
	a.inter = grow(a.inter, total*ffn)
	h := a.h
	t := 0
	for _, s := range seqs {
		for p, id := range s {
			row := h[t*hidden : (t+1)*hidden]
			sc := m.wordScale[id]
			w := m.word[int(id)*hidden : (int(id)+1)*hidden]
			pos := m.pos[p*hidden : (p+1)*hidden]
			for j := range row {
				row[j] = sc*float32(int8(w[j])) + pos[j] + m.typ[j] // #nosec G115 -- reinterpreting the stored byte as a signed int8 weight is the format
			}
			t++
		}
	}
	layerNorm(h, m.lnW, m.lnB)
	scale := float32(1 / math.Sqrt(headDim))
	for li := range m.layers {
		l := &m.layers[li]
		linear(a.qkv, h, total, hidden, l.qkvW, l.qkvB)
		off := 0
		for _, s := range seqs {
			n := len(s)
			a.scores = grow(a.scores, n*n)
			for hd := range heads {
				q := a.qkv[off*3*hidden+hd*headDim:]
				k := a.qkv[off*3*hidden+hidden+hd*headDim:]
				v := a.qkv[off*3*hidden+2*hidden+hd*headDim:]
				if !gemmNTFast(n, n, headDim, scale, q, 3*hidden, k, 3*hidden, nil, a.scores, n) {
					gemmNT(n, n, headDim, scale, q, 3*hidden, k, 3*hidden, 0, a.scores, n)
				}
				softmaxRows(a.scores, n)
				gemmNN(n, headDim, n, a.scores, n, v, 3*hidden, a.ctx[off*hidden+hd*headDim:], hidden)
			}
			off += n
		}
		linear(a.tmp, a.ctx, total, hidden, l.attnW, l.attnB)
		for i, v := range h {
			a.tmp[i] += v
		}
		layerNorm(a.tmp, l.ln1W, l.ln1B)
		copy(h, a.tmp)
		linear(a.inter, h, total, hidden, l.interW, l.interB)
		gelu(a.inter)
		linear(a.tmp, a.inter, total, ffn, l.outW, l.outB)
		for i, v := range h {
			a.tmp[i] += v
		}
		layerNorm(a.tmp, l.ln2W, l.ln2B)
		copy(h, a.tmp)
	}
	off := 0
	for i, s := range seqs {
		acc := out[i]
		clear(acc)
		for r := off; r < off+len(s); r++ {
			for j, v := range h[r*hidden : (r+1)*hidden] {
				acc[j] += v
			}
		}
		off += len(s)
		var ss float64
		for _, v := range acc {
			ss += float64(v) * float64(v)
		}
		// The mean's direction: dividing by the token count first would
		// not change the unit vector.
		inv := 1 / math.Max(math.Sqrt(ss), 1e-12)
		for j, v := range acc {
			acc[j] = float32(float64(v) * inv)
		}
	}
}
