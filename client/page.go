package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// Page is one page of a list: its items and the cursor of the next page,
// "" on the last.
type Page[T any] struct {
	// Items are the page's items, in the list's order.
	Items []T `json:"items"`
	// NextCursor is passed as PageRequest.Cursor for the next page; ""
	// when this is the last.
	NextCursor string `json:"next_cursor"`
}

// PageRequest selects a page of a list: Limit items (0: the server's
// default, at most 1000) after Cursor ("" for the first page).
type PageRequest struct {
	// Limit is the page size, 1 to 1000; 0 leaves the server's default.
	Limit int
	// Cursor is the NextCursor of the previous page; "" for the first.
	Cursor string
}

// values returns p as query parameters.
func (p PageRequest) values() url.Values {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	return q
}

// all iterates over every item of a list from the page after cursor,
// fetching page after page; it stops at the first error, which it yields.
func all[T any](ctx context.Context, cursor string, fetch func(ctx context.Context, cursor string) (*Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			p, err := fetch(ctx, cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
			if p.NextCursor == "" || p.NextCursor == cursor {
				return
			}
			cursor = p.NextCursor
		}
	}
}

// list fetches one page of path with query q into a Page[T].
func list[T any](ctx context.Context, c *Client, path string, q url.Values) (*Page[T], error) {
	var p Page[T]
	if err := c.call(ctx, &request{method: "GET", path: path, query: q, out: &p}); err != nil {
		return nil, err
	}
	return &p, nil
}

// get fetches path into a new T.
func get[T any](ctx context.Context, c *Client, path string, q url.Values) (*T, error) {
	var v T
	if err := c.call(ctx, &request{method: "GET", path: path, query: q, out: &v}); err != nil {
		return nil, err
	}
	return &v, nil
}

// send sends in as JSON with method to path and decodes the answer into a
// new T; in nil sends no body.
func send[T any](ctx context.Context, c *Client, method, path string, in any) (*T, error) {
	r := &request{method: method, path: path}
	if in != nil {
		b, err := marshal(in)
		if err != nil {
			return nil, err
		}
		r.body = b
	}
	var v T
	r.out = &v
	if err := c.call(ctx, r); err != nil {
		return nil, err
	}
	return &v, nil
}

// exec sends in (nil: no body) with method to path and discards the
// answer (the routes that answer 204).
func exec(ctx context.Context, c *Client, method, path string, in any) error {
	r := &request{method: method, path: path}
	if in != nil {
		b, err := marshal(in)
		if err != nil {
			return err
		}
		r.body = b
	}
	return c.call(ctx, r)
}
