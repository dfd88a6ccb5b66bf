#!/usr/bin/python3
"""Does `hypertune baseline` beat what a user would run instead? Reads OUT/automl.jsonl (written by
scripts/bench/baseline.sh: one JSON line per dataset, split and system) and prints a markdown table.

  automl_compare.py OUT/automl.jsonl [--per-split] [--alpha 0.05]
  automl_compare.py OUT/automl.jsonl --line DATASET SPLIT     (one plain line: that split's scores)

Systems: (a) scikit-learn 1.2 defaults (sklearn_linear = LogisticRegression / Ridge,
sklearn_random_forest, sklearn_hist_gradient_boosting, sklearn_mlp), (b) xgboost (XGBoost 1.7
defaults), (c) optuna_xgboost (Optuna 3.1 TPE tuning XGBoost with hypertune's wall budget), and
ours, hypertune (`hypertune baseline`). Every system is scored on the same held-out 20% of each
seeded split: accuracy for classification (higher is better), RMSE for regression (lower is better).

Per dataset: the mean over splits of each system's score; "best (a)+(b)" is the single system of
(a) and (b) with the best mean on that dataset (chosen after seeing the test scores, which favours
it slightly). Ours is compared with it and with (c) by a paired t-test over the splits both have
(scipy.stats.ttest_rel, two-sided): "better" / "worse" when p < alpha (0.05) and ours' mean is
better / worse, else "not distinguishable" (also with fewer than 2 paired splits, or identical
scores). The paired t-test and not the Wilcoxon signed-rank test: with 5 splits, the smallest
two-sided exact p-value Wilcoxon can give is 2/2^5 = 0.0625, so it cannot reach p < 0.05 however
large the differences; the t-test assumes roughly normal differences, which with 5 splits is an
assumption and not something the data can check.

Overall: each system's mean rank across datasets (rank 1 = the best mean on a dataset, over the
splits where every system has a score; ties share the mean rank), ours' mean relative score against best (a)+(b) and against (c) (score ratio
oriented so that above 1 means ours is better: ours/other for accuracy, other/ours for RMSE), and
how many datasets ours is better / worse / not distinguishable against each. The time columns:
ours' mean wall seconds and in how many splits `hypertune baseline` ended inside its window (95% of
the budget to the budget + 5 s); (c)'s mean wall seconds (tuning stops starting trials at the
budget; a trial running then finishes, and the refit comes on top).
"""
import argparse
import json
import math
import sys
from collections import defaultdict

A_SYSTEMS = ["sklearn_linear", "sklearn_random_forest", "sklearn_hist_gradient_boosting", "sklearn_mlp"]
B_SYSTEMS = ["xgboost"]
C_SYSTEM = "optuna_xgboost"
OURS = "hypertune"
ALL = A_SYSTEMS + B_SYSTEMS + [C_SYSTEM, OURS]
SHORT = {"sklearn_linear": "linear", "sklearn_random_forest": "RF", "sklearn_hist_gradient_boosting": "HGB",
         "sklearn_mlp": "MLP", "xgboost": "XGB", "optuna_xgboost": "Optuna-XGB", "hypertune": "ours"}


def load(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    sys.exit(f"automl_compare.py: {path} line {n}: {e}")
    return rows


def fmt(x, metric):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if metric == "accuracy":
        return f"{x:.4f}"
    return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.0f}"


def mean(v):
    return sum(v) / len(v) if v else None


def better(metric, x, y):
    return x > y if metric == "accuracy" else x < y


def paired(metric, ours, other, alpha):
    """ours, other: {split: score}. -> (n, p, verdict)"""
    from scipy.stats import ttest_rel
    common = sorted(set(ours) & set(other))
    n = len(common)
    if n < 2:
        return n, None, f"not distinguishable ({n} paired split{'' if n == 1 else 's'})"
    x = [ours[s] for s in common]
    y = [other[s] for s in common]
    if all(a == b for a, b in zip(x, y)):
        return n, 1.0, "not distinguishable"
    p = float(ttest_rel(x, y).pvalue)  # two-sided (the default alternative)
    if math.isnan(p):  # constant non-zero differences: the t statistic is infinite
        p = 0.0
    if p < alpha:
        return n, p, "better" if better(metric, mean(x), mean(y)) else "worse"
    return n, p, "not distinguishable"


def rel(metric, ours, other):
    if ours is None or other is None or ours == 0 or other == 0:
        return None
    return ours / other if metric == "accuracy" else other / ours


