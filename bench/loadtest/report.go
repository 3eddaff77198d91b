package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Report is the result of a run. It marshals to JSON as is; Markdown
// renders it as tables.
type Report struct {
	Profile         Profile      `json:"profile"`
	Scenario        Scenario     `json:"scenario"`
	Target          string       `json:"target"`
	Started         time.Time    `json:"started"`
	DurationSeconds float64      `json:"duration_s"`
	PeakUsers       int          `json:"peak_users"`
	ThinkTimeMS     float64      `json:"think_time_ms"`
	Mix             []Weighted   `json:"mix,omitempty"`
	Setup           SetupSummary `json:"setup"`
	Limits          Limits       `json:"limits"`

	// Overall covers every measured request; Endpoints each endpoint.
	Overall   Stats   `json:"overall"`
	Endpoints []Stats `json:"endpoints"`

	// Stages (stress) and Phases (spike) cut the run by user count.
	Stages []Phase `json:"stages,omitempty"`
	Phases []Phase `json:"phases,omitempty"`
	// Windows cut the run into equal time windows.
	Windows []Window `json:"windows"`

	Knee     *Knee     `json:"knee,omitempty"`
	Recovery *Recovery `json:"recovery,omitempty"`
	Trend    *Trend    `json:"trend,omitempty"`

	// ServerSide is the server's view from its access log, when given.
	ServerSide *ServerSide `json:"server_side,omitempty"`
	// Process holds the server process samples when a pid was given.
	Process []ProcSample `json:"process,omitempty"`
	// Notes are remarks on the run (a spent budget, a failed sampler).
	Notes []string `json:"notes,omitempty"`
}

// Limits are the pass lines a stage or window is judged against.
type Limits struct {
	P99MS     float64 `json:"p99_ms"`
	ErrorRate float64 `json:"error_rate"`
}

// Phase is a stress stage or a spike phase.
type Phase struct {
	Name  string  `json:"name"`
	Users int     `json:"users"`
	From  float64 `json:"from_s"`
	To    float64 `json:"to_s"`
	Stats Stats   `json:"stats"`
	// Broke says why a stress stage broke the limits; empty when it held.
	Broke string `json:"broke,omitempty"`
}

// Window is one time window of a run.
type Window struct {
	From  float64 `json:"from_s"`
	To    float64 `json:"to_s"`
	Users int     `json:"users"` // running at the window's end
	Stats Stats   `json:"stats"`
	// RSSMiB is the server's mean resident memory over the window's
	// samples, and ServerCPU the CPU cores it used on average (1.0 is one
	// core busy), when a pid was given; both 0 otherwise.
	RSSMiB    float64 `json:"rss_mib,omitempty"`
	ServerCPU float64 `json:"server_cpu_cores,omitempty"`
	// Load1 is the machine's mean one-minute load average over the
	// window's samples (with a pid only).
	Load1 float64 `json:"load1,omitempty"`
	// CPUPressure is the mean PSI "some avg10" of the window's samples:
	// the share of time (0-100) some task waited for a CPU; -1 when the
	// kernel does not report it.
	CPUPressure float64 `json:"cpu_pressure,omitempty"`
}

// Knee is the result of a stress run: the largest user count whose stage
// held the limits, and the stage that broke them.
type Knee struct {
	// Users and Throughput of the last stage that held (0 if none did).
	Users      int     `json:"users"`
	Throughput float64 `json:"throughput_rps"`
	P99        float64 `json:"p99_ms"`
	// BrokeAt is the user count of the first stage that broke (0 when
	// every stage held up to the maximum), and Reason why.
	BrokeAt int    `json:"broke_at"`
	Reason  string `json:"reason,omitempty"`
	// PeakThroughput is the highest stage throughput, at PeakUsers.
	PeakThroughput float64 `json:"peak_throughput_rps"`
	PeakUsers      int     `json:"peak_users"`
}

// Recovery describes how a spike's latency recovered.
type Recovery struct {
	// Recovered reports whether, during the hold, the p99 of every window
	// from some point on was within the limit again; Seconds is then the
	// time from the spike's start to that point.
	Recovered bool    `json:"recovered"`
	Seconds   float64 `json:"seconds"`
	// WorstP99 is the highest window p99 during the hold.
	WorstP99 float64 `json:"worst_p99_ms"`
}

