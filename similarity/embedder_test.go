package similarity

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestFuncEmbedder(t *testing.T) {
	t.Parallel()
	fn := func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, s := range texts {
			out[i] = []float32{float32(len(s)), 1}
		}
		return out, nil
	}
	e, err := NewFuncEmbedder("len", 2, fn)
	if err != nil {
		t.Fatal(err)
	}
	if e.Model() != "len" || e.Dimensions() != 2 {
		t.Fatalf("model %s dims %d", e.Model(), e.Dimensions())
	}
	vs, err := e.Embed(context.Background(), []string{"abc", "a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		assertUnit(t, v)
	}
	if _, err := e.Embed(context.Background(), []string{""}); !errors.Is(err, ErrEmptyInput) {
		t.Errorf("empty: %v", err)
	}
	if v, err := e.Embed(context.Background(), nil); v != nil || err != nil {
		t.Errorf("nil: %v %v", v, err)
	}
	bad := []struct {
		name string
		fn   EmbedFunc
		want error
	}{
		{"count", func(context.Context, []string) ([][]float32, error) { return nil, nil }, ErrBadResponse},
		{"dims", func(_ context.Context, t []string) ([][]float32, error) { return [][]float32{{1}}, nil }, ErrDimensionMismatch},
		{"nan", func(_ context.Context, t []string) ([][]float32, error) {
			return [][]float32{{float32(math.NaN()), 1}}, nil
		}, ErrBadResponse},
		{"zero", func(_ context.Context, t []string) ([][]float32, error) { return [][]float32{{0, 0}}, nil }, ErrBadResponse},
		{"error", func(context.Context, []string) ([][]float32, error) { return nil, context.DeadlineExceeded }, context.DeadlineExceeded},
	}
	for _, b := range bad {
		e, _ := NewFuncEmbedder("m", 2, b.fn)
		if _, err := e.Embed(context.Background(), []string{"x"}); !errors.Is(err, b.want) {
			t.Errorf("%s: %v, want %v", b.name, err, b.want)
		}
	}
	for _, args := range []struct {
		model string
		dims  int
		fn    EmbedFunc
	}{{"", 2, fn}, {"m", 0, fn}, {"m", 2, nil}} {
		if _, err := NewFuncEmbedder(args.model, args.dims, args.fn); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewFuncEmbedder(%q, %d) error %v", args.model, args.dims, err)
		}
	}
}

func TestCosine(t *testing.T) {
	t.Parallel()
	c, err := Cosine([]float32{1, 0}, []float32{1, 1})
	if err != nil || math.Abs(c-math.Sqrt2/2) > 1e-9 {
		t.Errorf("cosine %v %v", c, err)
	}
	if c, _ := Cosine([]float32{0, 0}, []float32{1, 1}); c != 0 {
		t.Errorf("zero vector cosine %v", c)
	}
	if _, err := Cosine([]float32{1}, []float32{1, 2}); !errors.Is(err, ErrDimensionMismatch) {
		t.Errorf("mismatch: %v", err)
	}
}

func TestHashingEmbedder(t *testing.T) {
	t.Parallel()
	h, err := NewHashingEmbedder(0)
	if err != nil {
		t.Fatal(err)
	}
	if h.Dimensions() != DefaultHashingDimensions || h.Model() != "maestro-hashing-v1-2048" {
		t.Fatalf("%s %d", h.Model(), h.Dimensions())
	}
	ctx := context.Background()
	texts := []string{
		"Forecasting daily demand for grocery stores",
		"forecast the demand of grocery stores daily",
		"Detect fraudulent card payments",
		"!!! ???",
	}
	v, err := h.Embed(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range v {
		assertUnit(t, x)
	}
	same, _ := Cosine(v[0], v[1])
	diff, _ := Cosine(v[0], v[2])
	if same < 0.6 || diff > 0.2 {
		t.Errorf("paraphrase %.3f, unrelated %.3f", same, diff)
	}
	// Deterministic across calls and instances.
	h2, _ := NewHashingEmbedder(2048)
	again, _ := h2.Embed(ctx, texts[:1])
	for i := range again[0] {
		if again[0][i] != v[0][i] {
			t.Fatal("not deterministic")
		}
	}
	if _, err := h.Embed(ctx, []string{"ok", ""}); !errors.Is(err, ErrEmptyInput) {
		t.Errorf("empty: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.Embed(cctx, []string{"x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	for _, d := range []int{-1, 8, 1<<16 + 1} {
		if _, err := NewHashingEmbedder(d); !errors.Is(err, ErrInvalid) {
			t.Errorf("dims %d: %v", d, err)
		}
	}
}

func TestStem(t *testing.T) {
	t.Parallel()
	groups := [][]string{
		{"forecast", "forecasts", "forecasting", "forecasted"},
		{"predict", "predicts", "predicted", "predicting", "prediction", "predictions"},
		{"plan", "planning", "planned", "plans"},
		{"category", "categories"},
	}
	for _, g := range groups {
		want := stem(g[0])
		for _, w := range g[1:] {
			if got := stem(w); got != want {
				t.Errorf("stem(%q) = %q, stem(%q) = %q", w, got, g[0], want)
			}
		}
	}
	if stem("bus") != "bus" || stem("is") != "is" {
		t.Error("short words must not be stemmed")
	}
	if got := tokenize("Ünïcode, MIXED-case_words 42"); strings.Join(got, " ") != "ünïcode mixed case words 42" {
		t.Errorf("tokenize = %q", got)
	}
}
