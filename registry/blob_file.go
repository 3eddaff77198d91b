package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileStore is a BlobStore on a local directory. A blob "<prefix>/<sum>"
// lives in the file <root>/<prefix>/<sum>. Put writes a temporary file in
// <root>/.tmp (on the same file system), hashes while writing, syncs it,
// and renames it into place, so readers only ever see complete blobs and a
// crash leaves at most a temporary file. Directories are created with mode
// 0700 and files with 0600.
//
// A FileStore is safe for concurrent use, also by several processes
// sharing the directory.
type FileStore struct {
	root    string
	tmp     string
	maxSize int64
}

var _ BlobStore = (*FileStore)(nil)

// FileStoreOption configures a FileStore. An option given an invalid
// value makes NewFileStore fail with ValidationErrors (ErrInvalid).
type FileStoreOption func(*FileStore) error

// WithFileMaxSize limits the size of one blob in bytes; larger Puts fail
// with ErrTooLarge and store nothing. The default is no limit beyond the
// Registry's own (WithMaxContentSize). n must be positive.
func WithFileMaxSize(n int64) FileStoreOption {
	return func(s *FileStore) error {
		if n <= 0 {
			return invalid("max_size", "must be positive, not %d", n)
		}
		s.maxSize = n
		return nil
	}
}

// NewFileStore returns a FileStore rooted at dir, creating it if needed.
func NewFileStore(dir string, opts ...FileStoreOption) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("registry: empty blob directory")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("registry: blob directory: %w", err)
	}
	s := &FileStore{root: root, tmp: filepath.Join(root, ".tmp")}
	for _, o := range opts {
		if o == nil {
			return nil, invalid("option", "must not be nil")
		}
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("registry: create blob directory: %w", err)
	}
	return s, nil
}

// Root returns the store's absolute root directory.
func (s *FileStore) Root() string { return s.root }

func (s *FileStore) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// Put implements BlobStore.
func (s *FileStore) Put(ctx context.Context, prefix string, r io.Reader) (BlobInfo, error) {
	if !ValidBlobPrefix(prefix) {
		return BlobInfo{}, badPrefix(prefix)
	}
	if err := ctx.Err(); err != nil {
		return BlobInfo{}, err
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return BlobInfo{}, fmt.Errorf("registry: blob temp file: %w", err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	var src io.Reader = ctxReader{ctx, r}
	if s.maxSize > 0 {
		src = &limitReader{r: src, n: s.maxSize, max: s.maxSize}
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if err != nil {
		return BlobInfo{}, err
	}
	if err := f.Sync(); err != nil {
		return BlobInfo{}, fmt.Errorf("registry: blob sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return BlobInfo{}, fmt.Errorf("registry: blob close: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	key := prefix + "/" + sum
	dst := s.path(key)
	// A concurrent Delete may prune the directory between MkdirAll and
	// Rename; try again a few times.
	for attempt := 0; ; attempt++ {
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return BlobInfo{}, fmt.Errorf("registry: blob directory: %w", err)
		}
		err := os.Rename(tmp, dst)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == 4 {
			return BlobInfo{}, fmt.Errorf("registry: blob rename: %w", err)
		}
	}
	done = true
	return BlobInfo{Key: key, SHA256: sum, Size: n}, nil
}

// Get implements BlobStore.
func (s *FileStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if _, _, ok := SplitBlobKey(key); !ok {
		return nil, badKey(key)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: blob %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: open blob: %w", err)
	}
	return f, nil
}

// Stat implements BlobStore.
func (s *FileStore) Stat(ctx context.Context, key string) (BlobInfo, error) {
	_, sum, ok := SplitBlobKey(key)
	if !ok {
		return BlobInfo{}, badKey(key)
	}
	if err := ctx.Err(); err != nil {
		return BlobInfo{}, err
	}
	fi, err := os.Stat(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return BlobInfo{}, fmt.Errorf("%w: blob %s", ErrNotFound, key)
	}
	if err != nil {
		return BlobInfo{}, fmt.Errorf("registry: stat blob: %w", err)
	}
	return BlobInfo{Key: key, SHA256: sum, Size: fi.Size()}, nil
}

// Delete implements BlobStore. Empty directories left behind are removed.
func (s *FileStore) Delete(ctx context.Context, key string) error {
	prefix, _, ok := SplitBlobKey(key)
	if !ok {
		return badKey(key)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(s.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("registry: delete blob: %w", err)
	}
	s.pruneDirs(prefix)
	return nil
}

// pruneDirs removes the empty directories of prefix, deepest first; a
// directory that is not empty (or in use by a concurrent Put) stays.
func (s *FileStore) pruneDirs(prefix string) {
	segs := strings.Split(prefix, "/")
	for i := len(segs); i > 0; i-- {
		if os.Remove(s.path(strings.Join(segs[:i], "/"))) != nil {
			return
		}
	}
}

// DeletePrefix implements BlobStore.
func (s *FileStore) DeletePrefix(ctx context.Context, prefix string) error {
	if !ValidBlobPrefix(prefix) {
		return badPrefix(prefix)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.RemoveAll(s.path(prefix)); err != nil {
		return fmt.Errorf("registry: delete blobs: %w", err)
	}
	s.pruneDirs(prefix)
	return nil
}
