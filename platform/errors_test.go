package platform

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/tenancy"
)

// TestErrorTable checks how classify answers library errors, wrapped as
// handlers return them: the status, the code and the field list.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err    error
		status int
		code   string
		fields int
	}{
		{registry.ValidationErrors{{Field: "name", Message: "required"}, {Field: "type", Message: "unknown"}}, 422, "validation_failed", 2},
		{fmt.Errorf("wrapped: %w", registry.ValidationErrors{}), 422, "validation_failed", 1},
		{&registry.TooLargeError{What: "metric batch", Limit: 10000, Got: 10001}, 413, "too_large", 0},
		{fmt.Errorf("x: %w", &similarity.TooLargeError{Field: "spec", What: "pairs", Limit: 1, Got: 2}), 413, "too_large", 1},
		{fmt.Errorf("x: %w", similarity.ErrTooLarge), 413, "too_large", 0},
		{fmt.Errorf("x: %w", registry.ErrNotFound), 404, "not_found", 0},
		{fmt.Errorf("x: %w", registry.ErrConflict), 409, "conflict", 0},
		{fmt.Errorf("x: %w", registry.ErrInvalid), 422, "validation_failed", 0},
		{fmt.Errorf("x: %w", &tenancy.ValidationError{Field: "slug", Message: "bad"}), 422, "validation_failed", 1},
		{fmt.Errorf("x: %w", tenancy.ErrQuotaExceeded), 409, "quota_exceeded", 0},
		{fmt.Errorf("x: %w", &tenancy.QuotaError{Resource: tenancy.ResourceMetricPoints, Limit: 10, Used: 8, Requested: 5}), 409, "quota_exceeded", 0},
		{fmt.Errorf("x: %w", tenancy.ErrNoTenant), 403, "tenant_required", 0},
		{fmt.Errorf("x: %w", &metalearn.InsufficientHistoryError{Need: 10, Have: 3}), 409, "insufficient_history", 0},
		{fmt.Errorf("x: %w", metalearn.ErrNoModel), 409, "no_model", 0},
		{fmt.Errorf("x: %w", similarity.ErrProvider), 503, "embeddings_unavailable", 0},
		{fmt.Errorf("x: %w", auth.ErrRevoked), 401, "unauthorized", 0},
		{&auth.ThrottledError{RetryAfter: 3 * time.Second}, 429, "throttled", 0},
		{&auth.StoreError{Err: errors.New("redis down")}, 503, "unavailable", 0},
		{errors.New("disk on fire"), 500, "internal", 0},
	} {
		e := classify(c.err)
		if e.status != c.status || e.code != c.code || len(e.fields) != c.fields {
			t.Errorf("classify(%v) = %+v, want %d %s with %d fields", c.err, e, c.status, c.code, c.fields)
		}
		if e.cause == nil || e.cause.Error() != c.err.Error() {
			t.Errorf("classify(%v) lost the cause: %v", c.err, e.cause)
		}
	}
}

// TestErrorTableRowsAnswer checks every row's answer on an error it
// matches: rows are reached (none is shadowed by an earlier one for its
// own sample) and answer a 4xx or 503, never a 500.
func TestErrorTableRowsAnswer(t *testing.T) {
	t.Parallel()
	samples := map[string]error{
		"registry.ValidationErrors of a page (cursor, limit)": registry.ValidationErrors{{Field: "cursor", Message: "m"}},
		"registry.ValidationErrors":                           registry.ValidationErrors{{Field: "f", Message: "m"}},
		"tenancy.ValidationError":                             &tenancy.ValidationError{Field: "f", Message: "m"},
		"metalearn.ValidationError":                           &metalearn.ValidationError{Field: "f", Reason: "r"},
		"registry.TooLargeError":                              &registry.TooLargeError{What: "x", Limit: 1, Got: 2},
		"similarity.TooLargeError":                            &similarity.TooLargeError{Field: "spec", What: "x", Limit: 1, Got: 2},
		"auth.ThrottledError":                                 &auth.ThrottledError{RetryAfter: time.Second},
		"auth.StoreError":                                     &auth.StoreError{Err: errors.New("x")},
		"metalearn.InsufficientHistoryError":                  &metalearn.InsufficientHistoryError{Need: 2, Have: 1},
		"tenancy.QuotaError":                                  &tenancy.QuotaError{Resource: tenancy.ResourceProjects, Limit: 1, Used: 1, Requested: 1},
		"similarity.MemoryError":                              &similarity.MemoryError{Need: 2048, Budget: 1024},
	}
	for i, rule := range errorTable {
		sample, ok := samples[rule.name]
		if !ok {
			sample = sentinelByName(t, rule.name)
		}
		if !rule.match(sample) {
			t.Errorf("row %q does not match its own sample", rule.name)
			continue
		}
		for _, earlier := range errorTable[:i] {
			if earlier.match(sample) {
				t.Errorf("row %q is shadowed by the earlier row %q", rule.name, earlier.name)
			}
		}
		if e := rule.answer(sample); e.status >= 500 && e.status != 503 {
			t.Errorf("row %q answers %d", rule.name, e.status)
		}
	}
}

