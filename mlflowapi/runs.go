package mlflowapi

import (
	"context"
	"errors"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/maestro-ml/maestro/registry"
)

// MLflow's limits of one log-batch call.
const (
	MaxBatchMetrics = 1000
	MaxBatchParams  = 100
	MaxBatchTags    = 100
	MaxBatchTotal   = 1000
)

// RunNameTag is the tag MLflow keeps in step with a run's name.
const RunNameTag = "mlflow.runName"

type wireRunInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time"`
	EndTime        *int64 `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

type wireMetricOut struct {
	Key       string `json:"key"`
	Value     any    `json:"value"`
	Timestamp int64  `json:"timestamp"`
	Step      int64  `json:"step"`
}

type wireRunData struct {
	Metrics []wireMetricOut `json:"metrics,omitempty"`
	Params  []keyValue      `json:"params,omitempty"`
	Tags    []keyValue      `json:"tags,omitempty"`
}

type wireDataset struct {
	Name       string `json:"name"`
	Digest     string `json:"digest"`
	SourceType string `json:"source_type"`
	Source     string `json:"source"`
	Schema     string `json:"schema,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

type wireDatasetInput struct {
	Tags    []keyValue  `json:"tags,omitempty"`
	Dataset wireDataset `json:"dataset"`
}

type wireRunInputs struct {
	DatasetInputs []wireDatasetInput `json:"dataset_inputs,omitempty"`
}

type wireModelOutput struct {
	ModelID string `json:"model_id"`
	Step    int64  `json:"step"`
}

type wireRunOutputs struct {
	ModelOutputs []wireModelOutput `json:"model_outputs,omitempty"`
}

type wireRun struct {
	Info    wireRunInfo     `json:"info"`
	Data    wireRunData     `json:"data"`
	Inputs  wireRunInputs   `json:"inputs"`
	Outputs *wireRunOutputs `json:"outputs,omitempty"`
}

var statusNames = map[registry.RunStatus]string{
	registry.RunRunning: "RUNNING", registry.RunFinished: "FINISHED",
	registry.RunFailed: "FAILED", registry.RunKilled: "KILLED",
}

// parseStatus reads an MLflow RunStatus by name (or protobuf number).
func parseStatus(s string) (registry.RunStatus, error) {
	switch strings.ToUpper(s) {
	case "RUNNING", "1":
		return registry.RunRunning, nil
	case "FINISHED", "3":
		return registry.RunFinished, nil
	case "FAILED", "4":
		return registry.RunFailed, nil
	case "KILLED", "5":
		return registry.RunKilled, nil
	case "SCHEDULED", "2":
		return "", invalidParam("Run status SCHEDULED is not supported by this server")
	}
	return "", invalidParam("Invalid value for parameter 'status': %q", s)
}

func millis(t time.Time) int64 { return t.UnixMilli() }

// jsonFloat renders a double as MLflow's server does: a number, or
// "NaN" / "Infinity" / "-Infinity".
func jsonFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

func runInfo(run *registry.TrackedRun) wireRunInfo {
	info := wireRunInfo{
		RunID: run.ID, RunUUID: run.ID, RunName: run.Name, ExperimentID: run.ExperimentID,
		UserID: run.UserID, Status: statusNames[run.Status], StartTime: millis(run.StartedAt),
		ArtifactURI:    artifactLocation(run.ExperimentID) + "/" + run.ID + "/artifacts",
		LifecycleStage: string(run.Lifecycle),
	}
	if info.Status == "" {
		info.Status = strings.ToUpper(string(run.Status))
	}
	if run.EndedAt != nil {
		ms := millis(*run.EndedAt)
		info.EndTime = &ms
	}
	return info
}

