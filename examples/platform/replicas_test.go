package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// The multi-replica suite: three processes of this program on one
// PostgreSQL database (after init-db, as the application role) and one
// Redis, with clients spreading requests over them. Writes on one replica
// must be visible on the others within a second; two concurrent trainings
// on two replicas start one job; a replica killed with SIGKILL while it
// acknowledges metric batches loses no acknowledged write and leaves no
// job stuck.

// replicaVisibility is the bound the suite asserts on cross-replica
// visibility.
const replicaVisibility = time.Second

// replica is one running process.
type replica struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	eof  <-chan struct{}
}

// call sends a JSON request to a replica and decodes a JSON answer into
// out (when non-nil); it returns the status.
func call(t *testing.T, url, method, path, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, url, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(data) > 0 && res.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return res.StatusCode
}

// must fails the test unless the request answers want.
func must(t *testing.T, want int, url, method, path, token string, body, out any) {
	t.Helper()
	if got := call(t, url, method, path, token, body, out); got != want {
		t.Fatalf("%s %s on %s: status %d, want %d", method, path, url, got, want)
	}
}

// within polls cond until it holds and returns how long that took,
// failing the test after limit.
func within(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	began := time.Now()
	for !cond() {
		if time.Since(began) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(began)
}

func token(t *testing.T, url, user, password string) string {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	must(t, 200, url, "POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": password}, &tok)
	return tok.AccessToken
}

type jobView struct {
	Job struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Model  *struct {
			Version int `json:"version"`
		} `json:"model"`
		Error string `json:"error"`
	} `json:"job"`
}

