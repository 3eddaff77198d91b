package platform

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

type decodeTarget struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestDecode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		contentType string
		body        string
		status      int // 0: success
		code        string
	}{
		{"ok", "application/json", `{"name":"a","count":2}`, 0, ""},
		{"ok with charset", "application/json; charset=utf-8", `{"name":"a"}`, 0, ""},
		{"no content type", "", `{"name":"a"}`, 415, "unsupported_media_type"},
		{"wrong content type", "text/plain", `{"name":"a"}`, 415, "unsupported_media_type"},
		{"empty", "application/json", ``, 400, "empty_body"},
		{"syntax", "application/json", `{"name":`, 400, "malformed_json"},
		{"bad syntax", "application/json", `{"name" "a"}`, 400, "malformed_json"},
		{"trailing value", "application/json", `{"name":"a"} {"name":"b"}`, 400, "malformed_json"},
		{"unknown field", "application/json", `{"name":"a","admin":true}`, 422, "validation_failed"},
		{"wrong type", "application/json", `{"count":"x"}`, 422, "validation_failed"},
		{"not an object", "application/json", `[1,2]`, 422, "validation_failed"},
		{"NUL in a string", "application/json", `{"name":"a\u0000b"}`, 422, "validation_failed"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", maxJSONBody) + `"}`, 413, "body_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			var dst decodeTarget
			err := decode(httptest.NewRecorder(), r, &dst)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if dst.Name != "a" {
					t.Fatalf("decoded %+v", dst)
				}
				return
			}
			var e *apiError
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an apiError", err)
			}
			if e.status != tc.status || e.code != tc.code {
				t.Fatalf("got %d %s, want %d %s", e.status, e.code, tc.status, tc.code)
			}
		})
	}
}

func TestDecodeFieldErrors(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"name":"a","tenant_id":"x"}`))
	r.Header.Set("Content-Type", "application/json")
	var e *apiError
	if !errors.As(decode(httptest.NewRecorder(), r, &decodeTarget{}), &e) {
		t.Fatal("want an apiError")
	}
	if len(e.fields) != 1 || e.fields[0].Field != "tenant_id" {
		t.Fatalf("fields = %+v", e.fields)
	}
}

func TestPageParams(t *testing.T) {
	t.Parallel()
	cases := []struct {
		query  string
		limit  int
		cursor string
		bad    bool
	}{
		{"", defaultPageSize, "", false},
		{"limit=1", 1, "", false},
		{"limit=1000&cursor=abc", 1000, "abc", false},
		{"limit=0", 0, "", true},
		{"limit=1001", 0, "", true},
		{"limit=-5", 0, "", true},
		{"limit=ten", 0, "", true},
		{"cursor=" + strings.Repeat("c", maxCursorLen+1), 0, "", true},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(http.MethodGet, "/?"+tc.query, nil)
		p, err := pageParams(r)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: no error", tc.query)
			}
			continue
		}
		if err != nil || p.Limit != tc.limit || p.Cursor != tc.cursor {
			t.Errorf("%q: got %+v, %v", tc.query, p, err)
		}
	}
}

func TestWritePage(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	writePage[int](rec, nil, "")
	if got := strings.TrimSpace(rec.Body.String()); got != `{"items":[],"next_cursor":null}` {
		t.Fatalf("empty page = %s", got)
	}
	rec = httptest.NewRecorder()
	writePage(rec, []string{"a"}, "next")
	var p struct {
		Items      []string `json:"items"`
		NextCursor *string  `json:"next_cursor"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 1 || p.NextCursor == nil || *p.NextCursor != "next" {
		t.Fatalf("page = %+v", p)
	}
}

func TestWriteJSONUnencodable(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, map[string]any{"f": func() {}})
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var p problemDetail
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != "internal" {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"a"}`, `{"count":1e400}`, `[`, `{"name":"\u0000"}`, `null`, `{"a":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		err := decode(httptest.NewRecorder(), r, &decodeTarget{})
		if err == nil {
			return
		}
		var e *apiError
		if !errors.As(err, &e) || e.status < 400 || e.status > 499 {
			t.Fatalf("decode(%q) = %v: bad input must be a 4xx problem", body, err)
		}
	})
}

func TestFindNUL(t *testing.T) {
	t.Parallel()
	type inner struct {
		Tags []string          `json:"tags"`
		Meta map[string]string `json:"meta"`
	}
	type outer struct {
		Name  string `json:"name,omitempty"`
		Inner *inner `json:"inner"`
		Any   any    `json:"any"`
		Plain string
	}
	cases := []struct {
		v    any
		want string
	}{
		{outer{Name: "x"}, ""},
		{outer{Name: "a\x00"}, "name"},
		{outer{Inner: &inner{Tags: []string{"ok", "b\x00"}}}, "inner.tags[1]"},
		{outer{Inner: &inner{Meta: map[string]string{"k": "\x00"}}}, "inner.meta.k"},
		{outer{Inner: &inner{Meta: map[string]string{"k\x00": "v"}}}, "inner.meta"},
		{outer{Any: []any{"\x00"}}, "any[0]"},
		{outer{Plain: "\x00"}, "Plain"},
	}
	for _, c := range cases {
		got, ok := findNUL(reflect.ValueOf(&c.v), "")
		if ok != (c.want != "") || got != c.want {
			t.Errorf("%+v: %q %v, want %q", c.v, got, ok, c.want)
		}
	}
}

func FuzzPageParams(f *testing.F) {
	for _, q := range []string{"", "limit=10", "limit=0", "limit=1001&cursor=x", "limit=%zz", "cursor=" + strings.Repeat("a", 600)} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.RawQuery = query
		p, err := pageParams(r)
		if err != nil {
			var e *apiError
			if !errors.As(err, &e) || e.status != http.StatusBadRequest {
				t.Fatalf("pageParams(%q) = %v, want a 400", query, err)
			}
			return
		}
		if p.Limit < 1 || p.Limit > maxPageSize || len(p.Cursor) > maxCursorLen {
			t.Fatalf("pageParams(%q) = %+v", query, p)
		}
	})
}
