package staticembed

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/similarity/internal/wordpiece"
)

func newTestEmbedder(tb testing.TB) *Embedder {
	tb.Helper()
	e, err := New()
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func cos(a, b []float32) float64 {
	c, _ := similarity.Cosine(a, b)
	return c
}

func TestEmbedder(t *testing.T) {
	t.Parallel()
	e := newTestEmbedder(t)
	if e.Model() != ModelName || e.Dimensions() != 256 {
		t.Fatalf("%s %d", e.Model(), e.Dimensions())
	}
	ctx := context.Background()
	v, err := e.Embed(ctx, []string{
		"Predict which customers will cancel their subscription",
		"Forecast which clients are likely to churn",
		"Detect cracks in steel sheets from camera images",
		"🚀🚀",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range v {
		var ss float64
		for _, c := range x {
			ss += float64(c) * float64(c)
		}
		if math.Abs(ss-1) > 1e-5 {
			t.Fatalf("norm² %v", ss)
		}
	}
	if para, other := cos(v[0], v[1]), cos(v[0], v[2]); para <= other+0.1 {
		t.Errorf("paraphrase %.3f not clearly above unrelated %.3f", para, other)
	}
	if v[3][0] != 1 {
		t.Errorf("a text without known tokens: %v...", v[3][:3])
	}
	if _, err := e.Embed(ctx, []string{"ok", "\u3000"}); !errors.Is(err, similarity.ErrEmptyInput) {
		t.Errorf("blank: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Embed(cctx, []string{"x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	again, _ := newTestEmbedder(t).Embed(ctx, []string{"Predict which customers will cancel their subscription"})
	for i := range again[0] {
		if again[0][i] != v[0][i] {
			t.Fatal("not deterministic")
		}
	}
}

func TestParseRejectsBadData(t *testing.T) {
	t.Parallel()
	good := []byte(vectorsFile)
	mutate := func(f func(b []byte) []byte) string {
		b := append([]byte(nil), good...)
		return string(f(b))
	}
	cases := map[string]string{
		"empty":     "",
		"magic":     mutate(func(b []byte) []byte { b[0] = 'X'; return b }),
		"version":   mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 2); return b }),
		"count":     mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 7); return b }),
		"dims":      mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], 0); return b }),
		"truncated": mutate(func(b []byte) []byte { return b[:len(b)-1] }),
	}
	for name, bin := range cases {
		if _, err := parse(wordpiece.Vocab(), bin); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
	if _, err := parse("a\nb\n", vectorsFile); !errors.Is(err, ErrFormat) {
		t.Errorf("vocabulary mismatch: %v", err)
	}
}

func BenchmarkEmbed(b *testing.B) {
	e := newTestEmbedder(b)
	text := "Project: Subscriber churn early warning\nDescription: Predict which mobile subscribers will switch " +
		"to a competing carrier in the next billing cycle so retention can call them first.\nUser stories:\n" +
		"- As a retention agent I see a ranked list of subscribers likely to port out their number"
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if _, err := e.Embed(ctx, []string{text}); err != nil {
			b.Fatal(err)
		}
	}
}
