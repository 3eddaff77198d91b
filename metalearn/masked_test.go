package metalearn

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestMixturePITMatchesInterval: an outcome lies inside the mixture's
// central interval of mass L exactly when its folded PIT is at most L, so
// the conformal quantile of the folded PITs is the mass to ask for.
func TestMixturePITMatchesInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 40; trial++ {
		mus := make([]float64, 1+rng.IntN(20))
		for i := range mus {
			mus[i] = rng.NormFloat64() * 3
		}
		scores := make([]float64, 5+rng.IntN(60))
		for i := range scores {
			scores[i] = math.Abs(rng.NormFloat64())
		}
		slices.Sort(scores)
		mx := mixture{mus: mus, w: 0.5 + rng.Float64(), scores: scores}
		level := 0.5 + 0.45*rng.Float64()
		lo, hi := mixtureInterval(mus, mx.w, scores, level)
		for k := 0; k < 200; k++ {
			y := lo - 2 + (hi-lo+4)*rng.Float64()
			inside := y > lo+1e-6 && y < hi-1e-6
			outside := y < lo-1e-6 || y > hi+1e-6
			pit := mx.foldedPIT(y)
			if inside && pit > level+1e-9 {
				t.Fatalf("trial %d: y %.4f inside [%.4f, %.4f] (mass %.3f) has folded PIT %.4f", trial, y, lo, hi, level, pit)
			}
			if outside && pit < level-1e-9 {
				t.Fatalf("trial %d: y %.4f outside [%.4f, %.4f] (mass %.3f) has folded PIT %.4f", trial, y, lo, hi, level, pit)
			}
		}
	}
}

// TestMaskedPatterns: the patterns are the unions of whole sources,
// restricted to the inputs a prediction marginalises.
func TestMaskedPatterns(t *testing.T) {
	var seen [numNumeric]bool
	var share [numNumeric]float64
	for j := range seen {
		seen[j] = true
	}
	seen[numReviewHours], seen[numOpenDefects] = false, false // never recorded: ignored, not marginalised
	share[numArtifactImpact] = 0.2                            // often missing: calibrated, not marginalised
	got := maskedPatterns(seen, share)
	team := marginalisedMask([]int{numSeniorShare, numMeanExperience, numRoleCount})
	proc := marginalisedMask([]int{numPipeline, numCommits})
	want := []uint16{team, proc, team | proc}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("patterns %b, want %b", got, want)
	}
}

