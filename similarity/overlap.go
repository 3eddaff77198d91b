package similarity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/registry"
)

// Section names of an overlap report: the JSON names of registry.Spec.
const (
	SectionUserStories               = "user_stories"
	SectionFunctionalRequirements    = "functional_requirements"
	SectionNonFunctionalRequirements = "non_functional_requirements"
	SectionDataModels                = "data_models"
	SectionAPIEndpoints              = "api_endpoints"
)

// sectionOrder lists the sections in report order.
func sectionOrder() []string {
	return []string{SectionUserStories, SectionFunctionalRequirements, SectionNonFunctionalRequirements,
		SectionDataModels, SectionAPIEndpoints}
}

// ItemStatus classifies one item of a new spec against an existing project.
type ItemStatus string

// Item statuses.
const (
	// StatusReused: the project has an equivalent item (similarity at or
	// above OverlapThresholds.Reused, or the same text).
	StatusReused ItemStatus = "reused"
	// StatusModified: the project has a related item to adapt (similarity
	// at or above OverlapThresholds.Modified).
	StatusModified ItemStatus = "modified"
	// StatusNew: nothing in the project comes close.
	StatusNew ItemStatus = "new"
)

// ReuseStrategy recommends how to start a new project given its overlap
// with an existing one.
type ReuseStrategy string

// Reuse strategies, chosen from the overall overlap by
// OverlapThresholds.
const (
	CloneAndCustomize ReuseStrategy = "clone_and_customize"
	CloneWithChanges  ReuseStrategy = "clone_with_changes"
	Hybrid            ReuseStrategy = "hybrid"
	BuildFromScratch  ReuseStrategy = "build_from_scratch"
)

// OverlapThresholds are the cut-offs of overlap reports. Item thresholds
// apply to the cosine similarity of an item and its best counterpart;
// strategy thresholds apply to the overall overlap (0 to 1).
type OverlapThresholds struct {
	Reused   float64 // item: reused at or above (default 0.85)
	Modified float64 // item: modified at or above (default 0.55)

	CloneAndCustomize float64 // overall: clone_and_customize at or above (default 0.80)
	CloneWithChanges  float64 // overall: clone_with_changes at or above (default 0.50)
	Hybrid            float64 // overall: hybrid at or above (default 0.20); below: build_from_scratch
}

// DefaultOverlapThresholds returns the defaults, calibrated for neural
// sentence embeddings: with all-MiniLM-L6-v2, reworded spec items
// (testdata/paraphrases.json) score 0.29 to 0.78 (mean 0.61) and items of
// unrelated pairs at most 0.49, so 0.55 marks "modified"; near-verbatim
// items score above 0.85. Embedders with another similarity scale say so
// by implementing Calibrated.
func DefaultOverlapThresholds() OverlapThresholds {
	return OverlapThresholds{Reused: 0.85, Modified: 0.55, CloneAndCustomize: 0.80, CloneWithChanges: 0.50, Hybrid: 0.20}
}

// Calibrated is an optional interface of an Embedder whose cosine
// similarities run on another scale than a neural sentence model's: a
// Service uses its OverlapThresholds unless WithOverlapThresholds is given.
type Calibrated interface {
	OverlapThresholds() OverlapThresholds
}

func (t OverlapThresholds) valid() bool {
	in := func(x float64) bool { return x > 0 && x <= 1 }
	return in(t.Reused) && in(t.Modified) && t.Modified <= t.Reused &&
		in(t.CloneAndCustomize) && in(t.CloneWithChanges) && in(t.Hybrid) &&
		t.Hybrid <= t.CloneWithChanges && t.CloneWithChanges <= t.CloneAndCustomize
}

// EffortModel holds the unit costs of the effort estimate: hours to build
// one new item of each kind, and the fraction of that cost that a reused or
// modified item still takes (integration and review, or adaptation).
type EffortModel struct {
	UserStoryHours                float64 // default 16
	FunctionalRequirementHours    float64 // default 12
	NonFunctionalRequirementHours float64 // default 10
	DataModelHours                float64 // default 6
	EndpointHours                 float64 // default 4
	ReusedFactor                  float64 // default 0.1
	ModifiedFactor                float64 // default 0.5
}

// DefaultEffortModel returns the default unit costs.
func DefaultEffortModel() EffortModel {
	return EffortModel{
		UserStoryHours: 16, FunctionalRequirementHours: 12, NonFunctionalRequirementHours: 10,
		DataModelHours: 6, EndpointHours: 4, ReusedFactor: 0.1, ModifiedFactor: 0.5,
	}
}

