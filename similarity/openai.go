package similarity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	openai "github.com/sashabaranov/go-openai"
)

// Limits and defaults of the OpenAI-compatible embedder. OpenAI accepts at
// most 2048 inputs and 300,000 tokens per embeddings request.
const (
	// MaxBatchInputs is the most inputs any request may carry.
	MaxBatchInputs = 2048
	// DefaultBatchSize is the default number of inputs per request.
	DefaultBatchSize = 128
	// DefaultBatchTokens is the default budget of approximate tokens per
	// request.
	DefaultBatchTokens = 100_000
	// DefaultMaxInputTokens is the default per-text token limit that the
	// embedder reports through TokenLimiter: all-MiniLM-L6-v2's window,
	// small enough for every common embedding model.
	DefaultMaxInputTokens = 256
	// DefaultRetries is the default number of retries after a failed
	// attempt (so at most DefaultRetries+1 attempts per batch).
	DefaultRetries = 4
	// DefaultRequestTimeout bounds one HTTP attempt.
	DefaultRequestTimeout = 60 * time.Second
	// maxResponseBytes bounds a response body: 2048 vectors of 3072
	// floats in JSON fit comfortably.
	maxResponseBytes = 256 << 20
	// maxRetryAfter caps how long a Retry-After header can make us wait.
	maxRetryAfter = 2 * time.Minute
)

// OpenAIEmbedder calls an OpenAI-compatible /v1/embeddings API (OpenAI,
// Azure-style gateways, Ollama, text-embeddings-inference, llama.cpp,
// LocalAI, vLLM, ...) through github.com/sashabaranov/go-openai.
//
// It splits large calls into requests within the API's limits, retries 429
// and 5xx answers and transport errors with exponential backoff and jitter
// (honouring Retry-After and the context), bounds each attempt with a
// timeout, never sends an empty input, checks that the response holds one
// finite, non-zero vector per input with a consistent dimension, and
// returns L2-normalised vectors in input order.
//
// An OpenAIEmbedder is safe for concurrent use.
type OpenAIEmbedder struct {
	client      *openai.Client
	model       string
	dims        atomic.Int64 // the dimension in force (configured, or learned; 0 until then)
	batchSize   int
	batchTokens int
	maxInput    int
	retries     int
	backoffMin  time.Duration
	backoffMax  time.Duration
	timeout     time.Duration
}

var (
	_ Embedder     = (*OpenAIEmbedder)(nil)
	_ TokenLimiter = (*OpenAIEmbedder)(nil)
)

// OpenAIOption configures an OpenAIEmbedder.
type OpenAIOption func(*openAIConfig) error

type openAIConfig struct {
	apiKey      string
	httpClient  *http.Client
	dims        int
	batchSize   int
	batchTokens int
	maxInput    int
	retries     int
	backoffMin  time.Duration
	backoffMax  time.Duration
	timeout     time.Duration
}

// WithAPIKey sets the bearer token sent to the provider. Local servers
// usually need none. A key with control characters (a pasted newline, say)
// is ErrInvalid: it could not be sent in a header.
func WithAPIKey(key string) OpenAIOption {
	return func(c *openAIConfig) error {
		if strings.ContainsFunc(key, unicode.IsControl) {
			return fmt.Errorf("%w: API key contains control characters", ErrInvalid)
		}
		c.apiKey = key
		return nil
	}
}

// WithHTTPClient sets the HTTP client (for proxies, TLS settings or
// tests). Its Timeout, if any, applies in addition to WithRequestTimeout.
func WithHTTPClient(hc *http.Client) OpenAIOption {
	return func(c *openAIConfig) error {
		if hc == nil {
			return fmt.Errorf("%w: nil HTTP client", ErrInvalid)
		}
		c.httpClient = hc
		return nil
	}
}

