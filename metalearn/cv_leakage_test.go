package metalearn

import (
	"context"
	"testing"
)

// TestCVEncoderFittedInsideFolds checks that cross-validation does not
// leak held-out rows into the model that predicts them through the
// feature standardization: a held-out prediction must not change when
// the features of the other rows held out with it change. Before the
// encoder was fitted inside each fold, it was fitted on all records, so
// giving the fold's other held-out projects a team of 5,000 moved the
// mean and spread of team_size, re-scaled every training row and changed
// the prediction.
func TestCVEncoderFittedInsideFolds(t *testing.T) {
	t.Parallel()
	const k = 5
	cfg := newConfig(append(fastOptions(), WithKinds(KindGP), WithFolds(k)))
	heldOut := func(records []Record) []float64 {
		folds := foldsOf(len(records), k, cfg.seed)
		_, x, foldX, _ := encodeForCV(records, folds, k)
		_, pred, err := trainTarget(context.Background(), TargetSuccess, x, foldX, records, folds, cfg, foldContext{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return pred
	}
	records := synthHistory(60, 5)
	folds := foldsOf(len(records), k, cfg.seed)
	r := -1
	changed := cloneRecords(records)
	for i := range changed {
		if folds[i] != 0 {
			continue
		}
		if o := records[i].Outcome.SuccessScore; r < 0 && o > 20 && o < 90 {
			r = i // the row whose prediction is compared, away from the 0-100 clamp
			continue
		}
		changed[i].Features.TeamSize = 5000
	}
	if r < 0 {
		t.Fatal("no suitable row in fold 0")
	}
	before, after := heldOut(records)[r], heldOut(changed)[r]
	t.Logf("row %d: held-out prediction %v, outcome %v", r, before, records[r].Outcome.SuccessScore)
	if before != after {
		t.Fatalf("held-out prediction of row %d moved from %v to %v when other held-out rows changed", r, before, after)
	}
}

func cloneRecords(rs []Record) []Record {
	out := make([]Record, len(rs))
	for i, r := range rs {
		out[i] = r
		out[i].Features = r.Features.Clone()
	}
	return out
}
