package similarity

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/registry"
)

func TestComposeText(t *testing.T) {
	t.Parallel()
	spec := registry.Spec{
		UserStories:               []string{"As a user  I\nlog in", " "},
		FunctionalRequirements:    []string{"Tokens expire"},
		NonFunctionalRequirements: []string{"p99 < 50ms"},
		DataModels:                []registry.DataModel{{Entity: "User", Fields: []string{"id", " ", "email"}}, {Entity: "Empty"}},
		APIEndpoints:              []registry.APIEndpoint{{Method: "post", Path: "/login", Purpose: "log in"}, {Method: "GET", Path: "/me"}},
	}
	want := `Project: Auth
Description: Sign-in service
User stories:
- As a user I log in
Functional requirements:
- Tokens expire
Non-functional requirements:
- p99 < 50ms
Data models:
- User: id, email
- Empty
Endpoints:
- POST /login: log in
- GET /me`
	if got := ComposeText(" Auth ", "Sign-in\tservice", spec); got != want {
		t.Errorf("ComposeText =\n%s\nwant\n%s", got, want)
	}
	if got := ComposeText("", "", registry.Spec{UserStories: []string{"  "}}); got != "" {
		t.Errorf("empty project composes to %q", got)
	}
}

func TestApproxTokens(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 2},
		{"the", 3},
		{"forecasting", 2 + 4},
		{"a, b", 2 + 3},
		{"日本語", 2 + 3},
		{"  \n ", 2},
	} {
		if got := approxTokens(tc.in); got != tc.want {
			t.Errorf("approxTokens(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func checkChunks(t *testing.T, text string, max int) {
	t.Helper()
	chunks := chunkText(text, max)
	if max < minChunkTokens && max > 0 {
		max = minChunkTokens
	}
	var words []string
	for _, c := range chunks {
		if max > 0 && approxTokens(c) > max {
			t.Fatalf("chunk %q has %d tokens > %d", c, approxTokens(c), max)
		}
		if strings.TrimSpace(c) == "" {
			t.Fatalf("empty chunk in %q", chunks)
		}
		words = append(words, strings.Fields(c)...)
	}
	if got, want := strings.Join(words, ""), strings.Join(strings.Fields(text), ""); got != want {
		t.Fatalf("chunks lost text:\n got %q\nwant %q", got, want)
	}
}

func TestChunkText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("the quick brown fox jumps over the lazy dog\n", 40)
	for _, max := range []int{0, 1, 8, 20, 64, 256} {
		checkChunks(t, long, max)
	}
	checkChunks(t, strings.Repeat("x", 500), 16)          // one huge word
	checkChunks(t, "short", 256)                          // fits
	checkChunks(t, strings.Repeat("é", 100)+" "+"ab", 10) // multi-byte word cut
	checkChunks(t, strings.Repeat("word, ", 300), 32)     // punctuation heavy line
	if got := chunkText("  \n ", 10); got != nil {
		t.Errorf("blank text chunks: %q", got)
	}
	if got := chunkText(long, 0); len(got) != 1 {
		t.Errorf("no budget must not chunk: %d chunks", len(got))
	}
	if n := len(chunkText(long, 64)); n < 10 {
		t.Errorf("%d chunks for a long text with a 64-token budget", n)
	}
}

func FuzzChunkText(f *testing.F) {
	f.Add("Project: x\nDescription: y", 16)
	f.Add(strings.Repeat("abc ", 100), 9)
	f.Add("日本語のテキスト、とても長い", 8)
	f.Add("\xff\xfe broken utf8 \x80", 10)
	f.Fuzz(func(t *testing.T, text string, max int) {
		if max > 4096 || max < -1 {
			return
		}
		checkChunks(t, text, max)
	})
}

func TestEmbedChunkedPoolsWeighted(t *testing.T) {
	t.Parallel()
	emb := newKeywordEmbedder("kw", "alpha", "beta")
	// Two chunks: a long alpha line and a short beta line.
	text := strings.Repeat("alpha ", 20) + "\n" + "beta"
	vecs, err := EmbedChunked(context.Background(), emb, []string{text, "beta"}, 43)
	if err != nil {
		t.Fatal(err)
	}
	if emb.calls.Load() != 1 {
		t.Errorf("%d Embed calls, want one batch", emb.calls.Load())
	}
	if emb.texts.Load() != 2 {
		t.Errorf("%d chunks embedded, want 2 (the shared chunk \"beta\" once)", emb.texts.Load())
	}
	v := vecs[0]
	assertUnit(t, v)
	// The longer alpha chunk dominates the pooled vector.
	if !(v[0] > v[1] && v[1] > 0) {
		t.Errorf("pooled vector %v: want alpha > beta > 0", v)
	}
	// Exact weights: (a*w1 + b*w2) normalised.
	ca, _ := emb.Embed(context.Background(), []string{strings.TrimSpace(strings.Repeat("alpha ", 20))})
	cb, _ := emb.Embed(context.Background(), []string{"beta"})
	w1, w2 := float64(approxTokens(strings.TrimSpace(strings.Repeat("alpha ", 20)))), float64(approxTokens("beta"))
	want := make([]float32, len(v))
	for i := range want {
		want[i] = float32(w1*float64(ca[0][i]) + w2*float64(cb[0][i]))
	}
	want, _ = normalized(want)
	for i := range v {
		if math.Abs(float64(v[i]-want[i])) > 1e-5 {
			t.Fatalf("pooled %v, want %v", v, want)
		}
	}
	if _, err := EmbedChunked(context.Background(), nil, []string{"a"}, 0); err == nil {
		t.Error("nil embedder accepted")
	}
	if got, err := EmbedChunked(context.Background(), emb, nil, 0); err != nil || got != nil {
		t.Errorf("no texts: %v %v", got, err)
	}
}
