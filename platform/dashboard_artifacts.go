package platform

import (
	"errors"
	"net/http"

	"github.com/maestro-ml/maestro/registry"
)

// artifactView is the data of an artifact's page.
type artifactView struct {
	Artifact *registry.Artifact
	Usages   []usageRow
	Summary  impactSummary
	Next     string // cursor of the next page of usages
	Limit    int64  // the content size limit, for the upload form
}

// usageRow is one usage of an artifact with the project that used it
// (nil when it has been deleted since).
type usageRow struct {
	registry.ArtifactUsage
	Project *registry.Project
}

// impactSummary sums up the measured impact of an artifact's usages: the
// library's running figures (every usage) and the range on this page.
type impactSummary struct {
	Uses     int64
	Measured int64
	Mean     *float64
	Low      *float64
	High     *float64
}

// artifactUsagePage bounds the usages shown on an artifact's page at once
// (each names its project: one lookup per distinct project).
const artifactUsagePage = 50

// pageArtifact shows an artifact: its metadata, its content (a download
// link; members upload new content), the projects that used it with the
// impact each measured, and the impact summary. Another tenant's artifact
// is 404, as an unknown one.
func (s *Server) pageArtifact(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	a, err := s.reg.reg.GetArtifact(ctx, id)
	if err != nil {
		return err
	}
	cursor := r.URL.Query().Get("cursor")
	if len(cursor) > maxCursorLen {
		return invalid(fieldError{Field: "cursor", Message: "not a cursor this server issued"})
	}
	us, err := s.reg.reg.ArtifactUsages(ctx, registry.ArtifactUsageFilter{ArtifactID: id, Limit: artifactUsagePage, Cursor: cursor})
	if err != nil {
		return err
	}
	v := artifactView{Artifact: a, Next: us.NextCursor, Limit: s.reg.contentLimit.Load(),
		Summary: impactSummary{Uses: a.UsageCount, Measured: a.ImpactCount, Mean: a.AvgImpactScore}}
	projects := map[string]*registry.Project{}
	for _, u := range us.Items {
		p, seen := projects[u.ProjectID]
		if !seen {
			p, err = s.reg.reg.GetProject(ctx, u.ProjectID)
			if err != nil && !errors.Is(err, registry.ErrNotFound) {
				return err
			}
			projects[u.ProjectID] = p
		}
		v.Usages = append(v.Usages, usageRow{ArtifactUsage: u, Project: p})
		if x := u.ImpactScore; x != nil {
			if v.Summary.Low == nil || *x < *v.Summary.Low {
				v.Summary.Low = x
			}
			if v.Summary.High == nil || *x > *v.Summary.High {
				v.Summary.High = x
			}
		}
	}
	s.render(w, r, http.StatusOK, "artifact", a.Name, v)
	return nil
}

// pageArtifactDownload sends an artifact's content with the API's handler
// (an attachment, with its SHA-256 as ETag and Content-Digest); an
// artifact without content is 404.
func (s *Server) pageArtifactDownload(w http.ResponseWriter, r *http.Request) error {
	return s.getArtifactContent(w, r)
}

// pageArtifactUpload stores the raw body as the artifact's content with
// the API's handler (the size limit, the storage quota, atomic
// replacement) and answers the artifact as JSON; the artifact page's
// script sends it and shows the upload's progress.
func (s *Server) pageArtifactUpload(w http.ResponseWriter, r *http.Request) error {
	return s.putArtifactContent(w, r)
}
