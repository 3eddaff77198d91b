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
			if info.SHA256 != sum(data) || info.Size != int64(len(data)) || info.Key != "t1/a1/"+sum(data) {
				t.Fatalf("Put info = %+v, want sha %s size %d", info, sum(data), len(data))
			}
			got, err := read(t, s, info.Key)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("Get = %d bytes, %v; want the %d bytes put", len(got), err, len(data))
			}
			st, err := s.Stat(ctx, info.Key)
			if err != nil || st != info {
				t.Fatalf("Stat = %+v, %v; want %+v", st, err, info)
			}
		}
	})

	t.Run("ContentAddressed", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a := mustPut(t, s, "t1/a1", []byte("same"))
		b := mustPut(t, s, "t1/a1", []byte("same"))
		c := mustPut(t, s, "t1/a1", []byte("other"))
		if a != b || a.Key == c.Key {
			t.Fatalf("same bytes must give the same key and other bytes another: %v %v %v", a, b, c)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		key := "t1/a1/" + sum([]byte("never stored"))
		if _, err := s.Get(ctx, key); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("Get missing = %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("Stat missing = %v, want ErrNotFound", err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete missing = %v, want nil", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a := mustPut(t, s, "t1/a1", []byte("one"))
		b := mustPut(t, s, "t1/a1", []byte("two"))
		if err := s.Delete(ctx, a.Key); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, a.Key); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("deleted blob: %v", err)
		}
		if got, err := read(t, s, b.Key); err != nil || string(got) != "two" {
			t.Fatalf("sibling blob after Delete = %q, %v", got, err)
		}
		c := mustPut(t, s, "t1/a1", []byte("one"))
		if got, err := read(t, s, c.Key); err != nil || string(got) != "one" {
			t.Fatalf("re-put after Delete = %q, %v", got, err)
		}
	})

	t.Run("DeletePrefix", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		a := mustPut(t, s, "tenant-a/x", []byte("1"))
		b := mustPut(t, s, "tenant-a/y/z", []byte("2"))
		c := mustPut(t, s, "tenant-ab/x", []byte("3"))
		d := mustPut(t, s, "tenant-b/x", []byte("4"))
		if err := s.DeletePrefix(ctx, "tenant-a"); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{a.Key, b.Key} {
			if _, err := s.Stat(ctx, k); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("%s survived DeletePrefix: %v", k, err)
			}
		}
		for _, k := range []string{c.Key, d.Key} {
			if _, err := s.Stat(ctx, k); err != nil {
				t.Fatalf("%s (another prefix) lost: %v", k, err)
			}
		}
		if err := s.DeletePrefix(ctx, "tenant-a"); err != nil {
			t.Fatalf("DeletePrefix of an empty prefix = %v", err)
		}
		if err := s.DeletePrefix(ctx, ""); !errors.Is(err, registry.ErrInvalid) {
			t.Fatalf("DeletePrefix(\"\") = %v, want ErrInvalid", err)
		}
	})

	t.Run("PathSafety", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		ok := mustPut(t, s, "t1/a1", []byte("x"))
		bad := []string{"", "/abs", "../up", "a/../../b", "a/./b", ".hidden", "a//b", `a\b`, "a/b/", "a\x00b", strings.Repeat("a", 200), "ü"}
		for _, p := range bad {
			if _, err := s.Put(ctx, p, strings.NewReader("x")); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("Put(%q) = %v, want ErrInvalid", p, err)
			}
			if err := s.DeletePrefix(ctx, p); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("DeletePrefix(%q) = %v, want ErrInvalid", p, err)
			}
		}
		sha := ok.SHA256
		badKeys := []string{"", sha, "../" + sha, "t1/a1/../" + sha, "t1/a1/" + strings.ToUpper(sha), "t1/a1/" + sha[:63], "t1/a1/" + sha + "/x", "/t1/a1/" + sha}
		for _, k := range badKeys {
			if _, err := s.Get(ctx, k); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("Get(%q) = %v, want ErrInvalid", k, err)
			}
			if _, err := s.Stat(ctx, k); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("Stat(%q) = %v, want ErrInvalid", k, err)
			}
			if err := s.Delete(ctx, k); !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("Delete(%q) = %v, want ErrInvalid", k, err)
			}
		}
	})

	t.Run("FailedPutStoresNothing", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		if _, err := s.Put(ctx, "t1/a1", &failingReader{n: 100000}); err == nil {
			t.Fatal("Put from a failing reader succeeded")
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(cctx, "t1/a2", strings.NewReader("data")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put on a cancelled context = %v, want context.Canceled", err)
		}
		if _, err := s.Stat(ctx, "t1/a2/"+sum([]byte("data"))); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("cancelled Put left a blob: %v", err)
		}
	})

	if o.MaxSize > 0 {
		t.Run("SizeLimit", func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			data := bytes.Repeat([]byte("a"), int(o.MaxSize)+1)
			_, err := s.Put(ctx, "t1/a1", bytes.NewReader(data))
			var tl *registry.TooLargeError
			if !errors.Is(err, registry.ErrTooLarge) || !errors.As(err, &tl) {
				t.Fatalf("oversized Put = %v, want *TooLargeError", err)
			}
			if _, err := s.Stat(ctx, "t1/a1/"+sum(data)); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("oversized Put left a blob: %v", err)
			}
			exact := mustPut(t, s, "t1/a1", data[:o.MaxSize])
			if exact.Size != o.MaxSize {
				t.Fatalf("Put at the limit = %+v", exact)
			}
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
				data := bytes.Repeat([]byte{byte(i)}, 100+i)
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
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}
