package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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

func TestServeStopsCleanlyOnSIGTERM(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	cmd, addr, logs, eof := startProcess(t, []string{"MAESTRO_HOME=" + home}, "serve", "--addr", "127.0.0.1:0")
	res, err := http.Get(addr + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("ready: %d", res.StatusCode)
	}
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
	// The bootstrap password went to a 0600 file, never to the log.
	fi, err := os.Stat(filepath.Join(home, adminPasswordFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("initial_admin_password: %v %v", fi, err)
	}
	pw, err := os.ReadFile(filepath.Join(home, adminPasswordFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), strings.TrimSpace(string(pw))) {
		t.Fatal("bootstrap password logged")
	}
}

func TestRunCommandLine(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	p := envOf(map[string]string{envHome: t.TempDir()})
	ctx := context.Background()
	if err := run(ctx, []string{"help"}, p, log, io.Discard); err != nil {
		t.Fatalf("help: %v", err)
	}
	for _, args := range [][]string{{"frobnicate"}, {"serve", "extra"}, {"serve", "--bogus"}} {
		if err := run(ctx, args, p, log, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	bad := envOf(map[string]string{envEnv: "production", envHome: t.TempDir()})
	if err := run(ctx, []string{"serve"}, bad, log, io.Discard); err == nil || !strings.Contains(err.Error(), envJWTSecret) {
		t.Fatalf("production without secret: %v", err)
	}
	if err := run(ctx, []string{"serve", "--addr", "256.0.0.1:bad"}, p, log, io.Discard); err == nil {
		t.Fatal("bad address accepted")
	}
}

func TestServeFunctionStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	p := envOf(map[string]string{envHome: t.TempDir()})
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
