#!/usr/bin/env bash
# Does `hypertune baseline` beat what users would run instead (docs/benchmarks.md)? For each
# dataset and each of N seeded 80/20 splits (split seeds S..S+N-1, stratified for classes), on the
# same split:
#   sklearn    scikit-learn 1.2 defaults: LogisticRegression / Ridge, RandomForest,
#              HistGradientBoosting, MLP (scripts/bench/sklearn_baseline.py sklearn)
#   xgboost    XGBoost 1.7 defaults, n_jobs=2, on the same one-hot preprocessing (... xgboost)
#   optuna     Optuna 3.1 TPE tuning XGBoost for the same wall budget, 2 cores (... optuna)
#   hypertune  hypertune baseline --workers 2 --time-budget B --seed SPLIT, scored on the held-out
#              20% from its predictions.csv; its wall time must fall in [0.95 B, B + 5 s]
# all scored on the held-out 20%: accuracy for classification, RMSE for regression.
#
#   scripts/bench/baseline.sh [--quick] [--out DIR] [--budget B] [--seed S] [--splits N]
#                             [--systems "sklearn xgboost optuna hypertune"] [--data DIR]
#                             [--datasets "vehicle ozone"] [--build-dir DIR] [--hypertune-args "..."]
#                             [--optuna-hard-stop]
#
# --budget: hypertune's --time-budget and Optuna's (90s, 5m, 1h30m or seconds; default 5m).
# --seed: the first split seed (default 0). --splits: how many splits (default 5).
# --systems: which systems to run (default all four). --hypertune-args: more options for
# `hypertune baseline` (split on spaces; e.g. "--refit"), recorded in each hypertune line.
# --optuna-hard-stop: Optuna also stops the trial still training at the budget (by default it only
# stops starting trials then, and the last trial may run well past it; its wall time is recorded).
# --data: the directory of letter, vehicle, churn, ames and ozone.csv (default ../shared/data);
# breast_cancer, wine, digits (classification) and diabetes (regression) are the CSVs bundled with
# scikit-learn, written into the work dir.
# Default datasets: letter vehicle churn ames ozone breast_cancer wine digits diabetes.
# Cost: hypertune and Optuna each take the budget per split, one after the other: the defaults
# (9 datasets, 5 splits, 5m) run about 8 hours; --quick about 5 minutes. Run it on an otherwise
# idle machine: XGBoost with 2 threads on 2 busy cores slows down many times over.
# --quick: a small run: a 1-minute budget, one split, on vehicle and ozone (one classification,
# one regression set); --budget, --splits, --systems and --datasets still apply.
#
# Prints one line per dataset and split, then the comparison table of
# scripts/bench/automl_compare.py (also written to DIR/automl.md with --out).
# Results: one JSON line per (dataset, split, system) in DIR/automl.jsonl (BUILD_DIR/bench-baseline/
# without --out); with --out and both sklearn and hypertune run, DIR/baseline.jsonl has one line per
# dataset for the first split (seed S) in the format scripts/bench/make_report.py reads (as before).
# Work files (splits, hypertune's output directories and logs) go to BUILD_DIR/bench-baseline/.
# Exits 1 when a system failed somewhere (after running everything else); a hypertune run ending
# outside its window is recorded (ended_in_window: false), not a failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
budget=""
seed=0
splits=""
systems="sklearn xgboost optuna hypertune"
htargs=""
hard=()
data="$root/../shared/data"
datasets=""
quick=0
out=""
build="${HYPERTUNE_BUILD_DIR:-$root/build}"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --out) out="$2"; shift ;;
    --budget) budget="$2"; shift ;;
    --seed) seed="$2"; shift ;;
    --splits) splits="$2"; shift ;;
    --systems) systems="$2"; shift ;;
    --hypertune-args) htargs="$2"; shift ;;
    --optuna-hard-stop) hard=(--hard-stop) ;;
    --data) data="$2"; shift ;;
    --datasets) datasets="$2"; shift ;;
    --build-dir) build="$2"; shift ;;
    *) echo "baseline.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  budget="${budget:-1m}" datasets="${datasets:-vehicle ozone}" splits="${splits:-1}"
else
  budget="${budget:-5m}" splits="${splits:-5}"
  datasets="${datasets:-letter vehicle churn ames ozone breast_cancer wine digits diabetes}"
fi
[[ $splits =~ ^[1-9][0-9]*$ ]] || { echo "baseline.sh: --splits must be a positive integer" >&2; exit 2; }
[[ $seed =~ ^[0-9]+$ ]] || { echo "baseline.sh: --seed must be a non-negative integer" >&2; exit 2; }
for s in $systems; do
  case "$s" in sklearn | xgboost | optuna | hypertune) ;;
    *) echo "baseline.sh: --systems: unknown system '$s' (sklearn xgboost optuna hypertune)" >&2; exit 2 ;;
  esac
done
has() { [[ " $systems " == *" $1 "* ]]; }
py=/usr/bin/python3
bench="$root/scripts/bench"
# Refuses a budget the scripts cannot read before anything runs.
"$py" -c 'import sys; sys.path.insert(0, sys.argv[1]); import sklearn_baseline as b; b.parse_duration(sys.argv[2])' \
  "$bench" "$budget"
