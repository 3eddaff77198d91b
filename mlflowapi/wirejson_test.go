package mlflowapi

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/registry"
)

// encoded is what the handler's json.Encoder writes for v.
func encoded(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var oddStrings = []string{"", "loss", `a"b\c`, "<script>&amp;</script>", "tab\tnl\nc\rr\bf\f\x00\x1f\x7f",
	"é ü 日本", "\u2028\u2029", "bad \xff\xfe utf8 \xe2\x82", "emoji 😀", "\U0010ffff"}

func TestAppendJSONString(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := append([]string{}, oddStrings...)
	for range 5000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range oddStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestAppendJSONFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cases := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99999e-7, 1e-7, 1e20, 1e21, 1.5e300, -2.5e-300,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789012345678, math.NaN(), math.Inf(1), math.Inf(-1)}
	for range 5000 {
		cases = append(cases, math.Float64frombits(rng.Uint64()), rng.NormFloat64()*math.Pow(10, float64(rng.IntN(60)-30)))
	}
	for _, f := range cases {
		want, _ := json.Marshal(jsonFloat(f))
		if got := appendJSONFloat(nil, f); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

// TestAppendHistory checks get-history's answer against what
// json.Encoder writes for the wire structs.
func TestAppendHistory(t *testing.T) {
	ts := time.Date(2026, 12, 7, 8, 0, 0, 123456000, time.UTC)
	for _, key := range []string{"loss", "a<b>&c"} {
		for _, next := range []string{"", "tok-1"} {
			page := registry.Page[registry.MetricPoint]{NextCursor: next}
			for i, v := range []float64{0.5, math.NaN(), math.Inf(1), math.Inf(-1), 1e-9, 3, -7.25e22} {
				page.Items = append(page.Items, registry.MetricPoint{Key: key, Value: v, Step: int64(i) * 1e15, Timestamp: ts.Add(time.Duration(-i) * time.Hour * 24 * 365 * 100)})
			}
			for _, items := range [][]registry.MetricPoint{nil, page.Items} {
				p := registry.Page[registry.MetricPoint]{Items: items, NextCursor: next}
				out := make([]wireMetricOut, 0, len(items))
				for _, m := range items {
					out = append(out, wireMetricOut{Key: key, Value: jsonFloat(m.Value), Timestamp: millis(m.Timestamp), Step: m.Step})
				}
				resp := map[string]any{"metrics": out}
				if next != "" {
					resp["next_page_token"] = next
				}
				if got, want := appendHistory(nil, key, p), encoded(t, resp); !bytes.Equal(got, want) {
					t.Fatalf("appendHistory:\n got %s\nwant %s", got, want)
				}
			}
		}
	}
}
