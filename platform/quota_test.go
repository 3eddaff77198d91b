package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// limits is a limits object of the quota routes.
type limits = quotaValues

func (e *regEnv) quotaPath(t *testing.T) string {
	t.Helper()
	return "/api/v1/tenants/" + e.me(e.admin).Tenant.ID + "/quota"
}

// getQuota reads the quota of path as token.
func (e *regEnv) getQuota(t *testing.T, path, token string) quotaBody {
	t.Helper()
	var q quotaBody
	expect(t, e.do("GET", path, token, nil), 200).json(t, &q)
	return q
}

// setLimits puts limits as the superadmin and returns the answer.
func (e *regEnv) setLimits(t *testing.T, path string, l limits) quotaBody {
	t.Helper()
	var q quotaBody
	expect(t, e.do("PUT", path, e.admin, map[string]any{"limits": l}), 200).json(t, &q)
	if q.Limits != l {
		t.Fatalf("PUT quota answered limits %+v, want %+v", q.Limits, l)
	}
	return q
}

// quotaRefused sends a write as the member that must be refused with 409
// quota_exceeded naming resource, and checks that the resources at
// unchanged did not change.
func (e *regEnv) quotaRefused(t *testing.T, method, path string, body any, resource string, unchanged ...string) {
	t.Helper()
	p := e.refused(t, method, path, body, http.StatusConflict, "", unchanged...)
	if p.Code != "quota_exceeded" || !strings.Contains(p.Detail, resource) {
		t.Fatalf("%s %s: problem %+v, want quota_exceeded naming %s", method, path, p, resource)
	}
}

