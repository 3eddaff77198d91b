package registry

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// Listing limits.
const (
	DefaultLimit = 50   // items per page when a filter's Limit is 0
	MaxLimit     = 1000 // the largest accepted Limit
)

// Page is one page of a listing. NextCursor is empty on the last page;
// otherwise pass it as the Cursor of the same filter to get the next page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// cursor is the decoded form of a page cursor: the id of the last item of
// the previous page and a fingerprint of the filter it belongs to.
type cursor struct {
	V  int    `json:"v"`
	ID string `json:"k"`
	F  string `json:"f"`
}

// filterKey fingerprints the parts of a filter that select rows, so that a
// cursor cannot be replayed against another filter.
func filterKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// encodeCursor returns the opaque cursor after id for the filter fk.
func encodeCursor(id, fk string) string {
	b, _ := json.Marshal(cursor{V: 1, ID: id, F: fk})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor validates an opaque cursor for the filter fk and returns the
// id it points after. Cursors are validated, not signed: all a forged
// cursor can do is start a page at another position of the caller's own
// tenant's rows, since every query is tenant-scoped.
func decodeCursor(s, fk string) (string, error) {
	if s == "" {
		return "", nil
	}
	bad := invalid("cursor", "malformed or foreign cursor")
	if len(s) > 256 || strings.ContainsAny(s, "=+/") {
		return "", bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", bad
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.V != 1 || !validID(c.ID) || c.F != fk {
		return "", bad
	}
	return c.ID, nil
}

// pageLimit validates a filter's limit.
func pageLimit(v *validator, limit int) int {
	switch {
	case limit == 0:
		return DefaultLimit
	case limit < 0 || limit > MaxLimit:
		v.add("limit", "must be between 1 and %d", MaxLimit)
	}
	return limit
}

// finishPage trims a result fetched with limit+1 rows and sets the cursor.
func finishPage[T any](items []T, limit int, id func(T) string, fk string) Page[T] {
	p := Page[T]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.NextCursor = encodeCursor(id(p.Items[limit-1]), fk)
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p
}
