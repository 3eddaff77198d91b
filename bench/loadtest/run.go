package loadtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Run sets up data on the target and runs cfg's profile against it. It
// returns when the profile is over (or ctx ends: the report then covers
// what ran) with a Report of the measured part; setup requests are not
// measured.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	picker, err := newPicker(cfg.Mix)
	if err != nil {
		return nil, err
	}
	base := &client{
		base: cfg.Target,
		http: newHTTPClient(cfg.peakUsers()+setupWorkers*cfg.Setup.Tenants, cfg.RequestTimeout, cfg.AllowNonLoopback),
	}
	defer base.http.CloseIdleConnections()

	setupStart := time.Now()
	var setupCount atomic.Int64
	setupCount.Store(1 << 62)
	fx, err := setup(ctx, base.withRecorder(nil, &setupCount), cfg.Admin, cfg.Setup, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("loadtest: setup: %w", err)
	}
	summary := SetupSummary{
		RunID: fx.RunID, Tenants: cfg.Setup.Tenants, UsersPerTenant: cfg.Setup.UsersPerTenant,
		ProjectsPerTenant: cfg.Setup.Projects, CompletedPerTenant: cfg.Setup.Completed,
		ArtifactsPerTenant: cfg.Setup.Artifacts, ExperimentsPerTenant: cfg.Setup.Experiments,
		Requests: 1<<62 - setupCount.Load(), DurationSeconds: since(setupStart),
	}
	for _, t := range fx.Tenants {
		if t.Trained {
			summary.TrainedTenants++
		}
	}
	cfg.logf("setup %s: %d tenants x %d users, %d projects, %d artifacts each; %d requests in %.1fs",
		fx.RunID, summary.Tenants, summary.UsersPerTenant, summary.ProjectsPerTenant,
		summary.ArtifactsPerTenant, summary.Requests, summary.DurationSeconds)

	rec := newRecorder(time.Now)
	var budget atomic.Int64
	budget.Store(cfg.MaxRequests)
	p := &pool{cfg: cfg, fx: fx, c: base.withRecorder(rec, &budget), picker: picker, rec: rec}

	var sampler procSampler
	sctx, stopSampler := context.WithCancel(ctx)
	var swg sync.WaitGroup
	if cfg.ServerPID > 0 {
		swg.Go(func() { sampler.run(sctx, cfg.ServerPID, cfg.ProcInterval, rec) })
	}

	r := &Report{
		Profile: cfg.Profile, Scenario: cfg.Scenario, Target: cfg.Target, Started: rec.start.UTC(),
		ThinkTimeMS: ms(max(cfg.ThinkTime, 0)), Mix: cfg.Mix, Setup: summary,
		Limits: Limits{P99MS: ms(cfg.Stress.P99Limit), ErrorRate: cfg.Stress.MaxErrorRate},
	}
	switch cfg.Profile {
	case ProfileStress:
		r.Stages, r.Knee = p.stress(ctx)
	case ProfileSpike:
		r.Phases = p.spike(ctx)
		r.Limits.P99MS = ms(cfg.Spike.P99Limit)
	default:
		p.steady(ctx)
	}
	// The run ends now: requests still in flight are cut short by stopAll
	// and not counted, and the server-side view ends here as well.
	end := rec.since(time.Now())
	p.stopAll()
	stopSampler()
	swg.Wait()

	samples := rec.snapshot()
	r.DurationSeconds = end.Seconds()
	r.PeakUsers = p.peakUsers()
	r.Overall = summarize("all", samples, end)
	r.Endpoints = byEndpoint(samples, end)
	if cfg.ServerPID > 0 {
		procs, err := sampler.result()
		if err != nil {
			r.Notes = append(r.Notes, "server process sampling stopped: "+err.Error())
		}
		r.Process = procs
	}
	r.DurationSeconds = end.Seconds()
	if cfg.ServerLog != "" {
		// The server logs a request when it ends; give the last ones a
		// moment to reach the file.
		time.Sleep(200 * time.Millisecond)
		if err := r.AddServerLog(cfg.ServerLog); err != nil {
			r.Notes = append(r.Notes, err.Error())
		}
	}
	r.Windows = windows(samples, p.userAt, r.Process, end, cfg.window(end))
	if cfg.Profile == ProfileSpike {
		r.Recovery = recovery(r.Windows, cfg.Spike)
	}
	if cfg.Profile == ProfileEndurance || cfg.Profile == ProfileBaseline {
		r.Trend = trend(r.Windows)
	}
	if budget.Load() < 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("the request budget (%d) was spent before the profile ended", cfg.MaxRequests))
	}
	return r, nil
}

