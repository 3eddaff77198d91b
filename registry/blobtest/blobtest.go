// Package blobtest is the conformance suite every registry.BlobStore must
// pass. Run it from a test of the implementation:
//
//	func TestMyStore(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) registry.BlobStore { return newMyStore(t) })
//	}
//
// The factory must return an empty store private to the calling test.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/maestro-ml/maestro/registry"
)

// Options tunes the suite to an implementation.
type Options struct {
	// MaxSize is the store's configured size limit, or 0 when the factory
	// returns stores without one. With a limit the suite checks that a
	// larger Put fails with registry.ErrTooLarge and stores nothing.
	MaxSize int64
}

// Run runs the conformance suite with default Options.
func Run(t *testing.T, newStore func(t *testing.T) registry.BlobStore) {
	t.Helper()
	RunWithOptions(t, newStore, Options{})
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func mustPut(t *testing.T, s registry.BlobStore, prefix string, b []byte) registry.BlobInfo {
	t.Helper()
	info, err := s.Put(context.Background(), prefix, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Put(%q): %v", prefix, err)
	}
	return info
}

func read(t *testing.T, s registry.BlobStore, key string) ([]byte, error) {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// wantErr fails the test unless err matches target.
func wantErr(t *testing.T, err, target error, format string, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s = %v, want %v", fmt.Sprintf(format, args...), err, target)
	}
}

// require fails the test now unless ok.
func require(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf(format, args...)
	}
}

func statErr(s registry.BlobStore, key string) error {
	_, err := s.Stat(context.Background(), key)
	return err
}

func getErr(s registry.BlobStore, key string) error {
	rc, err := s.Get(context.Background(), key)
	if err == nil {
		_ = rc.Close()
	}
	return err
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("blobtest: source failed")
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	f.n -= k
	return k, nil
}

