package securitytest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPostgresRestartUnderLoad restarts PostgreSQL while clients write
// through the platform: requests during the outage fail with 503 (never
// 500, never a false success), the platform recovers by itself once the
// database is back, and every write it acknowledged is still there.
//
// It needs a private PostgreSQL cluster, created with Debian's
// pg_createcluster (as root) on a free port and dropped afterwards, so that
// stopping it disturbs no one; it is opt-in:
//
//	MAESTRO_SECURITYTEST_PGRESTART=1 go test -v -run TestPostgresRestartUnderLoad ./securitytest/
func TestPostgresRestartUnderLoad(t *testing.T) {
	if os.Getenv("MAESTRO_SECURITYTEST_PGRESTART") != "1" {
		t.Skip("set MAESTRO_SECURITYTEST_PGRESTART=1 to run (creates and drops a private PostgreSQL cluster; needs root)")
	}
	if _, err := exec.LookPath("pg_createcluster"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and Debian's postgresql-common (pg_createcluster)")
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*")
	if len(versions) == 0 {
		t.Skip("no PostgreSQL server installed")
	}
	sort.Strings(versions)
	ver := filepath.Base(versions[len(versions)-1])
	name := "maestro_sec_" + randHex(3)
	_, port, _ := strings.Cut(freeAddr(t), ":")
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil { // #nosec G204 -- pg_createcluster/pg_ctlcluster with the test's own cluster name and port
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("pg_createcluster", ver, name, "-p", port, "--", "--auth-host=trust", "--auth-local=peer")
	t.Cleanup(func() { _ = exec.Command("pg_dropcluster", "--stop", ver, name).Run() }) // #nosec G204 -- the test's own cluster
	run("pg_ctlcluster", ver, name, "start")

	owner := fmt.Sprintf("postgres://postgres@127.0.0.1:%s/maestro?sslmode=disable", port)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", port))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE maestro"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
	appURL := fmt.Sprintf("postgres://maestro_app:%s@127.0.0.1:%s/maestro?sslmode=disable", randHex(12), port)
	initdb := exec.Command(platformBinary, "init-db") // #nosec G204 -- the binary TestMain built
	initdb.Env = []string{"PATH=" + os.Getenv("PATH"), "MAESTRO_HOME=" + filepath.Join(t.TempDir(), "home"), "MAESTRO_JWT_SECRET=" + randHex(32),
		"MAESTRO_DATABASE_OWNER_URL=" + owner, "MAESTRO_DATABASE_URL=" + appURL}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("init-db: %v\n%s", err, tail(string(out), 2000))
	}
	p := startPlatform(t, "postgres-restart", options{env: []string{"MAESTRO_DATABASE_URL=" + appURL}})
	access, _ := p.login(t, "admin", p.adminPassword, "")

	type result struct {
		at     time.Time
		status int
		id     string
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	client := p.newClient(randomLoopback())
	for worker := 0; worker < 4; worker++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := p.do(t, req{method: "POST", path: "/api/v1/projects", token: access, client: client, allow503: true,
					body: map[string]any{"name": fmt.Sprintf("load %d %d %s", worker, i, randHex(3)), "problem_class": "other",
						"complexity_score": 1, "team_size": 1}})
				res := result{at: time.Now(), status: r.status}
				if r.status == http.StatusCreated {
					res.id, _ = r.json(t)["id"].(string)
				}
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(2 * time.Second)
	down := time.Now()
	run("pg_ctlcluster", ver, name, "stop", "-m", "fast")
	for i := 0; exec.Command("pg_ctlcluster", ver, name, "status").Run() == nil; i++ { // #nosec G204 -- as above
		if i == 100 {
			t.Fatal("the cluster still runs 10 s after pg_ctlcluster stop")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	if got := p.do(t, req{method: "GET", path: "/health/ready", allow503: true}).status; got != http.StatusServiceUnavailable {
		t.Errorf("/health/ready with PostgreSQL down: %d, want 503", got)
	}
	up := time.Now()
	run("pg_ctlcluster", ver, name, "start")
	// Keep the load on until writes succeed again, at most 30 s.
	var recovered time.Time
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		for _, r := range results {
			if r.at.After(up) && r.status == http.StatusCreated {
				recovered = r.at
				break
			}
		}
		mu.Unlock()
		if !recovered.IsZero() {
			break
		}
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	counts := map[int]int{}
	var acked []string
	for _, r := range results {
		counts[r.status]++
		if r.status == http.StatusCreated {
			acked = append(acked, r.id)
		}
		if r.status != http.StatusCreated && r.status != http.StatusServiceUnavailable {
			t.Errorf("a write answered %d during the restart: want 201 or 503", r.status)
		}
	}
	if t.Failed() {
		for _, line := range strings.Split(p.log.String(), "\n") {
			if strings.Contains(line, `"msg":"request failed"`) || strings.Contains(line, `"msg":"panic`) {
				t.Logf("server: %.600s", line)
			}
		}
	}
	if recovered.IsZero() {
		t.Fatalf("writes did not recover within 30 s of PostgreSQL's restart (statuses %v)", counts)
	}
	t.Logf("PostgreSQL down %v; statuses %v; first success %v after the restart command returned",
		up.Sub(down).Round(100*time.Millisecond), counts, recovered.Sub(up).Round(10*time.Millisecond))
	want(t, p.do(t, req{method: "GET", path: "/health/ready"}), http.StatusOK, "ready after the restart")
	for _, id := range acked {
		if r := p.do(t, req{method: "GET", path: "/api/v1/projects/" + id, token: access}); r.status != http.StatusOK {
			t.Errorf("acknowledged project %s: %d after the restart", id, r.status)
		}
	}
	t.Logf("%d acknowledged writes all readable after the restart", len(acked))
}
