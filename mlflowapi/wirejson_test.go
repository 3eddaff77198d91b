package mlflowapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
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

// TestHistoryAnswer reads a history through the handler: the headers the
// handler writes for any answer, the exact length, and the bytes the wire
// structs encode to.
func TestHistoryAnswer(t *testing.T) {
	s := newServer(t, testenv.SQLite)
	run := s.run(&memberA, s.experiment(&memberA, "h"), nil)
	var points []map[string]any
	for i, v := range []float64{0.5, -3, 1e-9, 7.25e22, 0} {
		points = append(points, map[string]any{"key": "val/loss b", "value": v, "timestamp": 1700000000000 + i, "step": i * 1000})
	}
	s.ok(&memberA, "POST", api+"runs/log-batch", map[string]any{"run_id": run, "metrics": points})
	req := httptest.NewRequest("GET", api+"metrics/get-history?run_id="+run+"&metric_key=val%2Floss+b&max_results=4", nil)
	req = req.WithContext(auth.WithPrincipal(req.Context(), viewerA))
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	h := w.Header()
	if w.Code != 200 || h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" || h.Get("Content-Length") != fmt.Sprint(w.Body.Len()) {
		t.Fatalf("%d %v", w.Code, h)
	}
	page, err := s.reg.MetricPoints(tenancy.WithTenant(context.Background(), viewerA.TenantID), run, "val/loss b", 4, "")
	if err != nil || len(page.Items) != 4 || page.NextCursor == "" {
		t.Fatalf("%+v %v", page, err)
	}
	out := make([]wireMetricOut, 0, 4)
	for _, p := range page.Items {
		out = append(out, wireMetricOut{Key: "val/loss b", Value: jsonFloat(p.Value), Timestamp: millis(p.Timestamp), Step: p.Step})
	}
	if want := encoded(t, map[string]any{"metrics": out, "next_page_token": page.NextCursor}); !bytes.Equal(w.Body.Bytes(), want) {
		t.Fatalf("answer\n got %s\nwant %s", w.Body.Bytes(), want)
	}
}
