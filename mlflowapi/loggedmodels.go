package mlflowapi

import (
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/maestro-ml/maestro/registry"
)

// LoggedModelsPath is the path, relative to APIPrefix, of MLflow 3's
// logged models; a model's calls are below it ("logged-models/{id}",
// ".../tags", ".../tags/{key}", ".../params").
const LoggedModelsPath = "logged-models"

var loggedStatusNames = map[registry.LoggedModelStatus]string{
	registry.LoggedModelPending: "LOGGED_MODEL_PENDING",
	registry.LoggedModelReady:   "LOGGED_MODEL_READY",
	registry.LoggedModelFailed:  "LOGGED_MODEL_UPLOAD_FAILED",
}

func parseLoggedStatus(s string) (registry.LoggedModelStatus, error) {
	switch strings.ToUpper(s) {
	case "LOGGED_MODEL_PENDING", "1":
		return registry.LoggedModelPending, nil
	case "LOGGED_MODEL_READY", "2":
		return registry.LoggedModelReady, nil
	case "LOGGED_MODEL_UPLOAD_FAILED", "3":
		return registry.LoggedModelFailed, nil
	}
	return "", invalidParam("Invalid value for parameter 'status': %q", s)
}

type wireLoggedModelInfo struct {
	ModelID        string     `json:"model_id"`
	ExperimentID   string     `json:"experiment_id"`
	Name           string     `json:"name"`
	CreationTime   int64      `json:"creation_timestamp_ms"`
	LastUpdateTime int64      `json:"last_updated_timestamp_ms"`
	ArtifactURI    string     `json:"artifact_uri"`
	Status         string     `json:"status"`
	ModelType      string     `json:"model_type,omitempty"`
	SourceRunID    string     `json:"source_run_id,omitempty"`
	StatusMessage  string     `json:"status_message,omitempty"`
	Tags           []keyValue `json:"tags,omitempty"`
}

type wireLoggedModel struct {
	Info wireLoggedModelInfo `json:"info"`
	Data struct {
		Params []keyValue `json:"params,omitempty"`
	} `json:"data"`
}

// modelArtifactURI is where a logged model's files are, through the
// artifact proxy.
func modelArtifactURI(m *registry.LoggedModel) string {
	return artifactLocation(m.ExperimentID) + "/models/" + m.ID + "/artifacts"
}

