#!/usr/bin/python3
"""The quality bar of `hypertune baseline`: a seeded 80/20 split of a dataset and the systems a user
would run instead, fitted on the same split. Run with /usr/bin/python3 (it has scikit-learn 1.2,
XGBoost 1.7 and Optuna 3.1).

  sklearn_baseline.py dataset NAME OUT.csv
      writes a dataset bundled with scikit-learn (breast_cancer, wine, digits: classification;
      diabetes: regression, unscaled features) as a CSV with a last column `target`
  sklearn_baseline.py split DATA.csv OUTDIR --task classification|regression --seed S
      OUTDIR/train.csv (80%), OUTDIR/test.csv (20%, no target), OUTDIR/truth.csv (its targets);
      stratified on the target for classification; rows with no target are left out
  sklearn_baseline.py score OUTDIR PREDICTIONS.csv --task ...
      our score on the held-out 20% (accuracy, or RMSE) from the column `prediction`
  sklearn_baseline.py sklearn OUTDIR --task ... --seed S
      one JSON line: the held-out score of LogisticRegression/Ridge, RandomForest,
      HistGradientBoosting and MLP with their default settings (random_state=S)
  sklearn_baseline.py xgboost OUTDIR --task ... --seed S
      one JSON line: the held-out score and fit time of XGBClassifier / XGBRegressor with default
      parameters (n_jobs=2, random_state=S)
  sklearn_baseline.py optuna OUTDIR --task ... --seed S --budget B
      one JSON line: Optuna TPE tuning XGBoost for B of wall time, then the best refit on the whole
      training part and scored on the held-out part

Preprocessing (the same for sklearn, xgboost and optuna): a column is numeric when every training
value parses as a number (missing: median imputation, then standard scaling), else categorical
(one-hot, unknown test levels ignored; missing is its own level "(missing)"). XGBoost gets this
one-hot matrix, not its native categorical support. Class labels are compared as text.

Optuna (the tuner a user would run on XGBoost): TPESampler(seed=S), one trial at a time
(n_jobs=1 for optuna, n_jobs=2 for xgboost), `study.optimize(timeout=...)` so that no trial starts
after B seconds from the start of the process (a trial running at B finishes; the refit comes after
B, its time is recorded as refit_seconds and `seconds` is the whole process). Objective: the score
(accuracy / RMSE) on an inner 80/20 holdout of the training part (stratified for classification),
or the mean over a 5-fold CV (stratified for classification) when the training part has under 3000
rows; the preprocessing is fitted on each inner training part. Space: learning_rate log
[0.01, 0.3], max_depth 2..10, min_child_weight log [1, 20], subsample [0.5, 1], colsample_bytree
[0.5, 1], reg_lambda log [1e-3, 10], reg_alpha log [1e-3, 10], n_estimators 50..1000 (no early
stopping). A trial that raises is counted as failed and the study goes on. With --hard-stop, a
trial still training at B is also stopped there (it counts as pruned, and the best complete trial is
refit), so that the tuning ends at B like hypertune's sweep; when no trial completed by then, the
XGBoost defaults are fitted instead ("fallback": "defaults" in its line).

With --record FILE --dataset D (and --budget for score/optuna), each system also appends one JSON
line to FILE: {"dataset", "task", "metric", "split", "system", "family", "score", "seconds", ...};
a system that raises writes "score": null and "error", and the command exits 1.
"""
import argparse
import csv
import json
import os
import re
import sys
import time
import traceback
import warnings

START = time.monotonic()

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler

TARGET = "target"
BUNDLED = {"breast_cancer": "classification", "wine": "classification", "digits": "classification",
           "diabetes": "regression"}
CV_BELOW_ROWS = 3000
XGB_JOBS = 2


def read(path):
    # Every field as text, so labels keep their spelling ("1" stays "1"); "" is missing.
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def column(header, rows, name):
    i = header.index(name)
    return [r[i] for r in rows]


def parse_duration(text):
    """'90s', '5m', '1h30m', '300' -> seconds (the forms `hypertune baseline --time-budget` takes)."""
    text = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise SystemExit(f"sklearn_baseline.py: cannot read the duration '{text}' (90s, 5m, 1h30m, 300)")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def score(task, truth, pred):
    if task == "classification":
        return float(np.mean(np.asarray(truth, dtype=str) == np.asarray(pred, dtype=str)))
    t = np.asarray(truth, dtype=float)
    p = np.asarray(pred, dtype=float)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def metric_of(task):
    return "accuracy" if task == "classification" else "rmse"


# --------------------------------------------------------------------------------------------
# recording

def record(a, system, family, result):
    if not a.record:
        return
    line = {"dataset": a.dataset, "task": a.task, "metric": metric_of(a.task), "split": a.seed,
            "system": system, "family": family}
    line.update(result)
    with open(a.record, "a") as f:
        f.write(json.dumps(line) + "\n")


