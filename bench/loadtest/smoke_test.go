package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// platform is a running examples/platform server for the smoke tests.
type platform struct {
	url      string
	password string
	pid      int
	log      string // its stderr: the JSON log, access log included
}

var (
	platformOnce sync.Once
	platformBin  string
	platformErr  error
)

// startPlatform builds examples/platform once per test binary and starts
// it on SQLite in a temporary MAESTRO_HOME, on a free loopback port, with
// a known admin password; it waits for /health/ready. The server is
// stopped when the test's cleanup runs.
func startPlatform(t *testing.T) platform {
	t.Helper()
	if testing.Short() {
		t.Skip("the smoke run builds and starts examples/platform; skipped in -short mode")
	}
	platformOnce.Do(func() {
		// A fixed location lets go build skip the link when nothing
		// changed since the last run (it compares the binary's build ID);
		// without symbol tables and DWARF the link is faster too.
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		dir = filepath.Join(dir, "maestro-loadtest")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			platformErr = err
			return
		}
		platformBin = filepath.Join(dir, "platform")
		cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", platformBin, "./examples/platform")
		cmd.Dir = moduleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			platformErr = &buildError{out: string(out), err: err}
		}
	})
	if platformErr != nil {
		t.Fatalf("building examples/platform: %v", platformErr)
	}
	port := freePort(t)
	p := platform{url: "http://127.0.0.1:" + port, password: "Loadtest-smoke-" + strings.Repeat("x", 8) + port}
	home := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(home, 0o700); err != nil { // the server refuses a home others may read
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, platformBin, "serve", "--addr", "127.0.0.1:"+port)
	cmd.Env = append(environWithout("MAESTRO_"),
		"MAESTRO_HOME="+home, "MAESTRO_ADMIN_PASSWORD="+p.password, "MAESTRO_LOG_LEVEL=info")
	p.log = filepath.Join(home, "server.log")
	logs, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		logs.Close()
		t.Fatalf("starting the platform: %v", err)
	}
	p.pid = cmd.Process.Pid
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		logs.Close()
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("platform log (last 4 KiB):\n%s", b[max(0, len(b)-4096):])
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the platform was not ready within 30 s (last error %v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// environWithout returns the process environment without the variables
// whose names start with prefix, so that a developer's MAESTRO_* settings
// (a PostgreSQL URL, Redis) do not leak into the smoke server.
func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// moduleRoot returns the repository root (two levels above this package).
func moduleRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// smokeSetup is the smallest setup that still trains a meta-model (the
// platform needs 20 completed projects).
var smokeSetup = SetupConfig{Tenants: 1, UsersPerTenant: 2, Projects: 21, Completed: 20, Artifacts: 4, Experiments: 2}

func TestSmoke(t *testing.T) {
	p := startPlatform(t)
	base := Config{
		Target: p.url, Admin: Credential{Username: "admin", Password: p.password},
		ThinkTime: 20 * time.Millisecond, Setup: smokeSetup, ServerPID: p.pid,
		ProcInterval: 250 * time.Millisecond, RampUp: -1,
	}
	tests := []struct {
		name  string
		edit  func(*Config)
		check func(*testing.T, *Report)
	}{
		{"baseline", func(c *Config) {
			c.Users, c.Duration, c.Window = 2, 2*time.Second, 500*time.Millisecond
			c.ServerLog = p.log
		}, func(t *testing.T, r *Report) {
			if ss := r.ServerSide; ss == nil || ss.Overall.Requests < r.Overall.Requests*9/10 || ss.Overall.P50 <= 0 {
				t.Errorf("server side %+v for %d client requests", ss, r.Overall.Requests)
			}
			if len(r.Endpoints) < 8 {
				t.Errorf("only %d endpoints were exercised: %+v", len(r.Endpoints), r.Endpoints)
			}
			if r.Setup.TrainedTenants != 1 {
				t.Errorf("trained tenants = %d, want 1", r.Setup.TrainedTenants)
			}
			if len(r.Windows) < 2 || r.Trend == nil {
				t.Errorf("windows %d, trend %v", len(r.Windows), r.Trend)
			}
			if len(r.Process) == 0 || r.Process[0].RSSBytes <= 0 {
				t.Errorf("no server process samples: %+v", r.Process)
			}
		}},
		{"stress", func(c *Config) {
			c.Profile = ProfileStress
			c.Stress = StressConfig{Start: 1, Step: 1, Max: 2, Stage: 700 * time.Millisecond, Settle: 200 * time.Millisecond}
		}, func(t *testing.T, r *Report) {
			if len(r.Stages) != 2 || r.Knee == nil || r.Knee.Users != 2 || r.Knee.BrokeAt != 0 {
				t.Errorf("stages %+v, knee %+v; want 2 stages that held", r.Stages, r.Knee)
			}
		}},
		{"spike", func(c *Config) {
			c.Profile = ProfileSpike
			c.Spike = SpikeConfig{Base: 1, Peak: 3, Warm: 500 * time.Millisecond, Hold: time.Second, Recover: 500 * time.Millisecond}
			c.Window = 500 * time.Millisecond
		}, func(t *testing.T, r *Report) {
			if len(r.Phases) != 3 || r.Phases[1].Users != 3 || r.Recovery == nil {
				t.Errorf("phases %+v, recovery %+v", r.Phases, r.Recovery)
			}
		}},
		{"login", func(c *Config) {
			c.Scenario, c.Users, c.Duration = ScenarioLogin, 2, time.Second
		}, func(t *testing.T, r *Report) {
			for _, want := range []string{"POST /auth/login", "GET /auth/me", "POST /auth/logout"} {
				if !hasEndpoint(r, want) {
					t.Errorf("no %s in %+v", want, r.Endpoints)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			r, err := Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Overall.Requests == 0 || r.Overall.Errors != 0 {
				t.Fatalf("requests %d, errors %d (%v)", r.Overall.Requests, r.Overall.Errors, r.Overall.ErrorStatuses)
			}
			for _, s := range append(r.Endpoints, r.Overall) {
				if s.P50 <= 0 || s.P95 < s.P50 || s.P99 < s.P95 || s.Max < s.P99 {
					t.Errorf("%s: percentiles not ordered and positive: %+v", s.Name, s)
				}
			}
			tt.check(t, r)
			var md, js bytes.Buffer
			if err := r.Markdown(&md); err != nil || !strings.Contains(md.String(), "| **all** |") {
				t.Errorf("markdown (%v):\n%s", err, md.String())
			}
			if err := r.WriteJSON(&js); err != nil || !json.Valid(js.Bytes()) {
				t.Errorf("json (%v)", err)
			}
		})
	}
}

func hasEndpoint(r *Report, name string) bool {
	for _, s := range r.Endpoints {
		if s.Name == name && s.Requests > 0 {
			return true
		}
	}
	return false
}
