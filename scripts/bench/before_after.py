#!/usr/bin/env python3
"""The runtime figures of docs/benchmarks.md (sampler ask+tell cost, dispatch throughput, whole
`hypertune run` wall time) for two builds side by side, runs alternating A, B, A, B, ... on the
same machine, so that a change can be shown to leave them within the range of the runs before it.

  /usr/bin/python3 scripts/bench/before_after.py --before DIR_A --after DIR_B [--runs 3] [--out DIR]

DIR_A and DIR_B are build directories with hypertune, bench/hypertune_sampler_bench and
bench/hypertune_dispatch_bench built (scripts/bench/dispatch.sh configures such a build). Prints
a markdown table: median [min-max] over the runs for each build, and whether the 'after' median
lies within the 'before' runs' min-max range. Raw results go to DIR/before_after.jsonl.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_wall import run_hypertune  # noqa: E402


def lines(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def one_run(build, workdir):
    """Every figure once for one build: {figure name: (value, unit, higher_is_better)}."""
    res = {}
    sampler = os.path.join(build, "bench", "hypertune_sampler_bench")
    for row in lines([sampler, "--timing", "--sizes", "100,1000,10000", "--asks", "20",
                      "--modes", "univariate,multivariate"]):
        res[f"sampler {row['mode']} at {row['n_trials']:,} trials, ms/trial wall"] = (
            row["ms_per_trial"], False)
    dispatch = os.path.join(build, "bench", "hypertune_dispatch_bench")
    for extra in (["--workers", "1,8,64"], ["--workers", "1", "--prefetch", "4"]):
        for row in lines([dispatch, "--trials", "10000", "--durability", "normal", "--kind", "both",
                          "--json"] + extra):
            res[f"dispatch {row['kind']}, {row['workers']} workers, prefetch {row['prefetch']}, trials/s"] = (
                row["trials_per_s"], True)
    binary = os.path.join(build, "hypertune")
    wall, _ = run_hypertune(binary, 1000, 1, False, workdir)
    res["run_wall 1,000 trials (univariate TPE, SQLite), s"] = (wall, False)
    wall, _ = run_hypertune(binary, 10000, 1, False, workdir)
    res["run_wall 10,000 trials (univariate TPE, SQLite), s"] = (wall, False)
    return res


def fmt(values):
    return f"{statistics.median(values):.4g} [{min(values):.4g}-{max(values):.4g}]"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="hypertune-before-after-")
    os.makedirs(out, exist_ok=True)
    runs = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as work, open(os.path.join(out, "before_after.jsonl"), "w") as raw:
        for r in range(args.runs):
            for side in ("before", "after"):
                print(f"before_after.py: run {r + 1} of {args.runs}, {side}", file=sys.stderr)
                res = one_run(getattr(args, side), work)
                runs[side].append(res)
                raw.write(json.dumps({"run": r + 1, "side": side,
                                      "figures": {k: v[0] for k, v in res.items()}}) + "\n")
                raw.flush()
    print("| figure | before: median [min-max] | after: median [min-max] | after median within before's range |")
    print("| --- | --- | --- | --- |")
    for name in runs["before"][0]:
        b = [x[name][0] for x in runs["before"]]
        a = [x[name][0] for x in runs["after"]]
        higher = runs["before"][0][name][1]
        med = statistics.median(a)
        within = min(b) <= med <= max(b)
        verdict = "yes" if within else ("better" if (med > max(b)) == higher else "NO (worse)")
        print(f"| {name} | {fmt(b)} | {fmt(a)} | {verdict} |")


if __name__ == "__main__":
    main()
