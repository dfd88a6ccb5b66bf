#!/usr/bin/env python3
"""Better / worse / not distinguishable, per problem and budget, for the quality benchmark.

  /usr/bin/python3 scripts/bench/significance.py RESULTS.jsonl [MORE.jsonl ...] \
      --a gp --b tpe-univariate [--impl-a hypertune --impl-b hypertune] [--alpha 0.05]

Reads the "quality" lines of bench/sampler_bench.cpp (or scripts/bench/optuna_sampler.py), pairs
sampler A with sampler B on every (problem, budget) cell that both ran, and tests the regrets over
seeds with one-sided Mann-Whitney U tests in both directions (A lower, A higher). The 2 x cells
p-values of the table are corrected together with Holm's step-down method; a cell is "better"
(A's regret lower) or "worse" when its corrected p-value is below alpha, else "n.d.". Prints a
markdown table with the medians [quartiles] beside the verdicts.
"""

import argparse
import collections
import json
import statistics
import sys

from scipy.stats import mannwhitneyu


def quartiles(v):
    q = statistics.quantiles(v, n=4, method="inclusive")
    return q[0], statistics.median(v), q[2]


def holm(pvalues):
    """Holm-adjusted p-values, in the input order."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--impl-a", default="hypertune")
    ap.add_argument("--impl-b", default="hypertune")
    ap.add_argument("--alpha", type=float, default=0.05)
    args = ap.parse_args()

    regrets = collections.defaultdict(dict)  # (impl, sampler, problem, budget) -> {seed: regret}
    for path in args.files:
        with open(path) as f:
            for line in f:
                if not line.startswith("{"):
                    continue
                r = json.loads(line)
                if r.get("kind") != "quality":
                    continue
                regrets[(r["impl"], r["sampler"], r["problem"], r["budget"])][r["seed"]] = r["regret"]

    cells = []
    for (impl, sampler, problem, budget), a in sorted(regrets.items()):
        if impl != args.impl_a or sampler != args.a:
            continue
        b = regrets.get((args.impl_b, args.b, problem, budget))
        if not b:
            continue
        seeds = sorted(set(a) & set(b))
        if len(seeds) < 3:
            continue
        va, vb = [a[s] for s in seeds], [b[s] for s in seeds]
        p_lower = mannwhitneyu(va, vb, alternative="less").pvalue
        p_higher = mannwhitneyu(va, vb, alternative="greater").pvalue
        cells.append((problem, budget, len(seeds), va, vb, p_lower, p_higher))
    if not cells:
        sys.exit("significance.py: no cell has both samplers")

    adjusted = holm([c[5] for c in cells] + [c[6] for c in cells])
    n = len(cells)
    name_a = f"{args.impl_a} {args.a}"
    name_b = f"{args.impl_b} {args.b}"
    print(f"| problem | trials | seeds | {name_a} | {name_b} | Holm p (A lower) | Holm p (A higher) | A is |")
    print("|---|---|---|---|---|---|---|---|")
    tally = collections.Counter()
    for k, (problem, budget, seeds, va, vb, _, _) in enumerate(cells):
        pl, ph = adjusted[k], adjusted[n + k]
        verdict = "better" if pl < args.alpha else "worse" if ph < args.alpha else "n.d."
        tally[verdict] += 1
        qa, qb = quartiles(va), quartiles(vb)
        print(f"| {problem} | {budget} | {seeds} | {qa[1]:.4g} [{qa[0]:.3g}, {qa[2]:.3g}] "
              f"| {qb[1]:.4g} [{qb[0]:.3g}, {qb[2]:.3g}] | {pl:.3g} | {ph:.3g} | {verdict} |")
    print()
    print(f"{name_a} against {name_b}: better in {tally['better']}, worse in {tally['worse']}, "
          f"not distinguishable in {tally['n.d.']} of {n} cells (one-sided Mann-Whitney U, "
          f"Holm over {2 * n} tests, alpha {args.alpha}).")


if __name__ == "__main__":
    main()
