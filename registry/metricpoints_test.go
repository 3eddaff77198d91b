package registry

import (
	"errors"
	"testing"
	"time"
)

// TestMetricPointsPages reads a history in pages of every size: each
// point once, in the order logged, with its exact value, step and
// microsecond timestamp; another tenant's run, an unknown run and an
// unknown metric answer as documented.
func TestMetricPointsPages(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		run := newRun(t, e)
		base := time.Date(2026, 12, 7, 8, 1, 2, 345678000, time.UTC)
		var logged []MetricPoint
		for i := range 23 {
			logged = append(logged, MetricPoint{Key: "loss", Value: 1 / float64(i+3), Step: int64(i * i), Timestamp: base.Add(time.Duration(i) * 1001 * time.Microsecond)})
		}
		logged[5].Timestamp = time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC) // the zero time would mean now
		logged[6].Timestamp = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
		if err := e.reg.LogMetrics(e.a, run.ID, logged); err != nil {
			t.Fatal(err)
		}
		// Another metric of the run and the same key in another tenant stay out.
		if err := e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "other", Value: 9, Step: 1, Timestamp: base}}); err != nil {
			t.Fatal(err)
		}
		runB := newRun(t, &env{db: e.db, reg: e.reg, a: e.b})
		if err := e.reg.LogMetrics(e.b, runB.ID, []MetricPoint{{Key: "loss", Value: 99, Step: 0, Timestamp: base}}); err != nil {
			t.Fatal(err)
		}
		// The stored order: by step, then time (all steps differ here).
		for _, limit := range []int{1, 2, 5, 22, 23, 24, MaxHistoryPage} {
			var got []MetricPoint
			cursor, pages := "", 0
			for {
				page, err := e.reg.MetricPoints(e.a, run.ID, "loss", limit, cursor)
				if err != nil {
					t.Fatalf("limit %d: %v", limit, err)
				}
				if len(page.Items) > limit || (page.NextCursor != "" && len(page.Items) != limit) {
					t.Fatalf("limit %d: page of %d, next %q", limit, len(page.Items), page.NextCursor)
				}
				got = append(got, page.Items...)
				if pages++; page.NextCursor == "" {
					break
				}
				cursor = page.NextCursor
			}
			if want := (len(logged) + limit - 1) / limit; pages != want {
				t.Fatalf("limit %d: %d pages, want %d", limit, pages, want)
			}
			if len(got) != len(logged) {
				t.Fatalf("limit %d: %d points", limit, len(got))
			}
			for i, p := range got {
				w := logged[i]
				if p.Key != "loss" || p.Value != w.Value || p.Step != w.Step || !p.Timestamp.Equal(w.Timestamp) || p.Timestamp.Location() != time.UTC {
					t.Fatalf("limit %d: point %d = %+v, want %+v", limit, i, p, w)
				}
			}
		}
		if p, err := e.reg.MetricPoints(e.a, run.ID, "none", 0, ""); err != nil || len(p.Items) != 0 || p.Items == nil || p.NextCursor != "" {
			t.Fatalf("unknown metric: %+v %v", p, err)
		}
		for name, c := range map[string]struct {
			ctx   func() error
			found bool
		}{
			"other tenant's run": {func() error { _, err := e.reg.MetricPoints(e.a, runB.ID, "loss", 0, ""); return err }, false},
			"run of a":           {func() error { _, err := e.reg.MetricPoints(e.b, run.ID, "loss", 0, ""); return err }, false},
			"unknown run":        {func() error { _, err := e.reg.MetricPoints(e.a, newID(), "loss", 0, ""); return err }, false},
			"not an id":          {func() error { _, err := e.reg.MetricPoints(e.a, "x", "loss", 0, ""); return err }, false},
		} {
			if err := c.ctx(); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s: %v, want ErrNotFound", name, err)
			}
		}
		if p, err := e.reg.MetricPoints(e.b, runB.ID, "loss", 0, ""); err != nil || len(p.Items) != 1 || p.Items[0].Value != 99 {
			t.Fatalf("tenant b: %+v %v", p, err)
		}
	})
}
