package registry

import (
	"bytes"
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
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
)

func TestArtifactContent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		a := must[*Artifact](t)(e.reg.CreateArtifact(e.a, ArtifactInput{Name: "churn features", Type: FeaturePipeline, Version: "1.0.0", Tags: []string{"tabular"}}))
		if _, err := e.reg.CreateArtifact(e.a, ArtifactInput{Name: "churn features", Type: Notebook, Version: "1.0.0"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate name+version = %v", err)
		}
		if _, err := e.reg.CreateArtifact(e.b, ArtifactInput{Name: "churn features", Type: FeaturePipeline, Version: "1.0.0"}); err != nil {
			t.Fatalf("same name in another tenant: %v", err)
		}
		if _, _, err := e.reg.OpenArtifactContent(e.a, a.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("content before upload = %v", err)
		}
		data := []byte("def features(df): return df")
		got, err := e.reg.PutArtifactContent(e.a, a.ID, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(data)
		if got.ContentSHA256 != hex.EncodeToString(h[:]) || got.SizeBytes != int64(len(data)) {
			t.Fatalf("after upload: %+v", got)
		}
		rc, meta, err := e.reg.OpenArtifactContent(e.a, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		back, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(back, data) || meta.ID != a.ID {
			t.Fatalf("read back %q", back)
		}
		if _, _, err := e.reg.OpenArtifactContent(e.b, a.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant reads content: %v", err)
		}
		if _, err := e.reg.PutArtifactContent(e.b, a.ID, strings.NewReader("evil")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant writes content: %v", err)
		}
		// Replacing the content removes the old blob.
		root := e.reg.blobs.(*FileStore).Root()
		if !strings.HasPrefix(got.ContentKey, tenantA+"/"+a.ID+"/") || !strings.HasSuffix(got.ContentKey, "/"+got.ContentSHA256) {
			t.Fatalf("content key %q", got.ContentKey)
		}
		oldPath := filepath.Join(root, filepath.FromSlash(got.ContentKey))
		if _, err := os.Stat(oldPath); err != nil {
			t.Fatalf("blob not at %s: %v", oldPath, err)
		}
		v2 := must[*Artifact](t)(e.reg.PutArtifactContent(e.a, a.ID, strings.NewReader("v2")))
		if _, err := os.Stat(oldPath); !os.IsNotExist(err) {
			t.Fatalf("old blob kept: %v", err)
		}
		if v2.SizeBytes != 2 {
			t.Fatalf("v2 = %+v", v2)
		}
		if err := e.reg.DeleteArtifact(e.b, a.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant deletes: %v", err)
		}
		if err := e.reg.DeleteArtifact(e.a, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(root, tenantA, a.ID)); !os.IsNotExist(err) {
			t.Fatalf("artifact blobs kept after delete: %v", err)
		}
		if _, err := e.reg.GetArtifact(e.a, a.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted artifact: %v", err)
		}
	})
}

func TestArtifactContentLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteOpen, WithMaxContentSize(10))
	a := must[*Artifact](t)(e.reg.CreateArtifact(e.a, ArtifactInput{Name: "n", Type: Dataset, Version: "1"}))
	_, err := e.reg.PutArtifactContent(e.a, a.ID, strings.NewReader("01234567890"))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized content = %v", err)
	}
	if got := must[*Artifact](t)(e.reg.GetArtifact(e.a, a.ID)); got.ContentKey != "" || got.SizeBytes != 0 {
		t.Fatalf("oversized upload recorded: %+v", got)
	}
	entries, _ := os.ReadDir(filepath.Join(e.reg.blobs.(*FileStore).Root(), tenantA))
	if len(entries) != 0 {
		t.Fatalf("oversized upload left %d entries", len(entries))
	}
	if _, err := e.reg.PutArtifactContent(e.a, a.ID, strings.NewReader("0123456789")); err != nil {
		t.Fatalf("content at the limit: %v", err)
	}
	noBlobs, _ := New(e.db)
	if _, err := noBlobs.PutArtifactContent(e.a, a.ID, strings.NewReader("x")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("without blob store = %v", err)
	}
	if _, _, err := noBlobs.OpenArtifactContent(e.a, a.ID); !errors.Is(err, ErrInvalid) {
		t.Fatalf("without blob store = %v", err)
	}
	if err := noBlobs.DeleteTenantBlobs(e.a, tenantA); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.DeleteTenantBlobs(t.Context(), tenantA); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.reg.OpenArtifactContent(e.a, a.ID); err == nil {
		t.Fatal("content readable after DeleteTenantBlobs")
	}
	for _, bad := range []string{"", "..", "a/b", ".x"} {
		if err := e.reg.DeleteTenantBlobs(t.Context(), bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("DeleteTenantBlobs(%q) = %v", bad, err)
		}
	}
	weird := newEnv(t, sqliteOpen)
	ctx := tenantCtx("../etc")
	wa := must[*Artifact](t)(weird.reg.CreateArtifact(ctx, ArtifactInput{Name: "n", Type: Dataset, Version: "1"}))
	if _, err := weird.reg.PutArtifactContent(ctx, wa.ID, strings.NewReader("x")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("content for a tenant id that is not path-safe = %v", err)
	}
}

