#!/usr/bin/env python3
"""Put scikit-learn's GaussianProcessRegressor and RandomForestRegressor on
the synthetic data Maestro's metalearn package is evaluated on, and print
their held-out metrics beside the Go model's.

Benchmark only: not part of the library or of CI.

Planning-time scenarios (drift, confounding, small histories) against
tuned gradient boosting, a tuned random forest and ridge, each with
cross-conformal 80 % intervals:

    go run ./bench/metalearn/cmd/mlbench -export bench/metalearn/data/planning -only export
    bash bench/metalearn/run_compare.sh --planning bench/metalearn/data/planning

    # 1. export the data and the Go metrics (from the repository root)
    go test ./metalearn -run TestExportEvaluation -metalearn.export=$PWD/bench/metalearn/data
    # 2. compare (needs: pip install scikit-learn scipy numpy)
    python3 bench/metalearn/compare.py --data bench/metalearn/data

The CSV holds feature set version 1 before standardization (empty cells
are missing values) and the three targets. Preprocessing mirrors the Go
encoder: one-hot problem class, missing values imputed with the training
mean, numeric columns standardized; deployment days are modelled as
log(days) and compute cost as log(1 + cost), like in Go. Metrics are
computed on the original units.
"""

import argparse
import csv
import json
import math
import os
import time
import warnings

import numpy as np
from scipy.stats import norm, spearmanr
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict

CLASSES = [
    "classification", "regression", "forecasting", "nlp",
    "computer_vision", "recommendation", "anomaly_detection", "other",
]
TARGETS = ["success_score", "deployment_days", "compute_cost"]


def forward(target, y):
    if target == "deployment_days":
        return np.log(y)
    if target == "compute_cost":
        return np.log1p(y)
    return y


def inverse(target, v):
    if target == "deployment_days":
        return np.exp(v)
    if target == "compute_cost":
        return np.maximum(np.expm1(v), 0)
    return np.clip(v, 0, 100)


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    ycols = [header.index("y_" + t) for t in TARGETS]
    numeric = [i for i in range(1, len(header)) if not header[i].startswith("y_")]
    cls = np.array([[1.0 if r[0] == c else 0.0 for c in CLASSES] for r in rows])
    num = np.array([[float(r[i]) if r[i] != "" else math.nan for i in numeric] for r in rows])
    ys = {t: np.array([float(r[c]) for r in rows]) for t, c in zip(TARGETS, ycols)}
    return cls, num, ys


class Encoder:
    """Training-mean imputation and standardization, like the Go encoder."""

    def fit(self, num):
        with np.errstate(invalid="ignore"):
            self.keep = ~np.all(np.isnan(num), axis=0)
            num = num[:, self.keep]
            self.mean = np.nanmean(num, axis=0)
            sd = np.nanstd(num, axis=0)
        self.sd = np.where(sd > 1e-9, sd, 1.0)
        return self

    def transform(self, cls, num):
        num = num[:, self.keep]
        num = np.where(np.isnan(num), self.mean, num)
        return np.hstack([cls, (num - self.mean) / self.sd])


def evaluate(name, y_true_units, target, mu, sd, coverage, seconds):
    pred = inverse(target, mu)
    res = {
        "model": name,
        "test_mae": float(np.mean(np.abs(y_true_units - pred))),
        "test_spearman": float(spearmanr(y_true_units, pred).correlation),
        "fit_seconds": seconds,
    }
    if sd is not None:
        z = norm.ppf(0.5 + coverage / 2)
        lo, hi = inverse(target, mu - z * sd), inverse(target, mu + z * sd)
        res["test_coverage"] = float(np.mean((y_true_units >= lo) & (y_true_units <= hi)))
        res["test_mean_interval_width"] = float(np.mean(hi - lo))
    return res


def run(data, n, coverage, restarts, gp_max):
    cls_tr, num_tr, ys_tr = load(os.path.join(data, "train.csv"))
    cls_te, num_te, ys_te = load(os.path.join(data, "test.csv"))
    cls_tr, num_tr = cls_tr[:n], num_tr[:n]
    enc = Encoder().fit(num_tr)
    xtr, xte = enc.transform(cls_tr, num_tr), enc.transform(cls_te, num_te)
    out = {}
    for t in TARGETS:
        ytr = forward(t, ys_tr[t][:n])
        yte = ys_te[t]
        results = []
        if n <= gp_max:
            results.append(fit_gp(xtr, ytr, xte, yte, t, coverage, restarts))
        rf = RandomForestRegressor(n_estimators=300, min_samples_leaf=3, random_state=0, n_jobs=1)
        t0 = time.perf_counter()
        rf.fit(xtr, ytr)
        secs = time.perf_counter() - t0
        results.append(evaluate("sklearn RandomForestRegressor (300 trees)", yte, t, rf.predict(xte), None, coverage, secs))
        base = inverse(t, np.full(len(yte), ytr.mean()))
        results.append({"model": "mean baseline", "test_mae": float(np.mean(np.abs(yte - base)))})
        out[t] = results
    return out


