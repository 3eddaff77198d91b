package platform

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	sqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/maestro-ml/maestro/auth"
)

// problemTypePrefix prefixes the "type" member of every problem this server
// writes; the suffix is the problem's code. docs/platform.md lists the codes.
const problemTypePrefix = "urn:maestro:problem:"

// problemDetail is the RFC 9457 body of every error response.
type problemDetail struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Code   string       `json:"code"`
	Errors []fieldError `json:"errors,omitempty"`
}

// fieldError names one invalid input field in a validation problem.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// apiError is an error a handler returns to answer with a particular
// problem. Handlers build one with the constructors below (badRequest,
// notFound, ...); any other error becomes a 500 whose detail says nothing.
type apiError struct {
	status     int
	code       string
	detail     string
	fields     []fieldError
	retryAfter time.Duration // 429 and 503; written as Retry-After when set
	cause      error         // logged, never written
}

// Error implements error.
func (e *apiError) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.status, e.code, e.detail)
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

// Unwrap returns the underlying cause, if any.
func (e *apiError) Unwrap() error { return e.cause }

// newAPIError returns an apiError with status, code and detail.
func newAPIError(status int, code, detail string) *apiError {
	return &apiError{status: status, code: code, detail: detail}
}

// badRequest is a 400 for input that cannot be read at all.
func badRequest(code, detail string) *apiError {
	return newAPIError(http.StatusBadRequest, code, detail)
}

// invalid is a 422 listing the fields that failed validation.
func invalid(fields ...fieldError) *apiError {
	e := newAPIError(http.StatusUnprocessableEntity, "validation_failed", "the request has invalid fields")
	e.fields = fields
	return e
}

// invalidParameter is the 400 for query parameters (or a cursor) that
// are not valid, naming each in errors[]: every list and every query
// answers a bad parameter this way.
func invalidParameter(fields ...fieldError) *apiError {
	e := badRequest("invalid_parameter", "a query parameter is not valid")
	e.fields = fields
	return e
}

// badParam is invalidParameter for one parameter.
func badParam(name, message string) *apiError {
	return invalidParameter(fieldError{Field: name, Message: message})
}

// badCursor is the 400 of a cursor this server did not issue for the list.
func badCursor() *apiError {
	return badParam("cursor", "not a cursor this server issued for this list")
}

// notFound is the 404 for an unknown resource — and for another tenant's.
func notFound(what string) *apiError {
	return newAPIError(http.StatusNotFound, "not_found", what+" not found")
}

// forbidden is the 403 for a principal whose role is too low.
func forbidden(detail string) *apiError {
	return newAPIError(http.StatusForbidden, "forbidden", detail)
}

// unauthorized is the 401 for a missing or invalid credential. Its detail
// is the same whatever went wrong, so that it tells an attacker nothing.
func unauthorized() *apiError {
	return newAPIError(http.StatusUnauthorized, "unauthorized", "missing or invalid credentials")
}

// tooManyRequests is a 429 with a Retry-After of at least one second.
func tooManyRequests(retryAfter time.Duration) *apiError {
	e := newAPIError(http.StatusTooManyRequests, "throttled", "too many attempts; retry later")
	e.retryAfter = retryAfter
	return e
}

// dependencyRetryAfter is the Retry-After of a 503 for a failed
// dependency: long enough for a restarting database or a pool to recover
// its connections, short enough not to stall clients.
const dependencyRetryAfter = 2 * time.Second

// unavailable is the 503 for a dependency (database, Redis) that failed,
// with a Retry-After; cause is logged, never written.
func unavailable(cause error) *apiError {
	e := newAPIError(http.StatusServiceUnavailable, "unavailable", "a dependency is unavailable; retry later")
	e.cause = cause
	e.retryAfter = dependencyRetryAfter
	return e
}

// busy is the 503 of a heavy route whose concurrency limit is reached.
func busy() *apiError {
	e := newAPIError(http.StatusServiceUnavailable, "busy", "the server is busy with requests of this kind; retry later")
	e.retryAfter = busyRetryAfter
	return e
}

// validator collects field errors; its err method returns them as one
// 422 problem, or nil when every check passed.
type validator struct{ fields []fieldError }

// check records message for field unless ok.
func (v *validator) check(ok bool, field, message string) {
	if !ok {
		v.fields = append(v.fields, fieldError{Field: field, Message: message})
	}
}

// checkPassword records, for field, the reason the password policy
// refuses password (auth.CheckPasswordPolicy); the reason never repeats
// the password.
func (v *validator) checkPassword(field, password, username, email string) {
	err := auth.CheckPasswordPolicy(password, username, email)
	if err == nil {
		return
	}
	msg := "does not meet the password policy"
	var pe *auth.PolicyError
	if errors.As(err, &pe) {
		msg = pe.Reason
	}
	v.check(false, field, msg)
}

// paramErr returns the 400 invalid_parameter problem for the failed
// checks of query parameters, or nil.
func (v *validator) paramErr() error {
	if len(v.fields) == 0 {
		return nil
	}
	return invalidParameter(v.fields...)
}

