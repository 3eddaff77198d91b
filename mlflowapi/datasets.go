package mlflowapi

import (
	"encoding/json"

	"github.com/maestro-ml/maestro/registry"
)

// DatasetContextTag is the dataset input tag MLflow's client sets from
// log_input's context ("training", "eval", ...); datasets.context
// filters on it.
const DatasetContextTag = "mlflow.data.context"

// datasetClauses replaces each run search clause on datasets.name,
// datasets.digest or datasets.context by attributes.run_id IN (the runs
// with a dataset input that satisfies it), so the rest of the search
// answers it as a run id list. Each clause may be satisfied by a
// different input of the run; a run without inputs satisfies none, as on
// MLflow's server. The inputs are read only when a clause names datasets.
func (c *call) datasetClauses(ids []string, stages []registry.Lifecycle, cs []clause) ([]clause, error) {
	has := false
	for _, cl := range cs {
		has = has || cl.kind == kindDataset
	}
	if !has {
		return cs, nil
	}
	inputs, err := c.h.reg.ExperimentDatasetInputs(c.r.Context(), ids, stages...)
	if err != nil {
		return nil, err
	}
	contexts := make([]*string, len(inputs)) // parsed on first use
	out := make([]clause, 0, len(cs))
	for _, cl := range cs {
		if cl.kind != kindDataset {
			out = append(out, cl)
			continue
		}
		runs := clause{kind: kindAttr, key: "run_id", op: "IN", list: []string{}}
		for i := range inputs {
			in := &inputs[i]
			if n := len(runs.list); n > 0 && runs.list[n-1] == in.RunID {
				continue // the inputs come by run id: this run already matched
			}
			var v string
			switch cl.key {
			case "name":
				v = in.Name
			case "digest":
				v = in.Digest
			default:
				if contexts[i] == nil {
					ctx := datasetContext(in.Body)
					contexts[i] = &ctx
				}
				if v = *contexts[i]; v == "" {
					continue // an input without a context satisfies no context clause
				}
			}
			if match(cl, value{s: v}) {
				runs.list = append(runs.list, in.RunID)
			}
		}
		out = append(out, runs)
	}
	return out, nil
}

// datasetContext is the context tag of a stored dataset input (its wire
// form as logged), or "" when it has none.
func datasetContext(body string) string {
	var in wireDatasetInput
	if json.Unmarshal([]byte(body), &in) != nil {
		return ""
	}
	for _, t := range in.Tags {
		if t.Key == DatasetContextTag {
			return t.Value
		}
	}
	return ""
}
