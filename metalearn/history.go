package metalearn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/maestro-ml/maestro/registry"
)

// RegistryReader is the part of *registry.Registry that feature extraction
// reads. Every call works on the context's tenant.
type RegistryReader interface {
	ListProjects(ctx context.Context, f registry.ProjectFilter) (registry.Page[registry.Project], error)
	GetProject(ctx context.Context, id string) (*registry.Project, error)
	ListTeamMembers(ctx context.Context, projectID string) ([]registry.TeamMember, error)
	ListProcessMetrics(ctx context.Context, projectID, metricType string, page registry.PageRequest) (registry.Page[registry.ProcessMetric], error)
	ArtifactUsages(ctx context.Context, f registry.ArtifactUsageFilter) (registry.Page[registry.ArtifactUsage], error)
	GetArtifact(ctx context.Context, id string) (*registry.Artifact, error)
}

var _ RegistryReader = (*registry.Registry)(nil)

// FeatureCutoff chooses the moment a training record's features describe,
// so that no feature holds what was recorded after that moment.
type FeatureCutoff int

const (
	// CutoffPlanning describes each completed project as it stood when
	// it started, the moment a planning-time prediction is made: process
	// metrics measured (timestamp) up to its StartedAt, team members
	// registered up to the later of StartedAt and CreatedAt, and artifact
	// impact from the other projects' ratings registered up to that
	// moment. It is the default. Projects rarely record process metrics
	// before they start, so a model trained this way usually never sees
	// them, and a prediction lists any it is given as ignored.
	CutoffPlanning FeatureCutoff = iota
	// CutoffCompletion describes each project as it stood at its
	// CompletedAt: everything recorded up to its outcome, with artifact
	// impact from the ratings registered up to then (never those of
	// projects that finished later).
	CutoffCompletion
)

// HistoryOption configures a RegistryHistory.
type HistoryOption func(*RegistryHistory)

// WithFeatureCutoff sets the moment training features describe (default
// CutoffPlanning).
func WithFeatureCutoff(c FeatureCutoff) HistoryOption {
	return func(h *RegistryHistory) {
		if c == CutoffPlanning || c == CutoffCompletion {
			h.cutoff = c
		}
	}
}

// RegistryHistory extracts features and outcomes from a registry. It
// satisfies HistorySource. Extraction reads each project's team, process
// metrics and artifact usages (a few queries per project) and each used
// artifact's usages once per call. It is safe for concurrent use when the
// reader is.
//
// Training records (History) describe each project at its cut-off (see
// FeatureCutoff); Features describes a project as it stands now, for
// predicting it. The registry keeps no history of a project's own fields,
// so complexity and planned team size are their current values, and a
// team member removed from a project is absent at every cut-off.
type RegistryHistory struct {
	reg    RegistryReader
	cutoff FeatureCutoff
}

// NewRegistryHistory returns a RegistryHistory reading from reg (typically a
// *registry.Registry).
func NewRegistryHistory(reg RegistryReader, opts ...HistoryOption) *RegistryHistory {
	h := &RegistryHistory{reg: reg}
	for _, o := range opts {
		if o != nil {
			o(h)
		}
	}
	return h
}

// cutoffs are the moments a project's features describe: measured values
// (process-metric timestamps) up to measured, registered rows (team
// members, impact ratings) up to registered.
type cutoffs struct{ measured, registered time.Time }

// forever admits everything recorded.
var forever = cutoffs{measured: time.Unix(1<<62, 0), registered: time.Unix(1<<62, 0)}

func (h *RegistryHistory) cutoffOf(p *registry.Project) cutoffs {
	if h.cutoff == CutoffCompletion && p.CompletedAt != nil {
		return cutoffs{measured: *p.CompletedAt, registered: *p.CompletedAt}
	}
	reg := p.StartedAt
	if p.CreatedAt.After(reg) {
		reg = p.CreatedAt
	}
	return cutoffs{measured: p.StartedAt, registered: reg}
}

// extraction caches what one History or Features call reads once.
type extraction struct {
	arts   map[string]*registry.Artifact
	usages map[string][]registry.ArtifactUsage
}

func newExtraction() *extraction {
	return &extraction{arts: map[string]*registry.Artifact{}, usages: map[string][]registry.ArtifactUsage{}}
}