def fit_gp(xtr, ytr, xte, yte, t, coverage, restarts):
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(
        length_scale=np.full(xtr.shape[1], math.sqrt(xtr.shape[1])), length_scale_bounds=(1e-2, 1e4)
    ) + WhiteKernel(0.1, (1e-6, 10))
    gp = GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=restarts, random_state=0)
    t0 = time.perf_counter()
    gp.fit(xtr, ytr)
    secs = time.perf_counter() - t0
    mu, sd = gp.predict(xte, return_std=True)
    return evaluate("sklearn GaussianProcessRegressor (ARD RBF + white noise, exact)", yte, t, mu, sd, coverage, secs)


# ---------------------------------------------------------------------------
# Planning-time scenarios (exported by `go run ./bench/metalearn/cmd/mlbench
# -export bench/metalearn/data/planning -only export`): each directory holds
# the history at planning (train_planning.csv) and at completion
# (train_completion.csv), the held-out projects that follow it in time as
# known before their start (test_planning.csv), and the Go model's figures
# on the same split (go_metrics.json).

def tuned(name, n, seed=0):
    """A baseline with its hyperparameters tuned by 3-fold CV (MAE)."""
    cv = KFold(3, shuffle=True, random_state=seed)
    if name == "gbm":
        est = HistGradientBoostingRegressor(loss="absolute_error", max_iter=150, early_stopping=False, random_state=seed)
        grid = {"learning_rate": [0.05, 0.1], "max_leaf_nodes": [4, 8], "min_samples_leaf": [max(3, n // 15)]}
    elif name == "rf":
        est = RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1)
        grid = {"min_samples_leaf": [1, 5], "max_features": [1.0, 0.5]}
    else:
        return RidgeCV(alphas=np.logspace(-3, 4, 15))
    return GridSearchCV(est, grid, cv=cv, scoring="neg_mean_absolute_error", n_jobs=1)


def conformal(est, x, y, coverage, seed=0):
    """Fit est (tuning included) and return it with the cross-conformal
    half-width: the ceil((n+1)·coverage)-th absolute out-of-fold residual
    of the tuned model (infinite when n cannot support the coverage)."""
    est.fit(x, y)
    best = est.best_estimator_ if hasattr(est, "best_estimator_") else est
    oof = cross_val_predict(clone(best), x, y, cv=KFold(5, shuffle=True, random_state=seed))
    r = np.sort(np.abs(y - oof))
    k = math.ceil((len(r) + 1) * coverage - 1e-9)
    q = r[k - 1] if k <= len(r) else math.inf
    return best, q, float(np.mean(np.abs(y - oof)))


def planning_scenario(path, coverage, targets):
    cls_tr, num_tr, ys_tr = load(os.path.join(path, "train_planning.csv"))
    cls_cp, num_cp, ys_cp = load(os.path.join(path, "train_completion.csv"))
    cls_te, num_te, ys_te = load(os.path.join(path, "test_planning.csv"))
    with open(os.path.join(path, "go_metrics.json")) as f:
        go = json.load(f)
    n = len(cls_tr)
    enc = Encoder().fit(num_tr)
    # Imputed and standardized (RF, ridge) and raw with NaN (gradient boosting).
    xtr, xte = enc.transform(cls_tr, num_tr), enc.transform(cls_te, num_te)
    # Columns the history never recorded are dropped, like the Go encoder's
    # unseen features (gradient boosting cannot bin an all-missing column).
    rtr, rte = np.hstack([cls_tr, num_tr[:, enc.keep]]), np.hstack([cls_te, num_te[:, enc.keep]])
    keep_cp = ~np.all(np.isnan(num_cp), axis=0)
    rcp, rte_cp = np.hstack([cls_cp, num_cp[:, keep_cp]]), np.hstack([cls_te, num_te[:, keep_cp]])
    rows = []
    for t in targets:
        ytr, yte = forward(t, ys_tr[t]), ys_te[t]
        for key, label in [("planning", "Go metalearn, planning model"), ("completion", "Go metalearn, completion model (in-flight inputs marginalised)")]:
            r = next(x for x in go[key] if x["target"] == t)
            rows.append((t, f"{label} ({r['model']})", r["test_mae"], r["test_coverage"], r["test_mean_interval_width"], ""))
        for name, label, a, b in [("gbm", "HistGradientBoosting (tuned, cross-conformal)", rtr, rte),
                                  ("rf", "RandomForest (tuned, cross-conformal)", xtr, xte),
                                  ("ridge", "RidgeCV (cross-conformal)", xtr, xte)]:
            t0 = time.perf_counter()
            est, q, _ = conformal(tuned(name, n), a, ytr, coverage)
            secs = time.perf_counter() - t0
            mu = est.predict(b)
            rows.append(res_row(t, label, yte, mu, q, secs))
        # Gradient boosting trained on the completion features (in-flight
        # inputs known), asked before the start (NaN): what a model that
        # ignores the cut-off does.
        t0 = time.perf_counter()
        est, q, _ = conformal(tuned("gbm", n), rcp, forward(t, ys_cp[t]), coverage)
        rows.append(res_row(t, "HistGradientBoosting on completion features, asked at planning", yte, est.predict(rte_cp), q, time.perf_counter() - t0))
        base = inverse(t, np.full(len(yte), ytr.mean()))
        rows.append((t, "mean of the history", float(np.mean(np.abs(yte - base))), None, None, ""))
    return rows


def res_row(t, label, yte, mu, q, secs):
    pred = inverse(t, mu)
    lo, hi = inverse(t, mu - q), inverse(t, mu + q)
    cov = float(np.mean((yte >= lo) & (yte <= hi)))
    return (t, label, float(np.mean(np.abs(yte - pred))), cov, float(np.mean(hi - lo)), f"{secs:.1f}")


def run_planning(root, coverage, targets):
    report = {}
    for d in sorted(os.listdir(root)):
        path = os.path.join(root, d)
        if not os.path.isfile(os.path.join(path, "go_metrics.json")):
            continue
        rows = planning_scenario(path, coverage, targets)
        report[d] = rows
        print(f"\n### {d}: history of {d.split('_')[-1]} projects, held-out projects after it, asked before their start, {coverage:.0%} intervals\n")
        print("| target | model | held-out MAE | coverage | mean width | fit s |")
        print("|---|---|---|---|---|---|")
        for t, label, mae, cov, wid, secs in rows:
            c = "–" if cov is None else f"{cov:.3f}"
            w = "–" if wid is None else f"{wid:.3g}"
            print(f"| {t} | {label} | {mae:.3g} | {c} | {w} | {secs} |")
    return report


def main():
    # Irrelevant features drive their ARD length scales to the upper bound,
    # which is the intended outcome, not a failure.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="bench/metalearn/data")
    ap.add_argument("--sizes", default="500,2000", help="training sizes (prefixes of train.csv)")
    ap.add_argument("--coverage", type=float, default=0.8, help="nominal interval coverage (Go's default)")
    ap.add_argument("--restarts", type=int, default=2, help="GP optimizer restarts")
    ap.add_argument("--gp-max", type=int, default=2000, help="skip the exact GP above this training size (O(n^3))")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--planning", help="compare on the planning-time scenarios under this directory instead")
    ap.add_argument("--targets", default=",".join(TARGETS), help="targets of the planning-time comparison")
    args = ap.parse_args()
    if args.planning:
        report = run_planning(args.planning, args.coverage, args.targets.split(","))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2)
        return
    with open(os.path.join(args.data, "go_metrics.json")) as f:
        go = json.load(f)
    report = {}
    for n in [int(s) for s in args.sizes.split(",")]:
        sk = run(args.data, n, args.coverage, args.restarts, args.gp_max)
        report[n] = sk
        print(f"\n### n = {n} training projects, {args.coverage:.0%} intervals, 1000 held-out projects\n")
        print("| target | model | test MAE | Spearman | coverage | mean width | fit s |")
        print("|---|---|---|---|---|---|---|")
        g = go.get(str(n))
        for t in TARGETS:
            if g:
                r = next(x for x in g["targets"] if x["target"] == t)
                print(f"| {t} | Go metalearn ({r['model']}, all 3 targets: {g['train_seconds']:.1f} s) | {r['test_mae']:.3f} | "
                      f"{r['test_spearman']:.3f} | {r['test_coverage']:.3f} | {r['test_mean_interval_width']:.3f} | |")
            for r in sk[t]:
                cov = f"{r['test_coverage']:.3f}" if "test_coverage" in r else "–"
                wid = f"{r['test_mean_interval_width']:.3f}" if "test_mean_interval_width" in r else "–"
                sp = f"{r['test_spearman']:.3f}" if "test_spearman" in r else "–"
                fs = f"{r['fit_seconds']:.1f}" if "fit_seconds" in r else ""
                print(f"| {t} | {r['model']} | {r['test_mae']:.3f} | {sp} | {cov} | {wid} | {fs} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
