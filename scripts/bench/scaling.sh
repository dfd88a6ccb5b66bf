#!/usr/bin/env bash
# Scaling from 1 to 2 workers on this machine: the same CPU-bound sweep (N command trials, each
# an awk loop of about half a second of CPU) with `hypertune run -w 1` and `-w 2`, alternating,
# each run's trial times read back with `hypertune export --format json`. One JSON line per sweep
# goes to OUT_DIR/scaling.jsonl (span = first start to last end; wall = the whole command).
#
#   scripts/bench/scaling.sh OUT_DIR [--quick] [--runs N] [--trials N] [--build-dir DIR]
#
# Defaults: 3 runs of 16 trials per worker count; --quick: 2 runs of 8.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=""
quick=0
runs=""
trials=""
build=${HYPERTUNE_BUILD_DIR:-$root/build}
usage() {
  echo "usage: scripts/bench/scaling.sh OUT_DIR [--quick] [--runs N] [--trials N] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --runs) [[ $# -ge 2 ]] || usage; runs=$2; shift ;;
    --trials) [[ $# -ge 2 ]] || usage; trials=$2; shift ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "scaling.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
if [[ $quick == 1 ]]; then runs=${runs:-2} trials=${trials:-8}; else runs=${runs:-3} trials=${trials:-16}; fi
for n in "$runs" "$trials"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "scaling.sh: --runs and --trials need a positive integer, got '$n'" >&2; exit 2; }
done
bin=$build/hypertune
[[ -x $bin ]] || cmake --build "$build" --target hypertune -j"${HYPERTUNE_JOBS:-$(nproc)}" >/dev/null
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The work: 10 million additions in awk (mawk), about 0.5 s of one core; the value is x.
cat >"$work/burn.sh" <<'SH'
awk -v x="$1" 'BEGIN { for (i = 0; i < 10000000; i++) s += i * x; printf "@hypertune {\"value\": %.9g}\n", x }'
SH
cat >"$work/scaling.yaml" <<YAML
name: scaling
seed: 1
objective: {metric: value, direction: minimize}
max_trials: $trials
space:
  x: {type: float, low: 0.0, high: 1.0}
sampler: random
trial:
  command: [/bin/sh, burn.sh, "{x}"]
YAML
: >"$out/scaling.jsonl"
for ((r = 1; r <= runs; r++)); do
  for w in 1 2; do
    echo "scaling.sh: run $r of $runs, $trials trials, $w worker(s)" >&2
    rm -f "$work"/s.db*
    t0=$(date +%s.%N)
    "$bin" run "$work/scaling.yaml" -w "$w" -s "$work/s.db" -q >"$work/run.log" 2>&1 ||
      { cat "$work/run.log" >&2; exit 1; }
    wall=$(echo "$(date +%s.%N) - $t0" | bc -l)
    "$bin" export "$work/s.db" --format json -o "$work/export.json"
    /usr/bin/python3 "$root/scripts/bench/make_report.py" trial-times "$work/export.json" \
      --set run=$r --set workers=$w --set trials=$trials --set wall_s="$wall" |
      tee -a "$out/scaling.jsonl" | cut -c1-160
  done
done