// TestMaskedCalibration: a model trained with every input known is asked
// without the team and the process metrics (as before a project starts).
// Its interval then uses the mass its fold models needed with the same
// inputs missing, says so, and covers about the nominal share; a pattern
// that is not a union of whole sources keeps the uncalibrated mixture.
func TestMaskedCalibration(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	team := marginalisedMask([]int{numSeniorShare, numMeanExperience, numRoleCount})
	for _, tg := range Targets() {
		tm := &m.targets[tg]
		if _, ok := tm.maskedLevelOf(team); !ok || len(tm.masked) != 3 {
			t.Fatalf("%s: calibrated patterns %+v", tg, tm.masked)
		}
	}
	uncal := *m
	uncal.targets = m.targets
	for i := range uncal.targets {
		uncal.targets[i].masked = nil
	}
	test := synthHistory(600, 35)
	var covered, coveredUncal, coveredKnown [numTargets]int
	var width, widthUncal [numTargets]float64
	for _, r := range test {
		f := r.Features.Clone()
		f.Team = nil
		f.ProcessMetrics = nil
		for _, tg := range Targets() {
			pr, err := m.PredictTarget(tg, f, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(pr.Notes, func(s string) bool { return strings.Contains(s, "same inputs missing") }) {
				t.Fatalf("%s: notes %v", tg, pr.Notes)
			}
			pu, err := uncal.PredictTarget(tg, f, 0)
			if err != nil {
				t.Fatal(err)
			}
			v := tg.value(r.Outcome)
			pk, err := m.PredictTarget(tg, r.Features, 0)
			if err != nil {
				t.Fatal(err)
			}
			if pk.Contains(v) {
				coveredKnown[tg]++
			}
			if pr.Contains(v) {
				covered[tg]++
			}
			if pu.Contains(v) {
				coveredUncal[tg]++
			}
			width[tg] += modelWidth(t, tg, pr) / float64(len(test))
			widthUncal[tg] += modelWidth(t, tg, pu) / float64(len(test))
		}
	}
	for _, tg := range Targets() {
		c, cu := float64(covered[tg])/float64(len(test)), float64(coveredUncal[tg])/float64(len(test))
		ck := float64(coveredKnown[tg]) / float64(len(test))
		t.Logf("%s without team and process metrics: coverage %.3f (uncalibrated mixture %.3f, inputs known %.3f), mean model-scale width %.3g (%.3g), masses %+v", tg, c, cu, ck, width[tg], widthUncal[tg], m.targets[tg].masked)
		if math.Abs(c-m.Coverage()) > 0.07 {
			t.Errorf("%s: coverage %.3f, want %.2f ± 0.07", tg, c, m.Coverage())
		}
	}
	f := test[0].Features.Clone()
	delete(f.ProcessMetrics, MetricPipelineSuccessRate) // commits still known: not a calibrated pattern
	pr, err := m.PredictTarget(TargetSuccess, f, 0)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(pr.Notes, func(s string) bool { return strings.Contains(s, "same inputs missing") }) ||
		!slices.ContainsFunc(pr.Notes, func(s string) bool { return strings.Contains(s, "mixes") }) {
		t.Fatalf("pipeline rate alone missing: notes %v", pr.Notes)
	}
}

// TestDecodeFormatVersion4 strips the version-5 calibration from a blob
// and checks that it decodes as version 4 and predicts with the
// uncalibrated mixture, and that a corrupt calibrated mass is refused.
func TestDecodeFormatVersion4(t *testing.T) {
	m := trainedModel(t)
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	v4 := append([]byte(nil), b[:len(b)-4-maskedTail(m)]...)
	binary.LittleEndian.PutUint16(v4[8:], 4)
	v4 = binary.LittleEndian.AppendUint32(v4, crc32.Checksum(v4, crcTable))
	old, err := DecodeModel(v4)
	if err != nil {
		t.Fatalf("version 4: %v", err)
	}
	if old.Summary().FormatVersion != 4 || old.targets[TargetSuccess].masked != nil {
		t.Fatalf("decoded as format %d with %d patterns", old.Summary().FormatVersion, len(old.targets[TargetSuccess].masked))
	}
	f := synthHistory(1, 99)[0].Features
	f.Team, f.ProcessMetrics = nil, nil
	pr, err := old.PredictTarget(TargetSuccess, f, 0)
	if err != nil || !pr.Bounded || !slices.ContainsFunc(pr.Notes, func(s string) bool { return strings.Contains(s, "mixes") }) ||
		slices.ContainsFunc(pr.Notes, func(s string) bool { return strings.Contains(s, "same inputs missing") }) {
		t.Fatalf("version-4 prediction without team and metrics: %v, notes %v", err, pr.Notes)
	}
	back, err := DecodeModel(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.targets[TargetSuccess].masked, m.targets[TargetSuccess].masked) {
		t.Fatalf("patterns after a round trip %+v, want %+v", back.targets[TargetSuccess].masked, m.targets[TargetSuccess].masked)
	}
	// A mass above 1 is corrupt (success is the first target: its count,
	// then the first pattern's mask and mass).
	bad := append([]byte(nil), b[:len(b)-4]...)
	off := len(bad) - maskedTail(m) + 1 + 2
	binary.LittleEndian.PutUint64(bad[off:], math.Float64bits(1.5))
	bad = binary.LittleEndian.AppendUint32(bad, crc32.Checksum(bad, crcTable))
	if _, err := DecodeModel(bad); !errors.Is(err, ErrCorruptModel) {
		t.Fatalf("a calibrated mass of 1.5: %v", err)
	}
}
