// Command loadtest runs a load-test profile against a running Maestro
// reference server (examples/platform) and writes the report as Markdown
// (to stdout or -md) and JSON (-json).
//
// It only talks to loopback addresses unless -allow-non-loopback is given.
// The admin password is read from MAESTRO_ADMIN_PASSWORD (the variable the
// server was started with) or from the file named by -admin-password-file.
//
//	loadtest -target http://127.0.0.1:8080 -profile baseline -users 50 -duration 10m
//	loadtest -profile stress -stress-start 50 -stress-step 50 -stress-max 1000 -stress-stage 30s
//	loadtest -profile spike -spike-base 10 -spike-peak 500
//	loadtest -profile endurance -users 50 -duration 20m -server-pid $(pgrep -n platform)
//	loadtest -scenario login -users 10 -duration 1m
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/maestro-ml/maestro/bench/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
		}
		os.Exit(2)
	}
}

// run parses args, runs the profile and writes the report. getenv reads
// the environment; stdout receives the Markdown report unless -md names a
// file, stderr the progress lines.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, out, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	cfg.Progress = stderr
	var rep *loadtest.Report
	if out.reanalyze != "" {
		rep, err = reanalyze(out.reanalyze, cfg.ServerLog)
	} else {
		rep, err = loadtest.Run(ctx, cfg)
	}
	if err != nil {
		return err
	}
	if out.json != "" {
		if err := writeFile(out.json, rep.WriteJSON); err != nil {
			return err
		}
	}
	if out.md != "" {
		return writeFile(out.md, rep.Markdown)
	}
	return rep.Markdown(stdout)
}

// outputs names the report files, and a report to complete instead of a
// run.
type outputs struct{ json, md, reanalyze string }

// reanalyze reads a JSON report written earlier and adds the server-side
// latencies from serverLog.
func reanalyze(path, serverLog string) (*loadtest.Report, error) {
	if serverLog == "" {
		return nil, errors.New("-reanalyze needs -server-log")
	}
	b, err := os.ReadFile(path) // #nosec G304 -- the operator names the profile file on the command line
	if err != nil {
		return nil, err
	}
	var r loadtest.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := r.AddServerLog(serverLog); err != nil {
		return nil, err
	}
	r.UpdateProcessColumns()
	return &r, nil
}

