package similarity

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// FuzzParseRetryAfter feeds arbitrary Retry-After headers: the delay is
// never negative and never above the cap.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "1", "1.5", "-3", "1e308", "NaN", "Inf", "Wed, 21 Oct 2015 07:28:00 GMT", "x"} {
		f.Add(s)
	}
	now := time.Date(2015, 10, 21, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v", v, d)
		}
	})
}

// FuzzHashingEmbedder feeds arbitrary text: the built-in embedder returns
// a finite unit vector for every non-blank text and ErrEmptyInput for
// blank ones, deterministically.
func FuzzHashingEmbedder(f *testing.F) {
	for _, s := range []string{"Forecast demand", "!!!", " ", "\xff\xfe", "日本語のテキスト", "a b c d e f g"} {
		f.Add(s)
	}
	h, err := NewHashingEmbedder(64)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := h.Embed(context.Background(), []string{s})
		if isBlank(s) {
			if !errors.Is(err, ErrEmptyInput) {
				t.Fatalf("blank %q: %v", s, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var ss float64
		for _, x := range v[0] {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("non-finite component for %q", s)
			}
			ss += float64(x) * float64(x)
		}
		if math.Abs(ss-1) > 1e-4 {
			t.Fatalf("norm² %v for %q", ss, s)
		}
		again, _ := h.Embed(context.Background(), []string{s})
		for i := range again[0] {
			if again[0][i] != v[0][i] {
				t.Fatalf("not deterministic for %q", s)
			}
		}
	})
}