def guarded(a, system, family, fn):
    """Runs fn() -> dict with "score"; records it, or its error."""
    t0 = time.monotonic()
    try:
        result = fn()
    except Exception as e:  # noqa: BLE001 - any failure of a system is a result to record
        traceback.print_exc()
        record(a, system, family, {"score": None, "seconds": round(time.monotonic() - t0, 3),
                                   "error": f"{type(e).__name__}: {e}"})
        return None
    record(a, system, family, result)
    return result


# --------------------------------------------------------------------------------------------
# data

def cmd_dataset(a):
    from sklearn import datasets
    if a.name not in BUNDLED:
        sys.exit(f"sklearn_baseline.py: no bundled dataset '{a.name}' (known: {', '.join(BUNDLED)})")
    # Without as_frame (pandas is not installed): the arrays and the feature names.
    if a.name == "diabetes":
        bunch = datasets.load_diabetes(scaled=False)
    else:
        bunch = getattr(datasets, f"load_{a.name}")()
    names = [str(n) for n in bunch.feature_names]

    def text(x):
        x = float(x)
        return str(int(x)) if x.is_integer() else repr(x)

    rows = [[text(v) for v in row] + [text(t)] for row, t in zip(bunch.data, bunch.target)]
    os.makedirs(os.path.dirname(os.path.abspath(a.out_csv)), exist_ok=True)
    write(a.out_csv, names + [TARGET], rows)


def cmd_split(a):
    header, rows = read(a.data)
    t = header.index(TARGET)
    rows = [r for r in rows if r[t] != ""]
    strat = [r[t] for r in rows] if a.task == "classification" else None
    train, test = train_test_split(rows, test_size=0.2, random_state=a.seed, stratify=strat)
    os.makedirs(a.out, exist_ok=True)
    write(f"{a.out}/train.csv", header, train)
    write(f"{a.out}/test.csv", [h for h in header if h != TARGET], [r[:t] + r[t + 1:] for r in test])
    write(f"{a.out}/truth.csv", [TARGET], [[r[t]] for r in test])


def to_number(v):
    try:
        return float(v) if v != "" else np.nan
    except ValueError:
        return None


def features(header, train, test_header, test):
    names = [h for h in header if h != TARGET]
    numeric, text = [], []
    for j, name in enumerate(names):
        col = column(header, train, name)
        (numeric if all(to_number(v) is not None for v in col) else text).append(j)

    def matrix(hdr, rows):
        idx = [hdr.index(n) for n in names]
        out = np.empty((len(rows), len(names)), dtype=object)
        for i, r in enumerate(rows):
            for j, k in enumerate(idx):
                v = r[k]
                if j in numeric:
                    x = to_number(v)
                    out[i, j] = np.nan if x is None else x
                else:
                    out[i, j] = v if v != "" else "(missing)"
        return out

    return make_pre(numeric, text), matrix(header, train), matrix(test_header, test)


def make_pre(numeric, text):
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), text),
    ])


def load_split(a):
    header, train = read(f"{a.out}/train.csv")
    test_header, test = read(f"{a.out}/test.csv")
    truth = column(*read(f"{a.out}/truth.csv"), TARGET)
    pre, x_train, x_test = features(header, train, test_header, test)
    y = np.asarray(column(header, train, TARGET))
    return pre, x_train, x_test, y, truth


# --------------------------------------------------------------------------------------------
# systems

def cmd_score(a):
    truth = column(*read(f"{a.out}/truth.csv"), TARGET)

    def run():
        if not os.path.exists(a.predictions):
            raise RuntimeError(f"{a.predictions} does not exist")
        pred = column(*read(a.predictions), "prediction")
        if len(pred) != len(truth):
            raise RuntimeError(f"{a.predictions}: {len(pred)} predictions for {len(truth)} test rows")
        return {"score": score(a.task, truth, pred)}

    if not a.record:
        print(json.dumps(run()))
        return
    # The hypertune line: its wall time (measured by the caller) against the budget window.
    budget = parse_duration(a.budget)
    extra = {"seconds": a.seconds, "budget": a.budget, "budget_s": budget,
             "ended_in_window": bool(a.seconds is not None and 0.95 * budget <= a.seconds <= budget + 5)}
    if a.exit_code is not None:
        extra["exit_code"] = a.exit_code
    if a.args:
        extra["args"] = a.args
    info = os.path.join(os.path.dirname(os.path.abspath(a.predictions)), "baseline.json")
    if os.path.exists(info):
        with open(info) as f:
            j = json.load(f)
        extra["baseline"] = {k: j.get(k) for k in ("model", "trials", "max_epochs", "stopped_by_budget",
                                                     "budget_used_seconds", "validation_score")}
        extra["baseline"]["validation"] = (j.get("validation") or {}).get("scheme")
        extra["baseline"]["refit_done"] = (j.get("refit") or {}).get("done")
    if a.exit_code:
        why = f"hypertune baseline exited {a.exit_code}"
        if a.log and os.path.exists(a.log):
            with open(a.log, errors="replace") as f:
                lines = [l.strip() for l in f if l.strip()]
            errors = [l for l in lines if l.lower().startswith("error")] or lines
            if errors:
                why += ": " + errors[-1][:300]
        record(a, "hypertune", "hypertune", dict(score=None, error=why, **extra))
        sys.exit(1)
    result = guarded(a, "hypertune", "hypertune", lambda: dict(run(), **extra))
    if result is None:
        sys.exit(1)
    print(json.dumps({"score": result["score"]}))


