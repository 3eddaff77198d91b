//go:build !amd64 || purego

package minilm

// linearFast reports that no assembly kernel exists here: linear uses
// gonum's BLAS.
func linearFast(_, _ []float32, _, _ int, _, _ []float32) bool { return false }

// gemmNTFast reports that no assembly kernel exists here.
func gemmNTFast(_, _, _ int, _ float32, _ []float32, _ int, _ []float32, _ int, _, _ []float32, _ int) bool {
	return false
}
