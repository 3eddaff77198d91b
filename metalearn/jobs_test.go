package metalearn

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// gatedHistory serves records after its gate opens (or at once when the
// gate is nil), so a test can hold a job in "running".
type gatedHistory struct {
	records []Record
	gate    chan struct{}
}

func (h *gatedHistory) History(ctx context.Context) ([]Record, error) {
	if h.gate != nil {
		select {
		case <-h.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.records, nil
}

// jobClock is a settable clock shared by the "processes" of a test.
type jobClock struct{ ns atomic.Int64 }

func newJobClock() *jobClock {
	c := &jobClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *jobClock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *jobClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func (c *jobClock) opt() JobsOption     { return WithJobsClock(c.now) }
func waitJob(t *testing.T, j *Jobs, ctx context.Context, id string) Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	job, err := j.wait(ctx, id)
	if err != nil {
		t.Fatalf("wait for job %s: %v", id, err)
	}
	return job
}

// sqliteImmediate opens SQLite as the platform does, with transactions
// that take the write lock when they begin: jobs write heartbeats while a
// model is saved, and a deferred transaction's lock upgrade would fail
// instead of waiting.
func sqliteImmediate(tb testing.TB) *gorm.DB {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "jobs.db")
	db, err := gorm.Open(sqlite.Open(path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"),
		&gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
	if err != nil {
		tb.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

func TestJobs(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		if name == "sqlite" {
			open = sqliteImmediate
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := testDB(t, open)
			ctx := tenancy.WithTenant(context.Background(), "tenant-a")
			clock := newJobClock()
			mkc := func(owner string, h HistorySource, clock *jobClock) (*Jobs, *Retrainer, *Store) {
				var mu sync.Mutex
				seen := map[string][]float64{}
				j, err := NewJobs(db, WithJobTiming(20*time.Millisecond, time.Second), clock.opt(), WithJobOwner(owner),
					WithJobObserver(func(tenant string, job Job) {
						mu.Lock()
						defer mu.Unlock()
						if tenant != "tenant-a" {
							t.Errorf("observer tenant %q", tenant)
						}
						s := seen[job.ID]
						if n := len(s); n > 0 && job.Progress < s[n-1] {
							t.Errorf("job %s: progress went back: %v after %v", job.ID, job.Progress, s)
						}
						seen[job.ID] = append(s, job.Progress)
					}))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = j.Close() })
				st := NewStore(db)
				return j, NewRetrainer(h, st, WithJobs(j), WithTrainOptions(retrainOpts()...)), st
			}
			mk := func(owner string, h HistorySource) (*Jobs, *Retrainer, *Store) { return mkc(owner, h, clock) }

			// Two processes, one tenant: concurrent starts make one job.
			gate := make(chan struct{})
			hist := &gatedHistory{records: synthHistory(30, 4), gate: gate}
			ja, ra, st := mk("a", hist)
			jb, rb, _ := mk("b", hist)
			var wg sync.WaitGroup
			jobs := make([]Job, 8)
			started := make([]bool, 8)
			for i := range jobs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := ra
					if i%2 == 1 {
						r = rb
					}
					var err error
					if jobs[i], started[i], err = r.Start(ctx); err != nil {
						t.Errorf("start %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			n := 0
			for i := range jobs {
				if started[i] {
					n++
				}
				if jobs[i].ID != jobs[0].ID || !jobs[i].Status.Active() {
					t.Fatalf("start %d gave job %+v, want the one active job %s", i, jobs[i], jobs[0].ID)
				}
			}
			if n != 1 {
				t.Fatalf("%d starts started a job, want exactly 1", n)
			}
			if _, err := ja.Get(tenancy.WithTenant(context.Background(), "tenant-b"), jobs[0].ID); !errors.Is(err, ErrNoJob) {
				t.Fatalf("another tenant reads the job: %v, want ErrNoJob", err)
			}
			// MaybeRetrain stands aside while a job is active.
			if _, trained, err := rb.MaybeRetrain(ctx); err != nil || trained {
				t.Fatalf("MaybeRetrain during a job: trained %v, %v", trained, err)
			}
			close(gate)
			done := waitJob(t, jb, ctx, jobs[0].ID)
			if done.Status != JobSucceeded || done.Progress != 1 || done.Model == nil || done.Model.Version != 1 || done.FinishedAt == nil {
				t.Fatalf("finished job %+v, want succeeded with model version 1", done)
			}
			if info, err := st.LatestInfo(ctx); err != nil || info.ID != done.Model.ID {
				t.Fatalf("latest model %+v, %v; want the job's %s", info, err, done.Model.ID)
			}

			// Train (synchronous) runs as a job too.
			hist.gate = nil
			info, err := rb.Train(ctx)
			if err != nil || info.Version != 2 {
				t.Fatalf("Train: version %d, %v; want 2", info.Version, err)
			}

			// A process that dies with its job leaves it to expire: the next
			// look marks it failed, and a new job can start.
			row, claimed, err := ja.claim(ctx, triggerManual)
			if err != nil || !claimed {
				t.Fatalf("claim: %v, %v", claimed, err)
			}
			if got, _ := jb.Get(ctx, row.ID); got.Status != JobQueued {
				t.Fatalf("fresh job %+v, want queued", got)
			}
			clock.add(2 * time.Second)
			got, err := jb.Get(ctx, row.ID)
			if err != nil || got.Status != JobFailed || !strings.Contains(got.Error, "abandoned") {
				t.Fatalf("expired job %+v, %v; want failed as abandoned", got, err)
			}
			next, started2, err := rb.Start(ctx)
			if err != nil || !started2 || next.ID == row.ID {
				t.Fatalf("start after expiry: %+v %v %v", next, started2, err)
			}
			if done := waitJob(t, jb, ctx, next.ID); done.Status != JobSucceeded {
				t.Fatalf("job after expiry %+v", done)
			}

			// A running job whose row was expired by another process loses it:
			// its training is cancelled and the job stays failed.
			gate2 := make(chan struct{})
			defer close(gate2)
			slow := &gatedHistory{records: synthHistory(30, 4), gate: gate2}
			// Process c's clock lags two seconds behind the others': to them its
			// heartbeats are older than the expiry, as after a long pause.
			jc, rc, _ := mkc("c", slow, newJobClock())
			lostJob, ok, err := rc.Start(ctx)
			if err != nil || !ok {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				if g, _ := jc.Get(ctx, lostJob.ID); g.Status == JobRunning {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("job never ran")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if g, _ := jb.Get(ctx, lostJob.ID); g.Status != JobFailed {
				t.Fatalf("expired running job %+v, want failed", g)
			}
			closed := make(chan struct{})
			go func() { _ = jc.Close(); close(closed) }() // returns once the lost job's goroutine ended
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("the lost job's training was not cancelled")
			}
			if g, _ := jb.Get(ctx, lostJob.ID); g.Status != JobFailed || !strings.Contains(g.Error, "abandoned") {
				t.Fatalf("lost job rewritten: %+v", g)
			}
			if _, _, err := rc.Start(ctx); err == nil {
				t.Fatal("Start after Close succeeded")
			}
			if g, ok, _ := jb.Active(ctx); ok {
				t.Fatalf("a job stayed active after a failed start: %+v", g)
			}

			// Closing a process fails its running jobs, never leaves them active.
			gate3 := make(chan struct{})
			defer close(gate3)
			jd, rd, _ := mk("d", &gatedHistory{records: synthHistory(30, 4), gate: gate3})
			dj, _, err := rd.Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_ = jd.Close()
			if g, _ := jb.Get(ctx, dj.ID); g.Status != JobFailed || !strings.Contains(g.Error, "shut down") {
				t.Fatalf("job of a closed process %+v, want failed with a reason", g)
			}

			// Too short a history fails the job with the reason.
			_, rs, _ := mk("e", &gatedHistory{records: synthHistory(5, 4)})
			sj, _, err := rs.Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if g := waitJob(t, jb, ctx, sj.ID); g.Status != JobFailed || !strings.Contains(g.Error, "insufficient history") {
				t.Fatalf("short-history job %+v", g)
			}
			if _, err := jb.Get(ctx, "not-a-uuid"); !errors.Is(err, ErrNoJob) {
				t.Fatalf("Get of a malformed id: %v", err)
			}
			if _, err := jb.Get(context.Background(), sj.ID); !errors.Is(err, tenancy.ErrNoTenant) {
				t.Fatalf("Get without tenant: %v", err)
			}
		})
	}
}

func TestJobsOptions(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]JobsOption{
		"zero heartbeat": WithJobTiming(0, time.Second),
		"short expiry":   WithJobTiming(time.Second, 2*time.Second),
		"nil clock":      WithJobsClock(nil),
		"nil logger":     WithJobsLogger(nil),
		"nil observer":   WithJobObserver(nil),
		"empty owner":    WithJobOwner(""),
		"long owner":     WithJobOwner(strings.Repeat("x", 65)),
	} {
		if _, err := NewJobs(testenv.SQLite(t), opt); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := NewJobs(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil db: %v", err)
	}
	r := NewRetrainer(&gatedHistory{}, &memoryRepo{})
	if _, _, err := r.Start(tenancy.WithTenant(context.Background(), "t")); !errors.Is(err, ErrInvalid) {
		t.Errorf("Start without jobs: %v", err)
	}
}

func TestTrainProgress(t *testing.T) {
	t.Parallel()
	var got []float64
	opts := append(retrainOpts(), WithProgress(func(p float64) { got = append(got, p) }))
	if _, err := Train(context.Background(), synthHistory(30, 4), opts...); err != nil {
		t.Fatal(err)
	}
	if len(got) < 2*len(Targets()) || got[len(got)-1] != 1 {
		t.Fatalf("progress %v: want a report per target and pass, ending at 1", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Fatalf("progress %v goes back", got)
		}
	}
}

// TestJobsQueue checks that a process trains at most its limit of jobs at
// once: a further tenant's job waits queued, with heartbeats, and runs
// when a slot frees.
func TestJobsQueue(t *testing.T) {
	t.Parallel()
	db := testDB(t, sqliteImmediate)
	j, err := NewJobs(db, WithMaxRunningJobs(1), WithJobTiming(30*time.Millisecond, 600*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	gate := make(chan struct{})
	ra := NewRetrainer(&gatedHistory{records: synthHistory(30, 4), gate: gate}, NewStore(db), WithJobs(j), WithTrainOptions(retrainOpts()...))
	rb := NewRetrainer(&gatedHistory{records: synthHistory(30, 5)}, NewStore(db), WithJobs(j), WithTrainOptions(retrainOpts()...))
	a := tenancy.WithTenant(context.Background(), "tenant-a")
	b := tenancy.WithTenant(context.Background(), "tenant-b")
	ja, _, err := ra.Start(a)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if g, _ := j.Get(a, ja.ID); g.Status == JobRunning {
			break
		}
		if time.Now().After(deadline) {
			g, err := j.Get(a, ja.ID)
			t.Fatalf("first job never ran: %+v %v", g, err)
		}
	}
	jb, _, err := rb.Start(b)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(900 * time.Millisecond) // 1.5 times the expiry: heartbeats keep the queued job alive
	if g, _ := j.Get(b, jb.ID); g.Status != JobQueued {
		t.Fatalf("second job %+v while the only slot is taken, want queued", g)
	}
	close(gate)
	if g := waitJob(t, j, b, jb.ID); g.Status != JobSucceeded {
		t.Fatalf("queued job ended %+v", g)
	}
	if g := waitJob(t, j, a, ja.ID); g.Status != JobSucceeded {
		t.Fatalf("first job ended %+v", g)
	}
}
