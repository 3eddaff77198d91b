package similarity

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func randomUnit(r *rand.Rand, dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	n, _ := normalized(v)
	return n
}

func randomMatrix(n, dims int, seed uint64) *matrix {
	r := rand.New(rand.NewPCG(seed, 1))
	m := newMatrix(dims)
	for i := range n {
		m.upsert(fmt.Sprint("p", i), fmt.Sprint("name", i), randomUnit(r, dims))
	}
	return m
}

// bruteForce ranks every row by score, best first, ties by row.
func bruteForce(m *matrix, q []float32, k int, exclude string) []scored {
	var all []scored
	for i := range m.len() {
		if m.ids[i] != exclude {
			all = append(all, scored{i, dot(q, m.row(i))})
		}
	}
	slices.SortFunc(all, func(a, b scored) int {
		if worse(a, b) {
			return 1
		}
		if worse(b, a) {
			return -1
		}
		return 0
	})
	return all[:min(k, len(all))]
}

func TestMatrixSearchMatchesBruteForce(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 5, 100, parallelMinRows + 7} {
		m := randomMatrix(n, 16, uint64(n))
		r := rand.New(rand.NewPCG(99, 2))
		q := randomUnit(r, 16)
		for _, k := range []int{1, 3, 50} {
			for _, workers := range []int{1, 4} {
				got := m.search(q, k, "p0", workers)
				want := bruteForce(m, q, k, "p0")
				if n == 0 {
					want = nil
				}
				if !slices.Equal(got, want) {
					t.Fatalf("n=%d k=%d workers=%d: got %v want %v", n, k, workers, got, want)
				}
			}
		}
	}
}

func TestMatrixUpsertRemove(t *testing.T) {
	t.Parallel()
	m := newMatrix(2)
	m.upsert("a", "A", []float32{1, 0})
	m.upsert("b", "B", []float32{0, 1})
	m.upsert("c", "C", []float32{0.6, 0.8})
	m.upsert("a", "A2", []float32{0.8, 0.6}) // update in place
	if m.len() != 3 || m.names[0] != "A2" || m.row(0)[0] != 0.8 {
		t.Fatalf("after update: %+v", m)
	}
	m.remove("a")
	m.remove("zzz")
	if m.len() != 2 || m.pos["c"] != 0 || m.ids[0] != "c" || m.row(0)[1] != 0.8 || len(m.vecs) != 4 {
		t.Fatalf("after remove: %+v", m)
	}
	if _, ok := m.pos["a"]; ok {
		t.Fatal("removed id still indexed")
	}
	got := m.matches(m.search([]float32{0, 1}, 5, "", 1))
	if ids(got) != "b,c" || got[0].Similarity != 1 {
		t.Errorf("search after remove: %+v", got)
	}
	m.remove("c")
	m.remove("b")
	if m.len() != 0 || len(m.vecs) != 0 || m.search([]float32{0, 1}, 1, "", 1) != nil {
		t.Errorf("empty matrix: %+v", m)
	}
}

func TestVectorEncoding(t *testing.T) {
	t.Parallel()
	v := []float32{1.5, -2, 0, 3.25e-7}
	b := encodeVector(v)
	got := make([]float32, 4)
	if err := decodeVector(got, b); err != nil || !slices.Equal(got, v) {
		t.Fatalf("round trip %v, %v", got, err)
	}
	if err := decodeVector(got, b[:15]); err == nil {
		t.Error("short vector accepted")
	}
}

func TestVectorIndex(t *testing.T) {
	t.Parallel()
	if _, err := NewVectorIndex(0); err == nil {
		t.Fatal("zero dimensions accepted")
	}
	x, err := NewVectorIndex(2)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		id string
		v  []float32
	}{{"a", []float32{3, 0}}, {"b", []float32{0, 2}}, {"c", []float32{1, 1}}} {
		if err := x.Add(e.id, "n"+e.id, e.v); err != nil {
			t.Fatal(err)
		}
	}
	got, err := x.Search([]float32{2, 0.1}, 2, "")
	if err != nil || ids(got) != "a,c" || got[0].Name != "na" {
		t.Fatalf("Search = %+v, %v", got, err)
	}
	if got, _ := x.Search([]float32{2, 0.1}, 5, "a"); ids(got) != "c,b" {
		t.Errorf("Search excluding a = %v", ids(got))
	}
	x.Remove("c")
	if x.Len() != 2 || x.Dimensions() != 2 {
		t.Errorf("len %d dims %d", x.Len(), x.Dimensions())
	}
	for name, err := range map[string]error{
		"dims":       x.Add("d", "", []float32{1}),
		"empty id":   x.Add("", "", []float32{1, 0}),
		"zero":       x.Add("z", "", []float32{0, 0}),
		"query k":    second(x.Search([]float32{1, 0}, 0, "")),
		"query dims": second(x.Search([]float32{1}, 1, "")),
		"query zero": second(x.Search([]float32{0, 0}, 1, "")),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