func (e EffortModel) valid() bool {
	for _, x := range []float64{e.UserStoryHours, e.FunctionalRequirementHours, e.NonFunctionalRequirementHours,
		e.DataModelHours, e.EndpointHours, e.ReusedFactor, e.ModifiedFactor} {
		if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return e.ReusedFactor <= 1 && e.ModifiedFactor <= 1
}

func (e EffortModel) unit(section string) float64 {
	switch section {
	case SectionUserStories:
		return e.UserStoryHours
	case SectionFunctionalRequirements:
		return e.FunctionalRequirementHours
	case SectionNonFunctionalRequirements:
		return e.NonFunctionalRequirementHours
	case SectionDataModels:
		return e.DataModelHours
	default:
		return e.EndpointHours
	}
}

func (e EffortModel) factor(s ItemStatus) float64 {
	switch s {
	case StatusReused:
		return e.ReusedFactor
	case StatusModified:
		return e.ModifiedFactor
	default:
		return 1
	}
}

// WithOverlapThresholds replaces the thresholds of overlap reports. It
// reports ErrInvalid unless every value is in (0, 1],
// Modified <= Reused and Hybrid <= CloneWithChanges <= CloneAndCustomize.
func WithOverlapThresholds(t OverlapThresholds) Option {
	return func(s *Service) error {
		if !t.valid() {
			return fmt.Errorf("%w: overlap thresholds %+v", ErrInvalid, t)
		}
		s.thresholds = t
		return nil
	}
}

// WithEffortModel replaces the unit costs of effort estimates. It reports
// ErrInvalid for a negative or non-finite cost or a factor above 1.
func WithEffortModel(e EffortModel) Option {
	return func(s *Service) error {
		if !e.valid() {
			return fmt.Errorf("%w: effort model %+v", ErrInvalid, e)
		}
		s.effort = e
		return nil
	}
}

// ItemMatch is one item of the new spec and its best counterpart in the
// same section of the project.
type ItemMatch struct {
	Text        string     `json:"text"`
	Status      ItemStatus `json:"status"`
	Similarity  float64    `json:"similarity"`    // with the best counterpart; 0 when none
	MatchedText string     `json:"matched_text"`  // the best counterpart; "" when none
	MatchIndex  int        `json:"matched_index"` // its index in the project's section; -1 when none
	EffortHours float64    `json:"effort_hours"`  // this item's share of the estimate
}

// SectionOverlap is the overlap of one section of the new spec.
type SectionOverlap struct {
	// Overlap is (reused + modified/2) / items, from 0 (all new) to 1.
	Overlap     float64     `json:"overlap"`
	Reused      int         `json:"reused"`
	Modified    int         `json:"modified"`
	New         int         `json:"new"`
	EffortHours float64     `json:"effort_hours"`
	Items       []ItemMatch `json:"items"`
}

// OverlapReport compares a new spec with an existing project.
type OverlapReport struct {
	ProjectID string `json:"project_id"`
	// Overall is the overlap over the items of all sections together,
	// (reused + modified/2) / items.
	Overall float64 `json:"overall"`
	// Sections holds the sections that have items in the new spec, keyed
	// by their JSON names (SectionUserStories, ...).
	Sections             map[string]SectionOverlap `json:"sections"`
	ReuseStrategy        ReuseStrategy             `json:"reuse_strategy"`
	EstimatedEffortHours float64                   `json:"estimated_effort_hours"`
	Model                string                    `json:"model"`
}

// MaxOverlapPairs bounds the work of one overlap report: the pairs of
// items it compares, the sum over sections of the new spec's items times
// the project's. Each pair costs a dot product of two embeddings; at the
// bound a report compares 250,000 pairs (docs/similarity.md has the
// benchmark). Beyond it Overlap fails with a *TooLargeError before it
// embeds anything.
const MaxOverlapPairs = 250_000

// overlapPairs returns the pairs of items an overlap report of newSec
// against oldSec compares.
func overlapPairs(newSec, oldSec map[string][]string) int64 {
	var n int64
	for name, items := range newSec {
		n += int64(len(items)) * int64(len(oldSec[name]))
	}
	return n
}

// specSections returns the texts of each section's items, in section
// order, blank items dropped.
func specSections(spec registry.Spec) map[string][]string {
	keep := func(items []string) []string {
		out := make([]string, 0, len(items))
		for _, it := range items {
			if it = clean(it); it != "" {
				out = append(out, it)
			}
		}
		return out
	}
	return map[string][]string{
		SectionUserStories:               keep(spec.UserStories),
		SectionFunctionalRequirements:    keep(spec.FunctionalRequirements),
		SectionNonFunctionalRequirements: keep(spec.NonFunctionalRequirements),
		SectionDataModels:                keep(dataModelTexts(spec.DataModels)),
		SectionAPIEndpoints:              keep(endpointTexts(spec.APIEndpoints)),
	}
}

// Overlap compares a new spec with the stored spec of project projectID of
// the context's tenant. Each story, requirement, data model ("Entity:
// fields") and endpoint ("METHOD /path: purpose") of the new spec is
// matched to its most similar item in the same section of the project, by
// cosine similarity of their embeddings, and classified reused, modified or
// new by the OverlapThresholds; an item with the same text (after white
// space is collapsed; case is ignored) is reused. The report gives each
// section's and the overall overlap, the reuse strategy for the overall
// overlap, and an effort estimate: the sum over items of the section's unit
// cost times the status factor of the EffortModel.
//
// The work is bounded before it starts: a spec beyond the bounds of
// registry.Spec.Validate fails with its registry.ValidationErrors, and a
// report that would compare more than MaxOverlapPairs pairs of items with
// a *TooLargeError (ErrTooLarge), both before anything is embedded. The
// comparisons stop, with the context's error, as soon as ctx is done.
//
// It reports ErrNotIndexed for an unknown project and ErrInvalid
// for a spec without items.
func (s *Service) Overlap(ctx context.Context, spec registry.Spec, projectID string) (*OverlapReport, error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	if err := validProjectID(projectID); err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	newSec := specSections(spec)
	total := 0
	for _, items := range newSec {
		total += len(items)
	}
	if total == 0 {
		return nil, fmt.Errorf("%w: the spec has no items", ErrInvalid)
	}
	var row ProjectEmbedding
	if err := s.db.WithContext(ctx).Select("project_id", "spec_json").
		Where("tenant_id = ? AND project_id = ?", tenant, projectID).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, fmt.Errorf("%w: %s", ErrNotIndexed, projectID)
		}
		return nil, fmt.Errorf("similarity: load project spec: %w", err)
	}
	var old registry.Spec
	if err := json.Unmarshal([]byte(row.SpecJSON), &old); err != nil {
		return nil, fmt.Errorf("similarity: stored spec of %s: %w", projectID, err)
	}
	oldSec := specSections(old)
	if pairs := overlapPairs(newSec, oldSec); pairs > MaxOverlapPairs {
		return nil, &TooLargeError{Field: "spec", What: "item pairs compared with the project's spec",
			Limit: MaxOverlapPairs, Got: pairs}
	}

	// Embed every item of both specs in one call.
	var texts []string
	for _, name := range sectionOrder() {
		texts = append(texts, newSec[name]...)
		texts = append(texts, oldSec[name]...)
	}
	vecs, err := s.embedTexts(ctx, texts)
	if err != nil {
		return nil, err
	}
	rep := &OverlapReport{ProjectID: projectID, Sections: map[string]SectionOverlap{}, Model: s.emb.Model()}
	var credit float64
	next := 0
	for _, name := range sectionOrder() {
		nItems, oItems := newSec[name], oldSec[name]
		nVecs := vecs[next : next+len(nItems)]
		oVecs := vecs[next+len(nItems) : next+len(nItems)+len(oItems)]
		next += len(nItems) + len(oItems)
		if len(nItems) == 0 {
			continue
		}
		sec := SectionOverlap{Items: make([]ItemMatch, len(nItems))}
		for i, text := range nItems {
			// One item is at most MaxSpecSectionItems comparisons of a
			// stored spec within the bounds: check between items.
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if s.onCompare != nil {
				s.onCompare(len(oVecs))
			}
			m := ItemMatch{Text: text, Status: StatusNew, MatchIndex: -1}
			for j, ov := range oVecs {
				sim := float64(dot(nVecs[i], ov))
				if equalFold(text, oItems[j]) {
					sim = 1
				}
				if m.MatchIndex < 0 || sim > m.Similarity {
					m.Similarity, m.MatchIndex, m.MatchedText = sim, j, oItems[j]
				}
			}
			m.Similarity = math.Max(-1, math.Min(1, m.Similarity))
			switch {
			case m.MatchIndex >= 0 && m.Similarity >= s.thresholds.Reused:
				m.Status = StatusReused
				sec.Reused++
			case m.MatchIndex >= 0 && m.Similarity >= s.thresholds.Modified:
				m.Status = StatusModified
				sec.Modified++
			default:
				sec.New++
			}
			m.EffortHours = s.effort.unit(name) * s.effort.factor(m.Status)
			sec.EffortHours += m.EffortHours
			sec.Items[i] = m
		}
		c := float64(sec.Reused) + float64(sec.Modified)/2
		sec.Overlap = c / float64(len(nItems))
		credit += c
		rep.EstimatedEffortHours += sec.EffortHours
		rep.Sections[name] = sec
	}
	rep.Overall = credit / float64(total)
	rep.ReuseStrategy = s.thresholds.strategy(rep.Overall)
	return rep, nil
}

// strategy maps an overall overlap to a reuse strategy.
func (t OverlapThresholds) strategy(overall float64) ReuseStrategy {
	switch {
	case overall >= t.CloneAndCustomize:
		return CloneAndCustomize
	case overall >= t.CloneWithChanges:
		return CloneWithChanges
	case overall >= t.Hybrid:
		return Hybrid
	default:
		return BuildFromScratch
	}
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
