package loadtest

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestConfigDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	ok := Config{Target: "http://127.0.0.1:8080", Admin: Credential{Username: "admin", Password: "pw"}}
	c, err := ok.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile != ProfileBaseline || c.Scenario != ScenarioMix || c.Users != 50 || c.Duration != time.Minute ||
		c.Stress.Max != 1000 || c.Spike.Peak != 500 || c.Spike.Base != 10 || c.Setup.Tenants != 4 || len(c.Mix) == 0 {
		t.Errorf("defaults: %+v", c)
	}
	if c.peakUsers() != 50 {
		t.Errorf("peak users %d", c.peakUsers())
	}
	c.Profile = ProfileStress
	if c.peakUsers() != 1000 {
		t.Errorf("stress peak users %d", c.peakUsers())
	}
	c.Profile = ProfileSpike
	if c.peakUsers() != 500 || c.window(time.Minute) != 5*time.Second {
		t.Errorf("spike peak users %d window %v", c.peakUsers(), c.window(time.Minute))
	}
	tests := []struct {
		name string
		edit func(*Config)
		want error
	}{
		{"remote target", func(c *Config) { c.Target = "http://192.0.2.1" }, ErrNonLoopback},
		{"no password", func(c *Config) { c.Admin.Password = "" }, ErrConfig},
		{"profile", func(c *Config) { c.Profile = "soak" }, ErrConfig},
		{"scenario", func(c *Config) { c.Scenario = "browse" }, ErrConfig},
		{"spike peak", func(c *Config) { c.Spike = SpikeConfig{Base: 10, Peak: 5} }, ErrConfig},
		{"spike base", func(c *Config) { c.Spike = SpikeConfig{Base: -1} }, ErrConfig},
		{"stress max", func(c *Config) { c.Stress = StressConfig{Start: 100, Max: 10} }, ErrConfig},
		{"negative duration", func(c *Config) { c.Duration = -time.Second }, ErrConfig},
		{"negative window", func(c *Config) { c.Window = -time.Second }, ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			if _, err := c.withDefaults(); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if _, err := Run(context.Background(), c); !errors.Is(err, tt.want) {
				t.Errorf("Run: error %v, want %v", err, tt.want)
			}
		})
	}
	bad := ok
	bad.Mix = []Weighted{{Op: "nope", Weight: 1}}
	if _, err := Run(context.Background(), bad); err == nil {
		t.Error("Run accepted an unknown operation")
	}
}

func TestPicker(t *testing.T) {
	t.Parallel()
	if _, err := newPicker([]Weighted{{Op: "nope", Weight: 1}}); err == nil {
		t.Error("unknown operation accepted")
	}
	if _, err := newPicker([]Weighted{{Op: OpMe, Weight: -1}}); err == nil {
		t.Error("negative weight accepted")
	}
	if _, err := newPicker([]Weighted{{Op: OpMe, Weight: 0}}); err == nil {
		t.Error("empty mix accepted")
	}
	p, err := newPicker([]Weighted{{OpMe, 3}, {OpRefresh, 0}, {OpGetProject, 1}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	for range 4000 {
		counts[p.pick(rng)]++
	}
	if counts[OpRefresh] != 0 || counts[OpMe] < 2800 || counts[OpMe] > 3200 || counts[OpGetProject] < 800 {
		t.Errorf("counts %v, want about 3:1", counts)
	}
	total := 0
	for _, w := range DefaultMix() {
		total += w.Weight
		if _, ok := ops[w.Op]; !ok {
			t.Errorf("DefaultMix names unknown %q", w.Op)
		}
	}
	if total != 100 || len(DefaultMix()) != len(ops) {
		t.Errorf("DefaultMix: total %d, %d of %d operations", total, len(DefaultMix()), len(ops))
	}
}

// TestSetupFailure checks that a refused admin login stops the run with
// the server's answer.
func TestSetupFailure(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"status":401,"code":"unauthorized"}`))
	}))
	defer srv.Close()
	_, err := Run(context.Background(), Config{Target: srv.URL, Admin: Credential{Username: "admin", Password: "wrong"}})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized || se.Want != http.StatusOK {
		t.Fatalf("error %v, want a 401 StatusError", err)
	}
	if se.Error() == "" {
		t.Error("empty error text")
	}
}
