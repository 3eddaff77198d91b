package minilm

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode"

	"github.com/maestro-ml/maestro/similarity"
)

// ModelName is the name the Embedder reports. It is the reference model's
// own name: the vectors agree with the reference implementation
// (tools/embedserver) to a cosine of at least 0.999 (see the package
// documentation), so vectors of both can share an index.
const ModelName = "all-MiniLM-L6-v2"

// Dimensions is the length of the vectors.
const Dimensions = hidden

// MaxInputTokens is the model's window: 256 tokens, [CLS] and [SEP]
// included.
const MaxInputTokens = maxTokens

// DefaultBatchTokens is the default number of tokens of one forward pass.
const DefaultBatchTokens = 1024

// maxBatchTokens bounds WithBatchTokens (about 126 MB of activations).
const maxBatchTokens = 8192

// Embedder is all-MiniLM-L6-v2 in pure Go: the model's WordPiece
// tokenizer, its 6-layer BERT encoder with int8-quantised weights, mean
// pooling and L2 normalisation. It is safe for concurrent use; concurrent
// calls run in parallel, each with its own buffers. Construct it with New.
type Embedder struct {
	m           *model
	batchTokens int
	arenas      sync.Pool // *arena
}

var (
	_ similarity.Embedder     = (*Embedder)(nil)
	_ similarity.TokenLimiter = (*Embedder)(nil)
)

// Option configures an Embedder.
type Option func(*Embedder) error

// WithBatchTokens sets how many tokens one forward pass holds at most
// (default DefaultBatchTokens; at least MaxInputTokens). Larger batches
// make fewer, larger matrix products and need more memory: 15 KB of
// activations per token (16 MB for the default) for each concurrent call.
// It reports similarity.ErrInvalid outside 256 to 8192.
func WithBatchTokens(n int) Option {
	return func(e *Embedder) error {
		if n < maxTokens || n > maxBatchTokens {
			return fmt.Errorf("%w: batch of %d tokens, want %d to %d", similarity.ErrInvalid, n, maxTokens, maxBatchTokens)
		}
		e.batchTokens = n
		return nil
	}
}

// New returns an Embedder. The first call in a process decodes the
// embedded weights (about 0.1 s and 43 MB of memory); later calls share
// them.
func New(opts ...Option) (*Embedder, error) {
	m, err := loadModel()
	if err != nil {
		return nil, err
	}
	e := &Embedder{m: m, batchTokens: DefaultBatchTokens}
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, err
		}
	}
	e.arenas.New = func() any { return new(arena) }
	return e, nil
}

// Model implements similarity.Embedder.
func (e *Embedder) Model() string { return ModelName }

// Dimensions implements similarity.Embedder.
func (e *Embedder) Dimensions() int { return Dimensions }

// MaxInputTokens implements similarity.TokenLimiter: the Service splits
// longer texts into chunks of at most this many approximate tokens.
func (e *Embedder) MaxInputTokens() int { return MaxInputTokens }

// window is one forward-pass sequence of a text.
type window struct {
	text int
	ids  []int32
}

// Embed implements similarity.Embedder. It reports similarity.ErrEmptyInput
// for a blank text and the context's error when ctx ends (checked between
// forward passes). A text of more than MaxInputTokens tokens is not
// truncated: it is embedded in consecutive windows whose vectors are
// averaged, weighted by their token counts, and normalised.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	for i, t := range texts {
		if strings.TrimFunc(t, unicode.IsSpace) == "" {
			return nil, fmt.Errorf("%w: text %d", similarity.ErrEmptyInput, i)
		}
	}
	var wins []window
	for i, t := range texts {
		var ids []int32
		e.m.tok.Tokenize(t, func(id int32) { ids = append(ids, id) })
		for start := 0; start == 0 || start < len(ids); start += maxTokens - 2 {
			end := min(start+maxTokens-2, len(ids))
			seq := make([]int32, 0, end-start+2)
			seq = append(seq, e.m.cls)
			seq = append(seq, ids[start:end]...)
			wins = append(wins, window{text: i, ids: append(seq, e.m.sep)})
		}
	}
	vecs := make([][]float32, len(wins))
	flat := make([]float32, len(wins)*hidden)
	for i := range vecs {
		vecs[i] = flat[i*hidden : (i+1)*hidden : (i+1)*hidden]
	}
	a, _ := e.arenas.Get().(*arena)
	defer e.arenas.Put(a)
	seqs := make([][]int32, 0, e.batchTokens/8)
	for start := 0; start < len(wins); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		seqs = seqs[:0]
		tokens, end := 0, start
		for end < len(wins) && (end == start || tokens+len(wins[end].ids) <= e.batchTokens) {
			tokens += len(wins[end].ids)
			seqs = append(seqs, wins[end].ids)
			end++
		}
		e.m.forward(seqs, vecs[start:end], a)
		start = end
	}
	out := make([][]float32, len(texts))
	for w := 0; w < len(wins); {
		i := wins[w].text
		next := w + 1
		for next < len(wins) && wins[next].text == i {
			next++
		}
		if next == w+1 {
			out[i] = vecs[w]
		} else {
			out[i] = pool(wins[w:next], vecs[w:next])
		}
		w = next
	}
	return out, nil
}

// pool returns the unit-length mean of a long text's window vectors,
// weighted by each window's token count.
func pool(wins []window, vecs [][]float32) []float32 {
	acc := make([]float64, hidden)
	for k, v := range vecs {
		w := float64(len(wins[k].ids) - 2)
		for j, x := range v {
			acc[j] += w * float64(x)
		}
	}
	var ss float64
	for _, x := range acc {
		ss += x * x
	}
	inv := 1 / math.Max(math.Sqrt(ss), 1e-12)
	out := make([]float32, hidden)
	for j, x := range acc {
		out[j] = float32(x * inv)
	}
	return out
}

// tokens returns the number of tokens of text, [CLS] and [SEP] included.
func (e *Embedder) tokens(text string) int {
	n := 2
	e.m.tok.Tokenize(text, func(int32) { n++ })
	return n
}
