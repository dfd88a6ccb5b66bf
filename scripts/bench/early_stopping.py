#!/usr/bin/python3
"""Early-stopping benchmark: what Hyperband, ASHA (stopping and promotion), median pruning and
Optuna's HyperbandPruner spend to reach the best value that random search with full training finds.

Run through scripts/bench/early_stopping.sh (which documents the options). For each seed:
  1. reference: HyperTune random search, no pruner, every trial trained to max_resource steps;
     its best final value is the seed's target;
  2. HyperTune random sampler with each pruner, and Optuna 3.1's RandomSampler + HyperbandPruner
     (same objective, same space), each with a trial budget;
  3. cost to target: steps (epochs) reported by all trials, in time order, up to the report that
     completes the first trial whose final value reaches the target, and the wall time from the
     first trial's start to that report.
Objectives: (a) hartmann6 with steps as the fidelity (search/functions.cpp), 81 steps, eta 3;
(b) Fashion-MNIST, an MLP on a stratified subset, 9 epochs, eta 3.
Writes OUT/early_stopping_runs.jsonl (one line per run) and OUT/early_stopping.md.
"""
import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
FM = "/usr/share/datasets/fashion-mnist"
REF_SEED = 1000  # study seed of the reference runs: REF_SEED + seed


def log(msg):
    print(f"[early_stopping {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pruner_yaml(method, min_r, max_r, eta):
    if method == "random-full":
        return "pruner: none"
    if method == "hyperband":
        return (f"pruner: {{type: hyperband, min_resource: {min_r}, max_resource: {max_r}, "
                f"reduction_factor: {eta}, mode: stopping}}")
    if method in ("asha-stopping", "asha-promotion"):
        mode = method.split("-")[1]
        return (f"pruner: {{type: asha, min_resource: {min_r}, max_resource: {max_r}, "
                f"reduction_factor: {eta}, mode: {mode}}}")
    if method == "median":
        return "pruner: {type: median, n_startup_trials: 5, n_warmup_steps: 0}"
    raise ValueError(method)


def run_hypertune(binary, workdir, name, text):
    cfg = os.path.join(workdir, name + ".yaml")
    db = os.path.join(workdir, name + ".db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    with open(cfg, "w") as f:
        f.write(text)
    cmd = [binary, "run", cfg, "--storage", db, "--in-process", "-w", "1", "-q"]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    ex = subprocess.run([binary, "export", db, "--format", "json"], capture_output=True, text=True)
    if ex.returncode != 0:
        raise RuntimeError(f"hypertune export {db}: {ex.stderr.strip()}")
    # Checkpoints and exported models of the trials are not needed here (the study file is kept).
    shutil.rmtree(db + ".artifacts", ignore_errors=True)
    return json.loads(ex.stdout), wall


def cost_hypertune(export, target, maximize, max_r, sequential):
    """Steps and wall seconds until the first trial that completes at max_r with a final value at
    least as good as target. sequential: one slot and no pausing, so trials ran in number order."""
    trials = export["trials"]
    if not trials:
        return None
    t_start = min(t["started_ms"] for t in trials if t["started_ms"] > 0)
    reports = []
    for t in trials:
        for r in t["intermediate"]:
            reports.append((r["time_ms"], t["number"], r["step"], r["value"]))
    if sequential:
        reports.sort(key=lambda r: (r[1], r[2]))
    else:
        reports.sort(key=lambda r: (r[0], r[1], r[2]))
    better = (lambda v: v >= target) if maximize else (lambda v: v <= target)
    hit = None
    for t in trials:
        if t["state"] == "COMPLETE" and t["value"] is not None and better(t["value"]):
            last = max(t["intermediate"], key=lambda r: r["step"])
            if last["step"] != max_r:
                continue
            key = (t["number"], last["step"]) if sequential else (last["time_ms"], t["number"], last["step"])
            if hit is None or key < hit[0]:
                hit = (key, last["time_ms"], t["number"])
    total = len(reports)
    if hit is None:
        return {"reached": False, "steps": total, "trials": len(trials)}
    key, t_ms, number = hit
    if sequential:
        steps = sum(1 for r in reports if (r[1], r[2]) <= key)
        tie = 0
    else:
        # Reports carry millisecond times: count every report up to the hit's millisecond (an
        # upper bound) and give how many other trials' reports share that millisecond.
        steps = sum(1 for r in reports if r[0] <= t_ms)
        tie = sum(1 for r in reports if r[0] == t_ms and r[1] != number)
    return {"reached": True, "steps": steps, "tie": tie, "wall_s": (t_ms - t_start) / 1000.0,
            "trial": number, "trials_created": number + 1 if sequential else None,
            "total_steps": total, "trials": len(trials)}


def best_final(export, maximize, max_r):
    best = None
    for t in export["trials"]:
        if t["state"] == "COMPLETE" and t["value"] is not None:
            if max(r["step"] for r in t["intermediate"]) != max_r:
                continue
            if best is None or (t["value"] > best[0] if maximize else t["value"] < best[0]):
                best = (t["value"], t["number"])
    return best


# ---- (a) multi-fidelity function ----

def function_config(name, seed, method, max_trials, max_r, eta):
    space = "\n".join(f"  x{i}: {{type: float, low: 0, high: 1}}" for i in range(1, 7))
    steps = f"\n  steps: {max_r}" if method in ("random-full", "median") else ""
    return (f"name: {name}\nseed: {seed}\nmax_trials: {max_trials}\nspace:\n{space}\n"
            f"sampler: random\n{pruner_yaml(method, 1, max_r, eta)}\n"
            f"trial:\n  function: hartmann6{steps}\n")


def run_function(binary, work, seed, n_ref, max_trials, optuna_max, max_r, eta, records):
    # The target comes from an independent reference run (its own seed), so no method gets to
    # re-draw the reference's configurations (the random sampler gives trial k of a seed the same
    # parameters whatever the pruner).
    name = f"fn-reference-s{seed}"
    ex, wall = run_hypertune(binary, work, name, function_config(
        name, REF_SEED + seed, "random-full", n_ref, max_r, eta))
    target, best_trial = best_final(ex, False, max_r)
    records.append({"objective": "hartmann6", "seed": seed, "method": "reference",
                    "side": "hypertune", "target": target, "trial_budget": n_ref,
                    "study_seed": REF_SEED + seed, "best_trial": best_trial})
    log(f"hartmann6 seed {seed}: target {target:.4f} (best of {n_ref} random trials of "
        f"{max_r} steps, study seed {REF_SEED + seed})")
    for method in ("random-full", "hyperband", "asha-stopping", "asha-promotion", "median"):
        name = f"fn-{method}-s{seed}"
        budget = max_trials["random-full" if method == "random-full" else "pruned"]
        ex, wall = run_hypertune(binary, work, name,
                                 function_config(name, seed, method, budget, max_r, eta))
        c = cost_hypertune(ex, target, False, max_r, method != "asha-promotion")
        records.append({"objective": "hartmann6", "seed": seed, "method": method,
                        "side": "hypertune", "target": target, "trial_budget": budget,
                        "run_wall_s": wall, **c})
        log(f"hartmann6 seed {seed} {method}: {'reached' if c['reached'] else 'NOT reached'}, "
            f"{c['steps']} steps")
    cmd = [PY, os.path.join(HERE, "optuna_multifidelity.py"), "--seed", str(seed),
           "--target", repr(target), "--max-trials", str(optuna_max), "--max-resource", str(max_r),
           "--reduction-factor", str(eta)]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    steps = sum(x["steps"] for x in rows)
    hit = [x for x in rows if x["state"] == "COMPLETE" and x["value"] <= target]
    c = {"reached": bool(hit), "steps": steps, "trials": len(rows)}
    if hit:
        c.update({"wall_s": hit[0]["t"], "trial": hit[0]["trial"], "tie": 0})
    records.append({"objective": "hartmann6", "seed": seed, "method": "optuna-hyperband",
                    "side": "optuna", "target": target, "trial_budget": optuna_max,
                    "run_wall_s": time.time() - t0, **c})
    log(f"hartmann6 seed {seed} optuna-hyperband: {'reached' if c['reached'] else 'NOT reached'}, "
        f"{steps} steps, {len(rows)} trials")


# ---- (b) Fashion-MNIST ----

FM_SPACE = {
    "lr": {"type": "float", "low": 1.0e-4, "high": 3.0e-2, "log": True},
    "layers": {"type": "int", "low": 1, "high": 3},
    "width": {"type": "categorical", "values": [32, 64, 128, 256]},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5},
}
FM_MODEL = {"type": "mlp", "layers": "{layers}", "width": "{width}", "dropout": "{dropout}"}


def fashion_config(name, seed, method, max_trials, limit, split, max_r, eta):
    space = "\n".join(f"  {k}: {json.dumps(v)}" for k, v in FM_SPACE.items())
    return f"""name: {name}
seed: {seed}
objective: {{metric: accuracy, direction: maximize}}
max_trials: {max_trials}
space:
{space}
sampler: random
{pruner_yaml(method, 1, max_r, eta)}
trial:
  pipeline:
    data:
      format: idx
      train_images: {FM}/train-images-idx3-ubyte.gz
      train_labels: {FM}/train-labels-idx1-ubyte.gz
      limit: {limit}
      split: {split}
    model: {json.dumps(FM_MODEL)}
    optimizer: {{type: adamw, lr: "{{lr}}"}}
    batch_size: 128
    epochs: {max_r}
workers: {{threads_per_trial: 1}}
"""


def run_fashion(binary, work, seed, p, records, lock):
    max_r, eta = p["max_r"], p["eta"]

    def add(rec):
        with lock:
            records.append(rec)

    name = f"fm-reference-s{seed}"
    ex, wall = run_hypertune(binary, work, name, fashion_config(
        name, REF_SEED + seed, "random-full", p["n_ref"], p["limit"], p["split"], max_r, eta))
    bf = best_final(ex, True, max_r)
    if bf is None:
        raise RuntimeError(f"{name}: no trial completed")
    target, best_trial = bf
    add({"objective": "fashion-mnist", "seed": seed, "method": "reference", "side": "hypertune",
         "target": target, "trial_budget": p["n_ref"], "study_seed": REF_SEED + seed,
         "best_trial": best_trial, "run_wall_s": wall})
    log(f"fashion seed {seed}: target accuracy {target:.4f} (best of {p['n_ref']} random trials "
        f"of {max_r} epochs, study seed {REF_SEED + seed}, {wall:.0f} s)")
    for method in ("random-full", "hyperband", "asha-stopping", "asha-promotion", "median"):
        name = f"fm-{method}-s{seed}"
        ex, wall = run_hypertune(binary, work, name, fashion_config(
            name, seed, method, p["max_trials"][method], p["limit"], p["split"], max_r, eta))
        c = cost_hypertune(ex, target, True, max_r, False)
        add({"objective": "fashion-mnist", "seed": seed, "method": method, "side": "hypertune",
             "target": target, "trial_budget": p["max_trials"][method], "run_wall_s": wall, **c})
        log(f"fashion seed {seed} {method}: {'reached' if c['reached'] else 'NOT reached'}, "
            f"{c['steps']} epochs" + (f", {c['wall_s']:.1f} s" if c["reached"] else "")
            + f" (run {wall:.0f} s)")
    spec = {"space": FM_SPACE, "model": FM_MODEL, "lr_param": "lr", "limit": p["limit"],
            "split": p["split"], "min_resource": 1, "max_resource": max_r, "reduction_factor": eta}
    spec_path = os.path.join(work, f"fm-spec-s{seed}.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    out = os.path.join(work, f"fm-optuna-s{seed}.jsonl")
    if os.path.exists(out):
        os.remove(out)
    cmd = [PY, os.path.join(HERE, "optuna_fashion.py"), "es", "--spec", spec_path, "--seed",
           str(seed), "--target", repr(target), "--max-trials", str(p["optuna_max"]), "--out", out]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    rows = [json.loads(line) for line in open(out)]
    epochs = [x for x in rows if "epoch" in x]
    ends = [x for x in rows if "state" in x]
    hit = [x for x in ends if x["state"] == "COMPLETE" and x["value"] >= target]
    t_first = min(x["t_start"] for x in rows if "t_start" in x) if any(
        "t_start" in x for x in rows) else None
    c = {"reached": bool(hit), "steps": len(epochs), "trials": len(ends)}
    if hit:
        c["steps"] = sum(1 for x in epochs if x["t"] <= hit[0]["t"])
        c.update({"wall_s": hit[0]["t"] - t_first, "trial": hit[0]["trial"], "tie": 0})
    add({"objective": "fashion-mnist", "seed": seed, "method": "optuna-hyperband",
         "side": "optuna", "target": target, "trial_budget": p["optuna_max"],
         "run_wall_s": time.time() - t0, **c})
    log(f"fashion seed {seed} optuna-hyperband: {'reached' if c['reached'] else 'NOT reached'}, "
        f"{c['steps']} epochs, {len(ends)} trials")


# ---- summary ----

METHODS = ["random-full", "hyperband", "asha-stopping", "asha-promotion", "median",
           "optuna-hyperband"]
LABEL = {"random-full": "HyperTune random search, full training",
         "hyperband": "HyperTune Hyperband (stopping)",
         "asha-stopping": "HyperTune ASHA, stopping",
         "asha-promotion": "HyperTune ASHA, promotion",
         "median": "HyperTune median pruning",
         "optuna-hyperband": "Optuna 3.1 HyperbandPruner"}


INF = float("inf")


def fmt(x, digits=3):
    if x is None:
        return "-"
    if x == INF:
        return "not reached"
    if abs(x) >= 100 or isinstance(x, int):
        return str(int(round(x)))
    return f"{x:.{digits}g}"


def median_with_misses(values):
    """Median over every seed; a miss (INF) ranks behind every hit, so a median that lands on a
    miss is INF ("not reached")."""
    if not values:
        return None
    v = sorted(values)
    n = len(v)
    if n % 2:
        return v[n // 2]
    lo, hi = v[n // 2 - 1], v[n // 2]
    return INF if hi == INF else (lo + hi) / 2


def summarise(records, objective, unit):
    rows = [r for r in records if r["objective"] == objective]
    seeds = sorted({r["seed"] for r in rows})
    ref = {r["seed"]: r for r in rows if r["method"] == "random-full"}
    lines = [f"| method | seeds reaching the target | {unit} to target: median [min-max] | "
             f"ratio to random search ({unit}, median of per-seed ratios) | wall s to target: "
             f"median [min-max] | trial budget |",
             "| --- | --- | --- | --- | --- | --- |"]
    stats = {}
    for m in METHODS:
        rs = [r for r in rows if r["method"] == m]
        if not rs:
            continue
        hit = [r for r in rs if r["reached"]]
        steps = [r["steps"] if r["reached"] else INF for r in rs]
        walls = [r["wall_s"] if r["reached"] else INF for r in rs]
        # Where random search missed, its whole budget stands for its cost: a lower bound, so
        # such a ratio overstates the method's cost.
        ratios = [(r["steps"] if r["reached"] else INF) / ref[r["seed"]]["steps"]
                  for r in rs if r["seed"] in ref]
        st = {"reached": len(hit), "seeds": len(rs), "median_steps": median_with_misses(steps),
              "median_ratio": median_with_misses(ratios), "median_wall": median_with_misses(walls)}
        stats[m] = st
        rng = f" [{fmt(min(steps))}-{fmt(max(steps))}]"
        wrng = f" [{fmt(min(walls))}-{fmt(max(walls))}]"
        budgets = sorted({r["trial_budget"] for r in rs})
        missed = [r for r in rs if not r["reached"]]
        miss_note = ""
        if missed:
            miss_note = " (missed: " + ", ".join(
                f"seed {r['seed']} after {r['steps']} {unit} in {r['trials']} trials"
                for r in missed) + ")"
        lines.append(f"| {LABEL[m]} | {len(hit)}/{len(rs)}{miss_note} | "
                     f"{fmt(st['median_steps'])}{rng} | {fmt(st['median_ratio'])} | "
                     f"{fmt(st['median_wall'])}{wrng} | "
                     f"{', '.join(str(b) for b in budgets)} trials |")
    refs = {r["seed"]: r for r in rows if r["method"] == "reference"}
    targets = ", ".join(f"seed {s}: {refs[s]['target']:.4f}" for s in seeds if s in refs)
    return lines, stats, targets


def verdicts(stats, objective, unit):
    out = []
    for m in ("hyperband", "asha-stopping", "asha-promotion", "median", "optuna-hyperband"):
        st = stats.get(m)
        if not st or "random-full" not in stats:
            continue
        ok = st["median_ratio"] is not None and st["median_ratio"] < 1.0
        out.append(f"* {objective}, {LABEL[m]}: median cost in {unit} below random search's "
                   f"(median per-seed ratio < 1): **{'met' if ok else 'missed'}** (ratio "
                   f"{fmt(st['median_ratio'])}; reached {st['reached']}/{st['seeds']} seeds).")
    hb, op = stats.get("hyperband"), stats.get("optuna-hyperband")
    if hb and op:
        ok = (hb["median_steps"] is not None and op["median_steps"] is not None
              and hb["median_steps"] <= op["median_steps"] and hb["reached"] >= op["reached"])
        out.append(f"* {objective}, HyperTune Hyperband needs no more {unit} than Optuna's "
                   f"HyperbandPruner (median over seeds) and reaches the target on as many seeds: "
                   f"**{'met' if ok else 'missed'}** ({fmt(hb['median_steps'])} vs "
                   f"{fmt(op['median_steps'])}; reached {hb['reached']}/{hb['seeds']} vs "
                   f"{op['reached']}/{op['seeds']}).")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--hypertune", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--command", default="")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = os.path.join(args.out, "early_stopping_work")
    os.makedirs(work, exist_ok=True)
    t_begin = time.time()
    load_before = open("/proc/loadavg").read().split()[:3]

    fn = {"seeds": [1, 2, 3] if args.quick else [1, 2, 3, 4, 5], "n_ref": 30 if args.quick else 50,
          "max_trials": ({"random-full": 150, "pruned": 600} if args.quick else
                         {"random-full": 250, "pruned": 1000}),
          "optuna_max": 600 if args.quick else 1000, "max_r": 81, "eta": 3}
    fm = {"seeds": [1] if args.quick else [1, 2], "n_ref": 6 if args.quick else 12,
          "limit": 2000, "split": 0.2, "max_r": 9, "eta": 3,
          "max_trials": ({"random-full": 18, "hyperband": 17, "asha-stopping": 24,
                          "asha-promotion": 24, "median": 18}
                         if args.quick else
                         {"random-full": 30, "hyperband": 51, "asha-stopping": 45,
                          "asha-promotion": 45, "median": 30}),
          "optuna_max": 24 if args.quick else 45}

    records, lock, errors = [], threading.Lock(), []

    def fashion_seed(seed):
        try:
            run_fashion(args.hypertune, work, seed, fm, records, lock)
        except Exception as e:  # reported below, the run fails
            errors.append(f"fashion seed {seed}: {e}")

    # Fashion-MNIST seeds run side by side (one per core); the function part is light and runs
    # in this thread meanwhile.
    threads = [threading.Thread(target=fashion_seed, args=(s,)) for s in fm["seeds"]]
    for t in threads:
        t.start()
    fn_records = []
    try:
        for seed in fn["seeds"]:
            run_function(args.hypertune, work, seed, fn["n_ref"], fn["max_trials"],
                         fn["optuna_max"], fn["max_r"], fn["eta"], fn_records)
    except Exception as e:
        errors.append(f"hartmann6: {e}")
    for t in threads:
        t.join()
    records += fn_records
    if errors:
        for e in errors:
            log("FAILED: " + e)
        sys.exit(1)
    load_after = open("/proc/loadavg").read().split()[:3]
    elapsed = time.time() - t_begin

    with open(os.path.join(args.out, "early_stopping_runs.jsonl"), "w") as f:
        for r in sorted(records, key=lambda r: (r["objective"], r["seed"], (["reference"] + METHODS).index(r["method"]))):
            f.write(json.dumps(r) + "\n")

    fa, fa_stats, fa_targets = summarise(records, "hartmann6", "steps")
    fb, fb_stats, fb_targets = summarise(records, "fashion-mnist", "epochs")
    md = ["## Early stopping: cost to reach random search's best, HyperTune pruners vs Optuna's "
          "HyperbandPruner", ""]
    md.append(f"Command: `{args.command or 'scripts/bench/early_stopping.sh OUT_DIR'}` "
              f"({'quick' if args.quick else 'full'} mode; {elapsed:.0f} s; load average "
              f"{' '.join(load_before)} before, {' '.join(load_after)} after, on "
              f"{os.cpu_count()} cores shared with other work). Raw: "
              "`early_stopping_runs.jsonl` (one line per run and seed).")
    md.append("")
    md.append("Per seed, the **target** is the best final value of a separate reference run: "
              "HyperTune random search with full training (no pruner) under its own study seed "
              f"({REF_SEED} + seed), so that no method re-draws the reference's configurations. "
              "Every method then runs with the seed's own study seed and the random sampler "
              "(Optuna: `RandomSampler(seed)`), so only the early stopping differs, random search "
              "with full training included, each with a trial budget. Its **cost** is the steps "
              "(epochs) reported by all its trials, in time order, up to the report that "
              "completes the first trial whose final value (at the maximum resource) reaches the "
              "target, and the wall time from its first trial's start to that report. The ratio "
              "column divides a method's cost by random search's on the same seed (where random "
              "search missed, by its whole budget, which overstates the ratio). HyperTune runs "
              "`hypertune run CONFIG --in-process -w 1` (SQLite storage; numbers from "
              "`hypertune export DB --format json`); Optuna runs in memory in one process and "
              "stops at the target. Pruner settings: Hyperband `min_resource 1, reduction_factor "
              "3, mode: stopping` (Optuna's HyperbandPruner is a stopping pruner too); ASHA the "
              "same rungs, `mode: stopping` and `mode: promotion`; median: `n_startup_trials 5, "
              "n_warmup_steps 0` (Optuna's MedianPruner defaults). A seed that does not reach the "
              "target within its budget is listed as missed; in the medians a miss ranks behind "
              "every hit (a median that lands on one reads 'not reached').")
    md.append("")
    md.append(f"### (a) hartmann6, steps as the fidelity (max 81 steps), "
              f"{len(fn['seeds'])} seeds")
    md.append("")
    md.append(f"Reference: best of {fn['n_ref']} random trials of 81 steps; budgets: random "
              f"search {fn['max_trials']['random-full']} trials, HyperTune's pruners "
              f"{fn['max_trials']['pruned']} trials, Optuna at most {fn['optuna_max']}. Value at "
              "step s: f(x) + bias(x)/sqrt(s), the same "
              "formula on both sides (`scripts/bench/optuna_multifidelity.py`). Targets: "
              f"{fa_targets}. Steps of ASHA promotion are an upper bound: its reports carry "
              "millisecond times and a resumed trial interleaves with others, so every report up "
              "to the target's millisecond is counted. Wall times are dominated by the tuner's "
              "own overhead here (a step costs microseconds), so they compare the libraries, "
              "not the pruners.")
    md.append("")
    md += fa
    md.append("")
    md.append(f"### (b) Fashion-MNIST, MLP, epochs as the resource (max 9), "
              f"{len(fm['seeds'])} seed{'s' if len(fm['seeds']) > 1 else ''}")
    md.append("")
    md.append(f"The first {fm['limit']} training images, {fm['split']:.0%} held out (stratified, "
              "split seed 0; the PyTorch side reproduces HyperTune's split row for row). MLP "
              "with 1-3 hidden layers of width {32, 64, 128, 256}, ReLU, dropout 0-0.5, AdamW "
              "(lr 1e-4..3e-2 log, weight decay 0.01), batch 128, one thread per trial; metric: "
              f"validation accuracy. Reference: best of {fm['n_ref']} random trials of 9 epochs; "
              "trial budgets in the table. The "
              f"PyTorch model is the same `nn.Sequential` (`scripts/bench/fashion_torch.py`). "
              + ("Only one seed in quick mode. " if args.quick else
                 "Two seeds only, to stay inside the time limit; the two seeds run side by side, "
                 "one per core, so wall times are under that load. ")
              + f"Targets: {fb_targets}. Wall time on the PyTorch side is also a training-speed "
              "comparison (the LibTorch pipeline trains faster per epoch, see the training-speed "
              "table); compare epochs for the pruners themselves.")
    md.append("")
    md += fb
    md.append("")
    md.append("Against the targets (criteria of this benchmark; the issue sets no figure):")
    md.append("")
    md += verdicts(fa_stats, "hartmann6", "steps")
    md += verdicts(fb_stats, "Fashion-MNIST", "epochs")
    md.append("")
    with open(os.path.join(args.out, "early_stopping.md"), "w") as f:
        f.write("\n".join(md))
    log(f"done in {elapsed:.0f} s: {os.path.join(args.out, 'early_stopping.md')}")


if __name__ == "__main__":
    main()
