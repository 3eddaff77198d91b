package mlflowapi

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/maestro-ml/maestro/registry"
)

// The model registry calls served (the registry's models, versions and
// aliases; the same rows as /api/v1/models): registered-models create,
// get, search and get-latest-versions, model-versions create, get, search
// and get-download-uri, aliases (set, delete, get-by-alias), the writes
// registered-models update, rename and delete, model-versions update and
// delete, tags of both (set-tag, delete-tag) and model-versions
// transition-stage.

// MaxModelScan bounds the models or versions a model search reads.
const MaxModelScan = registry.MaxTrackingScan

type wireAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

type wireModelVersion struct {
	Name                 string     `json:"name"`
	Version              string     `json:"version"`
	CreationTimestamp    int64      `json:"creation_timestamp"`
	LastUpdatedTimestamp int64      `json:"last_updated_timestamp"`
	CurrentStage         string     `json:"current_stage"`
	Description          string     `json:"description,omitempty"`
	Source               string     `json:"source"`
	RunID                string     `json:"run_id,omitempty"`
	Status               string     `json:"status"`
	Aliases              []string   `json:"aliases,omitempty"`
	Tags                 []keyValue `json:"tags,omitempty"`
}

type wireModel struct {
	Name                 string             `json:"name"`
	CreationTimestamp    int64              `json:"creation_timestamp"`
	LastUpdatedTimestamp int64              `json:"last_updated_timestamp"`
	Description          string             `json:"description,omitempty"`
	LatestVersions       []wireModelVersion `json:"latest_versions,omitempty"`
	Aliases              []wireAlias        `json:"aliases,omitempty"`
	Tags                 []keyValue         `json:"tags,omitempty"`
}

var modelAttrs = attrSpec{
	// The timestamps are for order_by only (orderOnly); MLflow's server
	// orders "timestamp" by the last update.
	numeric:        map[string]bool{"name": false, "creation_timestamp": true, "last_updated_timestamp": true},
	alias:          map[string]string{"timestamp": "last_updated_timestamp"},
	in:             map[string]bool{},
	kinds:          map[int]bool{kindAttr: true, kindTag: true},
	absentNotEqual: true,
}

var versionAttrs = attrSpec{
	numeric: map[string]bool{"name": false, "run_id": false, "source": false, "version_number": true,
		// A version keeps no update time: its last update is its creation.
		"creation_timestamp": true, "last_updated_timestamp": true}, // order_by only (orderOnly)
	alias:          map[string]string{},
	in:             map[string]bool{"name": true, "run_id": true},
	kinds:          map[int]bool{kindAttr: true, kindTag: true},
	absentNotEqual: true,
}

// orderOnly refuses a filter on the registry's timestamps, which MLflow's
// server orders by but does not filter on.
func orderOnly(cs []clause) error {
	for _, c := range cs {
		if c.kind == kindAttr && (c.key == "creation_timestamp" || c.key == "last_updated_timestamp") {
			return invalidParam("Invalid attribute key '%s' specified.", c.key)
		}
	}
	return nil
}

func toWireVersion(name string, v *registry.ModelVersion, aliases []string) wireModelVersion {
	out := wireModelVersion{Name: name, Version: strconv.Itoa(v.Version), CreationTimestamp: millis(v.CreatedAt),
		LastUpdatedTimestamp: millis(v.CreatedAt), CurrentStage: v.Stage, Description: v.Description,
		Source: v.Source, Status: "READY", Aliases: aliases, Tags: tagList(v.Tags)}
	if v.RunID != nil {
		out.RunID = *v.RunID
	}
	return out
}

// aliases returns a model's aliases (at most registry.MaxLimit).
func (c *call) aliases(name string) ([]registry.ModelAlias, error) {
	p, err := c.h.reg.ListModelAliases(c.r.Context(), name, registry.PageRequest{Limit: registry.MaxLimit})
	return p.Items, err
}

func aliasesOf(as []registry.ModelAlias, version int) []string {
	var out []string
	for _, a := range as {
		if a.Version == version {
			out = append(out, a.Alias)
		}
	}
	return out
}

