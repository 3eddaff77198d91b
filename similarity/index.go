package similarity

import (
	"cmp"
	"container/heap"
	"slices"
	"sync"
)

// matrix is the in-memory search index of one tenant: every stored vector,
// unit length, row after row in one contiguous slice. It is not safe for
// concurrent use; its owner (tenantIndex) guards it.
type matrix struct {
	dims  int
	ids   []string
	names []string
	vecs  []float32
	pos   map[string]int
	text  int64 // bytes of every id and name held
}

// RowOverheadBytes is what the in-memory index accounts per vector besides
// its float32 values and the bytes of its project id and name: the two
// string headers (16 bytes each) and the entry of the id in the position
// map (about 48 bytes with the map's own share).
const RowOverheadBytes = 80

// matrixOverheadBytes is what the index accounts per tenant besides its
// rows: the matrix and its bookkeeping.
const matrixOverheadBytes = 256

// VectorBytes returns the bytes the in-memory index accounts for one
// vector of dims dimensions whose project id and name have textBytes bytes
// together: 4 × dims + textBytes + RowOverheadBytes. A Service's memory
// budget (WithMemoryBudget) counts these.
func VectorBytes(dims, textBytes int) int64 {
	return 4*int64(dims) + int64(textBytes) + RowOverheadBytes
}

func newMatrix(dims int) *matrix { return &matrix{dims: dims, pos: map[string]int{}} }

// bytes returns the memory the matrix accounts for: every row by
// VectorBytes and the matrix's own overhead. A nil matrix (a tenant with
// no vectors) accounts only the overhead.
func (m *matrix) bytes() int64 {
	if m == nil {
		return matrixOverheadBytes
	}
	return int64(len(m.ids))*(4*int64(m.dims)+RowOverheadBytes) + m.text + matrixOverheadBytes
}

func (m *matrix) len() int { return len(m.ids) }

// dimsOrZero returns the matrix's dimension, 0 for a nil matrix.
func (m *matrix) dimsOrZero() int {
	if m == nil {
		return 0
	}
	return m.dims
}

func (m *matrix) row(i int) []float32 { return m.vecs[i*m.dims : (i+1)*m.dims : (i+1)*m.dims] }

// upsert sets the vector and name of id. v must have m.dims values.
func (m *matrix) upsert(id, name string, v []float32) {
	if i, ok := m.pos[id]; ok {
		copy(m.row(i), v)
		m.text += int64(len(name) - len(m.names[i]))
		m.names[i] = name
		return
	}
	m.text += int64(len(id) + len(name))
	m.pos[id] = len(m.ids)
	m.ids = append(m.ids, id)
	m.names = append(m.names, name)
	m.vecs = append(m.vecs, v...)
}

// remove deletes id by moving the last row into its place.
func (m *matrix) remove(id string) {
	i, ok := m.pos[id]
	if !ok {
		return
	}
	m.text -= int64(len(id) + len(m.names[i]))
	last := len(m.ids) - 1
	if i != last {
		copy(m.row(i), m.row(last))
		m.ids[i], m.names[i] = m.ids[last], m.names[last]
		m.pos[m.ids[i]] = i
	}
	m.ids, m.names = m.ids[:last], m.names[:last]
	m.vecs = m.vecs[:last*m.dims]
	delete(m.pos, id)
}

// scored is one search candidate: a row and its cosine similarity.
type scored struct {
	row   int
	score float32
}

// worse orders candidates: lower score first, then the later row, so
// results are deterministic among ties.
func worse(a, b scored) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.row > b.row
}

// topK is a bounded min-heap holding the k best candidates seen.
type topK struct {
	k     int
	items []scored
}

// Len, Less, Swap, Push and Pop implement heap.Interface: a min-heap whose
// root is the worst candidate kept.
func (h *topK) Len() int           { return len(h.items) }
func (h *topK) Less(i, j int) bool { return worse(h.items[i], h.items[j]) }
func (h *topK) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *topK) Push(x any)         { h.items = append(h.items, x.(scored)) }
func (h *topK) Pop() any {
	n := len(h.items) - 1
	x := h.items[n]
	h.items = h.items[:n]
	return x
}

// offer considers a candidate.
func (h *topK) offer(c scored) {
	if len(h.items) < h.k {
		heap.Push(h, c)
		return
	}
	if worse(h.items[0], c) {
		h.items[0] = c
		heap.Fix(h, 0)
	}
}

// parallelMinRows is the matrix size from which a search is split across
// goroutines; below it the coordination costs more than it saves.
const parallelMinRows = 16384

// search returns the k rows most similar to the unit vector q, best first,
// skipping the row of exclude (if any). It scans every row (exact search),
// split across up to workers goroutines for large matrices.
func (m *matrix) search(q []float32, k int, exclude string, workers int) []scored {
	n := m.len()
	if k <= 0 || n == 0 {
		return nil
	}
	skip := -1
	if i, ok := m.pos[exclude]; ok && exclude != "" {
		skip = i
	}
	parts := 1
	if n >= parallelMinRows && workers > 1 {
		parts = min(workers, n/(parallelMinRows/4))
	}
	results := make([]topK, parts)
	scan := func(p int) {
		h := &results[p]
		h.k = k
		h.items = make([]scored, 0, k+1)
		lo, hi := p*n/parts, (p+1)*n/parts
		d := m.dims
		for i := lo; i < hi; i++ {
			if i == skip {
				continue
			}
			h.offer(scored{row: i, score: dot(q, m.vecs[i*d:(i+1)*d])})
		}
	}
	if parts == 1 {
		scan(0)
	} else {
		var wg sync.WaitGroup
		for p := range parts {
			wg.Add(1)
			go func() { defer wg.Done(); scan(p) }()
		}
		wg.Wait()
	}
	all := results[0].items
	for _, r := range results[1:] {
		all = append(all, r.items...)
	}
	slices.SortFunc(all, func(a, b scored) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Compare(a.row, b.row)
	})
	if len(all) > k {
		all = all[:k]
	}
	return all
}
