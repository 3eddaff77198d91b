package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	mc "github.com/maestro-ml/maestro/client"
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
	Body     string // the problem's code and detail, cut short
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("loadtest: %s: status %d, want %d: %s", e.Endpoint, e.Status, e.Want, e.Body)
}

// maxErrorBody bounds the body excerpt kept in a StatusError.
const maxErrorBody = 300

// client sends the harness's requests to one target through package
// client (the platform's typed Go client) over a shared, keep-alive
// transport, and records them. It is safe for concurrent use.
type client struct {
	base   string
	http   *http.Client
	rec    *recorder     // nil: requests are not recorded (setup)
	budget *atomic.Int64 // requests left; nil: unbounded
}

// api returns a platform client of the target authenticated with token
// ("" for none), sending through c's transport.
func (c *client) api(token string) (*mc.Client, error) {
	opts := []mc.Option{mc.WithHTTPClient(c.http), mc.WithUserAgent("maestro-loadtest/1")}
	if token != "" {
		opts = append(opts, mc.WithToken(token))
	}
	api, err := mc.New(c.base, opts...)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	return api, nil
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

// call makes one request named endpoint with do, a call of the platform
// client that the API answers with status want when it succeeds. The
// latency is measured until do returns, when the client has read the whole
// answer. A request cut short because ctx ended is not recorded: the run
// was over, the server did not fail.
func (c *client) call(ctx context.Context, endpoint string, want int, do func(context.Context) error) error {
	if c.budget != nil && c.budget.Add(-1) < 0 {
		return ErrBudget
	}
	begin := time.Now()
	err := do(ctx)
	latency := time.Since(begin)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	status := want
	var apiErr *mc.Error
	switch {
	case errors.As(err, &apiErr):
		status = apiErr.Status
	case err != nil:
		status = 0
	}
	if c.rec != nil {
		c.rec.add(endpoint, begin, latency, status, err == nil)
	}
	switch {
	case apiErr != nil:
		body := apiErr.Code
		if apiErr.Detail != "" {
			body += ": " + apiErr.Detail
		}
		return &StatusError{Endpoint: endpoint, Status: status, Want: want, Body: body[:min(len(body), maxErrorBody)]}
	case err != nil:
		return fmt.Errorf("loadtest: %s: %w", endpoint, err)
	}
	return nil
}