func (c *call) wireModel(m *registry.RegisteredModel) (wireModel, error) {
	out := wireModel{Name: m.Name, CreationTimestamp: millis(m.CreatedAt), LastUpdatedTimestamp: millis(m.UpdatedAt),
		Description: m.Description, Tags: tagList(m.Tags)}
	as, err := c.aliases(m.Name)
	if err != nil {
		return out, err
	}
	for _, a := range as {
		out.Aliases = append(out.Aliases, wireAlias{Alias: a.Alias, Version: strconv.Itoa(a.Version)})
	}
	if m.LatestVersion > 0 { // else no version was ever created
		// As MLflow: the latest version in each stage.
		vs, err := c.h.reg.LatestModelVersions(c.r.Context(), m.Name)
		if err != nil {
			return out, err
		}
		for i := range vs {
			out.LatestVersions = append(out.LatestVersions, toWireVersion(m.Name, &vs[i], aliasesOf(as, vs[i].Version)))
		}
	}
	return out, nil
}

func modelErr(err error, name string) error {
	if errors.Is(err, registry.ErrNotFound) {
		return notFound("Registered Model with name=%s not found", name)
	}
	return err
}

func createRegisteredModel(c *call) (any, error) {
	name, err := c.args.required("name")
	if err != nil {
		return nil, err
	}
	desc, err := c.args.optional("description")
	if err != nil {
		return nil, err
	}
	var tags []keyValue
	if err := c.args.list("tags", &tags); err != nil {
		return nil, err
	}
	m, err := c.h.reg.CreateModel(c.r.Context(), registry.ModelInput{Name: name, Description: desc, Tags: tagMap(tags)})
	if errors.Is(err, registry.ErrConflict) {
		return nil, newError(CodeAlreadyExists, 400, "Registered Model (name=%s) already exists.", name)
	}
	if err != nil {
		return nil, err
	}
	w, err := c.wireModel(m)
	if err != nil {
		return nil, err
	}
	return map[string]any{"registered_model": w}, nil
}

// modelResponse answers {"registered_model": ...} for m.
func (c *call) modelResponse(m *registry.RegisteredModel) (any, error) {
	w, err := c.wireModel(m)
	if err != nil {
		return nil, err
	}
	return map[string]any{"registered_model": w}, nil
}

func updateRegisteredModel(c *call) (any, error) {
	name, err := c.args.required("name")
	if err != nil {
		return nil, err
	}
	desc, ok, err := c.args.str("description")
	if err != nil {
		return nil, err
	}
	var in registry.ModelUpdate
	if ok {
		in.Description = &desc
	}
	m, err := c.h.reg.UpdateModel(c.r.Context(), name, in)
	if err != nil {
		return nil, modelErr(err, name)
	}
	return c.modelResponse(m)
}

func renameRegisteredModel(c *call) (any, error) {
	name, err := c.args.required("name")
	if err != nil {
		return nil, err
	}
	newName, err := c.args.required("new_name")
	if err != nil {
		return nil, err
	}
	m, err := c.h.reg.UpdateModel(c.r.Context(), name, registry.ModelUpdate{Name: &newName})
	if errors.Is(err, registry.ErrConflict) {
		return nil, newError(CodeAlreadyExists, 400, "Registered Model (name=%s) already exists.", newName)
	}
	if err != nil {
		return nil, modelErr(err, name)
	}
	return c.modelResponse(m)
}

func deleteRegisteredModel(c *call) (any, error) {
	name, err := c.args.required("name")
	if err != nil {
		return nil, err
	}
	if err := c.h.reg.DeleteModel(c.r.Context(), name); err != nil {
		return nil, modelErr(err, name)
	}
	return map[string]any{}, nil
}

func getRegisteredModel(c *call) (any, error) {
	name, err := c.args.required("name")
	if err != nil {
		return nil, err
	}
	m, err := c.h.reg.GetModel(c.r.Context(), name)
	if err != nil {
		return nil, modelErr(err, name)
	}
	w, err := c.wireModel(m)
	if err != nil {
		return nil, err
	}
	return map[string]any{"registered_model": w}, nil
}

