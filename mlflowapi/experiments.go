package mlflowapi

import (
	"errors"
	"sort"
	"strings"

	"github.com/maestro-ml/maestro/registry"
)

// DefaultExperimentID is the id MLflow's clients use when no experiment
// is set; it names the tenant's project-less experiment "Default",
// created by the first write that needs it.
const DefaultExperimentID = "0"

// DefaultExperimentName is the name of the experiment DefaultExperimentID
// names.
const DefaultExperimentName = "Default"

// MaxSearchResults is the largest max_results of a search (MLflow's).
const MaxSearchResults = 50000

// ProjectTag is the tag the API shows on an experiment that belongs to a
// Maestro project: its value is the project's id.
const ProjectTag = "maestro.project_id"

type wireExperiment struct {
	ExperimentID     string     `json:"experiment_id"`
	Name             string     `json:"name"`
	ArtifactLocation string     `json:"artifact_location"`
	LifecycleStage   string     `json:"lifecycle_stage"`
	LastUpdateTime   int64      `json:"last_update_time"`
	CreationTime     int64      `json:"creation_time"`
	Tags             []keyValue `json:"tags,omitempty"`
}

// artifactLocation is where an experiment's runs keep their artifacts:
// always this server's proxy.
func artifactLocation(experimentID string) string { return "mlflow-artifacts:/" + experimentID }

func toWireExperiment(e *registry.TrackedExperiment) wireExperiment {
	tags := make(map[string]string, len(e.Tags)+1)
	for k, v := range e.Tags {
		tags[k] = v
	}
	if e.ProjectID != nil {
		tags[ProjectTag] = *e.ProjectID
	}
	return wireExperiment{
		ExperimentID:     e.ID,
		Name:             e.Name,
		ArtifactLocation: artifactLocation(e.ID),
		LifecycleStage:   string(e.Lifecycle),
		LastUpdateTime:   e.LastUpdate().UnixMilli(),
		CreationTime:     e.CreatedAt.UnixMilli(),
		Tags:             tagList(tags),
	}
}