func TestArtifactUsageAndSearch(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		mk := func(name string, typ ArtifactType, tags ...string) *Artifact {
			return must[*Artifact](t)(e.reg.CreateArtifact(e.a, ArtifactInput{Name: name, Type: typ, Version: "1", Tags: tags, Description: "reusable " + name}))
		}
		fp := mk("Customer features", FeaturePipeline, "tabular", "customers")
		tmpl := mk("GBM template", ModelTemplate, "tabular")
		nb := mk("EDA notebook", Notebook)
		p1, p2, p3 := newProject(t, e, e.a, "p1"), newProject(t, e, e.a, "p2"), newProject(t, e, e.a, "p3")
		use := func(a *Artifact, p *Project, impact *float64) {
			t.Helper()
			must[*ArtifactUsage](t)(e.reg.RecordArtifactUsage(e.a, a.ID, ArtifactUsageInput{ProjectID: p.ID, ImpactScore: impact, Context: "used"}))
		}
		use(fp, p1, ptr(80.0))
		use(fp, p2, ptr(60.0))
		use(fp, p3, nil)
		use(tmpl, p1, ptr(90.0))
		use(nb, p1, nil)
		got := must[*Artifact](t)(e.reg.GetArtifact(e.a, fp.ID))
		if got.UsageCount != 3 || got.AvgImpactScore == nil || *got.AvgImpactScore != 70 {
			t.Fatalf("feature pipeline stats: count %d avg %v", got.UsageCount, got.AvgImpactScore)
		}
		if _, err := e.reg.RecordArtifactUsage(e.a, fp.ID, ArtifactUsageInput{ProjectID: p1.ID}); !errors.Is(err, ErrConflict) {
			t.Fatalf("second usage by the same project = %v", err)
		}
		for _, bad := range []ArtifactUsageInput{{ProjectID: "x"}, {ProjectID: p1.ID, ImpactScore: ptr(101.0)}, {ProjectID: p1.ID, ImpactScore: ptr(-1.0)}} {
			if _, err := e.reg.RecordArtifactUsage(e.a, tmpl.ID, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("usage %+v = %v", bad, err)
			}
		}
		pb := newProject(t, e, e.b, "b's")
		if _, err := e.reg.RecordArtifactUsage(e.a, tmpl.ID, ArtifactUsageInput{ProjectID: pb.ID}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("usage by another tenant's project = %v", err)
		}
		if _, err := e.reg.RecordArtifactUsage(e.b, tmpl.ID, ArtifactUsageInput{ProjectID: pb.ID}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("usage of another tenant's artifact = %v", err)
		}
		if g := must[*Artifact](t)(e.reg.GetArtifact(e.a, tmpl.ID)); g.UsageCount != 1 {
			t.Fatalf("rejected usages counted: %d", g.UsageCount)
		}
		names := func(f ArtifactFilter) string {
			t.Helper()
			page := must[Page[Artifact]](t)(e.reg.SearchArtifacts(e.a, f))
			var s []string
			for _, a := range page.Items {
				s = append(s, a.Name)
			}
			return strings.Join(s, ",")
		}
		cases := []struct {
			f    ArtifactFilter
			want string
		}{
			{ArtifactFilter{}, "EDA notebook,GBM template,Customer features"},
			{ArtifactFilter{Type: ModelTemplate}, "GBM template"},
			{ArtifactFilter{Tag: "TABULAR"}, "GBM template,Customer features"},
			{ArtifactFilter{Q: "customer"}, "Customer features"},
			{ArtifactFilter{MinImpact: ptr(75.0)}, "GBM template"},
			{ArtifactFilter{MinImpact: ptr(0.0)}, "GBM template,Customer features"},
		}
		for _, c := range cases {
			if got := names(c.f); got != c.want {
				t.Errorf("search %+v = %q, want %q", c.f, got, c.want)
			}
		}
		page := must[Page[Artifact]](t)(e.reg.SearchArtifacts(e.a, ArtifactFilter{Limit: 2}))
		if len(page.Items) != 2 || page.NextCursor == "" {
			t.Fatalf("first page = %+v", page)
		}
		rest := must[Page[Artifact]](t)(e.reg.SearchArtifacts(e.a, ArtifactFilter{Limit: 2, Cursor: page.NextCursor}))
		if len(rest.Items) != 1 || rest.Items[0].ID != fp.ID || rest.NextCursor != "" {
			t.Fatalf("second page = %+v", rest)
		}
		for _, bad := range []ArtifactFilter{{Type: "x"}, {Tag: "a b"}, {Limit: -1}, {Cursor: "zz"}, {Cursor: page.NextCursor, Type: Notebook}} {
			if _, err := e.reg.SearchArtifacts(e.a, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("search %+v = %v", bad, err)
			}
		}
		if p := must[Page[Artifact]](t)(e.reg.SearchArtifacts(e.b, ArtifactFilter{})); len(p.Items) != 0 {
			t.Fatalf("tenant b sees %d artifacts", len(p.Items))
		}
		top := must[[]Artifact](t)(e.reg.TopArtifacts(e.a, "", 0))
		if len(top) != 2 || top[0].ID != tmpl.ID || top[1].ID != fp.ID {
			t.Fatalf("top = %+v", top)
		}
		if top := must[[]Artifact](t)(e.reg.TopArtifacts(e.a, FeaturePipeline, 5)); len(top) != 1 {
			t.Fatalf("top feature pipelines = %+v", top)
		}
		if _, err := e.reg.TopArtifacts(e.a, "bogus", 5); !errors.Is(err, ErrInvalid) {
			t.Fatalf("top with bad type = %v", err)
		}
		us := must[[]ArtifactUsage](t)(e.reg.ListArtifactUsages(e.a, ArtifactUsageFilter{ProjectID: p1.ID}))
		if len(us) != 3 {
			t.Fatalf("p1 usages = %+v", us)
		}
		if us := must[[]ArtifactUsage](t)(e.reg.ListArtifactUsages(e.a, ArtifactUsageFilter{ArtifactID: fp.ID, ProjectID: p2.ID})); len(us) != 1 || *us[0].ImpactScore != 60 {
			t.Fatalf("fp/p2 usages = %+v", us)
		}
		if _, err := e.reg.ListArtifactUsages(e.a, ArtifactUsageFilter{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unfiltered usages = %v", err)
		}
		// Deleting a project recomputes the statistics of what it used.
		if err := e.reg.DeleteProject(e.a, p1.ID); err != nil {
			t.Fatal(err)
		}
		got = must[*Artifact](t)(e.reg.GetArtifact(e.a, fp.ID))
		if got.UsageCount != 2 || *got.AvgImpactScore != 60 {
			t.Fatalf("after deleting p1: count %d avg %v", got.UsageCount, *got.AvgImpactScore)
		}
		if g := must[*Artifact](t)(e.reg.GetArtifact(e.a, tmpl.ID)); g.UsageCount != 0 || g.AvgImpactScore != nil {
			t.Fatalf("template after deleting p1: %+v", g)
		}
	})
}

