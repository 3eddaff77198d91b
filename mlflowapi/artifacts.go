package mlflowapi

import (
	"errors"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/maestro-ml/maestro/registry"
)

// artifactCall picks the artifact proxy's handler for a method and the
// path after ArtifactsPrefix ("" or "/..."), and whether it writes.
func artifactCall(method, rest string) (handleFunc, bool) {
	file := strings.TrimPrefix(rest, "/")
	switch {
	case method == http.MethodGet && file == "":
		return listArtifacts, false
	case method == http.MethodGet:
		return func(c *call) (any, error) { return downloadArtifact(c, file) }, false
	case method == http.MethodPut && file != "":
		return func(c *call) (any, error) { return uploadArtifact(c, file) }, true
	case method == http.MethodDelete && file != "":
		return func(c *call) (any, error) { return deleteArtifact(c, file) }, true
	}
	return nil, false
}

// runArtifactPath resolves a proxy path "<experiment id>/<run id>/artifacts[/<path>]"
// (the run's artifact_uri without its scheme, then the file) to the run
// and the path within its artifact tree. A path that names no run of
// that experiment is RESOURCE_DOES_NOT_EXIST.
func (c *call) runArtifactPath(p string, active bool) (*registry.TrackedRun, string, error) {
	segs := strings.SplitN(strings.Trim(p, "/"), "/", 4)
	if len(segs) < 3 || segs[2] != "artifacts" {
		return nil, "", invalidParam("Artifact paths are <experiment id>/<run id>/artifacts/<path>, not %q", p)
	}
	run, err := c.h.reg.TrackedRun(c.r.Context(), segs[1])
	if errors.Is(err, registry.ErrNotFound) || err == nil && run.ExperimentID != segs[0] {
		return nil, "", notFound("No artifacts at %s", p)
	}
	if err != nil {
		return nil, "", err
	}
	if active && run.Lifecycle != registry.LifecycleActive {
		return nil, "", invalidParam("The run %s must be in the 'active' state.", run.ID)
	}
	rel := ""
	if len(segs) == 4 {
		rel = segs[3]
	}
	return run, rel, nil
}

// modelArtifactPath resolves a proxy path
// "<experiment id>/models/<model id>/artifacts[/<path>]" (a logged model's
// artifact_uri without its scheme, then the file) to the model and the
// path within its tree; ok is false for a path of another form.
func (c *call) modelArtifactPath(p string) (model *registry.LoggedModel, rel string, ok bool, err error) {
	segs := strings.SplitN(strings.Trim(p, "/"), "/", 5)
	if len(segs) < 2 || segs[1] != "models" {
		return nil, "", false, nil
	}
	if len(segs) < 4 || segs[3] != "artifacts" {
		return nil, "", true, invalidParam("Logged model artifact paths are <experiment id>/models/<model id>/artifacts/<path>, not %q", p)
	}
	m, err := c.h.reg.LoggedModel(c.r.Context(), segs[2])
	if errors.Is(err, registry.ErrNotFound) || err == nil && m.ExperimentID != segs[0] {
		return nil, "", true, notFound("No artifacts at %s", p)
	}
	if err != nil {
		return nil, "", true, err
	}
	if len(segs) == 5 {
		rel = segs[4]
	}
	return m, rel, true, nil
}

type wireFileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

func listArtifacts(c *call) (any, error) {
	q, err := urlQuery(c.r)
	if err != nil {
		return nil, err
	}
	var entries []registry.RunArtifact
	if m, dir, ok, err := c.modelArtifactPath(q.Get("path")); ok {
		if err != nil {
			return nil, err
		}
		entries, err = c.h.reg.ListLoggedModelArtifacts(c.r.Context(), m.ID, dir)
		if err != nil {
			return nil, err
		}
	} else if entries, err = c.listRunArtifacts(q.Get("path")); err != nil {
		return nil, err
	}
	files := make([]wireFileInfo, 0, len(entries))
	for _, e := range entries {
		fi := wireFileInfo{Path: path.Base(e.Path), IsDir: e.IsDir}
		if !e.IsDir {
			size := e.Size
			fi.FileSize = &size
		}
		files = append(files, fi)
	}
	return map[string]any{"files": files}, nil
}

func (c *call) listRunArtifacts(p string) ([]registry.RunArtifact, error) {
	run, dir, err := c.runArtifactPath(p, false)
	if err != nil {
		return nil, err
	}
	return c.h.reg.ListRunArtifacts(c.r.Context(), run.ID, dir)
}

// openArtifact opens the file at a proxy path of a run's or a logged
// model's tree.
func (c *call) openArtifact(p string) (io.ReadCloser, *registry.RunArtifact, error) {
	if m, rel, ok, err := c.modelArtifactPath(p); ok {
		if err != nil {
			return nil, nil, err
		}
		if rel == "" {
			return nil, nil, invalidParam("%q is a directory", p)
		}
		return c.h.reg.OpenLoggedModelArtifact(c.r.Context(), m.ID, rel)
	}
	run, rel, err := c.runArtifactPath(p, false)
	if err != nil {
		return nil, nil, err
	}
	if rel == "" {
		return nil, nil, invalidParam("%q is a directory", p)
	}
	return c.h.reg.OpenRunArtifact(c.r.Context(), run.ID, rel)
}

func downloadArtifact(c *call, p string) (any, error) {
	rc, a, err := c.openArtifact(p)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, notFound("No artifact at %s", p)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h := c.w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	h.Set("Content-Disposition", "attachment")
	h.Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(c.w, rc)
	return nil, nil
}

func uploadArtifact(c *call, p string) (any, error) {
	if m, rel, ok, err := c.modelArtifactPath(p); ok {
		if err != nil {
			return nil, err
		}
		if rel == "" {
			return nil, invalidParam("%q is a directory", p)
		}
		if _, err := c.h.reg.PutLoggedModelArtifact(c.r.Context(), m.ID, rel, c.r.Body); err != nil {
			return nil, err
		}
		return map[string]any{}, nil
	}
	run, rel, err := c.runArtifactPath(p, true)
	if err != nil {
		return nil, err
	}
	if rel == "" {
		return nil, invalidParam("%q is a directory", p)
	}
	if _, err := c.h.reg.PutRunArtifact(c.r.Context(), run.ID, rel, c.r.Body); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func deleteArtifact(c *call, p string) (any, error) {
	run, rel, err := c.runArtifactPath(p, true)
	if err != nil {
		return nil, err
	}
	if rel == "" {
		return nil, invalidParam("deleting a run's whole artifact tree is not supported; delete its files or directories")
	}
	err = c.h.reg.DeleteRunArtifacts(c.r.Context(), run.ID, rel)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, notFound("No artifact at %s", p)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}