func toWireRun(run *registry.TrackedRun, inputs []registry.DatasetInput) wireRun {
	out := wireRun{Info: runInfo(run)}
	for _, m := range run.Metrics {
		out.Data.Metrics = append(out.Data.Metrics, wireMetricOut{Key: m.Key, Value: jsonFloat(m.LastValue),
			Timestamp: millis(m.LastTimestamp), Step: m.LastStep})
	}
	keys := make([]string, 0, len(run.Params))
	for k := range run.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out.Data.Params = append(out.Data.Params, keyValue{Key: k, Value: run.Params[k]})
	}
	out.Data.Tags = tagList(run.Tags)
	for _, in := range inputs {
		var di wireDatasetInput
		if err := jsonUnmarshalString(in.Body, &di); err != nil {
			di = wireDatasetInput{Dataset: wireDataset{Name: in.Name, Digest: in.Digest}}
		}
		out.Inputs.DatasetInputs = append(out.Inputs.DatasetInputs, di)
	}
	return out
}

// runID reads the call's run_id (or the older run_uuid).
func (c *call) runID() (string, error) {
	id, _, err := c.args.str("run_id")
	if err != nil {
		return "", err
	}
	if id == "" {
		if id, _, err = c.args.str("run_uuid"); err != nil {
			return "", err
		}
	}
	if id == "" {
		return "", missing("run_id")
	}
	return id, nil
}

func (c *call) run() (*registry.TrackedRun, error) {
	id, err := c.runID()
	if err != nil {
		return nil, err
	}
	run, err := c.h.reg.TrackedRun(c.r.Context(), id)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, notFound("Run with id=%s not found", id)
	}
	return run, err
}

// activeRun is run, refusing a deleted one as MLflow does.
func (c *call) activeRun() (*registry.TrackedRun, error) {
	run, err := c.run()
	if err != nil {
		return nil, err
	}
	if run.Lifecycle != registry.LifecycleActive {
		return nil, invalidParam("The run %s must be in the 'active' state. Current state is %s.", run.ID, run.Lifecycle)
	}
	return run, nil
}

func createRun(c *call) (any, error) {
	expID, err := c.args.optional("experiment_id")
	if err != nil {
		return nil, err
	}
	if expID == "" {
		expID = DefaultExperimentID
	}
	if expID, err = c.experimentID(expID, true); err != nil {
		return nil, experimentErr(err, expID)
	}
	user, err := c.args.optional("user_id")
	if err != nil {
		return nil, err
	}
	name, err := c.args.optional("run_name")
	if err != nil {
		return nil, err
	}
	start, _, err := c.args.int("start_time")
	if err != nil {
		return nil, err
	}
	var tags []keyValue
	if err := c.args.list("tags", &tags); err != nil {
		return nil, err
	}
	if len(tags) > registry.MaxEntityTags {
		return nil, invalidParam("A run takes at most %d tags", registry.MaxEntityTags)
	}
	tm := tagMap(tags)
	if name == "" {
		name = tm[RunNameTag]
	} else if tn, ok := tm[RunNameTag]; ok && tn != name {
		return nil, invalidParam("Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='%s', mlflow.runName='%s').", name, tn)
	}
	if _, ok := tm[RunNameTag]; !ok && name != "" {
		tm[RunNameTag] = name // in the same transaction as the run
	}
	in := registry.TrackedRunInput{Name: name, UserID: user, Tags: tm}
	if start > 0 {
		in.StartTime = time.UnixMilli(start)
	}
	run, err := c.h.reg.CreateTrackedRun(c.r.Context(), expID, in)
	if err != nil {
		return nil, experimentErr(err, expID)
	}
	if _, ok := run.Tags[RunNameTag]; !ok {
		// MLflow keeps the name in a tag as well.
		if err := c.h.reg.LogRunBatch(c.r.Context(), run.ID, registry.RunBatch{Tags: map[string]string{RunNameTag: run.Name}}); err != nil {
			return nil, err
		}
		run.Tags[RunNameTag] = run.Name
	}
	return map[string]any{"run": toWireRun(run, nil)}, nil
}