if has hypertune; then
  bin="${HYPERTUNE_BIN:-$build/hypertune}"
  [ -x "$bin" ] || { echo "baseline.sh: $bin not found (build target hypertune)" >&2; exit 1; }
fi
need=(sklearn scipy)
has xgboost || has optuna && need+=(xgboost)
has optuna && need+=(optuna)
for m in "${need[@]}"; do
  "$py" -c "import $m" 2>/dev/null ||
    { echo "baseline.sh: $py cannot import $m (apt-get install -y python3-xgboost python3-optuna)" >&2; exit 1; }
done
work="$build/bench-baseline"
mkdir -p "$work"
results="${out:-$work}"
mkdir -p "$results"
jsonl="$results/automl.jsonl"
: >"$jsonl"
if [ -n "$out" ]; then : >"$out/baseline.jsonl"; fi

task_of() {
  case "$1" in ames | ozone | diabetes) echo regression ;; *) echo classification ;; esac
}
csv_of() {
  case "$1" in
    breast_cancer | wine | digits | diabetes)
      [ -s "$work/data/$1.csv" ] || "$py" "$bench/sklearn_baseline.py" dataset "$1" "$work/data/$1.csv"
      echo "$work/data/$1.csv" ;;
    *) echo "$data/$1.csv" ;;
  esac
}

echo "baseline.sh: datasets: $datasets; splits: $splits (seeds $seed..$((seed + splits - 1))); budget $budget;" \
  "systems: $systems; results: $jsonl"
failures=0
for d in $datasets; do
  task="$(task_of "$d")"
  metric=accuracy; [ "$task" = regression ] && metric=rmse
  csv="$(csv_of "$d")"
  [ -f "$csv" ] || { echo "baseline.sh: $csv not found" >&2; exit 1; }
  for ((sp = seed; sp < seed + splits; sp++)); do
    split="$work/$d-split-$sp"
    htout="$work/$d-out-$sp"
    rm -rf "$split" "$htout"
    "$py" "$bench/sklearn_baseline.py" split "$csv" "$split" --task "$task" --seed "$sp"
    rec=(--task "$task" --seed "$sp" --record "$jsonl" --dataset "$d")
    ours="" secs="" skjson=""
    if has hypertune; then
      start=$(date +%s.%N)
      rc=0
      "$bin" baseline --train "$split/train.csv" --target target --test "$split/test.csv" --task "$task" \
        --metric "$metric" --time-budget "$budget" --workers 2 --seed "$sp" --out "$htout" $htargs \
        >"$work/$d-out-$sp.log" 2>&1 || rc=$?
      secs=$(printf "%.3f" "$(echo "$(date +%s.%N) - $start" | bc)")
      if [ "$rc" != 0 ]; then
        echo "baseline.sh: $d split $sp: hypertune baseline exited $rc; its log's end ($work/$d-out-$sp.log):" >&2
        tail -5 "$work/$d-out-$sp.log" >&2
      fi
      if ourjson=$("$py" "$bench/sklearn_baseline.py" score "$split" "$htout/predictions.csv" "${rec[@]}" \
        --budget "$budget" --seconds "$secs" --exit-code "$rc" --log "$work/$d-out-$sp.log" --args="$htargs"); then
        ours=$(echo "$ourjson" | "$py" -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["score"])')
      else
        failures=$((failures + 1))
      fi
    fi
    if has sklearn; then
      skjson=$("$py" "$bench/sklearn_baseline.py" sklearn "$split" "${rec[@]}") || failures=$((failures + 1))
    fi
    if has xgboost; then
      "$py" "$bench/sklearn_baseline.py" xgboost "$split" "${rec[@]}" >/dev/null || failures=$((failures + 1))
    fi
    if has optuna; then
      "$py" "$bench/sklearn_baseline.py" optuna "$split" "${rec[@]}" --budget "$budget" "${hard[@]}" >/dev/null ||
        failures=$((failures + 1))
    fi
    "$py" "$bench/automl_compare.py" "$jsonl" --line "$d" "$sp" || true
    # The first split in the line format make_report.py reads (one line per dataset, as before).
    if [ -n "$out" ] && [ "$sp" = "$seed" ] && [ -n "$ours" ] && [[ $skjson == "{"* ]] && [[ $skjson != *null* ]]; then
      echo "{\"dataset\": \"$d\", \"task\": \"$task\", \"metric\": \"$metric\", \"budget\": \"$budget\", \"seed\": $sp, \"hypertune\": $ours, \"seconds\": $secs, \"sklearn\": $skjson, \"splits\": $splits}" >>"$out/baseline.jsonl"
    fi
  done
done
echo
if [ -n "$out" ]; then
  "$py" "$bench/automl_compare.py" "$jsonl" --per-split | tee "$out/automl.md"
else
  "$py" "$bench/automl_compare.py" "$jsonl" --per-split
fi
if [ "$failures" != 0 ]; then
  echo "baseline.sh: $failures system run(s) failed (score null and error in $jsonl)" >&2
  exit 1
fi
