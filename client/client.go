package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Default bounds of a Client; options change them.
const (
	// DefaultMaxResponseBytes bounds a JSON answer the client reads.
	DefaultMaxResponseBytes = 32 << 20
	// DefaultUserAgent is the User-Agent the client sends.
	DefaultUserAgent = "maestro-client/1"
	// maxProblemBytes bounds the body of an error answer the client reads.
	maxProblemBytes = 64 << 10
	// maxRetries bounds WithRetry's attempts, whatever it is given.
	maxRetries = 10
)

// Client calls the platform's HTTP API. It is safe for concurrent use by
// multiple goroutines; create one per base URL and credential and reuse it.
type Client struct {
	base     string // scheme://host[/prefix], without a trailing slash
	hc       *http.Client
	ua       string
	token    string   // static bearer credential; "" when none
	sess     *session // login session; nil when none
	retry    retryPolicy
	maxBytes int64
}

// Option configures a Client made by New.
type Option func(*Client) error

// WithHTTPClient makes the client send its requests through hc, for
// timeouts, TLS settings, proxies or an instrumented transport. The
// default is an http.Client with a 60 second timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("client: WithHTTPClient: nil http.Client")
		}
		c.hc = hc
		return nil
	}
}

// WithToken authenticates every request with a static bearer credential:
// an access token or an API key ("mk_..."). A static credential is never
// refreshed; use WithLogin for a session that renews itself.
func WithToken(token string) Option {
	return func(c *Client) error {
		if token == "" {
			return errors.New("client: WithToken: empty token")
		}
		c.token = token
		return nil
	}
}

// WithLogin authenticates with a username and password: the client logs
// in on its first authenticated call (or when Login is called), keeps the
// token pair, refreshes the access token shortly before it expires, and on
// a 401 refreshes once and repeats the request. When the refresh token is
// refused too (the session ended), it logs in again. tenant is the
// tenant's slug, or "" for a superadmin's session without one.
func WithLogin(username, password, tenant string) Option {
	return func(c *Client) error {
		if username == "" || password == "" {
			return errors.New("client: WithLogin: empty username or password")
		}
		c.sess = &session{creds: loginRequest{Username: username, Password: password, Tenant: tenant}}
		return nil
	}
}

// WithCredentials is WithLogin.
func WithCredentials(username, password, tenant string) Option {
	return WithLogin(username, password, tenant)
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.ua = ua
		return nil
	}
}

// WithRetry retries idempotent requests (GET, HEAD, PUT, DELETE) that the
// server answers 429 Too Many Requests or 503 Service Unavailable, up to
// attempts more times (at most 10). It waits as long as the answer's
// Retry-After says, or 100ms doubling per attempt when it says nothing,
// but never longer than maxWait per attempt; when Retry-After asks for
// more than maxWait the error is returned at once. Requests whose body is a
// stream (artifact uploads) are not retried, nor is a 503
// similarity_memory_exceeded, which only an operator can end.
func WithRetry(attempts int, maxWait time.Duration) Option {
	return func(c *Client) error {
		if attempts < 0 || maxWait < 0 {
			return errors.New("client: WithRetry: negative attempts or wait")
		}
		c.retry = retryPolicy{attempts: min(attempts, maxRetries), maxWait: maxWait}
		return nil
	}
}

// WithMaxResponseBytes bounds the JSON answers the client reads; a larger
// answer fails with an error instead of filling memory. The default is
// DefaultMaxResponseBytes. Artifact downloads are streams and are bounded
// by the caller.
func WithMaxResponseBytes(n int64) Option {
	return func(c *Client) error {
		if n <= 0 {
			return errors.New("client: WithMaxResponseBytes: not positive")
		}
		c.maxBytes = n
		return nil
	}
}

// New returns a client of the platform served at baseURL, the URL the
// platform's handler is mounted at (e.g. "https://maestro.example.com" or
// "http://127.0.0.1:8080/maestro"); the client adds /api/v1/... itself.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: base URL %q: want http(s)://host[/prefix]", baseURL)
	}
	c := &Client{
		base:     strings.TrimRight(u.String(), "/"),
		hc:       &http.Client{Timeout: 60 * time.Second},
		ua:       DefaultUserAgent,
		maxBytes: DefaultMaxResponseBytes,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.token != "" && c.sess != nil {
		return nil, errors.New("client: WithToken and WithLogin exclude each other")
	}
	return c, nil
}

// request is one call: what to send and where to put the answer.
type request struct {
	method string
	path   string     // from the base, starting with "/", escaped
	query  url.Values // nil: none
	body   []byte     // JSON; nil: none
	stream io.Reader  // raw body (octet-stream), not replayable; nil: none
	ctype  string     // Content-Type of a raw body
	public bool       // sent without a credential
	out    any        // JSON answer's target; nil: discarded
}