// allModels reads every registered model of the tenant (at most
// MaxModelScan).
func (c *call) allModels() ([]registry.RegisteredModel, error) {
	var out []registry.RegisteredModel
	cursor := ""
	for {
		p, err := c.h.reg.ListModels(c.r.Context(), registry.PageRequest{Limit: registry.MaxLimit, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if len(out) > MaxModelScan {
			return nil, invalidParam("the search reads more than %d registered models", MaxModelScan)
		}
		if p.NextCursor == "" {
			return out, nil
		}
		cursor = p.NextCursor
	}
}

func searchRegisteredModels(c *call) (any, error) {
	sr, err := c.searchRequest(100, modelAttrs)
	if err != nil {
		return nil, err
	}
	if err := orderOnly(sr.clauses); err != nil {
		return nil, err
	}
	fp := fingerprint("models", sr.filter, sr.orderBy)
	offset, err := decodeToken(sr.token, fp)
	if err != nil {
		return nil, err
	}
	all, err := c.allModels()
	if err != nil {
		return nil, err
	}
	rows := make([]entity, 0, len(all))
	for i := range all {
		e := entity{attrs: map[string]value{"name": {s: all[i].Name},
			"creation_timestamp":     {n: float64(millis(all[i].CreatedAt)), num: true},
			"last_updated_timestamp": {n: float64(millis(all[i].UpdatedAt)), num: true}},
			tags: all[i].Tags, wire: &all[i]}
		if matches(e, sr.clauses) {
			rows = append(rows, e)
		}
	}
	sortEntities(rows, append(sr.orders, order{kind: kindAttr, key: "name"}))
	page, next := paginate(rows, offset, sr.limit, fp)
	out := make([]wireModel, 0, len(page))
	for _, e := range page {
		w, err := c.wireModel(e.wire.(*registry.RegisteredModel))
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	resp := map[string]any{"registered_models": out}
	if next != "" {
		resp["next_page_token"] = next
	}
	return resp, nil
}

func getLatestVersions(c *call) (any, error) {
	name, err := c.args.required("name")
	if err != nil {
		return nil, err
	}
	stages, err := c.args.strs("stages")
	if err != nil {
		return nil, err
	}
	vs, err := c.h.reg.LatestModelVersions(c.r.Context(), name, stages...)
	if err != nil {
		return nil, modelErr(err, name)
	}
	as, err := c.aliases(name)
	if err != nil {
		return nil, err
	}
	out := make([]wireModelVersion, 0, len(vs))
	for i := range vs {
		out = append(out, toWireVersion(name, &vs[i], aliasesOf(as, vs[i].Version)))
	}
	return map[string]any{"model_versions": out}, nil
}

func (c *call) version() (string, int, error) {
	name, err := c.args.required("name")
	if err != nil {
		return "", 0, err
	}
	vs, _, err := c.args.str("version")
	if err != nil { // a JSON number
		n, ok, ierr := c.args.int("version")
		if ierr != nil || !ok {
			return "", 0, err
		}
		vs = strconv.FormatInt(n, 10)
	}
	if vs == "" {
		return "", 0, missing("version")
	}
	n, err := strconv.Atoi(vs)
	if err != nil || n < 1 {
		return "", 0, invalidParam("Parameter 'version' must be an integer, got '%s'.", vs)
	}
	return name, n, nil
}

// versionAnswer is the {"model_version"} answer of the calls that return
// one version.
func (c *call) versionAnswer(name string, v *registry.ModelVersion) (any, error) {
	w, err := c.wireVersion(name, v)
	if err != nil {
		return nil, err
	}
	return map[string]any{"model_version": w}, nil
}

func (c *call) wireVersion(name string, v *registry.ModelVersion) (wireModelVersion, error) {
	as, err := c.aliases(name)
	if err != nil {
		return wireModelVersion{}, err
	}
	return toWireVersion(name, v, aliasesOf(as, v.Version)), nil
}

func versionErr(err error, name string, n int) error {
	if errors.Is(err, registry.ErrNotFound) {
		return notFound("Model Version (name=%s, version=%d) not found", name, n)
	}
	return err
}

func createModelVersion(c *call) (any, error) {
	name, err := c.args.required("name")
	if err != nil {
		return nil, err
	}
	source, err := c.args.required("source")
	if err != nil {
		return nil, err
	}
	runID, err := c.args.optional("run_id")
	if err != nil {
		return nil, err
	}
	desc, err := c.args.optional("description")
	if err != nil {
		return nil, err
	}
	var tags []keyValue
	if err := c.args.list("tags", &tags); err != nil {
		return nil, err
	}
	if runID == "" {
		runID = c.loggedModelRun(source)
	}
	v, err := c.h.reg.CreateModelVersion(c.r.Context(), name, registry.ModelVersionInput{Source: source, RunID: runID, Description: desc, Tags: tagMap(tags)})
	if err != nil {
		return nil, modelErr(err, name) // an unknown run_id is INVALID_PARAMETER_VALUE
	}
	return c.versionAnswer(name, v)
}

func getModelVersion(c *call) (any, error) {
	name, n, err := c.version()
	if err != nil {
		return nil, err
	}
	v, err := c.h.reg.GetModelVersion(c.r.Context(), name, n)
	if err != nil {
		return nil, versionErr(err, name, n)
	}
	return c.versionAnswer(name, v)
}

func updateModelVersion(c *call) (any, error) {
	name, n, err := c.version()
	if err != nil {
		return nil, err
	}
	desc, ok, err := c.args.str("description")
	if err != nil {
		return nil, err
	}
	var in registry.ModelVersionUpdate
	if ok {
		in.Description = &desc
	}
	v, err := c.h.reg.UpdateModelVersion(c.r.Context(), name, n, in)
	if err != nil {
		return nil, versionErr(err, name, n)
	}
	return c.versionAnswer(name, v)
}

func deleteModelVersion(c *call) (any, error) {
	name, n, err := c.version()
	if err != nil {
		return nil, err
	}
	if err := c.h.reg.DeleteModelVersion(c.r.Context(), name, n); err != nil {
		return nil, versionErr(err, name, n)
	}
	return map[string]any{}, nil
}

func getDownloadURI(c *call) (any, error) {
	name, n, err := c.version()
	if err != nil {
		return nil, err
	}
	v, err := c.h.reg.GetModelVersion(c.r.Context(), name, n)
	if err != nil {
		return nil, versionErr(err, name, n)
	}
	return map[string]any{"artifact_uri": v.Source}, nil
}

func searchModelVersions(c *call) (any, error) {
	sr, err := c.searchRequest(10000, versionAttrs)
	if err != nil {
		return nil, err
	}
	if err := orderOnly(sr.clauses); err != nil {
		return nil, err
	}
	fp := fingerprint("model-versions", sr.filter, sr.orderBy)
	offset, err := decodeToken(sr.token, fp)
	if err != nil {
		return nil, err
	}
	models, err := c.allModels()
	if err != nil {
		return nil, err
	}
	var rows []entity
	scanned := 0
	for _, m := range models {
		cursor := ""
		for {
			p, err := c.h.reg.ListModelVersions(c.r.Context(), m.Name, registry.PageRequest{Limit: registry.MaxLimit, Cursor: cursor})
			if err != nil {
				return nil, err
			}
			if scanned += len(p.Items); scanned > MaxModelScan {
				return nil, invalidParam("the search reads more than %d model versions", MaxModelScan)
			}
			for i := range p.Items {
				v := &p.Items[i]
				run := ""
				if v.RunID != nil {
					run = *v.RunID
				}
				e := entity{attrs: map[string]value{"name": {s: m.Name}, "run_id": {s: run}, "source": {s: v.Source},
					"version_number":         {n: float64(v.Version), num: true},
					"creation_timestamp":     {n: float64(millis(v.CreatedAt)), num: true},
					"last_updated_timestamp": {n: float64(millis(v.CreatedAt)), num: true}},
					tags: v.Tags, wire: toWireVersion(m.Name, v, nil)}
				if matches(e, sr.clauses) {
					rows = append(rows, e)
				}
			}
			if p.NextCursor == "" {
				break
			}
			cursor = p.NextCursor
		}
	}
	sortEntities(rows, append(sr.orders, order{kind: kindAttr, key: "name"}, order{kind: kindAttr, key: "version_number", desc: true}))
	page, next := paginate(rows, offset, sr.limit, fp)
	out := make([]wireModelVersion, 0, len(page))
	for _, e := range page {
		out = append(out, e.wire.(wireModelVersion))
	}
	resp := map[string]any{"model_versions": out}
	if next != "" {
		resp["next_page_token"] = next
	}
	return resp, nil
}

func setAlias(c *call) (any, error) {
	name, n, err := c.version()
	if err != nil {
		return nil, err
	}
	alias, err := c.args.required("alias")
	if err != nil {
		return nil, err
	}
	// A version the model lacks is RESOURCE_DOES_NOT_EXIST, as MLflow's
	// server answers it.
	if _, err := c.h.reg.GetModelVersion(c.r.Context(), name, n); err != nil {
		return nil, versionErr(err, name, n)
	}
	if _, err := c.h.reg.SetModelAlias(c.r.Context(), name, alias, n); err != nil {
		return nil, modelErr(err, name)
	}
	return map[string]any{}, nil
}

func deleteAlias(c *call) (any, error) {
	name, err := c.args.required("name")
	if err != nil {
		return nil, err
	}
	alias, err := c.args.required("alias")
	if err != nil {
		return nil, err
	}
	if err := c.h.reg.DeleteModelAlias(c.r.Context(), name, alias); err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return nil, notFound("Registered model alias %s not found.", alias)
		}
		return nil, err
	}
	return map[string]any{}, nil
}

func getByAlias(c *call) (any, error) {
	name, err := c.args.required("name")
	if err != nil {
		return nil, err
	}
	alias, err := c.args.required("alias")
	if err != nil {
		return nil, err
	}
	v, err := c.h.reg.GetModelAlias(c.r.Context(), name, alias)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, notFound("Registered model alias %s not found.", alias)
	}
	if err != nil {
		return nil, err
	}
	return c.versionAnswer(name, v)
}

