package loadtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRouteOf(t *testing.T) {
	t.Parallel()
	id := "01a21c52-17f4-79f2-bbf0-31939ce64ff3"
	for in, want := range map[string]string{
		"/api/v1/projects":                            "/projects",
		"/api/v1/projects/" + id:                      "/projects/{id}",
		"/api/v1/projects/" + id + "/similar":         "/projects/{id}/similar",
		"/api/v1/runs/" + id + "/metrics":             "/runs/{id}/metrics",
		"/api/v1/runs/" + id + "/metrics/loss":        "/runs/{id}/metrics/{key}",
		"/api/v1/projects/" + id + "/metrics/x":       "/projects/{id}/metrics/x",
		"/health/ready":                               "/health/ready",
		"/api/v1/projects/not-an-id":                  "/projects/not-an-id",
		"/api/v1/models/churn/versions/2":             "/models/churn/versions/2",
		"/api/v1/projects/" + strings.ToUpper(id[:8]): "/projects/" + strings.ToUpper(id[:8]),
	} {
		if got := routeOf(in); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestServerSide(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	log := strings.Join([]string{
		`{"time":"2026-11-27T09:59:59Z","level":"INFO","msg":"request","method":"GET","path":"/api/v1/projects","status":200,"duration":999000000}`,
		`{"time":"2026-11-27T10:00:01Z","level":"INFO","msg":"request","method":"GET","path":"/api/v1/projects","status":200,"duration":2000000}`,
		`{"time":"2026-11-27T10:00:02Z","level":"INFO","msg":"request","method":"GET","path":"/api/v1/projects","status":200,"duration":4000000}`,
		`{"time":"2026-11-27T10:00:03Z","level":"INFO","msg":"request","method":"POST","path":"/api/v1/auth/login","status":503,"duration":1000000}`,
		`{"time":"2026-11-27T10:00:04Z","level":"INFO","msg":"audit","event":"login.success"}`,
		`not json at all "msg":"request"`,
		`{"time":"2026-11-27T10:00:20Z","level":"INFO","msg":"request","method":"GET","path":"/api/v1/projects","status":200,"duration":5000000}`,
	}, "\n")
	path := filepath.Join(t.TempDir(), "server.log")
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	ss, err := serverSide(path, from, from.Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if ss.Overall.Requests != 3 || ss.Overall.Errors != 1 || ss.Overall.Max != 4 || len(ss.Endpoints) != 2 {
		t.Errorf("server side %+v", ss)
	}
	if ss.Endpoints[0].Name != "GET /projects" || ss.Endpoints[0].P50 != 2 || ss.Endpoints[1].Name != "POST /auth/login" {
		t.Errorf("endpoints %+v", ss.Endpoints)
	}
	if _, err := serverSide(filepath.Join(t.TempDir(), "missing"), from, from); err == nil {
		t.Error("a missing log was read")
	}
	r := &Report{Started: from, DurationSeconds: 2.5}
	if err := r.AddServerLog(path); err != nil || r.ServerSide.Overall.Requests != 2 {
		t.Errorf("AddServerLog: %v, %+v", err, r.ServerSide)
	}
	if err := r.AddServerLog(path + ".missing"); err == nil {
		t.Error("AddServerLog read a missing file")
	}
}
