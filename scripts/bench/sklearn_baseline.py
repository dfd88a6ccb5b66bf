#!/usr/bin/python3
"""The quality bar of `hypertune baseline`: a seeded 80/20 split of a dataset and scikit-learn 1.2
defaults fitted on the same split. Run with /usr/bin/python3 (it has scikit-learn).

  sklearn_baseline.py split DATA.csv OUTDIR --task classification|regression --seed S
      OUTDIR/train.csv (80%), OUTDIR/test.csv (20%, no target), OUTDIR/truth.csv (its targets)
  sklearn_baseline.py score OUTDIR PREDICTIONS.csv --task ...
      our score on the held-out 20% (accuracy, or RMSE)
  sklearn_baseline.py sklearn OUTDIR --task ... --seed S
      one JSON line: the held-out score of LogisticRegression/Ridge, RandomForest,
      HistGradientBoosting and MLP with their default settings (in a standard pipeline:
      median imputation and scaling for numbers, one-hot encoding for text columns)
"""
import argparse
import csv
import json
import os
import sys

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

TARGET = "target"


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


def score(task, truth, pred):
    if task == "classification":
        return float(np.mean(np.asarray(truth, dtype=str) == np.asarray(pred, dtype=str)))
    t = np.asarray(truth, dtype=float)
    p = np.asarray(pred, dtype=float)
    return float(np.sqrt(np.mean((t - p) ** 2)))


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


def cmd_score(a):
    truth = column(*read(f"{a.out}/truth.csv"), TARGET)
    pred = column(*read(a.predictions), "prediction")
    if len(pred) != len(truth):
        sys.exit(f"{a.predictions}: {len(pred)} predictions for {len(truth)} test rows")
    print(json.dumps({"score": score(a.task, truth, pred)}))


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

    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), text),
    ])
    return pre, matrix(header, train), matrix(test_header, test)


def cmd_sklearn(a):
    header, train = read(f"{a.out}/train.csv")
    test_header, test = read(f"{a.out}/test.csv")
    truth = column(*read(f"{a.out}/truth.csv"), TARGET)
    pre, x_train, x_test = features(header, train, test_header, test)
    y = np.asarray(column(header, train, TARGET))
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
    for name, model in models.items():
        p = make_pipeline(pre, model).fit(x_train, y)
        out[name] = score(a.task, truth, p.predict(x_test))
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["split", "score", "sklearn"])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--task", required=True, choices=["classification", "regression"])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.command == "split":
        a.data, a.out = a.paths
        cmd_split(a)
    elif a.command == "score":
        a.out, a.predictions = a.paths
        cmd_score(a)
    else:
        (a.out,) = a.paths
        cmd_sklearn(a)


if __name__ == "__main__":
    main()
