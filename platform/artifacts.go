package platform

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"

	"github.com/maestro-ml/maestro/registry"
)

// createArtifact handles POST /api/v1/artifacts (metadata only; content is
// uploaded with PUT .../content).
func (s *Server) createArtifact(w http.ResponseWriter, r *http.Request) error {
	var in registry.ArtifactInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	a, err := s.reg.reg.CreateArtifact(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

// searchArtifacts handles GET /api/v1/artifacts?type=&q=&tag=&min_impact=.
func (s *Server) searchArtifacts(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := registry.ArtifactFilter{Type: registry.ArtifactType(q.Get("type")), Q: q.Get("q"), Tag: q.Get("tag"),
		Limit: pg.Limit, Cursor: pg.Cursor}
	var v validator
	v.check(f.Type == "" || f.Type.Valid(), "type", "unknown artifact type")
	v.check(len(f.Q) <= registry.MaxNameLength, "q", fmt.Sprintf("at most %d characters", registry.MaxNameLength))
	v.check(len(f.Tag) <= registry.MaxTagLength, "tag", fmt.Sprintf("at most %d characters", registry.MaxTagLength))
	if raw := q.Get("min_impact"); raw != "" {
		x, err := strconv.ParseFloat(raw, 64)
		ok := err == nil && !math.IsNaN(x) && x >= 0 && x <= 100
		v.check(ok, "min_impact", "must be a number from 0 to 100")
		if ok {
			f.MinImpact = &x
		}
	}
	if err := v.paramErr(); err != nil {
		return err
	}
	page, err := s.reg.reg.SearchArtifacts(r.Context(), f)
	if err != nil {
		return queryError(err, nil)
	}
	writePage(w, page.Items, page.NextCursor)
	return nil
}

// topArtifacts handles GET /api/v1/artifacts/top?type=&limit=: the
// artifacts with the best mean impact score.
func (s *Server) topArtifacts(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	typ := registry.ArtifactType(r.URL.Query().Get("type"))
	if typ != "" && !typ.Valid() {
		return badParam("type", "unknown artifact type")
	}
	limit := 10
	if r.URL.Query().Get("limit") != "" {
		limit = pg.Limit
	}
	as, err := s.reg.reg.TopArtifacts(r.Context(), typ, limit)
	if err != nil {
		return err
	}
	writePage(w, as, "")
	return nil
}

// getArtifact handles GET /api/v1/artifacts/{id}.
func (s *Server) getArtifact(w http.ResponseWriter, r *http.Request) error {
	a, err := s.reg.reg.GetArtifact(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// deleteArtifact handles DELETE /api/v1/artifacts/{id}: the artifact, its
// usages and its content.
func (s *Server) deleteArtifact(w http.ResponseWriter, r *http.Request) error {
	if err := s.reg.reg.DeleteArtifact(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// putArtifactContent handles PUT /api/v1/artifacts/{id}/content: the raw
// body becomes the artifact's content, replacing any earlier one. A body
// beyond the limit is refused with 413 and changes nothing.
func (s *Server) putArtifactContent(w http.ResponseWriter, r *http.Request) error {
	limit := s.reg.contentLimit.Load()
	if r.ContentLength > limit {
		return contentTooLarge(limit)
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	a, err := s.reg.reg.PutArtifactContent(r.Context(), r.PathValue("id"), body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return contentTooLarge(limit)
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// contentTooLarge is the 413 of an artifact upload beyond limit bytes.
func contentTooLarge(limit int64) error {
	return newAPIError(http.StatusRequestEntityTooLarge, "too_large",
		fmt.Sprintf("artifact content is limited to %d bytes", limit))
}

// getArtifactContent handles GET /api/v1/artifacts/{id}/content: the bytes
// as uploaded, with their SHA-256 as ETag and Content-Digest (RFC 9530).
// An artifact without content is 404.
func (s *Server) getArtifactContent(w http.ResponseWriter, r *http.Request) error {
	rc, a, err := s.reg.reg.OpenArtifactContent(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(a.SizeBytes, 10))
	h.Set("Content-Disposition", "attachment")
	h.Set("ETag", `"`+a.ContentSHA256+`"`)
	if sum, err := hex.DecodeString(a.ContentSHA256); err == nil {
		h.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, rc); err != nil {
		// The status is written; all that is left is to note the
		// broken transfer.
		s.logger(r.Context()).Warn("artifact download interrupted", "error", err.Error())
	}
	return nil
}

// recordArtifactUsage handles POST /api/v1/artifacts/{id}/usages.
func (s *Server) recordArtifactUsage(w http.ResponseWriter, r *http.Request) error {
	var in registry.ArtifactUsageInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, err := s.reg.reg.RecordArtifactUsage(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

// listArtifactUsages handles GET /api/v1/artifacts/{id}/usages.
func (s *Server) listArtifactUsages(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.reg.reg.GetArtifact(r.Context(), id); err != nil {
		return err
	}
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	us, err := s.reg.reg.ArtifactUsages(r.Context(), registry.ArtifactUsageFilter{ArtifactID: id, Limit: pg.Limit, Cursor: pg.Cursor})
	if err != nil {
		return err
	}
	writePage(w, us.Items, us.NextCursor)
	return nil
}
