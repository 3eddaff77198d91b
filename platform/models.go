package platform

import (
	"net/http"
	"strconv"

	"github.com/maestro-ml/maestro/registry"
)

// createModel handles POST /api/v1/models.
func (s *Server) createModel(w http.ResponseWriter, r *http.Request) error {
	var in registry.ModelInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := s.reg.reg.CreateModel(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// listModels handles GET /api/v1/models.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	ms, err := s.reg.reg.ListModels(r.Context(), registry.PageRequest{Limit: pg.Limit, Cursor: pg.Cursor})
	if err != nil {
		return err
	}
	writePage(w, ms.Items, ms.NextCursor)
	return nil
}

// getModel handles GET /api/v1/models/{name}.
func (s *Server) getModel(w http.ResponseWriter, r *http.Request) error {
	m, err := s.reg.reg.GetModel(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// createModelVersion handles POST /api/v1/models/{name}/versions: the next
// numbered version.
func (s *Server) createModelVersion(w http.ResponseWriter, r *http.Request) error {
	var in registry.ModelVersionInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.reg.reg.CreateModelVersion(r.Context(), r.PathValue("name"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// listModelVersions handles GET /api/v1/models/{name}/versions.
func (s *Server) listModelVersions(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	vs, err := s.reg.reg.ListModelVersions(r.Context(), r.PathValue("name"), registry.PageRequest{Limit: pg.Limit, Cursor: pg.Cursor})
	if err != nil {
		return err
	}
	writePage(w, vs.Items, vs.NextCursor)
	return nil
}

// getModelVersion handles GET /api/v1/models/{name}/versions/{version}.
func (s *Server) getModelVersion(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	v, err := s.reg.reg.GetModelVersion(r.Context(), r.PathValue("name"), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// versionParam is the path's {version}: a number from 1, else 404.
func versionParam(r *http.Request) (int, error) {
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 || strconv.Itoa(n) != r.PathValue("version") {
		return 0, notFound("model version")
	}
	return n, nil
}

// updateModel handles PATCH /api/v1/models/{name} {"name", "description"}:
// each field given changes; a new name renames the model (409 when the
// tenant has a model of that name), its versions and aliases following.
func (s *Server) updateModel(w http.ResponseWriter, r *http.Request) error {
	var in registry.ModelUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := s.reg.reg.UpdateModel(r.Context(), r.PathValue("name"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// deleteModel handles DELETE /api/v1/models/{name}: the model with its
// versions and aliases. The files the versions name are not touched.
func (s *Server) deleteModel(w http.ResponseWriter, r *http.Request) error {
	if err := s.reg.reg.DeleteModel(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// updateModelVersion handles PATCH /api/v1/models/{name}/versions/{version}
// {"description", "stage"}: a stage (None, Staging, Production, Archived)
// moves this version only.
func (s *Server) updateModelVersion(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	var in registry.ModelVersionUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	v, err := s.reg.reg.UpdateModelVersion(r.Context(), r.PathValue("name"), n, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deleteModelVersion handles DELETE /api/v1/models/{name}/versions/{version}:
// the version and the aliases pointing at it. Its number is not given
// again.
func (s *Server) deleteModelVersion(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	if err := s.reg.reg.DeleteModelVersion(r.Context(), r.PathValue("name"), n); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// tagRequest is the body of every PUT .../tags/{key...}: runs, models and
// model versions.
type tagRequest struct {
	Value *string `json:"value"`
}

// tagValue decodes a tag's body: {"value"} is required.
func tagValue(w http.ResponseWriter, r *http.Request) (string, error) {
	var in tagRequest
	if err := decode(w, r, &in); err != nil {
		return "", err
	}
	if in.Value == nil {
		return "", invalid(fieldError{Field: "value", Message: "required"})
	}
	return *in.Value, nil
}

// setModelTag handles PUT /api/v1/models/{name}/tags/{key} {"value"}: the
// model with its tags.
func (s *Server) setModelTag(w http.ResponseWriter, r *http.Request) error {
	value, err := tagValue(w, r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := s.reg.reg.SetModelTag(r.Context(), name, r.PathValue("key"), value); err != nil {
		return err
	}
	m, err := s.reg.reg.GetModel(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// deleteModelTag handles DELETE /api/v1/models/{name}/tags/{key}.
func (s *Server) deleteModelTag(w http.ResponseWriter, r *http.Request) error {
	if err := s.reg.reg.DeleteModelTag(r.Context(), r.PathValue("name"), r.PathValue("key")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// setModelVersionTag handles PUT
// /api/v1/models/{name}/versions/{version}/tags/{key} {"value"}: the
// version with its tags.
func (s *Server) setModelVersionTag(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	value, err := tagValue(w, r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := s.reg.reg.SetModelVersionTag(r.Context(), name, n, r.PathValue("key"), value); err != nil {
		return err
	}
	v, err := s.reg.reg.GetModelVersion(r.Context(), name, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deleteModelVersionTag handles DELETE
// /api/v1/models/{name}/versions/{version}/tags/{key}.
func (s *Server) deleteModelVersionTag(w http.ResponseWriter, r *http.Request) error {
	n, err := versionParam(r)
	if err != nil {
		return err
	}
	if err := s.reg.reg.DeleteModelVersionTag(r.Context(), r.PathValue("name"), n, r.PathValue("key")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// listModelAliases handles GET /api/v1/models/{name}/aliases.
func (s *Server) listModelAliases(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	as, err := s.reg.reg.ListModelAliases(r.Context(), r.PathValue("name"), registry.PageRequest{Limit: pg.Limit, Cursor: pg.Cursor})
	if err != nil {
		return err
	}
	writePage(w, as.Items, as.NextCursor)
	return nil
}

// aliasedVersion is the model version an alias resolves to, with the alias.
type aliasedVersion struct {
	Alias string `json:"alias"`
	*registry.ModelVersion
}

// aliasRequest is the body of PUT /api/v1/models/{name}/aliases/{alias}.
type aliasRequest struct {
	Version *int `json:"version"`
}

// setModelAlias handles PUT /api/v1/models/{name}/aliases/{alias}
// {"version"}, creating or moving the alias. An unknown model is 404; a
// version the model does not have is 422 on the field "version" (the
// request names a resource that does not exist inside one that does) and
// changes nothing.
func (s *Server) setModelAlias(w http.ResponseWriter, r *http.Request) error {
	var in aliasRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Version == nil || *in.Version < 1 {
		return invalid(fieldError{Field: "version", Message: "required: a version number from 1"})
	}
	a, err := s.reg.reg.SetModelAlias(r.Context(), r.PathValue("name"), r.PathValue("alias"), *in.Version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// getModelAlias handles GET /api/v1/models/{name}/aliases/{alias}: the
// version the alias points at, with the alias named.
func (s *Server) getModelAlias(w http.ResponseWriter, r *http.Request) error {
	v, err := s.reg.reg.GetModelAlias(r.Context(), r.PathValue("name"), r.PathValue("alias"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, aliasedVersion{Alias: r.PathValue("alias"), ModelVersion: v})
	return nil
}

// deleteModelAlias handles DELETE /api/v1/models/{name}/aliases/{alias}.
func (s *Server) deleteModelAlias(w http.ResponseWriter, r *http.Request) error {
	if err := s.reg.reg.DeleteModelAlias(r.Context(), r.PathValue("name"), r.PathValue("alias")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
