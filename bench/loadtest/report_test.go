package loadtest

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func stats(p99 float64, rps float64, errs int) Stats {
	return Stats{Requests: 100, Errors: errs, ErrorRate: float64(errs) / 100, Throughput: rps, P50: p99 / 4, P95: p99 / 2, P99: p99}
}

func TestKnee(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stages []Phase
		want   Knee
	}{
		{"none broke", []Phase{{Users: 10, Stats: stats(50, 10, 0)}, {Users: 20, Stats: stats(60, 19, 0)}},
			Knee{Users: 20, Throughput: 19, P99: 60, PeakThroughput: 19, PeakUsers: 20}},
		{"second broke", []Phase{{Users: 10, Stats: stats(50, 10, 0)}, {Users: 20, Stats: stats(2000, 12, 0), Broke: "p99"}},
			Knee{Users: 10, Throughput: 10, P99: 50, BrokeAt: 20, Reason: "p99", PeakThroughput: 12, PeakUsers: 20}},
		{"first broke", []Phase{{Users: 10, Stats: stats(50, 10, 9), Broke: "errors"}},
			Knee{BrokeAt: 10, Reason: "errors", PeakThroughput: 10, PeakUsers: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := knee(tt.stages); *got != tt.want {
				t.Errorf("knee = %+v, want %+v", *got, tt.want)
			}
		})
	}
	if knee(nil) != nil {
		t.Error("knee of no stages")
	}
}

func TestBreakReason(t *testing.T) {
	t.Parallel()
	if r := breakReason(stats(900, 1, 0), time.Second, 0.01); r != "" {
		t.Errorf("held stage broke: %s", r)
	}
	if r := breakReason(stats(1100, 1, 0), time.Second, 0.01); !strings.HasPrefix(r, "p99") {
		t.Errorf("slow stage: %q", r)
	}
	if r := breakReason(stats(10, 1, 2), time.Second, 0.01); !strings.HasPrefix(r, "error rate") {
		t.Errorf("failing stage: %q", r)
	}
	if r := breakReason(Stats{}, time.Second, 0.01); r == "" {
		t.Error("an empty stage held")
	}
}

func TestRecoveryAndTrend(t *testing.T) {
	t.Parallel()
	spike := SpikeConfig{Warm: 10 * time.Second, Hold: 20 * time.Second, P99Limit: time.Second}
	ws := []Window{
		{From: 0, To: 5, Stats: stats(100, 1, 0)}, {From: 5, To: 10, Stats: stats(100, 1, 0)},
		{From: 10, To: 15, Stats: stats(3000, 1, 0)}, {From: 15, To: 20, Stats: stats(500, 1, 0)},
		{From: 20, To: 25, Stats: stats(400, 1, 0)}, {From: 25, To: 30, Stats: stats(300, 1, 0)},
		{From: 30, To: 35, Stats: stats(100, 1, 0)},
	}
	r := recovery(ws, spike)
	if !r.Recovered || r.Seconds != 5 || r.WorstP99 != 3000 {
		t.Errorf("recovery = %+v", r)
	}
	ws[5].Stats.Errors = 1
	if r := recovery(ws, spike); r.Recovered {
		t.Errorf("recovered despite errors in the last hold window: %+v", r)
	}

	flat := []Window{{From: 0, To: 3600, Stats: stats(100, 1, 0), RSSMiB: 50}, {From: 3600, To: 7200, Stats: stats(100, 1, 0), RSSMiB: 60}}
	tr := trend(flat)
	if tr.P95SlopeMSPerH != 0 || math.Abs(tr.RSSSlopeMiBPerH-10) > 1e-9 || tr.FirstRSSMiB != 50 || tr.LastRSSMiB != 60 {
		t.Errorf("trend = %+v", tr)
	}
	if trend(flat[:1]) != nil {
		t.Error("trend of one window")
	}
	if slope([]float64{1, 1}, []float64{2, 3}) != 0 {
		t.Error("slope of a vertical series")
	}
}

