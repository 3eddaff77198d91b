package similaritybench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	chromem "github.com/philippgille/chromem-go"

	"github.com/maestro-ml/maestro/similarity"
)

const (
	dims = 384
	topK = 10
)

func randomUnit(r *rand.Rand) []float32 {
	v := make([]float32, dims)
	var ss float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		ss += x * x
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// dataset returns n vectors and 64 queries, the same for every engine.
func dataset(n int) (ids []string, vecs [][]float32, queries [][]float32) {
	r := rand.New(rand.NewPCG(42, uint64(n)))
	ids = make([]string, n)
	vecs = make([][]float32, n)
	for i := range n {
		ids[i] = fmt.Sprint("doc-", i)
		vecs[i] = randomUnit(r)
	}
	for range 64 {
		queries = append(queries, randomUnit(r))
	}
	return ids, vecs, queries
}

func maestroIndex(tb testing.TB, ids []string, vecs [][]float32) *similarity.VectorIndex {
	tb.Helper()
	x, err := similarity.NewVectorIndex(dims)
	if err != nil {
		tb.Fatal(err)
	}
	for i, id := range ids {
		if err := x.Add(id, "", vecs[i]); err != nil {
			tb.Fatal(err)
		}
	}
	return x
}

func chromemCollection(tb testing.TB, ids []string, vecs [][]float32) *chromem.Collection {
	tb.Helper()
	db := chromem.NewDB()
	noEmbed := func(context.Context, string) ([]float32, error) {
		return nil, fmt.Errorf("benchmark passes embeddings")
	}
	c, err := db.CreateCollection("bench", nil, noEmbed)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.AddConcurrently(context.Background(), ids, vecs, nil, nil, 4); err != nil {
		tb.Fatal(err)
	}
	return c
}

// reportP50 times fn b.N times and reports the median latency.
func reportP50(b *testing.B, fn func(i int)) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		fn(i)
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
}

func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10_000, 100_000} {
		ids, vecs, queries := dataset(n)
		x := maestroIndex(b, ids, vecs)
		c := chromemCollection(b, ids, vecs)
		b.Run(fmt.Sprintf("n=%d/engine=maestro", n), func(b *testing.B) {
			reportP50(b, func(i int) {
				if _, err := x.Search(queries[i%len(queries)], topK, ""); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(fmt.Sprintf("n=%d/engine=chromem-go", n), func(b *testing.B) {
			reportP50(b, func(i int) {
				if _, err := c.QueryEmbedding(ctx, queries[i%len(queries)], topK, nil, nil); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// TestSameResults checks that both engines find the same neighbours, so
// the benchmark compares equal work.
func TestSameResults(t *testing.T) {
	ids, vecs, queries := dataset(2000)
	x := maestroIndex(t, ids, vecs)
	c := chromemCollection(t, ids, vecs)
	for _, q := range queries[:8] {
		got, err := x.Search(q, topK, "")
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.QueryEmbedding(context.Background(), q, topK, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i].ProjectID != want[i].ID || math.Abs(got[i].Similarity-float64(want[i].Similarity)) > 1e-5 {
				t.Fatalf("rank %d: maestro %s %.6f, chromem-go %s %.6f", i,
					got[i].ProjectID, got[i].Similarity, want[i].ID, want[i].Similarity)
			}
		}
	}
}
