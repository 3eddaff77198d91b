package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/secrets"
)

// runMainEnv makes the test binary run main() instead of the tests, so a
// test can start the real program as a child process.
const runMainEnv = "PLATFORM_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// envOf is a secrets provider over vars instead of the process environment.
func envOf(vars map[string]string) secrets.Provider {
	return secrets.Env(secrets.EnvLookup(func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}))
}

// startProcess runs the platform as a child process with env and returns it
// with the address it serves on, read from its "serving" log line.
// The returned channel is closed when the process has closed its stderr;
// wait for it before cmd.Wait.
func startProcess(t *testing.T, env []string, args ...string) (*exec.Cmd, string, *syncBuffer, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append([]string{runMainEnv + "=1", "PATH=" + os.Getenv("PATH")}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	logs := &syncBuffer{}
	addrc := make(chan string, 1)
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logs.Write([]byte(line + "\n"))
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				addrc <- rec.Addr
			}
		}
		close(addrc)
	}()
	select {
	case addr, ok := <-addrc:
		if !ok {
			t.Fatalf("process exited before serving; log:\n%s", logs)
		}
		return cmd, addr, logs, eof
	case <-time.After(60 * time.Second):
		t.Fatalf("process did not start; log:\n%s", logs)
	}
	return nil, "", nil, nil
}

// stopProcess sends SIGTERM and waits for a clean exit with a logged stop.
func stopProcess(t *testing.T, cmd *exec.Cmd, logs *syncBuffer, eof <-chan struct{}) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		<-eof
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v; log:\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop logged:\n%s", logs)
	}
}

// login signs in as admin at addr and returns the HTTP status.
func login(t *testing.T, addr, password string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": password})
	res, err := http.Post(addr+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// TestServeRestartOnSameHome runs the real program: it starts on an empty
// home, serves, stops cleanly on SIGTERM, and starts again on the same
// home, where the bootstrap password written by the first start still
// signs in (the second start bootstraps nothing new).
func TestServeRestartOnSameHome(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	env := []string{"MAESTRO_HOME=" + home}
	cmd, addr, logs, eof := startProcess(t, env, "serve", "--addr", "127.0.0.1:0")
	res, err := http.Get(addr + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("ready: %d", res.StatusCode)
	}
	pwFile := filepath.Join(home, "initial_admin_password")
	fi, err := os.Stat(pwFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("initial_admin_password: %v %v", fi, err)
	}
	raw, err := os.ReadFile(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	pw := strings.TrimSpace(string(raw))
	if got := login(t, addr, pw); got != http.StatusOK {
		t.Fatalf("login with the bootstrap password: %d", got)
	}
	stopProcess(t, cmd, logs, eof)
	// The bootstrap password went to a 0600 file, never to the log.
	if strings.Contains(logs.String(), pw) {
		t.Fatal("bootstrap password logged")
	}

	cmd, addr, logs, eof = startProcess(t, env, "serve", "--addr", "127.0.0.1:0")
	if got := login(t, addr, pw); got != http.StatusOK {
		t.Fatalf("login after restart: %d; log:\n%s", got, logs)
	}
	if got := login(t, addr, pw+"x"); got != http.StatusUnauthorized {
		t.Fatalf("login with a wrong password after restart: %d", got)
	}
	raw2, err := os.ReadFile(pwFile)
	if err != nil || strings.TrimSpace(string(raw2)) != pw {
		t.Fatalf("restart changed the bootstrap password file: %v", err)
	}
	stopProcess(t, cmd, logs, eof)
}

func TestRunCommandLine(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	p := envOf(map[string]string{"MAESTRO_HOME": filepath.Join(t.TempDir(), "home")})
	ctx := context.Background()
	if err := run(ctx, []string{"help"}, p, log, io.Discard); err != nil {
		t.Fatalf("help: %v", err)
	}
	for _, args := range [][]string{{"frobnicate"}, {"serve", "extra"}, {"serve", "--bogus"}} {
		if err := run(ctx, args, p, log, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	bad := envOf(map[string]string{"MAESTRO_ENV": "production", "MAESTRO_HOME": filepath.Join(t.TempDir(), "home")})
	if err := run(ctx, []string{"serve"}, bad, log, io.Discard); err == nil || !strings.Contains(err.Error(), "MAESTRO_JWT_SECRET") {
		t.Fatalf("production without secret: %v", err)
	}
	if err := run(ctx, []string{"serve", "--addr", "256.0.0.1:bad"}, p, log, io.Discard); err == nil {
		t.Fatal("bad address accepted")
	}
}

func TestServeFunctionStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	p := envOf(map[string]string{"MAESTRO_HOME": filepath.Join(t.TempDir(), "home")})
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, p, slog.New(slog.NewJSONHandler(logs, nil)), io.Discard)
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), `"msg":"serving"`); {
		if time.Now().After(deadline) {
			t.Fatalf("not serving:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not return")
	}
}

func TestLogLevel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "debug": slog.LevelDebug, "WARN": slog.LevelWarn, "bogus": slog.LevelInfo} {
		if got := logLevel(in); got != want {
			t.Errorf("logLevel(%q) = %v", in, got)
		}
	}
}
