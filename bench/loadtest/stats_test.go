package loadtest

import (
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	t.Parallel()
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"single", []time.Duration{7}, 99, 7},
		{"p50 of 100", hundred, 50, 50 * time.Millisecond},
		{"p95 of 100", hundred, 95, 95 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"p100 of 100", hundred, 100, 100 * time.Millisecond},
		{"p0 is the minimum", hundred, 0, time.Millisecond},
		{"p99 of 10 is the max", hundred[:10], 99, 10 * time.Millisecond},
		{"p50 of 4 rounds up", []time.Duration{1, 2, 3, 4}, 50, 2},
		{"p51 of 4", []time.Duration{1, 2, 3, 4}, 51, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	var samples []sample
	for i := range 200 {
		s := sample{at: time.Duration(i) * 10 * time.Millisecond, latency: time.Duration(200-i) * time.Millisecond,
			endpoint: "GET /a", status: 200, ok: true}
		if i%2 == 1 {
			s.endpoint = "GET /b"
		}
		if i%50 == 0 {
			s.status, s.ok = 503, false
		}
		samples = append(samples, s)
	}
	samples = append(samples, sample{endpoint: "GET /b", latency: time.Second, status: 0})
	st := summarize("all", samples, 2*time.Second)
	if st.Requests != 201 || st.Errors != 5 {
		t.Fatalf("requests %d errors %d", st.Requests, st.Errors)
	}
	if st.ErrorStatuses["503"] != 4 || st.ErrorStatuses["0"] != 1 || st.Statuses["200"] != 196 {
		t.Errorf("statuses %v, errors %v", st.Statuses, st.ErrorStatuses)
	}
	if st.Throughput != 100.5 || st.Max != 1000 || st.P50 != 101 || st.P99 != 199 {
		t.Errorf("rps %v max %v p50 %v p99 %v", st.Throughput, st.Max, st.P50, st.P99)
	}
	eps := byEndpoint(samples, 2*time.Second)
	if len(eps) != 2 || eps[0].Name != "GET /a" || eps[0].Requests != 100 || eps[1].Requests != 101 {
		t.Errorf("byEndpoint = %+v", eps)
	}
	if empty := summarize("none", nil, time.Second); empty.Requests != 0 || empty.P99 != 0 {
		t.Errorf("empty = %+v", empty)
	}
	if got := between(samples, 0, 100*time.Millisecond); len(got) != 11 { // ten plus the transport error at 0
		t.Errorf("between = %d samples", len(got))
	}
}

func TestRecorderConcurrent(t *testing.T) {
	t.Parallel()
	r := newRecorder(time.Now)
	done := make(chan struct{})
	for range 4 {
		go func() {
			for range 100 {
				r.add("x", time.Now(), time.Millisecond, 200, true)
			}
			done <- struct{}{}
		}()
	}
	for range 4 {
		<-done
	}
	if n := len(r.snapshot()); n != 400 {
		t.Errorf("recorded %d samples, want 400", n)
	}
}
