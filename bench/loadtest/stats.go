package loadtest

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
)

// Stats summarises a set of requests. Latencies are in milliseconds and
// the percentiles are exact: the nearest-rank value over all the samples'
// latencies (P99 is the smallest latency that at least 99% of the
// requests did not exceed).
type Stats struct {
	// Name is the endpoint ("GET /projects/{id}"), "all", or a phase name.
	Name string `json:"name"`
	// Requests is the number of requests that started in the interval.
	Requests int `json:"requests"`
	// Errors counts requests that failed at the transport level or
	// answered another status than the documented one.
	Errors int `json:"errors"`
	// ErrorRate is Errors/Requests (0 when there were no requests).
	ErrorRate float64 `json:"error_rate"`
	// Throughput is Requests divided by the interval's length, per second.
	Throughput float64 `json:"throughput_rps"`
	// Latency percentiles, mean and maximum, in milliseconds, over every
	// request (successful or not).
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
	// Statuses counts the answers by HTTP status ("0" for transport errors).
	Statuses map[string]int `json:"statuses"`
	// ErrorStatuses counts the errors by status.
	ErrorStatuses map[string]int `json:"error_statuses,omitempty"`
}

// summarize computes the Stats of samples over an interval of length span.
func summarize(name string, samples []sample, span time.Duration) Stats {
	st := Stats{Name: name, Requests: len(samples), Statuses: map[string]int{}}
	if len(samples) == 0 {
		return st
	}
	lat := make([]time.Duration, len(samples))
	var sum time.Duration
	for i, s := range samples {
		lat[i] = s.latency
		sum += s.latency
		code := strconv.Itoa(s.status)
		st.Statuses[code]++
		if !s.ok {
			st.Errors++
			if st.ErrorStatuses == nil {
				st.ErrorStatuses = map[string]int{}
			}
			st.ErrorStatuses[code]++
		}
	}
	slices.Sort(lat)
	st.ErrorRate = float64(st.Errors) / float64(len(samples))
	if span > 0 {
		st.Throughput = float64(len(samples)) / span.Seconds()
	}
	st.P50 = ms(percentile(lat, 50))
	st.P95 = ms(percentile(lat, 95))
	st.P99 = ms(percentile(lat, 99))
	st.Max = ms(lat[len(lat)-1])
	st.Mean = ms(sum / time.Duration(len(lat)))
	return st
}

// byEndpoint summarises samples per endpoint, sorted by endpoint name.
func byEndpoint(samples []sample, span time.Duration) []Stats {
	groups := map[string][]sample{}
	for _, s := range samples {
		groups[s.endpoint] = append(groups[s.endpoint], s)
	}
	out := make([]Stats, 0, len(groups))
	for _, name := range slices.Sorted(maps.Keys(groups)) {
		out = append(out, summarize(name, groups[name], span))
	}
	return out
}

// percentile returns the nearest-rank p-th percentile of sorted, which
// must not be empty: the element at rank ceil(p/100 * n).
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	rank := int(math.Ceil(p * float64(n) / 100)) // p*n is exact for integer p
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}

// ms converts d to fractional milliseconds, rounded to microseconds.
func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}
