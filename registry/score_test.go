package registry

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/tenancy"
)

func TestSuccessScore(t *testing.T) {
	t.Parallel()
	w, s := DefaultScoreWeights(), DefaultScoreScales()
	cases := []struct {
		name string
		o    Outcome
		want float64
	}{
		// perfect: full performance, impact at the reference, near-instant, free
		{"best", Outcome{1, 1e6, 1e-9, 0}, 100},
		// worst: nothing achieved, a year or more, cost at the reference
		{"worst", Outcome{0, 0, 365, 1e5}, 0},
		// 0.4*0.5 + 0.3*ln(1+1000)/ln(1+1e6) + 0.15*(1-ln(31)/ln(366)) + 0.15*(1-ln(101)/ln(100001))
		{"typical", Outcome{0.5, 1000, 30, 100}, 100 * (0.4*0.5 + 0.3*math.Log1p(1000)/math.Log1p(1e6) +
			0.15*(1-math.Log1p(30)/math.Log1p(365)) + 0.15*(1-math.Log1p(100)/math.Log1p(1e5)))},
		{"saturates", Outcome{1, 1e12, 1e6, 1e9}, 70},
	}
	for _, c := range cases {
		got, err := SuccessScore(c.o, w, s)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-math.Round(c.want*100)/100) > 1e-9 {
			t.Errorf("%s: score %v, want %v", c.name, got, c.want)
		}
	}
	base := Outcome{0.7, 5000, 60, 500}
	b, _ := SuccessScore(base, w, s)
	better := []Outcome{{0.8, 5000, 60, 500}, {0.7, 50000, 60, 500}, {0.7, 5000, 20, 500}, {0.7, 5000, 60, 50}}
	for _, o := range better {
		if got, _ := SuccessScore(o, w, s); got <= b {
			t.Errorf("%+v scores %v, not above the base's %v", o, got, b)
		}
	}
	again, _ := SuccessScore(base, w, s)
	if again != b {
		t.Fatal("score is not deterministic")
	}
	// Only the weights' ratios matter.
	if x, _ := SuccessScore(base, ScoreWeights{4, 3, 1.5, 1.5}, s); x != b {
		t.Errorf("scaled weights give %v, want %v", x, b)
	}
	if x, _ := SuccessScore(base, ScoreWeights{Performance: 1}, s); x != 70 {
		t.Errorf("performance-only weights give %v, want 70", x)
	}
}

func TestSuccessScoreValidation(t *testing.T) {
	t.Parallel()
	w, s := DefaultScoreWeights(), DefaultScoreScales()
	bad := []struct {
		o  Outcome
		w  ScoreWeights
		s  ScoreScales
		fs string
	}{
		{Outcome{math.NaN(), 1, 1, 1}, w, s, "model_performance"},
		{Outcome{0.5, math.Inf(1), 1, 1}, w, s, "business_impact"},
		{Outcome{0.5, 1, -3, 1}, w, s, "deployment_days"},
		{Outcome{0.5, 1, 1, math.NaN()}, w, s, "compute_cost"},
		{Outcome{0.5, 1, 1, 1}, ScoreWeights{}, s, "weights"},
		{Outcome{0.5, 1, 1, 1}, ScoreWeights{-1, 1, 1, 1}, s, "weights.performance"},
		{Outcome{0.5, 1, 1, 1}, ScoreWeights{1, math.NaN(), 1, 1}, s, "weights.impact"},
		{Outcome{0.5, 1, 1, 1}, w, ScoreScales{0, 1, 1}, "scales.impact"},
		{Outcome{0.5, 1, 1, 1}, w, ScoreScales{1, math.Inf(1), 1}, "scales.days"},
		{Outcome{0.5, 1, 1, 1}, w, ScoreScales{1, 1, -1}, "scales.cost"},
	}
	for _, c := range bad {
		_, err := SuccessScore(c.o, c.w, c.s)
		var ve ValidationErrors
		if !errors.As(err, &ve) || ve[0].Field != c.fs {
			t.Errorf("%+v %+v %+v: %v, want a field error on %s", c.o, c.w, c.s, err, c.fs)
		}
	}
	if _, err := New(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("New(nil) = %v, want ErrInvalid", err)
	}
	if _, err := New(sqliteOpen(t)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "tenancy plugin") {
		t.Errorf("New without the tenancy plugin = %v, want ErrInvalid naming the plugin", err)
	}
	db := sqliteOpen(t)
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Option{
		"zero weights": WithScoreWeights(ScoreWeights{}), "zero scales": WithScoreScales(ScoreScales{}),
		"zero max content": WithMaxContentSize(0), "negative max content": WithMaxContentSize(-1),
		"nil clock": WithClock(nil), "nil blob store": WithBlobStore(nil), "nil option": nil,
	} {
		if r, err := New(db, o); r != nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: New = %v, %v; want ErrInvalid", name, r, err)
		}
	}
	r, err := New(db, WithScoreWeights(ScoreWeights{1, 1, 1, 1}), WithScoreScales(ScoreScales{10, 10, 10}))
	if err != nil || r.ScoreWeights() != (ScoreWeights{1, 1, 1, 1}) || r.ScoreScales() != (ScoreScales{10, 10, 10}) {
		t.Fatalf("options not applied: %v", err)
	}
}
