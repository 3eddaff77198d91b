package similarity

import (
	"fmt"
	"math"
	"sort"
)

// Calibrator is an optional interface of an Embedder whose raw cosine
// similarities should be reported on Maestro's common scale: specs that
// solve unrelated problems score about 0.2 and specs of the same problem
// about 0.8, whatever the embedder. Calibrate must be monotone
// non-decreasing in cosine, so that it never changes a ranking, and map
// [-1, 1] into [0, 1] with Calibrate(1) = 1.
//
// The Service reports calibrated scores in Match.Similarity. An embedder
// that does not implement Calibrator gets the shipped map of its model
// (see CalibrationFor) or, without one, the identity: its raw cosine.
type Calibrator interface {
	Calibrate(cosine float64) float64
}

// PiecewiseLinear is a monotone piecewise-linear Calibrator through knots
// (Raw[i], Score[i]); raw values outside the knots take the end scores.
type PiecewiseLinear struct {
	raw, score []float64
}

var _ Calibrator = PiecewiseLinear{}

// NewPiecewiseLinear returns the map through the knots (raw[i], score[i]).
// It reports ErrInvalid unless there are at least two knots, raw is
// strictly increasing, score is non-decreasing and every value is finite.
func NewPiecewiseLinear(raw, score []float64) (PiecewiseLinear, error) {
	if len(raw) < 2 || len(raw) != len(score) {
		return PiecewiseLinear{}, fmt.Errorf("%w: calibration needs two or more knots, got %d raw and %d scores",
			ErrInvalid, len(raw), len(score))
	}
	for i := range raw {
		if math.IsNaN(raw[i]) || math.IsInf(raw[i], 0) || math.IsNaN(score[i]) || math.IsInf(score[i], 0) {
			return PiecewiseLinear{}, fmt.Errorf("%w: calibration knot %d is not finite", ErrInvalid, i)
		}
		if i > 0 && (raw[i] <= raw[i-1] || score[i] < score[i-1]) {
			return PiecewiseLinear{}, fmt.Errorf("%w: calibration knots not increasing at %d", ErrInvalid, i)
		}
	}
	return PiecewiseLinear{raw: append([]float64(nil), raw...), score: append([]float64(nil), score...)}, nil
}

// Calibrate implements Calibrator by linear interpolation between knots.
func (p PiecewiseLinear) Calibrate(cosine float64) float64 {
	n := len(p.raw)
	switch {
	case n == 0 || math.IsNaN(cosine):
		return cosine
	case cosine <= p.raw[0]:
		return p.score[0]
	case cosine >= p.raw[n-1]:
		return p.score[n-1]
	}
	i := sort.SearchFloat64s(p.raw, cosine) // p.raw[i-1] < cosine <= p.raw[i]
	t := (cosine - p.raw[i-1]) / (p.raw[i] - p.raw[i-1])
	return p.score[i-1] + t*(p.score[i]-p.score[i-1])
}

// Calibration targets: the score of the median unrelated pair and of the
// median same-problem pair of testdata/specs.json.
const (
	CalibratedUnrelated = 0.2
	CalibratedSame      = 0.8
)

// medianCalibration is the map of an embedder whose median unrelated pair
// has cosine unrelated and whose median same-problem pair has cosine same:
// knots (-1, 0), (unrelated, 0.2), (same, 0.8), (1, 1). It needs
// -1 < unrelated < same < 1, as every shipped pair has.
func medianCalibration(unrelated, same float64) PiecewiseLinear {
	return PiecewiseLinear{raw: []float64{-1, unrelated, same, 1}, score: []float64{0, CalibratedUnrelated, CalibratedSame, 1}}
}

// shippedCalibrations holds, by model name, the medians of pair cosines
// measured on testdata/specs.json (unrelated, same problem): see
// docs/similarity.md, TestCalibrationBuiltin and TestCalibrationNeural.
// Nothing here is fitted on testdata/heldout.json.
func shippedCalibrations() map[string][2]float64 {
	return map[string][2]float64{
		"all-MiniLM-L6-v2":                   {0.266, 0.485},
		"maestro-static-minilm-l6-v2-256-v1": {0.849, 0.900},
		"maestro-hashing-v1-2048":            {0.080, 0.153},
	}
}

// identity is the fallback Calibrator: the raw cosine.
type identity struct{}

func (identity) Calibrate(cosine float64) float64 { return cosine }

// CalibrationFor returns the Calibrator of emb's scores: emb itself when it
// implements Calibrator; else the map shipped for its model, for
// all-MiniLM-L6-v2 (the neural server's model, under that name),
// maestro-static-minilm-l6-v2-256-v1 (staticembed) and
// maestro-hashing-v1-2048 (the default HashingEmbedder); else the identity.
func CalibrationFor(emb Embedder) Calibrator {
	if c, ok := emb.(Calibrator); ok {
		return c
	}
	if m, ok := shippedCalibrations()[emb.Model()]; ok {
		return medianCalibration(m[0], m[1])
	}
	return identity{}
}

// calibrated replaces the raw cosines of ms by the embedder's calibrated
// scores, clamped to [-1, 1].
func (s *Service) calibrated(ms []Match) []Match {
	c := CalibrationFor(s.emb)
	for i := range ms {
		ms[i].Similarity = math.Max(-1, math.Min(1, c.Calibrate(ms[i].Similarity)))
	}
	return ms
}