// blobCount counts the artifact blobs under the server's home.
func blobCount(t *testing.T, ts *testServer) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(ts.s.cfg.Home, blobDir), func(_ string, d fs.DirEntry, err error) error {
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

// TestQuota walks the quota routes and every limit through the API: new
// tenants get the defaults; a write over a limit is 409 quota_exceeded
// naming it and changes nothing (no partial batch, no blob); usage is
// counted again after deletes.
func TestQuota(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.PlatformDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newRegEnv(t, open(t), testServerOptions{})
			qp := e.quotaPath(t)
			def := DefaultQuota()
			want := limits{Users: def.Users, Projects: def.Projects, Artifacts: def.Artifacts,
				StorageBytes: def.StorageBytes, MetricPoints: def.MetricPoints}
			if q := e.getQuota(t, qp, e.admin); q.Limits != want || q.Usage != (limits{Users: 3}) {
				t.Fatalf("bootstrap tenant's quota %+v, want limits %+v and 3 users", q, want)
			}
			// A new tenant gets the defaults; its admin may read its quota,
			// not set it; a member may do neither.
			beta := e.createTenant(e.admin, "gamma")
			e.addMember(e.admin, beta, "gina", memberPassword, "admin")
			gina := e.login("gina", memberPassword, "").AccessToken
			bp := "/api/v1/tenants/" + beta + "/quota"
			if q := e.getQuota(t, bp, gina); q.Limits != want || q.Usage != (limits{Users: 1}) {
				t.Fatalf("new tenant's quota %+v", q)
			}
			all := limits{Users: 9, Projects: 9, Artifacts: 9, StorageBytes: 9, MetricPoints: 9}
			expect(t, e.do("PUT", bp, gina, map[string]any{"limits": all}), 403).problem(t)
			expect(t, e.do("GET", qp, e.member, nil), 403).problem(t)
			expect(t, e.do("GET", bp, e.member, nil), 404).problem(t)

			// Bad limits: 422, nothing changes.
			for field, body := range map[string]any{
				"limits":               map[string]any{},
				"limits.metric_points": map[string]any{"limits": map[string]int{"users": 1, "projects": 1, "artifacts": 1, "storage_bytes": 1}},
				"limits.projects":      map[string]any{"limits": map[string]int{"users": 1, "projects": -1, "artifacts": 1, "storage_bytes": 1, "metric_points": 1}},
			} {
				before := e.getQuota(t, bp, e.admin)
				p := expect(t, e.do("PUT", bp, e.admin, body), 422).problem(t)
				if len(p.Errors) == 0 || p.Errors[0].Field != field {
					t.Errorf("PUT %v: problem %+v, want field %s", body, p, field)
				}
				if after := e.getQuota(t, bp, e.admin); after != before {
					t.Errorf("a refused PUT changed the quota: %+v -> %+v", before, after)
				}
			}
			expect(t, e.do("PUT", bp, e.admin, map[string]any{"limits": all, "extra": 1}), 422).problem(t)
			e.setLimits(t, bp, limits{}) // 0: unlimited
			expect(t, e.do("PUT", "/api/v1/tenants/00000000-0000-4000-8000-000000000000/quota", e.admin, map[string]any{"limits": all}), 404).problem(t)

			e.setLimits(t, qp, limits{Users: 4, Projects: 2, Artifacts: 1, StorageBytes: 100, MetricPoints: 5})

			// Users: 3 + 1 fits, the fifth is refused.
			e.addMember(e.admin, e.me(e.admin).Tenant.ID, "uma", memberPassword, "viewer")
			r := expect(t, e.do("POST", strings.TrimSuffix(qp, "/quota")+"/members", e.admin,
				map[string]string{"username": "ursula", "password": memberPassword, "role": "viewer"}), 409)
			if p := r.problem(t); p.Code != "quota_exceeded" || !strings.Contains(p.Detail, "users") {
				t.Fatalf("fifth member: %+v", p)
			}

			// Projects.
			const projects = "/api/v1/projects?limit=1000"
			p1 := e.create(t, "/api/v1/projects", e.member, projectBody("one", 3))
			e.create(t, "/api/v1/projects", e.member, projectBody("two", 3))
			e.quotaRefused(t, "POST", "/api/v1/projects", projectBody("three", 3), "projects", projects)

			// Metric points: a batch over the limit is refused whole.
			x := e.create(t, "/api/v1/projects/"+p1+"/experiments", e.member, map[string]string{"name": "x"})
			run := e.create(t, "/api/v1/experiments/"+x+"/runs", e.member, map[string]string{})
			mp := "/api/v1/runs/" + run + "/metrics"
			batch := func(key string, n int) []map[string]any {
				out := make([]map[string]any, n)
				for i := range out {
					out[i] = map[string]any{"key": key, "value": float64(i), "step": i}
				}
				return out
			}
			expect(t, e.do("POST", mp, e.member, batch("loss", 3)), 204)
			e.quotaRefused(t, "POST", mp, append(batch("acc", 2), batch("loss", 1)...), "metric_points", mp)
			expect(t, e.do("POST", mp, e.member, batch("acc", 2)), 204)

			// Artifacts and storage.
			const lib = "/api/v1/artifacts?limit=1000"
			a := e.create(t, "/api/v1/artifacts", e.member, map[string]any{"name": "a", "type": "dataset", "version": "1"})
			e.quotaRefused(t, "POST", "/api/v1/artifacts", map[string]any{"name": "b", "type": "dataset", "version": "1"}, "artifacts", lib)
			content := "/api/v1/artifacts/" + a + "/content"
			expect(t, e.do("PUT", content, e.member, bytes.Repeat([]byte("a"), 60), "Content-Type", "application/octet-stream"), 200)
			e.quotaRefused(t, "PUT", content, bytes.Repeat([]byte("b"), 101), "storage_bytes", content, "/api/v1/artifacts/"+a)
			if n := blobCount(t, e.testServer); n != 1 {
				t.Fatalf("%d blobs after a refused upload, want 1", n)
			}

			q := e.getQuota(t, qp, e.admin)
			if q.Usage != (limits{Users: 4, Projects: 2, Artifacts: 1, StorageBytes: 60, MetricPoints: 5}) {
				t.Fatalf("usage %+v", q.Usage)
			}

			// Deletes free what they held, and the writes fit again.
			expect(t, e.do("DELETE", "/api/v1/artifacts/"+a, e.member, nil), 204)
			expect(t, e.do("DELETE", "/api/v1/projects/"+p1, e.member, nil), 204)
			if q := e.getQuota(t, qp, e.admin); q.Usage != (limits{Users: 4, Projects: 1}) {
				t.Fatalf("usage after deletes %+v", q.Usage)
			}
			e.create(t, "/api/v1/projects", e.member, projectBody("three", 3))
			e.create(t, "/api/v1/artifacts", e.member, map[string]any{"name": "b", "type": "dataset", "version": "1"})
			if n := blobCount(t, e.testServer); n != 0 {
				t.Fatalf("%d blobs after deleting the only artifact", n)
			}
		})
	}
}

// platformSQLite opens a fresh SQLite database as the platform opens its
// own (openDatabase: BEGIN IMMEDIATE transactions, a busy timeout), for
// tests of concurrent writes.
func platformSQLite(tb testing.TB) *gorm.DB {
	tb.Helper()
	dir := tb.TempDir()
	db, _, err := openDatabase("sqlite:"+filepath.Join(dir, "q.db"), dir, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = closeDB(db)() })
	return db
}

