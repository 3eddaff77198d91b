package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/registry/blobtest"
	"github.com/maestro-ml/maestro/tenancy"
)

// motoServer starts moto's S3-compatible server (the PyPI package moto,
// command moto_server) on a free port and returns its URL. Without moto
// the test is skipped.
func motoServer(t *testing.T) string {
	t.Helper()
	var argv []string
	home, _ := os.UserHomeDir()
	for _, name := range []string{"moto_server", filepath.Join(home, ".pyenv", "shims", "moto_server")} {
		if bin, err := exec.LookPath(name); err == nil {
			argv = []string{bin}
			break
		}
	}
	if argv == nil {
		if py, err := exec.LookPath("python3"); err == nil && exec.Command(py, "-c", "import moto.server").Run() == nil {
			argv = []string{py, "-m", "moto.server"}
		}
	}
	if argv == nil {
		// .ci/services installs moto; CI (MAESTRO_REQUIRE_SERVICES=1) fails
		// without it, a developer's run skips with a message.
		if testenv.Required() {
			t.Fatal("moto_server is required (MAESTRO_REQUIRE_SERVICES=1) but not installed: eval \"$(bash .ci/services)\"")
		}
		t.Skip("skipping: moto_server not installed (pip install 'moto[server]', or eval \"$(bash .ci/services)\"): S3Store is untested in this run")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(argv[0], append(argv[1:], "-H", "127.0.0.1", "-p", fmt.Sprint(port))...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func s3Config(endpoint, bucket string) registry.S3Config {
	return registry.S3Config{Endpoint: endpoint, Region: "us-east-1", Bucket: bucket,
		AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret-example", TempDir: ""}
}

// newBucket creates a bucket through a signed request of the store.
func newBucket(t *testing.T, endpoint string) string {
	t.Helper()
	bucket := "maestro-" + testenv.RandomSuffix(6)
	// A store whose bucket is empty-named would address the service root;
	// create the bucket with a plain signed PUT instead.
	req, _ := http.NewRequest(http.MethodPut, endpoint+"/"+bucket, nil)
	registry.SignV4ForTest(req, "AKIDEXAMPLE", "secret-example", "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create bucket: HTTP %d", resp.StatusCode)
	}
	return bucket
}

func TestS3StoreConformance(t *testing.T) {
	t.Parallel()
	endpoint := motoServer(t)
	blobtest.RunWithOptions(t, func(t *testing.T) registry.BlobStore {
		cfg := s3Config(endpoint, newBucket(t, endpoint))
		cfg.MaxSize = 1 << 20
		cfg.TempDir = t.TempDir()
		cfg.KeyPrefix = "maestro/"
		s, err := registry.NewS3Store(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, blobtest.Options{MaxSize: 1 << 20})

	t.Run("MissingBucket", func(t *testing.T) {
		t.Parallel()
		s, err := registry.NewS3Store(s3Config(endpoint, "no-such-bucket"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Put(context.Background(), "t/a", strings.NewReader("x"))
		if err == nil || errors.Is(err, registry.ErrNotFound) || strings.Contains(err.Error(), "secret-example") {
			t.Fatalf("Put into a missing bucket = %v", err)
		}
		if _, err := s.Get(context.Background(), "t/a/"+strings.Repeat("0", 64)); err == nil || errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("Get from a missing bucket = %v, want an error other than ErrNotFound", err)
		}
		if err := s.DeletePrefix(context.Background(), "t"); err == nil {
			t.Fatal("DeletePrefix in a missing bucket succeeded")
		}
	})

	t.Run("Registry", func(t *testing.T) {
		t.Parallel()
		cfg := s3Config(endpoint, newBucket(t, endpoint))
		s, err := registry.NewS3Store(cfg)
		if err != nil {
			t.Fatal(err)
		}
		reg, ctx := newExampleRegistry(t, registry.WithBlobStore(s))
		a, err := reg.CreateArtifact(ctx, registry.ArtifactInput{Name: "n", Type: registry.Notebook, Version: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.PutArtifactContent(ctx, a.ID, strings.NewReader("notebook json")); err != nil {
			t.Fatal(err)
		}
		rc, _, err := reg.OpenArtifactContent(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "notebook json" {
			t.Fatalf("read back %q", b)
		}
		if err := reg.DeleteTenantBlobs(context.Background(), "acme"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := reg.OpenArtifactContent(ctx, a.ID); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("content after DeleteTenantBlobs = %v", err)
		}
	})
}

func TestNewS3StoreValidates(t *testing.T) {
	t.Parallel()
	good := s3Config("http://127.0.0.1:1", "b")
	for name, edit := range map[string]func(*registry.S3Config){
		"endpoint":   func(c *registry.S3Config) { c.Endpoint = "ftp://x" },
		"no host":    func(c *registry.S3Config) { c.Endpoint = "http://" },
		"region":     func(c *registry.S3Config) { c.Region = "" },
		"bucket":     func(c *registry.S3Config) { c.Bucket = "" },
		"key":        func(c *registry.S3Config) { c.SecretAccessKey = "" },
		"key prefix": func(c *registry.S3Config) { c.KeyPrefix = "../x" },
		"max size":   func(c *registry.S3Config) { c.MaxSize = -1 },
	} {
		c := good
		edit(&c)
		if _, err := registry.NewS3Store(c); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("%s: NewS3Store(%+v) = %v, want ErrInvalid", name, c, err)
		}
	}
	s, err := registry.NewS3Store(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(context.Background(), "t/a/"+strings.Repeat("0", 64)); err == nil {
		t.Fatal("Stat against a closed port succeeded")
	}
}

// newExampleRegistry returns a Registry on a fresh SQLite database with the
// tenancy plugin, and a context of the tenant "acme".
func newExampleRegistry(t *testing.T, opts ...registry.Option) (*registry.Registry, context.Context) {
	t.Helper()
	db := testenv.SQLite(t)
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		t.Fatal(err)
	}
	if err := registry.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return reg, tenancy.WithTenant(context.Background(), "acme")
}
