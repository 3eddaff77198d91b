package similarity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"

	"gonum.org/v1/gonum/blas/blas32"
)

// Embedder turns texts into vectors. Implementations return one vector per
// input text, in input order, all of the same length; Maestro's own
// embedders return unit-length (L2-normalised) vectors so that a dot
// product is the cosine similarity.
//
// Embed must not be called with an empty or blank text: Maestro's embedders
// report ErrEmptyInput instead of sending one. An Embedder must be safe for
// concurrent use.
type Embedder interface {
	// Embed returns the embeddings of texts, one per text, in order.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Model names the model that produces the vectors. Vectors of
	// different models are never compared.
	Model() string
	// Dimensions reports the length of the vectors, or 0 while it is not
	// yet known (an OpenAI-compatible embedder learns it from the first
	// response unless configured).
	Dimensions() int
}

// TokenLimiter is an optional interface of an Embedder whose model accepts
// at most MaxInputTokens tokens per text. The Service splits longer texts
// into chunks within that limit and pools their vectors, so nothing is
// silently truncated. A limit of 0 means unlimited.
type TokenLimiter interface {
	MaxInputTokens() int
}

// EmbedFunc is the signature of a function that embeds a batch of texts.
type EmbedFunc func(ctx context.Context, texts []string) ([][]float32, error)

// FuncEmbedder adapts an EmbedFunc to the Embedder interface. It checks the
// function's results: one vector per text, each of the declared dimension,
// finite and non-zero; vectors are returned L2-normalised. It is safe for
// concurrent use when fn is.
type FuncEmbedder struct {
	model string
	dims  int
	fn    EmbedFunc
}

var _ Embedder = (*FuncEmbedder)(nil)

// NewFuncEmbedder returns an Embedder named model that produces dims-long
// vectors with fn. It reports ErrInvalid for an empty model name,
// a non-positive dimension or a nil function.
func NewFuncEmbedder(model string, dims int, fn EmbedFunc) (*FuncEmbedder, error) {
	switch {
	case model == "":
		return nil, fmt.Errorf("%w: empty model name", ErrInvalid)
	case dims <= 0:
		return nil, fmt.Errorf("%w: dimensions %d", ErrInvalid, dims)
	case fn == nil:
		return nil, fmt.Errorf("%w: nil embed function", ErrInvalid)
	}
	return &FuncEmbedder{model: model, dims: dims, fn: fn}, nil
}

// Model implements Embedder.
func (f *FuncEmbedder) Model() string { return f.model }

// Dimensions implements Embedder.
func (f *FuncEmbedder) Dimensions() int { return f.dims }

// Embed implements Embedder.
func (f *FuncEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := checkInputs(texts); err != nil {
		return nil, err
	}
	if len(texts) == 0 {
		return nil, nil
	}
	out, err := f.fn(ctx, append([]string(nil), texts...))
	if err != nil {
		return nil, err
	}
	if len(out) != len(texts) {
		return nil, fmt.Errorf("%w: %d vectors for %d texts", ErrBadResponse, len(out), len(texts))
	}
	res := make([][]float32, len(out))
	for i, v := range out {
		if len(v) != f.dims {
			return nil, &DimensionError{Model: f.model, Want: f.dims, Got: len(v)}
		}
		n, err := normalized(v)
		if err != nil {
			return nil, fmt.Errorf("vector %d: %w", i, err)
		}
		res[i] = n
	}
	return res, nil
}

// checkInputs reports ErrEmptyInput for a blank text.
func checkInputs(texts []string) error {
	for i, t := range texts {
		if isBlank(t) {
			return fmt.Errorf("%w: text %d", ErrEmptyInput, i)
		}
	}
	return nil
}

// isBlank reports whether s holds only white space (Unicode's definition,
// as Python's str.strip and most servers use).
func isBlank(s string) bool { return strings.TrimFunc(s, unicode.IsSpace) == "" }

// normalized returns a unit-length copy of v. It reports ErrBadResponse for
// a vector with a NaN or infinite component or a zero norm.
func normalized(v []float32) ([]float32, error) {
	var ss float64
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%w: non-finite component", ErrBadResponse)
		}
		ss += f * f
	}
	if ss == 0 {
		return nil, fmt.Errorf("%w: zero vector", ErrBadResponse)
	}
	inv := 1 / math.Sqrt(ss)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out, nil
}

// dot returns the dot product of two vectors of equal length, with
// gonum's assembly kernels where the platform has them (about four times
// faster than a Go loop on amd64).
func dot(a, b []float32) float32 {
	n := len(a)
	return blas32.Dot(blas32.Vector{N: n, Inc: 1, Data: a}, blas32.Vector{N: n, Inc: 1, Data: b[:n]})
}

// Cosine returns the cosine similarity of two vectors of equal length, or
// 0 when either is a zero vector. It reports ErrDimensionMismatch for
// vectors of different lengths.
func Cosine(a, b []float32) (float64, error) {
	if len(a) != len(b) {
		return 0, &DimensionError{Want: len(a), Got: len(b)}
	}
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0, nil
	}
	return ab / math.Sqrt(aa*bb), nil
}

var errNilEmbedder = errors.New("similarity: nil embedder")
