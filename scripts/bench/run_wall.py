#!/usr/bin/env python3
"""Whole-process wall time of a sweep: `hypertune run` (SQLite storage, every transition
committed) against Optuna 3.1's in-memory `study.optimize`, same objective (hartmann6), same
sampler family (TPE), same number of trials. Run with /usr/bin/python3 (it imports optuna).

  scripts/bench/run_wall.py --hypertune build/hypertune --trials 1000 --repeats 3
                            [--modes univariate,multivariate] [--big 10000] [--out DIR]

Prints one JSON line per run (also into DIR/run_wall.jsonl) and a markdown table (medians,
spread, ratio). --big N adds one `hypertune run` of N trials (univariate TPE, SQLite) with its
wall time, CPU time and peak memory; Optuna is not run at that size.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

CONFIG = """\
name: wall-{trials}
seed: {seed}
max_trials: {trials}
space:
{space}
sampler: {{type: tpe, multivariate: {multivariate}, group: {multivariate}}}
trial:
  function: hartmann6
"""


def hartmann6(x):
    a = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
         [17, 8, 0.05, 10, 0.1, 14]]
    p = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
         [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]
    alpha = [1.0, 1.2, 3.0, 3.2]
    return -sum(alpha[i] * math.exp(-sum(a[i][j] * (x[j] - p[i][j]) ** 2 for j in range(6))) for i in range(4))


def run_hypertune(binary, trials, seed, multivariate, workdir):
    space = "\n".join(f"  x{i}: {{type: float, low: 0.0, high: 1.0}}" for i in range(1, 7))
    cfg = os.path.join(workdir, f"wall-{seed}.yaml")
    db = os.path.join(workdir, f"wall-{seed}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    with open(cfg, "w") as f:
        f.write(CONFIG.format(trials=trials, seed=seed, space=space,
                              multivariate="true" if multivariate else "false"))
    t0 = time.perf_counter()
    with open(os.path.join(workdir, "run.log"), "w+") as log:
        proc = subprocess.Popen([binary, "run", cfg, "--storage", db, "--quiet", "--in-process"],
                                stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            log.seek(0)
            sys.exit(f"hypertune failed ({proc.returncode}): {log.read()}")
    run_hypertune.last_usage = {"cpu_s": usage.ru_utime + usage.ru_stime,
                                "max_rss_mib": usage.ru_maxrss / 1024.0}
    best = json.loads(subprocess.run([binary, "best", db, "--format", "json"], capture_output=True,
                                     text=True, check=True).stdout)["value"]
    return wall, best


def run_optuna(trials, seed, multivariate):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=multivariate)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: hartmann6([t.suggest_float(f"x{i}", 0.0, 1.0) for i in range(1, 7)]),
                   n_trials=trials)
    return time.perf_counter() - t0, study.best_value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hypertune", default="build/hypertune")
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--modes", default="univariate,multivariate")
    ap.add_argument("--big", type=int, default=0, help="one extra hypertune run of this many trials")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    modes = args.modes.split(",")
    if any(m not in ("univariate", "multivariate") for m in modes) or args.trials < 1 or args.repeats < 1:
        sys.exit("run_wall.py: --modes takes univariate and/or multivariate; --trials and --repeats > 0")
    rows = []
    out_file = None
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        out_file = open(os.path.join(args.out, "run_wall.jsonl"), "w")

    def record(row):
        rows.append(row)
        print(json.dumps(row), flush=True)
        if out_file:
            out_file.write(json.dumps(row) + "\n")
            out_file.flush()

    with tempfile.TemporaryDirectory() as work:
        for mode in modes:
            multivariate = mode == "multivariate"
            for rep in range(args.repeats):
                seed = rep + 1
                hw, hb = run_hypertune(args.hypertune, args.trials, seed, multivariate, work)
                hu = run_hypertune.last_usage
                ow, ob = run_optuna(args.trials, seed, multivariate)
                record({"kind": "run_wall", "impl": "hypertune", "multivariate": multivariate,
                        "trials": args.trials, "seed": seed, "wall_s": hw, "best": hb, **hu})
                record({"kind": "run_wall", "impl": "optuna", "multivariate": multivariate,
                        "trials": args.trials, "seed": seed, "wall_s": ow, "best": ob})
        if args.big:
            bw, bb = run_hypertune(args.hypertune, args.big, 1, False, work)
            record({"kind": "run_wall_big", "impl": "hypertune", "multivariate": False,
                    "trials": args.big, "seed": 1, "wall_s": bw, "best": bb,
                    **run_hypertune.last_usage})
    if out_file:
        out_file.close()
    print()
    print("| TPE mode | trials | hypertune run (SQLite) median s [min-max] | Optuna in-memory median s [min-max] | speed-up |")
    print("| --- | --- | --- | --- | --- |")
    for mode in modes:
        multivariate = mode == "multivariate"
        h = [r["wall_s"] for r in rows if r["kind"] == "run_wall" and r["impl"] == "hypertune" and r["multivariate"] == multivariate]
        o = [r["wall_s"] for r in rows if r["kind"] == "run_wall" and r["impl"] == "optuna" and r["multivariate"] == multivariate]
        print(f"| {mode} | {args.trials} | {statistics.median(h):.3f} [{min(h):.3f}-{max(h):.3f}] | "
              f"{statistics.median(o):.2f} [{min(o):.2f}-{max(o):.2f}] | "
              f"{statistics.median(o) / statistics.median(h):.0f}x |")


if __name__ == "__main__":
    main()
