package similaritybench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/tenancy"
)

// TestServiceAtScale measures a similarity.Service on SQLite with one
// tenant of n stored 384-dimension vectors: the time of the first search
// (which loads the tenant), the heap the loaded index takes, what the
// budget accounts for, and the median latency of a search once loaded.
// With the default budget, a tenant beyond it is refused with a
// *similarity.MemoryError before its vectors are read; the test then
// measures it again under a budget that fits. It runs only when
// MAESTRO_SIMILARITY_SCALE lists the sizes, for example:
//
//	MAESTRO_SIMILARITY_SCALE=100000,1000000 go test -run TestServiceAtScale -v -timeout 60m
func TestServiceAtScale(t *testing.T) {
	sizes := os.Getenv("MAESTRO_SIMILARITY_SCALE")
	if sizes == "" {
		t.Skip("set MAESTRO_SIMILARITY_SCALE=100000,1000000 to measure")
	}
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			t.Fatalf("MAESTRO_SIMILARITY_SCALE: %q", f)
		}
		t.Run(strconv.Itoa(n), func(t *testing.T) { measureScale(t, n) })
	}
}

func measureScale(t *testing.T, n int) {
	db, err := gorm.Open(sqlite.Open(filepath.Join(t.TempDir(), "scale.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)"),
		&gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := similarity.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	fill(t, db, n)
	t.Logf("n=%d: stored in %.1fs", n, time.Since(began).Seconds())

	r := rand.New(rand.NewPCG(7, 7))
	emb, err := similarity.NewFuncEmbedder("bench-384", dims, func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i := range texts {
			out[i] = randomUnit(r)
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tctx := tenancy.WithTenant(ctx, "scale")
	need := int64(n) * similarity.VectorBytes(dims, len("p-0000000")+len("project 0000000"))
	if need > similarity.DefaultMemoryBudget {
		s, err := similarity.NewService(db, emb)
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		_, err = s.SimilarText(tctx, "query", topK)
		var me *similarity.MemoryError
		if !errors.As(err, &me) {
			t.Fatalf("n=%d beyond the default budget: %v, want a *MemoryError", n, err)
		}
		t.Logf("n=%d, default budget %d MiB: refused in %s before reading a vector: %v",
			n, similarity.DefaultMemoryBudget>>20, time.Since(began).Round(time.Millisecond), err)
	}
	budget := max(similarity.DefaultMemoryBudget, need+need/8)
	s, err := similarity.NewService(db, emb, similarity.WithMemoryBudget(budget))
	if err != nil {
		t.Fatal(err)
	}
	before := heap()
	began = time.Now()
	if _, err := s.SimilarText(tctx, "query", topK); err != nil {
		t.Fatal(err)
	}
	load := time.Since(began)
	inUse := heap() - before
	st := s.CacheStats()
	lat := make([]time.Duration, 0, 21)
	for range cap(lat) {
		began := time.Now()
		if _, err := s.SimilarText(tctx, "query", topK); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(began))
	}
	slices.Sort(lat)
	t.Logf("n=%d, budget %d MiB: first search (load) %.2fs; heap of the index %.0f MiB (%.0f bytes/vector); accounted %.0f MiB (%d bytes/vector); search p50 %.1f ms, max %.1f ms; GOMAXPROCS %d",
		n, budget>>20, load.Seconds(), float64(inUse)/(1<<20), float64(inUse)/float64(n), float64(st.Bytes)/(1<<20),
		st.Bytes/int64(n), float64(lat[len(lat)/2].Microseconds())/1000, float64(lat[len(lat)-1].Microseconds())/1000, runtime.GOMAXPROCS(0))
	if st.Bytes > budget || st.Vectors != n {
		t.Errorf("stats %+v", st)
	}
	runtime.KeepAlive(s)
}

// heap returns the live heap after a collection.
func heap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc) // #nosec G115 -- a heap size fits int64
}

// fill stores n random unit vectors for tenant "scale", in transactions of
// 2,000 rows.
func fill(t *testing.T, db *gorm.DB, n int) {
	r := rand.New(rand.NewPCG(42, uint64(n))) // #nosec G115 -- n is positive
	const batch = 2000
	now := time.Now().UTC()
	for start := 0; start < n; start += batch {
		rows := make([]similarity.ProjectEmbedding, 0, batch)
		for i := start; i < min(start+batch, n); i++ {
			v := randomUnit(r)
			b := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
			}
			rows = append(rows, similarity.ProjectEmbedding{
				Model: tenancy.Model{TenantID: "scale"}, ProjectID: fmt.Sprintf("p-%07d", i),
				Name: fmt.Sprintf("project %07d", i), Text: "t", SpecJSON: "{}", EmbedModel: "bench-384",
				Dimensions: dims, ContentHash: "h", Vector: b, UpdatedAt: now,
			})
		}
		if err := db.CreateInBatches(rows, 200).Error; err != nil {
			t.Fatal(err)
		}
	}
}
