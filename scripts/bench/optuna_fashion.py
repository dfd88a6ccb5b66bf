#!/usr/bin/python3
"""Optuna 3.1 + PyTorch 1.13 side of the Fashion-MNIST early-stopping and race benchmarks.

The search space, data and model come from a HyperTune sweep config (the benchmark's own YAML,
read as JSON written next to it by the caller: --spec FILE with keys space, model, lr_param,
limit, split, max_resource, min_resource, reduction_factor), so both sides tune the same thing.
One thread (torch.set_num_threads(1)); HyperbandPruner(min_resource, max_resource,
reduction_factor) on validation accuracy (maximize), epochs as the resource.

  optuna_fashion.py es   --spec F --seed S --target ACC --max-trials N --out FILE.jsonl
      in-memory study, RandomSampler(seed), stops at the first COMPLETE trial whose final accuracy
      is >= target (or after N trials).
  optuna_fashion.py race --spec F --seed S --storage sqlite:///F.db --study NAME --timeout SEC
                         --t0 EPOCH_S --out FILE.jsonl
      one of the parallel workers of a shared SQLite study, TPESampler(seed); no new trial after
      t0 + timeout.

Every epoch appends {"trial", "epoch", "value", "t"} (t: time.time()) to --out; every finished
trial appends {"trial", "state", "epochs", "value", "t"}.
"""
import argparse
import json
import sys
import time

import optuna
import torch

sys.path.insert(0, __import__("os").path.dirname(__file__))
import fashion_torch  # noqa: E402


def suggest(trial, space):
    params = {}
    for name, p in space.items():
        if p["type"] == "float":
            params[name] = trial.suggest_float(name, p["low"], p["high"], log=p.get("log", False))
        elif p["type"] == "int":
            params[name] = trial.suggest_int(name, p["low"], p["high"], log=p.get("log", False))
        elif p["type"] == "categorical":
            params[name] = trial.suggest_categorical(name, p["values"])
        else:
            raise ValueError(f"space.{name}: unsupported type {p['type']}")
    return params


def fill(model, params):
    out = {}
    for k, v in model.items():
        if isinstance(v, str) and v.startswith("{") and v.endswith("}"):
            out[k] = params[v[1:-1]]
        else:
            out[k] = v
    return out


def make_objective(spec, data, log):
    def objective(trial):
        params = suggest(trial, spec["space"])
        tr = fashion_torch.Trainer(data, fill(spec["model"], params), params[spec["lr_param"]],
                                   seed=trial.number * 7919 + 17)
        acc = 0.0
        for epoch in range(1, spec["max_resource"] + 1):
            acc = tr.epoch()
            log({"trial": trial.number, "epoch": epoch, "value": acc, "t": time.time()})
            trial.report(acc, epoch)
            if trial.should_prune():
                log({"trial": trial.number, "state": "PRUNED", "epochs": epoch, "value": acc,
                     "t": time.time()})
                raise optuna.TrialPruned()
        log({"trial": trial.number, "state": "COMPLETE", "epochs": spec["max_resource"],
             "value": acc, "t": time.time()})
        return acc
    return objective


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["es", "race"])
    ap.add_argument("--spec", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--target", type=float)
    ap.add_argument("--max-trials", type=int, default=100)
    ap.add_argument("--storage")
    ap.add_argument("--study")
    ap.add_argument("--timeout", type=float)
    ap.add_argument("--t0", type=float)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    with open(args.spec) as f:
        spec = json.load(f)
    data = fashion_torch.load(spec["limit"], spec["split"])
    out = open(args.out, "a", buffering=1)

    def log(rec):
        out.write(json.dumps(rec) + "\n")

    pruner = optuna.pruners.HyperbandPruner(min_resource=spec["min_resource"],
                                            max_resource=spec["max_resource"],
                                            reduction_factor=spec["reduction_factor"])
    objective = make_objective(spec, data, log)
    log({"t_start": time.time()})
    if args.mode == "es":
        if args.target is None:
            sys.exit("optuna_fashion.py es: --target is required")
        study = optuna.create_study(direction="maximize", pruner=pruner,
                                    sampler=optuna.samplers.RandomSampler(seed=args.seed))

        def stop_at_target(study, trial):
            if trial.state == optuna.trial.TrialState.COMPLETE and trial.value >= args.target:
                study.stop()
        study.optimize(objective, n_trials=args.max_trials, callbacks=[stop_at_target])
    else:
        if not (args.storage and args.study and args.timeout and args.t0):
            sys.exit("optuna_fashion.py race: --storage, --study, --timeout and --t0 are required")
        study = optuna.load_study(study_name=args.study, storage=args.storage, pruner=pruner,
                                  sampler=optuna.samplers.TPESampler(seed=args.seed))
        deadline = args.t0 + args.timeout

        def stop_at_deadline(study, trial):
            if time.time() >= deadline:
                study.stop()
        remaining = deadline - time.time()
        if remaining > 0:
            study.optimize(objective, timeout=remaining, callbacks=[stop_at_deadline])
    out.close()


if __name__ == "__main__":
    main()
