package registry_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/registry/blobtest"
)

func TestFileStoreConformance(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) registry.BlobStore {
		s, err := registry.NewFileStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestFileStoreConformanceWithLimit(t *testing.T) {
	t.Parallel()
	blobtest.RunWithOptions(t, func(t *testing.T) registry.BlobStore {
		s, err := registry.NewFileStore(t.TempDir(), registry.WithFileMaxSize(1000))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, blobtest.Options{MaxSize: 1000})
}

func TestFileStoreLayout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := registry.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Put(t.Context(), "tenant/art", strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "tenant", "art", info.SHA256))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("blob mode %v, want 0600", fi.Mode().Perm())
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, ".tmp")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	if err := s.Delete(t.Context(), info.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tenant")); !os.IsNotExist(err) {
		t.Errorf("empty directories kept after Delete: %v", err)
	}
	if _, err := registry.NewFileStore(""); err == nil {
		t.Error("NewFileStore(\"\") succeeded")
	}
	for _, n := range []int64{0, -1} {
		if s, err := registry.NewFileStore(filepath.Join(dir, "limited"), registry.WithFileMaxSize(n)); s != nil || !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("WithFileMaxSize(%d): %v, %v; want ErrInvalid", n, s, err)
		}
	}
	if _, err := registry.NewFileStore(filepath.Join(dir, "limited"), nil); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("nil option: %v, want ErrInvalid", err)
	}
	if _, err := registry.NewFileStore(filepath.Join(dir, "file", "sub")); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "plain")
	os.WriteFile(f, nil, 0o600)
	if _, err := registry.NewFileStore(filepath.Join(f, "x")); err == nil {
		t.Error("NewFileStore under a file succeeded")
	}
}