// parseFlags turns the command line into a Config.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (loadtest.Config, outputs, error) {
	var (
		cfg               loadtest.Config
		out               outputs
		profile, scenario string
		passwordFile      string
	)
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Target, "target", "http://127.0.0.1:8080", "base URL of the platform (loopback only)")
	fs.BoolVar(&cfg.AllowNonLoopback, "allow-non-loopback", false, "allow a target that is not a loopback address")
	fs.StringVar(&cfg.Admin.Username, "admin-user", "admin", "the bootstrap superadmin")
	fs.StringVar(&passwordFile, "admin-password-file", "", "file holding the admin password (default: $MAESTRO_ADMIN_PASSWORD)")
	fs.StringVar(&profile, "profile", "baseline", "baseline, stress, spike or endurance")
	fs.StringVar(&scenario, "scenario", "mix", "mix (the weighted API mix) or login (login, me, logout)")
	fs.IntVar(&cfg.Users, "users", 50, "virtual users (baseline, endurance)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "length of baseline and endurance (default 1m)")
	fs.DurationVar(&cfg.RampUp, "ramp", 0, "spread the users' start over this long (default 10s; negative: all at once)")
	fs.DurationVar(&cfg.ThinkTime, "think", 0, "mean pause between a user's requests (default 1s; negative: none)")
	fs.DurationVar(&cfg.Window, "window", 0, "report window (default: a tenth of the run, 5s for spike)")
	fs.IntVar(&cfg.Stress.Start, "stress-start", 50, "stress: users of the first stage")
	fs.IntVar(&cfg.Stress.Step, "stress-step", 50, "stress: users added per stage")
	fs.IntVar(&cfg.Stress.Max, "stress-max", 1000, "stress: the most users")
	fs.DurationVar(&cfg.Stress.Stage, "stress-stage", 0, "stress: measured length of a stage (default 30s)")
	fs.DurationVar(&cfg.Stress.Settle, "stress-settle", 0, "stress: unmeasured time for new users to log in before a stage (default 10s; negative: none)")
	fs.DurationVar(&cfg.Stress.P99Limit, "p99-limit", 0, "stress and spike: a stage or window breaks above this p99 (default 1s)")
	fs.Float64Var(&cfg.Stress.MaxErrorRate, "max-error-rate", 0, "stress: a stage breaks above this error rate (default 0.01)")
	fs.IntVar(&cfg.Spike.Base, "spike-base", 10, "spike: users before and after the spike")
	fs.IntVar(&cfg.Spike.Peak, "spike-peak", 500, "spike: users during the spike")
	fs.DurationVar(&cfg.Spike.Warm, "spike-warm", 0, "spike: time at the base before the spike (default 20s)")
	fs.DurationVar(&cfg.Spike.Hold, "spike-hold", 0, "spike: time at the peak (default 1m)")
	fs.DurationVar(&cfg.Spike.Recover, "spike-recover", 0, "spike: time at the base after the spike (default 30s)")
	fs.IntVar(&cfg.Setup.Tenants, "tenants", 4, "setup: tenants")
	fs.IntVar(&cfg.Setup.UsersPerTenant, "users-per-tenant", 5, "setup: users per tenant")
	fs.IntVar(&cfg.Setup.Projects, "projects", 40, "setup: projects per tenant")
	fs.IntVar(&cfg.Setup.Completed, "completed", 24, "setup: projects per tenant with an outcome")
	fs.IntVar(&cfg.Setup.Artifacts, "artifacts", 30, "setup: artifacts per tenant")
	fs.IntVar(&cfg.Setup.Experiments, "experiments", 8, "setup: experiments per tenant")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "sample this process's RSS and CPU from /proc")
	fs.StringVar(&cfg.ServerLog, "server-log", "", "the server's JSON access log, for server-side latencies")
	fs.DurationVar(&cfg.ProcInterval, "proc-interval", 0, "interval of the process samples (default 5s)")
	fs.DurationVar(&cfg.RequestTimeout, "timeout", 0, "per-request timeout (default 30s)")
	fs.Int64Var(&cfg.MaxRequests, "max-requests", 0, "stop after this many measured requests (default 5000000)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the generated data and the users' choices")
	fs.StringVar(&out.json, "json", "", "write the JSON report to this file")
	fs.StringVar(&out.md, "md", "", "write the Markdown report to this file instead of stdout")
	fs.StringVar(&out.reanalyze, "reanalyze", "", "instead of running, read this JSON report, add -server-log's latencies and recompute the process columns")
	if err := fs.Parse(args); err != nil {
		return cfg, out, err
	}
	if fs.NArg() > 0 {
		return cfg, out, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	cfg.Profile, cfg.Scenario = loadtest.Profile(profile), loadtest.Scenario(scenario)
	cfg.Admin.Password = getenv("MAESTRO_ADMIN_PASSWORD")
	if passwordFile != "" {
		b, err := os.ReadFile(passwordFile) // #nosec G304 -- the operator names the password file on the command line
		if err != nil {
			return cfg, out, fmt.Errorf("admin password: %w", err)
		}
		cfg.Admin.Password = strings.TrimSpace(string(b))
	}
	if out.reanalyze != "" {
		return cfg, out, nil
	}
	if cfg.Admin.Password == "" {
		return cfg, out, errors.New("no admin password: set MAESTRO_ADMIN_PASSWORD or -admin-password-file")
	}
	if _, err := loadtest.CheckTarget(cfg.Target, cfg.AllowNonLoopback); err != nil {
		return cfg, out, err
	}
	return cfg, out, nil
}

// writeFile writes a report to path with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path) // #nosec G304 -- the operator names the output file on the command line
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
