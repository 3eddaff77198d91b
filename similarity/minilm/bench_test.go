package minilm

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/similarity/staticembed"
)

// benchTexts returns texts of about 20, 100 and 254 tokens (with [CLS]
// and [SEP]: 22, 102 and 256).
func benchTexts(tb testing.TB, e *Embedder) map[string]string {
	tb.Helper()
	words := strings.Fields(strings.Repeat("predict which customers will cancel their subscription next month from usage logs billing history and support tickets ", 30))
	out := map[string]string{}
	for _, c := range []struct {
		name   string
		tokens int
	}{{"short20", 20}, {"section100", 100}, {"window256", 254}} {
		n := 0
		for k := range words {
			text := strings.Join(words[:k+1], " ")
			if e.tokens(text) > c.tokens {
				break
			}
			n = k + 1
		}
		out[c.name] = strings.Join(words[:n], " ")
	}
	return out
}

// BenchmarkEmbed measures one text per call, side by side with the
// static embedder: go test ./similarity/minilm -bench Embed -cpu 1 -benchmem
func BenchmarkEmbed(b *testing.B) {
	e, err := New()
	if err != nil {
		b.Fatal(err)
	}
	s, err := staticembed.New()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	texts := benchTexts(b, e)
	for _, name := range []string{"short20", "section100", "window256"} {
		text := []string{texts[name]}
		b.Run("minilm/"+name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				if _, err := e.Embed(ctx, text); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu0)
		})
		b.Run("staticembed/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Embed(ctx, text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEmbedBatch embeds the 32 golden texts in one call.
func BenchmarkEmbedBatch(b *testing.B) {
	e, err := New()
	if err != nil {
		b.Fatal(err)
	}
	cases := loadGolden(b)
	texts := make([]string, len(cases))
	for i, c := range cases {
		texts[i] = c.Text
	}
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := e.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
}

// reportCPU adds the process CPU time per operation since cpu0 as
// "cpu-ms/op": on a loaded machine wall time (ns/op) overstates the cost,
// CPU time does not (with -cpu 1 the benchmark is all the process does).
func reportCPU(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkEmbedSpec embeds one labelled spec (name, description and spec
// composed as the Service does, about 150 tokens) per call, chunked as the
// Service does, with the built-in transformer and the static embedder:
//
//	go test ./similarity/minilm -run '^$' -bench EmbedSpec -cpu 1 -benchmem
func BenchmarkEmbedSpec(b *testing.B) {
	raw, err := os.ReadFile("../testdata/specs.json")
	if err != nil {
		b.Fatal(err)
	}
	var f struct {
		Specs []struct {
			Name        string        `json:"name"`
			Description string        `json:"description"`
			Spec        registry.Spec `json:"spec"`
		} `json:"specs"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		b.Fatal(err)
	}
	texts := make([]string, len(f.Specs))
	for i, s := range f.Specs {
		texts[i] = similarity.ComposeText(s.Name, s.Description, s.Spec)
	}
	m, err := New()
	if err != nil {
		b.Fatal(err)
	}
	s, err := staticembed.New()
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range []similarity.Embedder{m, s} {
		b.Run(e.Model(), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			i := 0
			for b.Loop() {
				if _, err := similarity.EmbedChunked(context.Background(), e, texts[i:i+1], similarity.DefaultMaxInputTokens); err != nil {
					b.Fatal(err)
				}
				i = (i + 1) % len(texts)
			}
			reportCPU(b, cpu0)
		})
	}
}

// TestMemory logs the heap that the decoded weights take.
func TestMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := parse(vocabForTest(), weightsFile)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("decoded weights and tokenizer: %.1f MB of heap (embedded file %.1f MB)",
		float64(after.HeapAlloc-before.HeapAlloc)/1e6, float64(len(weightsFile))/1e6)
	runtime.KeepAlive(m)
}
