#!/usr/bin/env bash
# Sampler benchmark, HyperTune against Optuna 3.1, side by side (raw JSON lines into OUT_DIR;
# scripts/bench/make_report.py turns them into tables):
#  * timing: the cost of one TPE ask+tell (univariate and multivariate) AT a study size of 100 /
#    1,000 / 10,000 finished trials, on a fixed 7-parameter mixed space. Both sides first load n
#    random finished trials into the study (Optuna: `create_trial` + `study.add_trials`), then time
#    the next asks one by one; whole 10,000-trial Optuna studies would take hours.
#    -> OUT_DIR/{hypertune,optuna}_timing.jsonl
#  * quality: best value after 50 / 100 / 200 trials for every seed on branin, hartmann6,
#    rosenbrock-4d, ackley-5d and a mixed conditional space; HyperTune TPE (both modes) and random,
#    Optuna TPE and random (Optuna's seeds split over two processes: quality only, not timed).
#    -> OUT_DIR/{hypertune,optuna}_quality.jsonl
#
#   scripts/bench/sampler.sh OUT_DIR [--quick] [--part timing|quality|all] [--runs N] [--seeds N]
#                            [--asks N] [--optuna-samplers LIST] [--build-dir DIR]
#
# Full: 3 timing runs of 20 asks per size, 20 seeds. --quick: 2 runs of 5 asks, 2 seeds.
# --optuna-samplers: Optuna's quality samplers (default tpe-univariate,random; tpe-multivariate
# costs Optuna about as much again). Build dir: build/ (or $HYPERTUNE_BUILD_DIR).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
python=/usr/bin/python3
out=""
quick=0
part=all
runs=""
seeds=""
asks=""
optuna_samplers=tpe-univariate,random
build=${HYPERTUNE_BUILD_DIR:-$root/build}

usage() {
  echo "usage: scripts/bench/sampler.sh OUT_DIR [--quick] [--part timing|quality|all] [--runs N]" \
    "[--seeds N] [--asks N] [--optuna-samplers LIST] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --part) [[ $# -ge 2 ]] || usage; part=$2; shift ;;
    --runs) [[ $# -ge 2 ]] || usage; runs=$2; shift ;;
    --seeds) [[ $# -ge 2 ]] || usage; seeds=$2; shift ;;
    --asks) [[ $# -ge 2 ]] || usage; asks=$2; shift ;;
    --optuna-samplers) [[ $# -ge 2 ]] || usage; optuna_samplers=$2; shift ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "sampler.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
case $part in timing | quality | all) ;; *) echo "sampler.sh: --part takes timing, quality or all, got '$part'" >&2; exit 2 ;; esac
for n in "$runs" "$seeds" "$asks"; do
  if [[ -n $n && ! $n =~ ^[1-9][0-9]*$ ]]; then
    echo "sampler.sh: --runs, --seeds and --asks take a positive integer, got '$n'" >&2
    exit 2
  fi
done
if [[ $quick == 1 ]]; then
  runs=${runs:-2} seeds=${seeds:-2} asks=${asks:-5}
else
  runs=${runs:-3} seeds=${seeds:-20} asks=${asks:-20}
fi
sizes=100,1000,10000
if ! $python -c 'import optuna' 2>/dev/null; then
  echo "sampler.sh: $python cannot import optuna (scripts/install-deps.sh installs python3-optuna)" >&2
  exit 1
fi

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHYPERTUNE_WITH_TORCH=OFF >/dev/null
fi
cmake --build "$build" --target hypertune_sampler_bench -j"${HYPERTUNE_JOBS:-$(nproc)}" >/dev/null
bench=$build/bench/hypertune_sampler_bench
optuna_py=$root/scripts/bench/optuna_sampler.py
mkdir -p "$out"

if [[ $part != quality ]]; then
  : >"$out/hypertune_timing.jsonl"
  : >"$out/optuna_timing.jsonl"
  for ((r = 1; r <= runs; r++)); do
    echo "sampler.sh: timing run $r of $runs ($asks asks at $sizes trials)" >&2
    "$bench" --timing --sizes "$sizes" --asks "$asks" | sed "s/^{/{\"run\": $r, /" >>"$out/hypertune_timing.jsonl"
    $python -W ignore "$optuna_py" --timing --sizes "$sizes" --asks "$asks" |
      sed "s/^{/{\"run\": $r, /" >>"$out/optuna_timing.jsonl"
  done
fi

if [[ $part != timing ]]; then
  echo "sampler.sh: quality, $seeds seeds (HyperTune; Optuna $optuna_samplers in two processes)" >&2
  half=$(((seeds + 1) / 2))
  "$bench" --quality --seeds "$seeds" >"$out/hypertune_quality.jsonl" &
  ht=$!
  $python -W ignore "$optuna_py" --quality --samplers "$optuna_samplers" --seed-start 0 --seeds "$half" \
    >"$out/optuna_quality.a.jsonl" &
  oa=$!
  status=0
  if ((seeds > half)); then
    $python -W ignore "$optuna_py" --quality --samplers "$optuna_samplers" --seed-start "$half" \
      --seeds $((seeds - half)) >"$out/optuna_quality.b.jsonl" || status=1
  else
    : >"$out/optuna_quality.b.jsonl"
  fi
  wait $oa || status=1
  wait $ht || status=1
  if [[ $status != 0 ]]; then
    echo "sampler.sh: a quality run failed" >&2
    exit 1
  fi
  cat "$out/optuna_quality.a.jsonl" "$out/optuna_quality.b.jsonl" >"$out/optuna_quality.jsonl"
  rm -f "$out/optuna_quality.a.jsonl" "$out/optuna_quality.b.jsonl"
fi
echo "sampler.sh: raw results in $out" >&2
