package platform

import (
	"net/http"

	"github.com/maestro-ml/maestro/registry"
)

// addTeamMember handles POST /api/v1/projects/{id}/team.
func (s *Server) addTeamMember(w http.ResponseWriter, r *http.Request) error {
	var in registry.TeamMemberInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := s.reg.reg.AddTeamMember(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// listTeam handles GET /api/v1/projects/{id}/team.
func (s *Server) listTeam(w http.ResponseWriter, r *http.Request) error {
	team, err := s.reg.reg.ListTeamMembers(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeSlicePage(w, r, team)
}

// removeTeamMember handles DELETE /api/v1/projects/{id}/team/{member_id}.
func (s *Server) removeTeamMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.reg.reg.RemoveTeamMember(r.Context(), r.PathValue("id"), r.PathValue("member_id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
