package loadtest

import (
	"sync"
	"time"
)

// sample is one measured request.
type sample struct {
	at       time.Duration // when the request started, from the recorder's start
	latency  time.Duration // until the whole response body was read
	endpoint string        // the operation's name, e.g. "GET /projects/{id}"
	status   int           // HTTP status; 0 for a transport error
	ok       bool          // the status was the one the API documents
}

// recorder keeps every sample of a run. It is safe for concurrent use.
type recorder struct {
	start time.Time
	now   func() time.Time

	mu      sync.Mutex
	samples []sample
}

func newRecorder(now func() time.Time) *recorder {
	return &recorder{start: now(), now: now}
}

// since returns the offset of t from the recorder's start.
func (r *recorder) since(t time.Time) time.Duration { return t.Sub(r.start) }

// add records one request that started at begin.
func (r *recorder) add(endpoint string, begin time.Time, latency time.Duration, status int, ok bool) {
	s := sample{at: r.since(begin), latency: latency, endpoint: endpoint, status: status, ok: ok}
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
}

// snapshot returns a copy of the samples recorded so far.
func (r *recorder) snapshot() []sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]sample, len(r.samples))
	copy(out, r.samples)
	return out
}

// between returns the samples that started in [from, to).
func between(samples []sample, from, to time.Duration) []sample {
	var out []sample
	for _, s := range samples {
		if s.at >= from && s.at < to {
			out = append(out, s)
		}
	}
	return out
}