func getRun(c *call) (any, error) {
	run, err := c.run()
	if err != nil {
		return nil, err
	}
	inputs, err := c.h.reg.DatasetInputs(c.r.Context(), run.ID)
	if err != nil {
		return nil, err
	}
	outputs, err := c.h.reg.RunOutputs(c.r.Context(), run.ID)
	if err != nil {
		return nil, err
	}
	out := toWireRun(run, inputs)
	if len(outputs) > 0 {
		out.Outputs = &wireRunOutputs{}
		for _, o := range outputs {
			out.Outputs.ModelOutputs = append(out.Outputs.ModelOutputs, wireModelOutput{ModelID: o.ModelID, Step: o.Step})
		}
	}
	return map[string]any{"run": out}, nil
}

func updateRun(c *call) (any, error) {
	run, err := c.activeRun()
	if err != nil {
		return nil, err
	}
	var p registry.TrackedRunPatch
	if s, ok, err := c.args.str("status"); err != nil {
		return nil, err
	} else if ok && s != "" {
		st, err := parseStatus(s)
		if err != nil {
			return nil, err
		}
		p.Status = &st
	}
	if end, ok, err := c.args.int("end_time"); err != nil {
		return nil, err
	} else if ok && (p.Status == nil || *p.Status != registry.RunRunning) {
		// Resuming a run (start_run(run_id=...)) sends RUNNING with the
		// old end time; a running run has none, so the end is cleared.
		t := time.UnixMilli(end)
		p.EndTime = &t
	}
	name, err := c.args.optional("run_name")
	if err != nil {
		return nil, err
	}
	if name != "" {
		p.Name = &name
	}
	out, err := c.h.reg.UpdateTrackedRun(c.r.Context(), run.ID, p)
	if err != nil {
		return nil, err
	}
	if name != "" {
		if err := c.h.reg.LogRunBatch(c.r.Context(), run.ID, registry.RunBatch{Tags: map[string]string{RunNameTag: name}}); err != nil {
			return nil, err
		}
	}
	return map[string]any{"run_info": runInfo(out)}, nil
}

func deleteRun(c *call) (any, error) { return setRunStage(c, registry.LifecycleDeleted) }

func restoreRun(c *call) (any, error) { return setRunStage(c, registry.LifecycleActive) }