// TestQuotaConcurrentRequests races requests at a limit through the
// API, on SQLite (opened as the platform opens it) and PostgreSQL:
// exactly the requests that fit succeed, the others are 409
// quota_exceeded, and the usage is the limit.
func TestQuotaConcurrentRequests(t *testing.T) {
	t.Parallel()
	dbs := testenv.PlatformDatabases(t)
	dbs["sqlite"] = platformSQLite
	for name, open := range dbs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const writers = 10
			e := newRegEnv(t, open(t), testServerOptions{opts: []Option{WithHeavyRouteLimit(writers)}})
			qp := e.quotaPath(t)
			e.setLimits(t, qp, limits{Projects: 3, Artifacts: writers, StorageBytes: 100, MetricPoints: 100})
			race := func(what string, want int, send func(i int) response) {
				t.Helper()
				var wg sync.WaitGroup
				status := make([]int, writers)
				start := make(chan struct{})
				for i := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						status[i] = send(i).status
					}()
				}
				close(start)
				wg.Wait()
				ok := 0
				for _, s := range status {
					switch s {
					case 200, 201, 204:
						ok++
					case 409:
					default:
						t.Fatalf("%s: status %d", what, s)
					}
				}
				if ok != want {
					t.Fatalf("%s: %d of %d concurrent requests passed, want %d", what, ok, writers, want)
				}
			}
			race("projects", 3, func(i int) response {
				return e.do("POST", "/api/v1/projects", e.member, projectBody(fmt.Sprint("p", i), 3))
			})
			p := items[struct {
				ID string `json:"id"`
			}](t, e.do("GET", "/api/v1/projects", e.member, nil))[0].ID
			runs := make([]string, writers)
			arts := make([]string, writers)
			for i := range writers {
				x := e.create(t, "/api/v1/projects/"+p+"/experiments", e.member, map[string]string{"name": fmt.Sprint("x", i)})
				runs[i] = e.create(t, "/api/v1/experiments/"+x+"/runs", e.member, map[string]string{})
				arts[i] = e.create(t, "/api/v1/artifacts", e.member, map[string]any{"name": fmt.Sprint("a", i), "type": "dataset", "version": "1"})
			}
			race("metric points", 3, func(i int) response {
				pts := make([]map[string]any, 30)
				for j := range pts {
					pts[j] = map[string]any{"key": "loss", "value": 1.0, "step": j}
				}
				return e.do("POST", "/api/v1/runs/"+runs[i]+"/metrics", e.member, pts)
			})
			race("storage bytes", 3, func(i int) response {
				return e.do("PUT", "/api/v1/artifacts/"+arts[i]+"/content", e.member, bytes.Repeat([]byte("z"), 30),
					"Content-Type", "application/octet-stream")
			})
			if q := e.getQuota(t, qp, e.admin); q.Usage != (limits{Users: 3, Projects: 3, Artifacts: writers, StorageBytes: 90, MetricPoints: 90}) {
				t.Fatalf("usage after the races %+v", q.Usage)
			}
			if n := blobCount(t, e.testServer); n != 3 {
				t.Fatalf("%d blobs stored, want 3", n)
			}
		})
	}
}

// TestWithDefaultQuota checks the option: a host's defaults apply to new
// tenants; a negative limit makes New fail with ErrInvalid.
func TestWithDefaultQuota(t *testing.T) {
	t.Parallel()
	if _, err := New(context.Background(), testConfig(t), WithDefaultQuota(tenancy.Quota{Projects: -1})); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative default: %v, want ErrInvalid", err)
	}
	custom := tenancy.Quota{Users: 3, Projects: 1}
	e := newRegEnv(t, testenv.PlatformSQLite(t), testServerOptions{opts: []Option{WithDefaultQuota(custom)}})
	q := e.getQuota(t, e.quotaPath(t), e.admin)
	if q.Limits != (limits{Users: 3, Projects: 1}) {
		t.Fatalf("bootstrap tenant's limits %+v, want the host's defaults", q.Limits)
	}
	e.create(t, "/api/v1/projects", e.member, projectBody("one", 3))
	e.quotaRefused(t, "POST", "/api/v1/projects", projectBody("two", 3), "projects", "/api/v1/projects")
}

// TestUsersQuotaLeavesNoUser checks that a member refused by the users
// quota is not created as a user either: raising the quota then lets the
// same name be added.
func TestUsersQuotaLeavesNoUser(t *testing.T) {
	t.Parallel()
	e := newRegEnv(t, platformSQLite(t), testServerOptions{})
	qp := e.quotaPath(t)
	e.setLimits(t, qp, limits{Users: 3})
	home := e.me(e.admin).Tenant.ID
	body := map[string]string{"username": "ursula", "password": memberPassword, "role": "viewer"}
	expect(t, e.do("POST", "/api/v1/tenants/"+home+"/members", e.admin, body), 409).problem(t)
	if _, err := e.s.tenants.UserByUsername(context.Background(), "ursula"); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("refused member's user: %v, want none", err)
	}
	// Concurrent adds at the last place pass the pre-check together;
	// AddMember admits one, and the users created for the others are
	// removed again.
	e.setLimits(t, qp, limits{Users: 4})
	var wg sync.WaitGroup
	status := make([]int, 6)
	for i := range status {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i] = e.do("POST", "/api/v1/tenants/"+home+"/members", e.admin,
				map[string]string{"username": fmt.Sprint("racer", i), "password": memberPassword, "role": "viewer"}).status
		}()
	}
	wg.Wait()
	added := 0
	for i, st := range status {
		_, err := e.s.tenants.UserByUsername(context.Background(), fmt.Sprint("racer", i))
		switch {
		case st == 201 && err == nil:
			added++
		case st == 409 && errors.Is(err, tenancy.ErrNotFound):
		default:
			t.Fatalf("racer%d: status %d, user lookup %v", i, st, err)
		}
	}
	if added != 1 {
		t.Fatalf("%d racers added, want 1", added)
	}
	e.setLimits(t, qp, limits{Users: 5})
	e.addMember(e.admin, home, "ursula", memberPassword, "viewer")
}