func sortedKV(m map[string]string) []keyValue {
	out := tagList(m)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func toWireLoggedModel(m *registry.LoggedModel) wireLoggedModel {
	var out wireLoggedModel
	out.Info = wireLoggedModelInfo{
		ModelID: m.ID, ExperimentID: m.ExperimentID, Name: m.Name,
		CreationTime: millis(m.CreatedAt), LastUpdateTime: millis(m.UpdatedAt),
		ArtifactURI: modelArtifactURI(m), Status: loggedStatusNames[m.Status],
		ModelType: m.ModelType, StatusMessage: m.StatusMessage, Tags: sortedKV(m.Tags),
	}
	if m.SourceRunID != nil {
		out.Info.SourceRunID = *m.SourceRunID
	}
	out.Data.Params = sortedKV(m.Params)
	return out
}

// loggedModelCall picks the handler of a call below "logged-models/"
// (rest is the path after it) and whether it writes.
func loggedModelCall(method, rest string) (handleFunc, bool, bool) {
	segs := strings.Split(rest, "/")
	id := segs[0]
	if id == "" || id == "search" {
		return nil, false, false
	}
	switch {
	case len(segs) == 1 && method == http.MethodGet:
		return func(c *call) (any, error) { return getLoggedModel(c, id) }, false, true
	case len(segs) == 1 && method == http.MethodPatch:
		return func(c *call) (any, error) { return finalizeLoggedModel(c, id) }, true, true
	case len(segs) == 1 && method == http.MethodDelete:
		return func(c *call) (any, error) { return deleteLoggedModel(c, id) }, true, true
	case len(segs) == 2 && segs[1] == "tags" && (method == http.MethodPatch || method == http.MethodPost):
		return func(c *call) (any, error) { return setLoggedModelTags(c, id) }, true, true
	case len(segs) == 3 && segs[1] == "tags" && segs[2] != "" && method == http.MethodDelete:
		key := segs[2]
		return func(c *call) (any, error) { return deleteLoggedModelTag(c, id, key) }, true, true
	case len(segs) == 2 && segs[1] == "params" && method == http.MethodPost:
		return func(c *call) (any, error) { return logLoggedModelParams(c, id) }, true, true
	case len(segs) == 1 || len(segs) == 2 && (segs[1] == "tags" || segs[1] == "params") || len(segs) == 3 && segs[1] == "tags":
		return nil, false, true // a known path, another method
	}
	return nil, false, false
}

func loggedModelErr(err error, id string) error {
	if errors.Is(err, registry.ErrNotFound) {
		return notFound("Logged model with ID '%s' not found.", id)
	}
	if errors.Is(err, registry.ErrParamChanged) {
		return invalidParam("Changing param values is not allowed. %s", strings.TrimPrefix(err.Error(), registry.ErrParamChanged.Error()+": "))
	}
	return err
}

func loggedModelAnswer(m *registry.LoggedModel, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return map[string]any{"model": toWireLoggedModel(m)}, nil
}

func createLoggedModel(c *call) (any, error) {
	expID, err := c.args.required("experiment_id")
	if err != nil {
		return nil, err
	}
	if expID, err = c.experimentID(expID, true); err != nil {
		return nil, experimentErr(err, expID)
	}
	in := registry.LoggedModelInput{ExperimentID: expID}
	for name, dst := range map[string]*string{"name": &in.Name, "model_type": &in.ModelType, "source_run_id": &in.SourceRunID} {
		if *dst, err = c.args.optional(name); err != nil {
			return nil, err
		}
	}
	var tags, params []keyValue
	if err := c.args.list("tags", &tags); err != nil {
		return nil, err
	}
	if err := c.args.list("params", &params); err != nil {
		return nil, err
	}
	if len(tags) > registry.MaxEntityTags || len(params) > registry.MaxLoggedModelParams {
		return nil, invalidParam("A logged model takes at most %d tags and %d params", registry.MaxEntityTags, registry.MaxLoggedModelParams)
	}
	in.Tags, in.Params = tagMap(tags), tagMap(params)
	m, err := c.h.reg.CreateLoggedModel(c.r.Context(), in)
	if errors.Is(err, registry.ErrNotFound) {
		if in.SourceRunID != "" {
			return nil, notFound("Run with id=%s not found or not in experiment %s", in.SourceRunID, expID)
		}
		return nil, experimentErr(err, expID)
	}
	return loggedModelAnswer(m, err)
}

func getLoggedModel(c *call, id string) (any, error) {
	m, err := c.h.reg.LoggedModel(c.r.Context(), id)
	return loggedModelAnswer(m, loggedModelErr(err, id))
}

func (c *call) updateLoggedModel(id string, p registry.LoggedModelPatch) (*registry.LoggedModel, error) {
	m, err := c.h.reg.UpdateLoggedModel(c.r.Context(), id, p)
	return m, loggedModelErr(err, id)
}

func finalizeLoggedModel(c *call, id string) (any, error) {
	s, err := c.args.required("status")
	if err != nil {
		return nil, err
	}
	st, err := parseLoggedStatus(s)
	if err != nil {
		return nil, err
	}
	return loggedModelAnswer(c.updateLoggedModel(id, registry.LoggedModelPatch{Status: &st}))
}

func deleteLoggedModel(c *call, id string) (any, error) {
	if err := loggedModelErr(c.h.reg.DeleteLoggedModel(c.r.Context(), id), id); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (c *call) keyValues(name string, max int) (map[string]string, error) {
	var kvs []keyValue
	if err := c.args.list(name, &kvs); err != nil {
		return nil, err
	}
	if len(kvs) > max {
		return nil, invalidParam("At most %d %s per call", max, name)
	}
	return tagMap(kvs), nil
}

func setLoggedModelTags(c *call, id string) (any, error) {
	tags, err := c.keyValues("tags", registry.MaxEntityTags)
	if err != nil {
		return nil, err
	}
	if _, err := c.updateLoggedModel(id, registry.LoggedModelPatch{Tags: tags}); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func deleteLoggedModelTag(c *call, id, key string) (any, error) {
	if _, err := c.updateLoggedModel(id, registry.LoggedModelPatch{DeleteTag: &key}); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func logLoggedModelParams(c *call, id string) (any, error) {
	params, err := c.keyValues("params", MaxBatchParams)
	if err != nil {
		return nil, err
	}
	if _, err := c.updateLoggedModel(id, registry.LoggedModelPatch{Params: params}); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

var loggedModelAttrs = attrSpec{
	numeric: map[string]bool{"model_id": false, "name": false, "model_type": false, "status": false,
		"source_run_id": false, "creation_timestamp": true, "last_updated_timestamp": true},
	alias: map[string]string{"creation_time": "creation_timestamp", "creation_timestamp_ms": "creation_timestamp",
		"last_updated_timestamp_ms": "last_updated_timestamp", "run_id": "source_run_id"},
	in:    map[string]bool{"model_id": true, "source_run_id": true, "name": true},
	kinds: map[int]bool{kindAttr: true, kindParam: true, kindTag: true},
}

func loggedModelEntity(m *registry.LoggedModel) entity {
	w := toWireLoggedModel(m)
	return entity{
		attrs: map[string]value{
			"model_id": {s: m.ID}, "name": {s: m.Name}, "model_type": {s: m.ModelType},
			"status": {s: w.Info.Status}, "source_run_id": {s: w.Info.SourceRunID},
			"creation_timestamp":     {n: float64(w.Info.CreationTime), num: true},
			"last_updated_timestamp": {n: float64(w.Info.LastUpdateTime), num: true},
		},
		params: m.Params, tags: m.Tags, wire: w,
	}
}

type wireModelOrder struct {
	FieldName     string `json:"field_name"`
	Ascending     *bool  `json:"ascending"`
	DatasetName   string `json:"dataset_name"`
	DatasetDigest string `json:"dataset_digest"`
}

// searchLoggedModels answers MLflow 3's logged-models/search: the
// experiments' logged models that match MLflow's filter grammar over
// their attributes, params and tags, ordered by order_by (newest first
// by default), paged.
func searchLoggedModels(c *call) (any, error) {
	ids, err := c.searchExperimentIDs()
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, missing("experiment_ids")
	}
	limit, err := c.maxResults(100)
	if err != nil {
		return nil, err
	}
	filter, err := c.args.optional("filter")
	if err != nil {
		return nil, err
	}
	token, err := c.args.optional("page_token")
	if err != nil {
		return nil, err
	}
	var wireOrders []wireModelOrder
	if err := c.args.list("order_by", &wireOrders); err != nil {
		return nil, err
	}
	if len(wireOrders) > MaxOrderBy {
		return nil, invalidParam("At most %d order_by terms", MaxOrderBy)
	}
	terms := make([]string, 0, len(wireOrders))
	for _, o := range wireOrders {
		if o.FieldName == "" {
			return nil, missing("order_by.field_name")
		}
		if o.DatasetName != "" || o.DatasetDigest != "" {
			return nil, invalidParam("Ordering by a dataset's metrics is not supported by this server")
		}
		dir := " ASC"
		if o.Ascending != nil && !*o.Ascending {
			dir = " DESC"
		}
		terms = append(terms, o.FieldName+dir)
	}
	clauses, err := parseFilter(filter, loggedModelAttrs)
	if err != nil {
		return nil, err
	}
	orders, err := parseOrderBy(terms, loggedModelAttrs)
	if err != nil {
		return nil, err
	}
	fp := fingerprint("logged-models", strings.Join(ids, ","), filter, strings.Join(terms, "\x00"))
	offset, err := decodeToken(token, fp)
	if err != nil {
		return nil, err
	}
	models, err := c.h.reg.ListLoggedModels(c.r.Context(), ids)
	if err != nil {
		return nil, err
	}
	rows := make([]entity, 0, len(models))
	for i := range models {
		if e := loggedModelEntity(&models[i]); matches(e, clauses) {
			rows = append(rows, e)
		}
	}
	orders = append(orders, order{kind: kindAttr, key: "creation_timestamp", desc: true}, order{kind: kindAttr, key: "model_id", desc: true})
	sortEntities(rows, orders)
	page, next := paginate(rows, offset, limit, fp)
	out := make([]wireLoggedModel, 0, len(page))
	for _, e := range page {
		out = append(out, e.wire.(wireLoggedModel))
	}
	resp := map[string]any{"models": out}
	if next != "" {
		resp["next_page_token"] = next
	}
	return resp, nil
}

func logOutputs(c *call) (any, error) {
	run, err := c.activeRun()
	if err != nil {
		return nil, err
	}
	var models []struct {
		ModelID string  `json:"model_id"`
		Step    wireInt `json:"step"`
	}
	if err := c.args.list("models", &models); err != nil {
		return nil, err
	}
	if len(models) > registry.MaxDatasetInputs {
		return nil, invalidParam("At most %d models per call", registry.MaxDatasetInputs)
	}
	outs := make([]registry.RunOutput, 0, len(models))
	for i, m := range models {
		if m.ModelID == "" {
			return nil, missing("models[" + itoa(i) + "].model_id")
		}
		outs = append(outs, registry.RunOutput{ModelID: m.ModelID, Step: m.Step.V})
	}
	err = c.h.reg.LogRunOutputs(c.r.Context(), run.ID, outs)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, notFound("A logged model of this call does not exist")
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}