// WithDimensions declares the dimension of the model's vectors; responses
// of another dimension are refused. Without it the dimension is learned
// from the first response and then enforced.
func WithDimensions(n int) OpenAIOption {
	return func(c *openAIConfig) error {
		if n <= 0 {
			return fmt.Errorf("%w: dimensions %d", ErrInvalid, n)
		}
		c.dims = n
		return nil
	}
}

// WithBatchSize sets the most inputs sent in one request (1 to
// MaxBatchInputs; default DefaultBatchSize).
func WithBatchSize(n int) OpenAIOption {
	return func(c *openAIConfig) error {
		if n < 1 || n > MaxBatchInputs {
			return fmt.Errorf("%w: batch size %d not in [1, %d]", ErrInvalid, n, MaxBatchInputs)
		}
		c.batchSize = n
		return nil
	}
}

// WithBatchTokens sets the budget of approximate tokens per request
// (default DefaultBatchTokens). A single input above the budget is sent
// alone.
func WithBatchTokens(n int) OpenAIOption {
	return func(c *openAIConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: batch tokens %d", ErrInvalid, n)
		}
		c.batchTokens = n
		return nil
	}
}

// WithMaxInputTokens sets the model's per-text token limit reported by
// MaxInputTokens (default DefaultMaxInputTokens). The Service chunks texts
// to fit it; the embedder itself sends texts as given and reports the
// provider's refusal of a longer one as a *ProviderError.
func WithMaxInputTokens(n int) OpenAIOption {
	return func(c *openAIConfig) error {
		if n < 8 {
			return fmt.Errorf("%w: max input tokens %d", ErrInvalid, n)
		}
		c.maxInput = n
		return nil
	}
}

// WithRetries sets how many times a failed attempt is retried (default
// DefaultRetries; 0 disables retries).
func WithRetries(n int) OpenAIOption {
	return func(c *openAIConfig) error {
		if n < 0 {
			return fmt.Errorf("%w: retries %d", ErrInvalid, n)
		}
		c.retries = n
		return nil
	}
}

// WithBackoff sets the first retry delay and the cap of the exponential
// backoff (defaults 500ms and 20s). Each delay is drawn uniformly from
// [d/2, d) ("equal jitter"); a longer Retry-After from the provider wins,
// up to two minutes.
func WithBackoff(initial, max time.Duration) OpenAIOption {
	return func(c *openAIConfig) error {
		if initial <= 0 || max < initial {
			return fmt.Errorf("%w: backoff %v..%v", ErrInvalid, initial, max)
		}
		c.backoffMin, c.backoffMax = initial, max
		return nil
	}
}

// WithRequestTimeout bounds each HTTP attempt (default
// DefaultRequestTimeout). The caller's context bounds the whole call.
func WithRequestTimeout(d time.Duration) OpenAIOption {
	return func(c *openAIConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout %v", ErrInvalid, d)
		}
		c.timeout = d
		return nil
	}
}

// NewOpenAIEmbedder returns an embedder for model at baseURL, the API's
// base URL including its version path, such as "https://api.openai.com/v1"
// or "http://127.0.0.1:8088/v1". It reports ErrInvalid for a URL
// that is not absolute http(s), an empty model or an invalid option.
func NewOpenAIEmbedder(baseURL, model string, opts ...OpenAIOption) (*OpenAIEmbedder, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: base URL must be an absolute http(s) URL", ErrInvalid)
	}
	if strings.TrimSpace(model) == "" {
		return nil, fmt.Errorf("%w: empty model name", ErrInvalid)
	}
	cfg := openAIConfig{
		httpClient:  &http.Client{},
		batchSize:   DefaultBatchSize,
		batchTokens: DefaultBatchTokens,
		maxInput:    DefaultMaxInputTokens,
		retries:     DefaultRetries,
		backoffMin:  500 * time.Millisecond,
		backoffMax:  20 * time.Second,
		timeout:     DefaultRequestTimeout,
	}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalid)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	oc := openai.DefaultConfig(cfg.apiKey)
	oc.BaseURL = strings.TrimRight(baseURL, "/")
	oc.HTTPClient = &recordingDoer{client: cfg.httpClient}
	e := &OpenAIEmbedder{
		client:      openai.NewClientWithConfig(oc),
		model:       model,
		batchSize:   cfg.batchSize,
		batchTokens: cfg.batchTokens,
		maxInput:    cfg.maxInput,
		retries:     cfg.retries,
		backoffMin:  cfg.backoffMin,
		backoffMax:  cfg.backoffMax,
		timeout:     cfg.timeout,
	}
	e.dims.Store(int64(cfg.dims))
	return e, nil
}