func setRunStage(c *call, l registry.Lifecycle) (any, error) {
	run, err := c.run()
	if err != nil {
		return nil, err
	}
	if err := c.h.reg.SetRunLifecycle(c.r.Context(), run.ID, l); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

// metricPoint converts a wire metric; a missing timestamp is now.
func (c *call) metricPoint(m wireMetric, field string) (registry.MetricPoint, error) {
	if m.Key == "" {
		return registry.MetricPoint{}, missing(field + "key")
	}
	if !m.Value.Set {
		return registry.MetricPoint{}, missing(field + "value")
	}
	if math.IsNaN(m.Value.V) {
		return registry.MetricPoint{}, invalidParam("Metric '%s' is NaN; this server stores numbers only", m.Key)
	}
	if math.IsInf(m.Value.V, 0) {
		// As MLflow's SQL store: ±Infinity is kept as the largest float.
		m.Value.V = math.Copysign(math.MaxFloat64, m.Value.V)
	}
	ts := c.h.now()
	if m.Timestamp.Set {
		ts = time.UnixMilli(m.Timestamp.V)
	}
	return registry.MetricPoint{Key: m.Key, Value: m.Value.V, Step: m.Step.V, Timestamp: ts}, nil
}

// logMetric and logBatch leave the run's checks (it exists in the
// tenant, it is active) to LogRunBatch's transaction rather than reading
// the run with its data first.
func logMetric(c *call) (any, error) {
	id, err := c.runID()
	if err != nil {
		return nil, err
	}
	var m wireMetric
	var ok bool
	if m.Key, ok, err = c.args.str("key"); err != nil || !ok {
		if err == nil {
			err = missing("key")
		}
		return nil, err
	}
	for name, dst := range map[string]any{"value": &m.Value, "timestamp": &m.Timestamp, "step": &m.Step} {
		if v, ok := c.args.raw(name); ok {
			if err := jsonUnmarshal(v, dst); err != nil {
				return nil, invalidParam("Invalid value for parameter '%s'", name)
			}
		}
	}
	p, err := c.metricPoint(m, "")
	if err != nil {
		return nil, err
	}
	if err := c.batchByID(id, registry.RunBatch{Metrics: []registry.MetricPoint{p}}); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func logParam(c *call) (any, error) {
	run, err := c.activeRun()
	if err != nil {
		return nil, err
	}
	key, err := c.args.required("key")
	if err != nil {
		return nil, err
	}
	value, _, err := c.args.str("value")
	if err != nil {
		return nil, err
	}
	return map[string]any{}, c.batch(run, registry.RunBatch{Params: map[string]string{key: value}})
}

// batch writes b, answering a changed parameter as MLflow does.
func (c *call) batch(run *registry.TrackedRun, b registry.RunBatch) error {
	return c.batchByID(run.ID, b)
}

// batchByID writes b to the run id, answering an unknown run and a changed
// parameter as MLflow does.
func (c *call) batchByID(id string, b registry.RunBatch) error {
	err := c.h.reg.LogRunBatch(c.r.Context(), id, b)
	if errors.Is(err, registry.ErrNotFound) {
		return notFound("Run with id=%s not found", id)
	}
	if errors.Is(err, registry.ErrParamChanged) {
		return invalidParam("Changing param values is not allowed. %s", strings.TrimPrefix(err.Error(), registry.ErrParamChanged.Error()+": "))
	}
	return err
}

func setRunTag(c *call) (any, error) {
	run, err := c.activeRun()
	if err != nil {
		return nil, err
	}
	key, err := c.args.required("key")
	if err != nil {
		return nil, err
	}
	value, _, err := c.args.str("value")
	if err != nil {
		return nil, err
	}
	if err := c.batch(run, registry.RunBatch{Tags: map[string]string{key: value}}); err != nil {
		return nil, err
	}
	if key == RunNameTag && value != "" && value != run.Name {
		if _, err := c.h.reg.UpdateTrackedRun(c.r.Context(), run.ID, registry.TrackedRunPatch{Name: &value}); err != nil {
			return nil, err
		}
	}
	return map[string]any{}, nil
}

func deleteRunTag(c *call) (any, error) {
	run, err := c.activeRun()
	if err != nil {
		return nil, err
	}
	key, err := c.args.required("key")
	if err != nil {
		return nil, err
	}
	err = c.h.reg.DeleteRunTag(c.r.Context(), run.ID, key)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, notFound("No tag with name: %s in run with id %s", key, run.ID)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func logBatch(c *call) (any, error) {
	var (
		metrics []wireMetric
		params  []keyValue
		tags    []keyValue
	)
	if err := c.args.list("metrics", &metrics); err != nil {
		return nil, err
	}
	if err := c.args.list("params", &params); err != nil {
		return nil, err
	}
	if err := c.args.list("tags", &tags); err != nil {
		return nil, err
	}
	switch {
	case len(metrics) > MaxBatchMetrics:
		return nil, invalidParam("A batch logging request can contain at most %d metrics. Got %d metrics.", MaxBatchMetrics, len(metrics))
	case len(params) > MaxBatchParams:
		return nil, invalidParam("A batch logging request can contain at most %d params. Got %d params.", MaxBatchParams, len(params))
	case len(tags) > MaxBatchTags:
		return nil, invalidParam("A batch logging request can contain at most %d tags. Got %d tags.", MaxBatchTags, len(tags))
	case len(metrics)+len(params)+len(tags) > MaxBatchTotal:
		return nil, invalidParam("The total number of metrics, params, and tags in a batch can be at most %d. Got %d.", MaxBatchTotal, len(metrics)+len(params)+len(tags))
	}
	id, err := c.runID()
	if err != nil {
		return nil, err
	}
	b := registry.RunBatch{}
	for i, m := range metrics {
		p, err := c.metricPoint(m, "metrics["+itoa(i)+"].")
		if err != nil {
			return nil, err
		}
		b.Metrics = append(b.Metrics, p)
	}
	if len(params) > 0 {
		b.Params = map[string]string{}
		for _, p := range params {
			if p.Key == "" {
				return nil, missing("params.key")
			}
			if old, ok := b.Params[p.Key]; ok && old != p.Value {
				return nil, invalidParam("Duplicate parameter keys have been submitted: %s with different values", p.Key)
			}
			b.Params[p.Key] = p.Value
		}
	}
	if len(tags) > 0 {
		b.Tags = tagMap(tags)
		if _, ok := b.Tags[""]; ok {
			return nil, missing("tags.key")
		}
	}
	if err := c.batchByID(id, b); err != nil {
		return nil, err
	}
	if name, ok := b.Tags[RunNameTag]; ok && name != "" {
		if _, err := c.h.reg.UpdateTrackedRun(c.r.Context(), id, registry.TrackedRunPatch{Name: &name}); err != nil {
			return nil, err
		}
	}
	return map[string]any{}, nil
}

func logInputs(c *call) (any, error) {
	run, err := c.activeRun()
	if err != nil {
		return nil, err
	}
	var inputs []wireDatasetInput
	if err := c.args.list("datasets", &inputs); err != nil {
		return nil, err
	}
	if len(inputs) > registry.MaxDatasetInputs {
		return nil, invalidParam("At most %d datasets per call", registry.MaxDatasetInputs)
	}
	rows := make([]registry.DatasetInput, 0, len(inputs))
	for i, in := range inputs {
		if in.Dataset.Name == "" || in.Dataset.Digest == "" {
			return nil, missing("datasets[" + itoa(i) + "].dataset.name and digest")
		}
		body, err := jsonMarshalString(in)
		if err != nil {
			return nil, err
		}
		rows = append(rows, registry.DatasetInput{Name: in.Dataset.Name, Digest: in.Dataset.Digest, Body: body})
	}
	if len(rows) > 0 {
		if err := c.h.reg.LogDatasetInputs(c.r.Context(), run.ID, rows); err != nil {
			return nil, err
		}
	}
	return map[string]any{}, nil
}

func getMetricHistory(c *call) (any, error) {
	id, err := c.runID()
	if err != nil {
		return nil, err
	}
	key, err := c.args.required("metric_key")
	if err != nil {
		return nil, err
	}
	limit, ok, err := c.args.int("max_results")
	if err != nil {
		return nil, err
	}
	if !ok {
		limit = registry.MaxHistoryPage
	}
	if limit <= 0 || limit > registry.MaxHistoryPage {
		return nil, invalidParam("max_results must be between 1 and %d", registry.MaxHistoryPage)
	}
	token, err := c.args.optional("page_token")
	if err != nil {
		return nil, err
	}
	page, err := c.h.reg.MetricPoints(c.r.Context(), id, key, int(limit), token)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return nil, notFound("Run with id=%s not found", id)
	case errors.Is(err, registry.ErrInvalid) && token != "":
		return nil, invalidParam("Invalid page token")
	case err != nil:
		return nil, err
	}
	return c.writeJSON(appendHistory(nil, key, page))
}

// appendHistory appends the answer of get-history, as json.Encoder
// writes {"metrics": [wireMetricOut...], "next_page_token": ...}.
func appendHistory(b []byte, key string, page registry.Page[registry.MetricPoint]) []byte {
	k := appendJSONString(nil, key)
	b = slices.Grow(b, 32+len(page.Items)*(historyPointBytes+len(k))+len(page.NextCursor))
	b = append(b, `{"metrics":[`...)
	for i, p := range page.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendMetric(b, k, p.Value, millis(p.Timestamp), p.Step)
	}
	b = append(b, ']')
	if page.NextCursor != "" {
		b = append(b, `,"next_page_token":`...)
		b = appendJSONString(b, page.NextCursor)
	}
	return append(b, "}\n"...)
}

func runEntity(run *registry.TrackedRun) entity {
	wr := toWireRun(run, nil)
	e := entity{
		attrs: map[string]value{
			"run_id":       {s: run.ID},
			"run_name":     {s: run.Name},
			"status":       {s: wr.Info.Status},
			"user_id":      {s: run.UserID},
			"artifact_uri": {s: wr.Info.ArtifactURI},
			"start_time":   {n: float64(wr.Info.StartTime), num: true},
		},
		metrics: make(map[string]float64, len(run.Metrics)),
		params:  run.Params,
		tags:    run.Tags,
		wire:    wr,
	}
	if wr.Info.EndTime != nil {
		e.attrs["end_time"] = value{n: float64(*wr.Info.EndTime), num: true}
	}
	for _, m := range run.Metrics {
		e.metrics[m.Key] = m.LastValue
	}
	return e
}

// searchExperimentIDs reads a search's experiment_ids (at most
// MaxTrackingScan), the default experiment's "0" resolved ("" when it
// does not exist yet).
func (c *call) searchExperimentIDs() ([]string, error) {
	ids, err := c.args.strs("experiment_ids")
	if err != nil {
		return nil, err
	}
	if len(ids) > registry.MaxTrackingScan {
		return nil, invalidParam("At most %d experiment_ids", registry.MaxTrackingScan)
	}
	for i, id := range ids {
		if id == DefaultExperimentID {
			if ids[i], err = c.experimentID(id, false); errors.Is(err, registry.ErrNotFound) {
				ids[i] = ""
			} else if err != nil {
				return nil, err
			}
		}
	}
	return ids, nil
}

func searchRuns(c *call) (any, error) {
	ids, err := c.searchExperimentIDs()
	if err != nil {
		return nil, err
	}
	stages, err := c.viewType("run_view_type")
	if err != nil {
		return nil, err
	}
	sr, err := c.searchRequest(1000, runAttrs)
	if err != nil {
		return nil, err
	}
	if sr.clauses, err = c.datasetClauses(ids, stages, sr.clauses); err != nil {
		return nil, err
	}
	fp := fingerprint("runs", strings.Join(ids, ","), sr.filter, sr.orderBy, stagesKey(stages))
	offset, err := decodeToken(sr.token, fp)
	if err != nil {
		return nil, err
	}
	sr.orders = append(sr.orders, order{kind: kindAttr, key: "start_time", desc: true}, order{kind: kindAttr, key: "run_id"})
	var (
		out  []wireRun
		next string
	)
	if plan, ok := planRunSearch(ids, stages, sr.clauses, sr.orders); ok {
		var more bool
		if out, more, err = queryRuns(c.r.Context(), c.h.reg, plan, offset, sr.limit); err != nil {
			return nil, err
		}
		if more {
			next = encodeToken(offset+len(out), fp)
		}
	} else if out, next, err = searchRunsInMemory(c.r.Context(), c.h.reg, ids, stages, sr.clauses, sr.orders, offset, sr.limit, fp); err != nil {
		return nil, err
	}
	resp := map[string]any{"runs": out}
	if next != "" {
		resp["next_page_token"] = next
	}
	return resp, nil
}

// searchRunsInMemory answers a run search by reading every run of the
// experiments in the stages, then filtering, sorting and paging them
// here: the reference the database's answer must equal, and the answer
// for searches it cannot order.
func searchRunsInMemory(ctx context.Context, reg *registry.Registry, ids []string, stages []registry.Lifecycle, clauses []clause, orders []order, offset, limit int, fp string) ([]wireRun, string, error) {
	runs, err := reg.ListTrackedRuns(ctx, ids, stages...)
	if err != nil {
		return nil, "", err
	}
	rows := make([]entity, 0, len(runs))
	for i := range runs {
		if e := runEntity(&runs[i]); matches(e, clauses) {
			rows = append(rows, e)
		}
	}
	sortEntities(rows, orders)
	page, next := paginate(rows, offset, limit, fp)
	out := make([]wireRun, 0, len(page))
	for _, e := range page {
		out = append(out, e.wire.(wireRun))
	}
	return out, next, nil
}
