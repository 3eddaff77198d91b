package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// quotaEnv is a Registry that checks the quotas of a tenancy.Manager on
// the same database, with a tenant whose limits a test sets.
type quotaEnv struct {
	db       *gorm.DB
	reg      *Registry
	m        *tenancy.Manager
	blobDir  string
	tenantID string
	ctx      context.Context
}

func newQuotaEnv(t *testing.T, open func(testing.TB) *gorm.DB, q tenancy.Quota) *quotaEnv {
	t.Helper()
	db := open(t)
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tenancy.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	var opts []tenancy.ManagerOption
	for r, c := range Counters() {
		opts = append(opts, tenancy.WithCounter(r, c))
	}
	m, err := tenancy.NewManager(db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ten, err := m.CreateTenant(ctx, "Quota", "quota")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetQuota(ctx, ten.ID, q); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	blobs, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := New(db, WithBlobStore(blobs), WithQuota(m))
	if err != nil {
		t.Fatal(err)
	}
	return &quotaEnv{db: db, reg: reg, m: m, blobDir: dir, tenantID: ten.ID, ctx: tenancy.WithTenant(ctx, ten.ID)}
}

// usage returns the tenant's counted use of r.
func (e *quotaEnv) usage(t *testing.T, r tenancy.Resource) int64 {
	t.Helper()
	n, err := e.m.Usage(context.Background(), e.tenantID, r)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// blobFiles counts the stored blobs (regular files outside the store's
// temporary directory).
func (e *quotaEnv) blobFiles(t *testing.T) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(e.blobDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wantQuotaError(t *testing.T, err error, r tenancy.Resource) {
	t.Helper()
	var qe *tenancy.QuotaError
	if !errors.As(err, &qe) || !errors.Is(err, tenancy.ErrQuotaExceeded) || qe.Resource != r {
		t.Fatalf("error %v, want a quota error for %s", err, r)
	}
}

func (e *quotaEnv) newRun(t *testing.T, p *Project) *Run {
	t.Helper()
	x := must[*Experiment](t)(e.reg.CreateExperiment(e.ctx, p.ID, ExperimentInput{Name: "x-" + newID()}))
	return must[*Run](t)(e.reg.CreateRun(e.ctx, x.ID, RunInput{}))
}

func points(n int, key string) []MetricPoint {
	out := make([]MetricPoint, n)
	for i := range out {
		out[i] = MetricPoint{Key: key, Value: float64(i), Step: int64(i)}
	}
	return out
}

// TestQuotaRefusesWritesOverLimits checks every quota-checked write at
// its limit: refused with a *tenancy.QuotaError, nothing written, no blob
// left; usage counted again after deletes.
func TestQuotaRefusesWritesOverLimits(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newQuotaEnv(t, open, tenancy.Quota{Projects: 2, Artifacts: 1, StorageBytes: 100, MetricPoints: 5})
			in := ProjectInput{Name: "p", ProblemClass: Classification, ComplexityScore: 3, TeamSize: 2}

			// Projects.
			p1 := must[*Project](t)(e.reg.CreateProject(e.ctx, in))
			p2 := must[*Project](t)(e.reg.CreateProject(e.ctx, in))
			_, err := e.reg.CreateProject(e.ctx, in)
			wantQuotaError(t, err, tenancy.ResourceProjects)
			// Through a transaction of the caller's (as similarity.Indexer
			// writes projects), the bound Registry checks too.
			err = e.reg.Transaction(e.ctx, func(tx *gorm.DB, reg *Registry) error {
				_, err := reg.CreateProject(e.ctx, in)
				return err
			})
			wantQuotaError(t, err, tenancy.ResourceProjects)
			if n := e.usage(t, tenancy.ResourceProjects); n != 2 {
				t.Fatalf("projects used = %d, want 2", n)
			}

			// Metric points: 3 + 3 > 5 refused whole, 3 + 2 fits.
			run := e.newRun(t, p1)
			if err := e.reg.LogMetrics(e.ctx, run.ID, points(3, "loss")); err != nil {
				t.Fatal(err)
			}
			err = e.reg.LogMetrics(e.ctx, run.ID, append(points(2, "acc"), points(1, "loss")...))
			wantQuotaError(t, err, tenancy.ResourceMetricPoints)
			if n := countRows(t, &env{db: e.db}, e.ctx, &metricPoint{}); n != 3 {
				t.Fatalf("%d points stored after a refused batch, want 3", n)
			}
			if n := countRows(t, &env{db: e.db}, e.ctx, &metricSeries{}); n != 1 {
				t.Fatalf("%d series after a refused batch, want 1", n)
			}
			if err := e.reg.LogMetrics(e.ctx, run.ID, points(2, "acc")); err != nil {
				t.Fatal(err)
			}
			if n := e.usage(t, tenancy.ResourceMetricPoints); n != 5 {
				t.Fatalf("metric points used = %d, want 5", n)
			}

			// Artifacts and their content.
			a := must[*Artifact](t)(e.reg.CreateArtifact(e.ctx, ArtifactInput{Name: "a", Type: Dataset, Version: "1"}))
			_, err = e.reg.CreateArtifact(e.ctx, ArtifactInput{Name: "b", Type: Dataset, Version: "1"})
			wantQuotaError(t, err, tenancy.ResourceArtifacts)
			must[*Artifact](t)(e.reg.PutArtifactContent(e.ctx, a.ID, bytes.NewReader(bytes.Repeat([]byte("a"), 60))))
			// Replacing 60 bytes with 101 would store 101 > 100: stopped
			// while streaming.
			_, err = e.reg.PutArtifactContent(e.ctx, a.ID, bytes.NewReader(bytes.Repeat([]byte("b"), 101)))
			wantQuotaError(t, err, tenancy.ResourceStorageBytes)
			got := must[*Artifact](t)(e.reg.GetArtifact(e.ctx, a.ID))
			if got.SizeBytes != 60 || e.blobFiles(t) != 1 {
				t.Fatalf("after a refused upload: size %d, %d blobs; want 60, 1", got.SizeBytes, e.blobFiles(t))
			}
			// Replacing it with 100 bytes fits: the old content is freed.
			must[*Artifact](t)(e.reg.PutArtifactContent(e.ctx, a.ID, bytes.NewReader(bytes.Repeat([]byte("c"), 100))))
			if n := e.usage(t, tenancy.ResourceStorageBytes); n != 100 || e.blobFiles(t) != 1 {
				t.Fatalf("storage used = %d with %d blobs, want 100 and 1", n, e.blobFiles(t))
			}

			// Deletes free what they held.
			if err := e.reg.DeleteArtifact(e.ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			if err := e.reg.DeleteProject(e.ctx, p1.ID); err != nil {
				t.Fatal(err)
			}
			for r, want := range map[tenancy.Resource]int64{tenancy.ResourceProjects: 1, tenancy.ResourceArtifacts: 0,
				tenancy.ResourceStorageBytes: 0, tenancy.ResourceMetricPoints: 0} {
				if n := e.usage(t, r); n != want {
					t.Errorf("%s used after deletes = %d, want %d", r, n, want)
				}
			}
			must[*Project](t)(e.reg.CreateProject(e.ctx, in))
			must[*Artifact](t)(e.reg.CreateArtifact(e.ctx, ArtifactInput{Name: "b", Type: Dataset, Version: "1"}))
			if err := e.reg.LogMetrics(e.ctx, e.newRun(t, p2).ID, points(5, "loss")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestQuotaConcurrentWritesCannotBothPass races writes at a limit: on
// PostgreSQL the check locks the tenant's quota row in each write's
// transaction, on SQLite write transactions run one at a time; either way
// exactly the writes that fit succeed.
func TestQuotaConcurrentWritesCannotBothPass(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const limit, writers = 3, 12
			e := newQuotaEnv(t, open, tenancy.Quota{Projects: limit, Artifacts: writers, StorageBytes: 100, MetricPoints: 100})
			in := ProjectInput{Name: "p", ProblemClass: Classification, ComplexityScore: 3, TeamSize: 2}
			race := func(what string, want int, write func(i int) error) {
				t.Helper()
				var wg sync.WaitGroup
				errs := make([]error, writers)
				start := make(chan struct{})
				for i := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						errs[i] = write(i)
					}()
				}
				close(start)
				wg.Wait()
				ok := 0
				for _, err := range errs {
					switch {
					case err == nil:
						ok++
					case !errors.Is(err, tenancy.ErrQuotaExceeded):
						t.Fatalf("%s: %v", what, err)
					}
				}
				if ok != want {
					t.Fatalf("%s: %d of %d concurrent writes passed, want %d", what, ok, writers, want)
				}
			}

			race("projects", limit, func(int) error { _, err := e.reg.CreateProject(e.ctx, in); return err })
			if n := e.usage(t, tenancy.ResourceProjects); n != limit {
				t.Fatalf("projects used = %d, want %d", n, limit)
			}

			p := must[Page[Project]](t)(e.reg.ListProjects(e.ctx, ProjectFilter{})).Items[0]
			runs := make([]*Run, writers)
			for i := range runs {
				runs[i] = e.newRun(t, &p)
			}
			// 12 batches of 30 points, each to its own run, against 100.
			race("metric points", 3, func(i int) error { return e.reg.LogMetrics(e.ctx, runs[i].ID, points(30, "loss")) })
			if n := e.usage(t, tenancy.ResourceMetricPoints); n != 90 {
				t.Fatalf("metric points used = %d, want 90", n)
			}

			arts := make([]*Artifact, writers)
			for i := range writers {
				arts[i] = must[*Artifact](t)(e.reg.CreateArtifact(e.ctx, ArtifactInput{Name: fmt.Sprint("a", i), Type: Dataset, Version: "1"}))
			}
			// 12 uploads of 30 bytes, each to its own artifact, against 100.
			race("storage bytes", 3, func(i int) error {
				_, err := e.reg.PutArtifactContent(e.ctx, arts[i].ID, bytes.NewReader(bytes.Repeat([]byte{byte(i)}, 30)))
				return err
			})
			if n := e.usage(t, tenancy.ResourceStorageBytes); n != 90 {
				t.Fatalf("storage used = %d, want 90", n)
			}
			if e.blobFiles(t) != 3 {
				t.Fatalf("%d blobs stored, want 3 (no orphan of a refused upload)", e.blobFiles(t))
			}
		})
	}
}

func TestWithQuotaRefusesNil(t *testing.T) {
	t.Parallel()
	db := sqliteOpen(t)
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		t.Fatal(err)
	}
	if _, err := New(db, WithQuota(nil)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("WithQuota(nil): %v, want ErrInvalid", err)
	}
}

// countingReader yields n bytes and counts those read.
type countingReader struct{ n, read int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	k := int64(len(p))
	if left := c.n - c.read; k > left {
		k = left
	}
	c.read += k
	if k == 0 {
		return 0, nil
	}
	return int(k), nil
}

// TestQuotaStopsUploadWhileStreaming checks that an upload that cannot
// fit the storage quota stops reading once past it, instead of storing
// its whole body first.
func TestQuotaStopsUploadWhileStreaming(t *testing.T) {
	t.Parallel()
	e := newQuotaEnv(t, sqliteOpen, tenancy.Quota{StorageBytes: 1000})
	a := must[*Artifact](t)(e.reg.CreateArtifact(e.ctx, ArtifactInput{Name: "big", Type: Dataset, Version: "1"}))
	body := &countingReader{n: 64 << 20}
	_, err := e.reg.PutArtifactContent(e.ctx, a.ID, body)
	wantQuotaError(t, err, tenancy.ResourceStorageBytes)
	if body.read > 1<<20 {
		t.Fatalf("read %d bytes of a body that cannot fit 1000", body.read)
	}
	if e.blobFiles(t) != 0 {
		t.Fatalf("%d blobs left by a refused upload", e.blobFiles(t))
	}
}