// err returns the 422 problem for the failed checks, or nil.
func (v *validator) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return invalid(v.fields...)
}

// problem writes a problem+json response with status and code. It is the
// only way this server writes an error; see fail for errors returned by
// handlers.
func problem(w http.ResponseWriter, status int, code, detail string) {
	writeProblem(w, &apiError{status: status, code: code, detail: detail})
}

func writeProblem(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	if e.status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Bearer realm="maestro"`)
	}
	setRetryAfter(h, e)
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	writeBody(w, e.status, problemDetail{
		Type:   problemTypePrefix + e.code,
		Title:  http.StatusText(e.status),
		Status: e.status,
		Detail: e.detail,
		Code:   e.code,
		Errors: e.fields,
	})
}

// setRetryAfter sets the Retry-After of e's answer: always on a 429, on a
// 503 when retrying can help (e.retryAfter set). The API's problems and
// the dashboard's pages share it.
func setRetryAfter(h http.Header, e *apiError) {
	if e.status == http.StatusTooManyRequests || (e.status == http.StatusServiceUnavailable && e.retryAfter > 0) {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(e.retryAfter)))
	}
}

// retryAfterSeconds is d as a Retry-After: whole seconds, rounded up, at
// least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// fail answers a request whose handler returned err. An *apiError (or an
// error the library maps to one, see classify) is written as is; anything
// else is logged with the request id and answered with a 500 that reveals
// nothing.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := classify(err)
	if e.code == "busy" {
		// Load shedding by design (a heavy route or the hasher is full):
		// worth counting, not an error to page anyone for.
		s.logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "request shed",
			slog.String("reason", err.Error()))
	} else if e.status >= 500 {
		s.logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("error", err.Error()))
	} else if e.cause != nil {
		s.logger(r.Context()).LogAttrs(r.Context(), slog.LevelDebug, "request refused",
			slog.String("error", err.Error()))
	}
	writeProblem(w, e)
}

// requestBody is a request's body whose read errors say that they are the
// client's: a failure reading it (a stalled or dropped upload) must not be
// mistaken for a failed database connection, which also surfaces as a
// net.Error or an unexpected EOF. withRequestID wraps every body in one.
type requestBody struct{ io.ReadCloser }

// Read implements io.Reader; errors other than io.EOF come back as a
// *bodyReadError.
func (b *requestBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		var tooLarge *http.MaxBytesError
		if !errors.As(err, &tooLarge) {
			err = &bodyReadError{err: err}
		}
	}
	return n, err
}

// bodyReadError is a failure reading the request's body.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// problem answers the client whose body could not be read: 408 when it
// stalled past the server's read timeout, 400 when it broke off.
func (e *bodyReadError) problem() *apiError {
	var ne net.Error
	if errors.As(e.err, &ne) && ne.Timeout() {
		return &apiError{status: http.StatusRequestTimeout, code: "request_timeout",
			detail: "the request body did not arrive in time", cause: e}
	}
	return &apiError{status: http.StatusBadRequest, code: "incomplete_body",
		detail: "the request body broke off before its end", cause: e}
}

// classify turns any error a handler returns into the problem to write:
// an *apiError as it is; a failure reading the request body as the
// client's (408 or 400, never a 503); a library error by the first row of errorTable
// that matches it; a cancelled or timed-out request, or a failed database
// connection, as 503; anything else as a 500 that reveals nothing.
func classify(err error) *apiError {
	var e *apiError
	if errors.As(err, &e) {
		return e
	}
	var body *bodyReadError
	if errors.As(err, &body) {
		return body.problem()
	}
	for _, rule := range errorTable {
		if rule.match(err) {
			e := rule.answer(err)
			e.cause = err
			return e
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &apiError{status: http.StatusServiceUnavailable, code: "unavailable",
			detail: "the request did not complete in time", cause: err}
	}
	if connectionFailure(err) {
		return unavailable(err)
	}
	return &apiError{status: http.StatusInternalServerError, code: "internal",
		detail: "internal server error", cause: err}
}

// connectionFailure reports whether err says that the database connection,
// rather than the statement, failed: the server restarting or refusing
// connections, a connection dropped mid-statement, a pool handing out a
// dead connection, or SQLite's lock held by another writer. Such a request
// may succeed when retried, so it is a 503, not a 500. Errors of the
// statement itself (constraint violations, syntax, cancellation by the
// server) are not connection failures.
func connectionFailure(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// Class 08: connection exception. 57P01-57P03: admin or crash
		// shutdown, cannot connect now. 53300: too many connections.
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" ||
			pg.Code == "57P03" || pg.Code == "53300"
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		// The primary result code is the low byte of an extended one.
		switch se.Code() & 0xff {
		case sqliteBusy, sqliteLocked:
			return true
		}
	}
	return false
}

// SQLite primary result codes (https://sqlite.org/rescode.html).
const (
	sqliteBusy   = 5 // SQLITE_BUSY: the database file is locked
	sqliteLocked = 6 // SQLITE_LOCKED: a table is locked
)
