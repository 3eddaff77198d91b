package metalearn

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestWeightedConformalQuantile(t *testing.T) {
	scores := []float64{5, 1, 4, 2, 3}
	ones := []float64{1, 1, 1, 1, 1}
	for _, c := range []float64{0.5, 0.6, 5.0 / 6, 0.9} {
		if a, b := weightedConformalQuantile(scores, ones, c), conformalQuantile(scores, c); a != b {
			t.Errorf("coverage %.2f: equal weights give %v, unweighted %v", c, a, b)
		}
	}
	// All weight on the latest score (3): the quantile is that score.
	if q := weightedConformalQuantile(scores, []float64{1e-9, 1e-9, 1e-9, 1e-9, 100}, 0.8); q != 3 {
		t.Errorf("weight on the last score: q = %v, want 3", q)
	}
	w := recencyWeights(90)
	if w[89] != 1 || math.Abs(w[44]-0.5) > 1e-12 || !slices.IsSorted(w) {
		t.Errorf("recency weights of 90: last %v, middle %v (half-life 45)", w[89], w[44])
	}
	if n := minCalibration(0.8); n != 5 {
		t.Errorf("minCalibration(0.8) = %d, want 5 (4 without weights)", n)
	}
	if n := minCalibration(0.96); n < 25 || n > 40 {
		t.Errorf("minCalibration(0.96) = %d", n)
	} else {
		t.Logf("minCalibration(0.96) = %d under the recency weights (24 without)", n)
	}
}

func TestStoredWeightedScores(t *testing.T) {
	var s, w []float64
	for i := 0; i < 1000; i++ {
		s = append(s, float64((i*7919)%1000))
		w = append(w, 1)
	}
	st := storedWeightedScores(s, w)
	if len(st) != maxStoredScores || !slices.IsSorted(st) {
		t.Fatalf("%d stored scores, sorted %v", len(st), slices.IsSorted(st))
	}
	if med := st[len(st)/2]; math.Abs(med-500) > 5 {
		t.Errorf("median of the summary %v, want about 500", med)
	}
}

func TestMixtureInterval(t *testing.T) {
	scores := []float64{0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5}
	// One reference prediction: the ordinary conformal interval mu ± q·w.
	lo, hi := mixtureInterval([]float64{10}, 2, scores, 0.8)
	if math.Abs(lo-2) > 1e-6 || math.Abs(hi-18) > 1e-6 {
		t.Errorf("single reference: [%v, %v], want [2, 18]", lo, hi)
	}
	// Two far-apart references: the interval spans both, but less than
	// the range plus the full half-width on each side.
	lo, hi = mixtureInterval([]float64{0, 100}, 1, scores, 0.8)
	if !(lo < 0 && hi > 100) || !(lo > -4 && hi < 104) {
		t.Errorf("two references: [%v, %v]", lo, hi)
	}
}

func TestBHQValue(t *testing.T) {
	ps := []float64{0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216}
	// Benjamini and Hochberg's rule at 0.05 rejects the first two.
	var rejected int
	for _, p := range ps {
		if bhQValue(p, ps) <= 0.05 {
			rejected++
		}
	}
	if rejected != 2 {
		t.Errorf("BH at 0.05 rejects %d, want 2", rejected)
	}
	if q := bhQValue(0.001, ps); math.Abs(q-0.01) > 1e-12 {
		t.Errorf("q of the smallest p = %v, want 0.01", q)
	}
}