// sentinelByName returns the sentinel a row of the error table names.
func sentinelByName(t *testing.T, name string) error {
	t.Helper()
	all := map[string]error{
		"similarity.ErrEmptyInput": similarity.ErrEmptyInput, "similarity.ErrInvalid": similarity.ErrInvalid,
		"registry.ErrInvalid": registry.ErrInvalid, "tenancy.ErrInvalid": tenancy.ErrInvalid, "registry.ErrTooLarge": registry.ErrTooLarge,
		"similarity.ErrTooLarge": similarity.ErrTooLarge,
		"auth.ErrInvalidToken":   auth.ErrInvalidToken, "auth.ErrExpired": auth.ErrExpired, "auth.ErrRevoked": auth.ErrRevoked,
		"auth.ErrRefreshReuse": auth.ErrRefreshReuse, "auth.ErrInvalidAPIKey": auth.ErrInvalidAPIKey,
		"auth.ErrRoleTooHigh": auth.ErrRoleTooHigh, "tenancy.ErrNoTenant": tenancy.ErrNoTenant, "auth.ErrHasherBusy": auth.ErrHasherBusy,
		"registry.ErrNotFound": registry.ErrNotFound, "tenancy.ErrNotFound": tenancy.ErrNotFound, "auth.ErrNotFound": auth.ErrNotFound,
		"tenancy.ErrQuotaExceeded": tenancy.ErrQuotaExceeded, "registry.ErrConflict": registry.ErrConflict,
		"tenancy.ErrConflict": tenancy.ErrConflict, "metalearn.ErrNoModel": metalearn.ErrNoModel,
		"metalearn.ErrNoJob":              metalearn.ErrNoJob,
		"metalearn.ErrUnsupportedVersion": metalearn.ErrUnsupportedVersion,
		"metalearn.ErrUnknownVersion":     metalearn.ErrUnknownVersion, "metalearn.ErrNoOlderVersion": metalearn.ErrNoOlderVersion,
		"similarity.ErrProvider": similarity.ErrProvider, "similarity.ErrBadResponse": similarity.ErrBadResponse,
		"similarity.ErrDimensionMismatch": similarity.ErrDimensionMismatch, "similarity.ErrModelMismatch": similarity.ErrModelMismatch,
		"similarity.ErrUnavailable": similarity.ErrUnavailable,
	}
	err, ok := all[name]
	if !ok {
		t.Fatalf("no sample for the error table's row %q", name)
	}
	return fmt.Errorf("wrapped: %w", err)
}

