package platform

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
)

// defaultSimilarLimit is the number of similar projects when ?limit= or
// "limit" is absent.
const defaultSimilarLimit = 5

// similarProjects handles GET /api/v1/projects/{id}/similar?limit=5: the
// tenant's projects most similar to this one, best first, never itself.
func (s *Server) similarProjects(w http.ResponseWriter, r *http.Request) error {
	k, err := similarLimit(r.URL.Query().Get("limit"))
	if err != nil {
		return err
	}
	ms, err := s.learn.similarTo(r.Context(), r.PathValue("id"), k)
	if err != nil {
		return err
	}
	writePage(w, nonNil(ms), "")
	return nil
}

// similarRequest is the body of POST /api/v1/specs/similar.
type similarRequest struct {
	Spec  *registry.Spec `json:"spec"`
	Text  string         `json:"text"`
	Limit *int           `json:"limit"`
}

// similarSpecs handles POST /api/v1/specs/similar {"spec"?,"text"?,"limit"?}:
// the tenant's projects most similar to a specification or a free text.
func (s *Server) similarSpecs(w http.ResponseWriter, r *http.Request) error {
	var in similarRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var spec registry.Spec
	if in.Spec != nil {
		spec = *in.Spec
	}
	var v validator
	v.check(!spec.IsZero() || in.Text != "", "spec", "give a spec, a text or both")
	v.checkText("text", in.Text, MaxSimilarTextBytes)
	v.checkSpec(in.Spec)
	k := defaultSimilarLimit
	if in.Limit != nil {
		k = *in.Limit
		v.check(k >= 1 && k <= similarity.MaxResults, "limit", fmt.Sprintf("must be from 1 to %d", similarity.MaxResults))
	}
	if err := v.err(); err != nil {
		return err
	}
	ms, err := s.learn.similarToSpec(r.Context(), in.Text, spec, k)
	if err != nil {
		return err
	}
	writePage(w, nonNil(ms), "")
	return nil
}

// overlapRequest is the body of POST /api/v1/specs/overlap.
type overlapRequest struct {
	Spec      *registry.Spec `json:"spec"`
	ProjectID string         `json:"project_id"`
}

// specOverlap handles POST /api/v1/specs/overlap {"spec","project_id"}: how
// much of a new spec the project already covers, per section and item,
// with a reuse strategy and an effort estimate. A spec beyond
// registry.Spec's bounds is 422 on its field, a report that would compare
// more than similarity.MaxOverlapPairs pairs of items 413 on "spec", both
// before any work; the comparisons stop when the request's context ends.
func (s *Server) specOverlap(w http.ResponseWriter, r *http.Request) error {
	var in overlapRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var v validator
	v.check(in.Spec != nil && !in.Spec.IsZero(), "spec", "required: a spec with at least one item")
	v.check(in.ProjectID != "", "project_id", "required")
	v.checkSpec(in.Spec)
	if err := v.err(); err != nil {
		return err
	}
	rep, err := s.learn.overlap(r.Context(), *in.Spec, in.ProjectID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// similarLimit parses ?limit= of a similarity search (default 5).
func similarLimit(raw string) (int, error) {
	if raw == "" {
		return defaultSimilarLimit, nil
	}
	k, err := strconv.Atoi(raw)
	if err != nil || k < 1 || k > similarity.MaxResults {
		return 0, badParam("limit", fmt.Sprintf("must be an integer from 1 to %d", similarity.MaxResults))
	}
	return k, nil
}