func TestArtifactUsageConcurrent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		a := must[*Artifact](t)(e.reg.CreateArtifact(e.a, ArtifactInput{Name: "shared", Type: SchemaArtifact, Version: "2.1"}))
		const n = 12
		ps := make([]*Project, n)
		for i := range ps {
			ps[i] = newProject(t, e, e.a, "p")
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.reg.RecordArtifactUsage(e.a, a.ID, ArtifactUsageInput{ProjectID: ps[i].ID, ImpactScore: ptr(float64(i * 10 % 100))})
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
		got := must[*Artifact](t)(e.reg.GetArtifact(e.a, a.ID))
		var sum float64
		for i := range n {
			sum += float64(i * 10 % 100)
		}
		if got.UsageCount != n || got.ImpactCount != n || *got.AvgImpactScore != sum/n {
			t.Fatalf("after %d concurrent usages: count %d, avg %v (want %v)", n, got.UsageCount, *got.AvgImpactScore, sum/n)
		}
	})
}

func TestArtifactValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteOpen)
	for _, bad := range []ArtifactInput{
		{Name: "", Type: Dataset, Version: "1"},
		{Name: "n", Type: "model", Version: "1"},
		{Name: "n", Type: Dataset, Version: ""},
		{Name: "n", Type: Dataset, Version: "1 0"},
		{Name: "n", Type: Dataset, Version: "../1"},
		{Name: "n", Type: Dataset, Version: "1", Tags: []string{"a b"}},
	} {
		if _, err := e.reg.CreateArtifact(e.a, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v = %v", bad, err)
		}
	}
	if n := countRows(t, e, e.a, &Artifact{}); n != 0 {
		t.Fatalf("invalid artifacts stored: %d", n)
	}
	if _, err := e.reg.GetArtifact(e.a, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	for _, typ := range ArtifactTypes() {
		if !typ.Valid() {
			t.Fatal(typ)
		}
	}
}

// blobFiles lists the files under dir, relative to root, with '/'.
func blobFiles(t *testing.T, root, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(root, filepath.FromSlash(dir)), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestArtifactContentConcurrentUploads checks that uploads racing on one
// artifact leave exactly one blob, the current content: each replaced
// blob is deleted once its replacement has committed.
func TestArtifactContentConcurrentUploads(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		a := must[*Artifact](t)(e.reg.CreateArtifact(e.a, ArtifactInput{Name: "n", Type: Dataset, Version: "1"}))
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				_, err := e.reg.PutArtifactContent(e.a, a.ID, strings.NewReader(fmt.Sprintf("content %d", i)))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		cur := must[*Artifact](t)(e.reg.GetArtifact(e.a, a.ID))
		files := blobFiles(t, e.reg.blobs.(*FileStore).Root(), tenantA+"/"+a.ID)
		if len(files) != 1 || files[0] != cur.ContentKey {
			t.Fatalf("blobs after concurrent uploads: %v; current %q", files, cur.ContentKey)
		}
	})
}

// hookStore runs a hook after each successful Put.
type hookStore struct {
	BlobStore
	afterPut func()
}

func (h *hookStore) Put(ctx context.Context, prefix string, r io.Reader) (BlobInfo, error) {
	info, err := h.BlobStore.Put(ctx, prefix, r)
	if err == nil && h.afterPut != nil {
		h.afterPut()
	}
	return info, err
}

