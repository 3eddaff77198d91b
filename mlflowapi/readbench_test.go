package mlflowapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
)

// BenchmarkReads measures the two reads bench/mlflow compares with other
// tracking servers, each with its own data, on SQLite opened as the
// platform opens it: a 1,000-point metric history and a search of 1,000
// runs with a metric filter and a metric order, 100 results (go test
// -run '^$' -bench Reads ./mlflowapi). Only the handler is timed: the
// answer is checked once, before the loop.
func BenchmarkReads(b *testing.B) {
	s := newServer(b, testenv.PlatformSQLite)
	exp := s.experiment(&memberA, "history")
	run := s.run(&memberA, exp, nil)
	points := make([]map[string]any, 1000)
	for j := range points {
		points[j] = map[string]any{"key": "loss", "value": 1 / float64(j+1), "timestamp": 1700000000000 + j, "step": j}
	}
	s.ok(&memberA, "POST", api+"runs/log-batch", map[string]any{"run_id": run, "metrics": points})
	history := api + "metrics/get-history?run_id=" + run + "&metric_key=loss"
	if n := len(s.ok(&viewerA, "GET", history, nil)["metrics"].([]any)); n != 1000 {
		b.Fatalf("history: %d points", n)
	}
	b.Run("history-1000", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			s.serve(b, &viewerA, "GET", history, nil)
		}
	})
	search := s.experiment(&memberA, "search")
	for i := range 1000 {
		id := s.run(&memberA, search, nil)
		s.ok(&memberA, "POST", api+"runs/log-metric", map[string]any{"run_id": id, "key": "acc", "value": float64(i%997) / 997, "timestamp": 1700000000000, "step": 0})
	}
	body := map[string]any{"experiment_ids": []string{search}, "filter": "metrics.acc > 0.5", "order_by": []string{"metrics.acc DESC"}, "max_results": 100}
	if n := len(s.ok(&viewerA, "POST", api+"runs/search", body)["runs"].([]any)); n != 100 {
		b.Fatalf("search: %d runs", n)
	}
	raw, _ := json.Marshal(body)
	b.Run("search-1000", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			s.serve(b, &viewerA, "POST", api+"runs/search", raw)
		}
	})
}

// serve sends one call to the handler and fails unless it answers 200.
func (s *server) serve(b *testing.B, p *auth.Principal, method, path string, body []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req = req.WithContext(auth.WithPrincipal(req.Context(), *p))
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	if w.Code != 200 {
		b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body.Bytes())
	}
}