// Model implements Embedder.
func (e *OpenAIEmbedder) Model() string { return e.model }

// Dimensions implements Embedder. It is 0 until the first response when
// WithDimensions was not given.
func (e *OpenAIEmbedder) Dimensions() int { return int(e.dims.Load()) }

// MaxInputTokens implements TokenLimiter.
func (e *OpenAIEmbedder) MaxInputTokens() int { return e.maxInput }

// Embed implements Embedder. It reports ErrEmptyInput (sending nothing)
// when a text is blank, a *ProviderError when the provider refuses or keeps
// failing, ErrBadResponse for an unusable response, a *DimensionError for a
// vector of the wrong dimension, and the context's error when ctx ends.
func (e *OpenAIEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := checkInputs(texts); err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); {
		end := e.batchEnd(texts, start)
		vecs, err := e.embedBatch(ctx, texts[start:end])
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
		start = end
	}
	return out, nil
}

// batchEnd returns the end of the batch that starts at start: at most
// batchSize texts and batchTokens approximate tokens, at least one text.
func (e *OpenAIEmbedder) batchEnd(texts []string, start int) int {
	end, tokens := start, 0
	for end < len(texts) && end-start < e.batchSize {
		t := approxTokens(texts[end])
		if end > start && tokens+t > e.batchTokens {
			break
		}
		tokens += t
		end++
	}
	return end
}

// embedBatch sends one request, with retries.
func (e *OpenAIEmbedder) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	req := openai.EmbeddingRequestStrings{
		Input:          append([]string(nil), texts...),
		Model:          openai.EmbeddingModel(e.model),
		EncodingFormat: openai.EmbeddingEncodingFormatFloat,
	}
	var last *ProviderError
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, e.ctxError(err, last)
		}
		info := &attemptInfo{}
		actx, cancel := context.WithTimeout(context.WithValue(ctx, attemptKey{}, info), e.timeout)
		resp, err := e.client.CreateEmbeddings(actx, req)
		cancel()
		if err == nil {
			return e.decode(texts, resp)
		}
		if ctx.Err() != nil {
			return nil, e.ctxError(ctx.Err(), last)
		}
		last = classify(err, info)
		last.Attempts = attempt + 1
		if !last.Retryable {
			return nil, last
		}
		if attempt >= e.retries {
			return nil, last
		}
		wait := e.backoff(attempt)
		if info.retryAfter > wait {
			wait = min(info.retryAfter, maxRetryAfter)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			// Waiting would outlive the caller: report the failure now.
			return nil, last
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, e.ctxError(ctx.Err(), last)
		case <-t.C:
		}
	}
}

func (e *OpenAIEmbedder) ctxError(err error, last *ProviderError) error {
	if last != nil {
		return fmt.Errorf("similarity: embeddings request abandoned (%w) after: %s", err, last.Error())
	}
	return fmt.Errorf("similarity: embeddings request abandoned: %w", err)
}

// backoff returns the delay before retry number attempt+1.
func (e *OpenAIEmbedder) backoff(attempt int) time.Duration {
	d := e.backoffMin
	for i := 0; i < attempt && d < e.backoffMax; i++ {
		d *= 2
	}
	d = min(d, e.backoffMax)
	half := d / 2
	return half + rand.N(d-half+1) // #nosec G404 -- back-off jitter needs no unpredictability
}

