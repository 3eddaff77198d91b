package blobtest_test

import (
	"testing"

	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/registry/blobtest"
)

// The suite passes on the reference implementation, FileStore.
func TestRunOnFileStore(t *testing.T) {
	t.Parallel()
	blobtest.RunWithOptions(t, func(t *testing.T) registry.BlobStore {
		s, err := registry.NewFileStore(t.TempDir(), registry.WithFileMaxSize(4096))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, blobtest.Options{MaxSize: 4096})
}

func TestRunWithoutLimit(t *testing.T) {
	t.Parallel()
	blobtest.Run(t, func(t *testing.T) registry.BlobStore {
		s, err := registry.NewFileStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