// TestDecodeFormatVersion2 builds a version-2 blob from a version-5 one
// (the version-3, 4 and 5 tails removed, the checksum recomputed) and checks that it
// still decodes and predicts, with the behaviour of its time: no stored
// scores, no q-values.
func TestDecodeFormatVersion2(t *testing.T) {
	m := trainedModel(t)
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	tail := 4 + trendTail(m) + maskedTail(m) // the checksum, the version-4 trends and the version-5 calibration
	for i := range m.targets {
		tail += 2 + 8*len(m.targets[i].scores) + 5*8
	}
	tail += 16 * len(m.artifacts)
	v2 := append([]byte(nil), b[:len(b)-tail]...)
	binary.LittleEndian.PutUint16(v2[8:], 2)
	v2 = binary.LittleEndian.AppendUint32(v2, crc32.Checksum(v2, crcTable))
	old, err := DecodeModel(v2)
	if err != nil {
		t.Fatalf("version 2: %v", err)
	}
	if old.Summary().FormatVersion != 2 || old.targets[TargetSuccess].scores != nil {
		t.Fatalf("decoded as format %d with %d scores", old.Summary().FormatVersion, len(old.targets[TargetSuccess].scores))
	}
	p := synthHistory(1, 99)[0].Features
	p.Team = nil
	pr, err := old.PredictTarget(TargetSuccess, p, 0)
	if err != nil || !pr.Bounded || !slices.ContainsFunc(pr.Notes, func(s string) bool { return strings.Contains(s, "spans") }) {
		t.Fatalf("version-2 prediction without a team: %v, notes %v", err, pr.Notes)
	}
	for _, s := range old.SuggestArtifacts(p, 10) {
		if s.QValue != nil || s.PValue != nil {
			t.Fatalf("version-2 suggestion with q %v", *s.QValue)
		}
	}
	binary.LittleEndian.PutUint16(v2[8:], 1)
	if _, err := DecodeModel(v2); !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("version 1: %v", err)
	}
}

// trendTail is the length of the version-4 section of m's encoding.
func trendTail(m *Model) int {
	n := 0
	for i := range m.targets {
		n++
		if m.targets[i].metrics.Trend != nil {
			n += 3 * 8
		}
	}
	return n
}

// maskedTail is the length of the version-5 section of m's encoding.
func maskedTail(m *Model) int {
	n := 0
	for i := range m.targets {
		n += 1 + 10*len(m.targets[i].masked)
	}
	return n
}

// TestDecodeFormatVersion3 strips the version-4 trends (and the version-5
// calibration) from a blob of a
// model trained on a drifting history and checks that it decodes as
// version 3 with no trend, while the version-4 blob keeps it.
func TestDecodeFormatVersion3(t *testing.T) {
	m := driftModel(t, 12)
	tr := m.Metrics(TargetSuccess).Trend
	if tr == nil {
		t.Fatal("no trend found in a history drifting 12 points per 100 projects")
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeModel(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Metrics(TargetSuccess).Trend; got == nil || *got != *tr {
		t.Fatalf("trend after a round trip: %+v, want %+v", got, tr)
	}
	v3 := append([]byte(nil), b[:len(b)-4-trendTail(m)-maskedTail(m)]...)
	binary.LittleEndian.PutUint16(v3[8:], 3)
	v3 = binary.LittleEndian.AppendUint32(v3, crc32.Checksum(v3, crcTable))
	old, err := DecodeModel(v3)
	if err != nil {
		t.Fatalf("version 3: %v", err)
	}
	if old.Summary().FormatVersion != 3 || old.Metrics(TargetSuccess).Trend != nil {
		t.Fatalf("decoded as format %d with trend %+v", old.Summary().FormatVersion, old.Metrics(TargetSuccess).Trend)
	}
	// A trend whose t-statistic is below the threshold is corrupt.
	bad := append([]byte(nil), b[:len(b)-4]...)
	off := len(bad) - maskedTail(m) - trendTail(m) + 1 + 16 // success is the first target: its flag, slope and shift
	binary.LittleEndian.PutUint64(bad[off:], math.Float64bits(0.5))
	bad = binary.LittleEndian.AppendUint32(bad, crc32.Checksum(bad, crcTable))
	if _, err := DecodeModel(bad); !errors.Is(err, ErrCorruptModel) {
		t.Fatalf("a trend with t = 0.5: %v", err)
	}
}
