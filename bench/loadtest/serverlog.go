package loadtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ServerSide is the server's own view of the measured part of a run, read
// from its JSON access log: the time each request spent inside the server
// (from the access-log middleware to the response), without the network,
// the accept queue or the client. Comparing it with the client's latency
// shows how much of a slow request was queueing outside the handlers.
type ServerSide struct {
	// Source is the log file read.
	Source string `json:"source"`
	// Overall and Endpoints are as in Report; endpoints are named by
	// method and route, ids replaced by {id}. An error here is a status of
	// 500 or more.
	Overall   Stats   `json:"overall"`
	Endpoints []Stats `json:"endpoints"`
}

// accessRecord is the part of an examples/platform access-log line the
// harness reads.
type accessRecord struct {
	Time     time.Time `json:"time"`
	Msg      string    `json:"msg"`
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Status   int       `json:"status"`
	Duration int64     `json:"duration"` // nanoseconds (slog's JSON form of a time.Duration)
}

// readServerLog summarises the access-log records of r that were written
// in [from, to], a span of length span.
func readServerLog(r io.Reader, from, to time.Time) (Stats, []Stats, error) {
	var samples []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !strings.Contains(string(line), `"msg":"request"`) {
			continue
		}
		var rec accessRecord
		if err := json.Unmarshal(line, &rec); err != nil || rec.Msg != "request" || rec.Method == "" {
			continue
		}
		if rec.Time.Before(from) || rec.Time.After(to) || rec.Duration < 0 {
			continue
		}
		samples = append(samples, sample{
			at: rec.Time.Sub(from), latency: time.Duration(rec.Duration),
			endpoint: rec.Method + " " + routeOf(rec.Path), status: rec.Status, ok: rec.Status < 500,
		})
	}
	if err := sc.Err(); err != nil {
		return Stats{}, nil, fmt.Errorf("loadtest: reading the server log: %w", err)
	}
	span := to.Sub(from)
	return summarize("all", samples, span), byEndpoint(samples, span), nil
}

// routeOf turns a request path into its route: the /api/v1 prefix dropped,
// UUIDs replaced by {id} and a run's metric key by {key}.
func routeOf(path string) string {
	path = strings.TrimPrefix(path, "/api/v1")
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if _, err := uuid.Parse(p); err == nil && len(p) == 36 {
			parts[i] = "{id}"
		} else if i >= 2 && parts[i-1] == "metrics" && parts[i-2] == "{id}" && i >= 3 && parts[i-3] == "runs" {
			parts[i] = "{key}"
		}
	}
	return strings.Join(parts, "/")
}

// serverSide reads the access log at path for the measured interval.
func serverSide(path string, from, to time.Time) (*ServerSide, error) {
	f, err := os.Open(path) // #nosec G304 -- the server log of the run, a path the harness chose
	if err != nil {
		return nil, fmt.Errorf("loadtest: the server log: %w", err)
	}
	defer f.Close()
	overall, eps, err := readServerLog(f, from, to)
	if err != nil {
		return nil, err
	}
	return &ServerSide{Source: path, Overall: overall, Endpoints: eps}, nil
}

// AddServerLog sets r.ServerSide from the server's JSON access log at path,
// for the measured interval of r (from r.Started for r.DurationSeconds).
// It lets a report written without -server-log be completed afterwards.
func (r *Report) AddServerLog(path string) error {
	from := r.Started
	ss, err := serverSide(path, from, from.Add(time.Duration(r.DurationSeconds*float64(time.Second))))
	if err != nil {
		return err
	}
	r.ServerSide = ss
	return nil
}