// TestArtifactContentDeletedDuringUpload deletes the artifact between the
// blob's upload and the recording of its key: the upload fails with
// ErrNotFound and leaves no blob behind.
func TestArtifactContentDeletedDuringUpload(t *testing.T) {
	t.Parallel()
	store, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hs := &hookStore{BlobStore: store}
	e := newEnv(t, sqliteOpen, WithBlobStore(hs))
	a := must[*Artifact](t)(e.reg.CreateArtifact(e.a, ArtifactInput{Name: "n", Type: Dataset, Version: "1"}))
	hs.afterPut = func() {
		if err := e.reg.DeleteArtifact(e.a, a.ID); err != nil {
			t.Error(err)
		}
	}
	if _, err := e.reg.PutArtifactContent(e.a, a.ID, strings.NewReader("late")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("upload to an artifact deleted meanwhile = %v", err)
	}
	if files := blobFiles(t, store.Root(), tenantA); len(files) != 0 {
		t.Fatalf("orphaned blobs: %v", files)
	}
}

// TestArtifactUsageCountWithConcurrentProjectDeletes records usages of an
// artifact while other projects that used it are deleted: the usage count
// and mean impact must match the usages that remain. Deleting a project
// recomputes the statistics, which must not overwrite an increment that
// committed meanwhile.
func TestArtifactUsageCountWithConcurrentProjectDeletes(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		a := must[*Artifact](t)(e.reg.CreateArtifact(e.a, ArtifactInput{Name: "shared", Type: Dataset, Version: "1"}))
		const n = 10
		old := make([]*Project, n)
		fresh := make([]*Project, n)
		for i := range n {
			old[i] = newProject(t, e, e.a, "old")
			fresh[i] = newProject(t, e, e.a, "new")
			if _, err := e.reg.RecordArtifactUsage(e.a, a.ID, ArtifactUsageInput{ProjectID: old[i].ID, ImpactScore: ptr(10.0)}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range n {
			wg.Go(func() { errs <- e.reg.DeleteProject(e.a, old[i].ID) })
			wg.Go(func() {
				_, err := e.reg.RecordArtifactUsage(e.a, a.ID, ArtifactUsageInput{ProjectID: fresh[i].ID, ImpactScore: ptr(50.0)})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := must[*Artifact](t)(e.reg.GetArtifact(e.a, a.ID))
		if got.UsageCount != n || got.ImpactCount != n || got.AvgImpactScore == nil || *got.AvgImpactScore != 50 {
			t.Fatalf("usage count %d, impact count %d, mean %s; want %d, %d, 50", got.UsageCount, got.ImpactCount, fmtPtr(got.AvgImpactScore), n, n)
		}
	})
}

func fmtPtr(f *float64) string {
	if f == nil {
		return "nil"
	}
	return fmt.Sprint(*f)
}

type interleaveArtifactKey struct{}

// TestUsageOfArtifactDeletedMeanwhile deletes the artifact after
// RecordArtifactUsage has checked it and before it inserts the usage
// (PostgreSQL, where the two run concurrently): the foreign key refuses the
// usage, which is reported as ErrNotFound, not as an internal error.
func TestUsageOfArtifactDeletedMeanwhile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testenv.Postgres)
	a := must[*Artifact](t)(e.reg.CreateArtifact(e.a, ArtifactInput{Name: "n", Type: Dataset, Version: "1"}))
	p := newProject(t, e, e.a, "p")
	var once sync.Once
	cb := func(d *gorm.DB) {
		if d.Statement.Context.Value(interleaveArtifactKey{}) == nil || d.Statement.Table != "artifacts" {
			return
		}
		once.Do(func() {
			if err := e.reg.DeleteArtifact(e.a, a.ID); err != nil {
				t.Error(err)
			}
		})
	}
	if err := e.db.Callback().Query().After("gorm:query").Register("test:delete-artifact", cb); err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(e.a, interleaveArtifactKey{}, true)
	_, err := e.reg.RecordArtifactUsage(ctx, a.ID, ArtifactUsageInput{ProjectID: p.ID})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("usage of an artifact deleted meanwhile = %v, want ErrNotFound", err)
	}
}
