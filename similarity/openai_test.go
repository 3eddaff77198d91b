package similarity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// embReq is the request body the fake server decodes.
type embReq struct {
	Input []string `json:"input"`
	Model string   `json:"model"`
}

// fakeVec returns a deterministic, non-normalised vector for text.
func fakeVec(text string, dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		v[i] = float32((len(text)+i)%7) + 1
	}
	return v
}

func writeEmbeddings(w http.ResponseWriter, texts []string, dims int, order func(i int) int) {
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	data := make([]item, len(texts))
	for i := range texts {
		j, src := i, i
		if order != nil {
			j = order(i)
		}
		if j >= 0 && j < len(texts) {
			src = j
		}
		data[i] = item{"embedding", j, fakeVec(texts[src], dims)}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": "m",
		"usage": map[string]int{"prompt_tokens": 1, "total_tokens": 1}})
}

// fakeServer serves /v1/embeddings with handle, counting requests.
func fakeServer(t *testing.T, handle func(n int, req embReq, w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/embeddings" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var req embReq
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("bad request body: %v", err)
		}
		handle(int(calls.Add(1)), req, w)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func newTestEmbedder(t *testing.T, srv *httptest.Server, opts ...OpenAIOption) *OpenAIEmbedder {
	t.Helper()
	base := []OpenAIOption{WithBackoff(time.Millisecond, 4*time.Millisecond), WithRequestTimeout(2 * time.Second)}
	e, err := NewOpenAIEmbedder(srv.URL+"/v1", "test-model", append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error","param":null,"code":%q}}`, msg, code)
}

func assertUnit(t *testing.T, v []float32) {
	t.Helper()
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if math.Abs(ss-1) > 1e-5 {
		t.Fatalf("vector norm² %v, want 1", ss)
	}
}

func TestOpenAIEmbedderOrdersAndNormalises(t *testing.T) {
	t.Parallel()
	srv, calls := fakeServer(t, func(_ int, req embReq, w http.ResponseWriter) {
		n := len(req.Input)
		writeEmbeddings(w, req.Input, 4, func(i int) int { return n - 1 - i }) // reversed indexes
	})
	e := newTestEmbedder(t, srv, WithBatchSize(3))
	texts := []string{"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g"}
	got, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(texts) {
		t.Fatalf("got %d vectors", len(got))
	}
	for i, v := range got {
		want, _ := normalized(fakeVec(texts[i], 4))
		for j := range v {
			if math.Abs(float64(v[j]-want[j])) > 1e-6 {
				t.Fatalf("vector %d = %v, want %v", i, v, want)
			}
		}
		assertUnit(t, v)
	}
	if c := calls.Load(); c != 3 {
		t.Errorf("%d requests for 7 texts in batches of 3, want 3", c)
	}
	if e.Dimensions() != 4 {
		t.Errorf("learned dimensions %d, want 4", e.Dimensions())
	}
}

func TestOpenAIEmbedderSendsKeyModelAndTokenBudget(t *testing.T) {
	t.Parallel()
	var sizes []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer sk-test" {
			t.Errorf("Authorization %q", got)
		}
		var req embReq
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.Model != "test-model" {
			t.Errorf("model %q", req.Model)
		}
		sizes = append(sizes, len(req.Input))
		writeEmbeddings(w, req.Input, 3, nil)
	}))
	defer srv.Close()
	e := newTestEmbedder(t, srv, WithAPIKey("sk-test"), WithBatchTokens(50))
	long := strings.Repeat("word ", 10) // about 22 approximate tokens
	if _, err := e.Embed(context.Background(), []string{long, long, long, "x"}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sizes) != "[2 2]" {
		t.Errorf("batch sizes %v, want [2 2] under a 50-token budget", sizes)
	}
}

func TestOpenAIEmbedderRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fail     func(w http.ResponseWriter)
		failures int
		retries  int
		wantErr  bool
		wantCode int
		calls    int32
	}{
		{"429 then success", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "0.02")
			apiError(w, 429, "rate_limit_exceeded", "slow down")
		}, 1, 3, false, 0, 2},
		{"503 plain text twice then success", func(w http.ResponseWriter) {
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
		}, 2, 3, false, 0, 3},
		{"500s exhausted", func(w http.ResponseWriter) {
			apiError(w, 500, "server_error", "boom")
		}, 100, 2, true, 500, 3},
		{"400 not retried", func(w http.ResponseWriter) {
			apiError(w, 400, "context_length_exceeded", "too long")
		}, 100, 3, true, 400, 1},
		{"401 not retried", func(w http.ResponseWriter) {
			apiError(w, 401, "invalid_api_key", "bad key")
		}, 100, 3, true, 401, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, calls := fakeServer(t, func(n int, req embReq, w http.ResponseWriter) {
				if n <= tc.failures {
					tc.fail(w)
					return
				}
				writeEmbeddings(w, req.Input, 2, nil)
			})
			e := newTestEmbedder(t, srv, WithRetries(tc.retries))
			start := time.Now()
			_, err := e.Embed(context.Background(), []string{"hello"})
			if got := calls.Load(); got != tc.calls {
				t.Errorf("%d calls, want %d", got, tc.calls)
			}
			if !tc.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if tc.name == "429 then success" && time.Since(start) < 20*time.Millisecond {
					t.Errorf("Retry-After not honoured: retried after %v", time.Since(start))
				}
				return
			}
			var pe *ProviderError
			if !errors.As(err, &pe) || !errors.Is(err, ErrProvider) {
				t.Fatalf("error %v is not a ProviderError", err)
			}
			if pe.StatusCode != tc.wantCode || pe.Attempts != int(tc.calls) {
				t.Errorf("status %d attempts %d, want %d and %d", pe.StatusCode, pe.Attempts, tc.wantCode, tc.calls)
			}
			if tc.wantCode == 401 && strings.Contains(err.Error(), "sk-") {
				t.Errorf("error leaks a key: %v", err)
			}
		})
	}
}

func TestOpenAIEmbedderBadResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		write func(w http.ResponseWriter, req embReq)
		opts  []OpenAIOption
		want  error
	}{
		{"malformed JSON", func(w http.ResponseWriter, _ embReq) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"data":[{"embedding":[1,2`+"}")
		}, nil, ErrBadResponse},
		{"wrong type", func(w http.ResponseWriter, _ embReq) {
			_, _ = io.WriteString(w, `{"data":[{"index":0,"embedding":"abc"}]}`)
		}, nil, ErrBadResponse},
		{"too few vectors", func(w http.ResponseWriter, req embReq) {
			writeEmbeddings(w, req.Input[:1], 3, nil)
		}, nil, ErrBadResponse},
		{"duplicate index", func(w http.ResponseWriter, req embReq) {
			writeEmbeddings(w, req.Input, 3, func(int) int { return 0 })
		}, nil, ErrBadResponse},
		{"index out of range", func(w http.ResponseWriter, req embReq) {
			writeEmbeddings(w, req.Input, 3, func(i int) int { return i + 1 })
		}, nil, ErrBadResponse},
		{"wrong dimension", func(w http.ResponseWriter, req embReq) {
			writeEmbeddings(w, req.Input, 3, nil)
		}, []OpenAIOption{WithDimensions(4)}, ErrDimensionMismatch},
		{"mixed dimensions", func(w http.ResponseWriter, _ embReq) {
			_, _ = io.WriteString(w, `{"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[1,2,3]}]}`)
		}, nil, ErrDimensionMismatch},
		{"zero vector", func(w http.ResponseWriter, _ embReq) {
			_, _ = io.WriteString(w, `{"data":[{"index":0,"embedding":[0,0]},{"index":1,"embedding":[1,0]}]}`)
		}, nil, ErrBadResponse},
		{"empty vector", func(w http.ResponseWriter, _ embReq) {
			_, _ = io.WriteString(w, `{"data":[{"index":0,"embedding":[]},{"index":1,"embedding":[1,0]}]}`)
		}, nil, ErrBadResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, calls := fakeServer(t, func(_ int, req embReq, w http.ResponseWriter) { tc.write(w, req) })
			e := newTestEmbedder(t, srv, tc.opts...)
			_, err := e.Embed(context.Background(), []string{"one", "two"})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if calls.Load() != 1 {
				t.Errorf("%d calls: a bad response must not be retried", calls.Load())
			}
		})
	}
}

func TestOpenAIEmbedderLearnedDimensionIsEnforced(t *testing.T) {
	t.Parallel()
	srv, _ := fakeServer(t, func(n int, req embReq, w http.ResponseWriter) {
		writeEmbeddings(w, req.Input, 2+n, nil) // 3, then 4
	})
	e := newTestEmbedder(t, srv)
	if _, err := e.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.Embed(context.Background(), []string{"b"})
	var de *DimensionError
	if !errors.As(err, &de) || de.Want != 3 || de.Got != 4 {
		t.Fatalf("error %v, want a DimensionError 4 vs 3", err)
	}
}

func TestOpenAIEmbedderContext(t *testing.T) {
	t.Parallel()
	t.Run("cancel during backoff", func(t *testing.T) {
		t.Parallel()
		srv, calls := fakeServer(t, func(_ int, _ embReq, w http.ResponseWriter) {
			w.Header().Set("Retry-After", "30")
			apiError(w, 429, "rate_limit_exceeded", "slow down")
		})
		e := newTestEmbedder(t, srv)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := e.Embed(ctx, []string{"x"})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		if time.Since(start) > 5*time.Second || calls.Load() != 1 {
			t.Errorf("took %v with %d calls", time.Since(start), calls.Load())
		}
	})
	t.Run("deadline shorter than Retry-After", func(t *testing.T) {
		t.Parallel()
		srv, _ := fakeServer(t, func(_ int, _ embReq, w http.ResponseWriter) {
			w.Header().Set("Retry-After", "60")
			apiError(w, 503, "overloaded", "busy")
		})
		e := newTestEmbedder(t, srv)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := e.Embed(ctx, []string{"x"})
		var pe *ProviderError
		if !errors.As(err, &pe) || pe.StatusCode != 503 {
			t.Fatalf("error %v, want the 503", err)
		}
		if time.Since(start) > 500*time.Millisecond {
			t.Errorf("waited %v although the deadline could not be met", time.Since(start))
		}
	})
	t.Run("attempt timeout retried", func(t *testing.T) {
		t.Parallel()
		srv, calls := fakeServer(t, func(n int, req embReq, w http.ResponseWriter) {
			if n == 1 {
				// Far beyond the attempt timeout, so the first attempt always
				// times out; the timeout itself is generous so that the
				// second, prompt answer never does, even on a loaded machine.
				time.Sleep(2500 * time.Millisecond)
			}
			writeEmbeddings(w, req.Input, 2, nil)
		})
		e := newTestEmbedder(t, srv, WithRequestTimeout(time.Second))
		if _, err := e.Embed(context.Background(), []string{"x"}); err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 2 {
			t.Errorf("%d calls, want 2", calls.Load())
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		t.Parallel()
		srv, calls := fakeServer(t, func(_ int, req embReq, w http.ResponseWriter) { writeEmbeddings(w, req.Input, 2, nil) })
		e := newTestEmbedder(t, srv)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := e.Embed(ctx, []string{"x"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v", err)
		}
		if calls.Load() != 0 {
			t.Errorf("sent %d requests on a cancelled context", calls.Load())
		}
	})
}

func TestOpenAIEmbedderNeverSendsEmptyInput(t *testing.T) {
	t.Parallel()
	srv, calls := fakeServer(t, func(_ int, req embReq, w http.ResponseWriter) { writeEmbeddings(w, req.Input, 2, nil) })
	e := newTestEmbedder(t, srv)
	for _, in := range [][]string{{""}, {"ok", "  \n\t"}} {
		if _, err := e.Embed(context.Background(), in); !errors.Is(err, ErrEmptyInput) {
			t.Errorf("Embed(%q) error %v, want ErrEmptyInput", in, err)
		}
	}
	if got, err := e.Embed(context.Background(), nil); err != nil || len(got) != 0 {
		t.Errorf("Embed(nil) = %v, %v", got, err)
	}
	if calls.Load() != 0 {
		t.Errorf("%d requests sent", calls.Load())
	}
}

func TestOpenAIEmbedderTransportErrorIsRetried(t *testing.T) {
	t.Parallel()
	srv, _ := fakeServer(t, func(_ int, req embReq, w http.ResponseWriter) { writeEmbeddings(w, req.Input, 2, nil) })
	url := srv.URL
	srv.Close() // connection refused from now on
	e, err := NewOpenAIEmbedder(url+"/v1", "m", WithRetries(2), WithBackoff(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Embed(context.Background(), []string{"x"})
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.Attempts != 3 || pe.StatusCode != 0 || !pe.Retryable {
		t.Fatalf("error %v (%+v), want 3 attempts of a retryable transport error", err, pe)
	}
}

func TestNewOpenAIEmbedderValidates(t *testing.T) {
	t.Parallel()
	bad := []struct {
		url, model string
		opts       []OpenAIOption
	}{
		{"", "m", nil},
		{"ftp://x/v1", "m", nil},
		{"/v1", "m", nil},
		{"http://x/v1", " ", nil},
		{"http://x/v1", "m", []OpenAIOption{WithBatchSize(0)}},
		{"http://x/v1", "m", []OpenAIOption{WithBatchSize(MaxBatchInputs + 1)}},
		{"http://x/v1", "m", []OpenAIOption{WithBatchTokens(0)}},
		{"http://x/v1", "m", []OpenAIOption{WithDimensions(-1)}},
		{"http://x/v1", "m", []OpenAIOption{WithRetries(-1)}},
		{"http://x/v1", "m", []OpenAIOption{WithBackoff(time.Second, time.Millisecond)}},
		{"http://x/v1", "m", []OpenAIOption{WithRequestTimeout(0)}},
		{"http://x/v1", "m", []OpenAIOption{WithMaxInputTokens(2)}},
		{"http://x/v1", "m", []OpenAIOption{WithHTTPClient(nil)}},
	}
	for _, b := range bad {
		if _, err := NewOpenAIEmbedder(b.url, b.model, b.opts...); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewOpenAIEmbedder(%q, %q) error %v, want ErrInvalid", b.url, b.model, err)
		}
	}
	e, err := NewOpenAIEmbedder("https://api.example.com/v1/", "text-embedding-3-small",
		WithDimensions(1536), WithMaxInputTokens(8191), WithHTTPClient(&http.Client{}))
	if err != nil {
		t.Fatal(err)
	}
	if e.Model() != "text-embedding-3-small" || e.Dimensions() != 1536 || e.MaxInputTokens() != 8191 {
		t.Errorf("got %s %d %d", e.Model(), e.Dimensions(), e.MaxInputTokens())
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"0.5", 500 * time.Millisecond},
		{"-1", 0},
		{"NaN", 0},
		{"99999", maxRetryAfter},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second},
		{now.Add(-10 * time.Second).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
