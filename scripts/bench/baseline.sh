#!/usr/bin/env bash
# The quality bar of `hypertune baseline` (docs/benchmarks.md): on letter, vehicle, churn, ames and
# ozone, a seeded 80/20 split (stratified for classes), our baseline with a 5-minute budget scored
# on the held-out 20%, beside scikit-learn 1.2 defaults on the same split.
#   scripts/bench/baseline.sh [--quick] [--out DIR] [--budget B] [--seed S] [--data DIR]
#                             [--datasets "vehicle ozone"] [--build-dir DIR]
# --quick: a 1-minute budget on vehicle and ozone (one classification, one regression set).
# Prints one line per dataset; with --out, one JSON line per dataset goes to DIR/baseline.jsonl.
# Work files go to BUILD_DIR/bench-baseline/.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
budget=""
seed=0
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
    --data) data="$2"; shift ;;
    --datasets) datasets="$2"; shift ;;
    --build-dir) build="$2"; shift ;;
    *) echo "baseline.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then
  budget="${budget:-1m}" datasets="${datasets:-vehicle ozone}"
else
  budget="${budget:-5m}" datasets="${datasets:-letter vehicle churn ames ozone}"
fi
bin="${HYPERTUNE_BIN:-$build/hypertune}"
[ -x "$bin" ] || { echo "baseline.sh: $bin not found (build target hypertune)" >&2; exit 1; }
py=/usr/bin/python3
work="$build/bench-baseline"
mkdir -p "$work"
if [ -n "$out" ]; then mkdir -p "$out"; : >"$out/baseline.jsonl"; fi

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
  secs=$(printf "%.3f" "$(echo "$(date +%s.%N) - $start" | bc)")
  ours=$("$py" "$root/scripts/bench/sklearn_baseline.py" score "$split" "$work/$d-out-$seed/predictions.csv" \
    --task "$task" | "$py" -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["score"])')
  skjson=$("$py" "$root/scripts/bench/sklearn_baseline.py" sklearn "$split" --task "$task" --seed "$seed")
  sk=$(echo "$skjson" |
    "$py" -c 'import json,sys; j=json.load(sys.stdin); print(" ".join("%10.4f" % j[k] for k in ["linear","random_forest","hist_gradient_boosting","mlp"]))')
  printf '%-8s %-14s %-6s %10s %s %8.1f\n' "$d" "$task" "$metric" "$ours" "$sk" "$secs"
  if [ -n "$out" ]; then
    echo "{\"dataset\": \"$d\", \"task\": \"$task\", \"metric\": \"$metric\", \"budget\": \"$budget\", \"seed\": $seed, \"hypertune\": $ours, \"seconds\": $secs, \"sklearn\": $skjson}" >>"$out/baseline.jsonl"
  fi
done
