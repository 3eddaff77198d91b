package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// ErrBudget is returned when the run's request budget (Config.MaxRequests)
// is spent; virtual users stop when they meet it.
var ErrBudget = errors.New("loadtest: request budget spent")

// StatusError is returned when a request answers another status than the
// one the API documents for it.
type StatusError struct {
	Endpoint string // the operation, e.g. "GET /projects/{id}"
	Status   int    // the status received
	Want     int    // the status the API documents
	Body     string // the start of the response body (an RFC 9457 problem)
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("loadtest: %s: status %d, want %d: %s", e.Endpoint, e.Status, e.Want, e.Body)
}

// maxErrorBody bounds the body excerpt kept in a StatusError.
const maxErrorBody = 300

// client sends the harness's requests to one target over a shared,
// keep-alive transport and records them. It is safe for concurrent use.
type client struct {
	base   string
	http   *http.Client
	rec    *recorder     // nil: requests are not recorded (setup)
	budget *atomic.Int64 // requests left; nil: unbounded
}

// newHTTPClient returns an HTTP/1.1 client whose connection pool keeps
// up to conns idle keep-alive connections to the target, so that virtual
// users reuse connections instead of opening one per request.
func newHTTPClient(conns int, timeout time.Duration, allowNonLoopback bool) *http.Client {
	tr := &http.Transport{
		DialContext:           dialer(allowNonLoopback),
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		// The API answers no redirects; following one could leave loopback.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// withRecorder returns a copy of c that records into rec and spends budget.
func (c *client) withRecorder(rec *recorder, budget *atomic.Int64) *client {
	cc := *c
	cc.rec, cc.budget = rec, budget
	return &cc
}

// call sends one request named endpoint to path (relative to the API base)
// with an optional bearer token and JSON body, and expects status want.
// When out is non-nil and the status is want, the JSON answer is decoded
// into it. The latency is measured until the whole body has been read. A
// request cut short because ctx ended is not recorded: the run was over,
// the server did not fail.
func (c *client) call(ctx context.Context, endpoint, method, path, token string, body any, want int, out any) error {
	if c.budget != nil && c.budget.Add(-1) < 0 {
		return ErrBudget
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("loadtest: %s: encode body: %w", endpoint, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("loadtest: %s: %w", endpoint, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	begin := time.Now()
	status, excerpt, err := c.roundTrip(req, want, out)
	latency := time.Since(begin)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	ok := err == nil && status == want
	if c.rec != nil {
		c.rec.add(endpoint, begin, latency, status, ok)
	}
	switch {
	case err != nil:
		return fmt.Errorf("loadtest: %s: %w", endpoint, err)
	case status != want:
		return &StatusError{Endpoint: endpoint, Status: status, Want: want, Body: excerpt}
	}
	return nil
}

// roundTrip sends req and reads the whole answer: into out when the status
// is want, else a short excerpt for the error.
func (c *client) roundTrip(req *http.Request, want int, out any) (status int, excerpt string, err error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, string(b), err
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, "", fmt.Errorf("decode answer: %w", err)
		}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, "", err
}
