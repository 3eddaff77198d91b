package similarity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// countingEmbedder counts the texts it is asked to embed.
type countingEmbedder struct {
	Embedder
	texts atomic.Int64
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.texts.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

// stories returns n distinct one-line items, prefixed by what.
func stories(what string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %d: as user %d I see report %d", what, i, i%97, i%89)
	}
	return out
}

// TestOverlapBoundsBeforeWork: a spec beyond registry.Spec's bounds, and a
// report that would compare more than MaxOverlapPairs pairs, are refused
// with the field at fault before a single text is embedded.
func TestOverlapBoundsBeforeWork(t *testing.T) {
	t.Parallel()
	db := migrated(t, testenv.SQLite)
	h, _ := NewHashingEmbedder(64)
	emb := &countingEmbedder{Embedder: h}
	s := newTestService(t, db, emb)
	ctx := tenancy.WithTenant(context.Background(), "t")
	stored := registry.Spec{
		UserStories:            stories("stored story", registry.MaxSpecSectionItems),
		FunctionalRequirements: stories("stored requirement", registry.MaxSpecSectionItems),
	}
	if err := s.Index(ctx, "big", "Big", "a big spec", stored); err != nil {
		t.Fatal(err)
	}
	emb.texts.Store(0)

	t.Run("spec beyond its bounds", func(t *testing.T) {
		spec := registry.Spec{UserStories: stories("story", registry.MaxSpecSectionItems+1)}
		_, err := s.Overlap(ctx, spec, "big")
		var ve registry.ValidationErrors
		if !errors.As(err, &ve) || ve[0].Field != "spec.user_stories" {
			t.Fatalf("Overlap = %v, want ValidationErrors on spec.user_stories", err)
		}
		if _, err := s.SimilarSpec(ctx, "", spec, 5); !errors.As(err, &ve) || ve[0].Field != "spec.user_stories" {
			t.Fatalf("SimilarSpec = %v, want ValidationErrors on spec.user_stories", err)
		}
	})
	t.Run("too many pairs", func(t *testing.T) {
		// 500 x 500 stories is the bound; one requirement more against the
		// stored 500 is 500 pairs beyond it.
		spec := registry.Spec{
			UserStories:            stories("story", registry.MaxSpecSectionItems),
			FunctionalRequirements: []string{"one requirement"},
		}
		_, err := s.Overlap(ctx, spec, "big")
		var tl *TooLargeError
		if !errors.Is(err, ErrTooLarge) || !errors.As(err, &tl) || tl.Field != "spec" ||
			tl.Limit != MaxOverlapPairs || tl.Got != MaxOverlapPairs+registry.MaxSpecSectionItems {
			t.Fatalf("Overlap = %v, want a TooLargeError of %d pairs on spec", err, MaxOverlapPairs+registry.MaxSpecSectionItems)
		}
		if msg := err.Error(); !strings.Contains(msg, "spec") || !strings.Contains(msg, fmt.Sprint(MaxOverlapPairs)) {
			t.Errorf("the error does not say the field and the limit: %q", msg)
		}
	})
	if n := emb.texts.Load(); n != 0 {
		t.Fatalf("refused requests embedded %d texts", n)
	}
	// At the bound the report is made.
	spec := registry.Spec{UserStories: stories("story", registry.MaxSpecSectionItems)}
	if _, err := s.Overlap(ctx, spec, "big"); err != nil {
		t.Fatalf("Overlap at MaxOverlapPairs: %v", err)
	}
}

// TestOverlapStopsWhenCancelled: once the request's context ends in the
// middle of the comparisons, not one more item is compared.
func TestOverlapStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	db := migrated(t, testenv.SQLite)
	h, _ := NewHashingEmbedder(64)
	s := newTestService(t, db, h)
	base := tenancy.WithTenant(context.Background(), "t")
	stored := registry.Spec{UserStories: stories("stored story", registry.MaxSpecSectionItems)}
	if err := s.Index(base, "big", "Big", "a big spec", stored); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(base)
	defer cancel()
	const cancelAfter = 50 // items
	var items, pairs, afterCancel int
	s.onCompare = func(n int) {
		if items == cancelAfter {
			afterCancel += n
			return
		}
		items++
		pairs += n
		if items == cancelAfter {
			cancel()
		}
	}
	_, err := s.Overlap(ctx, registry.Spec{UserStories: stories("story", registry.MaxSpecSectionItems)}, "big")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Overlap after cancel = %v, want context.Canceled", err)
	}
	if pairs != cancelAfter*registry.MaxSpecSectionItems || afterCancel != 0 {
		t.Fatalf("compared %d pairs before the cancel (want %d) and %d after (want 0)",
			pairs, cancelAfter*registry.MaxSpecSectionItems, afterCancel)
	}
}

// TestEmbedChunkedStopsWhenCancelled: a done context stops EmbedChunked
// before it calls the embedder.
func TestEmbedChunkedStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	h, _ := NewHashingEmbedder(64)
	emb := &countingEmbedder{Embedder: h}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := EmbedChunked(ctx, emb, stories("story", 1000), 16); !errors.Is(err, context.Canceled) {
		t.Fatalf("EmbedChunked with a done context = %v, want context.Canceled", err)
	}
	if n := emb.texts.Load(); n != 0 {
		t.Fatalf("the embedder was given %d texts after the cancel", n)
	}
}

// BenchmarkOverlapAtCap measures the largest overlap report the bounds
// allow: 500 stories against a project's 500, MaxOverlapPairs pairs, with
// the built-in embedder with the most dimensions (HashingEmbedder, 2048) and
// with a cheap 384-dimension embedder (the size of all-MiniLM-L6-v2), where
// the comparisons are most of the time.
func BenchmarkOverlapAtCap(b *testing.B) {
	h, _ := NewHashingEmbedder(0)
	cheap, _ := NewFuncEmbedder("bench-384", 384, func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, t := range texts {
			v := make([]float32, 384)
			for j := range v {
				v[j] = float32((len(t)*(j+1)+i*7)%31) + 1
			}
			out[i] = v
		}
		return out, nil
	})
	for _, c := range []struct {
		name string
		emb  Embedder
	}{{"hashing-2048", h}, {"func-384", cheap}} {
		b.Run(c.name, func(b *testing.B) {
			db := migrated(b, testenv.SQLite)
			s := newTestService(b, db, c.emb)
			ctx := tenancy.WithTenant(context.Background(), "t")
			stored := registry.Spec{UserStories: stories("stored story", registry.MaxSpecSectionItems)}
			if err := s.Index(ctx, "big", "Big", "a big spec", stored); err != nil {
				b.Fatal(err)
			}
			spec := registry.Spec{UserStories: stories("story", registry.MaxSpecSectionItems)}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Overlap(ctx, spec, "big"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(MaxOverlapPairs), "pairs/op")
		})
	}
}