// History returns the context tenant's completed projects that have a
// success score and a valid outcome, each described at its cut-off, in
// the registry's listing order (newest first; Train orders them by
// CompletedAt). Projects whose stored outcome or features fail validation
// are skipped.
func (h *RegistryHistory) History(ctx context.Context) ([]Record, error) {
	ex := newExtraction()
	var out []Record
	cursor := ""
	for {
		page, err := h.reg.ListProjects(ctx, registry.ProjectFilter{Status: registry.StatusCompleted, Limit: registry.MaxLimit, Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("metalearn: list completed projects: %w", err)
		}
		for i := range page.Items {
			p := &page.Items[i]
			o, ok := p.Outcome()
			if !ok || p.SuccessScore == nil {
				continue
			}
			rec := Record{Outcome: Outcome{SuccessScore: *p.SuccessScore, DeploymentDays: o.DeploymentDays, ComputeCost: o.ComputeCost}}
			if rec.Outcome.Validate() != nil {
				continue
			}
			if p.CompletedAt != nil {
				rec.CompletedAt = p.CompletedAt.UTC()
			}
			if rec.Features, err = h.features(ctx, p, h.cutoffOf(p), ex); err != nil {
				return nil, err
			}
			if rec.Features.Validate() != nil {
				continue
			}
			out = append(out, rec)
		}
		if page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// Features returns the features of one project of the context's tenant as
// it stands now, for predicting it. Unknown ids fail with the registry's
// not-found error.
func (h *RegistryHistory) Features(ctx context.Context, projectID string) (ProjectFeatures, error) {
	p, err := h.reg.GetProject(ctx, projectID)
	if err != nil {
		return ProjectFeatures{}, fmt.Errorf("metalearn: project %s: %w", projectID, err)
	}
	return h.features(ctx, p, forever, newExtraction())
}

// features assembles a project's features from the registry as of cut.
func (h *RegistryHistory) features(ctx context.Context, p *registry.Project, cut cutoffs, ex *extraction) (ProjectFeatures, error) {
	f := ProjectFeatures{
		ProjectID:    p.ID,
		ProblemClass: string(p.ProblemClass),
		Complexity:   float64(p.ComplexityScore),
		TeamSize:     p.TeamSize,
	}
	team, err := h.reg.ListTeamMembers(ctx, p.ID)
	if err != nil {
		return f, fmt.Errorf("metalearn: team of %s: %w", p.ID, err)
	}
	for _, m := range team {
		if !m.CreatedAt.After(cut.registered) {
			f.Team = append(f.Team, TeamMember{Role: m.Role, Level: string(m.ExperienceLevel)})
		}
	}
	metrics, err := allPages(func(cursor string) (registry.Page[registry.ProcessMetric], error) {
		return h.reg.ListProcessMetrics(ctx, p.ID, "", registry.PageRequest{Limit: registry.MaxLimit, Cursor: cursor})
	})
	if err != nil {
		return f, fmt.Errorf("metalearn: process metrics of %s: %w", p.ID, err)
	}
	f.ProcessMetrics = processFeatures(summarizeUntil(metrics, cut.measured))
	usages, err := h.usages(ctx, registry.ArtifactUsageFilter{ProjectID: p.ID})
	if err != nil {
		return f, fmt.Errorf("metalearn: artifact usages of %s: %w", p.ID, err)
	}
	for _, u := range usages {
		a, ok := ex.arts[u.ArtifactID]
		if !ok {
			a, err = h.reg.GetArtifact(ctx, u.ArtifactID)
			if errors.Is(err, registry.ErrNotFound) {
				continue // deleted since the usage was listed
			}
			if err != nil {
				return f, fmt.Errorf("metalearn: artifact %s: %w", u.ArtifactID, err)
			}
			ex.arts[u.ArtifactID] = a
		}
		all, ok := ex.usages[a.ID]
		if !ok {
			if all, err = h.usages(ctx, registry.ArtifactUsageFilter{ArtifactID: a.ID}); err != nil {
				return f, fmt.Errorf("metalearn: usages of artifact %s: %w", a.ID, err)
			}
			ex.usages[a.ID] = all
		}
		f.Artifacts = append(f.Artifacts, ArtifactUse{ID: a.ID, Name: a.Name, Type: string(a.Type), Impact: impactAsOf(all, p.ID, cut.registered)})
	}
	return f, nil
}

// impactAsOf returns the mean impact score of an artifact's usages by
// projects other than projectID registered up to cut, so neither the
// project's own (post-outcome) rating nor any rating recorded after the
// moment the features describe reaches them; -1 when there is none.
func impactAsOf(usages []registry.ArtifactUsage, projectID string, cut time.Time) float64 {
	sum, n := 0.0, 0
	for _, u := range usages {
		if u.ProjectID == projectID || u.ImpactScore == nil || u.CreatedAt.After(cut) || !finite(*u.ImpactScore) {
			continue
		}
		sum += *u.ImpactScore
		n++
	}
	if n == 0 {
		return -1
	}
	return max(0, min(100, sum/float64(n)))
}

// summarizeUntil summarises, per type, the process metrics measured up to
// cut (ms oldest first, as ListProcessMetrics returns them) the way
// registry.SummarizeProcessMetrics summarises all of them: latest value,
// mean, and the sum per week between the first and last value (at least
// one week).
func summarizeUntil(ms []registry.ProcessMetric, cut time.Time) []registry.ProcessSummary {
	byType := map[string]*registry.ProcessSummary{}
	var order []string
	for _, m := range ms {
		if m.RecordedAt.After(cut) {
			continue
		}
		s := byType[m.MetricType]
		if s == nil {
			s = &registry.ProcessSummary{MetricType: m.MetricType, FirstTimestamp: m.RecordedAt, Min: m.Value, Max: m.Value}
			byType[m.MetricType] = s
			order = append(order, m.MetricType)
		}
		s.Count++
		s.Sum += m.Value
		s.Min, s.Max = math.Min(s.Min, m.Value), math.Max(s.Max, m.Value)
		if !m.RecordedAt.Before(s.LastTimestamp) {
			s.LastValue, s.LastTimestamp = m.Value, m.RecordedAt
		}
	}
	out := make([]registry.ProcessSummary, 0, len(order))
	for _, t := range order {
		s := byType[t]
		s.Mean = s.Sum / float64(s.Count)
		weeks := math.Max(1, float64(s.LastTimestamp.Sub(s.FirstTimestamp))/float64(7*24*time.Hour))
		s.RatePerWeek = s.Sum / weeks
		out = append(out, *s)
	}
	return out
}

// processFeatures maps the registry's process summaries to the metric keys
// of the feature set: the latest pipeline success rate, commits as a rate
// per week, the mean code-review hours and the latest open defects.
func processFeatures(sums []registry.ProcessSummary) map[string]float64 {
	m := map[string]float64{}
	for _, s := range sums {
		switch s.MetricType {
		case registry.MetricPipelineSuccessRate:
			if s.LastValue >= 0 && s.LastValue <= 1 {
				m[MetricPipelineSuccessRate] = s.LastValue
			}
		case registry.MetricCommits:
			if s.RatePerWeek >= 0 {
				m[MetricCommitsPerWeek] = s.RatePerWeek
			}
		case registry.MetricCodeReviewHours:
			if s.Mean >= 0 {
				m[MetricCodeReviewHours] = s.Mean
			}
		case registry.MetricOpenDefects:
			if s.LastValue >= 0 {
				m[MetricOpenDefects] = s.LastValue
			}
		}
	}
	for k, v := range m {
		if !finite(v) {
			delete(m, k)
		}
	}
	return m
}

// usages returns every usage f selects, oldest first, page by page.
func (h *RegistryHistory) usages(ctx context.Context, f registry.ArtifactUsageFilter) ([]registry.ArtifactUsage, error) {
	return allPages(func(cursor string) (registry.Page[registry.ArtifactUsage], error) {
		f.Limit, f.Cursor = registry.MaxLimit, cursor
		return h.reg.ArtifactUsages(ctx, f)
	})
}

// allPages collects every item of a paged listing, following its cursors.
func allPages[T any](page func(cursor string) (registry.Page[T], error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		p, err := page(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" {
			return out, nil
		}
		cursor = p.NextCursor
	}
}