def cmd_sklearn(a):
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    pre, x_train, x_test, y, truth = load_split(a)
    if a.task == "classification":
        models = {"linear": LogisticRegression(), "random_forest": RandomForestClassifier(random_state=a.seed),
                  "hist_gradient_boosting": HistGradientBoostingClassifier(random_state=a.seed),
                  "mlp": MLPClassifier(random_state=a.seed)}
    else:
        y = y.astype(float)
        models = {"linear": Ridge(), "random_forest": RandomForestRegressor(random_state=a.seed),
                  "hist_gradient_boosting": HistGradientBoostingRegressor(random_state=a.seed),
                  "mlp": MLPRegressor(random_state=a.seed)}
    out = {}
    failed = False
    for name, model in models.items():
        def run(model=model):
            t0 = time.monotonic()
            p = make_pipeline(pre, model).fit(x_train, y)
            fit = time.monotonic() - t0
            return {"score": score(a.task, truth, p.predict(x_test)), "seconds": round(fit, 3)}
        r = guarded(a, f"sklearn_{name}", "sklearn", run)
        out[name] = r["score"] if r else None
        failed |= r is None
    print(json.dumps(out))
    if failed:
        sys.exit(1)


def xgb_model(task, seed, **params):
    import xgboost
    cls = xgboost.XGBClassifier if task == "classification" else xgboost.XGBRegressor
    return cls(n_jobs=XGB_JOBS, random_state=seed, **params)


def cmd_xgboost(a):
    import xgboost
    pre, x_train, x_test, y, truth = load_split(a)

    def run():
        t0 = time.monotonic()
        xt = pre.fit_transform(x_train)
        if a.task == "classification":
            enc = LabelEncoder().fit(y)
            model = xgb_model(a.task, a.seed).fit(xt, enc.transform(y))
            pred = enc.inverse_transform(model.predict(pre.transform(x_test)).astype(int))
        else:
            model = xgb_model(a.task, a.seed).fit(xt, y.astype(float))
            pred = model.predict(pre.transform(x_test))
        fit = time.monotonic() - t0
        return {"score": score(a.task, truth, pred), "seconds": round(fit, 3),
                "version": xgboost.__version__, "n_jobs": XGB_JOBS}

    r = guarded(a, "xgboost", "xgboost", run)
    if r is None:
        sys.exit(1)
    print(json.dumps({"score": r["score"], "seconds": r["seconds"]}))


