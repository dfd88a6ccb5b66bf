#!/usr/bin/env bash
# The AutoML comparison (issue bar: "an AutoML baseline that beats tuned XGBoost"): on each dataset
# and 5 seeded 80/20 splits, `hypertune baseline` (2 workers) against scikit-learn 1.2 defaults,
# XGBoost 1.7 defaults and Optuna 3.1 TPE tuning XGBoost with the same wall budget (stopped at it)
# and 2 cores, all scored on the same held-out 20% (scripts/bench/baseline.sh), with paired t-tests
# over the splits (scripts/bench/automl_compare.py). Writes OUT_DIR/automl/ (raw results) and the
# report fragment OUT_DIR/automl.md.
#
#   scripts/bench/automl.sh OUT_DIR [--quick] [--build-dir DIR]
#
# Full: a 60 s budget, 5 splits, vehicle churn ames ozone breast_cancer (about 55 minutes on 2
# cores: each split runs hypertune and Optuna for the budget, one after the other). --quick: 20 s,
# 2 splits, vehicle and ozone. Not part of run-all's default suite (it would double it): run it
# with `scripts/bench/run-all.sh --only automl --merge`.
# AUTOML_REUSE=FILE: render the fragment from the automl.jsonl of a finished run of the same
# settings instead of running it again (the fragment says so, with AUTOML_REUSE_NOTE: when, where,
# which commit).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="" quick=0
build=${HYPERTUNE_BUILD_DIR:-$root/build}
usage() { echo "usage: scripts/bench/automl.sh OUT_DIR [--quick] [--build-dir DIR]" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "automl.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
mkdir -p "$out/automl"
out=$(cd "$out" && pwd)
if [[ $quick == 1 ]]; then
  budget=20s splits=2 datasets="vehicle ozone"
else
  budget=60s splits=5 datasets="vehicle churn ames ozone breast_cancer"
fi
cmd="scripts/bench/baseline.sh --budget $budget --splits $splits --datasets \"$datasets\" --optuna-hard-stop --out OUT_DIR/automl"
reused=""
if [[ -n ${AUTOML_REUSE:-} ]]; then
  cp "$AUTOML_REUSE" "$out/automl/automl.jsonl"
  reused="$AUTOML_REUSE"
else
  rc=0
  "$root/scripts/bench/baseline.sh" --budget "$budget" --splits "$splits" --datasets "$datasets" --optuna-hard-stop \
    --out "$out/automl" --build-dir "$build" || rc=$?
  [[ -s $out/automl/automl.jsonl ]] || exit "${rc:-1}"
fi
table=$(/usr/bin/python3 "$root/scripts/bench/automl_compare.py" "$out/automl/automl.jsonl")
/usr/bin/python3 - "$out" "$cmd" "$budget" "$splits" "$reused" "$table" "${AUTOML_REUSE_NOTE:-}" <<'PY'
import json, sys
out, cmd, budget, splits, reused, table, note = sys.argv[1:8]
rows = [json.loads(l) for l in open(f"{out}/automl/automl.jsonl")]
ours = [r for r in rows if r.get("system") == "hypertune"]
inside = sum(1 for r in ours if r.get("ended_in_window"))
L = ["## AutoML: `hypertune baseline` against XGBoost, Optuna-tuned XGBoost and scikit-learn", "",
     f"Command: `scripts/bench/automl.sh OUT_DIR` (that is, `{cmd}`)" +
     (f"; this section was rendered from the results of a finished run of it (`AUTOML_REUSE={reused}`"
      + (f": {note}" if note else "") + ")" if reused else "") + ".",
     "",
     f"For each dataset, {splits} seeded 80/20 splits (split seeds 0..{int(splits) - 1}, stratified for classes); on each "
     f"split: `hypertune baseline --time-budget {budget} --workers 2 --seed SPLIT`; scikit-learn 1.2 defaults "
     "(LogisticRegression / Ridge, RandomForest, HistGradientBoosting, MLP, in a pipeline of median imputation, "
     "scaling and one-hot encoding); XGBoost 1.7 defaults (n_jobs 2, the same preprocessing); Optuna 3.1 TPE "
     f"tuning XGBoost for the same {budget} with 2 cores (stopped at the budget, then refit on the whole training "
     "part). All are scored on the held-out 20%: accuracy (higher is better) or RMSE (lower is better). "
     "The tests are paired t-tests over the splits, two-sided (with 5 splits a Wilcoxon signed-rank test cannot "
     "reach p < 0.05); \"best (a)+(b)\" is the scikit-learn or XGBoost default with the best mean on that dataset, "
     "chosen after seeing the test scores (which favours it).", "",
     table.rstrip(), ""]
# Targets, computed from the table's verdicts.
verdict_vs_best, verdict_vs_optuna = {}, {}
head = None
for line in table.splitlines():
    if not line.startswith("|"):
        continue
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if cells[0] == "dataset":
        head = cells
    elif head and cells[0] != "---" and len(cells) == len(head):
        if "ours vs best" in head:
            verdict_vs_best[cells[0]] = cells[head.index("ours vs best")]
        if "ours vs Optuna-XGB" in head:
            verdict_vs_optuna[cells[0]] = cells[head.index("ours vs Optuna-XGB")]
worse = [d for d, v in verdict_vs_best.items() if v.startswith("worse")]
beats_optuna = [d for d, v in verdict_vs_optuna.items() if v.startswith("better")]
not_worse_optuna = [d for d, v in verdict_vs_optuna.items() if not v.startswith("worse")]
L.append("Targets (computed from the table):")
L.append("")
L.append(f"- on no dataset significantly worse than the best scikit-learn / XGBoost default: "
         f"{'**met**' if verdict_vs_best and not worse else '**MISSED**'} "
         f"({len(worse)} of {len(verdict_vs_best)} worse{': ' + ', '.join(worse) if worse else ''})")
L.append(f"- better than Optuna-tuned XGBoost on most datasets: "
         f"{'**met**' if len(beats_optuna) * 2 > len(verdict_vs_optuna) else '**MISSED**'} "
         f"(better on {len(beats_optuna)}, not worse on {len(not_worse_optuna)} of {len(verdict_vs_optuna)})")
L.append(f"- every run ends between 95% of the budget and the budget + 5 s: "
         f"{'**met**' if ours and inside == len(ours) else '**MISSED**'} ({inside} of {len(ours)} runs)")
open(f"{out}/automl.md", "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
