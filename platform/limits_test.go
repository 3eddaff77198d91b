package platform

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/similarity"
)

// gateEmbedder embeds like a hashing embedder once a request may pass:
// every call announces itself on started and then waits for release (or
// for its context).
type gateEmbedder struct {
	similarity.Embedder
	started chan struct{}
	release chan struct{}
}

func (g *gateEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	select {
	case g.started <- struct{}{}:
	default:
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Embedder.Embed(ctx, texts)
}

func newGateEmbedder(t *testing.T) *gateEmbedder {
	t.Helper()
	h, err := similarity.NewHashingEmbedder(64)
	if err != nil {
		t.Fatal(err)
	}
	return &gateEmbedder{Embedder: h, started: make(chan struct{}, 1), release: make(chan struct{})}
}

// TestHeavyRouteConcurrencyLimit: with a limit of one, a second request to
// a heavy route while the first works is answered 503 busy with
// Retry-After at once, not queued; a light route still answers; once the
// first is done the route takes requests again.
func TestHeavyRouteConcurrencyLimit(t *testing.T) {
	t.Parallel()
	g := newGateEmbedder(t)
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{opts: []Option{WithEmbedder(g), WithHeavyRouteLimit(1)}})
	token := ts.adminToken()
	body := map[string]any{"text": "fraud detection on card payments"}
	var wg sync.WaitGroup
	wg.Add(1)
	var first response
	go func() {
		defer wg.Done()
		first = ts.do("POST", "/api/v1/specs/similar", token, body)
	}()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request never reached the embedder")
	}
	second := ts.do("POST", "/api/v1/specs/similar", token, body)
	if second.status != http.StatusServiceUnavailable || second.header.Get("Retry-After") == "" || second.problem(t).Code != "busy" {
		t.Fatalf("second request while the route is full: %d %s", second.status, second.body)
	}
	// A light route has no such limit.
	expect(t, ts.do("GET", "/api/v1/auth/me", token, nil), http.StatusOK)
	close(g.release)
	wg.Wait()
	expect(t, first, http.StatusOK)
	expect(t, ts.do("POST", "/api/v1/specs/similar", token, body), http.StatusOK)
}

// TestHandlerDeadline: a handler whose work outlives the route's deadline
// is stopped (its context ends) and answered 503, and the server's other
// routes are unaffected.
func TestHandlerDeadline(t *testing.T) {
	t.Parallel()
	g := newGateEmbedder(t) // never released: the embedder waits for the deadline
	short := func(s *settings) error {
		s.timeouts = [2]time.Duration{time.Minute, 300 * time.Millisecond}
		return nil
	}
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{opts: []Option{WithEmbedder(g), short}})
	token := ts.adminToken()
	start := time.Now()
	r := ts.do("POST", "/api/v1/specs/similar", token, map[string]any{"text": "anything at all"})
	if r.status != http.StatusServiceUnavailable || r.problem(t).Code != "unavailable" {
		t.Fatalf("request past its deadline: %d %s", r.status, r.body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the deadline did not stop the work: answered after %v", d)
	}
	expect(t, ts.do("GET", "/api/v1/auth/me", token, nil), http.StatusOK)
}

// downEmbedder is an embeddings service that is down.
type downEmbedder struct{ similarity.Embedder }

func (downEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, fmt.Errorf("%w: connection refused", similarity.ErrProvider)
}

// TestIndexFailureIsPickedUpByAnotherServer runs two servers on one
// database, as two replicas would: a project written on the one whose
// embeddings service is down is still written (and pending, durably, in
// the database), and the other server's first similarity query indexes
// it — nothing depends on the memory of the process that failed.
func TestIndexFailureIsPickedUpByAnotherServer(t *testing.T) {
	t.Parallel()
	db := testenv.PlatformSQLite(t)
	h, err := similarity.NewHashingEmbedder(64)
	if err != nil {
		t.Fatal(err)
	}
	down := newTestServer(t, db, testServerOptions{opts: []Option{WithEmbedder(downEmbedder{h})}})
	up := newTestServer(t, db, testServerOptions{opts: []Option{WithEmbedder(h)}})
	token := down.adminToken()
	var p struct{ ID string }
	expect(t, down.do("POST", "/api/v1/projects", token, map[string]any{"name": "Card fraud detection", "problem_class": "anomaly_detection",
		"complexity_score": 5, "team_size": 3, "description": "flag fraudulent card payments in real time"}), 201).json(t, &p)
	expect(t, down.do("POST", "/api/v1/specs/similar", token, map[string]any{"text": "card fraud"}), 503)

	var res struct {
		Items []struct {
			ProjectID string `json:"project_id"`
		} `json:"items"`
	}
	expect(t, up.do("POST", "/api/v1/specs/similar", up.adminToken(), map[string]any{"text": "fraudulent card payments"}), 200).json(t, &res)
	if len(res.Items) != 1 || res.Items[0].ProjectID != p.ID {
		t.Fatalf("the other server does not find the project written while the service was down: %+v", res.Items)
	}
}
