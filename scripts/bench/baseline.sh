#!/usr/bin/env bash
# The quality bar of `hypertune baseline` (docs/benchmarks.md): on letter, vehicle, churn, ames and
# ozone, a seeded 80/20 split (stratified for classes), our baseline with a 5-minute budget (1 minute
# with --quick) scored on the held-out 20%, beside scikit-learn 1.2 defaults on the same split.
#   scripts/bench/baseline.sh [--quick] [--seed S] [--data DIR] [--datasets "vehicle ozone"]
# Prints one line per dataset; work files go to build/bench-baseline/.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
budget=5m
seed=0
data="$root/../shared/data"
datasets="letter vehicle churn ames ozone"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) budget=1m ;;
    --seed) seed="$2"; shift ;;
    --data) data="$2"; shift ;;
    --datasets) datasets="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
bin="${HYPERTUNE_BIN:-$root/build/hypertune}"
py=/usr/bin/python3
work="$root/build/bench-baseline"
mkdir -p "$work"

task_of() {
  case "$1" in ames|ozone) echo regression ;; *) echo classification ;; esac
}

printf '%-8s %-14s %-6s %10s %10s %10s %10s %10s %8s\n' dataset task metric hypertune linear forest hgb mlp seconds
for d in $datasets; do
  task="$(task_of "$d")"
  metric=accuracy; [ "$task" = regression ] && metric=rmse
  split="$work/$d-split-$seed"
  rm -rf "$split" "$work/$d-out-$seed"
  "$py" "$root/scripts/bench/sklearn_baseline.py" split "$data/$d.csv" "$split" --task "$task" --seed "$seed"
  start=$(date +%s.%N)
  "$bin" baseline --train "$split/train.csv" --target target --test "$split/test.csv" --task "$task" \
    --metric "$metric" --time-budget "$budget" --seed "$seed" --out "$work/$d-out-$seed" -q
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  ours=$("$py" "$root/scripts/bench/sklearn_baseline.py" score "$split" "$work/$d-out-$seed/predictions.csv" \
    --task "$task" | "$py" -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["score"])')
  sk=$("$py" "$root/scripts/bench/sklearn_baseline.py" sklearn "$split" --task "$task" --seed "$seed" |
    "$py" -c 'import json,sys; j=json.load(sys.stdin); print(" ".join("%10.4f" % j[k] for k in ["linear","random_forest","hist_gradient_boosting","mlp"]))')
  printf '%-8s %-14s %-6s %10s %s %8.1f\n' "$d" "$task" "$metric" "$ours" "$sk" "$secs"
done