func TestSliceCursor(t *testing.T) {
	t.Parallel()
	list := []int{0, 1, 2, 3, 4}
	for _, c := range []struct {
		limit  int
		cursor string
		want   []int
		next   string
		bad    bool
	}{
		{limit: 2, want: []int{0, 1}, next: "2"},
		{limit: 2, cursor: "2", want: []int{2, 3}, next: "4"},
		{limit: 2, cursor: "4", want: []int{4}},
		{limit: 5, want: []int{0, 1, 2, 3, 4}},
		{limit: 9, cursor: "9", want: []int{}},
		{limit: 2, cursor: "-1", bad: true},
		{limit: 2, cursor: "01", bad: true},
		{limit: 2, cursor: "x", bad: true},
		{limit: 2, cursor: "+1", bad: true},
	} {
		got, next, err := sliceCursor(list, pageRequest{Limit: c.limit, Cursor: c.cursor})
		if c.bad {
			var e *apiError
			if !errors.As(err, &e) || e.status != http.StatusBadRequest {
				t.Errorf("cursor %q: err %v, want 400", c.cursor, err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) || next != c.next {
			t.Errorf("limit %d cursor %q: %v %q %v, want %v %q", c.limit, c.cursor, got, next, err, c.want, c.next)
		}
	}
}

// FuzzSliceCursor checks that no cursor a client sends can make paging
// panic or return items outside the list.
func FuzzSliceCursor(f *testing.F) {
	for _, s := range []string{"", "0", "3", "999999999999999999999", "-1", "1e3", " 1"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, cursor string, limit int) {
		if limit < 1 || limit > maxPageSize {
			return
		}
		list := []int{0, 1, 2, 3, 4, 5, 6}
		got, next, err := sliceCursor(list, pageRequest{Limit: limit, Cursor: cursor})
		if err != nil {
			return
		}
		if len(got) > limit {
			t.Fatalf("page of %d items for limit %d", len(got), limit)
		}
		if next != "" {
			n, err := strconv.Atoi(next)
			if err != nil || n <= 0 || n >= len(list) {
				t.Fatalf("next cursor %q", next)
			}
		}
	})
}

func TestDecodeBatch(t *testing.T) {
	t.Parallel()
	type point struct {
		V *float64 `json:"v"`
	}
	for _, c := range []struct {
		body, ctype string
		status, n   int
	}{
		{body: `[{"v":1},{"v":2},{"v":3}]`, n: 3},
		{body: ` [ {"v":1} ] `, n: 1},
		{body: `[{"v":1},{"v":2},{"v":3},{"v":4}]`, status: 413},
		{body: `[{"v":1},{"v":2},{"v":3},{"v":4},"not even a point"]`, status: 413},
		{body: `[]`, status: 422},
		{body: `{"v":1}`, status: 422},
		{body: `[{"v":"x"}]`, status: 422},
		{body: `[{"w":1}]`, status: 422},
		{body: `[{"v":1e400}]`, status: 422},
		{body: `[{"v":1}] [1]`, status: 400},
		{body: `[{"v":1}`, status: 400},
		{body: ``, status: 400},
		{body: `[{"v":1}]`, ctype: "text/plain", status: 415},
		{body: `[` + strings.Repeat(`{"v":1},`, maxBatchBody/8) + `{"v":1}]`, status: 413},
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		ct := c.ctype
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
		got, err := decodeBatch[point](httptest.NewRecorder(), req, "test batch", 3)
		if c.status == 0 {
			if err != nil || len(got) != c.n {
				t.Errorf("%.40s: %d points, %v", c.body, len(got), err)
			}
			continue
		}
		var e *apiError
		if !errors.As(err, &e) || e.status != c.status {
			t.Errorf("%.40s: %v, want %d", c.body, err, c.status)
		}
	}
}

func TestParsers(t *testing.T) {
	t.Parallel()
	for s, ok := range map[string]bool{"2026-01-02T03:04:05Z": true, "2026-01-02T03:04:05.123+02:00": true,
		"2026-01-02": false, "": false, "yesterday": false} {
		if _, got := parseOptionalTime(&s); got != ok {
			t.Errorf("parseOptionalTime(%q) ok=%v", s, got)
		}
	}
	if ts, ok := parseOptionalTime(nil); !ok || !ts.IsZero() {
		t.Error("a missing time is not the zero time")
	}
	for raw, want := range map[string]int{"": defaultSimilarLimit, "1": 1, "1000": 1000} {
		if k, err := similarLimit(raw); err != nil || k != want {
			t.Errorf("similarLimit(%q) = %d, %v", raw, k, err)
		}
	}
	for _, raw := range []string{"0", "1001", "x", "-3"} {
		if _, err := similarLimit(raw); err == nil {
			t.Errorf("similarLimit(%q) accepted", raw)
		}
	}
}

// FuzzDecodeBatch checks that no body makes batch decoding panic, accept
// more points than the limit, or answer anything but a 4xx problem.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range []string{`[{"key":"loss","value":1,"step":2}]`, `[]`, `[1,2]`, `{"a":1}`, `[{"value":1e999}]`,
		`[{"key":"a","value":1}] x`, `[[[[`, `[{"timestamp":"2026-01-01T00:00:00Z","value":0}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		got, err := decodeBatch[metricPointRequest](httptest.NewRecorder(), req, "metric batch", 3)
		if err == nil {
			if len(got) == 0 || len(got) > 3 {
				t.Fatalf("accepted %d points", len(got))
			}
			return
		}
		var e *apiError
		if !errors.As(err, &e) || e.status < 400 || e.status >= 500 {
			t.Fatalf("body %q: %v", body, err)
		}
	})
}