// decode checks a response and returns its vectors in input order.
func (e *OpenAIEmbedder) decode(texts []string, resp openai.EmbeddingResponse) ([][]float32, error) {
	if len(resp.Data) != len(texts) {
		return nil, fmt.Errorf("%w: %d embeddings for %d inputs", ErrBadResponse, len(resp.Data), len(texts))
	}
	out := make([][]float32, len(texts))
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= len(texts) {
			return nil, fmt.Errorf("%w: index %d out of range", ErrBadResponse, d.Index)
		}
		if out[d.Index] != nil {
			return nil, fmt.Errorf("%w: duplicate index %d", ErrBadResponse, d.Index)
		}
		if len(d.Embedding) == 0 {
			return nil, fmt.Errorf("%w: empty embedding at index %d", ErrBadResponse, d.Index)
		}
		if err := e.checkDims(len(d.Embedding)); err != nil {
			return nil, err
		}
		v, err := normalized(d.Embedding)
		if err != nil {
			return nil, fmt.Errorf("embedding %d: %w", d.Index, err)
		}
		out[d.Index] = v
	}
	return out, nil
}

// checkDims enforces the configured dimension, or learns it once.
func (e *OpenAIEmbedder) checkDims(got int) error {
	want := e.dims.Load()
	if want == 0 && e.dims.CompareAndSwap(0, int64(got)) {
		return nil
	}
	if want = e.dims.Load(); int64(got) != want {
		return &DimensionError{Model: e.model, Want: int(want), Got: got}
	}
	return nil
}

// classify turns a failed attempt into a ProviderError and decides whether
// it is worth retrying: 408, 409, 429 and 5xx answers, transport errors
// and attempt timeouts are; other 4xx answers and malformed responses are
// not.
func classify(err error, info *attemptInfo) *ProviderError {
	pe := &ProviderError{Err: err, StatusCode: info.status}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &apiErr):
		pe.StatusCode = apiErr.HTTPStatusCode
		pe.Message = apiErr.Message
		if s, ok := apiErr.Code.(string); ok {
			pe.Code = s
		}
		pe.Retryable = retryableStatus(pe.StatusCode)
	case errors.As(err, &reqErr):
		pe.StatusCode = reqErr.HTTPStatusCode
		pe.Message = http.StatusText(reqErr.HTTPStatusCode)
		pe.Retryable = retryableStatus(pe.StatusCode)
	case errors.As(err, &syn), errors.As(err, &typ), errors.As(err, &tooBig):
		pe.Err = fmt.Errorf("%w: %w", ErrBadResponse, err)
		pe.Retryable = false
	default:
		// Transport errors (including a body cut short by a dropped
		// connection) and per-attempt timeouts.
		pe.Retryable = true
	}
	return pe
}

func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusConflict,
		code == http.StatusTooManyRequests, code >= 500:
		return true
	}
	return false
}

type attemptKey struct{}

// attemptInfo carries what the transport saw of one attempt's response.
type attemptInfo struct {
	status     int
	retryAfter time.Duration
}

// recordingDoer is go-openai's HTTP client: it records the status and the
// Retry-After header of each response for the attempt in the request's
// context (go-openai does not expose error responses' headers) and bounds
// the size of response bodies.
type recordingDoer struct {
	client *http.Client
}

// Do implements go-openai's HTTPDoer.
func (d *recordingDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.client.Do(req) // #nosec G704 -- the embeddings URL is operator configuration, checked at construction
	if err != nil {
		return nil, err
	}
	if info, ok := req.Context().Value(attemptKey{}).(*attemptInfo); ok {
		info.status = resp.StatusCode
		info.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	resp.Body = http.MaxBytesReader(nil, resp.Body, maxResponseBytes)
	return resp, nil
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 || s != s {
			return 0
		}
		return min(time.Duration(min(s, maxRetryAfter.Seconds())*float64(time.Second)), maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}