func tagList(m map[string]string) []keyValue {
	out := make([]keyValue, 0, len(m))
	for k, v := range m {
		out = append(out, keyValue{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func tagMap(kvs []keyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// experimentID resolves an experiment id: DefaultExperimentID is the
// Default experiment, created when create is set.
func (c *call) experimentID(id string, create bool) (string, error) {
	if id != DefaultExperimentID {
		return id, nil
	}
	ctx := c.r.Context()
	e, err := c.h.reg.TrackedExperimentByName(ctx, DefaultExperimentName)
	if err == nil {
		return e.ID, nil
	}
	if !errors.Is(err, registry.ErrNotFound) || !create {
		return "", err
	}
	e, err = c.h.reg.CreateTrackedExperiment(ctx, registry.TrackedExperimentInput{Name: DefaultExperimentName})
	if errors.Is(err, registry.ErrConflict) { // created concurrently
		e, err = c.h.reg.TrackedExperimentByName(ctx, DefaultExperimentName)
	}
	if err != nil {
		return "", err
	}
	return e.ID, nil
}

func (c *call) experiment(create bool) (*registry.TrackedExperiment, error) {
	id, err := c.args.required("experiment_id")
	if err != nil {
		return nil, err
	}
	resolved, err := c.experimentID(id, create)
	if err != nil {
		return nil, experimentErr(err, id)
	}
	e, err := c.h.reg.TrackedExperiment(c.r.Context(), resolved)
	return e, experimentErr(err, id)
}

func experimentErr(err error, id string) error {
	if errors.Is(err, registry.ErrNotFound) {
		return notFound("No Experiment with id=%s exists", id)
	}
	return err
}

func createExperiment(c *call) (any, error) {
	name, err := c.args.required("name")
	if err != nil {
		return nil, err
	}
	loc, err := c.args.optional("artifact_location")
	if err != nil {
		return nil, err
	}
	if loc != "" {
		return nil, invalidParam("artifact_location is not supported: this server stores every experiment's artifacts itself (mlflow-artifacts:/)")
	}
	var tags []keyValue
	if err := c.args.list("tags", &tags); err != nil {
		return nil, err
	}
	e, err := c.h.reg.CreateTrackedExperiment(c.r.Context(), registry.TrackedExperimentInput{Name: name, Tags: tagMap(tags)})
	if errors.Is(err, registry.ErrConflict) {
		return nil, newError(CodeAlreadyExists, 400, "Experiment(name=%s) already exists.", name)
	}
	if err != nil {
		return nil, err
	}
	return map[string]string{"experiment_id": e.ID}, nil
}

func getExperiment(c *call) (any, error) {
	e, err := c.experiment(false)
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment": toWireExperiment(e)}, nil
}

func getExperimentByName(c *call) (any, error) {
	name, err := c.args.required("experiment_name")
	if err != nil {
		return nil, err
	}
	e, err := c.h.reg.TrackedExperimentByName(c.r.Context(), name)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, notFound("Could not find experiment with name '%s'", name)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment": toWireExperiment(e)}, nil
}

func updateExperiment(c *call) (any, error) {
	e, err := c.experiment(false)
	if err != nil {
		return nil, err
	}
	name, err := c.args.optional("new_name")
	if err != nil {
		return nil, err
	}
	if name == "" {
		return map[string]any{}, nil
	}
	if e.Lifecycle != registry.LifecycleActive {
		return nil, invalidParam("Cannot rename a non-active experiment.")
	}
	if _, err := c.h.reg.RenameTrackedExperiment(c.r.Context(), e.ID, name); err != nil {
		if errors.Is(err, registry.ErrConflict) {
			return nil, newError(CodeAlreadyExists, 400, "Experiment(name=%s) already exists.", name)
		}
		return nil, err
	}
	return map[string]any{}, nil
}

func deleteExperiment(c *call) (any, error) { return setExperimentStage(c, registry.LifecycleDeleted) }

func restoreExperiment(c *call) (any, error) { return setExperimentStage(c, registry.LifecycleActive) }

func setExperimentStage(c *call, l registry.Lifecycle) (any, error) {
	e, err := c.experiment(false)
	if err != nil {
		return nil, err
	}
	if _, err := c.h.reg.SetExperimentLifecycle(c.r.Context(), e.ID, l); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func setExperimentTag(c *call) (any, error) {
	e, err := c.experiment(false)
	if err != nil {
		return nil, err
	}
	key, err := c.args.required("key")
	if err != nil {
		return nil, err
	}
	value, err := c.args.optional("value")
	if err != nil {
		return nil, err
	}
	if key == ProjectTag {
		return nil, invalidParam("the tag %s is reserved", ProjectTag)
	}
	if err := c.h.reg.SetExperimentTag(c.r.Context(), e.ID, key, value); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func deleteExperimentTag(c *call) (any, error) {
	e, err := c.experiment(false)
	if err != nil {
		return nil, err
	}
	key, err := c.args.required("key")
	if err != nil {
		return nil, err
	}
	if key == ProjectTag {
		return nil, invalidParam("the tag %s is reserved", ProjectTag)
	}
	err = c.h.reg.DeleteExperimentTag(c.r.Context(), e.ID, key)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, notFound("No tag with name: %s in experiment with id %s", key, e.ID)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// viewType reads a view_type or run_view_type: ACTIVE_ONLY (the default),
// DELETED_ONLY or ALL, by name or number.
func (c *call) viewType(name string) ([]registry.Lifecycle, error) {
	s, _, err := c.args.str(name)
	if err != nil {
		n, ok, err2 := c.args.int(name)
		if err2 != nil || !ok || n < 1 || n > 3 {
			return nil, invalidParam("Invalid value for %s", name)
		}
		s = map[int64]string{1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}[n]
	}
	switch strings.ToUpper(s) {
	case "", "ACTIVE_ONLY", "1":
		return []registry.Lifecycle{registry.LifecycleActive}, nil
	case "DELETED_ONLY", "2":
		return []registry.Lifecycle{registry.LifecycleDeleted}, nil
	case "ALL", "3":
		return nil, nil
	}
	return nil, invalidParam("Invalid value for %s: %q", name, s)
}

// maxResults reads max_results (default def, at most MaxSearchResults).
func (c *call) maxResults(def int64) (int, error) {
	n, ok, err := c.args.int("max_results")
	if err != nil {
		return 0, err
	}
	if !ok {
		return int(def), nil
	}
	if n <= 0 || n > MaxSearchResults {
		return 0, invalidParam("Invalid value for parameter 'max_results' supplied. It must be at most %d and positive, but got %d", MaxSearchResults, n)
	}
	return int(n), nil
}

// searchRequest is what every search call reads the same way: its
// max_results, filter, order_by and page_token, the filter and ordering
// parsed against the searched entity's attributes.
type searchRequest struct {
	limit   int
	filter  string
	orderBy string // the order_by terms, joined for the page token's fingerprint
	token   string
	clauses []clause
	orders  []order
}

// searchRequest reads a search call's common arguments (max_results
// defaults to def) and parses them against spec.
func (c *call) searchRequest(def int64, spec attrSpec) (searchRequest, error) {
	var sr searchRequest
	var err error
	if sr.limit, err = c.maxResults(def); err != nil {
		return sr, err
	}
	if sr.filter, err = c.args.optional("filter"); err != nil {
		return sr, err
	}
	orderBy, err := c.args.strs("order_by")
	if err != nil {
		return sr, err
	}
	sr.orderBy = strings.Join(orderBy, "\x00")
	if sr.token, err = c.args.optional("page_token"); err != nil {
		return sr, err
	}
	if sr.clauses, err = parseFilter(sr.filter, spec); err != nil {
		return sr, err
	}
	if sr.orders, err = parseOrderBy(orderBy, spec); err != nil {
		return sr, err
	}
	return sr, nil
}

func searchExperiments(c *call) (any, error) {
	stages, err := c.viewType("view_type")
	if err != nil {
		return nil, err
	}
	sr, err := c.searchRequest(1000, experimentAttrs)
	if err != nil {
		return nil, err
	}
	fp := fingerprint("experiments", sr.filter, sr.orderBy, stagesKey(stages))
	offset, err := decodeToken(sr.token, fp)
	if err != nil {
		return nil, err
	}
	all, err := c.h.reg.ListTrackedExperiments(c.r.Context(), stages...)
	if err != nil {
		return nil, err
	}
	rows := make([]entity, 0, len(all))
	for i := range all {
		we := toWireExperiment(&all[i])
		if e := experimentEntity(we); matches(e, sr.clauses) {
			rows = append(rows, e)
		}
	}
	if len(sr.orders) == 0 {
		sr.orders = []order{{kind: kindAttr, key: "creation_time", desc: true}}
	}
	sr.orders = append(sr.orders, order{kind: kindAttr, key: "experiment_id"})
	sortEntities(rows, sr.orders)
	page, next := paginate(rows, offset, sr.limit, fp)
	out := make([]wireExperiment, 0, len(page))
	for _, e := range page {
		out = append(out, e.wire.(wireExperiment))
	}
	resp := map[string]any{"experiments": out}
	if next != "" {
		resp["next_page_token"] = next
	}
	return resp, nil
}

func stagesKey(s []registry.Lifecycle) string {
	parts := make([]string, len(s))
	for i, l := range s {
		parts[i] = string(l)
	}
	return strings.Join(parts, ",")
}
