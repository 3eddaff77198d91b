package registry

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"

	"gorm.io/gorm"
)

// Listing limits.
const (
	DefaultLimit = 50   // items per page when a filter's Limit is 0
	MaxLimit     = 1000 // the largest accepted Limit
)

// PageRequest asks for one page of a listing that has no filter struct of
// its own: at most Limit items (0 means DefaultLimit; 1 to MaxLimit
// otherwise) after Cursor, the NextCursor of the previous page of the same
// listing ("" for the first page). A Limit out of range or a cursor issued
// for another listing is ErrInvalid.
type PageRequest struct {
	Limit  int
	Cursor string
}

// Page is one page of a listing. NextCursor is empty on the last page;
// otherwise pass it as the Cursor of the same filter to get the next page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// cursor is the decoded form of a page cursor: the sort key (usually the
// id) of the last item of the previous page and a fingerprint of the
// filter it belongs to.
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
func decodeCursor(s, fk string) (string, error) { return decodeCursorKey(s, fk, validID) }

// maxCursorLength bounds an encoded cursor; sort keys are at most a few
// hundred bytes (a metric key is at most MaxMetricKeyLength), so every
// cursor fits in 512 characters.
const maxCursorLength = 512

// decodeCursorKey is decodeCursor for listings sorted by another key than
// the id: valid checks the key.
func decodeCursorKey(s, fk string, valid func(string) bool) (string, error) {
	if s == "" {
		return "", nil
	}
	bad := invalid("cursor", "malformed or foreign cursor")
	if len(s) > maxCursorLength || strings.ContainsAny(s, "=+/") {
		return "", bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", bad
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.V != 1 || c.ID == "" || !valid(c.ID) || c.F != fk {
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

// pageStart validates a page request for the listing fingerprinted by fk
// and returns the limit and the sort key to continue after ("" for the
// first page). valid checks a decoded key; nil means an id.
func pageStart(req PageRequest, fk string, valid func(string) bool) (limit int, after string, err error) {
	var v validator
	limit = pageLimit(&v, req.Limit)
	if err := v.err(); err != nil {
		return 0, "", err
	}
	if valid == nil {
		valid = validID
	}
	after, err = decodeCursorKey(req.Cursor, fk, valid)
	return limit, after, err
}

// keysetPage fetches one page of q ordered by the unique column col,
// ascending, after the value after (a value or a one-value subquery; nil
// for the first page), and finishes it with key, the cursor key of an
// item, for the filter fk.
func keysetPage[T any](q *gorm.DB, col string, after any, limit int, fk string, key func(T) string, what string) (Page[T], error) {
	if after != nil {
		q = q.Where(col+" > (?)", after) // parenthesised: after may be a subquery
	}
	var items []T
	if err := q.Order(col).Limit(limit + 1).Find(&items).Error; err != nil {
		return Page[T]{}, dbErr(err, what)
	}
	return finishPage(items, limit, key, fk), nil
}

// afterArg returns the query argument for a decoded cursor key: nil for
// the first page.
func afterArg(after string) any {
	if after == "" {
		return nil
	}
	return after
}