// call sends r, authenticating, retrying and refreshing as configured,
// and decodes a 2xx answer into r.out. Any other answer is an *Error.
func (c *Client) call(ctx context.Context, r *request) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer drain(resp.Body)
	if r.out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return c.decode(resp, r.out)
}

// decode reads resp's JSON body into out, bounded by the client's limit.
func (c *Client) decode(resp *http.Response, out any) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	if err != nil {
		return fmt.Errorf("client: read answer: %w", err)
	}
	if int64(len(b)) > c.maxBytes {
		return fmt.Errorf("client: answer larger than %d bytes", c.maxBytes)
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("client: decode answer: %w", err)
	}
	return nil
}

// send sends r and returns a 2xx answer with its body unread; any other
// answer becomes an *Error (its body read and closed).
func (c *Client) send(ctx context.Context, r *request) (*http.Response, error) {
	refreshed := false
	for attempt := 0; ; attempt++ {
		token, gen, err := c.credential(ctx, r.public)
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(ctx, r, token)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}
		apiErr := readError(resp)
		switch {
		case resp.StatusCode == http.StatusUnauthorized && c.sess != nil && !r.public && !refreshed && r.stream == nil:
			// The access token was refused (expired early, or the
			// session was renewed elsewhere): renew once and repeat.
			refreshed = true
			if err := c.sess.renew(ctx, c, gen); err != nil {
				return nil, err
			}
			attempt--
			continue
		case c.retryable(r, apiErr, attempt):
			wait, ok := c.retry.wait(attempt, apiErr.RetryAfter)
			if !ok {
				return nil, apiErr
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
			continue
		}
		return nil, apiErr
	}
}

// roundTrip sends one attempt of r with the bearer token (if any).
func (c *Client) roundTrip(ctx context.Context, r *request, token string) (*http.Response, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	switch {
	case r.stream != nil:
		body = r.stream
	case r.body != nil:
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	switch {
	case r.stream != nil:
		req.Header.Set("Content-Type", r.ctype)
	case r.body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	return resp, nil
}

// credential returns the bearer token to send (and the session's
// generation it belongs to), logging in or refreshing first when needed.
func (c *Client) credential(ctx context.Context, public bool) (string, uint64, error) {
	switch {
	case public:
		return "", 0, nil
	case c.sess != nil:
		return c.sess.access(ctx, c)
	default:
		return c.token, 0, nil
	}
}

// retryable reports whether r may be sent again after the answer e.
func (c *Client) retryable(r *request, e *Error, attempt int) bool {
	if attempt >= c.retry.attempts || r.stream != nil || permanent(e.Code) {
		return false
	}
	if e.Status != http.StatusTooManyRequests && e.Status != http.StatusServiceUnavailable {
		return false
	}
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// permanent reports whether a problem code is one of the 503 answers that
// retrying cannot help: the server sends them without Retry-After until an
// operator acts.
func permanent(code string) bool { return code == "similarity_memory_exceeded" }

// retryPolicy is WithRetry's setting; the zero value never retries.
type retryPolicy struct {
	attempts int
	maxWait  time.Duration
}

// wait returns how long to wait before attempt+1, and false when the
// server asks for longer than the policy allows.
func (p retryPolicy) wait(attempt int, retryAfter time.Duration) (time.Duration, bool) {
	if retryAfter > 0 {
		return retryAfter, retryAfter <= p.maxWait
	}
	d := 100 * time.Millisecond << min(attempt, 10)
	return min(d, p.maxWait), true
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP
// date; 0 when absent or unreadable.
func parseRetryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(min(s, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// drain reads what is left of a body (bounded) so the connection can be
// reused, and closes it.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxProblemBytes))
	_ = body.Close()
}

// marshal encodes a request body.
func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("client: encode body: %w", err)
	}
	return b, nil
}

// seg escapes one path segment.
func seg(s string) string { return url.PathEscape(s) }

// Do sends a request of the caller's making: the escape hatch for a route
// the client has no method for yet, or for a deliberately odd request in a
// test. path is from the base URL, with any query ("/api/v1/projects?limit=5"),
// and is sent as given. body is nil (no body), a []byte or json.RawMessage
// (sent as is, as application/json), an io.Reader (sent as
// application/octet-stream, never retried), or any other value (encoded as
// JSON). out is nil (answer discarded), a *[]byte (the raw answer) or a
// value the JSON answer is decoded into. Authentication, retries and
// errors work as for every other method.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("client: Do: path %q does not start with /", path)
	}
	r := &request{method: method, path: path, out: out}
	switch b := body.(type) {
	case nil:
	case []byte:
		r.body = b
	case json.RawMessage:
		r.body = b
	case io.Reader:
		r.stream, r.ctype = b, "application/octet-stream"
	default:
		enc, err := marshal(b)
		if err != nil {
			return err
		}
		r.body = enc
	}
	return c.call(ctx, r)
}
