package metalearn

import (
	"context"
	"math"
	"reflect"
	"testing"
)

// TestQualityHeldOut trains on synthetic projects whose outcomes depend on
// the features in a known, non-trivial way and checks the model on
// held-out projects it never saw.
func TestQualityHeldOut(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	test := synthHistory(400, 12345)
	train := synthHistory(240, 11)
	type bound struct{ maxRatio, minSpearman float64 }
	bounds := map[Target]bound{
		TargetSuccess:        {0.45, 0.85},
		TargetDeploymentDays: {0.80, 0.65},
		TargetComputeCost:    {0.70, 0.75},
	}
	for _, tg := range Targets() {
		mean := 0.0
		for _, r := range train {
			mean += tg.forward(tg.value(r.Outcome))
		}
		base := tg.inverse(mean / float64(len(train)))
		var y, p, b, conf []float64
		covered := 0
		for _, r := range test {
			pr, err := m.PredictTarget(tg, r.Features, 0)
			if err != nil {
				t.Fatal(err)
			}
			v := tg.value(r.Outcome)
			y, p, b = append(y, v), append(p, pr.Value), append(b, base)
			lo, hi, ok := pr.Interval()
			if !ok || pr.RelativeWidth == nil {
				t.Fatalf("%s: unbounded interval %+v", tg, pr)
			}
			conf = append(conf, *pr.RelativeWidth)
			if lo > pr.Value || hi < pr.Value {
				t.Fatalf("%s: interval [%v, %v] excludes its point %v", tg, lo, hi, pr.Value)
			}
			if pr.Contains(v) {
				covered++
			}
		}
		mae, baseMAE := maeOf(y, p), maeOf(y, b)
		// Intervals narrower than the baseline's by about the MAE ratio.
		if c := meanOf(conf); c < 0.1 || c > 0.8 {
			t.Errorf("%s: mean relative width %.3f outside [0.1, 0.8]", tg, c)
		}
		sp := spearman(y, p)
		cov := float64(covered) / float64(len(test))
		t.Logf("%s: model %s held-out MAE %.3f vs baseline %.3f (ratio %.2f), Spearman %.3f, coverage %.3f (nominal %.2f), mean relative width %.3f; CV %+v",
			tg, m.Metrics(tg).Model, mae, baseMAE, mae/baseMAE, sp, cov, m.Coverage(), meanOf(conf), m.Metrics(tg))
		bd := bounds[tg]
		if mae > bd.maxRatio*baseMAE {
			t.Errorf("%s: held-out MAE %.3f not clearly below baseline %.3f", tg, mae, baseMAE)
		}
		if sp < bd.minSpearman {
			t.Errorf("%s: Spearman %.3f < %.2f", tg, sp, bd.minSpearman)
		}
		// 400 held-out points: the binomial standard error at 0.8 is 0.02;
		// the calibration on one recency-weighted history of 240 (effective
		// size about 200) adds about 0.03, so 0.08 is about 2.3 standard
		// deviations (measured: 0.765 / 0.812 / 0.873).
		if math.Abs(cov-m.Coverage()) > 0.08 {
			t.Errorf("%s: coverage %.3f far from nominal %.2f", tg, cov, m.Coverage())
		}
		met := m.Metrics(tg)
		if met.CVMAE >= met.BaselineMAE {
			t.Errorf("%s: cv_mae %.3f not below baseline_mae %.3f", tg, met.CVMAE, met.BaselineMAE)
		}
	}
}

func TestRecommendedTeamSizeGrowsWithComplexity(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	p := synthHistory(1, 99)[0].Features
	p.Team = nil
	prev := 0
	var sizes []int
	for _, c := range []float64{1, 4, 7, 10} {
		p.Complexity = c
		tc, err := m.BestTeamSize(p, 14)
		if err != nil {
			t.Fatal(err)
		}
		if len(tc.PredictedScoreBySize) != 14 {
			t.Fatalf("scores for %d sizes, want 14", len(tc.PredictedScoreBySize))
		}
		sizes = append(sizes, tc.RecommendedSize)
		if tc.RecommendedSize < prev {
			t.Errorf("recommended size %d at complexity %v below %d at lower complexity", tc.RecommendedSize, c, prev)
		}
		prev = tc.RecommendedSize
	}
	t.Logf("recommended sizes at complexity 1,4,7,10: %v (true optimum 2.5, 5.5, 8.5, 11.5)", sizes)
	if sizes[len(sizes)-1]-sizes[0] < 5 {
		t.Errorf("recommended size grows only from %d to %d", sizes[0], sizes[len(sizes)-1])
	}
}

func TestTrainDeterministic(t *testing.T) {
	t.Parallel()
	hist := synthHistory(40, 5)
	opts := append(fastOptions(), WithFolds(3), WithGPPoints(30, 20), WithGPOptimizer(1, 20))
	a, err := Train(context.Background(), hist, opts...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(context.Background(), hist, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ea, _ := a.MarshalBinary()
	eb, _ := b.MarshalBinary()
	if string(ea) != string(eb) {
		t.Fatal("two trainings on the same input differ")
	}
	p := hist[0].Features
	fa, _ := a.Predict(p)
	fb, _ := b.Predict(p)
	if !reflect.DeepEqual(fa, fb) {
		t.Fatal("predictions differ")
	}
	c, err := Train(context.Background(), hist, append(opts, WithSeed(7))...)
	if err != nil {
		t.Fatal(err)
	}
	if c.Seed() != 7 {
		t.Fatalf("seed %d not stored", c.Seed())
	}
}
