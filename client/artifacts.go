package client

import (
	"context"
	"io"
	"iter"
	"net/http"
	"strconv"
)

// The routes of the artifact library and the model registry.

// ArtifactFilter selects the artifacts SearchArtifacts returns; the zero
// value selects all.
type ArtifactFilter struct {
	// Type is one of "feature_pipeline", "model_template", "schema",
	// "notebook", "dataset", "other".
	Type string
	// Q is text in the name or description.
	Q string
	// Tag must be on the artifact.
	Tag string
	// MinImpact, when set, keeps artifacts with at least this mean impact.
	MinImpact *float64
	// PageRequest selects the page.
	PageRequest
}

// CreateArtifact adds an artifact to the library; upload its content with
// UploadArtifactContent.
func (c *Client) CreateArtifact(ctx context.Context, in ArtifactInput) (*Artifact, error) {
	return send[Artifact](ctx, c, http.MethodPost, "/api/v1/artifacts", in)
}

// SearchArtifacts lists a page of the artifacts f selects.
func (c *Client) SearchArtifacts(ctx context.Context, f ArtifactFilter) (*Page[Artifact], error) {
	q := f.PageRequest.values()
	setIf(q, "type", f.Type)
	setIf(q, "q", f.Q)
	setIf(q, "tag", f.Tag)
	if f.MinImpact != nil {
		q.Set("min_impact", strconv.FormatFloat(*f.MinImpact, 'g', -1, 64))
	}
	return list[Artifact](ctx, c, "/api/v1/artifacts", q)
}

// SearchArtifactsAll iterates over every artifact f selects, from f's
// cursor on.
func (c *Client) SearchArtifactsAll(ctx context.Context, f ArtifactFilter) iter.Seq2[Artifact, error] {
	return all(ctx, f.Cursor, func(ctx context.Context, cur string) (*Page[Artifact], error) {
		f.Cursor = cur
		return c.SearchArtifacts(ctx, f)
	})
}

// TopArtifacts returns the limit artifacts (0: the server's default, 10)
// of type typ ("" for any) with the highest measured impact.
func (c *Client) TopArtifacts(ctx context.Context, typ string, limit int) ([]Artifact, error) {
	q := PageRequest{Limit: limit}.values()
	setIf(q, "type", typ)
	p, err := list[Artifact](ctx, c, "/api/v1/artifacts/top", q)
	if err != nil {
		return nil, err
	}
	return p.Items, nil
}

// GetArtifact returns an artifact with its usage and impact.
func (c *Client) GetArtifact(ctx context.Context, id string) (*Artifact, error) {
	return get[Artifact](ctx, c, "/api/v1/artifacts/"+seg(id), nil)
}

// DeleteArtifact deletes an artifact and its content.
func (c *Client) DeleteArtifact(ctx context.Context, id string) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/artifacts/"+seg(id), nil)
}

// UploadArtifactContent uploads an artifact's content, streamed from r
// (the server bounds its size), replacing any before. It is not retried
// and, with WithLogin, not repeated after a 401: the stream is spent.
func (c *Client) UploadArtifactContent(ctx context.Context, id string, r io.Reader) (*Artifact, error) {
	var a Artifact
	err := c.call(ctx, &request{method: http.MethodPut, path: "/api/v1/artifacts/" + seg(id) + "/content",
		stream: r, ctype: "application/octet-stream", out: &a})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// DownloadArtifactContent streams an artifact's content. The caller reads
// and closes it (and bounds how much it reads).
func (c *Client) DownloadArtifactContent(ctx context.Context, id string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, &request{method: http.MethodGet, path: "/api/v1/artifacts/" + seg(id) + "/content"})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// RecordArtifactUsage records that a project used an artifact, with the
// impact measured.
func (c *Client) RecordArtifactUsage(ctx context.Context, artifactID string, in ArtifactUsageInput) (*ArtifactUsage, error) {
	return send[ArtifactUsage](ctx, c, http.MethodPost, "/api/v1/artifacts/"+seg(artifactID)+"/usages", in)
}

// ListArtifactUsages lists a page of an artifact's usages.
func (c *Client) ListArtifactUsages(ctx context.Context, artifactID string, p PageRequest) (*Page[ArtifactUsage], error) {
	return list[ArtifactUsage](ctx, c, "/api/v1/artifacts/"+seg(artifactID)+"/usages", p.values())
}

// ListArtifactUsagesAll iterates over all of an artifact's usages.
func (c *Client) ListArtifactUsagesAll(ctx context.Context, artifactID string) iter.Seq2[ArtifactUsage, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[ArtifactUsage], error) {
		return c.ListArtifactUsages(ctx, artifactID, PageRequest{Cursor: cur})
	})
}

// CreateModel registers a model.
func (c *Client) CreateModel(ctx context.Context, in ModelInput) (*RegisteredModel, error) {
	return send[RegisteredModel](ctx, c, http.MethodPost, "/api/v1/models", in)
}

// ListModels lists a page of registered models.
func (c *Client) ListModels(ctx context.Context, p PageRequest) (*Page[RegisteredModel], error) {
	return list[RegisteredModel](ctx, c, "/api/v1/models", p.values())
}

// ListModelsAll iterates over all registered models.
func (c *Client) ListModelsAll(ctx context.Context) iter.Seq2[RegisteredModel, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[RegisteredModel], error) {
		return c.ListModels(ctx, PageRequest{Cursor: cur})
	})
}

