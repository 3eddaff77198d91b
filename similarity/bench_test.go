package similarity

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// reportP50 times fn b.N times and reports the median besides the mean.
func reportP50(b *testing.B, fn func()) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		fn()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
}

// BenchmarkVectorIndexSearch measures exact top-10 search over n random
// 384-dimension unit vectors (the dimension of all-MiniLM-L6-v2).
func BenchmarkVectorIndexSearch(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			x, _ := NewVectorIndex(384)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range n {
				_ = x.Add(fmt.Sprint(i), "", randomUnit(r, 384))
			}
			q := randomUnit(r, 384)
			reportP50(b, func() {
				if _, err := x.Search(q, 10, ""); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkHashingEmbedder measures the built-in embedder on a typical
// composed spec.
func BenchmarkHashingEmbedder(b *testing.B) {
	specs := loadLabelled(b)
	texts := labelledTexts(specs)
	h, _ := NewHashingEmbedder(0)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := h.Embed(ctx, texts[i%len(texts):i%len(texts)+1]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenAIEmbedderThroughput embeds 64 short texts per operation
// through the client against the real server (.ci/embedserver), one text
// per request versus batches of 32, and reports texts per second.
func BenchmarkOpenAIEmbedderThroughput(b *testing.B) {
	url, model := testenv.Embeddings(b)
	texts := make([]string, 64)
	for i := range texts {
		texts[i] = fmt.Sprintf("Predict churn of subscriber segment %d from usage and complaints", i) +
			strings.Repeat(" with weekly refresh", i%3)
	}
	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			e, err := NewOpenAIEmbedder(url, model, WithBatchSize(batch))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				if _, err := e.Embed(ctx, texts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "texts/s")
		})
	}
}
