#!/usr/bin/python3
"""Turns the raw results of scripts/bench/run-all.sh into markdown: one fragment per step and
docs/benchmarks.md. Every figure and every met / MISSED verdict is computed here from the raw
files; nothing is typed in by hand. Standard library only.

  make_report.py trial-times EXPORT.json [--set KEY=VALUE ...]
      one JSON line from `hypertune export --format json`: trial start/end times, the span from
      the first start to the last end, the median trial duration, plus the KEY=VALUE pairs
  make_report.py fragment STEP OUT_DIR --command CMD
      writes OUT_DIR/STEP.md from the raw files in OUT_DIR/STEP/
  make_report.py report OUT_DIR --command CMD --mode quick|full [--docs DIR]
      writes DIR/benchmarks.md (default docs/) from OUT_DIR/run.jsonl and the fragments, and
      replaces DIR/bench-results/ with the raw results
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

# Steps run only when named with --only (run-all.sh optin_steps).
OPTIN_STEPS = ["automl"]
STEPS = ["sampler", "quality", "run_wall", "pipeline", "early_stopping", "race", "dispatch",
         "overhead", "scaling", "workers64", "large_study", "baseline", "chaos", "fuzz"]
TARGET_RE = re.compile(r"^\s*[-*] (.*?)[:\s]*\*\*(met|MISSED|missed)\*\*(.*)$")


# --------------------------------------------------------------------------------------------
# helpers

def load_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def med(values):
    return statistics.median(values)


def quartiles(values):
    v = sorted(values)
    if len(v) == 1:
        return v[0], v[0], v[0]
    q1, q2, q3 = statistics.quantiles(v, n=4, method="inclusive")
    return q1, q2, q3


def g(x, digits=4):
    """Compact number: 4 significant digits, no exponent for everyday magnitudes."""
    if x is None:
        return "-"
    if x == 0:
        return "0"
    if abs(x) >= 1e5 or abs(x) < 1e-4:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def spread(values, fmt="{:.3g}"):
    return "[" + fmt.format(min(values)) + "-" + fmt.format(max(values)) + "]"


def verdict(ok):
    return "**met**" if ok else "**MISSED**"


class Fragment:
    def __init__(self, title, command):
        self.lines = [f"## {title}", "", f"Command: `{command}`", ""]
        self.targets = []

    def add(self, *lines):
        self.lines.extend(lines)

    def table(self, header, rows):
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("| " + " | ".join("---" for _ in header) + " |")
        for r in rows:
            self.lines.append("| " + " | ".join(str(c) for c in r) + " |")
        self.lines.append("")

    def target(self, text, ok, detail):
        self.targets.append((text, ok, detail))

    def write(self, path):
        if self.targets:
            self.lines.append("Targets (computed from the numbers above):")
            self.lines.append("")
            for text, ok, detail in self.targets:
                self.lines.append(f"- {text}: {verdict(ok)} ({detail})")
            self.lines.append("")
        with open(path, "w") as f:
            f.write("\n".join(self.lines).rstrip() + "\n")


# --------------------------------------------------------------------------------------------
# fragments

def frag_sampler(raw, fr):
    rows = load_jsonl(f"{raw}/hypertune_timing.jsonl") + load_jsonl(f"{raw}/optuna_timing.jsonl")
    if not rows:
        raise SystemExit(f"make_report: no timing lines in {raw}")
    runs = len({r["run"] for r in rows})
    asks = rows[0]["asks"]
    fr.add("Cost of one TPE ask+tell (sample, evaluate, report back) AT a study size: each side first "
           "loads n finished trials into the study (random points of the same 7-parameter mixed "
           "space with their objective values; Optuna: `optuna.trial.create_trial` + "
           "`study.add_trials`), then asks, evaluates and tells the next "
           f"{asks} trials one at a time, each timed. Optuna cannot run whole 10,000-trial studies "
           "in the time budget (its cost per trial grows with the history), so the cost is "
           "measured at the size instead of averaged over a whole study. Space: 3 floats (one "
           "log), 2 ints (one log), a stepped float and a 3-way categorical.",
           "",
           f"Each cell: the mean per-trial time of the {asks} asks, median over {runs} runs "
           "[min-max over runs]; CPU time is the process's (the steadier figure on a shared "
           "machine). Optuna 3.1 TPESampler(multivariate=..., group=...), in-memory storage.", "")
    cell = {}
    for r in rows:
        cell.setdefault((r["impl"], r["mode"], r["n_trials"]), []).append(r)
    table = []
    ratio = {}
    for mode in ("univariate", "multivariate"):
        for n in sorted({k[2] for k in cell if k[1] == mode}):
            h, o = cell.get(("hypertune", mode, n)), cell.get(("optuna", mode, n))
            if not h:
                continue
            hw = [r["ms_per_trial"] for r in h]
            hc = [r["cpu_ms_per_trial"] for r in h]
            line = [mode, f"{n:,}", f"{med(hw):.3f} {spread(hw, '{:.3f}')}", f"{med(hc):.3f}"]
            if o:
                ow = [r["ms_per_trial"] for r in o]
                oc = [r["cpu_ms_per_trial"] for r in o]
                rw, rc = med(ow) / med(hw), med(oc) / med(hc)
                ratio[(mode, n)] = (rw, rc)
                line += [f"{med(ow):.1f} {spread(ow, '{:.1f}')}", f"{med(oc):.1f}",
                         f"{rw:.0f}x / {rc:.0f}x"]
            else:
                line += ["not run", "", ""]
            table.append(line)
    fr.table(["mode", "trials in study", "HyperTune ms/trial wall", "HyperTune cpu",
              "Optuna ms/trial wall", "Optuna cpu", "speed-up (wall / cpu)"], table)
    for mode in ("univariate", "multivariate"):
        if (mode, 1000) in ratio:
            rw, rc = ratio[(mode, 1000)]
            fr.target(f"TPE ({mode}) ask+tell >= 200x faster than Optuna 3.1 at 1,000 trials, CPU time",
                      rc >= 200, f"{rc:.0f}x CPU, {rw:.0f}x wall")


def frag_quality(raw, fr):
    rows = load_jsonl(f"{raw}/hypertune_quality.jsonl") + load_jsonl(f"{raw}/optuna_quality.jsonl")
    if not rows:
        raise SystemExit(f"make_report: no quality lines in {raw}")
    cols = [(i, s) for i, s in (("hypertune", "tpe-univariate"), ("hypertune", "tpe-multivariate"),
                                ("hypertune", "random"), ("optuna", "tpe-univariate"),
                                ("optuna", "tpe-multivariate"), ("optuna", "random"))
            if any(r["impl"] == i and r["sampler"] == s for r in rows)]
    seeds = sorted({r["seed"] for r in rows})
    cell = {}
    for r in rows:
        cell.setdefault((r["impl"], r["sampler"], r["problem"], r["budget"]), []).append(r["regret"])
    fr.add(f"Simple regret (best value found - known optimum; lower is better) after 50 / 100 / 200 "
           f"trials, over {len(seeds)} seeds ({seeds[0]}-{seeds[-1]}): median [first quartile, third "
           "quartile]. Sequential studies (one trial at a time), the same problem definitions on both "
           "sides; the mixed problem is a conditional space (an optimiser choice with children and a "
           "grandchild, log / int / stepped axes; optimum 0). TPE defaults otherwise on both sides. "
           "Quality only, so Optuna's seeds run in two processes at once.", "")
    names = {"tpe-univariate": "TPE", "tpe-multivariate": "TPE multivariate", "random": "random"}
    header = ["problem", "trials"] + [("HyperTune " if i == "hypertune" else "Optuna ") + names[s]
                                      for i, s in cols]
    problems = []
    for r in rows:
        if r["problem"] not in problems:
            problems.append(r["problem"])
    table = []
    for p in problems:
        for b in sorted({r["budget"] for r in rows if r["problem"] == p}):
            line = [p, b]
            for i, s in cols:
                v = cell.get((i, s, p, b))
                if v:
                    q1, q2, q3 = quartiles(v)
                    line.append(f"{g(q2)} [{g(q1, 3)}, {g(q3, 3)}]")
                else:
                    line.append("-")
            table.append(line)
    fr.table(header, table)
    top = max(r["budget"] for r in rows)
    for s in ("tpe-univariate", "tpe-multivariate"):
        if ("optuna", s) not in cols or ("hypertune", s) not in cols:
            continue
        better = []
        for p in problems:
            h, o = med(cell[("hypertune", s, p, top)]), med(cell[("optuna", s, p, top)])
            better.append((p, h <= o, h, o))
        wins = sum(1 for b in better if b[1])
        detail = "; ".join(f"{p} {g(h, 3)} vs {g(o, 3)}" for p, _, h, o in better)
        fr.target(f"{names[s]}: median regret after {top} trials no worse than Optuna's on at least "
                  f"4 of {len(problems)} problems", wins >= 4,
                  f"{wins} of {len(problems)}, {len(seeds)} seeds: {detail}")


def frag_run_wall(raw, fr):
    rows = load_jsonl(f"{raw}/run_wall.jsonl")
    if not rows:
        raise SystemExit(f"make_report: no run_wall lines in {raw}")
    fr.add("Whole-process wall time of a sweep on hartmann6 with TPE: the real `hypertune run` "
           "binary with `--in-process` (trials in threads of one process) and SQLite storage (every "
           "transition committed; the time includes process start and opening the storage) against "
           "Optuna 3.1's `study.optimize` with in-memory storage, same seeds.", "")
    table = []
    for mv in (False, True):
        h = [r for r in rows if r["kind"] == "run_wall" and r["impl"] == "hypertune" and r["multivariate"] == mv]
        o = [r for r in rows if r["kind"] == "run_wall" and r["impl"] == "optuna" and r["multivariate"] == mv]
        if not h or not o:
            continue
        hw, ow = [r["wall_s"] for r in h], [r["wall_s"] for r in o]
        table.append(["multivariate" if mv else "univariate", h[0]["trials"], len(h),
                      f"{med(hw):.2f} {spread(hw, '{:.2f}')}", f"{med(ow):.2f} {spread(ow, '{:.2f}')}",
                      f"{med(ow) / med(hw):.1f}x",
                      f"{g(med(r['best'] for r in h))} / {g(med(r['best'] for r in o))}"])
    fr.table(["TPE mode", "trials", "runs", "hypertune run (SQLite) median s [min-max]",
              "Optuna in-memory median s [min-max]", "speed-up", "median best (HT / Optuna)"], table)
    big = [r for r in rows if r["kind"] == "run_wall_big"]
    for r in big:
        fr.add(f"One `hypertune run` of {r['trials']:,} trials (univariate TPE, SQLite, "
               f"`--in-process`, seed {r['seed']}): {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU, "
               f"{r['max_rss_mib']:.0f} MiB peak RSS, best {g(r['best'])}. Optuna is not run at "
               "this size.", "")
        if r["trials"] >= 10000:
            fr.target(f"{r['trials']:,}-trial `hypertune run` with SQLite under a minute",
                      r["wall_s"] < 60, f"{r['wall_s']:.1f} s")


def frag_pipeline(raw, fr):
    rows = load_jsonl(f"{raw}/pipeline.jsonl")
    if not rows:
        raise SystemExit(f"make_report: no pipeline lines in {raw}")
    by = {(r["model"], r["impl"]): r for r in rows}
    any_row = rows[0]
    fr.add("Seconds per epoch of HyperTune's LibTorch trainer (bench/pipeline_bench.cpp) against a "
           "plain PyTorch 1.13 loop (scripts/bench/pytorch_epoch.py) on Fashion-MNIST: the same "
           "MLP (784-256-256-10) and CNN (16/32 channels, dense 64), data, Adam, batch size and "
           f"thread count ({any_row['threads']}). An epoch: one shuffled training pass plus the "
           "validation rows (1/6 of the images). Each cell: median over "
           f"{len(any_row['epoch_wall_s'])} epochs [min-max] (the first epoch of each run left out).",
           "")
    table = []
    for model in ("mlp", "cnn"):
        h, p = by.get((model, "hypertune")), by.get((model, "pytorch"))
        if not h or not p:
            continue
        rw = p["median_wall_s"] / h["median_wall_s"]
        rc = p["median_cpu_s"] / h["median_cpu_s"]
        table.append([model.upper(), p["images"], p["batch_size"],
                      f"{h['median_wall_s']:.3f} {spread(h['epoch_wall_s'], '{:.3f}')}",
                      f"{h['median_cpu_s']:.3f}",
                      f"{p['median_wall_s']:.3f} {spread(p['epoch_wall_s'], '{:.3f}')}",
                      f"{p['median_cpu_s']:.3f}", f"{rw:.2f}x / {rc:.2f}x",
                      f"{h['final_accuracy']:.3f} / {p['final_accuracy']:.3f}"])
        fr.target(f"{model.upper()} epoch >= 1.2x faster than PyTorch, CPU time", rc >= 1.2,
                  f"{rc:.2f}x CPU, {rw:.2f}x wall")
    fr.table(["model", "images", "batch", "HyperTune s/epoch wall", "HT cpu", "PyTorch s/epoch wall",
              "PT cpu", "speed-up (wall / cpu)", "val accuracy (HT / PT)"], table)


def frag_dispatch(raw, fr):
    rows = load_jsonl(f"{raw}/dispatch.jsonl")
    if not rows:
        raise SystemExit(f"make_report: no dispatch lines in {raw}")
    runs = len({r["run"] for r in rows})
    fr.add("Zero-work trials created, dispatched, completed and stored per second by one scheduler "
           "(Dispatcher + Study + SQLite WAL). raw: the workers are DEALER sockets of the benchmark "
           "process answering each ASSIGN at once (the scheduler's cost alone); agent: real "
           "`worker::Agent` objects (I/O thread + trial thread) in the process. prefetch: trials each "
           "worker holds queued beyond its one slot (`hypertune worker --prefetch K`; 0 is the default), "
           "so that the next trial starts while the last one's result and the next assignment cross "
           f"the socket. {rows[0]['trials']:,} trials per cell, {runs} runs: median [min-max] trials/s.", "")
    cell = {}
    for r in rows:
        cell.setdefault((r["durability"], r["kind"], r["workers"], r.get("prefetch", 0)), []).append(r["trials_per_s"])
    table = []
    for (dur, kind, w, pf), v in sorted(cell.items(), key=lambda kv: (kv[0][0] != "normal", kv[0][1] != "raw", kv[0][2], kv[0][3])):
        table.append([kind, "WAL synchronous=NORMAL" if dur == "normal" else "synchronous=FULL", w, pf,
                      f"{med(v):,.0f} {spread(v, '{:,.0f}')}"])
        if dur == "normal":
            fr.target(f"{kind}, {w} worker{'s' if w > 1 else ''}, prefetch {pf}: >= 5,000 trials/s", med(v) >= 5000,
                      f"{med(v):,.0f}/s")
    fr.table(["workers are", "durability", "workers", "prefetch", "trials/s"], table)


def frag_overhead(raw, fr):
    rows = load_jsonl(f"{raw}/overhead.jsonl")
    if not rows:
        raise SystemExit(f"make_report: no overhead lines in {raw}")
    r0 = rows[0]
    fr.add(f"{r0['trials']} command trials of `/bin/sh -c \"sleep 1; echo '@hypertune ...'\"` through "
           f"`hypertune run -w {r0['workers']}` (scheduler plus {r0['workers']} worker processes, "
           f"SQLite); ideal wall time {r0['ideal_s']:.1f} s. Span: from the first trial's start to "
           "the last trial's end (stored timestamps, `hypertune export --format json`); whole: "
           f"the command's wall time, process start-up included. {len(rows)} runs.", "")
    table = []
    for r in rows:
        table.append([r["run"], f"{r['span_s']:.2f}", f"{100 * (r['span_s'] / r['ideal_s'] - 1):.1f}%",
                      f"{r['wall_s']:.2f}", f"{100 * (r['wall_s'] / r['ideal_s'] - 1):.1f}%",
                      f"{r['median_trial_s']:.3f}"])
    span = med(r["span_s"] for r in rows)
    wall = med(r["wall_s"] for r in rows)
    ideal = r0["ideal_s"]
    table.append(["median", f"{span:.2f}", f"{100 * (span / ideal - 1):.1f}%", f"{wall:.2f}",
                  f"{100 * (wall / ideal - 1):.1f}%", f"{med(r['median_trial_s'] for r in rows):.3f}"])
    fr.table(["run", "span s", "span overhead", "whole command s", "whole overhead",
              "median trial s"], table)
    fr.add("A trial's own time includes starting `/bin/sh` and `sleep`; the median trial duration "
           "shows how much of the overhead is the trial process rather than the scheduler.", "")
    fr.target("Overhead < 1% on 1-second trials, first start to last end", span / ideal - 1 < 0.01,
              f"median {100 * (span / ideal - 1):.1f}%")
    fr.target("Overhead < 1% on 1-second trials, whole command", wall / ideal - 1 < 0.01,
              f"median {100 * (wall / ideal - 1):.1f}%")


def frag_scaling(raw, fr):
    rows = load_jsonl(f"{raw}/scaling.jsonl")
    if not rows:
        raise SystemExit(f"make_report: no scaling lines in {raw}")
    n = rows[0]["trials"]
    fr.add(f"The same CPU-bound sweep ({n} command trials, each an `awk` loop of about half a "
           "second of CPU) with `hypertune run -w 1` and `-w 2` on this 2-core machine, runs "
           "alternating. Throughput = trials / span (first start to last end); whole = the "
           "command's wall time. Ideal speed-up: 2.0x (less on a machine shared with other work).",
           "")
    table = []
    ratios_span, ratios_wall = [], []
    for run in sorted({r["run"] for r in rows}):
        one = [r for r in rows if r["run"] == run and r["workers"] == 1]
        two = [r for r in rows if r["run"] == run and r["workers"] == 2]
        if not one or not two:
            continue
        a, b = one[0], two[0]
        ratios_span.append(a["span_s"] / b["span_s"])
        ratios_wall.append(a["wall_s"] / b["wall_s"])
        table.append([run, f"{n / a['span_s']:.2f}", f"{n / b['span_s']:.2f}",
                      f"{ratios_span[-1]:.2f}x", f"{a['wall_s']:.2f} / {b['wall_s']:.2f}",
                      f"{ratios_wall[-1]:.2f}x",
                      f"{a['median_trial_s']:.3f} / {b['median_trial_s']:.3f}"])
    fr.table(["run", "trials/s, 1 worker", "trials/s, 2 workers", "speed-up (span)",
              "whole command s (1 / 2)", "speed-up (whole)", "median trial s (1 / 2)"], table)
    if ratios_span:
        fr.add(f"Median speed-up from 1 to 2 workers: {med(ratios_span):.2f}x on the span "
               f"{spread(ratios_span, '{:.2f}')}, {med(ratios_wall):.2f}x on the whole command "
               f"{spread(ratios_wall, '{:.2f}')}. No target is set for this figure.", "")


def frag_workers64(raw, fr):
    rows = load_jsonl(f"{raw}/workers64.jsonl")
    if not rows:
        raise SystemExit(f"make_report: no workers64 lines in {raw}")
    r0 = rows[0]
    ideal = r0["workers"] * 1000.0 / r0["trial_ms"]
    fr.add(f"A simulated {r0['workers']}-worker cluster: {r0['workers']} real `worker::Agent` objects "
           f"in one process against one scheduler (Dispatcher + Study + SQLite WAL), {r0['trials']:,} "
           f"trials that each sleep {r0['trial_ms']} ms, so up to {r0['workers']} run at once. "
           f"Ideal throughput {ideal:,.0f} trials/s; utilisation = time inside trials / "
           f"({r0['workers']} x wall time), including the ramp-up and the tail. {len(rows)} runs.", "")
    tps = [r["trials_per_s"] for r in rows]
    util = [r["utilisation"] for r in rows]
    fr.table(["workers", "trial ms", "trials", "trials/s median [min-max]", "utilisation median [min-max]"],
             [[r0["workers"], r0["trial_ms"], f"{r0['trials']:,}", f"{med(tps):,.0f} {spread(tps, '{:,.0f}')}",
               f"{100 * med(util):.1f}% [{100 * min(util):.1f}-{100 * max(util):.1f}%]"]])
    fr.add("No target is set for this figure.", "")


def frag_baseline(raw, fr):
    rows = load_jsonl(f"{raw}/baseline.jsonl")
    if not rows:
        raise SystemExit(f"make_report: no baseline lines in {raw}")
    fr.add(f"`hypertune baseline` with a {rows[0]['budget']} budget (default settings otherwise) on a seeded 80/20 "
           f"split (seed {rows[0]['seed']}, stratified for classes, made by "
           "scripts/bench/sklearn_baseline.py), scored on the held-out 20%; beside it scikit-learn "
           "1.2 defaults fitted on the same split (median imputation and scaling for numbers, "
           "one-hot for text): LogisticRegression / Ridge, RandomForest, HistGradientBoosting, MLP. "
           "Accuracy for classification (higher is better), RMSE for regression (lower is better). "
           "One run per dataset (the budget is wall time).", "")
    table = []
    for r in rows:
        s = r["sklearn"]
        table.append([r["dataset"], r["metric"], g(r["hypertune"]), g(s["linear"]), g(s["random_forest"]),
                      g(s["hist_gradient_boosting"]), g(s["mlp"]), f"{r['seconds']:.1f}"])
        higher = r["metric"] == "accuracy"
        ours = r["hypertune"]
        beats = all((ours > s[k]) if higher else (ours < s[k]) for k in ("linear", "mlp"))
        hgb = s["hist_gradient_boosting"]
        near = ours >= hgb - 0.01 if higher else ours <= hgb * 1.05
        gap = f"{100 * (ours - hgb):+.1f} points" if higher else f"{100 * (ours / hgb - 1):+.1f}% RMSE"
        fr.target(f"{r['dataset']}: better than the linear and MLP defaults (strictly)", beats,
                  f"{g(ours)} vs {g(s['linear'])} / {g(s['mlp'])}")
        fr.target(f"{r['dataset']}: within {'1 point of accuracy' if higher else '5% RMSE'} of "
                  "HistGradientBoosting", near, f"{gap} against {g(hgb)}")
    fr.table(["dataset", "metric", "hypertune", "linear", "random forest", "HGB", "MLP",
              "baseline seconds"], table)


TITLES = {
    "sampler": "Sampler overhead: TPE ask+tell per trial against Optuna 3.1",
    "quality": "Search quality: TPE and random search against Optuna 3.1",
    "run_wall": "Whole sweep: `hypertune run` with SQLite against Optuna's in-memory `study.optimize`",
    "pipeline": "Training speed: LibTorch pipeline against a plain PyTorch 1.13 loop",
    "dispatch": "Runtime: dispatch throughput",
    "overhead": "Runtime: overhead on 1-second command trials, 2 workers",
    "scaling": "Runtime: scaling from 1 to 2 workers",
    "workers64": "Runtime: a simulated 64-worker run",
    "baseline": "AutoML baseline against scikit-learn defaults",
}
FRAGMENTS = {"sampler": frag_sampler, "quality": frag_quality, "run_wall": frag_run_wall,
             "pipeline": frag_pipeline, "dispatch": frag_dispatch, "overhead": frag_overhead,
             "scaling": frag_scaling, "workers64": frag_workers64, "baseline": frag_baseline}


def cmd_fragment(a):
    if a.step not in FRAGMENTS:
        raise SystemExit(f"make_report: no fragment writer for step '{a.step}' (known: {', '.join(FRAGMENTS)})")
    fr = Fragment(TITLES[a.step], a.command)
    FRAGMENTS[a.step](os.path.join(a.out, a.step), fr)
    fr.add(f"Raw results: [bench-results/{a.step}/](bench-results/{a.step}/).", "")
    fr.write(os.path.join(a.out, f"{a.step}.md"))


# --------------------------------------------------------------------------------------------
# trial times from an export

def cmd_trial_times(a):
    with open(a.export) as f:
        data = json.load(f)
    trials = [t for t in data["trials"] if t.get("state") == "COMPLETE"]
    if not trials:
        raise SystemExit(f"make_report: {a.export}: no COMPLETE trials")
    starts = [t["started_ms"] / 1e3 for t in trials]
    ends = [t["finished_ms"] / 1e3 for t in trials]
    row = {}
    for kv in a.set or []:
        k, _, v = kv.partition("=")
        try:
            row[k] = json.loads(v)
        except json.JSONDecodeError:
            row[k] = v
    row.update({"complete": len(trials), "span_s": max(ends) - min(starts),
                "median_trial_s": med(e - s for s, e in zip(starts, ends)),
                "starts": [round(s - min(starts), 3) for s in starts],
                "ends": [round(e - min(starts), 3) for e in ends]})
    print(json.dumps(row))


# --------------------------------------------------------------------------------------------
# the report

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) / 1024 / 1024
    osname = platform.system()
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    return f"{cpu}, {os.cpu_count()} cores, {mem:.1f} GiB memory, {osname} (kernel {platform.release()})"


def versions():
    py = sh("/usr/bin/python3 -c 'import optuna, torch, sklearn, sqlite3; "
            "print(optuna.__version__, torch.__version__, sklearn.__version__, sqlite3.sqlite_version)'").split()
    pkg = {}
    for name in ("libtorch1.13", "libtorch-dev", "libzmq5", "libsqlite3-0"):
        v = sh(f"dpkg-query -W -f '${{Version}}' {name} 2>/dev/null")
        if v:
            pkg[name] = v
    libtorch = pkg.get("libtorch-dev") or pkg.get("libtorch1.13") or "unknown"
    return {
        "LibTorch": libtorch,
        "Optuna": py[0] if len(py) > 0 else "unknown",
        "PyTorch": py[1] if len(py) > 1 else "unknown",
        "scikit-learn": py[2] if len(py) > 2 else "unknown",
        "SQLite": pkg.get("libsqlite3-0", py[3] if len(py) > 3 else "unknown"),
        "ZeroMQ": pkg.get("libzmq5", "unknown"),
    }


def fmt_time(ts, with_date=False):
    return time.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S", time.gmtime(ts))


def merge_previous(a, steps):
    """--merge: the steps of this run replace theirs in the report already in a.docs; every other
    step keeps its section, its row and its raw results from there. Writes the old sections and raw
    results into a.out, so that the report is made from one folder; returns the merged steps and
    the previous report's 'Run:' line."""
    old_md = os.path.join(a.docs, "benchmarks.md")
    old_raw = os.path.join(a.docs, "bench-results")
    old_steps = load_jsonl(os.path.join(old_raw, "run.jsonl"))
    with open(old_md) as f:
        text = f.read()
    run_line = next((l for l in text.splitlines() if l.startswith("- Run: ")), "")
    machine_line = next((l for l in text.splitlines() if l.startswith("- Machine: ")), "")
    # Earlier re-runs stay listed unless every step they re-ran is re-run now.
    new_names = {s["step"] for s in steps}
    for line in text.splitlines():
        if not line.startswith("- Re-run: "):
            continue
        named = set()
        for part in line[len("- Re-run: "):].split(", "):
            if not re.fullmatch(r"[a-z0-9_]+", part):
                break
            named.add(part)
        if not named <= new_names:
            machine_line += "\n" + line
    # The body: from the first "## " heading to "## Summary of targets", one section per step, in
    # the order of the previous run.jsonl.
    body = text[text.index("\n## ") + 1:text.index("## Summary of targets")]
    sections = ["## " + s for s in body.split("\n## ") if s.strip()]
    sections[0] = sections[0][3:]
    if len(sections) != len(old_steps):
        raise SystemExit(f"make_report: --merge: {old_md} has {len(sections)} sections for "
                         f"{len(old_steps)} steps in {old_raw}/run.jsonl")
    new_names = {s["step"] for s in steps}
    for s, sec in zip(old_steps, sections):
        if s["step"] not in new_names:
            with open(os.path.join(a.out, s["step"] + ".md"), "w") as f:
                f.write(sec.rstrip() + "\n")
    for name in os.listdir(old_raw):
        src, dst = os.path.join(old_raw, name), os.path.join(a.out, name)
        if name in ("run.jsonl", "build.json") or os.path.exists(dst):
            continue
        (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, dst)
    merged = [s for s in old_steps if s["step"] not in new_names] + steps
    merged.sort(key=lambda s: STEPS.index(s["step"]) if s["step"] in STEPS else len(STEPS))
    with open(os.path.join(a.out, "run.jsonl"), "w") as f:
        for s in merged:
            f.write(json.dumps(s) + "\n")
    return merged, run_line + ("\n" + machine_line if machine_line else "")