func TestWindows(t *testing.T) {
	t.Parallel()
	var samples []sample
	for i := range 100 {
		samples = append(samples, sample{at: time.Duration(i) * 100 * time.Millisecond, latency: time.Millisecond, status: 200, ok: true})
	}
	procs := []ProcSample{{At: 0, RSSBytes: 1 << 20, CPUSeconds: 1, Load1: 1, CPUPressure: 10}, {At: 4, RSSBytes: 3 << 20, CPUSeconds: 3, Load1: 3, CPUPressure: -1}, {At: 6, RSSBytes: 8 << 20, CPUSeconds: 4}}
	users := func(time.Duration) int { return 7 }
	ws := windows(samples, users, procs, 10*time.Second+time.Second, 5*time.Second)
	if len(ws) != 2 { // the 1 s tail is dropped
		t.Fatalf("%d windows", len(ws))
	}
	if ws[0].Stats.Requests != 50 || ws[0].Users != 7 || ws[0].RSSMiB != 2 || ws[0].ServerCPU != 0.5 || ws[0].Load1 != 2 || ws[0].CPUPressure != 10 {
		t.Errorf("first window %+v", ws[0])
	}
	if ws[1].RSSMiB != 8 || ws[1].ServerCPU != 0.5 { // from the sample at 4 s to the last, at 6 s
		t.Errorf("second window %+v", ws[1])
	}
	r := &Report{Windows: ws, Process: procs, Trend: &Trend{}}
	r.Windows[1].ServerCPU = 0
	r.UpdateProcessColumns()
	if r.Windows[1].ServerCPU != 0.5 || r.Trend.LastRSSMiB != 8 {
		t.Errorf("after UpdateProcessColumns: %+v, %+v", r.Windows[1], r.Trend)
	}
	if windows(samples, users, nil, 0, time.Second) != nil {
		t.Error("windows of an empty run")
	}
}

func TestReportRendering(t *testing.T) {
	t.Parallel()
	r := &Report{
		Profile: ProfileStress, Scenario: ScenarioMix, Target: "http://127.0.0.1:1", DurationSeconds: 60, PeakUsers: 20,
		Overall:   Stats{Name: "all", Requests: 10, Errors: 1, ErrorRate: 0.1, P50: 1, P95: 12, P99: 123, Max: 150, ErrorStatuses: map[string]int{"503": 1}},
		Endpoints: []Stats{{Name: "GET /projects", Requests: 10, P50: 1, P95: 2, P99: 3, Max: 4}},
		Stages:    []Phase{{Name: "stage 1", Users: 10, Stats: stats(50, 10, 0)}, {Name: "stage 2", Users: 20, Stats: stats(2000, 11, 0), Broke: "p99 2000 ms > 1000 ms"}},
		Phases:    []Phase{{Name: "spike", Users: 20, From: 1, To: 2, Stats: stats(10, 1, 0)}},
		Windows:   []Window{{From: 0, To: 30, Users: 10, Stats: stats(50, 10, 0), RSSMiB: 40, ServerCPU: 1.5, Load1: 3.25, CPUPressure: 55}},
		Process:   []ProcSample{{At: 0, RSSBytes: 1}},
		Recovery:  &Recovery{Recovered: true, Seconds: 5, WorstP99: 2000},
		Trend:     &Trend{Windows: 2, FirstP95: 1, LastP95: 2},
		Notes:     []string{"a note"},
		Limits:    Limits{P99MS: 1000, ErrorRate: 0.01},
	}
	r.Knee = knee(r.Stages)
	var b bytes.Buffer
	if err := r.Markdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"### stress, scenario mix", "| `GET /projects` | 10 |", "| **all** | 10 | 1 | 10.00 |", "503: 1",
		"| stage 2 | 20 |", "broke: p99 2000 ms", "**Knee:** between 10 users", "| spike | 20 |",
		"**Recovery:** from 5 s", "server RSS MiB", "| 40.0 | 1.50 | 3.2 | 55 |", "**Trend over 2 windows:**", "Note: a note",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	r.Windows[0].Load1, r.Windows[0].CPUPressure = 0, 0
	b.Reset()
	_ = r.Markdown(&b)
	if !strings.Contains(b.String(), "| 40.0 | 1.50 | – | – |") {
		t.Errorf("an unsampled load average is not shown as such:\n%s", b.String())
	}
	r.Knee = &Knee{Users: 20, P99: 5}
	r.Recovery = &Recovery{}
	b.Reset()
	_ = r.Markdown(&b)
	if !strings.Contains(b.String(), "not reached") || !strings.Contains(b.String(), "did not settle") {
		t.Errorf("markdown:\n%s", b.String())
	}
	r.Knee = &Knee{BrokeAt: 10, Reason: "x"}
	b.Reset()
	_ = r.Markdown(&b)
	if !strings.Contains(b.String(), "below the first stage") {
		t.Errorf("markdown:\n%s", b.String())
	}
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Overall.P99 != 123 || back.Knee.BrokeAt != 10 {
		t.Errorf("JSON round trip: %v %+v", err, back.Overall)
	}
	for v, want := range map[float64]string{0: "–", 1.234: "1.23", 12.34: "12.3", 123.4: "123"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}
