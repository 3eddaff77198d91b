package similarity_test

import (
	"fmt"

	"github.com/maestro-ml/maestro/similarity"
)

// The default hashing embedder's raw cosines are low even for specs of one
// problem; its shipped calibration puts them on the common scale.
func ExampleCalibrationFor() {
	h, err := similarity.NewHashingEmbedder(0)
	if err != nil {
		panic(err)
	}
	c := similarity.CalibrationFor(h)
	for _, raw := range []float64{0.08, 0.153, 1} {
		fmt.Printf("raw %.3f -> %.2f\n", raw, c.Calibrate(raw))
	}
	// Output:
	// raw 0.080 -> 0.20
	// raw 0.153 -> 0.80
	// raw 1.000 -> 1.00
}

// A custom map for an embedder the library does not know: implement
// Calibrator on the embedder, or build one from measured knots.
func ExampleNewPiecewiseLinear() {
	c, err := similarity.NewPiecewiseLinear([]float64{-1, 0.3, 0.6, 1}, []float64{0, 0.2, 0.8, 1})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.2f %.2f %.2f\n", c.Calibrate(0.3), c.Calibrate(0.45), c.Calibrate(0.8))
	// Output: 0.20 0.50 0.90
}