// Trend is the least-squares slope of the window series, to judge whether
// latency and memory stay flat over a long run.
type Trend struct {
	Windows         int     `json:"windows"`
	P95SlopeMSPerH  float64 `json:"p95_slope_ms_per_hour"`
	P99SlopeMSPerH  float64 `json:"p99_slope_ms_per_hour"`
	RSSSlopeMiBPerH float64 `json:"rss_slope_mib_per_hour"`
	FirstP95        float64 `json:"first_p95_ms"`
	LastP95         float64 `json:"last_p95_ms"`
	FirstRSSMiB     float64 `json:"first_rss_mib"`
	LastRSSMiB      float64 `json:"last_rss_mib"`
}

// windows cuts samples into windows of length w over [0, end).
func windows(samples []sample, usersAt func(time.Duration) int, procs []ProcSample, end, w time.Duration) []Window {
	if w <= 0 || end <= 0 {
		return nil
	}
	var out []Window
	for from := time.Duration(0); from < end; from += w {
		to := min(from+w, end)
		if to-from < w/2 && len(out) > 0 {
			break // a short tail window says little
		}
		win := Window{From: from.Seconds(), To: to.Seconds(), Users: usersAt(to),
			Stats: summarize("window", between(samples, from, to), to-from)}
		win.RSSMiB, win.ServerCPU, win.Load1, win.CPUPressure = procWindow(procs, from.Seconds(), to.Seconds())
		out = append(out, win)
	}
	return out
}

// procWindow returns the mean RSS (MiB) and load average of the samples in
// [from, to], and the CPU cores used over the window, measured between the
// last sample at or before from and the first at or after to (or the
// nearest samples inside the window when the run has none outside it).
func procWindow(procs []ProcSample, from, to float64) (rssMiB, cores, load, pressure float64) {
	var sum, loads, pressures float64
	n, np := 0, 0
	first, last := -1, -1
	for i, p := range procs {
		if p.At <= from || first < 0 {
			first = i
		}
		if last < 0 && p.At >= to {
			last = i
		}
		if p.At >= from && p.At <= to {
			sum += float64(p.RSSBytes)
			loads += p.Load1
			n++
			if p.CPUPressure > 0 {
				pressures += p.CPUPressure
				np++
			}
		}
	}
	if n == 0 {
		return 0, 0, 0, 0
	}
	if np > 0 {
		pressure = pressures / float64(np)
	}
	if last < 0 {
		last = len(procs) - 1
	}
	rssMiB = sum / float64(n) / (1 << 20)
	load = loads / float64(n)
	if a, b := procs[first], procs[last]; b.At > a.At {
		cores = (b.CPUSeconds - a.CPUSeconds) / (b.At - a.At)
	}
	return rssMiB, cores, load, pressure
}

// UpdateProcessColumns recomputes each window's server RSS, CPU and load
// average from r.Process, for a report read back from JSON.
func (r *Report) UpdateProcessColumns() {
	for i := range r.Windows {
		w := &r.Windows[i]
		w.RSSMiB, w.ServerCPU, w.Load1, w.CPUPressure = procWindow(r.Process, w.From, w.To)
	}
	if r.Trend != nil {
		r.Trend = trend(r.Windows)
	}
}

// knee finds the knee of a stress run's stages.
func knee(stages []Phase) *Knee {
	if len(stages) == 0 {
		return nil
	}
	k := &Knee{}
	for _, s := range stages {
		if s.Stats.Throughput > k.PeakThroughput {
			k.PeakThroughput, k.PeakUsers = s.Stats.Throughput, s.Users
		}
		if s.Broke != "" {
			k.BrokeAt, k.Reason = s.Users, s.Broke
			break
		}
		k.Users, k.Throughput, k.P99 = s.Users, s.Stats.Throughput, s.Stats.P99
	}
	return k
}

