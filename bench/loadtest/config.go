package loadtest

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Profile names how the number of virtual users changes during a run.
type Profile string

// The profiles; the package documentation describes each.
const (
	ProfileBaseline  Profile = "baseline"
	ProfileStress    Profile = "stress"
	ProfileSpike     Profile = "spike"
	ProfileEndurance Profile = "endurance"
)

// Scenario names what each virtual user does.
type Scenario string

const (
	// ScenarioMix logs in once, starts a training run and then loops over
	// the weighted mix of Config.Mix.
	ScenarioMix Scenario = "mix"
	// ScenarioLogin loops over login, GET /auth/me and logout: the cost of
	// authentication itself (password hashing, token issuance, sessions).
	ScenarioLogin Scenario = "login"
)

// Config describes a run. The zero value of every optional field takes
// the default named in its comment.
type Config struct {
	// Target is the server's base URL, e.g. "http://127.0.0.1:8080".
	Target string
	// AllowNonLoopback permits a target that is not a loopback address.
	// Without it such a target is refused (ErrNonLoopback).
	AllowNonLoopback bool
	// Admin is the bootstrap superadmin that setup logs in as (usually
	// "admin" with MAESTRO_ADMIN_PASSWORD).
	Admin Credential

	// Profile (default baseline) and Scenario (default mix).
	Profile  Profile
	Scenario Scenario
	// Mix is the weighted operation mix of ScenarioMix (default DefaultMix).
	Mix []Weighted

	// Users is the number of virtual users of baseline and endurance
	// (default 50).
	Users int
	// Duration of baseline and endurance (default 1 minute).
	Duration time.Duration
	// RampUp spreads the users' start (and so their logins) over this
	// long at the beginning of baseline and endurance (default 10 s; a
	// negative value starts everyone at once).
	RampUp time.Duration
	// ThinkTime is each user's mean pause between requests; each pause is
	// uniform between half and one and a half times it (default 1 s; a
	// negative value means no pause, a closed loop).
	ThinkTime time.Duration
	// Window is the length of the time windows a report breaks the run
	// into (default: a tenth of the run, at least 5 s).
	Window time.Duration

	Stress StressConfig
	Spike  SpikeConfig
	Setup  SetupConfig

	// ServerPID, when positive, is the server's process id; its resident
	// memory and CPU time are sampled every ProcInterval (default 5 s).
	ServerPID    int
	ProcInterval time.Duration

	// ServerLog, when set, is the path of the server's JSON access log
	// (examples/platform writes it to stderr at level info); the report
	// then adds the server-side latencies of the measured interval.
	ServerLog string

	// RequestTimeout bounds each request (default 30 s).
	RequestTimeout time.Duration
	// MaxRequests bounds the measured requests of the run (default
	// 5,000,000); virtual users stop when it is spent.
	MaxRequests int64
	// Seed makes the generated data and the users' choices repeatable
	// (default 1).
	Seed uint64
	// Progress, when non-nil, receives a line per stage, phase or window.
	Progress io.Writer
}

// StressConfig shapes ProfileStress: Start users, then Step more every
// stage, until a stage's p99 exceeds P99Limit or its error rate exceeds
// MaxErrorRate, or Max users have run a stage. A stage lasts Settle plus
// Stage: the new users start (and log in) during Settle, which is not
// judged, so that a stage measures its user count in steady state; the
// cost of a burst of logins is what ProfileSpike measures.
type StressConfig struct {
	Start, Step, Max int           // defaults 50, 50, 1000
	Stage            time.Duration // measured part of a stage; default 30 s
	Settle           time.Duration // default 10 s; negative: none
	P99Limit         time.Duration // default 1 s
	MaxErrorRate     float64       // default 0.01
}

// SpikeConfig shapes ProfileSpike: Base users for Warm, then Peak users in
// total — the difference started at once — for Hold, then Base again for
// Recover. The spike's recovery is judged against P99Limit.
type SpikeConfig struct {
	Base, Peak          int           // defaults 10, 500
	Warm, Hold, Recover time.Duration // defaults 20 s, 60 s, 30 s
	P99Limit            time.Duration // default 1 s
}

// ErrConfig is returned (wrapped) for an invalid Config.
var ErrConfig = errors.New("loadtest: invalid configuration")

// withDefaults validates c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	target, err := CheckTarget(c.Target, c.AllowNonLoopback)
	if err != nil {
		return c, err
	}
	c.Target = target
	if c.Admin.Username == "" || c.Admin.Password == "" {
		return c, fmt.Errorf("%w: the admin username and password are required", ErrConfig)
	}
	switch c.Profile {
	case "":
		c.Profile = ProfileBaseline
	case ProfileBaseline, ProfileStress, ProfileSpike, ProfileEndurance:
	default:
		return c, fmt.Errorf("%w: unknown profile %q", ErrConfig, c.Profile)
	}
	switch c.Scenario {
	case "":
		c.Scenario = ScenarioMix
	case ScenarioMix, ScenarioLogin:
	default:
		return c, fmt.Errorf("%w: unknown scenario %q", ErrConfig, c.Scenario)
	}
	if c.Mix == nil {
		c.Mix = DefaultMix()
	}
	c.Mix = append([]Weighted(nil), c.Mix...)
	setInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	setInt(&c.Users, 50)
	setDur(&c.Duration, time.Minute)
	setDur(&c.RampUp, 10*time.Second)
	setDur(&c.ThinkTime, time.Second)
	setDur(&c.ProcInterval, 5*time.Second)
	setDur(&c.RequestTimeout, 30*time.Second)
	if c.MaxRequests <= 0 {
		c.MaxRequests = 5_000_000
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	s := &c.Stress
	setInt(&s.Start, 50)
	setInt(&s.Step, 50)
	setInt(&s.Max, 1000)
	setDur(&s.Stage, 30*time.Second)
	setDur(&s.Settle, 10*time.Second)
	setDur(&s.P99Limit, time.Second)
	if s.MaxErrorRate <= 0 {
		s.MaxErrorRate = 0.01
	}
	p := &c.Spike
	if p.Base < 0 {
		return c, fmt.Errorf("%w: negative spike base", ErrConfig)
	}
	if p.Base == 0 && p.Peak == 0 {
		p.Base = 10
	}
	setInt(&p.Peak, 500)
	setDur(&p.Warm, 20*time.Second)
	setDur(&p.Hold, time.Minute)
	setDur(&p.Recover, 30*time.Second)
	setDur(&p.P99Limit, time.Second)
	if p.Peak <= p.Base {
		return c, fmt.Errorf("%w: the spike's peak (%d) must exceed its base (%d)", ErrConfig, p.Peak, p.Base)
	}
	if s.Max < s.Start {
		return c, fmt.Errorf("%w: the stress maximum (%d) is below its start (%d)", ErrConfig, s.Max, s.Start)
	}
	for _, d := range []time.Duration{c.Duration, c.ProcInterval, c.RequestTimeout, s.Stage, p.Warm, p.Hold, p.Recover} {
		if d < 0 {
			return c, fmt.Errorf("%w: negative duration %v", ErrConfig, d)
		}
	}
	if c.Window < 0 {
		return c, fmt.Errorf("%w: negative window", ErrConfig)
	}
	c.Setup.defaults()
	return c, nil
}

// peakUsers is the largest number of virtual users the profile runs.
func (c Config) peakUsers() int {
	switch c.Profile {
	case ProfileStress:
		return c.Stress.Max
	case ProfileSpike:
		return c.Spike.Peak
	}
	return c.Users
}
