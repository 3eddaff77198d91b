"""MLflow's own client against a Maestro platform serving MLflow's API.

Run by .ci/mlflowtest against the real platform binary (examples/platform
serve --mlflow). It needs:

  MAESTRO_MLFLOW_TEST_URL   the platform's base URL (the tracking URI)
  MAESTRO_ADMIN_PASSWORD    the bootstrap administrator's password

It sets up two tenants through Maestro's /api/v1 (tenant "default" with the
administrator and a viewer, tenant "beta" with a member), then drives an
unmodified mlflow client as each of them: a training loop, searches,
histories, artifacts, and the isolation and role rules.
"""

import contextlib
import os
import secrets
import tempfile
import unittest

import requests

import mlflow
import mlflow.pyfunc
from mlflow.entities import LoggedModelStatus
from mlflow.exceptions import MlflowException, RestException
from mlflow.tracking import MlflowClient

BASE = os.environ["MAESTRO_MLFLOW_TEST_URL"].rstrip("/")
ADMIN_PASSWORD = os.environ["MAESTRO_ADMIN_PASSWORD"]
CREDENTIAL_VARS = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")


def v1(method, path, token=None, **kw):
    headers = {"Authorization": "Bearer " + token} if token else {}
    r = requests.request(method, BASE + "/api/v1" + path, headers=headers, timeout=30, **kw)
    if r.status_code >= 300:
        raise AssertionError(f"{method} {path}: {r.status_code} {r.text}")
    return r.json() if r.content else None


def login(username, password, tenant=None):
    body = {"username": username, "password": password}
    if tenant:
        body["tenant"] = tenant
    return v1("POST", "/auth/login", json=body)["access_token"]


def api_key(username, password, tenant):
    tok = login(username, password, tenant)
    return v1("POST", "/auth/api-keys", tok, json={"current_password": password, "name": "mlflow-test"})["key"]


@contextlib.contextmanager
def credentials(**env):
    """Run the block with exactly these MLFLOW_TRACKING_* credentials."""
    saved = {k: os.environ.get(k) for k in CREDENTIAL_VARS}
    for k in CREDENTIAL_VARS:
        os.environ.pop(k, None)
    os.environ.update(env)
    try:
        yield MlflowClient(tracking_uri=BASE)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def error_code(exc):
    return getattr(exc, "error_code", None)


class MaestroMLflowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        mlflow.set_tracking_uri(BASE)
        suffix = secrets.token_hex(4)
        cls.admin_token = login("admin", ADMIN_PASSWORD, "default")
        tenants = v1("GET", "/tenants", cls.admin_token)["items"]
        cls.default_id = next(t["id"] for t in tenants if t["slug"] == "default")
        beta = v1("POST", "/tenants", cls.admin_token, json={"name": "Beta " + suffix, "slug": "beta-" + suffix})
        password = "-".join(["Correct", "Horse", secrets.token_hex(8)])
        v1("POST", f"/tenants/{beta['id']}/members", cls.admin_token,
           json={"username": "bob-" + suffix, "password": password, "role": "member"})
        v1("POST", f"/tenants/{cls.default_id}/members", cls.admin_token,
           json={"username": "vera-" + suffix, "password": password, "role": "viewer"})
        cls.beta_key = api_key("bob-" + suffix, password, "beta-" + suffix)
        cls.viewer_key = api_key("vera-" + suffix, password, "default")
        cls.admin_key = api_key("admin", ADMIN_PASSWORD, "default")
        cls.exp_name = "mnist-" + suffix

    def setUp(self):
        for k in CREDENTIAL_VARS:
            os.environ.pop(k, None)
        os.environ["MLFLOW_TRACKING_TOKEN"] = self.admin_token

    def tearDown(self):
        if mlflow.active_run():
            mlflow.end_run()

    def train(self, name, experiment=None):
        """A training loop as an unmodified script writes it."""
        exp = mlflow.set_experiment(experiment or self.exp_name)
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "notes.txt"), "w") as f:
                f.write("hello from " + name)
            os.makedirs(os.path.join(tmp, "model", "conf"))
            with open(os.path.join(tmp, "model", "weights.bin"), "wb") as f:
                f.write(bytes(range(256)) * 64)
            with open(os.path.join(tmp, "model", "conf", "params.yaml"), "w") as f:
                f.write("layers: 3\n")
            with open(os.path.join(tmp, "model", "MLmodel"), "w") as f:
                f.write("artifact_path: model\nflavors: {}\n")
            with mlflow.start_run(run_name=name) as run:
                mlflow.log_param("lr", 0.01)
                mlflow.log_params({"optimizer": "adam", "layers": 3})
                mlflow.set_tags({"team": "vision", "stage": "dev"})
                for step in range(20):
                    mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
                    mlflow.log_metrics({"acc": step / 20.0, "lr_now": 0.01 * 0.9 ** step}, step=step)
                mlflow.log_artifact(os.path.join(tmp, "notes.txt"))
                mlflow.log_artifacts(os.path.join(tmp, "model"), artifact_path="model")
                mlflow.log_dict({"classes": 10}, "meta/info.json")
                mlflow.log_text("plain", "meta/readme.txt")
        return exp, run

    def test_training_loop_search_history_artifacts(self):
        train_exp = self.exp_name + "-train"
        exp, run = self.train("first", train_exp)
        _, run2 = self.train("second", train_exp)
        client = MlflowClient(tracking_uri=BASE)
        got = client.get_run(run.info.run_id)
        self.assertEqual(got.info.status, "FINISHED")
        self.assertEqual(got.info.run_name, "first")
        self.assertEqual(got.data.params, {"lr": "0.01", "optimizer": "adam", "layers": "3"})
        self.assertEqual(got.data.tags["team"], "vision")
        self.assertAlmostEqual(got.data.metrics["loss"], 1.0 / 20)
        self.assertAlmostEqual(got.data.metrics["acc"], 19 / 20.0)
        self.assertTrue(got.info.artifact_uri.startswith("mlflow-artifacts:/"))

        # Changing a parameter is refused, as by MLflow's server.
        with self.assertRaises(MlflowException) as cm:
            client.log_param(run2.info.run_id, "lr", "0.5")
        self.assertEqual(error_code(cm.exception), "INVALID_PARAMETER_VALUE")

        hist = client.get_metric_history(run.info.run_id, "loss")
        self.assertEqual([m.step for m in hist], list(range(20)))
        self.assertAlmostEqual(hist[3].value, 0.25)

        runs = client.search_runs([exp.experiment_id], filter_string="metrics.acc > 0.5 and params.optimizer = 'adam'",
                                  order_by=["attributes.start_time ASC"])
        self.assertEqual([r.info.run_name for r in runs], ["first", "second"])
        runs = client.search_runs([exp.experiment_id], filter_string="attributes.run_name LIKE 'sec%'")
        self.assertEqual([r.info.run_id for r in runs], [run2.info.run_id])
        runs = client.search_runs([exp.experiment_id], filter_string="tags.team ILIKE 'VIS%'", max_results=1)
        self.assertEqual(len(runs), 1)
        self.assertTrue(runs.token)
        more = client.search_runs([exp.experiment_id], filter_string="tags.team ILIKE 'VIS%'", max_results=1,
                                  page_token=runs.token)
        self.assertEqual(len(more), 1)
        self.assertNotEqual(more[0].info.run_id, runs[0].info.run_id)
        df = mlflow.search_runs(experiment_names=[train_exp], output_format="list")
        self.assertEqual(len(df), 2)

        names = sorted(f.path for f in client.list_artifacts(run.info.run_id))
        self.assertEqual(names, ["meta", "model", "notes.txt"])
        names = sorted(f.path for f in client.list_artifacts(run.info.run_id, "model"))
        self.assertEqual(names, ["model/MLmodel", "model/conf", "model/weights.bin"])
        with tempfile.TemporaryDirectory() as dst:
            path = client.download_artifacts(run.info.run_id, "model", dst)
            with open(os.path.join(path, "weights.bin"), "rb") as f:
                self.assertEqual(f.read(), bytes(range(256)) * 64)
            with open(os.path.join(path, "conf", "params.yaml")) as f:
                self.assertEqual(f.read(), "layers: 3\n")
            path = mlflow.artifacts.download_artifacts(artifact_uri=run.info.artifact_uri + "/notes.txt", dst_path=dst)
            with open(path) as f:
                self.assertEqual(f.read(), "hello from first")
        self.assertEqual(mlflow.artifacts.load_dict(run.info.artifact_uri + "/meta/info.json"), {"classes": 10})

        # One store, two views: Maestro's API shows the same run.
        r = v1("GET", f"/runs/{run.info.run_id}", self.admin_token)
        self.assertEqual(r["params"]["optimizer"], "adam")
        self.assertEqual(r["status"], "finished")
        summary = v1("GET", f"/runs/{run.info.run_id}/metrics", self.admin_token)
        self.assertIn("loss", [m["key"] for m in summary["items"]])

        # Delete and restore.
        client.delete_run(run2.info.run_id)
        ids = [r.info.run_id for r in client.search_runs([exp.experiment_id])]
        self.assertNotIn(run2.info.run_id, ids)
        client.restore_run(run2.info.run_id)
        client.delete_tag(run2.info.run_id, "stage")
        self.assertNotIn("stage", client.get_run(run2.info.run_id).data.tags)

    def test_model_registry(self):
        _, run = self.train("to-register", self.exp_name + "-models")
        client = MlflowClient(tracking_uri=BASE)
        name = "churn-" + self.exp_name
        mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
        self.assertEqual(mv.version, "1")
        self.assertEqual(mv.run_id, run.info.run_id)
        self.assertEqual(mv.source, run.info.artifact_uri + "/model")
        mv2 = client.create_model_version(name, run.info.artifact_uri + "/model", run.info.run_id)
        self.assertEqual(mv2.version, "2")
        client.set_registered_model_alias(name, "champion", "1")
        got = client.get_model_version_by_alias(name, "champion")
        self.assertEqual((got.version, got.aliases), ("1", ["champion"]))
        rm = client.get_registered_model(name)
        self.assertEqual(rm.aliases, {"champion": "1"})
        self.assertEqual([v.version for v in client.get_latest_versions(name)], ["2"])
        self.assertEqual([m.name for m in client.search_registered_models(filter_string=f"name LIKE 'churn-{self.exp_name}%'")], [name])
        self.assertEqual(sorted(v.version for v in client.search_model_versions(f"name = '{name}'")), ["1", "2"])
        self.assertEqual(client.get_model_version(name, "2").status, "READY")
        with tempfile.TemporaryDirectory() as dst:
            path = mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=dst)
            self.assertTrue(os.path.exists(os.path.join(path, "MLmodel")))
        with self.assertRaises(MlflowException) as cm:
            client.create_registered_model(name)
        self.assertEqual(error_code(cm.exception), "RESOURCE_ALREADY_EXISTS")
        client.delete_registered_model_alias(name, "champion")
        with self.assertRaises(MlflowException) as cm:
            client.get_model_version_by_alias(name, "champion")
        self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")
        # Another tenant neither sees the model nor is kept from the name.
        with credentials(MLFLOW_TRACKING_USERNAME="bob", MLFLOW_TRACKING_PASSWORD=self.beta_key) as other:
            with self.assertRaises(MlflowException) as cm:
                other.get_registered_model(name)
            self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")
            self.assertEqual(list(other.search_model_versions(f"name = '{name}'")), [])
            other.create_registered_model(name)
        with credentials(MLFLOW_TRACKING_TOKEN=self.viewer_key) as viewer:
            self.assertEqual(viewer.get_model_version(name, "1").version, "1")
            with self.assertRaises(MlflowException) as cm:
                viewer.set_registered_model_alias(name, "x", "1")
            self.assertEqual(error_code(cm.exception), "PERMISSION_DENIED")

    def test_model_registry_writes(self):
        _, run = self.train("to-update", self.exp_name + "-model-writes")
        client = MlflowClient(tracking_uri=BASE)
        name = "writes-" + self.exp_name
        client.create_registered_model(name)
        for _ in range(3):
            client.create_model_version(name, run.info.artifact_uri + "/model", run.info.run_id)
        client.set_registered_model_alias(name, "champion", "3")
        self.assertEqual(client.update_registered_model(name, "monthly churn").description, "monthly churn")
        new = name + "-v2"
        client.rename_registered_model(name, new)
        rm = client.get_registered_model(new)
        self.assertEqual((rm.name, rm.aliases), (new, {"champion": "3"}))
        with self.assertRaises(MlflowException) as cm:
            client.get_registered_model(name)
        self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")
        self.assertEqual(client.update_model_version(new, "2", "passed review").description, "passed review")
        client.set_registered_model_tag(new, "team", "risk")
        client.set_registered_model_tag(new, "gone", "soon")
        client.delete_registered_model_tag(new, "gone")
        self.assertEqual(client.get_registered_model(new).tags, {"team": "risk"})
        client.set_model_version_tag(new, "2", "validated", "yes")
        self.assertEqual(client.get_model_version(new, "2").tags, {"validated": "yes"})
        self.assertEqual([v.version for v in client.search_model_versions(f"name = '{new}' AND tags.validated = 'yes'")], ["2"])
        client.transition_model_version_stage(new, "1", "Production")
        mv = client.transition_model_version_stage(new, "2", "Production", archive_existing_versions=True)
        self.assertEqual(mv.current_stage, "Production")
        self.assertEqual(client.get_model_version(new, "1").current_stage, "Archived")
        self.assertEqual([v.version for v in client.get_latest_versions(new, stages=["Production"])], ["2"])
        client.delete_model_version(new, "3")
        with self.assertRaises(MlflowException) as cm:
            client.get_model_version_by_alias(new, "champion")
        self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")
        self.assertEqual([(v.version, v.current_stage) for v in client.get_latest_versions(new)], [("1", "Archived"), ("2", "Production")])
        # The same rows through /api/v1.
        m = v1("GET", f"/models/{new}", self.admin_token)
        self.assertEqual((m["name"], m["description"], m["latest_version"]), (new, "monthly churn", 3))
        vs = v1("GET", f"/models/{new}/versions", self.admin_token)["items"]
        self.assertEqual([(v["version"], v["description"], v["stage"], v["tags"]) for v in vs],
                         [(1, "", "Archived", {}), (2, "passed review", "Production", {"validated": "yes"})])
        self.assertEqual(m["tags"], {"team": "risk"})
        self.assertEqual(v1("GET", f"/models/{new}/aliases", self.admin_token)["items"], [])
        self.assertEqual(client.create_model_version(new, run.info.artifact_uri + "/model", run.info.run_id).version, "4")
        with credentials(MLFLOW_TRACKING_TOKEN=self.viewer_key) as viewer:
            with self.assertRaises(MlflowException) as cm:
                viewer.delete_registered_model(new)
            self.assertEqual(error_code(cm.exception), "PERMISSION_DENIED")
        with credentials(MLFLOW_TRACKING_USERNAME="bob", MLFLOW_TRACKING_PASSWORD=self.beta_key) as other:
            with self.assertRaises(MlflowException) as cm:
                other.rename_registered_model(new, "stolen")
            self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")
        client.delete_registered_model(new)
        r = requests.get(BASE + f"/api/v1/models/{new}", headers={"Authorization": "Bearer " + self.admin_token}, timeout=30)
        self.assertEqual(r.status_code, 404)
        # The run keeps its artifacts.
        self.assertIn("model", [f.path for f in client.list_artifacts(run.info.run_id)])

    def test_experiments(self):
        client = MlflowClient(tracking_uri=BASE)
        name = self.exp_name + "-exp"
        eid = client.create_experiment(name, tags={"owner": "ann"})
        self.assertEqual(client.get_experiment_by_name(name).experiment_id, eid)
        with self.assertRaises(MlflowException) as cm:
            client.create_experiment(name)
        self.assertEqual(error_code(cm.exception), "RESOURCE_ALREADY_EXISTS")
        client.set_experiment_tag(eid, "k", "v")
        client.rename_experiment(eid, name + "-renamed")
        e = client.get_experiment(eid)
        self.assertEqual(e.name, name + "-renamed")
        self.assertEqual(e.tags["k"], "v")
        found = client.search_experiments(filter_string=f"name LIKE '{name}%'")
        self.assertEqual([x.experiment_id for x in found], [eid])
        client.delete_experiment(eid)
        self.assertEqual(client.get_experiment(eid).lifecycle_stage, "deleted")
        client.restore_experiment(eid)
        self.assertEqual(client.get_experiment(eid).lifecycle_stage, "active")
        with self.assertRaises(MlflowException) as cm:
            client.get_experiment("01900000-0000-7000-8000-000000000000")
        self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")

    def test_script_extras(self):
        """What typical scripts also call: nested runs, resuming, failing, async logging, tables,
        datasets, experiment tags, NULL filters and the registry's orders and copies."""
        client = MlflowClient(tracking_uri=BASE)
        exp = mlflow.set_experiment(self.exp_name + "-extras")
        mlflow.set_experiment_tags({"team": "nlp", "tmp": "x"})
        client.delete_experiment_tag(exp.experiment_id, "tmp")
        self.assertEqual(client.get_experiment(exp.experiment_id).tags, {"team": "nlp"})
        with self.assertRaises(MlflowException) as cm:
            client.delete_experiment_tag(exp.experiment_id, "tmp")
        self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")
        with mlflow.start_run(run_name="sweep", description="grid search") as parent:
            for lr in (0.1, 0.01):
                with mlflow.start_run(run_name=f"lr-{lr}", nested=True):
                    mlflow.log_param("lr", lr)
                    for step in range(5):
                        mlflow.log_metric("loss", lr * step, step=step, synchronous=False)
            mlflow.flush_async_logging()
            mlflow.log_metric("grad_norm", float("inf"))  # kept as the largest float, as MLflow's SQL store
            mlflow.log_table({"epoch": [1, 2], "acc": [0.5, 0.7]}, "eval/table.json")
            import pandas as pd
            mlflow.log_input(mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2]}), name="train"), context="training")
        pid = parent.info.run_id
        children = client.search_runs([exp.experiment_id], f"tags.mlflow.parentRunId = '{pid}'",
                                      order_by=["params.lr DESC"])
        self.assertEqual([r.info.run_name for r in children], ["lr-0.1", "lr-0.01"])
        self.assertEqual([m.value for m in client.get_metric_history(children[0].info.run_id, "loss")],
                         [0.1 * s for s in range(5)])
        got = client.get_run(pid)
        self.assertEqual(got.data.tags["mlflow.note.content"], "grid search")
        self.assertEqual([i.dataset.name for i in got.inputs.dataset_inputs], ["train"])
        self.assertEqual(got.data.metrics["grad_norm"], 1.7976931348623157e308)
        self.assertIn("eval/table.json", [f.path for f in client.list_artifacts(pid, "eval")])
        self.assertEqual([r.info.run_id for r in client.search_runs(
            [exp.experiment_id], "datasets.name = 'train' AND datasets.context = 'training'")], [pid])
        # IS NULL: the parent has no lr param.
        self.assertEqual([r.info.run_id for r in client.search_runs([exp.experiment_id], "params.lr IS NULL")], [pid])
        # Resuming a finished run, then ending it as failed.
        with mlflow.start_run(run_id=pid):
            mlflow.log_metric("resumed", 1)
        self.assertEqual(client.get_run(pid).info.status, "FINISHED")
        mlflow.start_run(run_id=pid)
        mlflow.end_run(status="FAILED")
        self.assertEqual(mlflow.last_active_run().info.status, "FAILED")
        self.assertEqual([r.info.run_id for r in client.search_runs([exp.experiment_id], "attributes.status = 'FAILED'")], [pid])
        # The registry: orders by time, a version the model lacks, copies, versions by number.
        name = "extras-" + self.exp_name
        for suffix in ("-a", "-b"):
            client.create_registered_model(name + suffix, tags={"k": "v"}, description="d")
            client.create_model_version(name + suffix, f"runs:/{pid}/eval", pid)
        found = client.search_registered_models(f"name LIKE '{name}%'", order_by=["last_updated_timestamp DESC"])
        self.assertEqual([m.name for m in found], [name + "-b", name + "-a"])
        with self.assertRaises(MlflowException) as cm:
            client.set_registered_model_alias(name + "-a", "best", "9")
        self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")
        copy = client.copy_model_version(f"models:/{name}-a/1", name + "-copy")
        self.assertEqual((copy.name, copy.version), (name + "-copy", "1"))
        vs = client.search_model_versions(f"name IN ('{name}-a', '{name}-copy')", order_by=["creation_timestamp ASC"])
        self.assertEqual([v.name for v in vs], [name + "-a", name + "-copy"])
        with tempfile.TemporaryDirectory() as dst:
            path = mlflow.artifacts.download_artifacts(f"models:/{name}-copy/1", dst_path=dst)
            self.assertIn("table.json", os.listdir(path))

    def test_tenant_isolation_and_basic_auth(self):
        exp, run = self.train("isolated")
        # Tenant beta's member, with Basic auth whose password is an API key.
        with credentials(MLFLOW_TRACKING_USERNAME="bob", MLFLOW_TRACKING_PASSWORD=self.beta_key) as client:
            with self.assertRaises(MlflowException) as cm:
                client.get_run(run.info.run_id)
            self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")
            with self.assertRaises(MlflowException) as cm:
                client.get_experiment(exp.experiment_id)
            self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")
            self.assertEqual(list(client.search_runs([exp.experiment_id])), [])
            self.assertIsNone(client.get_experiment_by_name(self.exp_name))
            with self.assertRaises(MlflowException):
                client.log_metric(run.info.run_id, "evil", 1.0)
            # The same name is free in another tenant.
            beta_exp = client.create_experiment(self.exp_name)
            self.assertNotEqual(beta_exp, exp.experiment_id)
            beta_run = client.create_run(beta_exp)
            client.log_metric(beta_run.info.run_id, "m", 1.0)
            names = [e.name for e in client.search_experiments()]
            self.assertIn(self.exp_name, names)
            with tempfile.TemporaryDirectory() as dst:
                with self.assertRaises(Exception):
                    mlflow.artifacts.download_artifacts(artifact_uri=run.info.artifact_uri + "/notes.txt", dst_path=dst)
        # Tenant default still sees only its own experiment of that name.
        self.assertEqual(MlflowClient(tracking_uri=BASE).get_experiment_by_name(self.exp_name).experiment_id,
                         exp.experiment_id)
        # A wrong password is UNAUTHENTICATED.
        with credentials(MLFLOW_TRACKING_USERNAME="bob", MLFLOW_TRACKING_PASSWORD="not-a-key") as client:
            with self.assertRaises(MlflowException) as cm:
                client.get_run(run.info.run_id)
            self.assertEqual(error_code(cm.exception), "UNAUTHENTICATED")

    def test_viewer_reads_but_cannot_write(self):
        exp, run = self.train("viewed")
        with credentials(MLFLOW_TRACKING_TOKEN=self.viewer_key) as client:
            self.assertEqual(client.get_run(run.info.run_id).info.run_name, "viewed")
            self.assertEqual(len(client.get_metric_history(run.info.run_id, "acc")), 20)
            self.assertIn("notes.txt", [f.path for f in client.list_artifacts(run.info.run_id)])
            for write in (lambda: client.log_metric(run.info.run_id, "x", 1.0),
                          lambda: client.set_tag(run.info.run_id, "x", "y"),
                          lambda: client.create_experiment("viewer-exp"),
                          lambda: client.delete_run(run.info.run_id)):
                with self.assertRaises(MlflowException) as cm:
                    write()
                self.assertEqual(error_code(cm.exception), "PERMISSION_DENIED")
            with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
                f.write("x")
                f.flush()
                with self.assertRaises(Exception):
                    client.log_artifact(run.info.run_id, f.name)

    def test_api_key_as_tracking_token(self):
        with credentials(MLFLOW_TRACKING_TOKEN=self.admin_key):
            _, run = self.train("by-key")
            self.assertEqual(MlflowClient(tracking_uri=BASE).get_run(run.info.run_id).info.status, "FINISHED")