func TestReplicas(t *testing.T) {
	t.Parallel()
	ownerURL := testenv.PostgresURL(t)
	redisURL := os.Getenv(testenv.EnvRedisURL)
	if redisURL == "" {
		testenv.Redis(t) // skips or fails as the environment says
	}
	role := "maestro_app_" + testenv.RandomSuffix(4)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, ownerURL); err == nil {
			_, _ = c.Exec(ctx, "DROP OWNED BY "+role)
			_, _ = c.Exec(ctx, "DROP ROLE IF EXISTS "+role)
			_ = c.Close(ctx)
		}
	})
	appURL := testenv.WithUser(t, ownerURL, role, "App-"+testenv.RandomSuffix(12))
	const adminPassword = "Replica-Root-Pass-2024!"
	home := filepath.Join(t.TempDir(), "home") // shared, as a blob store is
	vars := map[string]string{
		"MAESTRO_ENV": "production", "MAESTRO_HOME": home,
		"MAESTRO_DATABASE_URL": appURL, "MAESTRO_DATABASE_OWNER_URL": ownerURL,
		"MAESTRO_REDIS_URL": redisURL, "MAESTRO_JWT_SECRET": "c2VjcmV0LWtleS1mb3ItcmVwbGljYXMtMTIzNDU2Nzg5MA-Qx7",
		"MAESTRO_ADMIN_PASSWORD": adminPassword,
	}
	if err := run(context.Background(), []string{"init-db"}, envOf(vars), slog.New(slog.DiscardHandler), io.Discard); err != nil {
		t.Fatalf("init-db: %v", err)
	}
	var env []string
	for k, v := range vars {
		if k != "MAESTRO_DATABASE_OWNER_URL" {
			env = append(env, k+"="+v)
		}
	}
	start := func() *replica {
		cmd, addr, logs, eof := startProcess(t, env, "serve", "--addr", "127.0.0.1:0")
		return &replica{cmd: cmd, url: addr, logs: logs, eof: eof}
	}
	// The first replica bootstraps the empty database; the others join it.
	rs := []*replica{start()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := start()
			mu.Lock()
			rs = append(rs, r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	a, b, c := rs[0].url, rs[1].url, rs[2].url

	root := token(t, a, "admin", adminPassword)
	var me struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
	}
	must(t, 200, b, "GET", "/api/v1/auth/me", root, nil, &me)
	tid := me.Tenant.ID
	const pw = "Member-Pass-2024!x"
	var mia struct {
		UserID string `json:"user_id"`
	}
	must(t, 201, a, "POST", "/api/v1/tenants/"+tid+"/members", root, map[string]string{"username": "mia", "password": pw, "role": "member"}, &mia)
	miaTok := token(t, c, "mia", pw)

	// Similarity: a project created on one replica is found on the others.
	var proj struct {
		ID string `json:"id"`
	}
	must(t, 201, b, "POST", "/api/v1/projects", miaTok, map[string]any{"name": "Card fraud detection", "problem_class": "classification",
		"complexity_score": 4, "team_size": 3, "description": "detect fraudulent card payments in real time"}, &proj)
	for _, r := range []string{a, c} {
		d := within(t, replicaVisibility, "a project written on b found by search on another replica", func() bool {
			var page struct {
				Items []struct {
					ProjectID string `json:"project_id"`
				} `json:"items"`
			}
			if call(t, r, "POST", "/api/v1/specs/similar", miaTok, map[string]any{"text": "fraudulent card payments"}, &page) != 200 {
				return false
			}
			for _, m := range page.Items {
				if m.ProjectID == proj.ID {
					return true
				}
			}
			return false
		})
		t.Logf("search followed a write on another replica in %v", d)
	}

	// History, written round robin over the replicas.
	urls := []string{a, b, c}
	classes := []string{"classification", "regression", "forecasting"}
	for i := range 22 {
		u := urls[i%3]
		complexity, team := 1+i%10, 1+(i*7)%8
		var p struct {
			ID string `json:"id"`
		}
		must(t, 201, u, "POST", "/api/v1/projects", miaTok, map[string]any{"name": fmt.Sprintf("History %d", i),
			"problem_class": classes[i%3], "complexity_score": complexity, "team_size": team}, &p)
		perf := max(0.05, min(1, 0.97-0.05*float64(complexity)+0.01*float64(i%3)))
		must(t, 200, urls[(i+1)%3], "PUT", "/api/v1/projects/"+p.ID+"/outcome", miaTok, map[string]any{
			"model_performance": perf, "business_impact": 20000 * float64(11-complexity),
			"deployment_days": 5 * float64(complexity), "compute_cost": 300 * float64(complexity)}, nil)
	}

	// Two concurrent trainings on two replicas start one job.
	jobs := make([]jobView, 2)
	for i, u := range []string{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := call(t, u, "POST", "/api/v1/meta-models/train", miaTok, nil, &jobs[i]); got != 202 {
				t.Errorf("train on replica %d: %d", i, got)
			}
		}()
	}
	wg.Wait()
	if jobs[0].Job.ID == "" || jobs[0].Job.ID != jobs[1].Job.ID {
		t.Fatalf("concurrent trainings on two replicas: jobs %q and %q, want one", jobs[0].Job.ID, jobs[1].Job.ID)
	}
	var done jobView
	within(t, time.Minute, "the training job to end (followed on a third replica)", func() bool {
		must(t, 200, c, "GET", "/api/v1/meta-models/jobs/"+jobs[0].Job.ID, miaTok, nil, &done)
		return done.Job.Status == "succeeded" || done.Job.Status == "failed"
	})
	if done.Job.Status != "succeeded" || done.Job.Model == nil || done.Job.Model.Version != 1 {
		t.Fatalf("training job %+v", done.Job)
	}
	// Predictions: the model trained on one replica serves on the others.
	for _, u := range urls {
		d := within(t, replicaVisibility, "a prediction with the new model", func() bool {
			var rec struct {
				ModelVersion int `json:"model_version"`
			}
			return call(t, u, "POST", "/api/v1/recommendations", miaTok, map[string]any{"problem_class": "classification",
				"complexity_score": 3, "team_size": 3}, &rec) == 200 && rec.ModelVersion == 1
		})
		t.Logf("predictions followed the training in %v", d)
	}

	// Role changes and revocation reach every replica.
	must(t, 201, a, "POST", "/api/v1/projects", miaTok, map[string]any{"name": "before", "problem_class": "nlp", "complexity_score": 2, "team_size": 2}, nil)
	must(t, 200, a, "PATCH", "/api/v1/tenants/"+tid+"/members/"+mia.UserID, root, map[string]string{"role": "viewer"}, nil)
	for _, u := range []string{b, c} {
		d := within(t, replicaVisibility, "the demoted member's token refused", func() bool {
			return call(t, u, "GET", "/api/v1/projects", miaTok, nil, nil) == 401
		})
		t.Logf("a demotion on a reached another replica in %v", d)
	}
	viewerTok := token(t, b, "mia", pw)
	must(t, 403, c, "POST", "/api/v1/projects", viewerTok, map[string]any{"name": "as viewer", "problem_class": "nlp", "complexity_score": 2, "team_size": 2}, nil)
	must(t, 204, c, "POST", "/api/v1/auth/logout", viewerTok, nil, nil)
	for _, u := range []string{a, b} {
		d := within(t, replicaVisibility, "a token logged out on c refused", func() bool {
			return call(t, u, "GET", "/api/v1/projects", viewerTok, nil, nil) == 401
		})
		t.Logf("a logout on c reached another replica in %v", d)
	}

	// SIGKILL a replica while it acknowledges metric batches (and trains):
	// every acknowledged batch is stored, and no job stays running.
	must(t, 200, a, "PATCH", "/api/v1/tenants/"+tid+"/members/"+mia.UserID, root, map[string]string{"role": "member"}, nil)
	miaTok = token(t, a, "mia", pw)
	var exp, runv struct {
		ID string `json:"id"`
	}
	must(t, 201, a, "POST", "/api/v1/projects/"+proj.ID+"/experiments", miaTok, map[string]any{"name": "kill"}, &exp)
	must(t, 201, a, "POST", "/api/v1/experiments/"+exp.ID+"/runs", miaTok, map[string]any{}, &runv)
	var kjob jobView
	must(t, 202, c, "POST", "/api/v1/meta-models/train", miaTok, nil, &kjob)
	var acked atomic.Int64 // batches 0..acked-1 answered 204
	stop := make(chan struct{})
	writer := make(chan struct{})
	go func() {
		defer close(writer)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			batch := make([]map[string]any, 50)
			for j := range batch {
				batch[j] = map[string]any{"key": "loss", "value": float64(i), "step": i*50 + j}
			}
			body, _ := json.Marshal(batch)
			req, _ := http.NewRequest("POST", c+"/api/v1/runs/"+runv.ID+"/metrics", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+miaTok)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return // the replica died: this batch was not acknowledged
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 204 {
				return
			}
			acked.Store(int64(i + 1))
		}
	}()
	within(t, 30*time.Second, "some acknowledged batches", func() bool { return acked.Load() >= 20 })
	if err := rs[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-writer
	close(stop)
	<-rs[2].eof
	_ = rs[2].cmd.Wait()
	n := acked.Load()
	var hist struct {
		Points []struct {
			Step int `json:"step"`
		} `json:"points"`
	}
	must(t, 200, a, "GET", "/api/v1/runs/"+runv.ID+"/metrics/loss?max_points=100000", miaTok, nil, &hist)
	steps := map[int]bool{}
	for _, p := range hist.Points {
		steps[p.Step] = true
	}
	for s := range int(n) * 50 {
		if !steps[s] {
			t.Fatalf("acknowledged point at step %d lost after SIGKILL (%d batches acknowledged, %d points stored)", s, n, len(hist.Points))
		}
	}
	t.Logf("%d acknowledged batches survived the SIGKILL (%d points stored)", n, len(hist.Points))
	// The killed replica's job ends (succeeded before the kill, or failed
	// once its heartbeat expired) — it never stays running.
	var kj jobView
	d := within(t, time.Minute, "the killed replica's job to end", func() bool {
		must(t, 200, b, "GET", "/api/v1/meta-models/jobs/"+kjob.Job.ID, miaTok, nil, &kj)
		return kj.Job.Status == "succeeded" || kj.Job.Status == "failed"
	})
	t.Logf("the killed replica's job ended %s (%s) %v after the kill", kj.Job.Status, kj.Job.Error, d)
	var again jobView
	must(t, 202, a, "POST", "/api/v1/meta-models/train", miaTok, nil, &again)
	if again.Job.ID == kjob.Job.ID {
		t.Fatal("a new training after the kill returned the dead replica's job")
	}
	for _, r := range rs[:2] {
		stopProcess(t, r.cmd, r.logs, r.eof)
	}
}
