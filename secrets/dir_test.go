package secrets_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/secrets"
)

func TestDir(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	writeFile(t, outside, "stolen", "outside-value")
	dir := t.TempDir()
	writeFile(t, dir, "db-password", "hunter2-but-longer\n")
	writeFile(t, dir, "empty", "")
	writeFile(t, dir, ".dockerconfigjson", "{}")
	writeFile(t, dir, "big", strings.Repeat("y", 50))
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "stolen"), filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	// The Kubernetes layout: key -> ..data/key, ..data -> ..2026_11_27/.
	if err := os.Mkdir(filepath.Join(dir, "..2026_11_27"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "..2026_11_27"), "k8s-key", "k8s-value")
	if err := os.Symlink("..2026_11_27", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/k8s-key", filepath.Join(dir, "k8s-key")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		get     string
		want    string
		wantErr error
		anyErr  bool
	}{
		{get: "db-password", want: "hunter2-but-longer"},
		{get: "empty", want: ""},
		{get: ".dockerconfigjson", want: "{}"},
		{get: "k8s-key", want: "k8s-value"},
		{get: "missing", wantErr: secrets.ErrNotFound},
		{get: "big", wantErr: secrets.ErrTooLarge},
		{get: "subdir", anyErr: true},
		{get: "escape", anyErr: true},
		{get: "../" + filepath.Base(outside) + "/stolen", wantErr: secrets.ErrInvalidName},
		{get: "..", wantErr: secrets.ErrInvalidName},
		{get: ".", wantErr: secrets.ErrInvalidName},
		{get: "..data", wantErr: secrets.ErrInvalidName},
		{get: "/etc/passwd", wantErr: secrets.ErrInvalidName},
		{get: "a/b", wantErr: secrets.ErrInvalidName},
		{get: `a\b`, wantErr: secrets.ErrInvalidName},
		{get: "", wantErr: secrets.ErrInvalidName},
		{get: strings.Repeat("a", 256), wantErr: secrets.ErrInvalidName},
		{get: "nul\x00byte", wantErr: secrets.ErrInvalidName},
	}
	p := secrets.Dir(dir, secrets.DirMaxFileSize(20))
	for _, tc := range tests {
		t.Run(tc.get, func(t *testing.T) {
			t.Parallel()
			got, err := p.Get(context.Background(), tc.get)
			switch {
			case tc.anyErr:
				if err == nil || errors.Is(err, secrets.ErrNotFound) {
					t.Fatalf("Get = %q, %v; want an error other than ErrNotFound", got, err)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Get = %q, %v; want %v", got, err, tc.wantErr)
				}
			default:
				if err != nil || got != tc.want {
					t.Fatalf("Get = %q, %v; want %q", got, err, tc.want)
				}
			}
			if err != nil && strings.Contains(err.Error(), "outside-value") {
				t.Fatalf("error leaks a value: %v", err)
			}
		})
	}
}

func TestDirMissingDirectoryIsNotFound(t *testing.T) {
	t.Parallel()
	_, err := secrets.Dir(filepath.Join(t.TempDir(), "absent")).Get(context.Background(), "x")
	if !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestDirRootIsAFile(t *testing.T) {
	t.Parallel()
	f := writeFile(t, t.TempDir(), "file", "x")
	_, err := secrets.Dir(f).Get(context.Background(), "x")
	if err == nil || errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("err = %v, want a non-NotFound error", err)
	}
}

func TestDirSeesRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "k", "one")
	p := secrets.Dir(dir)
	if v, _ := p.Get(context.Background(), "k"); v != "one" {
		t.Fatalf("first read = %q", v)
	}
	writeFile(t, dir, "k", "two")
	if v, _ := p.Get(context.Background(), "k"); v != "two" {
		t.Fatalf("after rotation = %q, want two", v)
	}
}

func TestDirCanceledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := secrets.Dir(t.TempDir()).Get(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestDirFIFOIsRefusedWithoutBlocking(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := mkfifo(filepath.Join(dir, "fifo")); err != nil {
		t.Skipf("cannot create a FIFO here: %v", err)
	}
	_, err := secrets.Dir(dir).Get(context.Background(), "fifo")
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("err = %v, want not a regular file", err)
	}
}

func TestDirEmptyPathIsAnError(t *testing.T) {
	t.Parallel()
	_, err := secrets.Dir("").Get(context.Background(), "x")
	if err == nil || errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("err = %v, want a configuration error", err)
	}
}