// recovery judges the spike's hold windows against the limit.
func recovery(ws []Window, s SpikeConfig) *Recovery {
	start, end := s.Warm.Seconds(), (s.Warm + s.Hold).Seconds()
	r := &Recovery{}
	limit := ms(s.P99Limit)
	since := -1.0
	for _, w := range ws {
		if w.From < start || w.From >= end {
			continue
		}
		r.WorstP99 = max(r.WorstP99, w.Stats.P99)
		if w.Stats.P99 > limit || w.Stats.Errors > 0 {
			since = -1
		} else if since < 0 {
			since = w.From
		}
	}
	if since >= 0 {
		r.Recovered, r.Seconds = true, since-start
	}
	return r
}

// trend fits the window series; it needs at least two windows.
func trend(ws []Window) *Trend {
	if len(ws) < 2 {
		return nil
	}
	t := &Trend{Windows: len(ws), FirstP95: ws[0].Stats.P95, LastP95: ws[len(ws)-1].Stats.P95,
		FirstRSSMiB: ws[0].RSSMiB, LastRSSMiB: ws[len(ws)-1].RSSMiB}
	x := make([]float64, len(ws))
	p95, p99, rss := make([]float64, len(ws)), make([]float64, len(ws)), make([]float64, len(ws))
	for i, w := range ws {
		x[i] = (w.From + w.To) / 2 / 3600
		p95[i], p99[i], rss[i] = w.Stats.P95, w.Stats.P99, w.RSSMiB
	}
	t.P95SlopeMSPerH = slope(x, p95)
	t.P99SlopeMSPerH = slope(x, p99)
	t.RSSSlopeMiBPerH = slope(x, rss)
	return t
}

