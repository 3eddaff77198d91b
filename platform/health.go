package platform

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// liveBody is the answer of /health/live.
type liveBody struct {
	Status string `json:"status"` // always "ok"
}

// readyBody is the answer of /health/ready when every dependency answers.
type readyBody struct {
	Status string            `json:"status"` // "ok"
	Checks map[string]string `json:"checks"` // dependency → "ok"
}

// readyTimeout bounds each dependency check of /health/ready.
const readyTimeout = 2 * time.Second

// live answers 200 whenever the process serves HTTP.
func (s *Server) live(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, liveBody{Status: "ok"})
	return nil
}

// ready answers 200 when the database (and Redis, when configured) answer
// within readyTimeout, else a 503 problem naming the failed dependencies
// (never why: the error goes to the log).
func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	checks := map[string]string{}
	var down []string
	for _, c := range s.readiness() {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		err := c.check(ctx)
		cancel()
		if err != nil {
			down = append(down, c.name)
			checks[c.name] = "down"
			s.logger(r.Context()).Warn("readiness check failed", "dependency", c.name, "error", err.Error())
			continue
		}
		checks[c.name] = "ok"
	}
	if len(down) > 0 {
		return newAPIError(http.StatusServiceUnavailable, "not_ready",
			"unavailable: "+strings.Join(down, ", "))
	}
	writeJSON(w, http.StatusOK, readyBody{Status: "ok", Checks: checks})
	return nil
}

// readinessCheck is one dependency /health/ready asks.
type readinessCheck struct {
	name  string
	check func(context.Context) error
}

// readiness lists the dependencies to check: the database, and Redis when
// configured.
func (s *Server) readiness() []readinessCheck {
	checks := []readinessCheck{{name: "database", check: func(ctx context.Context) error {
		sqlDB, err := s.db.DB()
		if err != nil {
			return err
		}
		return sqlDB.PingContext(ctx)
	}}}
	if s.redis != nil {
		checks = append(checks, readinessCheck{name: "redis", check: func(ctx context.Context) error {
			return s.redis.Ping(ctx).Err()
		}})
	}
	return checks
}
