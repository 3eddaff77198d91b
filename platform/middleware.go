package platform

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/maestro-ml/maestro/auth"
)

// requestIDHeader carries the request id in and out.
const requestIDHeader = "X-Request-ID"

// validRequestID accepts the request ids a proxy may send: short, printable,
// nothing that could forge a log line.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

type requestIDKey struct{}

// requestID returns the id of the request ctx belongs to.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// logger returns the server's logger with the request id of ctx attached.
func (s *Server) logger(ctx context.Context) *slog.Logger {
	if id := requestID(ctx); id != "" {
		return s.log.With(slog.String("request_id", id))
	}
	return s.log
}

// statusWriter records the status and size of a response for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withRequestID takes a well-formed X-Request-ID from the request or makes
// one, puts it (and the client address) in the context and echoes it in the
// response.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !validRequestID.MatchString(id) {
			id = uuid.NewString()
		}
		w.Header().Set(requestIDHeader, id)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		ctx = context.WithValue(ctx, clientIPKey{}, clientIP(r))
		r = r.WithContext(ctx)
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &requestBody{ReadCloser: r.Body}
		}
		next.ServeHTTP(w, r)
	})
}

// principalHolder lets the access log see the principal that the
// authentication middleware, deeper in the chain, put in the context.
type principalHolder struct {
	p     *auth.Principal
	route string // the matched route's pattern, for metrics
}

type principalHolderKey struct{}

// notePrincipal records p for the access log of the request of ctx.
func notePrincipal(ctx context.Context, p auth.Principal) {
	if h, ok := ctx.Value(principalHolderKey{}).(*principalHolder); ok {
		h.p = &p
	}
}

// notePattern records the route pattern of the requests next serves, for
// the request metrics (labelled by pattern, never by path).
func notePattern(pattern string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := r.Context().Value(principalHolderKey{}).(*principalHolder); ok {
			h.route = pattern
		}
		next.ServeHTTP(w, r)
	})
}

// accessLog logs one line per request: method, path (never the query, which
// could hold input a client considers private), status, size, duration,
// client address and, when authenticated, the user and tenant ids. It never
// logs headers or bodies, so no credential reaches the log.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		sw := &statusWriter{ResponseWriter: w}
		holder := &principalHolder{}
		r = r.WithContext(context.WithValue(r.Context(), principalHolderKey{}, holder))
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", s.now().Sub(start)),
			slog.String("remote", clientIP(r)),
		}
		if p := holder.p; p != nil {
			attrs = append(attrs, slog.String("user_id", p.UserID), slog.String("tenant_id", p.TenantID))
		}
		s.logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		s.metrics.observeRequest(holder.route, sw.status, s.now().Sub(start))
	})
}

// recoverPanics turns a panic in a handler into a logged 500 problem. The
// server keeps serving; http.ErrAbortHandler is re-raised as net/http
// expects.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "panic in handler",
				slog.Any("panic", v))
			problem(w, http.StatusInternalServerError, "internal", "internal server error")
		}()
		next.ServeHTTP(w, r)
	})
}

// Content security policies: the API serves no documents, so its policy
// allows nothing; the dashboard's pages load only the server's own script,
// stylesheet and images — no inline script or style, no other origin — and
// submit forms only to the server.
const (
	apiCSP       = "default-src 'none'; frame-ancestors 'none'"
	dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

// securityHeaders sets the headers every response carries: no sniffing,
// no framing, no referrer to other sites, no caching, and a CSP — for the
// API one that allows nothing, for the dashboard's pages dashboardCSP.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		if isAPIPath(r.URL.Path) {
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Content-Security-Policy", apiCSP)
		} else {
			// same-origin: the browser sends the pages' forms with their
			// Origin (no-referrer would make it "null"), which the
			// dashboard checks; other sites still get no referrer.
			h.Set("Referrer-Policy", "same-origin")
			h.Set("Content-Security-Policy", dashboardCSP)
		}
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address of the TCP peer. Forwarding headers are not
// trusted: behind a proxy, configure the proxy to connect from a trusted
// address and extend this function deliberately.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// rejectMalformedURL answers 400 for a path or query that holds a NUL
// character or invalid UTF-8, before any handler sees it: no id, name or
// filter of this API contains one, and PostgreSQL would refuse it with an
// error (a 5xx for what is bad input).
func rejectMalformedURL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cleanText(r.URL.Path) || !cleanText(r.URL.RawQuery) || !cleanQuery(r) {
			problem(w, http.StatusBadRequest, "malformed_url", "the path or query holds a NUL character or invalid UTF-8")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cleanText reports whether s is valid UTF-8 without NUL characters.
func cleanText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// cleanQuery checks the decoded query: percent-encoding can hide what
// cleanText would refuse in the raw query.
func cleanQuery(r *http.Request) bool {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return false
	}
	for k, vs := range q {
		if !cleanText(k) {
			return false
		}
		for _, v := range vs {
			if !cleanText(v) {
				return false
			}
		}
	}
	return true
}

// muxFallback answers what the ServeMux itself would answer — unknown paths
// (404), known paths with another method (405 with Allow), redirects to a
// cleaned path — but as problem+json. Matched requests go to the mux.
func muxFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch {
		case rec.status == http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			problem(w, http.StatusMethodNotAllowed, "method_not_allowed", "the method is not allowed on this resource")
		case rec.status >= 300 && rec.status < 400:
			h.ServeHTTP(w, r)
		default:
			problem(w, http.StatusNotFound, "not_found", "no such resource")
		}
	})
}

// headerRecorder captures the status and headers of a fallback handler and
// discards its plain-text body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return len(b), nil
}

// timeNow is the production clock: UTC, microseconds.
func timeNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// apiClock returns now in the one form of the API's times: UTC, truncated
// to microseconds (the precision PostgreSQL stores), so that a time the
// server records answers the same before and after a database round trip.
func apiClock(now func() time.Time) func() time.Time {
	return func() time.Time { return now().UTC().Truncate(time.Microsecond) }
}