# --- MLflow 3 logged models (mlflow.pyfunc.log_model, load, register) ---

class AddOne(mlflow.pyfunc.PythonModel):
    """A tiny pyfunc model: adds one to each input."""

    def predict(self, context, model_input, params=None):
        return [x + 1 for x in model_input]


def _test_pyfunc_log_load_register(self):
    """mlflow.pyfunc.log_model in a run, load_model, register, aliases, tags, search, isolation."""
    mlflow.set_experiment(self.exp_name + "-models")
    name = "adder-" + secrets.token_hex(4)
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(name="adder", python_model=AddOne(), params={"offset": 1},
                                       registered_model_name=name)
    self.assertEqual(info.model_uri, "models:/" + info.model_id)
    client = MlflowClient(tracking_uri=BASE)
    model = client.get_logged_model(info.model_id)
    self.assertEqual(model.status, LoggedModelStatus.READY)
    self.assertEqual(model.source_run_id, run.info.run_id)
    self.assertEqual(model.name, "adder")
    self.assertEqual(model.params, {"offset": "1"})
    self.assertTrue(model.artifact_location.endswith("/models/" + info.model_id + "/artifacts"))
    self.assertEqual(list(mlflow.pyfunc.load_model(info.model_uri).predict([1, 2])), [2, 3])
    # registered_model_name registered version 1 from the logged model.
    self.assertEqual(client.get_model_version(name, "1").version, "1")
    client.set_registered_model_alias(name, "champion", "1")
    self.assertEqual(list(mlflow.pyfunc.load_model(f"models:/{name}@champion").predict([10])), [11])
    # mlflow.register_model from the logged model's URI.
    second = mlflow.register_model(info.model_uri, name + "-b")
    self.assertEqual(second.version, "1")
    with tempfile.TemporaryDirectory() as dst:
        got = mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=dst)
        self.assertIn("MLmodel", os.listdir(got))
    # Tags, search by source run and name, deletion.
    client.set_logged_model_tags(info.model_id, {"team": "vision"})
    client.delete_logged_model_tag(info.model_id, "team")
    self.assertNotIn("team", client.get_logged_model(info.model_id).tags)
    client.set_logged_model_tags(info.model_id, {"team": "search"})
    exp_id = run.info.experiment_id
    found = client.search_logged_models([exp_id], filter_string=f"source_run_id = '{run.info.run_id}'")
    self.assertEqual([m.model_id for m in found], [info.model_id])
    found = client.search_logged_models([exp_id], filter_string="name = 'nope'")
    self.assertEqual(list(found), [])
    found = client.search_logged_models([exp_id], filter_string="tags.team = 'search'")
    self.assertEqual([m.model_id for m in found], [info.model_id])
    # Another tenant neither sees nor changes it; a viewer cannot write.
    with credentials(MLFLOW_TRACKING_TOKEN=self.beta_key) as beta:
        with self.assertRaises(MlflowException) as cm:
            beta.get_logged_model(info.model_id)
        self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")
        with self.assertRaises(MlflowException) as cm:
            beta.delete_logged_model(info.model_id)
        self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")
    with credentials(MLFLOW_TRACKING_TOKEN=self.viewer_key) as viewer:
        self.assertEqual(viewer.get_logged_model(info.model_id).name, "adder")
        with self.assertRaises(MlflowException) as cm:
            viewer.set_logged_model_tags(info.model_id, {"x": "y"})
        self.assertEqual(error_code(cm.exception), "PERMISSION_DENIED")
    client.delete_logged_model(info.model_id)
    with self.assertRaises(MlflowException) as cm:
        client.get_logged_model(info.model_id)
    self.assertEqual(error_code(cm.exception), "RESOURCE_DOES_NOT_EXIST")



MaestroMLflowTest.test_pyfunc_log_load_register = _test_pyfunc_log_load_register

if __name__ == "__main__":
    unittest.main(verbosity=2)