func setRegisteredModelTag(c *call) (any, error) {
	name, err := c.args.required("name")
	if err != nil {
		return nil, err
	}
	key, value, err := c.tagArgs()
	if err != nil {
		return nil, err
	}
	if err := c.h.reg.SetModelTag(c.r.Context(), name, key, value); err != nil {
		return nil, modelErr(err, name)
	}
	return map[string]any{}, nil
}

func deleteRegisteredModelTag(c *call) (any, error) {
	name, err := c.args.required("name")
	if err != nil {
		return nil, err
	}
	key, err := c.args.required("key")
	if err != nil {
		return nil, err
	}
	err = c.h.reg.DeleteModelTag(c.r.Context(), name, key)
	if errors.Is(err, registry.ErrNotFound) {
		if _, gerr := c.h.reg.GetModel(c.r.Context(), name); gerr != nil {
			return nil, modelErr(gerr, name)
		}
		return nil, notFound("No tag with name: %s in registered model %s", key, name)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// tagArgs reads a tag's key (required) and value.
func (c *call) tagArgs() (string, string, error) {
	key, err := c.args.required("key")
	if err != nil {
		return "", "", err
	}
	value, err := c.args.optional("value")
	return key, value, err
}

func setModelVersionTag(c *call) (any, error) {
	name, n, err := c.version()
	if err != nil {
		return nil, err
	}
	key, value, err := c.tagArgs()
	if err != nil {
		return nil, err
	}
	if err := c.h.reg.SetModelVersionTag(c.r.Context(), name, n, key, value); err != nil {
		return nil, versionErr(err, name, n)
	}
	return map[string]any{}, nil
}

func deleteModelVersionTag(c *call) (any, error) {
	name, n, err := c.version()
	if err != nil {
		return nil, err
	}
	key, err := c.args.required("key")
	if err != nil {
		return nil, err
	}
	err = c.h.reg.DeleteModelVersionTag(c.r.Context(), name, n, key)
	if errors.Is(err, registry.ErrNotFound) {
		if _, gerr := c.h.reg.GetModelVersion(c.r.Context(), name, n); gerr != nil {
			return nil, versionErr(gerr, name, n)
		}
		return nil, notFound("No tag with name: %s for model version %s version %d", key, name, n)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func transitionStage(c *call) (any, error) {
	name, n, err := c.version()
	if err != nil {
		return nil, err
	}
	stage, err := c.args.required("stage")
	if err != nil {
		return nil, err
	}
	archive, err := boolArg(c.args, "archive_existing_versions")
	if err != nil {
		return nil, err
	}
	v, err := c.h.reg.TransitionModelVersionStage(c.r.Context(), name, n, stage, archive)
	if err != nil {
		return nil, versionErr(err, name, n)
	}
	return c.versionAnswer(name, v)
}

// boolArg reads a boolean parameter (false when absent): a JSON boolean, or
// "true"/"false" in a query or a JSON string.
func boolArg(a *args, name string) (bool, error) {
	bad := invalidParam("Invalid value for parameter '%s': expected a boolean.", name)
	if v, ok := a.raw(name); ok {
		var b bool
		if json.Unmarshal(v, &b) == nil {
			return b, nil
		}
	}
	s, ok, err := a.str(name)
	if err != nil || !ok {
		return false, err
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, bad
	}
	return b, nil
}

// loggedModelRun returns the run that logged the model a version's source
// names as models:/<model id> (as mlflow.register_model and
// log_model(registered_model_name=...) send it), so that the version
// records its run as MLflow's server does; "" for any other source, a
// model of no run or one that is not the tenant's.
func (c *call) loggedModelRun(source string) string {
	id, ok := strings.CutPrefix(source, "models:/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return ""
	}
	m, err := c.h.reg.LoggedModel(c.r.Context(), id)
	if err != nil || m.SourceRunID == nil {
		return ""
	}
	return *m.SourceRunID
}
