package platform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/maestro-ml/maestro/registry"
)

// Limits on request input.
const (
	// maxJSONBody is the largest JSON request body decode accepts.
	maxJSONBody = 1 << 20 // 1 MiB
	// defaultPageSize and maxPageSize bound ?limit= on list endpoints.
	defaultPageSize = 50
	maxPageSize     = 1000
	// maxCursorLen bounds ?cursor=; cursors are opaque strings made by the
	// libraries, and never this long.
	maxCursorLen = 512
)

// decode reads the request's JSON body into dst, strictly: the content type
// must be application/json (415 otherwise), the body at most maxJSONBody
// bytes (413), one JSON value with no unknown fields and nothing after it
// (400), with values of the right types (422 naming the field). It never
// returns an error that classify would turn into a 5xx.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	return decodeLimit(w, r, dst, maxJSONBody)
}

// decodeLimit is decode with a body limit of limit bytes.
func decodeLimit(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return decodeError(err)
		}
		return badRequest("malformed_json", "the body must hold exactly one JSON value")
	}
	if field, ok := findNUL(reflect.ValueOf(dst), ""); ok {
		return invalid(fieldError{Field: field, Message: "must not contain NUL characters"})
	}
	return nil
}

// findNUL reports the first string in v that contains a NUL character
// (JSON's \u0000), with its field path. No text this API stores may hold
// one, and PostgreSQL refuses them with an error, so they are bad input.
func findNUL(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return findNUL(v.Elem(), path)
		}
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return strings.TrimPrefix(path, "."), true
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if name == "" {
				name = t.Field(i).Name
			}
			if f, ok := findNUL(v.Field(i), path+"."+name); ok {
				return f, true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if f, ok := findNUL(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); ok {
				return f, true
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := fmt.Sprint(iter.Key().Interface())
			if strings.IndexByte(k, 0) >= 0 {
				return strings.TrimPrefix(path, "."), true
			}
			if f, ok := findNUL(iter.Value(), path+"."+k); ok {
				return f, true
			}
		}
	}
	return "", false
}

// requireJSON refuses a request whose Content-Type is not application/json.
func requireJSON(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return newAPIError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"the body must be application/json")
	}
	return nil
}

// decodeError maps an encoding/json or body-reading error to a 4xx problem.
func decodeError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
	)
	var body *bodyReadError
	switch {
	case errors.As(err, &body):
		return body.problem()
	case errors.As(err, &tooLarge):
		return newAPIError(http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the body exceeds %d bytes", tooLarge.Limit))
	case errors.Is(err, io.EOF):
		return badRequest("empty_body", "the body must hold a JSON value")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed_json", "the body is not valid JSON")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return invalid(fieldError{Field: field, Message: "must be a JSON " + jsonKind(typ.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(fieldError{Field: name, Message: "unknown field"})
	default:
		// Errors from UnmarshalJSON/UnmarshalText methods of the target
		// (for example an unknown role name) are the caller's bad input.
		return badRequest("malformed_json", "the body could not be read as the expected JSON")
	}
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "string":
		return "string"
	case kind == "bool":
		return "boolean"
	case kind == "slice" || kind == "array":
		return "array"
	default:
		return "object"
	}
}

// writeJSON writes v as a JSON response with status. Encoding happens
// before the header is written, so a value that cannot be encoded yields a
// clean 500 rather than half a body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	writeBody(w, status, v)
}

func writeBody(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"type":"`+problemTypePrefix+`internal","title":"Internal Server Error","status":500,"code":"internal"}`+"\n")
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// noContent answers 204.
func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// pageRequest is a list request's ?limit= and ?cursor=.
type pageRequest struct {
	Limit  int    // 1..maxPageSize, defaultPageSize when absent
	Cursor string // opaque; empty for the first page
}

// pageParams reads ?limit= (default 50, at most 1000) and ?cursor= from r.
// A limit that is not a number in range, or an overlong cursor, is a 400
// invalid_parameter naming it, never silently clamped.
func pageParams(r *http.Request) (pageRequest, error) {
	q := r.URL.Query()
	p := pageRequest{Limit: defaultPageSize, Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return p, badParam("limit", fmt.Sprintf("must be an integer from 1 to %d", maxPageSize))
		}
		p.Limit = n
	}
	if len(p.Cursor) > maxCursorLen {
		return p, badCursor()
	}
	return p, nil
}

// idPageParams is pageParams for lists whose cursor is the id (a UUID)
// of the page's last item: any other cursor is a 400, like every list's.
func idPageParams(r *http.Request) (pageRequest, error) {
	p, err := pageParams(r)
	if err != nil {
		return p, err
	}
	if p.Cursor != "" {
		if u, err := uuid.Parse(p.Cursor); err != nil || u.String() != p.Cursor {
			return p, badCursor()
		}
	}
	return p, nil
}

// queryError returns err, a listing's error, with the registry's
// validation errors answered as the query parameters' fault: 400
// invalid_parameter naming each, the library's field renamed by rename
// (the filter's "tags" is the parameter "tag").
func queryError(err error, rename map[string]string) error {
	var ve registry.ValidationErrors
	if !errors.As(err, &ve) || len(ve) == 0 {
		return err
	}
	out := make([]fieldError, len(ve))
	for i, f := range ve {
		name := f.Field
		if to, ok := rename[name]; ok {
			name = to
		}
		out[i] = fieldError{Field: name, Message: f.Message}
	}
	return invalidParameter(out...)
}

// page is the body of every list response.
type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// writePage answers 200 with items and the cursor of the next page (empty:
// this was the last page, written as null).
func writePage[T any](w http.ResponseWriter, items []T, next string) {
	p := page[T]{Items: items, NextCursor: nil}
	if p.Items == nil {
		p.Items = []T{}
	}
	if next != "" {
		p.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, p)
}

// pathID returns the path parameter name of r when it is a UUID in its
// canonical form, the form of every id this API issues. Anything else is
// the 404 of an unknown resource (what names it), so that malformed input
// never reaches the database (PostgreSQL refuses a NUL byte with an error,
// for example) and never answers differently from an unknown id.
func pathID(r *http.Request, name, what string) (string, error) {
	v := r.PathValue(name)
	if u, err := uuid.Parse(v); err != nil || u.String() != v {
		return "", notFound(what)
	}
	return v, nil
}