def cmd_optuna(a):
    import optuna
    import xgboost
    budget = parse_duration(a.budget)
    pre, x_train, x_test, y, truth = load_split(a)
    cls = a.task == "classification"
    enc = LabelEncoder().fit(y) if cls else None
    yy = enc.transform(y) if cls else y.astype(float)

    def run():
        # Inner validation: folds fixed before the first trial, preprocessing fitted per fold.
        if len(yy) < CV_BELOW_ROWS:
            kf = (StratifiedKFold if cls else KFold)(n_splits=5, shuffle=True, random_state=a.seed)
            parts = list(kf.split(x_train, yy))
            scheme = "5-fold"
        else:
            idx = np.arange(len(yy))
            tr, va = train_test_split(idx, test_size=0.2, random_state=a.seed, stratify=yy if cls else None)
            parts = [(tr, va)]
            scheme = "holdout"
        folds = []
        for tr, va in parts:
            p = make_pre(*pre_columns(pre))
            folds.append((p.fit_transform(x_train[tr]), yy[tr], p.transform(x_train[va]), yy[va]))

        deadline = START + budget

        class Deadline(xgboost.callback.TrainingCallback):
            def after_iteration(self, model, epoch, evals_log):
                if time.monotonic() > deadline:
                    raise TimeoutError("stopped at the budget (--hard-stop)")
                return False

        callbacks = [Deadline()] if a.hard_stop else None

        def objective(trial):
            params = {
                "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
                "max_depth": trial.suggest_int("max_depth", 2, 10),
                "min_child_weight": trial.suggest_float("min_child_weight", 1, 20, log=True),
                "subsample": trial.suggest_float("subsample", 0.5, 1.0),
                "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
                "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10, log=True),
                "reg_alpha": trial.suggest_float("reg_alpha", 1e-3, 10, log=True),
                "n_estimators": trial.suggest_int("n_estimators", 50, 1000),
            }
            scores = []
            for xt, yt, xv, yv in folds:
                try:
                    m = xgb_model(a.task, a.seed, callbacks=callbacks, **params).fit(xt, yt)
                except TimeoutError:
                    raise optuna.TrialPruned("stopped at the budget (--hard-stop)") from None
                pv = m.predict(xv)
                scores.append(float(np.mean(pv.astype(int) == yv)) if cls
                              else float(np.sqrt(np.mean((pv - yv) ** 2))))
            return float(np.mean(scores))

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="maximize" if cls else "minimize",
                                    sampler=optuna.samplers.TPESampler(seed=a.seed))
        left = budget - (time.monotonic() - START)
        t_tune = time.monotonic()
        if left > 0:
            study.optimize(objective, timeout=left, n_jobs=1, catch=(Exception,))
        tune = time.monotonic() - t_tune
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        stopped = sum(1 for t in study.trials if t.state == optuna.trial.TrialState.PRUNED)
        if not complete and not a.hard_stop:
            raise RuntimeError(f"no complete trial in {budget:g} s ({len(study.trials)} started)")
        best = study.best_params if complete else {}
        t_refit = time.monotonic()
        xt = pre.fit_transform(x_train)
        model = xgb_model(a.task, a.seed, **best).fit(xt, yy)
        pred = model.predict(pre.transform(x_test))
        if cls:
            pred = enc.inverse_transform(pred.astype(int))
        refit = time.monotonic() - t_refit
        total = time.monotonic() - START
        return {"score": score(a.task, truth, pred), "seconds": round(total, 3),
                "tune_seconds": round(tune, 3), "refit_seconds": round(refit, 3),
                "budget": a.budget, "budget_s": budget, "inner_validation": scheme,
                "trials": len(study.trials), "complete": len(complete),
                "failed": len(study.trials) - len(complete) - stopped, "hard_stop": a.hard_stop,
                "stopped_at_budget": stopped, "fallback": None if complete else "defaults",
                "best_inner_score": study.best_value if complete else None, "best_params": best,
                "versions": {"optuna": optuna.__version__, "xgboost": xgboost.__version__}, "n_jobs": XGB_JOBS}

    r = guarded(a, "optuna_xgboost", "optuna", run)
    if r is None:
        sys.exit(1)
    print(json.dumps({k: r[k] for k in ("score", "seconds", "trials")}))


def pre_columns(pre):
    """The numeric and text column indices of a preprocessing made by make_pre."""
    cols = {name: c for name, _, c in pre.transformers}
    return cols["num"], cols["cat"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["dataset", "split", "score", "sklearn", "xgboost", "optuna"])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--task", choices=["classification", "regression"])
    ap.add_argument("--seed", type=int, default=0, help="the split seed (also the models' random_state)")
    ap.add_argument("--budget", help="optuna: wall budget (90s, 5m, 300); score --record: hypertune's budget")
    ap.add_argument("--record", help="append one JSON line per system to this file")
    ap.add_argument("--dataset", help="with --record: the dataset's name")
    ap.add_argument("--seconds", type=float, help="score --record: hypertune's measured wall time")
    ap.add_argument("--exit-code", type=int, help="score --record: hypertune's exit status")
    ap.add_argument("--hard-stop", action="store_true", help="optuna: stop a trial still running at the budget")
    ap.add_argument("--args", help="score --record: the extra options hypertune baseline was given")
    ap.add_argument("--log", help="score --record: hypertune's output, for the error of a failed run")
    a = ap.parse_args()
    if a.command != "dataset" and not a.task:
        ap.error("--task is required")
    if a.record and not a.dataset:
        ap.error("--record needs --dataset")
    if (a.command == "optuna" or (a.command == "score" and a.record)) and not a.budget:
        ap.error("--budget is required")
    if a.command == "dataset":
        a.name, a.out_csv = a.paths
        cmd_dataset(a)
    elif a.command == "split":
        a.data, a.out = a.paths
        cmd_split(a)
    elif a.command == "score":
        a.out, a.predictions = a.paths
        cmd_score(a)
    else:
        (a.out,) = a.paths
        {"sklearn": cmd_sklearn, "xgboost": cmd_xgboost, "optuna": cmd_optuna}[a.command](a)


if __name__ == "__main__":
    main()
