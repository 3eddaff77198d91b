package similarity

import (
	"fmt"
	"runtime"
	"sync"
)

// VectorIndex is an exact in-memory nearest-neighbour index over unit
// vectors of one dimension: the structure a Service keeps per tenant,
// exported for hosts that hold vectors themselves. Vectors are stored row
// after row in one contiguous float32 slice; Search scans all of them with
// dot products, keeps the best k in a bounded heap and splits large
// indexes across goroutines.
//
// A VectorIndex is safe for concurrent use: searches run in parallel,
// writes exclude them.
type VectorIndex struct {
	mu      sync.RWMutex
	m       *matrix
	workers int
}

// NewVectorIndex returns an empty index of dims-long vectors. It reports
// ErrInvalid for a non-positive dimension.
func NewVectorIndex(dims int) (*VectorIndex, error) {
	if dims <= 0 {
		return nil, fmt.Errorf("%w: dimensions %d", ErrInvalid, dims)
	}
	return &VectorIndex{m: newMatrix(dims), workers: runtime.GOMAXPROCS(0)}, nil
}

// Dimensions reports the length of the index's vectors.
func (x *VectorIndex) Dimensions() int { return x.m.dims }

// Len reports how many vectors the index holds.
func (x *VectorIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.m.len()
}

// Add stores (or replaces) the vector of id, normalised to unit length, with
// a display name. It reports a *DimensionError for a vector of another
// length and ErrInvalid for an empty id or an unusable (zero or
// non-finite) vector.
func (x *VectorIndex) Add(id, name string, v []float32) error {
	if id == "" {
		return fmt.Errorf("%w: empty id", ErrInvalid)
	}
	if len(v) != x.m.dims {
		return &DimensionError{Want: x.m.dims, Got: len(v)}
	}
	n, err := normalized(v)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.m.upsert(id, name, n)
	return nil
}

// Remove deletes the vector of id, if present.
func (x *VectorIndex) Remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.m.remove(id)
}

// Search returns up to k entries most similar to q by cosine similarity,
// best first (ties in insertion order), leaving out the entry whose id is
// exclude (pass "" to keep all). q need not be normalised. It reports a
// *DimensionError for a query of another length and ErrInvalid
// for k < 1 or a zero or non-finite query.
func (x *VectorIndex) Search(q []float32, k int, exclude string) ([]Match, error) {
	if k < 1 {
		return nil, fmt.Errorf("%w: k=%d", ErrInvalid, k)
	}
	if len(q) != x.m.dims {
		return nil, &DimensionError{Want: x.m.dims, Got: len(q)}
	}
	n, err := normalized(q)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.m.matches(x.m.search(n, k, exclude, x.workers)), nil
}
