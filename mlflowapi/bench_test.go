package mlflowapi

import (
	"fmt"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// BenchmarkHotPaths measures the calls bench/mlflow compares with other
// tracking servers, in process on SQLite (go test -bench . ./mlflowapi).
func BenchmarkHotPaths(b *testing.B) {
	s := newServer(b, testenv.SQLite)
	exp := s.experiment(&memberA, "bench")
	run := s.run(&memberA, exp, nil)
	points := make([]map[string]any, 1000)
	// step numbers the writes across b.Run's repeated calls (and -count),
	// so each appends to its metric as bench/mlflow's do, rather than
	// re-numbering points already stored; the first batch's key is b0,
	// the history history-1000 reads.
	step := -1
	b.Run("log-batch-1000", func(b *testing.B) {
		for range b.N {
			step++
			for j := range points {
				points[j] = map[string]any{"key": fmt.Sprintf("b%d", step), "value": float64(j), "timestamp": 1700000000000 + j, "step": j}
			}
			s.ok(&memberA, "POST", api+"runs/log-batch", map[string]any{"run_id": run, "metrics": points})
		}
	})
	b.Run("log-metric", func(b *testing.B) {
		for range b.N {
			step++
			s.ok(&memberA, "POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "m", "value": 0.5, "timestamp": 1700000000000 + step, "step": step})
		}
	})
	b.Run("history-1000", func(b *testing.B) {
		for range b.N {
			s.ok(&viewerA, "GET", api+"metrics/get-history?run_id="+run+"&metric_key=b0", nil)
		}
	})
	search := s.experiment(&memberA, "search")
	for i := range 1000 {
		id := s.run(&memberA, search, nil)
		s.ok(&memberA, "POST", api+"runs/log-metric", map[string]any{"run_id": id, "key": "acc", "value": float64(i%997) / 997, "timestamp": 1700000000000, "step": 0})
	}
	b.Run("search-1000", func(b *testing.B) {
		for range b.N {
			s.ok(&viewerA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{search}, "filter": "metrics.acc > 0.5", "order_by": []string{"metrics.acc DESC"}, "max_results": 100})
		}
	})
	b.Run("create-run", func(b *testing.B) {
		for range b.N {
			s.run(&memberA, exp, nil)
		}
	})
}
