#!/usr/bin/python3
"""Optuna 3.1 side of the early-stopping benchmark on a multi-fidelity test function.

The objective is HyperTune's `trial: {function: hartmann6}` with steps as the fidelity
(search/functions.cpp multi_fidelity_value): value(x, step) = f(x) + bias(x) / sqrt(step), with
bias(x) = 0.75 + 0.5 sin(sum_i 1.7 (i + 1) x_i) for hartmann6 (fidelity scale 1, domain [0, 1]).
RandomSampler(seed) and HyperbandPruner(min_resource, max_resource, reduction_factor), in-memory
storage, one process; minimise. Stops at the first COMPLETE trial whose final value is <= the
target (or after --max-trials). Prints one JSON line per trial: number, state, steps, value and
the wall time since the study was created.

usage: optuna_multifidelity.py --seed S --target V [--max-trials N] [--max-resource 81]
                               [--min-resource 1] [--reduction-factor 3]
"""
import argparse
import json
import math
import time

import optuna

A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
     [17, 8, 0.05, 10, 0.1, 14]]
P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
     [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
     [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
     [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]
ALPHA = [1.0, 1.2, 3.0, 3.2]


def hartmann6(x):
    s = 0.0
    for i in range(4):
        inner = sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6))
        s += ALPHA[i] * math.exp(-inner)
    return -s


def value(x, step):
    phase = sum(1.7 * (i + 1) * x[i] for i in range(6))
    bias = 0.75 + 0.5 * math.sin(phase)
    return hartmann6(x) + bias / math.sqrt(max(step, 1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--target", type=float, required=True)
    ap.add_argument("--max-trials", type=int, default=3000)
    ap.add_argument("--max-resource", type=int, default=81)
    ap.add_argument("--min-resource", type=int, default=1)
    ap.add_argument("--reduction-factor", type=int, default=3)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    pruner = optuna.pruners.HyperbandPruner(min_resource=args.min_resource,
                                            max_resource=args.max_resource,
                                            reduction_factor=args.reduction_factor)
    t0 = time.perf_counter()
    study = optuna.create_study(direction="minimize", pruner=pruner,
                                sampler=optuna.samplers.RandomSampler(seed=args.seed))
    steps = {}

    def objective(trial):
        x = [trial.suggest_float(f"x{i + 1}", 0.0, 1.0) for i in range(6)]
        v = None
        for step in range(1, args.max_resource + 1):
            v = value(x, step)
            trial.report(v, step)
            steps[trial.number] = step
            if trial.should_prune():
                raise optuna.TrialPruned()
        return v

    def callback(study, trial):
        rec = {"trial": trial.number, "state": trial.state.name, "steps": steps.get(trial.number, 0),
               "value": trial.value, "t": time.perf_counter() - t0}
        print(json.dumps(rec), flush=True)
        if trial.state == optuna.trial.TrialState.COMPLETE and trial.value <= args.target:
            study.stop()

    study.optimize(objective, n_trials=args.max_trials, callbacks=[callback])


if __name__ == "__main__":
    main()