def cmd_report(a):
    steps = load_jsonl(os.path.join(a.out, "run.jsonl"))
    if not steps:
        raise SystemExit(f"make_report: {a.out}/run.jsonl is empty (run scripts/bench/run-all.sh)")
    build = load_jsonl(os.path.join(a.out, "build.json"))
    started = min(s["start"] for s in steps + build)
    total = max(s["end"] for s in steps) - started
    rerun = ""
    if a.merge:
        new_steps = [s["step"] for s in steps]
        steps, previous = merge_previous(a, steps)
        rerun = (f"- Re-run: {', '.join(new_steps)}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
                 f"`{a.command}` ({a.mode} mode), {total / 60:.1f} min, on {machine()}; the other steps "
                 "are from the run above, on its machine")
    # The steps' own time (the same as first start to last end when they ran in one go).
    steps_total = sum(s["end"] - s["start"] for s in steps if s["step"] not in OPTIN_STEPS)
    limit_min = 10 if a.mode == "quick" else 45
    v = versions()
    out = []
    out.append("# Benchmarks")
    out.append("")
    out.append("Generated by `scripts/bench/run-all.sh` (with `scripts/bench/make_report.py`); do not "
               "edit by hand: every table and every met / MISSED below is computed from the raw "
               "results in [bench-results/](bench-results/). Each section names the command that "
               "reproduces it. Nothing here is a timed test; CI does not run these.")
    out.append("")
    out.append("```sh")
    out.append("scripts/bench/run-all.sh            # full suite (< 45 min on 2 cores), writes this file")
    out.append("scripts/bench/run-all.sh --quick    # short runs (< 10 min)")
    out.append("scripts/bench/run-all.sh --only sampler,quality --out /tmp/bench   # some steps")
    out.append("```")
    out.append("")
    out.append("Options: `--out DIR` (raw results, fragments and logs; default `BUILD_DIR/bench-results`), "
               "`--build-dir DIR` (default `${HYPERTUNE_BUILD_DIR:-build}`, configured with LibTorch "
               "and built by run-all), `--only STEP,...`. Steps in order: "
               + ", ".join(STEPS) + "; " + ", ".join(OPTIN_STEPS) + " only when `--only` names it. "
               "With `--only` the report goes to `OUT/report/` and "
               "docs/ is left alone. A step whose script is missing or fails is reported as such "
               "and the others still run.")
    out.append("")
    if a.merge:
        out.append(previous)
        out.append(rerun)
    else:
        out.append(f"- Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
                   f"`{a.command}` ({a.mode} mode), {total / 60:.1f} min in all")
        out.append(f"- Machine: {machine()}")
    out.append("- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()))
    out.append("- The machine may be shared with other work: the load average (1 minute) at each "
               "step's start and end is in the table below; timing ratios are taken in the same "
               "run, and CPU time is given beside wall time where it matters.")
    out.append("")
    out.append("| step | started (UTC) | elapsed s | load at start | load at end | status |")
    out.append("| --- | --- | --- | --- | --- | --- |")
    for s in build + steps:
        out.append(f"| {s['step']} | {fmt_time(s['start'], a.merge)} | {s['end'] - s['start']:.0f} | "
                   f"{s['load_start']} | {s['load_end']} | {s['status']} |")
    out.append("")
    summary = []
    body = []
    for s in steps:
        path = os.path.join(a.out, f"{s['step']}.md")
        if os.path.exists(path):
            with open(path) as f:
                text = f.read().rstrip()
        else:
            text = f"## {s['step']}\n\nNo result: {s['status']}."
        body.append(text)
        body.append("")
        found = False
        for line in text.splitlines():
            m = TARGET_RE.match(line)
            if m:
                found = True
                verdict = "met" if m.group(2) == "met" else "MISSED"  # fragments may write "missed"
                summary.append((s["step"], m.group(1).strip(), verdict, m.group(3).strip(" ().")))
        if not found:
            summary.append((s["step"], "(no target set)", "-", s["status"]))
    if {s["step"] for s in steps} - set(OPTIN_STEPS) == set(STEPS):
        summary.append(("suite", f"whole {a.mode} suite under {limit_min} minutes (the steps; "
                        "building excluded)", "met" if steps_total < limit_min * 60 else "MISSED",
                        f"{steps_total / 60:.1f} min (with the build: {(steps_total + sum(b['end'] - b['start'] for b in build)) / 60:.1f} min)"))
    out.extend(body)
    out.append("## Summary of targets")
    out.append("")
    out.append("| step | target | verdict | figure |")
    out.append("| --- | --- | --- | --- |")
    for step, text, ok, detail in summary:
        shown = f"**{ok}**" if ok in ("met", "MISSED") else ok
        out.append(f"| {step} | {text} | {shown} | {detail} |")
    met = sum(1 for x in summary if x[2] == "met")
    missed = sum(1 for x in summary if x[2] == "MISSED")
    out.append("")
    out.append(f"{met} met, {missed} missed.")
    docs = a.docs
    os.makedirs(docs, exist_ok=True)
    # docs/benchmarks-changes.md (checks that a change left the runtime figures where they were,
    # scripts/bench/before_after.py) is kept by hand and appended, so a full run does not lose it.
    changes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "benchmarks-changes.md")
    if os.path.isfile(changes):
        out.append("")
        with open(changes) as f:
            out.append(f.read().rstrip("\n"))
    with open(os.path.join(docs, "benchmarks.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    # Raw results: replace docs/bench-results with everything in OUT but the fragments and logs.
    dest = os.path.join(docs, "bench-results")
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    for name in sorted(os.listdir(a.out)):
        src = os.path.join(a.out, name)
        if name in ("logs", "report") or name.endswith("_work") or name.endswith((".db", ".db-wal", ".db-shm")) or (os.path.isfile(src) and name.endswith(".md") and name[:-3] in STEPS + OPTIN_STEPS):
            continue
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dest, name),
                            ignore=shutil.ignore_patterns("*.db", "*.db-wal", "*.db-shm", "*_work"))
        else:
            shutil.copy2(src, dest)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("trial-times")
    t.add_argument("export")
    t.add_argument("--set", action="append")
    f = sub.add_parser("fragment")
    f.add_argument("step")
    f.add_argument("out")
    f.add_argument("--command", required=True)
    r = sub.add_parser("report")
    r.add_argument("out")
    r.add_argument("--command", required=True)
    r.add_argument("--mode", choices=["quick", "full"], required=True)
    r.add_argument("--docs", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs"))
    r.add_argument("--merge", action="store_true",
                   help="replace only this run's steps in the report already in --docs")
    a = ap.parse_args()
    {"trial-times": cmd_trial_times, "fragment": cmd_fragment, "report": cmd_report}[a.what](a)


if __name__ == "__main__":
    main()