// RunWithOptions runs the conformance suite.
func RunWithOptions(t *testing.T, newStore func(t *testing.T) registry.BlobStore, o Options) {
	t.Helper()
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		big := bytes.Repeat([]byte{0, 1, 2, 255}, 300000)
		if o.MaxSize > 0 && int64(len(big)) > o.MaxSize {
			big = big[:o.MaxSize]
		}
		for _, data := range [][]byte{nil, []byte("hello"), big} {
			info := mustPut(t, s, "t1/a1", data)
			require(t, info.SHA256 == sum(data) && info.Size == int64(len(data)) && info.Key == "t1/a1/"+sum(data),
				"Put info = %+v, want sha %s size %d", info, sum(data), len(data))
			got, err := read(t, s, info.Key)
			require(t, err == nil && bytes.Equal(got, data), "Get = %d bytes, %v; want the %d bytes put", len(got), err, len(data))
			st, err := s.Stat(ctx, info.Key)
			require(t, err == nil && st == info, "Stat = %+v, %v; want %+v", st, err, info)
		}
	})

	t.Run("ContentAddressed", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a := mustPut(t, s, "t1/a1", []byte("same"))
		b := mustPut(t, s, "t1/a1", []byte("same"))
		c := mustPut(t, s, "t1/a1", []byte("other"))
		require(t, a == b && a.Key != c.Key, "same bytes must give the same key and other bytes another: %v %v %v", a, b, c)
	})

	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		key := "t1/a1/" + sum([]byte("never stored"))
		wantErr(t, getErr(s, key), registry.ErrNotFound, "Get missing")
		wantErr(t, statErr(s, key), registry.ErrNotFound, "Stat missing")
		require(t, s.Delete(ctx, key) == nil, "Delete of a missing blob failed")
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a := mustPut(t, s, "t1/a1", []byte("one"))
		b := mustPut(t, s, "t1/a1", []byte("two"))
		require(t, s.Delete(ctx, a.Key) == nil, "Delete failed")
		wantErr(t, statErr(s, a.Key), registry.ErrNotFound, "Stat of a deleted blob")
		got, err := read(t, s, b.Key)
		require(t, err == nil && string(got) == "two", "sibling blob after Delete = %q, %v", got, err)
		c := mustPut(t, s, "t1/a1", []byte("one"))
		got, err = read(t, s, c.Key)
		require(t, err == nil && string(got) == "one", "re-put after Delete = %q, %v", got, err)
	})

	t.Run("DeletePrefix", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a := mustPut(t, s, "tenant-a/x", []byte("1"))
		b := mustPut(t, s, "tenant-a/y/z", []byte("2"))
		c := mustPut(t, s, "tenant-ab/x", []byte("3"))
		d := mustPut(t, s, "tenant-b/x", []byte("4"))
		require(t, s.DeletePrefix(ctx, "tenant-a") == nil, "DeletePrefix failed")
		for _, k := range []string{a.Key, b.Key} {
			wantErr(t, statErr(s, k), registry.ErrNotFound, "Stat(%s) after DeletePrefix", k)
		}
		for _, k := range []string{c.Key, d.Key} {
			require(t, statErr(s, k) == nil, "%s (another prefix) lost by DeletePrefix", k)
		}
		require(t, s.DeletePrefix(ctx, "tenant-a") == nil, "DeletePrefix of an empty prefix failed")
		wantErr(t, s.DeletePrefix(ctx, ""), registry.ErrInvalid, "DeletePrefix(\"\")")
	})

	t.Run("PathSafety", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ok := mustPut(t, s, "t1/a1", []byte("x"))
		bad := []string{"", "/abs", "../up", "a/../../b", "a/./b", ".hidden", "a//b", `a\b`, "a/b/", "a\x00b", strings.Repeat("a", 200), "ü"}
		for _, p := range bad {
			_, err := s.Put(ctx, p, strings.NewReader("x"))
			wantErr(t, err, registry.ErrInvalid, "Put(%q)", p)
			wantErr(t, s.DeletePrefix(ctx, p), registry.ErrInvalid, "DeletePrefix(%q)", p)
		}
		sha := ok.SHA256
		badKeys := []string{"", sha, "../" + sha, "t1/a1/../" + sha, "t1/a1/" + strings.ToUpper(sha), "t1/a1/" + sha[:63], "t1/a1/" + sha + "/x", "/t1/a1/" + sha}
		for _, k := range badKeys {
			wantErr(t, getErr(s, k), registry.ErrInvalid, "Get(%q)", k)
			wantErr(t, statErr(s, k), registry.ErrInvalid, "Stat(%q)", k)
			wantErr(t, s.Delete(ctx, k), registry.ErrInvalid, "Delete(%q)", k)
		}
	})

	t.Run("FailedPutStoresNothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		_, err := s.Put(ctx, "t1/a1", &failingReader{n: 100000})
		require(t, err != nil, "Put from a failing reader succeeded")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = s.Put(cctx, "t1/a2", strings.NewReader("data"))
		wantErr(t, err, context.Canceled, "Put on a cancelled context")
		wantErr(t, statErr(s, "t1/a2/"+sum([]byte("data"))), registry.ErrNotFound, "Stat after a cancelled Put")
	})

	if o.MaxSize > 0 {
		t.Run("SizeLimit", func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			data := bytes.Repeat([]byte("a"), int(o.MaxSize)+1)
			_, err := s.Put(ctx, "t1/a1", bytes.NewReader(data))
			var tl *registry.TooLargeError
			require(t, errors.As(err, &tl), "oversized Put = %v, want *TooLargeError", err)
			wantErr(t, statErr(s, "t1/a1/"+sum(data)), registry.ErrNotFound, "Stat after an oversized Put")
			exact := mustPut(t, s, "t1/a1", data[:o.MaxSize])
			require(t, exact.Size == o.MaxSize, "Put at the limit = %+v", exact)
		})
	}

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 16 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				data := []byte("shared content")
				info, err := s.Put(ctx, "t1/shared", bytes.NewReader(data))
				if err == nil && info.SHA256 != sum(data) {
					err = errors.New("wrong hash")
				}
				errs <- err
			}()
			go func() {
				defer wg.Done()
				data := bytes.Repeat([]byte{byte(i)}, 100+i) // #nosec G115 -- test data: the byte value wraps on purpose
				info, err := s.Put(ctx, "t1/own", bytes.NewReader(data))
				if err == nil {
					var got []byte
					if got, err = read(t, s, info.Key); err == nil && !bytes.Equal(got, data) {
						err = errors.New("read back other bytes")
					}
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require(t, err == nil, "concurrent Put: %v", err)
		}
	})
}