// GetModel returns a registered model.
func (c *Client) GetModel(ctx context.Context, name string) (*RegisteredModel, error) {
	return get[RegisteredModel](ctx, c, "/api/v1/models/"+seg(name), nil)
}

// UpdateModel changes a registered model's description or renames it.
func (c *Client) UpdateModel(ctx context.Context, name string, in ModelUpdate) (*RegisteredModel, error) {
	return send[RegisteredModel](ctx, c, http.MethodPatch, "/api/v1/models/"+seg(name), in)
}

// DeleteModel deletes a registered model with its versions, aliases and
// tags. The files its versions name are not touched.
func (c *Client) DeleteModel(ctx context.Context, name string) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/models/"+seg(name), nil)
}

// SetModelTag sets a tag of a registered model and returns the model.
func (c *Client) SetModelTag(ctx context.Context, name, key, value string) (*RegisteredModel, error) {
	return send[RegisteredModel](ctx, c, http.MethodPut, "/api/v1/models/"+seg(name)+"/tags/"+keyPath(key), tagRequest{Value: value})
}

// DeleteModelTag deletes a tag of a registered model.
func (c *Client) DeleteModelTag(ctx context.Context, name, key string) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/models/"+seg(name)+"/tags/"+keyPath(key), nil)
}

// CreateModelVersion creates the next version of a model.
func (c *Client) CreateModelVersion(ctx context.Context, name string, in ModelVersionInput) (*ModelVersion, error) {
	return send[ModelVersion](ctx, c, http.MethodPost, "/api/v1/models/"+seg(name)+"/versions", in)
}

// ListModelVersions lists a page of a model's versions.
func (c *Client) ListModelVersions(ctx context.Context, name string, p PageRequest) (*Page[ModelVersion], error) {
	return list[ModelVersion](ctx, c, "/api/v1/models/"+seg(name)+"/versions", p.values())
}

// ListModelVersionsAll iterates over all of a model's versions.
func (c *Client) ListModelVersionsAll(ctx context.Context, name string) iter.Seq2[ModelVersion, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[ModelVersion], error) {
		return c.ListModelVersions(ctx, name, PageRequest{Cursor: cur})
	})
}

// GetModelVersion returns a version of a model.
func (c *Client) GetModelVersion(ctx context.Context, name string, version int) (*ModelVersion, error) {
	return get[ModelVersion](ctx, c, versionPath(name, version), nil)
}

// UpdateModelVersion changes a model version's description or stage.
func (c *Client) UpdateModelVersion(ctx context.Context, name string, version int, in ModelVersionUpdate) (*ModelVersion, error) {
	return send[ModelVersion](ctx, c, http.MethodPatch, versionPath(name, version), in)
}

// DeleteModelVersion deletes a model version with its tags and the
// aliases pointing at it; its number is never given again.
func (c *Client) DeleteModelVersion(ctx context.Context, name string, version int) error {
	return exec(ctx, c, http.MethodDelete, versionPath(name, version), nil)
}

// SetModelVersionTag sets a tag of a model version and returns the
// version.
func (c *Client) SetModelVersionTag(ctx context.Context, name string, version int, key, value string) (*ModelVersion, error) {
	return send[ModelVersion](ctx, c, http.MethodPut, versionPath(name, version)+"/tags/"+keyPath(key), tagRequest{Value: value})
}

// DeleteModelVersionTag deletes a tag of a model version.
func (c *Client) DeleteModelVersionTag(ctx context.Context, name string, version int, key string) error {
	return exec(ctx, c, http.MethodDelete, versionPath(name, version)+"/tags/"+keyPath(key), nil)
}

// versionPath is the path of a model version.
func versionPath(name string, version int) string {
	return "/api/v1/models/" + seg(name) + "/versions/" + strconv.Itoa(version)
}

// ListModelAliases lists a page of a model's aliases.
func (c *Client) ListModelAliases(ctx context.Context, name string, p PageRequest) (*Page[ModelAlias], error) {
	return list[ModelAlias](ctx, c, "/api/v1/models/"+seg(name)+"/aliases", p.values())
}

// ListModelAliasesAll iterates over all of a model's aliases.
func (c *Client) ListModelAliasesAll(ctx context.Context, name string) iter.Seq2[ModelAlias, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[ModelAlias], error) {
		return c.ListModelAliases(ctx, name, PageRequest{Cursor: cur})
	})
}

// SetModelAlias points a model's alias at one of its versions.
func (c *Client) SetModelAlias(ctx context.Context, name, alias string, version int) (*ModelAlias, error) {
	return send[ModelAlias](ctx, c, http.MethodPut, "/api/v1/models/"+seg(name)+"/aliases/"+seg(alias), aliasRequest{Version: &version})
}

// GetModelAlias resolves a model's alias to its version.
func (c *Client) GetModelAlias(ctx context.Context, name, alias string) (*AliasedVersion, error) {
	return get[AliasedVersion](ctx, c, "/api/v1/models/"+seg(name)+"/aliases/"+seg(alias), nil)
}

// DeleteModelAlias deletes a model's alias.
func (c *Client) DeleteModelAlias(ctx context.Context, name, alias string) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/models/"+seg(name)+"/aliases/"+seg(alias), nil)
}
