package registry

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestTeamMembers(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		p := newProject(t, e, e.a, "p")
		m1 := must[*TeamMember](t)(e.reg.AddTeamMember(e.a, p.ID, TeamMemberInput{Name: "Ada", Role: "ml_engineer", ExperienceLevel: Senior, ContributionHours: 120}))
		must[*TeamMember](t)(e.reg.AddTeamMember(e.a, p.ID, TeamMemberInput{Name: "Bo", Role: "data_scientist", ExperienceLevel: Junior}))
		for _, bad := range []TeamMemberInput{
			{Name: "", Role: "r", ExperienceLevel: Mid},
			{Name: "x", Role: "", ExperienceLevel: Mid},
			{Name: "x", Role: "r", ExperienceLevel: "guru"},
			{Name: "x", Role: "r", ExperienceLevel: Mid, ContributionHours: -1},
			{Name: "x", Role: "r", ExperienceLevel: Mid, ContributionHours: math.NaN()},
		} {
			if _, err := e.reg.AddTeamMember(e.a, p.ID, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("%+v = %v, want ErrInvalid", bad, err)
			}
		}
		if _, err := e.reg.AddTeamMember(e.b, p.ID, TeamMemberInput{Name: "Eve", Role: "r", ExperienceLevel: Mid}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("add to another tenant's project = %v", err)
		}
		team := must[[]TeamMember](t)(e.reg.ListTeamMembers(e.a, p.ID))
		if len(team) != 2 || team[0].Name != "Ada" || team[0].ExperienceLevel.Rank() != 3 || team[1].ContributionHours != 0 {
			t.Fatalf("team = %+v", team)
		}
		if _, err := e.reg.ListTeamMembers(e.b, p.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("list another tenant's team = %v", err)
		}
		if err := e.reg.RemoveTeamMember(e.b, p.ID, m1.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("remove from another tenant = %v", err)
		}
		if err := e.reg.RemoveTeamMember(e.a, p.ID, m1.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.RemoveTeamMember(e.a, p.ID, m1.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second remove = %v", err)
		}
		if err := e.reg.RemoveTeamMember(e.a, p.ID, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("remove malformed id = %v", err)
		}
		if ExperienceLevel("x").Rank() != 0 || !Principal.Valid() {
			t.Fatal("experience levels")
		}
	})
}

func TestProcessMetrics(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		p := newProject(t, e, e.a, "p")
		t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
		var batch []ProcessMetricInput
		for i := range 5 {
			at := t0.Add(time.Duration(i) * week)
			batch = append(batch,
				ProcessMetricInput{MetricType: MetricCommits, Value: 10, Timestamp: at},
				ProcessMetricInput{MetricType: MetricPipelineSuccessRate, Value: 0.5 + 0.1*float64(i), Timestamp: at})
		}
		if err := e.reg.RecordProcessMetrics(e.a, p.ID, batch); err != nil {
			t.Fatal(err)
		}
		sum := must[[]ProcessSummary](t)(e.reg.SummarizeProcessMetrics(e.a, p.ID))
		if len(sum) != 2 || sum[0].MetricType != MetricCommits || sum[1].MetricType != MetricPipelineSuccessRate {
			t.Fatalf("summary = %+v", sum)
		}
		c, r := sum[0], sum[1]
		// 50 commits over 4 weeks: 12.5 a week; flat: no trend.
		if c.Count != 5 || c.Sum != 50 || c.RatePerWeek != 12.5 || math.Abs(c.TrendPerWeek) > 1e-9 || c.LastValue != 10 {
			t.Errorf("commits summary = %+v", c)
		}
		// 0.5 .. 0.9, +0.1 a week.
		if math.Abs(r.TrendPerWeek-0.1) > 1e-9 || math.Abs(r.LastValue-0.9) > 1e-9 || r.Min != 0.5 || math.Abs(r.Max-0.9) > 1e-9 ||
			!r.FirstTimestamp.Equal(t0) || !r.LastTimestamp.Equal(t0.Add(4*week)) || math.Abs(r.Mean-0.7) > 1e-9 {
			t.Errorf("pipeline summary = %+v", r)
		}
		list := must[[]ProcessMetric](t)(items(e.reg.ListProcessMetrics(e.a, p.ID, MetricCommits, PageRequest{})))
		if len(list) != 5 || !list[0].RecordedAt.Equal(t0) {
			t.Fatalf("list = %+v", list)
		}
		// All or nothing.
		bad := []ProcessMetricInput{{MetricType: "ok", Value: 1}, {MetricType: "ok", Value: math.Inf(1)}}
		if err := e.reg.RecordProcessMetrics(e.a, p.ID, bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("non-finite = %v", err)
		}
		for _, b := range [][]ProcessMetricInput{nil, {{MetricType: "Bad Type", Value: 1}},
			{{MetricType: "ok", Value: 1, Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}} {
			if err := e.reg.RecordProcessMetrics(e.a, p.ID, b); !errors.Is(err, ErrInvalid) {
				t.Errorf("%+v = %v", b, err)
			}
		}
		if err := e.reg.RecordProcessMetrics(e.a, p.ID, make([]ProcessMetricInput, MaxProcessMetricBatch+1)); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("oversized = %v", err)
		}
		if err := e.reg.RecordProcessMetrics(e.b, p.ID, []ProcessMetricInput{{MetricType: "x", Value: 1}}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant = %v", err)
		}
		if n := len(must[[]ProcessMetric](t)(items(e.reg.ListProcessMetrics(e.a, p.ID, "", PageRequest{})))); n != 10 {
			t.Fatalf("rejected batches stored values: %d", n)
		}
		one := []ProcessMetricInput{{MetricType: "deployments", Value: 3}}
		if err := e.reg.RecordProcessMetrics(e.a, p.ID, one); err != nil {
			t.Fatal(err)
		}
		sum = must[[]ProcessSummary](t)(e.reg.SummarizeProcessMetrics(e.a, p.ID))
		if sum[1].MetricType != "deployments" || sum[1].RatePerWeek != 3 || sum[1].TrendPerWeek != 0 {
			t.Fatalf("single value summary = %+v", sum[1])
		}
		if _, err := e.reg.SummarizeProcessMetrics(e.b, p.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant summary = %v", err)
		}
	})
}
