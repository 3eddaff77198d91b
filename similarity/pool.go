package similarity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
)

// ctxCheckEvery is how many texts EmbedChunked chunks or pools between
// two checks of its context.
const ctxCheckEvery = 64

// embedTexts embeds texts with the Service's embedder, chunking each text
// within the chunk budget and pooling its chunks (see EmbedChunked). When
// the provider still refuses an input as too long, the budget is halved and
// the call repeated, up to twice.
func (s *Service) embedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	budget := s.chunk
	for try := 0; ; try++ {
		vecs, err := EmbedChunked(ctx, s.emb, texts, budget)
		var pe *ProviderError
		if err != nil && try < 2 && budget >= 2*minChunkTokens && errors.As(err, &pe) &&
			pe.StatusCode == http.StatusBadRequest && pe.Code == "context_length_exceeded" {
			budget /= 2
			continue
		}
		return vecs, err
	}
}

// EmbedChunked embeds each text with emb, splitting a text longer than
// maxTokens approximate tokens into chunks (at line, then word boundaries)
// and pooling the chunks' vectors: their mean weighted by each chunk's
// length in approximate tokens, L2-normalised — so no part of a long text
// is silently dropped, and a chunk counts as much as the text it holds.
// All distinct chunks of all texts go to emb in one Embed call, which
// batches them.
// maxTokens <= 0 disables chunking. The vectors are unit length and all of
// one dimension. It stops with the context's error once ctx is done, also
// between texts while it chunks and pools them.
func EmbedChunked(ctx context.Context, emb Embedder, texts []string, maxTokens int) ([][]float32, error) {
	if emb == nil {
		return nil, errNilEmbedder
	}
	if err := checkInputs(texts); err != nil {
		return nil, err
	}
	if len(texts) == 0 {
		return nil, nil
	}
	// Every distinct chunk is embedded once, even when several texts (or
	// both sides of an overlap report) share it.
	var unique []string
	seen := map[string]int{}
	var refs []int // chunk occurrence -> index in unique
	var weights []float64
	spans := make([][2]int, len(texts))
	for i, t := range texts {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		cs := chunkText(t, maxTokens)
		spans[i] = [2]int{len(refs), len(refs) + len(cs)}
		for _, c := range cs {
			u, ok := seen[c]
			if !ok {
				u = len(unique)
				seen[c] = u
				unique = append(unique, c)
			}
			refs = append(refs, u)
			weights = append(weights, float64(approxTokens(c)))
		}
	}
	uvecs, err := emb.Embed(ctx, unique)
	if err != nil {
		return nil, err
	}
	if len(uvecs) != len(unique) {
		return nil, fmt.Errorf("%w: embedder returned %d vectors for %d texts", ErrBadResponse, len(uvecs), len(unique))
	}
	vecs := make([][]float32, len(refs))
	for i, u := range refs {
		vecs[i] = uvecs[u]
	}
	dims := len(vecs[0])
	for _, v := range vecs {
		if len(v) != dims || dims == 0 {
			return nil, &DimensionError{Model: emb.Model(), Want: dims, Got: len(v)}
		}
	}
	out := make([][]float32, len(texts))
	for i, sp := range spans {
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if sp[1]-sp[0] == 1 {
			v, err := normalized(vecs[sp[0]])
			if err != nil {
				return nil, err
			}
			out[i] = v
			continue
		}
		acc := make([]float64, dims)
		for c := sp[0]; c < sp[1]; c++ {
			w := weights[c]
			var ss float64
			for _, x := range vecs[c] {
				ss += float64(x) * float64(x)
			}
			if ss == 0 || math.IsNaN(ss) || math.IsInf(ss, 0) {
				return nil, fmt.Errorf("%w: unusable chunk vector", ErrBadResponse)
			}
			w /= math.Sqrt(ss) // pool unit vectors
			for j, x := range vecs[c] {
				acc[j] += w * float64(x)
			}
		}
		v := make([]float32, dims)
		for j, x := range acc {
			v[j] = float32(x)
		}
		n, err := normalized(v)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}
