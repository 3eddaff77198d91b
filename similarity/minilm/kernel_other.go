//go:build !amd64 || purego

package minilm

// linearFast reports that no assembly kernel exists here: linear uses
// gonum's BLAS.
func linearFast(_, _ []float32, _, _ int, _, _ []float32) bool { return false }
