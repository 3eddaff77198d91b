package registry

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// BlobStore holds artifact content. Blobs are immutable and
// content-addressed: Put stores a stream under a prefix and names it by the
// SHA-256 of its bytes, so the key is "<prefix>/<sha256 hex>".
//
// Keys and prefixes are '/'-separated segments of letters, digits, '_',
// '-' and '.', not starting with '.', each at most 128 characters; a
// store refuses anything else with ErrInvalid, so no key can escape its
// storage root. The Registry uses the prefix "<tenant id>/<artifact id>".
//
// Implementations must be safe for concurrent use and pass the conformance
// suite in package registry/blobtest.
type BlobStore interface {
	// Put streams r into a new blob under prefix and returns its key,
	// SHA-256 and size. The blob becomes visible only complete (a failed or
	// cancelled Put leaves nothing behind). Putting the same bytes under
	// the same prefix again yields the same key.
	Put(ctx context.Context, prefix string, r io.Reader) (BlobInfo, error)
	// Get opens a blob for reading. The caller closes it. A missing blob
	// is ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat describes a blob. A missing blob is ErrNotFound.
	Stat(ctx context.Context, key string) (BlobInfo, error)
	// Delete removes a blob. Deleting a missing blob is not an error.
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every blob under a non-empty prefix.
	DeletePrefix(ctx context.Context, prefix string) error
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256"` // lower-case hex
	Size   int64  `json:"size"`
}

var (
	segmentRE = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// MaxKeySegments bounds the depth of blob keys.
const MaxKeySegments = 16

// ValidBlobPrefix reports whether prefix is a non-empty, path-safe blob
// prefix (see BlobStore).
func ValidBlobPrefix(prefix string) bool {
	if prefix == "" {
		return false
	}
	segs := strings.Split(prefix, "/")
	if len(segs) > MaxKeySegments-1 {
		return false
	}
	for _, s := range segs {
		if !segmentRE.MatchString(s) {
			return false
		}
	}
	return true
}

// SplitBlobKey splits a key into its prefix and SHA-256, reporting whether
// the key is valid.
func SplitBlobKey(key string) (prefix, sum string, ok bool) {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return "", "", false
	}
	prefix, sum = key[:i], key[i+1:]
	if !ValidBlobPrefix(prefix) || !sha256RE.MatchString(sum) {
		return "", "", false
	}
	return prefix, sum, true
}

func badPrefix(p string) error {
	return fmt.Errorf("%w: blob prefix %q is not path-safe", ErrInvalid, p)
}

func badKey(k string) error { return fmt.Errorf("%w: blob key %q is not valid", ErrInvalid, k) }

// limitReader returns a *TooLargeError once more than n bytes are read.
type limitReader struct {
	r    io.Reader
	n    int64 // bytes still allowed
	max  int64
	read int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	k, err := l.r.Read(p)
	l.read += int64(k)
	l.n -= int64(k)
	if l.n < 0 {
		return 0, &TooLargeError{What: "content", Limit: l.max, Got: l.read}
	}
	return k, err
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
