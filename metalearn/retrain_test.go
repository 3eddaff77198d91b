package metalearn

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/tenancy"
)

// memoryRepo is an in-memory ModelRepository that records the maximum
// number of concurrent saves per tenant.
type memoryRepo struct {
	mu     sync.Mutex
	models map[string][]ModelInfo
}

func (r *memoryRepo) LatestInfo(ctx context.Context) (ModelInfo, error) {
	tenant, _ := tenancy.TenantFrom(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.models[tenant]
	if len(l) == 0 {
		return ModelInfo{}, ErrNoModel
	}
	return l[len(l)-1], nil
}

func (r *memoryRepo) Save(ctx context.Context, m *Model) (ModelInfo, error) {
	tenant, _ := tenancy.TenantFrom(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.models == nil {
		r.models = map[string][]ModelInfo{}
	}
	info := ModelInfo{Version: len(r.models[tenant]) + 1, Summary: m.Summary()}
	r.models[tenant] = append(r.models[tenant], info)
	return info, nil
}

// countingHistory serves a growing history and counts concurrent calls.
type countingHistory struct {
	mu       sync.Mutex
	records  []Record
	active   atomic.Int32
	maxSeen  atomic.Int32
	calls    atomic.Int32
	delay    time.Duration
	failWith error
}

func (h *countingHistory) History(ctx context.Context) ([]Record, error) {
	n := h.active.Add(1)
	defer h.active.Add(-1)
	for {
		m := h.maxSeen.Load()
		if n <= m || h.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	h.calls.Add(1)
	time.Sleep(h.delay)
	if h.failWith != nil {
		return nil, h.failWith
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Record(nil), h.records...), nil
}

func retrainOpts() []Option {
	return []Option{WithKinds(KindRidge), WithFolds(3), WithMinHistory(20), WithClock(fixedClock())}
}

func TestRetrainerPolicy(t *testing.T) {
	t.Parallel()
	all := synthHistory(60, 3)
	h := &countingHistory{records: all[:10]}
	repo := &memoryRepo{}
	rt := NewRetrainer(h, repo, WithMinNewOutcomes(5), WithTrainOptions(retrainOpts()...))
	ctx := tenancy.WithTenant(context.Background(), "t1")

	if _, trained, err := rt.MaybeRetrain(ctx); err != nil || trained {
		t.Fatalf("10 records: trained %v, %v; want no training", trained, err)
	}
	_, err := rt.Train(ctx)
	var ih *InsufficientHistoryError
	if !errors.As(err, &ih) || ih.Need != 20 || ih.Have != 10 || !strings.Contains(err.Error(), "at least 20") {
		t.Fatalf("Train with 10 records: %v", err)
	}
	h.records = all[:25]
	info, trained, err := rt.MaybeRetrain(ctx)
	if err != nil || !trained || info.Version != 1 || info.NProjects != 25 {
		t.Fatalf("first model: %+v %v %v", info, trained, err)
	}
	h.records = all[:29]
	if info, trained, _ = rt.MaybeRetrain(ctx); trained || info.Version != 1 {
		t.Fatalf("4 new outcomes trained (%+v)", info)
	}
	if n := NewOutcomes(h.records, info); n != 4 {
		t.Fatalf("NewOutcomes = %d, want 4", n)
	}
	h.records = all[:30]
	if info, trained, _ = rt.MaybeRetrain(ctx); !trained || info.Version != 2 {
		t.Fatalf("5 new outcomes did not train (%+v)", info)
	}
	if _, _, err := rt.MaybeRetrain(context.Background()); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Fatalf("no tenant: %v", err)
	}
	if _, err := rt.Train(context.Background()); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Fatalf("no tenant: %v", err)
	}
	h.failWith = errors.New("db down")
	if _, _, err := rt.MaybeRetrain(ctx); !errors.Is(err, h.failWith) {
		t.Fatalf("history failure: %v", err)
	}
}

func TestRetrainerOneTrainingPerTenant(t *testing.T) {
	t.Parallel()
	h := &countingHistory{records: synthHistory(30, 4), delay: 20 * time.Millisecond}
	repo := &memoryRepo{}
	rt := NewRetrainer(h, repo, WithTrainOptions(retrainOpts()...))
	ctx := tenancy.WithTenant(context.Background(), "t1")
	var wg sync.WaitGroup
	versions := make([]int, 8)
	for i := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			info, err := rt.Train(ctx)
			if err != nil {
				t.Error(err)
			}
			versions[i] = info.Version
		}()
	}
	wg.Wait()
	if got := h.maxSeen.Load(); got != 1 {
		t.Fatalf("%d trainings of one tenant ran at once", got)
	}
	saved := len(repo.models["t1"])
	if saved >= len(versions) {
		t.Fatalf("%d concurrent Train calls made %d trainings; joined calls must share one", len(versions), saved)
	}
	// Other tenants are not blocked by t1 and get their own models.
	other := tenancy.WithTenant(context.Background(), "t2")
	if info, err := rt.Train(other); err != nil || info.Version != 1 {
		t.Fatalf("tenant t2: %+v %v", info, err)
	}
	// A caller whose context ends while waiting gets its context's error.
	h.delay = 200 * time.Millisecond
	done := make(chan struct{})
	go func() { defer close(done); _, _ = rt.Train(ctx) }()
	time.Sleep(50 * time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := rt.Train(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting caller: %v", err)
	}
	if _, trained, err := rt.MaybeRetrain(ctx); trained || err != nil {
		t.Fatalf("MaybeRetrain during a training: %v %v", trained, err)
	}
	<-done
}

func TestNewOutcomes(t *testing.T) {
	t.Parallel()
	hist := synthHistory(10, 1) // completed one hour apart
	last := ModelInfo{Summary: Summary{NProjects: 6, DataThrough: hist[5].CompletedAt}}
	if n := NewOutcomes(hist, last); n != 4 {
		t.Fatalf("%d new, want 4", n)
	}
	// An outcome re-recorded later counts as new even when the history did
	// not grow.
	again := append([]Record(nil), hist[:6]...)
	again[0].CompletedAt = hist[9].CompletedAt.Add(time.Hour)
	if n := NewOutcomes(again, last); n != 1 {
		t.Fatalf("%d new, want 1", n)
	}
	// Without completion times only growth counts.
	if n := NewOutcomes(hist, ModelInfo{Summary: Summary{NProjects: 7}}); n != 3 {
		t.Fatalf("%d new, want 3", n)
	}
}
