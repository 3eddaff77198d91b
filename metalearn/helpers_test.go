package metalearn

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fixedClock returns a clock that always reads the same instant.
func fixedClock() func() time.Time {
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { return t }
}

// fastOptions keeps unit-test training small and quick while exercising
// every code path (all four kinds, the GP included).
func fastOptions() []Option {
	return []Option{WithGPPoints(140, 80), WithGPOptimizer(2, 30), WithClock(fixedClock())}
}

var sharedModel = sync.OnceValues(func() (*Model, error) {
	return Train(context.Background(), synthHistory(240, 11), fastOptions()...)
})

// trainedModel returns a model trained once per test binary on 240
// synthetic projects.
func trainedModel(t testing.TB) *Model {
	t.Helper()
	m, err := sharedModel()
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	return m
}
