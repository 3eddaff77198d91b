package minilm

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/maestro-ml/maestro/similarity"
)

func newTestEmbedder(tb testing.TB, opts ...Option) *Embedder {
	tb.Helper()
	e, err := New(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func TestEmbedderContract(t *testing.T) {
	t.Parallel()
	e := newTestEmbedder(t)
	if e.Model() != ModelName || e.Dimensions() != 384 || e.MaxInputTokens() != 256 {
		t.Fatalf("Model %q Dimensions %d MaxInputTokens %d", e.Model(), e.Dimensions(), e.MaxInputTokens())
	}
	ctx := context.Background()
	if _, err := e.Embed(ctx, []string{"fine", " \t\n"}); !errors.Is(err, similarity.ErrEmptyInput) {
		t.Errorf("blank text: %v, want ErrEmptyInput", err)
	}
	if v, err := e.Embed(ctx, nil); err != nil || len(v) != 0 {
		t.Errorf("no texts: %v, %v", v, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Embed(cancelled, []string{"hello"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	// A text of only unknown characters still gets a unit vector
	// ([CLS] [UNK] [SEP]), and related texts score above unrelated ones.
	v, err := e.Embed(ctx, []string{"\u2603\u2603", "customers cancel their subscription", "clients churn", "stadium parking"})
	if err != nil {
		t.Fatal(err)
	}
	if n := cosine(v[0], v[0]); n < 0.9999 || n > 1.0001 {
		t.Errorf("unknown-token text: self cosine %.5f", n)
	}
	if rel, unrel := cosine(v[1], v[2]), cosine(v[1], v[3]); rel <= unrel+0.1 {
		t.Errorf("churn paraphrase %.3f, unrelated %.3f", rel, unrel)
	}
}

// TestLongTextWindows: a text beyond the window is embedded in windows and
// pooled, not truncated, so its tail changes its vector.
func TestLongTextWindows(t *testing.T) {
	t.Parallel()
	e := newTestEmbedder(t)
	head := strings.Repeat("forecast daily sales for every store and product ", 33) // 266 tokens
	v, err := e.Embed(context.Background(), []string{head, head + "fraud detection on card payments"})
	if err != nil {
		t.Fatal(err)
	}
	if e.tokens(head) <= MaxInputTokens {
		t.Fatalf("test text has only %d tokens", e.tokens(head))
	}
	if cs := cosine(v[0], v[1]); cs > 0.9999 {
		t.Errorf("a different tail left the vector unchanged (cosine %.6f): truncated", cs)
	}
}

// TestBatchingDoesNotChangeVectors: small forward passes give the vectors
// of large ones, and concurrent calls do not disturb each other.
func TestBatchingDoesNotChangeVectors(t *testing.T) {
	t.Parallel()
	cases := loadGolden(t)[:12]
	texts := make([]string, len(cases))
	for i, c := range cases {
		texts[i] = c.Text
	}
	big := newTestEmbedder(t)
	small := newTestEmbedder(t, WithBatchTokens(MaxInputTokens))
	want, err := big.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			got, err := small.Embed(context.Background(), texts)
			if err != nil {
				errs <- err
				return
			}
			for i := range got {
				if cs := cosine(got[i], want[i]); cs < 0.99999 {
					errs <- errors.New("vectors differ between batch sizes: " + texts[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, n := range []int{0, MaxInputTokens - 1, maxBatchTokens + 1} {
		if _, err := New(WithBatchTokens(n)); !errors.Is(err, similarity.ErrInvalid) {
			t.Errorf("WithBatchTokens(%d): %v, want ErrInvalid", n, err)
		}
	}
}

func TestParseRejectsBadData(t *testing.T) {
	t.Parallel()
	// Errors in the header or the first tensor need only the start of the
	// file (cheaper, notably under the race detector).
	mutate := func(f func([]byte) []byte) string { return string(f([]byte(weightsFile))) }
	head := func(f func([]byte) []byte) string { return string(f([]byte(weightsFile[:4096]))) }
	cases := map[string]string{
		"empty":   "",
		"magic":   head(func(b []byte) []byte { b[0] = 'X'; return b }),
		"version": head(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 2); return b }),
		"count":   head(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 1<<20); return b }),
		"fewer":   mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 3); return b }),
		"kind":    head(func(b []byte) []byte { b[12+2+len("embeddings.word_embeddings.weight")] = 9; return b }),
		"rows": head(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[12+3+len("embeddings.word_embeddings.weight"):], 0)
			return b
		}),
		"truncated": mutate(func(b []byte) []byte { return b[:len(b)-1] }),
		"trailing":  mutate(func(b []byte) []byte { return append(b, 0) }),
	}
	for name, bin := range cases {
		if _, err := parse(vocabForTest(), bin); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
	if _, err := parse("[UNK]\n[CLS]\n[SEP]\n", weightsFile); !errors.Is(err, ErrFormat) {
		t.Errorf("short vocabulary: %v, want ErrFormat", err)
	}
	if _, err := parse("a\nb\n", weightsFile); !errors.Is(err, ErrFormat) {
		t.Errorf("vocabulary without special tokens: %v, want ErrFormat", err)
	}
}

func FuzzEmbed(f *testing.F) {
	for _, s := range []string{"Hello, World!", "naïve", "日本語", "\xff\xfe", strings.Repeat("x", 150)} {
		f.Add(s)
	}
	e := newTestEmbedder(f)
	f.Fuzz(func(t *testing.T, s string) {
		if strings.TrimSpace(s) == "" || len(s) > 2000 {
			return
		}
		v, err := e.Embed(context.Background(), []string{s})
		if errors.Is(err, similarity.ErrEmptyInput) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if n := cosine(v[0], v[0]); n < 0.999 || n > 1.001 {
			t.Fatalf("%q: norm² %.4f", s, n)
		}
	})
}
