#!/usr/bin/env bash
# Runtime overhead on 1-second command trials: N trials of
# `/bin/sh -c "sleep 1; echo '@hypertune ...'"` through `hypertune run -w 2` (a scheduler and two
# worker processes, SQLite storage); the ideal wall time is N / 2 seconds. Each run's trial
# start/end times are read back with `hypertune export --format json`; one JSON line per run goes
# to OUT_DIR/overhead.jsonl (span = first start to last end; wall = the whole command) and the
# export itself to OUT_DIR/export-RUN.json.
#
#   scripts/bench/overhead.sh OUT_DIR [--quick] [--runs N] [--trials N] [--build-dir DIR]
#
# Defaults: 3 runs of 40 trials; --quick: 2 runs of 20. Needs BUILD_DIR/hypertune (build/ or
# $HYPERTUNE_BUILD_DIR; built here when missing).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=""
quick=0
runs=""
trials=""
workers=2
build=${HYPERTUNE_BUILD_DIR:-$root/build}
usage() {
  echo "usage: scripts/bench/overhead.sh OUT_DIR [--quick] [--runs N] [--trials N] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --runs) [[ $# -ge 2 ]] || usage; runs=$2; shift ;;
    --trials) [[ $# -ge 2 ]] || usage; trials=$2; shift ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "overhead.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
if [[ $quick == 1 ]]; then runs=${runs:-2} trials=${trials:-20}; else runs=${runs:-3} trials=${trials:-40}; fi
for n in "$runs" "$trials"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "overhead.sh: --runs and --trials need a positive integer, got '$n'" >&2; exit 2; }
done
bin=$build/hypertune
[[ -x $bin ]] || cmake --build "$build" --target hypertune -j"${HYPERTUNE_JOBS:-$(nproc)}" >/dev/null
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/overhead.yaml" <<YAML
name: overhead
seed: 1
objective: {metric: value, direction: minimize}
max_trials: $trials
space:
  x: {type: float, low: 0.0, high: 1.0}
sampler: random
trial:
  command: [/bin/sh, -c, "sleep 1; echo '@hypertune {{\"value\": {x}}}'"]
YAML
: >"$out/overhead.jsonl"
ideal=$(echo "$trials / $workers" | bc -l)
for ((r = 1; r <= runs; r++)); do
  echo "overhead.sh: run $r of $runs ($trials trials of 1 s, $workers workers)" >&2
  rm -f "$work"/o.db*
  t0=$(date +%s.%N)
  "$bin" run "$work/overhead.yaml" -w "$workers" -s "$work/o.db" -q >"$work/run.log" 2>&1 ||
    { cat "$work/run.log" >&2; exit 1; }
  wall=$(echo "$(date +%s.%N) - $t0" | bc -l)
  "$bin" export "$work/o.db" --format json -o "$out/export-$r.json"
  /usr/bin/python3 "$root/scripts/bench/make_report.py" trial-times "$out/export-$r.json" \
    --set run=$r --set workers=$workers --set trials=$trials --set trial_s=1 \
    --set ideal_s="$ideal" --set wall_s="$wall" | tee -a "$out/overhead.jsonl" | cut -c1-160
done