// window returns the report window length for a run of length end.
func (c Config) window(end time.Duration) time.Duration {
	if c.Window > 0 {
		return c.Window
	}
	if c.Profile == ProfileSpike {
		return 5 * time.Second
	}
	return max(5*time.Second, (end / 10).Round(time.Second))
}

func (c Config) logf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// pool runs the virtual users.
type pool struct {
	cfg    Config
	fx     *Fixture
	c      *client
	picker *picker
	rec    *recorder

	wg      sync.WaitGroup
	cancels []context.CancelFunc // one per running user, in start order
	started int                  // users ever started (their ids)

	mu     sync.Mutex
	active int         // users running now
	peak   int         // the most users that ran at once
	events []userEvent // the number of running users over time
}

type userEvent struct {
	at    time.Duration
	users int
}

// grow starts n users, their starts spread evenly over ramp.
func (p *pool) grow(ctx context.Context, n int, ramp time.Duration) {
	for k := range n {
		id := p.started
		p.started++
		uctx, cancel := context.WithCancel(ctx)
		p.cancels = append(p.cancels, cancel)
		t := &p.fx.Tenants[id%len(p.fx.Tenants)]
		v := &vu{
			id: id, c: p.c, tenant: t, cred: t.Users[(id/len(p.fx.Tenants))%len(t.Users)],
			rng: rand.New(rand.NewPCG(p.cfg.Seed, uint64(id)+1<<32)), think: max(p.cfg.ThinkTime, 0), // #nosec G115 G404 -- load generation: a seeded, reproducible stream; id is a small non-negative worker index
		}
		var delay time.Duration
		if ramp > 0 && n > 1 {
			delay = ramp * time.Duration(k) / time.Duration(n)
		}
		p.wg.Go(func() {
			if delay > 0 && !sleep(uctx, delay) {
				return
			}
			p.note(+1)
			defer p.note(-1)
			if p.cfg.Scenario == ScenarioLogin {
				v.runLogin(uctx)
			} else {
				v.runMix(uctx, p.picker)
			}
		})
	}
}

// shrink stops the n most recently started users.
func (p *pool) shrink(n int) {
	n = min(n, len(p.cancels))
	for _, cancel := range p.cancels[len(p.cancels)-n:] {
		cancel()
	}
	p.cancels = p.cancels[:len(p.cancels)-n]
}

// stopAll stops every user and waits for them.
func (p *pool) stopAll() {
	p.shrink(len(p.cancels))
	p.wg.Wait()
}

// note records that a user started (+1) or stopped (-1).
func (p *pool) note(delta int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active += delta
	p.peak = max(p.peak, p.active)
	p.events = append(p.events, userEvent{at: p.rec.since(time.Now()), users: p.active})
}