def ranks(metric, means):
    """means: {system: mean} -> {system: rank}, 1 = best, ties share the mean rank."""
    order = sorted(means, key=lambda s: -means[s] if metric == "accuracy" else means[s])
    out = {}
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and means[order[j + 1]] == means[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def pstr(p):
    if p is None:
        return "-"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def cmd_line(rows, dataset, split):
    got = {r["system"]: r for r in rows if r["dataset"] == dataset and r["split"] == split}
    if not got:
        sys.exit(f"automl_compare.py: no lines for {dataset} split {split}")
    metric = next(iter(got.values()))["metric"]
    parts = [f"{dataset:<13} split {split} {metric:<8}"]
    for s in ALL:
        if s in got:
            r = got[s]
            v = "FAILED" if r.get("score") is None else fmt(r["score"], metric)
            extra = ""
            if s in (OURS, C_SYSTEM) and r.get("seconds") is not None:
                extra = f" ({r['seconds']:.1f} s"
                if s == OURS:
                    extra += ", in window" if r.get("ended_in_window") else ", OUTSIDE window"
                else:
                    extra += f", {r.get('trials', '?')} trials"
                extra += ")"
            parts.append(f"{SHORT[s]} {v}{extra}")
    print("  ".join(parts))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("jsonl")
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--per-split", action="store_true", help="also a table of every split's scores")
    ap.add_argument("--line", nargs=2, metavar=("DATASET", "SPLIT"))
    a = ap.parse_args()
    rows = load(a.jsonl)
    if a.line:
        cmd_line(rows, a.line[0], int(a.line[1]))
        return
    if not rows:
        sys.exit(f"automl_compare.py: {a.jsonl} is empty")

    datasets = []
    for r in rows:
        if r["dataset"] not in datasets:
            datasets.append(r["dataset"])
    score = defaultdict(dict)   # (dataset, system) -> {split: score}
    info = defaultdict(dict)    # (dataset, system) -> {split: row}
    failed = defaultdict(int)
    metric_of = {}
    for r in rows:
        metric_of[r["dataset"]] = r["metric"]
        info[(r["dataset"], r["system"])][r["split"]] = r
        if r.get("score") is None:
            failed[(r["dataset"], r["system"])] += 1
        else:
            score[(r["dataset"], r["system"])][r["split"]] = float(r["score"])
    present = [s for s in ALL if any((d, s) in info for d in datasets)]
    budgets = sorted({r.get("budget") for r in rows if r["system"] in (OURS, C_SYSTEM) and r.get("budget")})
    splits = sorted({r["split"] for r in rows})

    print("### `hypertune baseline` against the alternatives\n")
    print(f"Splits: {len(splits)} seeded 80/20 splits (seeds {', '.join(map(str, splits))}; stratified for "
          f"classification); budget {', '.join(budgets) or '-'}. Mean held-out score over the splits: "
          "accuracy (higher is better) or RMSE (lower is better). p: paired t-test over the splits "
          f"(scipy.stats.ttest_rel, two-sided); verdict at p < {a.alpha:g}. Best (a)+(b): the single "
          "scikit-learn default or XGBoost default with the best mean on the dataset.\n")
    head = (["dataset", "metric", "splits"] + [SHORT[s] for s in present if s != OURS] + ["ours"] +
            ["best (a)+(b)", "p vs best", "ours vs best", "p vs Optuna-XGB", "ours vs Optuna-XGB",
             "ours s (in window)", "Optuna-XGB s"])
    print("| " + " | ".join(head) + " |")
    print("| " + " | ".join("---" for _ in head) + " |")

    tally = {"best": defaultdict(int), "optuna": defaultdict(int)}
    rank_sum, rank_n = defaultdict(float), defaultdict(int)
    rel_best, rel_c = [], []
    notes = []
    for d in datasets:
        m = metric_of[d]
        means = {s: mean(list(score[(d, s)].values())) for s in present if score[(d, s)]}
        ours = score[(d, OURS)]
        cells = [d, m, str(len({r["split"] for r in rows if r["dataset"] == d}))]
        for s in present:
            if s == OURS:
                continue
            v = fmt(means.get(s), m)
            if failed[(d, s)]:
                v += f" ({failed[(d, s)]} failed)"
            cells.append(v)
        v = fmt(means.get(OURS), m)
        if failed[(d, OURS)]:
            v += f" ({failed[(d, OURS)]} failed)"
        cells.append(v)
        ab = [s for s in A_SYSTEMS + B_SYSTEMS if s in means]
        best = None
        if ab:
            best = max(ab, key=lambda s: means[s]) if m == "accuracy" else min(ab, key=lambda s: means[s])
        if best and ours:
            n, p, verdict = paired(m, ours, score[(d, best)], a.alpha)
            cells += [f"{SHORT[best]} {fmt(means[best], m)}", pstr(p), verdict]
            tally["best"][verdict.split(" (")[0]] += 1
            r = rel(m, means[OURS], means[best])
            if r:
                rel_best.append(r)
        else:
            cells += [f"{SHORT[best]} {fmt(means[best], m)}" if best else "-", "-", "-"]
        if C_SYSTEM in means and ours:
            n, p, verdict = paired(m, ours, score[(d, C_SYSTEM)], a.alpha)
            cells += [pstr(p), verdict]
            tally["optuna"][verdict.split(" (")[0]] += 1
            r = rel(m, means[OURS], means[C_SYSTEM])
            if r:
                rel_c.append(r)
        else:
            cells += ["-", "-"]
        # The window is judged on the runs that ended normally (a failed run is listed in the notes).
        ours_rows = [r for r in info[(d, OURS)].values()
                     if r.get("seconds") is not None and r.get("score") is not None]
        if ours_rows:
            inside = sum(1 for r in ours_rows if r.get("ended_in_window"))
            cells.append(f"{mean([r['seconds'] for r in ours_rows]):.1f} ({inside}/{len(ours_rows)})")
            for r in ours_rows:
                if not r.get("ended_in_window"):
                    notes.append(f"{d} split {r['split']}: hypertune ended after {r['seconds']:.2f} s, outside "
                                 f"[{0.95 * r['budget_s']:.1f}, {r['budget_s'] + 5:.1f}] s")
        else:
            cells.append("-")
        c_rows = [r for r in info[(d, C_SYSTEM)].values() if r.get("seconds") is not None]
        cells.append(f"{mean([r['seconds'] for r in c_rows]):.1f}" if c_rows else "-")
        for s in present:
            for r in info[(d, s)].values():
                if r.get("error"):
                    notes.append(f"{d} split {r['split']}: {s} failed: {r['error']}")
        print("| " + " | ".join(cells) + " |")
        # Ranks over the systems with a mean on this dataset, on the splits where all of them have a
        # score (a system that failed on a split would otherwise be averaged over other splits).
        common = set.intersection(*(set(score[(d, s)]) for s in means)) if means else set()
        rmeans = {s: mean([score[(d, s)][sp] for sp in common]) for s in means} if common else means
        for s, k in ranks(m, rmeans).items():
            rank_sum[s] += k
            rank_n[s] += 1

    print()
    ranked = sorted(rank_sum, key=lambda s: rank_sum[s] / rank_n[s])
    print("Overall: mean rank across datasets (1 = best mean on a dataset, of the systems run there): " +
          ", ".join(f"{SHORT[s]} {rank_sum[s] / rank_n[s]:.2f} ({rank_n[s]} datasets)" for s in ranked) + ".")
    for key, label, relv in (("best", "the best of (a)+(b)", rel_best), ("optuna", "Optuna-XGB (c)", rel_c)):
        t = tally[key]
        n = sum(t.values())
        if not n:
            continue
        geo = math.exp(mean([math.log(x) for x in relv])) if relv else None
        relative = (f"; mean relative score {geo:.4f} (geometric mean over datasets of ours/other for "
                    "accuracy, other/ours for RMSE; > 1: ours better)") if geo else ""
        print(f"Ours against {label}: better on {t['better']} of {n} datasets, worse on {t['worse']}, "
              f"not distinguishable on {t['not distinguishable']} (p < {a.alpha:g}){relative}.")
    if notes:
        print()
        print("Notes:")
        for n in notes:
            print(f"- {n}")

    if a.per_split:
        print()
        print("Per split:\n")
        head = ["dataset", "split"] + [SHORT[s] for s in present]
        print("| " + " | ".join(head) + " |")
        print("| " + " | ".join("---" for _ in head) + " |")
        for d in datasets:
            for sp in sorted({r["split"] for r in rows if r["dataset"] == d}):
                cells = [d, str(sp)]
                for s in present:
                    r = info[(d, s)].get(sp)
                    cells.append("-" if r is None else "FAILED" if r.get("score") is None
                                 else fmt(r["score"], metric_of[d]))
                print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
