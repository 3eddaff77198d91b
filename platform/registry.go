package platform

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"sync/atomic"

	"github.com/maestro-ml/maestro/registry"
)

// Registry settings of the reference server.
const (
	// blobDir is the directory under MAESTRO_HOME that holds artifact
	// content (registry.FileStore), created 0700.
	blobDir = "blobs"
	// maxArtifactContent is the largest artifact content the server
	// accepts by default: the registry's own default, 256 MiB.
	maxArtifactContent = registry.DefaultMaxContentSize
	// maxBatchBody bounds the JSON body of a metric or process-metric
	// batch: 10,000 points of about 100 bytes each fit with room to spare,
	// and a batch of more points is refused with 413 once decoded.
	maxBatchBody = 8 << 20
)

// registryDeps is the server's ML registry: projects, teams, process
// metrics, experiments, runs, metrics, the artifact library with its
// content store, registered models and stored predictions, all from
// package registry on the server's tenant-scoped database. It is safe for
// concurrent use.
type registryDeps struct {
	reg   *registry.Registry
	blobs registry.BlobStore
	// contentLimit is the largest artifact upload, in bytes. The handler
	// refuses a longer body with 413 before the registry sees more than
	// that; the registry enforces maxArtifactContent on its own as well.
	// It is atomic so that a host (or a test) may lower it while serving.
	contentLimit atomic.Int64
}

// newRegistryDeps opens the blob store under MAESTRO_HOME and the registry
// on the server's database. The registry's schema must exist (prepare
// migrates it).
func newRegistryDeps(s *Server, blobs registry.BlobStore) (*registryDeps, error) {
	if blobs == nil {
		fs, err := registry.NewFileStore(filepath.Join(s.cfg.Home, blobDir))
		if err != nil {
			return nil, fmt.Errorf("artifact store: %w", err)
		}
		blobs = fs
	}
	reg, err := registry.New(s.db,
		registry.WithBlobStore(blobs),
		registry.WithClock(s.now),
		registry.WithMaxContentSize(maxArtifactContent),
		registry.WithQuota(s.tenants))
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	d := &registryDeps{reg: reg, blobs: blobs}
	d.contentLimit.Store(maxArtifactContent)
	return d, nil
}

// sliceCursor pages a list that the registry returns whole (a project's
// team, an experiment's runs, ...): the cursor is the offset of the next
// item. The lists are ordered oldest first, so appending never shifts a
// page already read.
func sliceCursor[T any](items []T, p pageRequest) ([]T, string, error) {
	off := 0
	if p.Cursor != "" {
		n, err := strconv.Atoi(p.Cursor)
		if err != nil || n < 0 || strconv.Itoa(n) != p.Cursor {
			return nil, "", badCursor()
		}
		off = n
	}
	if off >= len(items) {
		return []T{}, "", nil
	}
	end := off + p.Limit
	if end >= len(items) {
		return items[off:], "", nil
	}
	return items[off:end], strconv.Itoa(end), nil
}

// writeSlicePage answers a list request from a whole list (see
// sliceCursor).
func writeSlicePage[T any](w http.ResponseWriter, r *http.Request, items []T) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	out, next, err := sliceCursor(items, p)
	if err != nil {
		return err
	}
	writePage(w, out, next)
	return nil
}

// atIndex prefixes the fields of a validation problem about one element
// of a batch with its index: "value" becomes "[3].value".
func atIndex(err error, i int) error {
	var e *apiError
	if !errors.As(err, &e) || len(e.fields) == 0 {
		return err
	}
	out := *e
	out.fields = make([]fieldError, len(e.fields))
	for j, f := range e.fields {
		name := f.Field
		if name == "(body)" {
			name = ""
		} else {
			name = "." + name
		}
		out.fields[j] = fieldError{Field: fmt.Sprintf("[%d]%s", i, name), Message: f.Message}
	}
	return &out
}

// decodeBatch reads a JSON array of at most limit elements from the body,
// with decode's strictness (content type, body size, unknown fields,
// types), one element at a time: a batch longer than limit is refused with
// 413 as soon as element limit+1 starts, without holding the rest in
// memory. what names the batch in the problem's detail. Fields are named
// with the element's index, "[3].value".
func decodeBatch[T any](w http.ResponseWriter, r *http.Request, what string, limit int) ([]T, error) {
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBatchBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	tok, err := dec.Token()
	if err != nil {
		return nil, decodeError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, invalid(fieldError{Field: "(body)", Message: "must be a JSON array"})
	}
	var out []T
	for dec.More() {
		if len(out) == limit {
			e := newAPIError(http.StatusRequestEntityTooLarge, "too_large",
				fmt.Sprintf("a %s holds at most %d points", what, limit))
			e.fields = []fieldError{{Field: "(body)", Message: fmt.Sprintf("at most %d points", limit)}}
			return nil, e
		}
		var v T
		if err := dec.Decode(&v); err != nil {
			return nil, atIndex(decodeError(err), len(out))
		}
		if field, ok := findNUL(reflect.ValueOf(&v), ""); ok {
			return nil, invalid(fieldError{Field: fmt.Sprintf("[%d].%s", len(out), field), Message: "must not contain NUL characters"})
		}
		out = append(out, v)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, decodeError(err)
		}
		return nil, badRequest("malformed_json", "the body must hold exactly one JSON value")
	}
	if len(out) == 0 {
		return nil, invalid(fieldError{Field: "(body)", Message: "the batch is empty"})
	}
	return out, nil
}