// peakUsers returns the most users that ran at once.
func (p *pool) peakUsers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// userAt returns the number of users running at offset t.
func (p *pool) userAt(t time.Duration) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.events {
		if e.at > t {
			break
		}
		n = e.users
	}
	return n
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// steady runs cfg.Users users for cfg.Duration (baseline, endurance),
// logging a progress line per window.
func (p *pool) steady(ctx context.Context) {
	ramp := max(p.cfg.RampUp, 0)
	p.grow(ctx, p.cfg.Users, ramp)
	step := p.cfg.window(p.cfg.Duration)
	end := time.Now().Add(p.cfg.Duration)
	for {
		left := time.Until(end)
		if left <= 0 || !sleep(ctx, min(step, left)) {
			return
		}
		now := p.rec.since(time.Now())
		st := summarize("window", between(p.rec.snapshot(), now-min(step, now), now), min(step, now))
		p.cfg.logf("%6.0fs users=%d rps=%.1f p50=%.1fms p95=%.1fms p99=%.1fms errors=%d",
			now.Seconds(), p.userAt(now), st.Throughput, st.P50, st.P95, st.P99, st.Errors)
	}
}

// stress adds users stage by stage until a stage breaks or the maximum
// has run, and returns the stages and the knee.
func (p *pool) stress(ctx context.Context) ([]Phase, *Knee) {
	s := p.cfg.Stress
	var stages []Phase
	users := s.Start
	settle := max(s.Settle, 0)
	p.grow(ctx, users, min(settle, time.Duration(users)*100*time.Millisecond))
	for ctx.Err() == nil {
		if settle > 0 && !sleep(ctx, settle) {
			break
		}
		from := p.rec.since(time.Now())
		if !sleep(ctx, s.Stage) {
			break
		}
		to := p.rec.since(time.Now())
		st := summarize(fmt.Sprintf("stage %d", len(stages)+1), between(p.rec.snapshot(), from, to), to-from)
		ph := Phase{Name: st.Name, Users: users, From: from.Seconds(), To: to.Seconds(), Stats: st}
		ph.Broke = breakReason(st, s.P99Limit, s.MaxErrorRate)
		stages = append(stages, ph)
		p.cfg.logf("stage %d users=%d rps=%.1f p50=%.1fms p95=%.1fms p99=%.1fms errors=%d %s",
			len(stages), users, st.Throughput, st.P50, st.P95, st.P99, st.Errors, ph.Broke)
		if ph.Broke != "" || users >= s.Max {
			break
		}
		add := min(s.Step, s.Max-users)
		p.grow(ctx, add, min(settle, time.Duration(add)*100*time.Millisecond))
		users += add
	}
	return stages, knee(stages)
}

// breakReason says why a stage broke the limits, or "" when it held.
func breakReason(st Stats, p99 time.Duration, maxErr float64) string {
	switch {
	case st.Requests == 0:
		return "no request completed"
	case st.ErrorRate > maxErr:
		return fmt.Sprintf("error rate %.2f%% > %.2f%%", 100*st.ErrorRate, 100*maxErr)
	case st.P99 > ms(p99):
		return fmt.Sprintf("p99 %.0f ms > %.0f ms", st.P99, ms(p99))
	}
	return ""
}

// spike runs the spike profile and returns its three phases.
func (p *pool) spike(ctx context.Context) []Phase {
	s := p.cfg.Spike
	var phases []Phase
	phase := func(name string, d time.Duration) {
		from := p.rec.since(time.Now())
		sleep(ctx, d)
		to := p.rec.since(time.Now())
		st := summarize(name, between(p.rec.snapshot(), from, to), to-from)
		phases = append(phases, Phase{Name: name, Users: len(p.cancels), From: from.Seconds(), To: to.Seconds(), Stats: st})
		p.cfg.logf("%s users=%d rps=%.1f p50=%.1fms p95=%.1fms p99=%.1fms errors=%d",
			name, len(p.cancels), st.Throughput, st.P50, st.P95, st.P99, st.Errors)
	}
	p.grow(ctx, s.Base, min(s.Warm/2, time.Duration(s.Base)*100*time.Millisecond))
	phase("before", s.Warm)
	p.grow(ctx, s.Peak-s.Base, 0)
	phase("spike", s.Hold)
	p.shrink(s.Peak - s.Base)
	phase("after", s.Recover)
	return phases
}
