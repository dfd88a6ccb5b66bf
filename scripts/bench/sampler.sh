#!/usr/bin/env bash
# Sampler benchmark, HyperTune against Optuna 3.1, side by side:
#  * ask+tell time per trial of TPE (univariate and multivariate) on a fixed 7-parameter mixed
#    space, for studies of 100 / 1,000 / 10,000 trials (Optuna: 100 / 1,000; 10,000 would take it
#    hours), median of several runs, wall and CPU time;
#  * search quality: median regret after 50 / 100 / 200 trials over seeds on branin, hartmann6,
#    rosenbrock-4d, ackley-5d and a mixed conditional space (TPE both ways, random search).
# Raw JSON lines and a summary land in OUT_DIR; the markdown tables go to stdout.
#
#   scripts/bench/sampler.sh OUT_DIR [--quick] [--runs N] [--seeds N] [--build-dir DIR]
#
# --quick: sizes 100 and 1,000, one timing run, 3 seeds. Defaults: 3 runs, 10 seeds, build dir
# build/ (or $HYPERTUNE_BUILD_DIR; configured without LibTorch if it does not exist yet).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
python=/usr/bin/python3
out=""
quick=0
runs=""
seeds=""
build=${HYPERTUNE_BUILD_DIR:-$root/build}

usage() {
  echo "usage: scripts/bench/sampler.sh OUT_DIR [--quick] [--runs N] [--seeds N] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --runs) [[ $# -ge 2 ]] || usage; runs=$2; shift ;;
    --seeds) [[ $# -ge 2 ]] || usage; seeds=$2; shift ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "sampler.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
for n in "$runs" "$seeds"; do
  if [[ -n $n && ! $n =~ ^[1-9][0-9]*$ ]]; then
    echo "sampler.sh: --runs and --seeds take a positive integer, got '$n'" >&2
    exit 2
  fi
done
if [[ $quick == 1 ]]; then
  runs=${runs:-1} seeds=${seeds:-3} sizes=100,1000
else
  runs=${runs:-3} seeds=${seeds:-10} sizes=100,1000,10000
fi
if ! $python -c 'import optuna' 2>/dev/null; then
  echo "sampler.sh: $python cannot import optuna (scripts/install-deps.sh installs python3-optuna)" >&2
  exit 1
fi

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHYPERTUNE_WITH_TORCH=OFF >/dev/null
fi
cmake --build "$build" --target hypertune_sampler_bench -j"${HYPERTUNE_JOBS:-$(nproc)}" >/dev/null
bench=$build/bench/hypertune_sampler_bench

mkdir -p "$out"
: >"$out/hypertune_timing.jsonl"
: >"$out/optuna_timing.jsonl"
for ((r = 1; r <= runs; r++)); do
  echo "sampler.sh: timing run $r of $runs" >&2
  "$bench" --timing --sizes "$sizes" >>"$out/hypertune_timing.jsonl"
  $python "$root/scripts/bench/optuna_sampler.py" --timing --sizes 100,1000 >>"$out/optuna_timing.jsonl"
done
echo "sampler.sh: quality, $seeds seeds" >&2
"$bench" --quality --seeds "$seeds" >"$out/hypertune_quality.jsonl"
$python "$root/scripts/bench/optuna_sampler.py" --quality --seeds "$seeds" >"$out/optuna_quality.jsonl"

OUT=$out RUNS=$runs $python - <<'PY'
import json, os, statistics

out = os.environ["OUT"]
def load(name):
    with open(os.path.join(out, name)) as f:
        return [json.loads(line) for line in f if line.strip()]

timing = load("hypertune_timing.jsonl") + load("optuna_timing.jsonl")
quality = load("hypertune_quality.jsonl") + load("optuna_quality.jsonl")

keys = ("ms_per_trial", "cpu_ms_per_trial", "ms_per_trial_last10pct", "cpu_ms_per_trial_last10pct")
cells = {}
for row in timing:
    cells.setdefault((row["impl"], row["mode"], row["n_trials"]), []).append(row)
med = {k: {key: statistics.median(r[key] for r in rows) for key in keys} for k, rows in cells.items()}

lines = []
lines.append("### TPE ask+tell time per trial (medians of %s runs)" % os.environ["RUNS"])
lines.append("")
lines.append("| mode | trials | HyperTune ms/trial (wall / cpu) | Optuna 3.1 ms/trial (wall / cpu) "
             "| speed-up (wall / cpu) | last 10%: HyperTune / Optuna cpu ms | speed-up last 10% |")
lines.append("| --- | --- | --- | --- | --- | --- | --- |")
summary = {"timing": [], "quality": []}
for mode in ("univariate", "multivariate"):
    for n in sorted({k[2] for k in med if k[1] == mode}):
        h, o = med.get(("hypertune", mode, n)), med.get(("optuna", mode, n))
        if h is None:
            continue
        row = {"mode": mode, "n_trials": n, "hypertune": h, "optuna": o}
        if o:
            row["speedup_wall"] = o["ms_per_trial"] / h["ms_per_trial"]
            row["speedup_cpu"] = o["cpu_ms_per_trial"] / h["cpu_ms_per_trial"]
            row["speedup_cpu_last10pct"] = o["cpu_ms_per_trial_last10pct"] / h["cpu_ms_per_trial_last10pct"]
            lines.append(
                f"| {mode} | {n} | {h['ms_per_trial']:.3f} / {h['cpu_ms_per_trial']:.3f} "
                f"| {o['ms_per_trial']:.1f} / {o['cpu_ms_per_trial']:.1f} "
                f"| {row['speedup_wall']:.0f}x / {row['speedup_cpu']:.0f}x "
                f"| {h['cpu_ms_per_trial_last10pct']:.3f} / {o['cpu_ms_per_trial_last10pct']:.1f} "
                f"| {row['speedup_cpu_last10pct']:.0f}x |")
        else:
            lines.append(
                f"| {mode} | {n} | {h['ms_per_trial']:.3f} / {h['cpu_ms_per_trial']:.3f} | not run | "
                f"| {h['cpu_ms_per_trial_last10pct']:.3f} / - | |")
        summary["timing"].append(row)

lines.append("")
lines.append("ms/trial: the whole study's time divided by its trials; last 10%: the cost per trial over "
             "the study's last tenth, i.e. at its full size. CPU time is the process's; on a shared "
             "machine it is the steadier number.")
lines.append("")
q = {(r["impl"], r["sampler"], r["problem"], r["budget"]): r for r in quality}
samplers = ("tpe-univariate", "tpe-multivariate", "random")
seeds = quality[0]["seeds"] if quality else 0
lines.append(f"### Median regret (best value - optimum) over {seeds} seeds: HyperTune / Optuna 3.1")
lines.append("")
lines.append("| problem | trials | " + " | ".join(samplers) + " |")
lines.append("| --- | --- | " + " | ".join("---" for _ in samplers) + " |")
problems = []
for r in quality:
    if r["problem"] not in problems:
        problems.append(r["problem"])
for problem in problems:
    for budget in sorted({r["budget"] for r in quality if r["problem"] == problem}):
        cellv = []
        for s in samplers:
            h, o = q.get(("hypertune", s, problem, budget)), q.get(("optuna", s, problem, budget))
            cellv.append(f"{h['median_regret']:.4g} / {o['median_regret']:.4g}" if h and o else "-")
            summary["quality"].append({"problem": problem, "budget": budget, "sampler": s,
                                       "hypertune": h and h["median_regret"],
                                       "optuna": o and o["median_regret"]})
        lines.append(f"| {problem} | {budget} | " + " | ".join(cellv) + " |")

text = "\n".join(lines)
print(text)
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write(text + "\n")
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)
PY
