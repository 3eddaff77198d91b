package platform

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/registry"
)

func TestRegistryError(t *testing.T) {
	t.Parallel()
	other := errors.New("disk on fire")
	for _, c := range []struct {
		err    error
		status int
		code   string
		fields int
	}{
		{registry.ValidationErrors{{Field: "name", Message: "required"}, {Field: "type", Message: "unknown"}}, 422, "validation_failed", 2},
		{fmt.Errorf("wrapped: %w", registry.ValidationErrors{}), 422, "validation_failed", 1},
		{&registry.TooLargeError{What: "metric batch", Limit: 10000, Got: 10001}, 413, "too_large", 0},
		{fmt.Errorf("x: %w", registry.ErrNotFound), 404, "not_found", 0},
		{fmt.Errorf("x: %w", registry.ErrConflict), 409, "conflict", 0},
		{fmt.Errorf("x: %w", registry.ErrInvalid), 422, "validation_failed", 0},
	} {
		var e *apiError
		if !errors.As(registryError(c.err), &e) || e.status != c.status || e.code != c.code || len(e.fields) != c.fields {
			t.Errorf("registryError(%v) = %+v, want %d %s with %d fields", c.err, e, c.status, c.code, c.fields)
		}
	}
	if registryError(nil) != nil {
		t.Error("registryError(nil) != nil")
	}
	if got := registryError(other); got != other {
		t.Errorf("an unknown error was changed: %v", got)
	}
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
