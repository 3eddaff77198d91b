package platform

import (
	"encoding/base64"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// mlflowRunAnswer is the part of MLflow's runs/create answer tests read.
type mlflowRunAnswer struct {
	Run struct {
		Info struct {
			RunID string `json:"run_id"`
		} `json:"info"`
	} `json:"run"`
}

// TestMLflowMount: WithMLflow serves MLflow's API on the platform's base
// URL with the platform's credentials (Bearer access token or API key,
// Basic with an API key as password), answers refusals as MLflow does, and
// an MLflow run is the run /api/v1 shows. Without the option nothing is
// mounted.
func TestMLflowMount(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{opts: []Option{WithMLflow()}})
	admin := ts.adminToken()
	tenant := ts.createTenant(admin, "mlf")
	ts.addMember(admin, tenant, "mlf-viewer", memberPassword, "viewer")
	ts.addMember(admin, tenant, "mlf-member", memberPassword, "member")
	member := ts.login("mlf-member", memberPassword, "mlf").AccessToken
	viewer := ts.login("mlf-viewer", memberPassword, "mlf").AccessToken
	var key struct {
		Key string `json:"key"`
	}
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", member, map[string]any{"current_password": memberPassword, "name": "mlflow"}), 201).json(t, &key)

	var created struct {
		ExperimentID string `json:"experiment_id"`
	}
	expect(t, ts.do("POST", "/api/2.0/mlflow/experiments/create", member, map[string]any{"name": "e"}), 200).json(t, &created)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("anyone:"+key.Key))
	var run mlflowRunAnswer
	expect(t, ts.do("POST", "/api/2.0/mlflow/runs/create", "", map[string]any{"experiment_id": created.ExperimentID}, "Authorization", basic), 200).json(t, &run)
	id := run.Run.Info.RunID
	expect(t, ts.do("POST", "/api/2.0/mlflow/runs/log-batch", key.Key, map[string]any{"run_id": id,
		"params":  []map[string]string{{"key": "lr", "value": "0.1"}},
		"metrics": []map[string]any{{"key": "loss", "value": 0.5, "timestamp": 1, "step": 1}}}), 200)
	expect(t, ts.do("PUT", "/api/2.0/mlflow-artifacts/artifacts/"+created.ExperimentID+"/"+id+"/artifacts/a.txt", member, "hi"), 200)

	// One store: /api/v1 shows the run MLflow logged.
	var v1 struct {
		Params map[string]string `json:"params"`
	}
	expect(t, ts.do("GET", "/api/v1/runs/"+id, member, nil), 200).json(t, &v1)
	if v1.Params["lr"] != "0.1" {
		t.Fatalf("/api/v1 run: %+v", v1)
	}

	var e struct {
		ErrorCode string `json:"error_code"`
	}
	expect(t, ts.do("POST", "/api/2.0/mlflow/runs/log-metric", viewer, map[string]any{"run_id": id, "key": "x", "value": 1}), 403).json(t, &e)
	if e.ErrorCode != "PERMISSION_DENIED" {
		t.Fatalf("viewer write: %s", e.ErrorCode)
	}
	expect(t, ts.do("GET", "/api/2.0/mlflow/runs/get?run_id="+id, viewer, nil), 200)
	for _, cred := range []string{"", "Basic " + base64.StdEncoding.EncodeToString([]byte("mlf-member:"+memberPassword)), "Bearer nope"} {
		r := ts.do("GET", "/api/2.0/mlflow/runs/get?run_id="+id, "", nil, "Authorization", cred)
		expect(t, r, 401).json(t, &e)
		if e.ErrorCode != "UNAUTHENTICATED" {
			t.Fatalf("credential %q: %s", cred, r.body)
		}
	}
	// The superadmin's session is bound to the default tenant: another
	// tenant's run does not exist for it.
	expect(t, ts.do("GET", "/api/2.0/mlflow/runs/get?run_id="+id, admin, nil), 404)
	expect(t, ts.do("GET", "/api/2.0/mlflow-artifacts/artifacts/"+created.ExperimentID+"/"+id+"/artifacts/a.txt", admin, nil), 404)

	plain := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	expect(t, plain.do("POST", "/api/2.0/mlflow/experiments/create", plain.adminToken(), map[string]any{"name": "e"}), 404)
}