// slope is the least-squares slope of y over x.
func slope(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Markdown writes r as Markdown: a header line, the per-endpoint table,
// errors by status, and the stages, phases, windows and verdicts the
// profile produced.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s, scenario %s\n\n", r.Profile, r.Scenario)
	fmt.Fprintf(&b, "Target %s, started %s, measured %.0f s, peak %d virtual users, think time %.0f ms; "+
		"setup (not measured): %d tenants x %d users, %d projects (%d completed), %d artifacts, %d experiments per tenant, "+
		"%d of %d tenants' meta-models trained.\n\n",
		r.Target, r.Started.Format(time.RFC3339), r.DurationSeconds, r.PeakUsers, r.ThinkTimeMS,
		r.Setup.Tenants, r.Setup.UsersPerTenant, r.Setup.ProjectsPerTenant, r.Setup.CompletedPerTenant,
		r.Setup.ArtifactsPerTenant, r.Setup.ExperimentsPerTenant, r.Setup.TrainedTenants, r.Setup.Tenants)
	b.WriteString("| endpoint | requests | errors | error % | req/s | p50 ms | p95 ms | p99 ms | max ms |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range append(slices.Clone(r.Endpoints), r.Overall) {
		name := "`" + s.Name + "`"
		if s.Name == "all" {
			name = "**all**"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %.2f | %.1f | %s | %s | %s | %s |\n", name, s.Requests, s.Errors,
			100*s.ErrorRate, s.Throughput, num(s.P50), num(s.P95), num(s.P99), num(s.Max))
	}
	if r.Overall.Errors > 0 {
		b.WriteString("\nErrors by status (0 = transport error): ")
		var parts []string
		for _, code := range sortedKeys(r.Overall.ErrorStatuses) {
			parts = append(parts, fmt.Sprintf("%s: %d", code, r.Overall.ErrorStatuses[code]))
		}
		b.WriteString(strings.Join(parts, ", ") + "\n")
	}
	if ss := r.ServerSide; ss != nil {
		fmt.Fprintf(&b, "\nServer-side time of the same requests, from the server's access log (handler chain only: no network, accept queue or client):\n\n")
		b.WriteString("| endpoint | requests | 5xx | p50 ms | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, s := range append(slices.Clone(ss.Endpoints), ss.Overall) {
			name := "`" + s.Name + "`"
			if s.Name == "all" {
				name = "**all**"
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s | %s |\n", name, s.Requests, s.Errors,
				num(s.P50), num(s.P95), num(s.P99), num(s.Max))
		}
	}
	phaseTable(&b, "Stages", r.Stages)
	phaseTable(&b, "Phases", r.Phases)
	if r.Knee != nil {
		k := r.Knee
		b.WriteString("\n")
		switch {
		case k.BrokeAt == 0:
			fmt.Fprintf(&b, "**Knee:** not reached: every stage up to %d users held (p99 %.1f ms at %.1f req/s).\n",
				k.Users, k.P99, k.Throughput)
		case k.Users == 0:
			fmt.Fprintf(&b, "**Knee:** below the first stage: %d users already broke the limits (%s).\n", k.BrokeAt, k.Reason)
		default:
			fmt.Fprintf(&b, "**Knee:** between %d users (held: %.1f req/s, p99 %.1f ms) and %d users (%s).\n",
				k.Users, k.Throughput, k.P99, k.BrokeAt, k.Reason)
		}
		fmt.Fprintf(&b, "Peak stage throughput %.1f req/s at %d users.\n", k.PeakThroughput, k.PeakUsers)
	}
	if rc := r.Recovery; rc != nil {
		if rc.Recovered {
			fmt.Fprintf(&b, "\n**Recovery:** from %.0f s after the spike began, every window's p99 was within %.0f ms with no errors (worst window p99 %.1f ms).\n",
				rc.Seconds, r.Limits.P99MS, rc.WorstP99)
		} else {
			fmt.Fprintf(&b, "\n**Recovery:** the p99 did not settle within %.0f ms (or errors continued) before the hold ended (worst window p99 %.1f ms).\n",
				r.Limits.P99MS, rc.WorstP99)
		}
	}
	if len(r.Windows) > 0 {
		b.WriteString("\n| window | users | requests | errors | req/s | p50 ms | p95 ms | p99 ms |")
		withProc := len(r.Process) > 0
		if withProc {
			b.WriteString(" server RSS MiB | server CPU cores | load avg | CPU pressure % |")
		}
		b.WriteString("\n|---|---:|---:|---:|---:|---:|---:|---:|")
		if withProc {
			b.WriteString("---:|---:|---:|---:|")
		}
		b.WriteString("\n")
		for _, w := range r.Windows {
			s := w.Stats
			fmt.Fprintf(&b, "| %.0f-%.0f s | %d | %d | %d | %.1f | %s | %s | %s |", w.From, w.To, w.Users, s.Requests,
				s.Errors, s.Throughput, num(s.P50), num(s.P95), num(s.P99))
			if withProc {
				load := "–" // not sampled
				if w.Load1 > 0 {
					load = fmt.Sprintf("%.1f", w.Load1)
				}
				pressure := "–"
				if w.CPUPressure > 0 {
					pressure = fmt.Sprintf("%.0f", w.CPUPressure)
				}
				fmt.Fprintf(&b, " %.1f | %.2f | %s | %s |", w.RSSMiB, w.ServerCPU, load, pressure)
			}
			b.WriteString("\n")
		}
	}
	if t := r.Trend; t != nil {
		fmt.Fprintf(&b, "\n**Trend over %d windows:** p95 %.1f → %.1f ms (slope %+.1f ms/h), p99 slope %+.1f ms/h",
			t.Windows, t.FirstP95, t.LastP95, t.P95SlopeMSPerH, t.P99SlopeMSPerH)
		if len(r.Process) > 0 {
			fmt.Fprintf(&b, ", server RSS %.1f → %.1f MiB (slope %+.1f MiB/h)", t.FirstRSSMiB, t.LastRSSMiB, t.RSSSlopeMiBPerH)
		}
		b.WriteString(".\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nNote: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func phaseTable(b *strings.Builder, title string, phases []Phase) {
	if len(phases) == 0 {
		return
	}
	fmt.Fprintf(b, "\n| %s | users | requests | errors | error %% | req/s | p50 ms | p95 ms | p99 ms | verdict |\n", strings.ToLower(title[:len(title)-1]))
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, p := range phases {
		s := p.Stats
		verdict := "held"
		if p.Broke != "" {
			verdict = "broke: " + p.Broke
		}
		if title == "Phases" {
			verdict = fmt.Sprintf("%.0f-%.0f s", p.From, p.To)
		}
		fmt.Fprintf(b, "| %s | %d | %d | %d | %.2f | %.1f | %s | %s | %s | %s |\n", p.Name, p.Users, s.Requests, s.Errors,
			100*s.ErrorRate, s.Throughput, num(s.P50), num(s.P95), num(s.P99), verdict)
	}
}

// num formats a latency in milliseconds with sensible precision.
func num(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", math.Round(v))
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
