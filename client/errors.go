package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors for the statuses a caller usually branches on. An
// *Error matches them with errors.Is by its status:
//
//	if errors.Is(err, client.ErrNotFound) { ... }
//
// This is the one convention of the package; errors.As with *Error gives
// the whole problem (code, detail, field errors).
var (
	// ErrBadRequest matches a 400: the request could not be read.
	ErrBadRequest = errors.New("client: bad request")
	// ErrUnauthorized matches a 401: no valid credential.
	ErrUnauthorized = errors.New("client: unauthorized")
	// ErrForbidden matches a 403: the credential may not do this.
	ErrForbidden = errors.New("client: forbidden")
	// ErrNotFound matches a 404: no such resource in the caller's tenant
	// (another tenant's resource answers the same).
	ErrNotFound = errors.New("client: not found")
	// ErrConflict matches a 409: the request conflicts with the stored
	// state (a duplicate name, a spent quota, ...).
	ErrConflict = errors.New("client: conflict")
	// ErrTooLarge matches a 413: the body is over the route's limit.
	ErrTooLarge = errors.New("client: request too large")
	// ErrInvalid matches a 422: the body was read but fields are invalid;
	// Error.Errors names them.
	ErrInvalid = errors.New("client: invalid input")
	// ErrRateLimited matches a 429; Error.RetryAfter says when to retry.
	ErrRateLimited = errors.New("client: rate limited")
	// ErrUnavailable matches a 503: a dependency is down or the route is
	// busy; Error.RetryAfter says when to retry. Without a RetryAfter
	// (code "similarity_memory_exceeded") retrying does not help until an
	// operator acts.
	ErrUnavailable = errors.New("client: unavailable")
)

// sentinels maps a status to its sentinel.
var sentinels = map[int]error{
	http.StatusBadRequest:            ErrBadRequest,
	http.StatusUnauthorized:          ErrUnauthorized,
	http.StatusForbidden:             ErrForbidden,
	http.StatusNotFound:              ErrNotFound,
	http.StatusConflict:              ErrConflict,
	http.StatusRequestEntityTooLarge: ErrTooLarge,
	http.StatusUnprocessableEntity:   ErrInvalid,
	http.StatusTooManyRequests:       ErrRateLimited,
	http.StatusServiceUnavailable:    ErrUnavailable,
}

// Error is an answer of the API with a status other than 2xx: the RFC 9457
// problem the platform sends with it. Get it with errors.As.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Type is the problem's URI, "urn:maestro:problem:<code>".
	Type string
	// Code is the stable machine-readable code (docs/platform.md lists
	// them), e.g. "not_found", "validation_failed", "conflict".
	Code string
	// Title is the status's text.
	Title string
	// Detail says what went wrong.
	Detail string
	// Errors are the invalid fields of a 422 (as JSON paths such as
	// "[0].key") or the bad parameter of a 400.
	Errors []FieldError
	// RetryAfter is the answer's Retry-After (429, 503), 0 when absent.
	RetryAfter time.Duration
}

// Error implements error: "client: 404 not_found: no such project".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "client: %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for _, f := range e.Errors {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Message)
	}
	return b.String()
}

// Is reports whether target is the sentinel of e's status.
func (e *Error) Is(target error) bool {
	s, ok := sentinels[e.Status]
	return ok && s == target
}

// readError reads a non-2xx answer into an *Error and closes its body. A
// body that is not a problem (a proxy's page) becomes the Detail, cut
// short.
func readError(resp *http.Response) *Error {
	defer drain(resp.Body)
	e := &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxProblemBytes))
	var p problemDetail
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") && json.Unmarshal(b, &p) == nil {
		e.Type, e.Code, e.Detail, e.Errors = p.Type, p.Code, p.Detail, p.Errors
		if p.Title != "" {
			e.Title = p.Title
		}
		return e
	}
	const excerpt = 300
	e.Detail = strings.TrimSpace(string(b[:min(len(b), excerpt)]))
	return e
}
