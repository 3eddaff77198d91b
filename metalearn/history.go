package metalearn

import (
	"context"
	"errors"
	"fmt"

	"github.com/maestro-ml/maestro/registry"
)

// RegistryReader is the part of *registry.Registry that feature extraction
// reads. Every call works on the context's tenant.
type RegistryReader interface {
	ListProjects(ctx context.Context, f registry.ProjectFilter) (registry.Page[registry.Project], error)
	GetProject(ctx context.Context, id string) (*registry.Project, error)
	ListTeamMembers(ctx context.Context, projectID string) ([]registry.TeamMember, error)
	SummarizeProcessMetrics(ctx context.Context, projectID string) ([]registry.ProcessSummary, error)
	ListArtifactUsages(ctx context.Context, f registry.ArtifactUsageFilter) ([]registry.ArtifactUsage, error)
	GetArtifact(ctx context.Context, id string) (*registry.Artifact, error)
}

var _ RegistryReader = (*registry.Registry)(nil)

// RegistryHistory extracts features and outcomes from a registry. It
// satisfies HistorySource. Extraction reads each project's team, process
// summary and artifact usages (a few queries per project); artifacts are
// read once per call. It is safe for concurrent use when the reader is.
type RegistryHistory struct {
	reg RegistryReader
}

// NewRegistryHistory returns a RegistryHistory reading from reg (typically a
// *registry.Registry).
func NewRegistryHistory(reg RegistryReader) *RegistryHistory {
	return &RegistryHistory{reg: reg}
}

// History returns the context tenant's completed projects that have a
// success score and a valid outcome, in the registry's listing order
// (newest first). Projects whose stored outcome or features fail
// validation are skipped.
func (h *RegistryHistory) History(ctx context.Context) ([]Record, error) {
	arts := map[string]*registry.Artifact{}
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
			if rec.Features, err = h.features(ctx, p, arts); err != nil {
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

// Features returns the features of one project of the context's tenant,
// for predicting it. Unknown ids fail with the registry's not-found error.
func (h *RegistryHistory) Features(ctx context.Context, projectID string) (ProjectFeatures, error) {
	p, err := h.reg.GetProject(ctx, projectID)
	if err != nil {
		return ProjectFeatures{}, fmt.Errorf("metalearn: project %s: %w", projectID, err)
	}
	return h.features(ctx, p, map[string]*registry.Artifact{})
}

// features assembles a project's features from the registry.
func (h *RegistryHistory) features(ctx context.Context, p *registry.Project, arts map[string]*registry.Artifact) (ProjectFeatures, error) {
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
		f.Team = append(f.Team, TeamMember{Role: m.Role, Level: string(m.ExperienceLevel)})
	}
	sums, err := h.reg.SummarizeProcessMetrics(ctx, p.ID)
	if err != nil {
		return f, fmt.Errorf("metalearn: process metrics of %s: %w", p.ID, err)
	}
	f.ProcessMetrics = processFeatures(sums)
	usages, err := h.reg.ListArtifactUsages(ctx, registry.ArtifactUsageFilter{ProjectID: p.ID})
	if err != nil {
		return f, fmt.Errorf("metalearn: artifact usages of %s: %w", p.ID, err)
	}
	for _, u := range usages {
		a, ok := arts[u.ArtifactID]
		if !ok {
			a, err = h.reg.GetArtifact(ctx, u.ArtifactID)
			if errors.Is(err, registry.ErrNotFound) {
				continue // deleted since the usage was listed
			}
			if err != nil {
				return f, fmt.Errorf("metalearn: artifact %s: %w", u.ArtifactID, err)
			}
			arts[u.ArtifactID] = a
		}
		f.Artifacts = append(f.Artifacts, ArtifactUse{ID: a.ID, Name: a.Name, Type: string(a.Type), Impact: impactWithout(a, u)})
	}
	return f, nil
}

// impactWithout returns the artifact's mean impact score over its other
// usages, so a project's own (post-outcome) impact rating never feeds its
// own features; -1 when no other usage has a score.
func impactWithout(a *registry.Artifact, u registry.ArtifactUsage) float64 {
	sum, n := a.ImpactSum, a.ImpactCount
	if u.ImpactScore != nil {
		sum -= *u.ImpactScore
		n--
	}
	if n <= 0 {
		return -1
	}
	v := sum / float64(n)
	if !finite(v) {
		return -1
	}
	return max(0, min(100, v))
}

// processFeatures maps the registry's process summaries to the metric keys
// of the feature set: the latest pipeline success rate, commits as a rate
// per week, the mean code-review hours and the latest open defects.
func processFeatures(sums []registry.ProcessSummary) map[string]float64 {
	m := map[string]float64{}
	for _, s := range sums {
		switch s.MetricType {
		case registry.MetricPipelineSuccessRate:
			if s.Latest >= 0 && s.Latest <= 1 {
				m[MetricPipelineSuccessRate] = s.Latest
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
			if s.Latest >= 0 {
				m[MetricOpenDefects] = s.Latest
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
